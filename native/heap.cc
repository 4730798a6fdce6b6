// Asking V8 to give memory back after a burst of requests. Node-API has no call for it, so this
// one function uses V8's own API (the addon is built against the running Node's headers anyway).
// LowMemoryNotification runs a full collection that also shrinks the young generation, whose
// semi-spaces grow under request garbage and otherwise stay large while the process is idle.
#include <v8.h>

extern "C" void engine_low_memory(void) {
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
}
