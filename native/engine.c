/*
 * ngxlua's Lua engine: LuaJIT (the system's libluajit-5.1, OpenResty's 2.1 branch) behind a
 * Node-API surface. TypeScript (src/lua/vm.ts) is the only caller.
 *
 * Two rules keep the process alive:
 *  - LuaJIT unwinds errors with the system unwinder, which cannot cross V8 frames. So a JS
 *    function called from Lua never raises or yields itself: it returns a code, and the
 *    trampoline below raises the error or yields after JS has returned, with only C and Lua
 *    frames between it and the protecting pcall/resume.
 *  - Every entry into Lua from JS is protected (lua_pcall, lua_resume): an unprotected call
 *    that raises would unwind into V8 and abort.
 *
 * Lua states cross into JS as doubles holding the pointer (user-space pointers fit in 53 bits).
 */
#define _GNU_SOURCE /* dladdr */
#define NAPI_VERSION 8
#include <node_api.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <luajit.h>
#include <dlfcn.h>
#include <malloc.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "limits.h"
#include "shdict.h"
#include "stream.h"
#include "headscan.h"
#include "napi_util.h"

/* What a JS function returns to the trampoline besides a result count. */
#define RC_ERROR (-1) /* raise the value on top of the stack */
#define RC_YIELD (-2) /* yield the running coroutine with no values */
#define RC_NUMBER (-4) /* return the one number left in callbuf[CB_RET] */

/* callbuf's slots. A plain call also gets its first arguments' types and numbers there, and
 * for a table first argument (a method's self) that table's [1]: most API functions then need
 * no crossing back to look at what they were given, nor one to push a number result. */
#define CB_KEYNUM 3 /* a string function's number key */
#define CB_ARGSLEN 4 /* an args function's argument bytes in the scratch buffer */
#define CB_TYPES 5 /* lua_type of arguments 1..CB_NARGS (LUA_TNONE past the last) */
#define CB_NUMS (CB_TYPES + CB_NARGS) /* their values when numbers; self[1] for a table argument 1 */
#define CB_NARGS 4
#define CB_RET (CB_NUMS + CB_NARGS)
#define CB_YIELDABLE (CB_RET + 1) /* lua_isyieldable of the calling state (slot 0) */
#define CB_SIZE (CB_YIELDABLE + 1)

typedef struct {
  napi_env env;
  napi_ref dispatch; /* JS () -> rc, the call's [L, id, nargs] in callbuf */
  napi_ref scratch_ref;
  napi_ref onfinalizer; /* JS (message) -> void */
  uint8_t *scratch; /* a JS-owned buffer that strings are copied into on their way out */
  size_t scratch_cap;
  napi_ref callbuf_ref;
  double *callbuf; /* [L, id, nargs, ...] of the call the trampoline makes (CB_*): no JS values to create */
  napi_ref sdispatch; /* JS (key) -> string | null | rc, for the functions pushsfn made */
} inst_t;

/* One Node-API instance per thread: Lua always runs on the thread whose env called into it. */
static _Thread_local inst_t *tls_inst;

#define ARGS(n)                                                                                    \
  size_t argc = (n);                                                                               \
  napi_value argv[(n) > 0 ? (n) : 1];                                                              \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL)

static lua_State *arg_L(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return (lua_State *)(uintptr_t)d;
}
static double arg_d(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}
static napi_value ret_i(napi_env env, int32_t i) {
  napi_value r;
  napi_create_int32(env, i, &r);
  return r;
}
static napi_value ret_ptr(napi_env env, const void *p) {
  return ret_d(env, (double)(uintptr_t)p);
}
static napi_value ret_null(napi_env env) {
  napi_value r;
  napi_get_null(env, &r);
  return r;
}
static napi_value ret_str(napi_env env, const char *s, size_t n) {
  napi_value r;
  napi_create_string_latin1(env, s, n, &r);
  return r;
}

/* A JS string argument as latin1 bytes (one char per byte): in buf when it fits, else malloc'd. */
static char *arg_latin1(napi_env env, napi_value v, char *buf, size_t cap, size_t *len) {
  size_t n = 0;
  napi_get_value_string_latin1(env, v, buf, cap, &n);
  if (n < cap - 1) {
    *len = n;
    return buf;
  }
  napi_get_value_string_latin1(env, v, NULL, 0, &n);
  char *p = malloc(n + 1);
  if (!p) return NULL;
  napi_get_value_string_latin1(env, v, p, n + 1, &n);
  *len = n;
  return p;
}
/* A JS string argument as UTF-8 (file and chunk names). */
static char *arg_utf8(napi_env env, napi_value v, char *buf, size_t cap) {
  size_t n = 0;
  napi_get_value_string_utf8(env, v, buf, cap, &n);
  if (n < cap - 1) return buf;
  napi_get_value_string_utf8(env, v, NULL, 0, &n);
  char *p = malloc(n + 1);
  if (!p) return NULL;
  napi_get_value_string_utf8(env, v, p, n + 1, &n);
  return p;
}
static void free_if(char *p, char *buf) {
  if (p != buf) free(p);
}

/* Bytes of a Uint8Array/Buffer argument, without copying. */
static const uint8_t *arg_bytes(napi_env env, napi_value v, size_t *len) {
  napi_typedarray_type t;
  size_t n = 0, off = 0;
  void *data = NULL;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &t, &n, &data, &ab, &off) != napi_ok) {
    *len = 0;
    return NULL;
  }
  *len = n;
  return data;
}

/* ---- guarded allocation -------------------------------------------------------------------
 * An allocating API call may run a GC step, and the step may call a finalizer (__gc, ffi.gc)
 * that raises. Called from JS, that error would unwind into V8. So these calls run under
 * engine_try (guard.cc); a finalizer's error is handed to JS (the runtime logs it), the stack is
 * put back as it was, and the call runs again (that finalizer is gone from the GC's list). */

int engine_try(void (*fn)(void *), void *ud);

enum { OP_PUSHSTR, OP_CREATETABLE, OP_NEWTHREAD, OP_NEWUSERDATA, OP_PUSHFN, OP_TOLSTRING, OP_TRACEBACK, OP_COLLECT, OP_PAIRS };
typedef struct {
  lua_State *L;
  int op;
  const char *p;
  size_t n;
  int a, b;
  lua_State *L1;
  lua_State *out;
  const char *s;
  const uint32_t *lens;
} aop_t;

static int trampoline(lua_State *L);
static int trampoline_s(lua_State *L);
static int trampoline_a(lua_State *L);
static void build_pairs(aop_t *o);

