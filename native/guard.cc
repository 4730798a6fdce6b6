// The one piece of the addon in C++: LuaJIT raises errors with the system unwinder, and only a
// C++ catch can stop one before it reaches V8's frames (LuaJIT documents catch(...) as
// supported on x64). engine.c runs its allocating Lua API calls through this.
extern "C" int engine_try(void (*fn)(void *), void *ud) {
  try {
    fn(ud);
    return 0;
  } catch (...) {
    return 1;
  }
}
