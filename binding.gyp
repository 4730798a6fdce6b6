{
  "targets": [
    {
      "target_name": "ngxlua_engine",
      "sources": ["native/engine.c", "native/guard.cc", "native/ngx_exports.c", "native/regex.c", "native/limits.c", "native/heap.cc", "native/shdict.c", "native/listen.c", "native/stream.c", "native/headscan.c"],
      "include_dirs": ["/usr/include/luajit-2.1"],
      "libraries": ["-lluajit-5.1", "-lpcre", "-ldl"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-fexceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
