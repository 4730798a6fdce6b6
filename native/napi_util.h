#ifndef NGXLUA_NAPI_UTIL_H
#define NGXLUA_NAPI_UTIL_H
/* argument and result helpers shared by the addon's files */
#include <node_api.h>
#include <stdint.h>

static inline int32_t arg_i(napi_env env, napi_value v) {
  int32_t i = 0;
  napi_get_value_int32(env, v, &i);
  return i;
}
static inline napi_value ret_d(napi_env env, double d) {
  napi_value r;
  napi_create_double(env, d, &r);
  return r;
}
static inline napi_value ret_undef(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

#endif
