/*
 * The common request head, scanned in C. http/parser.ts holds the full state machine (every
 * form nginx accepts, every error with its context); this scanner takes only the plain shape
 * almost every client sends, complete in one buffer:
 *
 *   METHOD SP /path SP HTTP/1.d CRLF (Name: value CRLF)* CRLF
 *
 * and declines everything else (another target form, extra spaces, bare LFs, a byte the state
 * machine would ignore or refuse, a duplicate of a header nginx allows once, a head longer than
 * the first header buffer). Whatever it accepts, the state machine accepts with the same
 * offsets; what it declines, the state machine scans as if this did not exist. So it changes
 * the cost of a request head, never its outcome.
 */
#include <stdint.h>
#include <string.h>
#include "napi_util.h"
#include "headscan.h"

/* output layout: offsets relative to the head's first byte */
enum {
  O_METHOD_END = 0, /* the SP after the method */
  O_TARGET_END = 1, /* the SP after the path */
  O_PROTO = 2,      /* the 'H' of HTTP/ */
  O_LINE_END = 3,   /* the request line's CR */
  O_MINOR = 4,      /* HTTP/1.<minor> */
  O_NHDR = 5,
  O_REFERER = 6,    /* index of the first Referer header, -1: none */
  O_AGENT = 7,      /* index of the first User-Agent header, -1: none */
  O_QUERY = 8,      /* the '?' that starts the args, or O_TARGET_END: none */
  O_HOST_END = 9,   /* where the Host value's host part ends (its port and a final dot cut) */
  O_UNIQUE = 10,    /* U_COUNT slots: index + 1 of the header of each kind (0: none) */
  O_HDR = 20,       /* 4 per header: name start, name end, value start, value end */
  HS_MAX_HDR = 64,
  O_SIZE = O_HDR + 4 * HS_MAX_HDR,
};

/* the kinds parser.ts's headerLineDone acts on; same numbering as its U_* constants */
enum {
  U_HOST, U_CONTENT_LENGTH, U_TRANSFER_ENCODING, U_EXPECT, U_IF_MATCH, U_IF_RANGE,
  U_CONTENT_RANGE, U_IF_NONE_MATCH, U_AUTHORIZATION, U_IF_MODIFIED_SINCE,
  U_IF_UNMODIFIED_SINCE, U_COUNT,
  K_REFERER = 100, K_AGENT, K_NONE = -1,
};

static int32_t *hs_out;

/* byte classes, as in parser.ts */
static uint8_t name_ch[256], method_ch[256], uri_ch[256], value_stop[256];