static void aop_run(void *ud) {
  aop_t *o = ud;
  lua_State *L = o->L;
  switch (o->op) {
  case OP_PUSHSTR: lua_pushlstring(L, o->p, o->n); break;
  case OP_CREATETABLE: lua_createtable(L, o->a, o->b); break;
  case OP_NEWTHREAD: o->out = lua_newthread(L); break;
  case OP_NEWUSERDATA: lua_newuserdata(L, o->n); break;
  case OP_PUSHFN: lua_pushcclosure(L, o->b == 1 ? trampoline_s : o->b == 2 ? trampoline_a : trampoline, o->a); break;
  case OP_TOLSTRING: o->s = lua_tolstring(L, o->a, &o->n); break;
  case OP_TRACEBACK: luaL_traceback(L, o->L1, NULL, o->a); break;
  case OP_COLLECT: lua_gc(L, LUA_GCCOLLECT, 0); break;
  case OP_PAIRS: build_pairs(o); break;
  }
}

static void report_finalizer_error(napi_env env, lua_State *L, int top);

static void guarded(napi_env env, aop_t *o) {
  int top = lua_gettop(o->L);
  vmx_t *x = vmx_of(o->L);
  vmx_exempt(x, 1);
  for (int tries = 0; engine_try(aop_run, o) != 0; tries++) {
    /* each retry has one finalizer less to run; what fails this often is no finalizer but the
     * allocation itself (out of memory), which cannot be completed from here */
    if (tries > 10000) napi_fatal_error("ngxlua", NAPI_AUTO_LENGTH, "a Lua allocation made from JS keeps failing (out of memory?)", NAPI_AUTO_LENGTH);
    report_finalizer_error(env, o->L, top);
  }
  vmx_exempt(x, 0);
}

/* Before an entry into Lua: once lua_max_memory was passed, collect what the failed
 * code left behind, so that the next handler has the room. */
static void enter_lua(napi_env env, lua_State *L) {
  if (vmx_take_collect(vmx_of(L))) {
    aop_t o = {.L = L, .op = OP_COLLECT};
    guarded(env, &o);
  }
  vmx_enter(L);
}

static void push_bytes(napi_env env, lua_State *L, const char *p, size_t n) {
  aop_t o = {.L = L, .op = OP_PUSHSTR, .p = p, .n = n};
  guarded(env, &o);
}

/* ---- the trampoline: Lua calling a JS function ------------------------------------------- */

static int fmt_ngx_number(double d, char *b, size_t cap);

/* The values at from..to, when all are strings or numbers, copied into the scratch buffer
 * (numbers as fmt_ngx_number writes them), then a "\n" when nl: the length; -1 when one is of
 * another type; -(length + 2) when the scratch buffer is too small (nothing usable copied). */
static double args_to_scratch(lua_State *L, int from, int to, int nl) {
  inst_t *in = tls_inst;
  size_t total = 0;
  char num[64];
  for (int i = from; i <= to; i++) {
    int t = lua_type(L, i);
    if (t == LUA_TSTRING) {
      size_t n;
      const char *p = lua_tolstring(L, i, &n);
      if (total + n <= in->scratch_cap) memcpy(in->scratch + total, p, n);
      total += n;
    } else if (t == LUA_TNUMBER) {
      int n = fmt_ngx_number(lua_tonumber(L, i), num, sizeof num);
      if (total + (size_t)n <= in->scratch_cap) memcpy(in->scratch + total, num, (size_t)n);
      total += (size_t)n;
    } else {
      return -1;
    }
  }
  if (nl) {
    if (total < in->scratch_cap) in->scratch[total] = '\n';
    total++;
  }
  if (total > in->scratch_cap) return -(double)total - 2;
  return (double)total;
}

/* Calls the JS function numbered by upvalue 1 through the dispatcher, then returns its results,
 * yields or raises, with only C and Lua frames left. A string function (str) instead goes
 * through sdispatch: the key (argument 2) crosses as a latin1 JS string argument (undefined when
 * it is no string) and a string or null result comes back as the one return value, so a lookup
 * like ngx.var.uri costs one crossing instead of four; any other result is a result count.
 * An args function (args) finds its arguments already copied into the scratch buffer, their
 * length in callbuf[CB_ARGSLEN] as args_to_scratch gives it: ngx.say then needs no second crossing. */
static int call_js(lua_State *L, int str, int args) {
  inst_t *in = tls_inst;
  napi_env env = in->env;
  double *cb = in->callbuf;
  int nargs = lua_gettop(L);
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value fn, recv, res, key;
  int32_t rc = RC_ERROR;
  napi_get_undefined(env, &recv);
  key = recv;
  if (str && nargs >= 2) {
    int kt = lua_type(L, 2);
    if (kt == LUA_TSTRING) {
      size_t kn = 0;
      const char *kp = lua_tolstring(L, 2, &kn);
      napi_create_string_latin1(env, kp, kn, &key);
    } else if (kt == LUA_TNUMBER) {
      /* a number key crosses in callbuf, without a JS value made for it */
      cb[CB_KEYNUM] = lua_tonumber(L, 2);
    }
  }
  /* a call made while this one runs (a metamethod, a finalizer) restores what it overwrote */
  double saved[2 * CB_NARGS], savedL = cb[0], savedY = cb[CB_YIELDABLE];
  memcpy(saved, cb + CB_TYPES, sizeof saved);
  if (!str) {
    for (int i = 1; i <= CB_NARGS; i++) {
      int t = i <= nargs ? lua_type(L, i) : LUA_TNONE;
      double v = 0;
      if (t == LUA_TNUMBER) v = lua_tonumber(L, i);
      else if (t == LUA_TTABLE && i == 1) {
        lua_rawgeti(L, 1, 1);
        v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
        lua_pop(L, 1);
      }
      cb[CB_TYPES + i - 1] = t;
      cb[CB_NUMS + i - 1] = v;
    }
  }
  /* -3: not an args call (an args function pushed some other way must not read a stale length) */
  cb[CB_ARGSLEN] = args ? args_to_scratch(L, 1, nargs, 0) : -3;
  napi_get_reference_value(env, str ? in->sdispatch : in->dispatch, &fn);
  cb[0] = (double)(uintptr_t)L;
  cb[CB_YIELDABLE] = lua_isyieldable(L);
  cb[1] = (double)lua_tointeger(L, lua_upvalueindex(1));
  cb[2] = nargs;
  if (napi_call_function(env, recv, fn, str ? 1 : 0, &key, &res) == napi_ok) {
    napi_valuetype vt = napi_number;
    if (str) napi_typeof(env, res, &vt);
    if (vt == napi_string) {
      /* most values fit the stack buffer: copy first, ask for the length only when it filled */
      char buf[256];
      size_t n = 0;
      char *p = buf;
      napi_get_value_string_latin1(env, res, buf, sizeof buf, &n);
      if (n == sizeof buf - 1) {
        napi_get_value_string_latin1(env, res, NULL, 0, &n);
        if (n >= sizeof buf) {
          p = malloc(n + 1);
          if (p) napi_get_value_string_latin1(env, res, p, n + 1, &n);
        }
      }
      napi_close_handle_scope(env, scope);
      if (!p) {
        lua_pushliteral(L, "not enough memory");
        return lua_error(L);
      }
      lua_pushlstring(L, p, n);
      if (p != buf) free(p);
      return 1;
    }
    if (vt == napi_null) {
      napi_close_handle_scope(env, scope);
      lua_pushnil(L);
      return 1;
    }
    napi_get_value_int32(env, res, &rc);
  } else {
    /* the dispatcher catches everything; this is V8 itself failing (stack, termination) */
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    push_bytes(env, L, "internal error: JS call failed", 30);
    rc = RC_ERROR;
  }
  napi_close_handle_scope(env, scope);
  memcpy(cb + CB_TYPES, saved, sizeof saved);
  cb[0] = savedL;
  cb[CB_YIELDABLE] = savedY;
  if (rc >= 0) return rc;
  if (rc == RC_NUMBER) {
    lua_pushnumber(L, cb[CB_RET]);
    return 1;
  }
  if (rc == RC_YIELD) return lua_yield(L, 0);
  return lua_error(L);
}

