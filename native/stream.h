#ifndef NGXLUA_STREAM_H
#define NGXLUA_STREAM_H
#include <node_api.h>

/* adds the stream* functions (client connections on libuv) to the addon's exports */
void ngxlua_stream_exports(napi_env env, napi_value exports);

#endif
