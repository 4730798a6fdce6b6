/*
 * Our extension: lua_max_running_time and lua_max_memory.
 *
 * Running time. An entry into Lua from JS (lua_resume, lua_pcall) records when it began; a
 * watchdog thread sees an entry run past the limit and signals the Lua thread. The signal
 * handler sets a count hook, which raises "lua handler exceeded lua_max_running_time" at the
 * next bytecode the interpreter runs. Compiled code never checks hooks, so a hot loop that
 * LuaJIT compiled into a trace would spin on: when the signal lands in the machine code of a
 * registered trace, the handler moves the thread to that trace's exit 0 instead. Exit 0 is the
 * exit the guards at a trace's start take. A trace is registered only when that exit restores no
 * slot, and then it is valid from anywhere in the trace: a trace writes nothing back to the Lua
 * stack before it exits, so the stack still holds what exit 0 expects, and the exit resumes the
 * interpreter at the trace's first bytecode, where the hook fires. (Values the loop computed since
 * are lost, which does not matter: the handler is being aborted.) A signal that lands elsewhere
 * (a C function the trace called, an unregistered trace) is repeated every millisecond until it
 * lands in a registered trace or the hook has fired.
 *
 * Memory. The state's allocator is wrapped and counts the bytes the Lua heap holds. An
 * allocation that passes the cap trips the entry the same way, with "not enough memory" as the
 * error. The allocation itself still succeeds: refusing it would make LuaJIT raise the error
 * from wherever it was, and an out-of-memory error thrown from a C function that compiled code
 * called crashes this LuaJIT. Past a hard ceiling (half the cap again) an allocation is refused
 * outright, unless the stack shows it comes from compiled code (then the trip must do).
 * Allocations that our JS glue makes (guarded in engine.c) are exempt: they are bounded by the
 * request, and refusing them could not be reported anywhere useful.
 */
#define _GNU_SOURCE
#include "limits.h"
#include <lauxlib.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unwind.h>

#define MAX_TRACES 8192
#define WD_SIGNAL (SIGRTMAX - 3)

struct vmx {
  lua_State *L;
  lua_Alloc f; /* the allocator we wrap */
  void *ud;
  size_t total; /* bytes the heap holds */
  size_t cap;   /* 0 = no cap */
  int exempt;   /* > 0 while JS glue allocates */
  volatile sig_atomic_t over; /* the cap was passed in the current entry */
  int collect;  /* the cap was passed: collect before the next entry */
  uint64_t limit_ns;
  uintptr_t stub0; /* the machine code of exit 0 */
  /* traces' machine code; written before the count grows, read by the signal handler */
  uintptr_t lo[MAX_TRACES], hi[MAX_TRACES];
  volatile sig_atomic_t ntraces;
  /* every trace's machine code, exit 0 usable or not (for called_from_trace) */
  uintptr_t alo[MAX_TRACES], ahi[MAX_TRACES];
  int nall;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- memory -------------------------------------------------------------------------------- */

typedef struct {
  vmx_t *x;
  int depth;
  int hit;
} walk_t;

static _Unwind_Reason_Code walk_frame(struct _Unwind_Context *ctx, void *arg) {
  walk_t *w = arg;
  uintptr_t ip = (uintptr_t)_Unwind_GetIP(ctx);
  for (int i = 0; i < w->x->nall; i++) {
    if (ip >= w->x->alo[i] && ip < w->x->ahi[i]) {
      w->hit = 1;
      return _URC_END_OF_STACK;
    }
  }
  return ++w->depth > 32 ? _URC_END_OF_STACK : _URC_NO_REASON;
}

/* Whether the allocation was asked for by a C function that a trace called. Compiled code has
 * no unwind information, so the walk ends at the trace's frame, whose return address it sees. */
static int called_from_trace(vmx_t *x) {
  walk_t w = {x, 0, 0};
  _Unwind_Backtrace(walk_frame, &w);
  return w.hit;
}

static void trip(vmx_t *x);

static void *cap_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  vmx_t *x = ud;
  if (nsize > osize && x->cap && !x->exempt && x->total + (nsize - osize) > x->cap) {
    x->collect = 1;
    if (!x->over) {
      x->over = 1;
      trip(x);
    }
    if (x->total + (nsize - osize) > x->cap + x->cap / 2 && !called_from_trace(x)) return NULL;
  }
  void *p = x->f(x->ud, ptr, osize, nsize);
  if (p != NULL || nsize == 0) x->total = x->total + nsize - osize;
  return p;
}