static int trampoline(lua_State *L) {
  return call_js(L, 0, 0);
}
static int trampoline_s(lua_State *L) {
  return call_js(L, 1, 0);
}
static int trampoline_a(lua_State *L) {
  return call_js(L, 0, 1);
}

/* ---- state ------------------------------------------------------------------------------- */

static napi_value js_newstate(napi_env env, napi_callback_info info) {
  (void)info;
  lua_State *L = luaL_newstate();
  if (!L || !vmx_attach(L)) {
    if (L) lua_close(L);
    napi_throw_error(env, NULL, "ngxlua: luaL_newstate failed (out of memory)");
    return NULL;
  }
  luaL_openlibs(L);
  vmx_open(L);
  return ret_ptr(env, L);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  lua_State *L = arg_L(env, argv[0]);
  vmx_detach(L);
  lua_close(L);
  return ret_undef(env);
}

static void free_inst(napi_env env, void *data, void *hint) {
  (void)hint;
  inst_t *in = data;
  if (in->dispatch) napi_delete_reference(env, in->dispatch);
  if (in->scratch_ref) napi_delete_reference(env, in->scratch_ref);
  if (in->callbuf_ref) napi_delete_reference(env, in->callbuf_ref);
  if (in->sdispatch) napi_delete_reference(env, in->sdispatch);
  if (tls_inst == in) tls_inst = NULL;
  free(in);
}

/* setdispatch(fn, callbuf, sfn): fn() is called for every Lua -> JS call, with [L, id, nargs] in
 * the Float64Array callbuf; sfn(key) likewise for the string functions of pushsfn */
static napi_value js_setdispatch(napi_env env, napi_callback_info info) {
  ARGS(3);
  inst_t *in = tls_inst;
  if (in->dispatch) napi_delete_reference(env, in->dispatch);
  napi_create_reference(env, argv[0], 1, &in->dispatch);
  if (in->sdispatch) napi_delete_reference(env, in->sdispatch);
  napi_create_reference(env, argv[2], 1, &in->sdispatch);
  size_t n;
  double *cb = (double *)arg_bytes(env, argv[1], &n);
  if (cb == NULL || n < CB_SIZE) {
    napi_throw_range_error(env, NULL, "setdispatch: callbuf is too short");
    return NULL;
  }
  in->callbuf = cb;
  if (in->callbuf_ref) napi_delete_reference(env, in->callbuf_ref);
  napi_create_reference(env, argv[1], 1, &in->callbuf_ref);
  return ret_undef(env);
}

static napi_value js_setscratch(napi_env env, napi_callback_info info) {
  ARGS(1);
  inst_t *in = tls_inst;
  size_t n;
  const uint8_t *p = arg_bytes(env, argv[0], &n);
  if (in->scratch_ref) napi_delete_reference(env, in->scratch_ref);
  napi_create_reference(env, argv[0], 1, &in->scratch_ref);
  in->scratch = (uint8_t *)p;
  in->scratch_cap = n;
  return ret_undef(env);
}

static napi_value js_setfinalizerhook(napi_env env, napi_callback_info info) {
  ARGS(1);
  inst_t *in = tls_inst;
  if (in->onfinalizer) napi_delete_reference(env, in->onfinalizer);
  napi_create_reference(env, argv[0], 1, &in->onfinalizer);
  return ret_undef(env);
}

static void report_finalizer_error(napi_env env, lua_State *L, int top) {
  size_t n = 0;
  const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : "(error object is not a string)";
  if (msg == NULL) msg = "";
  if (n == 0) n = strlen(msg);
  inst_t *in = tls_inst;
  if (in->onfinalizer) {
    napi_value fn, recv, arg, res;
    napi_get_reference_value(env, in->onfinalizer, &fn);
    napi_get_undefined(env, &recv);
    napi_create_string_latin1(env, msg, n, &arg);
    if (napi_call_function(env, recv, fn, 1, &arg, &res) != napi_ok) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
    }
  }
  lua_settop(L, top);
}

static napi_value js_version(napi_env env, napi_callback_info info) {
  (void)info;
  return ret_str(env, LUAJIT_VERSION, strlen(LUAJIT_VERSION));
}

/* ---- stack ------------------------------------------------------------------------------- */

#define FN_L(name, body)                                                                           \
  static napi_value js_##name(napi_env env, napi_callback_info info) {                             \
    ARGS(1);                                                                                       \
    lua_State *L = arg_L(env, argv[0]);                                                            \
    body;                                                                                          \
  }
#define FN_LI(name, body)                                                                          \
  static napi_value js_##name(napi_env env, napi_callback_info info) {                             \
    ARGS(2);                                                                                       \
    lua_State *L = arg_L(env, argv[0]);                                                            \
    int a = arg_i(env, argv[1]);                                                                   \
    body;                                                                                          \
  }
#define FN_LII(name, body)                                                                         \
  static napi_value js_##name(napi_env env, napi_callback_info info) {                             \
    ARGS(3);                                                                                       \
    lua_State *L = arg_L(env, argv[0]);                                                            \
    int a = arg_i(env, argv[1]);                                                                   \
    int b = arg_i(env, argv[2]);                                                                   \
    body;                                                                                          \
  }