static void classes(void) {
  for (int c = 0; c < 256; c++) {
    int letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    int digit = c >= '0' && c <= '9';
    name_ch[c] = letter || digit || c == '-';
    method_ch[c] = (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
    uri_ch[c] = c > ' ' && c != 127;
    value_stop[c] = c == ' ' || c == '\r' || c == '\n' || c == 0;
  }
}

/*
 * The Host value v[0..n) as nginx's ngx_http_validate_host takes it: the length of its host
 * part (the port and a final dot cut), or -1 when it is invalid or needs lower-casing (the
 * state machine's side does both).
 */
static int host_len(const uint8_t *v, size_t n) {
  long dot = -2, len = (long)n;
  int state = 0; /* 0: the name, 1: inside an IP literal, 2: past the host */
  for (size_t i = 0; i < n; i++) {
    uint8_t c = v[i];
    switch (c) {
      case '.':
        if (dot == (long)i - 1) return -1;
        dot = (long)i;
        break;
      case ':':
        if (state == 0) {
          len = (long)i;
          state = 2;
        }
        break;
      case '[':
        if (i == 0) state = 1;
        break;
      case ']':
        if (state == 1) {
          len = (long)i + 1;
          state = 2;
        }
        break;
      default:
        if (c <= ' ' || c == 127 || c == '/' || (c >= 'A' && c <= 'Z')) return -1;
    }
  }
  if (dot == len - 1) len--;
  return len > 0 ? (int)len : -1;
}

/* a header name (letters, digits and '-' only) equals the lower-case `s` of the same length */
static inline int name_is(const uint8_t *n, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((n[i] | 0x20) != (uint8_t)s[i]) return 0;
  return 1;
}

static int kind_of(const uint8_t *n, size_t len) {
#define IS(s) name_is(n, s, len)
  switch (len) {
    case 4: return IS("host") ? U_HOST : K_NONE;
    case 6: return IS("expect") ? U_EXPECT : K_NONE;
    case 7: return IS("referer") ? K_REFERER : K_NONE;
    case 8: return IS("if-match") ? U_IF_MATCH : IS("if-range") ? U_IF_RANGE : K_NONE;
    case 10: return IS("user-agent") ? K_AGENT : K_NONE;
    case 13:
      return IS("content-range") ? U_CONTENT_RANGE : IS("if-none-match") ? U_IF_NONE_MATCH
             : IS("authorization") ? U_AUTHORIZATION : K_NONE;
    case 14: return IS("content-length") ? U_CONTENT_LENGTH : K_NONE;
    case 17:
      return IS("transfer-encoding") ? U_TRANSFER_ENCODING
             : IS("if-modified-since") ? U_IF_MODIFIED_SINCE : K_NONE;
    case 19: return IS("if-unmodified-since") ? U_IF_UNMODIFIED_SINCE : K_NONE;
  }
  return K_NONE;
#undef IS
}

/* the head at p[0..n): its length, or -1 to leave it to the state machine */
static int scan(const uint8_t *p, size_t n, int maxh) {
  int32_t *o = hs_out;
  size_t i = 0;
  if (n == 0 || !method_ch[p[0]]) return -1;
  while (i < n && method_ch[p[i]]) i++;
  if (i + 1 >= n || p[i] != ' ' || p[i + 1] != '/') return -1;
  o[O_METHOD_END] = (int32_t)i;
  /* a path that needs no normalizing: no %XX, no '.' or empty segment; no fragment */
  size_t q = 0;
  for (i += 2; i < n && uri_ch[p[i]]; i++) {
    uint8_t c = p[i];
    if (c == '#') return -1;
    if (q != 0) continue;
    if (c == '?') q = i;
    else if (c == '%' || ((c == '/' || c == '.') && p[i - 1] == '/')) return -1;
  }
  o[O_QUERY] = (int32_t)(q != 0 ? q : i);
  if (i + 11 > n || memcmp(p + i, " HTTP/1.", 8) != 0) return -1;
  o[O_TARGET_END] = (int32_t)i;
  o[O_PROTO] = (int32_t)(i + 1);
  i += 8;
  if (p[i] < '0' || p[i] > '9' || p[i + 1] != '\r' || p[i + 2] != '\n') return -1;
  o[O_MINOR] = p[i] - '0';
  o[O_LINE_END] = (int32_t)(i + 1);
  i += 3;
  for (int u = 0; u < U_COUNT; u++) o[O_UNIQUE + u] = 0;
  o[O_REFERER] = o[O_AGENT] = -1;
  int nh = 0;
  for (;;) {
    if (i >= n) return -1;
    if (p[i] == '\r') {
      if (i + 1 >= n || p[i + 1] != '\n') return -1;
      o[O_NHDR] = nh;
      return (int)(i + 2);
    }
    if (nh >= HS_MAX_HDR || nh >= maxh) return -1;
    size_t ns = i;
    while (i < n && name_ch[p[i]]) i++;
    if (i == ns || i >= n || p[i] != ':') return -1;
    size_t ne = i++;
    while (i < n && p[i] == ' ') i++;
    size_t vs = i, ve = i;
    /* the value ends after its last byte that is not a space */
    for (; i < n; i++) {
      uint8_t c = p[i];
      if (!value_stop[c]) ve = i + 1;
      else if (c != ' ') break;
    }
    if (i + 1 >= n || p[i] != '\r' || p[i + 1] != '\n') return -1;
    i += 2;
    int32_t *h = o + O_HDR + 4 * nh;
    h[0] = (int32_t)ns;
    h[1] = (int32_t)ne;
    h[2] = (int32_t)vs;
    h[3] = (int32_t)ve;
    int k = kind_of(p + ns, ne - ns);
    if (k == K_REFERER) {
      if (o[O_REFERER] < 0) o[O_REFERER] = nh;
    } else if (k == K_AGENT) {
      if (o[O_AGENT] < 0) o[O_AGENT] = nh;
    } else if (k != K_NONE) {
      /* a second one is an error the state machine words */
      if (o[O_UNIQUE + k] != 0) return -1;
      o[O_UNIQUE + k] = nh + 1;
      if (k == U_HOST) {
        int hl = host_len(p + vs, ve - vs);
        if (hl < 0) return -1;
        o[O_HOST_END] = (int32_t)vs + hl;
      }
    }
    nh++;
  }
}

/* headscaninit(out: Int32Array of at least headscanSize() elements) */
static napi_value js_headscaninit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_typedarray_type t;
  size_t len = 0;
  void *data = NULL;
  if (argc < 1 || napi_get_typedarray_info(env, argv[0], &t, &len, &data, NULL, NULL) != napi_ok ||
      t != napi_int32_array || len < O_SIZE) {
    napi_throw_type_error(env, NULL, "headscaninit: an Int32Array of headscansize elements expected");
    return NULL;
  }
  hs_out = data;
  classes();
  return ret_undef(env);
}

static napi_value js_headscansize(napi_env env, napi_callback_info info) {
  return ret_d(env, O_SIZE);
}

/* headscan(buf, start, limit, maxHeaders): the head's length, or -1 */
static napi_value js_headscan(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data = NULL;
  size_t len = 0;
  if (hs_out == NULL || argc < 4 || napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) return ret_d(env, -1);
  int32_t start = arg_i(env, argv[1]), limit = arg_i(env, argv[2]), maxh = arg_i(env, argv[3]);
  if (start < 0 || (size_t)start > len) return ret_d(env, -1);
  size_t n = len - (size_t)start;
  if (limit >= 0 && n > (size_t)limit) n = (size_t)limit;
  return ret_d(env, scan((const uint8_t *)data + start, n, maxh));
}

void ngxlua_headscan_exports(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"headscaninit", NULL, js_headscaninit, NULL, NULL, NULL, napi_default, NULL},
      {"headscansize", NULL, js_headscansize, NULL, NULL, NULL, napi_default, NULL},
      {"headscan", NULL, js_headscan, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