vmx_t *vmx_attach(lua_State *L) {
  vmx_t *x = calloc(1, sizeof *x);
  if (!x) return NULL;
  x->L = L;
  x->f = lua_getallocf(L, &x->ud);
  x->total = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
  lua_setallocf(L, cap_alloc, x);
  return x;
}

vmx_t *vmx_of(lua_State *L) {
  void *ud = NULL;
  return lua_getallocf(L, &ud) == cap_alloc ? ud : NULL;
}

void vmx_detach(lua_State *L) {
  vmx_t *x = vmx_of(L);
  if (!x) return;
  /* lua_close releases the heap's arenas only when it sees its own allocator */
  lua_setallocf(L, x->f, x->ud);
  free(x);
}

void vmx_exempt(vmx_t *x, int on) {
  if (x) x->exempt += on ? 1 : -1;
}

int vmx_take_collect(vmx_t *x) {
  if (!x || !x->collect) return 0;
  x->collect = 0;
  return 1;
}

/* ---- running time -------------------------------------------------------------------------- */

static pthread_t wd_lua_thread;
static int wd_started;
static int wd_depth;                      /* nested entries (JS -> Lua -> JS -> Lua) */
static vmx_t *volatile wd_cur;            /* the state of the outermost entry, if timed */
static _Atomic uint64_t wd_start;         /* when it began (0 = not in Lua) */
static _Atomic uint64_t wd_seq;           /* bumped at every outermost enter and leave */
static _Atomic uint64_t wd_trip_seq;      /* the entry the watchdog found overdue */
static volatile sig_atomic_t wd_tripped; /* the hook is (being) set for this entry */

static void wd_hook(lua_State *L, lua_Debug *ar) {
  /* raised at every instruction until the entry returns, so a pcall cannot swallow it for good */
  if (!wd_tripped) return;
  vmx_t *x = wd_cur;
  if (x && x->over) {
    lua_pushliteral(L, "not enough memory");
    lua_error(L);
  }
  /* where: the function the hook interrupted (level 0 inside a hook) */
  if (lua_getstack(L, 0, ar) && lua_getinfo(L, "Sl", ar) && ar->currentline > 0) {
    lua_pushfstring(L, "%s:%d: ", ar->short_src, ar->currentline);
  } else {
    lua_pushliteral(L, "");
  }
  lua_pushliteral(L, "lua handler exceeded lua_max_running_time");
  lua_concat(L, 2);
  lua_error(L);
}

/* Make the running entry fail at its next interpreted instruction. */
static void trip(vmx_t *x) {
  if (x != wd_cur || !atomic_load(&wd_start)) return;
  wd_tripped = 1;
  lua_sethook(x->L, wd_hook, LUA_MASKCOUNT, 1);
}

static void wd_signal(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  (void)si;
  vmx_t *x = wd_cur;
  if (!x || !atomic_load(&wd_start) || atomic_load(&wd_trip_seq) != atomic_load(&wd_seq)) return;
  /* again on every signal: a hook set while LuaJIT was switching its dispatch may be lost */
  trip(x);
#if defined(__x86_64__)
  ucontext_t *uc = ucv;
  uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  if (x->stub0) {
    int n = x->ntraces;
    for (int i = 0; i < n; i++) {
      if (pc >= x->lo[i] && pc < x->hi[i]) {
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)x->stub0;
        break;
      }
    }
  }
#else
  (void)ucv; /* elsewhere only interpreted code is stopped */
#endif
}