FN_L(gettop, return ret_i(env, lua_gettop(L)))
FN_LI(settop, lua_settop(L, a); return ret_undef(env))
FN_LI(pushvalue, lua_pushvalue(L, a); return ret_undef(env))
FN_LI(insert, lua_insert(L, a); return ret_undef(env))
FN_LI(remove, lua_remove(L, a); return ret_undef(env))
FN_LI(type, return ret_i(env, lua_type(L, a)))
FN_LI(checkstack, return ret_i(env, lua_checkstack(L, a)))
FN_L(pushnil, lua_pushnil(L); return ret_undef(env))
FN_LI(toboolean, return ret_i(env, lua_toboolean(L, a)))
FN_LI(tonumber, return ret_d(env, lua_tonumber(L, a)))
FN_LI(touserdata, return ret_ptr(env, lua_touserdata(L, a)))
FN_LI(tothread, return ret_ptr(env, lua_tothread(L, a)))
FN_LI(topointer, return ret_ptr(env, lua_topointer(L, a)))
FN_LI(objlen, return ret_d(env, (double)lua_objlen(L, a)))
static napi_value js_createtable(napi_env env, napi_callback_info info) {
  ARGS(3);
  aop_t o = {.L = arg_L(env, argv[0]), .op = OP_CREATETABLE, .a = arg_i(env, argv[1]), .b = arg_i(env, argv[2])};
  guarded(env, &o);
  return ret_undef(env);
}
FN_LI(rawget, lua_rawget(L, a); return ret_i(env, lua_type(L, -1)))
FN_LI(rawset, lua_rawset(L, a); return ret_undef(env))
FN_LII(rawgeti, lua_rawgeti(L, a, b); return ret_i(env, lua_type(L, -1)))
FN_LII(rawseti, lua_rawseti(L, a, b); return ret_undef(env))
/* A relative stack index made absolute (before a push shifts it); pseudo-indices stay. */
static int abs_index(lua_State *L, int idx) {
  return idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
}

/* rawsetinum(L, idx, n, v): t[n] = v for the table at idx and the number v, in one call */
static napi_value js_rawsetinum(napi_env env, napi_callback_info info) {
  ARGS(4);
  lua_State *L = arg_L(env, argv[0]);
  int idx = abs_index(L, arg_i(env, argv[1]));
  int n = arg_i(env, argv[2]);
  double v = 0;
  napi_get_value_double(env, argv[3], &v);
  lua_pushnumber(L, v);
  lua_rawseti(L, idx, n);
  return ret_undef(env);
}
FN_LI(getmetatable, return ret_i(env, lua_getmetatable(L, a)))
FN_LI(setmetatable, lua_setmetatable(L, a); return ret_undef(env))
FN_LI(next, return ret_i(env, lua_next(L, a)))
static napi_value js_newthread(napi_env env, napi_callback_info info) {
  ARGS(1);
  aop_t o = {.L = arg_L(env, argv[0]), .op = OP_NEWTHREAD};
  guarded(env, &o);
  return ret_ptr(env, o.out);
}
FN_L(pushthread, return ret_i(env, lua_pushthread(L)))
FN_L(status, return ret_i(env, lua_status(L)))
FN_L(isyieldable, return ret_i(env, lua_isyieldable(L)))
static napi_value js_newuserdata(napi_env env, napi_callback_info info) {
  ARGS(2);
  aop_t o = {.L = arg_L(env, argv[0]), .op = OP_NEWUSERDATA, .n = (size_t)arg_i(env, argv[1])};
  guarded(env, &o);
  return ret_undef(env);
}
FN_LI(ref, return ret_i(env, luaL_ref(L, a)))
FN_LII(unref, luaL_unref(L, a, b); return ret_undef(env))
/* resume(co, nargs[, ref]): the status in the low 3 bits, the count of values left on co above
 * them. With ref (> 0), co starts registry[ref] on an empty stack first, as startref does: a
 * handler without arguments starts in one call */
static napi_value js_resume(napi_env env, napi_callback_info info) {
  ARGS(3);
  lua_State *L = arg_L(env, argv[0]);
  int nargs = arg_i(env, argv[1]);
  int ref = arg_i(env, argv[2]);
  if (ref > 0) {
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  }
  enter_lua(env, L);
  int st = lua_resume(L, nargs);
  vmx_leave(L);
  return ret_i(env, st | (lua_gettop(L) << 3));
}

void engine_low_memory(void); /* heap.cc */

/* collect(L, trim): a full garbage collection (finalizers guarded); with trim, V8 collects and
 * shrinks its heap too and free pages of the C heap go back to the system */
static napi_value js_collect(napi_env env, napi_callback_info info) {
  ARGS(2);
  aop_t o = {.L = arg_L(env, argv[0]), .op = OP_COLLECT};
  guarded(env, &o);
  bool trim = false;
  napi_get_value_bool(env, argv[1], &trim);
  if (trim) {
    engine_low_memory();
    malloc_trim(0);
  }
  return ret_undef(env);
}

/* setlimits(L, lua_max_running_time ms, lua_max_memory bytes): 0 = off */
static napi_value js_setlimits(napi_env env, napi_callback_info info) {
  ARGS(3);
  lua_State *L = arg_L(env, argv[0]);
  return ret_i(env, vmx_set_limits(vmx_of(L), arg_d(env, argv[1]), arg_d(env, argv[2])));
}
/* startref(co, ref): an empty stack with registry[ref] (the function to run) on it */
FN_LI(startref, lua_settop(L, 0); lua_rawgeti(L, LUA_REGISTRYINDEX, a); return ret_undef(env))

static napi_value js_tonumberx(napi_env env, napi_callback_info info) {
  ARGS(2);
  lua_State *L = arg_L(env, argv[0]);
  int idx = arg_i(env, argv[1]);
  if (!lua_isnumber(L, idx)) return ret_null(env);
  return ret_d(env, lua_tonumber(L, idx));
}

static napi_value js_xmove(napi_env env, napi_callback_info info) {
  ARGS(3);
  lua_xmove(arg_L(env, argv[0]), arg_L(env, argv[1]), arg_i(env, argv[2]));
  return ret_undef(env);
}

