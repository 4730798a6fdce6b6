/* The common request head scanned in C (headscan.c); http/parser.ts does the rest. */
#ifndef NGXLUA_HEADSCAN_H
#define NGXLUA_HEADSCAN_H
#include <node_api.h>
void ngxlua_headscan_exports(napi_env env, napi_value exports);
#endif