static void *wd_main(void *arg) {
  (void)arg;
  uint64_t signalled = 0;
  for (;;) {
    vmx_t *x = wd_cur;
    uint64_t lim = x ? x->limit_ns : 0;
    /* a tenth of the limit, between 1 and 50 ms; 1 ms while an overdue entry resists */
    uint64_t period = lim / 10;
    if (period < 1000000) period = 1000000;
    if (period > 50000000) period = 50000000;
    uint64_t seq = atomic_load(&wd_seq);
    if (signalled == seq || (x && x->over)) period = 1000000;
    struct timespec ts = {(time_t)(period / 1000000000u), (long)(period % 1000000000u)};
    nanosleep(&ts, NULL);
    uint64_t st = atomic_load(&wd_start);
    x = wd_cur;
    if (!st || !x || atomic_load(&wd_seq) != seq) continue;
    if (!x->over && (!x->limit_ns || now_ns() - st < x->limit_ns)) continue;
    atomic_store(&wd_trip_seq, seq);
    signalled = seq;
    pthread_kill(wd_lua_thread, WD_SIGNAL);
  }
  return NULL;
}

int vmx_set_limits(vmx_t *x, double running_ms, double memory_bytes) {
  if (!x) return -1;
  x->cap = memory_bytes > 0 ? (size_t)memory_bytes : 0;
  x->limit_ns = running_ms > 0 ? (uint64_t)(running_ms * 1e6) : 0;
  if ((x->limit_ns || x->cap) && !wd_started) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = wd_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(WD_SIGNAL, &sa, NULL) != 0) return -1;
    wd_lua_thread = pthread_self();
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 64 * 1024);
    int rc = pthread_create(&t, &at, wd_main, NULL);
    pthread_attr_destroy(&at);
    if (rc != 0) return -1;
    wd_started = 1;
  }
  return 0;
}

void vmx_enter(lua_State *L) {
  if (wd_depth++ > 0 || !wd_started) return;
  vmx_t *x = vmx_of(L);
  if (!x || (!x->limit_ns && !x->cap)) return;
  x->over = 0;
  wd_cur = x;
  atomic_store(&wd_start, now_ns());
  atomic_fetch_add(&wd_seq, 1);
}

void vmx_leave(lua_State *L) {
  if (--wd_depth > 0 || !wd_started) return;
  vmx_t *x = wd_cur;
  if (!x) return;
  /* from here on a late signal sees a new sequence number and does nothing */
  atomic_store(&wd_start, 0);
  atomic_fetch_add(&wd_seq, 1);
  if (wd_tripped) {
    wd_tripped = 0;
    lua_sethook(L, NULL, 0, 0);
  }
  x->over = 0;
  wd_cur = NULL;
}

/* ---- the registry of traces (called from lua/limits.lua through jit.attach) ---------------- */

/* trace(addr, size, stub0 | nil): a new trace; with stub0, its exit 0 may be taken anywhere */
static int l_trace(lua_State *L) {
  vmx_t *x = vmx_of(L);
  if (!x) return 0;
  uintptr_t addr = (uintptr_t)luaL_checknumber(L, 1);
  uintptr_t end = addr + (uintptr_t)luaL_checknumber(L, 2);
  if (x->nall < MAX_TRACES) {
    x->alo[x->nall] = addr;
    x->ahi[x->nall] = end;
    x->nall++;
  }
  int n = x->ntraces;
  if (lua_isnoneornil(L, 3) || n >= MAX_TRACES) return 0;
  x->lo[n] = addr;
  x->hi[n] = end;
  x->stub0 = (uintptr_t)luaL_checknumber(L, 3);
  x->ntraces = n + 1;
  return 0;
}

/* flush(): every trace is gone (jit.flush, or the machine code area was reset) */
static int l_flush(lua_State *L) {
  vmx_t *x = vmx_of(L);
  if (x) x->ntraces = x->nall = 0;
  return 0;
}

void vmx_open(lua_State *L) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaded");
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, l_trace);
  lua_setfield(L, -2, "trace");
  lua_pushcfunction(L, l_flush);
  lua_setfield(L, -2, "flush");
  lua_setfield(L, -2, "ngxlua.limits");
  lua_pop(L, 2);
}