static napi_value js_pushnumber(napi_env env, napi_callback_info info) {
  ARGS(2);
  lua_pushnumber(arg_L(env, argv[0]), arg_d(env, argv[1]));
  return ret_undef(env);
}
static napi_value js_pushboolean(napi_env env, napi_callback_info info) {
  ARGS(2);
  bool b = false;
  napi_get_value_bool(env, argv[1], &b);
  lua_pushboolean(arg_L(env, argv[0]), b);
  return ret_undef(env);
}
static napi_value js_pushlightuserdata(napi_env env, napi_callback_info info) {
  ARGS(2);
  lua_pushlightuserdata(arg_L(env, argv[0]), (void *)(uintptr_t)arg_d(env, argv[1]));
  return ret_undef(env);
}

/* pushbufptr(L, typedarray): a light userdata for the array's bytes, which Lua reads and writes
 * through FFI; the caller keeps the array alive for as long as Lua may use the pointer */
static napi_value js_pushbufptr(napi_env env, napi_callback_info info) {
  ARGS(2);
  size_t n = 0;
  lua_pushlightuserdata(arg_L(env, argv[0]), (void *)arg_bytes(env, argv[1], &n));
  return ret_undef(env);
}

/* pushstr(L, s): a JS string whose chars are bytes (latin1) */
static napi_value js_pushstr(napi_env env, napi_callback_info info) {
  ARGS(2);
  lua_State *L = arg_L(env, argv[0]);
  char buf[512];
  size_t n;
  char *p = arg_latin1(env, argv[1], buf, sizeof buf, &n);
  if (p) push_bytes(env, L, p, n);
  else lua_pushnil(L);
  free_if(p, buf);
  return ret_undef(env);
}

/* pushbytes(L, u8) */
static napi_value js_pushbytes(napi_env env, napi_callback_info info) {
  ARGS(2);
  lua_State *L = arg_L(env, argv[0]);
  size_t n;
  const uint8_t *p = arg_bytes(env, argv[1], &n);
  push_bytes(env, L, p ? (const char *)p : "", n);
  return ret_undef(env);
}

/* pushbytesat(L, u8, off, n): the n bytes from off (clamped to the array) */
static napi_value js_pushbytesat(napi_env env, napi_callback_info info) {
  ARGS(4);
  lua_State *L = arg_L(env, argv[0]);
  size_t len;
  const uint8_t *p = arg_bytes(env, argv[1], &len);
  double off = 0, n = 0;
  napi_get_value_double(env, argv[2], &off);
  napi_get_value_double(env, argv[3], &n);
  if (!p || !(off >= 0) || off > (double)len) off = 0, n = 0, p = (const uint8_t *)"";
  if (!(n >= 0)) n = 0;
  if (n > (double)len - off) n = (double)len - off;
  push_bytes(env, L, (const char *)p + (size_t)off, (size_t)n);
  return ret_undef(env);
}

/* lua_tolstring of the value at idx: a string is read as it is; only a number's conversion
 * allocates, so only it runs guarded. NULL for other types. */
static const char *to_lstring(napi_env env, lua_State *L, int idx, size_t *n) {
  if (lua_type(L, idx) == LUA_TSTRING) return lua_tolstring(L, idx, n);
  aop_t o = {.L = L, .op = OP_TOLSTRING, .a = abs_index(L, idx)};
  guarded(env, &o);
  *n = o.n;
  return o.s;
}

/* tostr(L, idx): the string (or number, converted in place) as latin1, else null */
static napi_value js_tostr(napi_env env, napi_callback_info info) {
  ARGS(2);
  size_t n;
  const char *s = to_lstring(env, arg_L(env, argv[0]), arg_i(env, argv[1]), &n);
  return s ? ret_str(env, s, n) : ret_null(env);
}

/* tobuf(L, idx): copies the string into the scratch buffer when it fits; returns its length,
 * or -1 when the value is no string. A longer string is not copied: the caller grows the
 * scratch buffer and asks again. */
static napi_value js_tobuf(napi_env env, napi_callback_info info) {
  ARGS(2);
  size_t n;
  const char *s = to_lstring(env, arg_L(env, argv[0]), arg_i(env, argv[1]), &n);
  if (!s) return ret_i(env, -1);
  inst_t *in = tls_inst;
  if (n <= in->scratch_cap) memcpy(in->scratch, s, n);
  return ret_d(env, (double)n);
}

/* A number as ngx.say, ngx.print and ngx.log write it (ngx_lua's write_num): "%d" when it survives
 * a round trip through int32_t (so -0 prints 0), else C's "%.14g" (NaN keeps its sign). */
static int fmt_ngx_number(double n, char *out, size_t cap) {
  int k;
  if (n >= -2147483648.0 && n <= 2147483647.0 && n == (double)(int32_t)n) k = snprintf(out, cap, "%d", (int)(int32_t)n);
  else k = snprintf(out, cap, "%.14g", n);
  return k < 0 ? 0 : k;
}

static napi_value js_numstr(napi_env env, napi_callback_info info) {
  ARGS(2);
  char b[64];
  int n = fmt_ngx_number(lua_tonumber(arg_L(env, argv[0]), arg_i(env, argv[1])), b, sizeof b);
  return ret_str(env, b, (size_t)n);
}

/* strargs(L, from, to, nl): when the arguments from..to are all strings or numbers, copies them
 * (numbers as fmt_ngx_number writes them), then a "\n" when nl, into the scratch buffer and
 * returns the length; -1 when one is of another type; -(length + 2) when the scratch buffer is
 * too small (nothing copied). One call for ngx.say's common case. */
static napi_value js_strargs(napi_env env, napi_callback_info info) {
  ARGS(4);
  lua_State *L = arg_L(env, argv[0]);
  int from = arg_i(env, argv[1]), to = arg_i(env, argv[2]);
  bool nl = false;
  napi_get_value_bool(env, argv[3], &nl);
  return ret_d(env, args_to_scratch(L, from, to, nl));
}

/* rawnum(L, idx, n): the number t[n] of the table at idx (raw access), 0 when idx holds no table
 * or t[n] is no number. One call for what a cosocket method reads of its self table. */
static napi_value js_rawnum(napi_env env, napi_callback_info info) {
  ARGS(3);
  lua_State *L = arg_L(env, argv[0]);
  int idx = abs_index(L, arg_i(env, argv[1]));
  if (lua_type(L, idx) != LUA_TTABLE) return ret_d(env, 0);
  lua_rawgeti(L, idx, arg_i(env, argv[2]));
  double d = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
  lua_pop(L, 1);
  return ret_d(env, d);
}

/* tabbytes(L, idx): send()'s array table (nested arrays of strings and numbers) copied flat into
 * the scratch buffer, numbers as fmt_ngx_number writes them; returns the length, or -1 for
 * anything else (a hole, a non-array key, another type, deep nesting, more than the scratch
 * buffer holds), which the caller then walks itself to find the error nginx reports. One call
 * instead of three per element. */
