/* lua_max_running_time and lua_max_memory (limits.c): per-state limits and the watchdog. */
#ifndef NGXLUA_LIMITS_H
#define NGXLUA_LIMITS_H
#include <lua.h>

typedef struct vmx vmx_t;

/* wrap the state's allocator (call once, right after the state is made) */
vmx_t *vmx_attach(lua_State *L);
/* the state's limits, from any of its threads (NULL if not attached) */
vmx_t *vmx_of(lua_State *L);
/* restore the state's own allocator and free the limits (right before lua_close) */
void vmx_detach(lua_State *L);
/* register package.loaded["ngxlua.limits"] (the trace registry lua/limits.lua feeds) */
void vmx_open(lua_State *L);
/* 0 turns a limit off; returns -1 when the watchdog cannot be started */
int vmx_set_limits(vmx_t *x, double running_ms, double memory_bytes);
/* an allocation made for JS glue passes the cap */
void vmx_exempt(vmx_t *x, int on);
/* whether the cap was passed since the last call (then collect garbage before the next entry) */
int vmx_take_collect(vmx_t *x);
/* around every entry into Lua from JS */
void vmx_enter(lua_State *L);
void vmx_leave(lua_State *L);
#endif
