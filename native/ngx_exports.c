/*
 * nginx core functions that Lua libraries call through ffi.C, as the reference's nginx binary
 * exports them (lua-resty-string's to_hex and atoi). Exported from the addon, whose symbols the
 * engine makes global at load so that ffi.C finds them.
 */
#include <stddef.h>
#include <stdint.h>

#define NGX_ERROR (-1)

unsigned char *ngx_hex_dump(unsigned char *dst, const unsigned char *src, size_t len) {
  static const char hex[] = "0123456789abcdef";
  while (len--) {
    *dst++ = (unsigned char)hex[*src >> 4];
    *dst++ = (unsigned char)hex[*src++ & 0xf];
  }
  return dst;
}

/* nginx's ngx_atoi: decimal digits only, NGX_ERROR for none, any other byte, or overflow */
intptr_t ngx_atoi(const unsigned char *line, size_t n) {
  const intptr_t cutoff = INTPTR_MAX / 10, cutlim = INTPTR_MAX % 10;
  intptr_t value = 0;
  if (n == 0) return NGX_ERROR;
  for (; n--; line++) {
    if (*line < '0' || *line > '9') return NGX_ERROR;
    intptr_t d = *line - '0';
    if (value >= cutoff && (value > cutoff || d > cutlim)) return NGX_ERROR;
    value = value * 10 + d;
  }
  return value;
}