static int tab_copy(lua_State *L, int idx, inst_t *in, size_t *total, int depth) {
  if (depth > 4) return -1;
  double max = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    double k = lua_type(L, -2) == LUA_TNUMBER ? lua_tonumber(L, -2) : 0;
    lua_pop(L, 1);
    if (k < 1 || k != floor(k)) {
      lua_pop(L, 1);
      return -1;
    }
    if (k > max) max = k;
  }
  char num[32];
  for (double i = 1; i <= max; i++) {
    lua_rawgeti(L, idx, (int)i);
    int t = lua_type(L, -1);
    const char *p = NULL;
    size_t n = 0;
    int ok = 1;
    if (t == LUA_TSTRING) {
      p = lua_tolstring(L, -1, &n);
    } else if (t == LUA_TNUMBER) {
      /* as ngx_lua writes numbers in send()'s tables: its write_num, as for ngx.say */
      n = (size_t)fmt_ngx_number(lua_tonumber(L, -1), num, sizeof num);
      p = num;
    } else if (t == LUA_TTABLE) {
      ok = tab_copy(L, lua_gettop(L), in, total, depth + 1) == 0;
    } else ok = 0;
    if (ok && p) {
      if (*total + n > in->scratch_cap) ok = 0;
      else memcpy(in->scratch + *total, p, n);
      *total += n;
    }
    lua_pop(L, 1);
    if (!ok) return -1;
  }
  return 0;
}
static napi_value js_tabbytes(napi_env env, napi_callback_info info) {
  ARGS(2);
  lua_State *L = arg_L(env, argv[0]);
  int idx = abs_index(L, arg_i(env, argv[1]));
  size_t total = 0;
  if (lua_type(L, idx) != LUA_TTABLE || tab_copy(L, idx, tls_inst, &total, 0) != 0) return ret_i(env, -1);
  return ret_d(env, (double)total);
}

/* a value length of PAIR_TRUE stands for the value true (a query argument without "=") */
#define PAIR_TRUE UINT32_MAX
static void push_pair_value(lua_State *L, const char *p, size_t vn) {
  if (vn == PAIR_TRUE) lua_pushboolean(L, 1);
  else lua_pushlstring(L, p, vn);
}
static void build_pairs(aop_t *o) {
  lua_State *L = o->L;
  lua_createtable(L, 0, o->a);
  int t = lua_gettop(L);
  const char *p = o->p;
  for (int i = 0; i < o->a; i++) {
    size_t kn = o->lens[2 * i], vn = o->lens[2 * i + 1];
    lua_pushlstring(L, p, kn);
    p += kn;
    lua_pushvalue(L, -1);
    lua_rawget(L, t);
    int ty = lua_type(L, -1);
    if (ty == LUA_TNIL) {
      lua_pop(L, 1);
      push_pair_value(L, p, vn);
      lua_rawset(L, t);
    } else if (ty == LUA_TTABLE) {
      push_pair_value(L, p, vn);
      lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
      lua_pop(L, 2);
    } else {
      lua_createtable(L, 2, 0);
      lua_insert(L, -2);
      lua_rawseti(L, -2, 1);
      push_pair_value(L, p, vn);
      lua_rawseti(L, -2, 2);
      lua_rawset(L, t);
    }
    if (vn != PAIR_TRUE) p += vn;
  }
  if (o->b != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, o->b);
    lua_setmetatable(L, t);
  }
}
/* pushpairs(L, data, lens, count, lower, mtref): a new table of count (key, value) pairs, the
 * values of a repeated key gathered into an array in order, as ngx_lua returns headers and query
 * arguments. data holds each key then its value (a latin1 string or a Buffer), lens their lengths
 * [k1, v1, k2, v2, ...], a value's PAIR_TRUE for true; lower lower-cases the keys (ASCII, as
 * nginx's header hash does); the table gets the metatable registry[mtref] unless LUA_NOREF.
 * Returns the table's stack index, or -1 (nothing pushed) when lens is too short or memory runs
 * out. */
static napi_value js_pushpairs(napi_env env, napi_callback_info info) {
  ARGS(6);
  lua_State *L = arg_L(env, argv[0]);
  size_t n = 0, ln = 0;
  const uint32_t *jlens = (const uint32_t *)arg_bytes(env, argv[2], &ln);
  int count = arg_i(env, argv[3]);
  bool lower = false;
  napi_get_value_bool(env, argv[4], &lower);
  /* data: a latin1 string, or a Buffer */
  napi_valuetype dt;
  napi_typeof(env, argv[1], &dt);
  void *bytes = NULL;
  if (dt == napi_string) napi_get_value_string_latin1(env, argv[1], NULL, 0, &n);
  else if (napi_get_buffer_info(env, argv[1], &bytes, &n) != napi_ok) return ret_i(env, -1);
  /* ln counts the Uint32Array's elements */
  if (count < 0 || (size_t)count * 2 > ln) return ret_i(env, -1);
  /* a private copy of both: a finalizer run by an allocation below may call back into JS, and
   * JS may reuse the scratch buffer or the lengths array */
  size_t need = (size_t)count * 2 * sizeof(uint32_t) + n + 1;
  uint64_t local[512];
  uint8_t *mem = need <= sizeof local ? (uint8_t *)local : malloc(need);
  if (!mem) return ret_i(env, -1);
  uint32_t *lens = (uint32_t *)mem;
  memcpy(lens, jlens, (size_t)count * 2 * sizeof(uint32_t));
  char *data = (char *)(lens + (size_t)count * 2);
  if (bytes) memcpy(data, bytes, n);
  else napi_get_value_string_latin1(env, argv[1], data, n + 1, &n);
  if (lower) {
    uint8_t *q = (uint8_t *)data;
    for (int i = 0; i < count; i++) {
      for (uint32_t j = 0; j < lens[2 * i]; j++) q[j] = q[j] >= 'A' && q[j] <= 'Z' ? q[j] + 32 : q[j];
      q += lens[2 * i] + (lens[2 * i + 1] == PAIR_TRUE ? 0 : lens[2 * i + 1]);
    }
  }
  aop_t o = {.L = L, .op = OP_PAIRS, .p = data, .a = count, .b = arg_i(env, argv[5]), .lens = lens};
  guarded(env, &o);
  if (mem != (uint8_t *)local) free(mem);
  return ret_i(env, lua_gettop(L));
}

/* getfield/setfield: raw access with a string key (no metamethods can run, so nothing raises) */
/* Pushes the key argv[2]; returns the table's index made absolute (the push shifts relative ones). */
static int push_key(napi_env env, lua_State *L, napi_value *argv) {
  int idx = abs_index(L, arg_i(env, argv[1]));
  char buf[256];
  size_t n;
  char *p = arg_latin1(env, argv[2], buf, sizeof buf, &n);
  push_bytes(env, L, p, n);
  free_if(p, buf);
  return idx;
}
static napi_value js_getfield(napi_env env, napi_callback_info info) {
  ARGS(3);
  lua_State *L = arg_L(env, argv[0]);
  lua_rawget(L, push_key(env, L, argv));
  return ret_i(env, lua_type(L, -1));
}
static napi_value js_setfield(napi_env env, napi_callback_info info) {
  ARGS(3);
  lua_State *L = arg_L(env, argv[0]);
  int idx = push_key(env, L, argv);
  lua_insert(L, -2);
  lua_rawset(L, idx);
  return ret_undef(env);
}

/* pushfn(L, id, nup): a Lua function that calls JS function `id`; the nup values on top of the
 * stack become its upvalues 2..nup+1 (upvalue 1 is the id). */
static napi_value js_pushfn(napi_env env, napi_callback_info info) {
  ARGS(4);
  lua_State *L = arg_L(env, argv[0]);
  int id = arg_i(env, argv[1]);
  int nup = arg_i(env, argv[2]);
  /* args = 1: an args function (trampoline_a) */
  int args = arg_i(env, argv[3]);
  lua_pushinteger(L, id);
  if (nup > 0) lua_insert(L, -(nup + 1));
  aop_t o = {.L = L, .op = OP_PUSHFN, .a = nup + 1, .b = args ? 2 : 0};
  guarded(env, &o);
  return ret_undef(env);
}

/* pushsfn(L, id): a string function (trampoline_s) for JS function `id` */
static napi_value js_pushsfn(napi_env env, napi_callback_info info) {
  ARGS(2);
  lua_State *L = arg_L(env, argv[0]);
  lua_pushinteger(L, arg_i(env, argv[1]));
  aop_t o = {.L = L, .op = OP_PUSHFN, .a = 1, .b = 1};
  guarded(env, &o);
  return ret_undef(env);
}

/* ---- calling into Lua (always protected) ------------------------------------------------ */

static napi_value js_pcall(napi_env env, napi_callback_info info) {
  ARGS(4);
  lua_State *L = arg_L(env, argv[0]);
  enter_lua(env, L);
  int st = lua_pcall(L, arg_i(env, argv[1]), arg_i(env, argv[2]), arg_i(env, argv[3]));
  vmx_leave(L);
  return ret_i(env, st);
}

/* load(L, code, chunkname) */
static napi_value js_load(napi_env env, napi_callback_info info) {
  ARGS(3);
  lua_State *L = arg_L(env, argv[0]);
  size_t n;
  const uint8_t *code = arg_bytes(env, argv[1], &n);
  char buf[512];
  char *name = arg_utf8(env, argv[2], buf, sizeof buf);
  /* compiling is bounded by the code's size: lua_max_memory does not stop it */
  vmx_t *x = vmx_of(L);
  vmx_exempt(x, 1);
  int rc = luaL_loadbuffer(L, code ? (const char *)code : "", n, name);
  vmx_exempt(x, 0);
  free_if(name, buf);
  return ret_i(env, rc);
}

/* traceback(L, L1, level): luaL_traceback of L1 as a string (nothing left on L) */
static napi_value js_traceback(napi_env env, napi_callback_info info) {
  ARGS(3);
  lua_State *L = arg_L(env, argv[0]);
  lua_State *L1 = arg_L(env, argv[1]);
  aop_t o = {.L = L, .op = OP_TRACEBACK, .L1 = L1, .a = arg_i(env, argv[2])};
  guarded(env, &o);
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  napi_value r = ret_str(env, s ? s : "", s ? n : 0);
  lua_pop(L, 1);
  return r;
}

/* argerror(L, narg, msg): pushes luaL_argerror's message for the running C function, without
 * raising it (the caller raises it through the trampoline). */
/* "chunk:line: " for the function `level` frames up, as luaL_where; "" for a C function. */
static int where_prefix(lua_State *L, int level, char *out, size_t cap) {
  lua_Debug ar;
  out[0] = 0;
  if (!lua_getstack(L, level, &ar)) return 0;
  lua_getinfo(L, "Sl", &ar);
  if (ar.currentline <= 0) return 0;
  int n = snprintf(out, cap, "%s:%d: ", ar.short_src, ar.currentline);
  return n < 0 ? 0 : (size_t)n >= cap ? (int)cap - 1 : n;
}

/* Pushes prefix + msg as one string. */
static void push_msg(napi_env env, lua_State *L, const char *prefix, int plen, const char *msg, size_t mlen) {
  char small[1024];
  size_t total = (size_t)plen + mlen;
  char *b = total <= sizeof small ? small : malloc(total);
  if (!b) return push_bytes(env, L, msg, mlen);
  memcpy(b, prefix, (size_t)plen);
  memcpy(b + plen, msg, mlen);
  push_bytes(env, L, b, total);
  if (b != small) free(b);
}

/* errmsg(L, level, msg): pushes msg prefixed with luaL_where(L, level)'s position */
static napi_value js_errmsg(napi_env env, napi_callback_info info) {
  ARGS(3);
  lua_State *L = arg_L(env, argv[0]);
  char buf[512], where[LUA_IDSIZE + 32];
  size_t n;
  char *msg = arg_latin1(env, argv[2], buf, sizeof buf, &n);
  int wl = where_prefix(L, arg_i(env, argv[1]), where, sizeof where);
  push_msg(env, L, where, wl, msg ? msg : "", msg ? n : 0);
  free_if(msg, buf);
  return ret_undef(env);
}

/* argerror(L, narg, msg): pushes luaL_argerror's message for the running C function, without
 * raising it (the caller raises it through the trampoline). */
static napi_value js_argerror(napi_env env, napi_callback_info info) {
  ARGS(3);
  lua_State *L = arg_L(env, argv[0]);
  int narg = arg_i(env, argv[1]);
  char buf[512], where[LUA_IDSIZE + 32], text[1024];
  size_t n;
  char *msg = arg_latin1(env, argv[2], buf, sizeof buf, &n);
  lua_Debug ar;
  const char *name = "?";
  int t, method = 0;
  if (lua_getstack(L, 0, &ar)) {
    lua_getinfo(L, "n", &ar);
    method = ar.namewhat && strcmp(ar.namewhat, "method") == 0;
    if (method) narg--;
    if (ar.name) name = ar.name;
  }
  if (method && narg == 0)
    t = snprintf(text, sizeof text, "calling '%s' on bad self (%.*s)", name, (int)n, msg ? msg : "");
  else
    t = snprintf(text, sizeof text, "bad argument #%d to '%s' (%.*s)", narg, name, (int)n, msg ? msg : "");
  if (t < 0) t = 0;
  if ((size_t)t >= sizeof text) t = sizeof text - 1;
  int wl = where_prefix(L, 1, where, sizeof where);
  push_msg(env, L, where, wl, text, (size_t)t);
  free_if(msg, buf);
  return ret_undef(env);
}

/* logwhere(L, level): "<short_src>:<line>: <fn>(): " for the Lua function `level` frames up,
 * as ngx_lua prefixes ngx.log lines; "" when there is no such frame. */
static napi_value js_logwhere(napi_env env, napi_callback_info info) {
  ARGS(2);
  lua_State *L = arg_L(env, argv[0]);
  lua_Debug ar;
  if (!lua_getstack(L, arg_i(env, argv[1]), &ar)) return ret_str(env, "", 0);
  lua_getinfo(L, "Sln", &ar);
  char out[LUA_IDSIZE + 320];
  int n;
  /* a chunk from a file is named by the file's base name, as ngx_lua writes it */
  const char *src = ar.short_src;
  if (ar.source && ar.source[0] == '@') {
    const char *slash = strrchr(src, '/');
    if (slash) src = slash + 1;
  }
  if (ar.name) {
    n = snprintf(out, sizeof out, "%s:%d: %.256s(): ", src, ar.currentline, ar.name);
  } else {
    n = snprintf(out, sizeof out, "%s:%d: ", src, ar.currentline);
  }
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof out) n = sizeof out - 1;
  return ret_str(env, out, (size_t)n);
}

/* ---- shared dict zones and listening sockets (shdict.c, listen.c) ------------------------- */

/* shdopen(name, size, fd): the zone's fd (fd < 0 creates it), or -errno */
static napi_value js_shdopen(napi_env env, napi_callback_info info) {
  ARGS(3);
  char buf[256];
  size_t n;
  char *name = arg_latin1(env, argv[0], buf, sizeof buf, &n);
  int out = -1;
  int rc = name && n < sizeof buf ? ngxlua_shd_open(name, (uint64_t)arg_d(env, argv[1]), arg_i(env, argv[2]), &out) : -22;
  free_if(name, buf);
  return ret_i(env, rc < 0 ? rc : out);
}

static napi_value js_shdsuppress(napi_env env, napi_callback_info info) {
  ARGS(1);
  ngxlua_shd_suppress(arg_i(env, argv[0]));
  return ret_undef(env);
}

/* listensocket(host, port, backlog, reuseport): the fd, or -errno */
static napi_value js_listensocket(napi_env env, napi_callback_info info) {
  ARGS(4);
  char buf[512];
  size_t n;
  char *host = arg_latin1(env, argv[0], buf, sizeof buf, &n);
  int rc = host ? ngxlua_listen_socket(host, arg_i(env, argv[1]), arg_i(env, argv[2]), arg_i(env, argv[3])) : -22;
  free_if(host, buf);
  return ret_i(env, rc);
}

/* ---- module ------------------------------------------------------------------------------ */

#define EXPORT(name) {#name, NULL, js_##name, NULL, NULL, NULL, napi_default, NULL}

static napi_value init(napi_env env, napi_value exports) {
  /* C modules (cjson.so) resolve lua_* from the global namespace; the addon was loaded with
   * RTLD_LOCAL, so promote libluajit's symbols. */
  dlopen("libluajit-5.1.so.2", RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
  /* and our own, for the nginx functions that libraries reach through ffi.C (ngx_exports.c) */
  Dl_info self;
  if (dladdr((void *)init, &self) && self.dli_fname) dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
  /* glibc raises its mmap threshold to the size of each large block freed, after which
   * large buffers (a response a client did not read, a big request body) come from the heap
   * and their memory is kept after they are freed. A fixed threshold gives it back at once. */
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  inst_t *in = calloc(1, sizeof *in);
  if (!in) return NULL;
  {
    static int have_loop;
    struct uv_loop_s *loop;
    if (!have_loop && napi_get_uv_event_loop(env, &loop) == napi_ok) {
      ngxlua_shd_set_loop(loop);
      have_loop = 1;
    }
  }
  in->env = env;
  tls_inst = in;
  napi_set_instance_data(env, in, free_inst, NULL);
  napi_property_descriptor props[] = {
      EXPORT(newstate), EXPORT(close), EXPORT(setdispatch), EXPORT(setscratch), EXPORT(version),
      EXPORT(gettop), EXPORT(settop), EXPORT(pushvalue), EXPORT(insert), EXPORT(remove),
      EXPORT(type), EXPORT(checkstack), EXPORT(pushnil), EXPORT(toboolean),
      EXPORT(tonumber), EXPORT(tonumberx), EXPORT(touserdata), EXPORT(tothread), EXPORT(topointer),
      EXPORT(objlen), EXPORT(createtable), EXPORT(rawget), EXPORT(rawset),
      EXPORT(rawgeti), EXPORT(rawseti), EXPORT(rawsetinum), EXPORT(getmetatable), EXPORT(setmetatable), EXPORT(next),
      EXPORT(newthread), EXPORT(pushthread), EXPORT(status), EXPORT(isyieldable),
      EXPORT(newuserdata), EXPORT(ref), EXPORT(unref), EXPORT(errmsg), EXPORT(setfinalizerhook),
      EXPORT(resume), EXPORT(startref), EXPORT(xmove), EXPORT(pushnumber),
      EXPORT(pushboolean), EXPORT(pushlightuserdata), EXPORT(pushbufptr), EXPORT(pushstr), EXPORT(pushbytes), EXPORT(pushbytesat),
      EXPORT(tostr), EXPORT(tobuf), EXPORT(numstr), EXPORT(strargs), EXPORT(tabbytes), EXPORT(rawnum), EXPORT(pushpairs), EXPORT(pushsfn), EXPORT(getfield), EXPORT(setfield), EXPORT(pushfn),
      EXPORT(pcall), EXPORT(setlimits), EXPORT(collect), EXPORT(load), EXPORT(traceback), EXPORT(argerror), EXPORT(logwhere),
      EXPORT(shdopen), EXPORT(shdsuppress), EXPORT(listensocket),
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  ngxlua_stream_exports(env, exports);
  ngxlua_headscan_exports(env, exports);
  return exports;
}

NAPI_MODULE_INIT() {
  return init(env, exports);
}
