/*
 * Client connections on libuv directly, beneath node's stream layer. A node:net socket spends
 * more of each keep-alive request in its Readable/Writable machinery (a Buffer per read, an
 * emit, a write request object, callbacks on the next tick) than our HTTP server spends on the
 * request; here the reads of one poll of the loop reach JS in one call, and a write is held
 * to the end of that poll, then one uv_try_write that returns at once in the common case.
 * Handles are named by small integers that JS indexes its connections with; events reach JS
 * through three functions registered once per thread.
 */
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "napi_util.h"
#include "stream.h"

enum { EV_END = 1, EV_DRAIN = 2, EV_FINISH = 3, EV_CLOSE = 4, EV_ERROR = 5, EV_LCLOSE = 6, EV_CONNECT = 7, EV_BACKLOG = 8 };

typedef struct senv senv_t;

/* a TCP or unix-domain stream, seen as whichever libuv type the call needs */
typedef union {
  uv_handle_t h;
  uv_stream_t s;
  uv_tcp_t tcp;
  uv_pipe_t pipe;
} handle_u;

typedef struct {
  handle_u u;
  senv_t *se;
  int32_t id;
  uint8_t tcp, closing, reading, shut, eof;
  size_t pending;  /* bytes handed to uv_write and not yet written */
  size_t deferred; /* bytes held in the cork buffer until the end of the loop's I/O phase */
  double written;  /* bytes the kernel took */
  /* the connect and shutdown requests are allocated while they are in flight (their callbacks
   * free them, also when a close cancels them): an idle connection holds neither */
} conn_t;

typedef struct {
  handle_u u;
  senv_t *se;
  int32_t id;
  uint8_t tcp, closing;
} lsn_t;

typedef struct {
  uv_write_t req;
  conn_t *c;
  size_t len;
  char data[];
} wreq_t;

/* a connection's bytes in the cork buffer */
typedef struct {
  conn_t *c;
  size_t off, len;
} seg_t;

typedef struct {
  void **slot;
  int32_t *free;
  int32_t n, cap, nfree;
} table_t;

struct senv {
  napi_env env;
  uv_loop_t *loop;
  napi_ref on_conn, on_read, on_event, resource, rbuf_ref, batch_ref;
  napi_async_context actx;
  table_t conns, lsns;
  char *scratch;
  size_t scratch_cap;
  /* Reads land one after another in this JS Buffer and are handed to JS together, in one call
   * per poll of the loop (before the cork buffer's writes go out) rather than one call each: a
   * call into JS through napi_make_callback costs its callback scope, async context and tick
   * checks, about 0.4 us at each read of a keep-alive request. JS copies each read out (from its
   * pool of small buffers) as it takes it. Any other event of the streams first hands over the
   * reads before it, so that each connection's events stay in order. */
  char *rbuf;
  size_t rbuf_len, blen;
  /* the reads held: [id, offset in rbuf, length (-1: its connection closed since)] in a JS
   * Int32Array, and each read's connection for that check */
  int32_t *batch;
  conn_t **bconn;
  int32_t nb, batch_max, dispatching;
  /* Writes made while the loop handles the reads of one poll are held here and written after
   * it (a check handle): the peer, woken by the first of them, takes the rest without a wake-up
   * of its own for each, which on loopback costs the writer more than the write. */
  uv_check_t cork_check;
  int corking, nocork;
  char *cork;
  size_t cork_len, cork_cap;
  seg_t *segs;
  int32_t nseg, seg_cap;
};

static _Thread_local senv_t *tls_se;

/* ---- id tables ---------------------------------------------------------------------------- */

static int32_t table_put(table_t *t, void *p) {
  if (t->nfree > 0) {
    int32_t id = t->free[--t->nfree];
    t->slot[id] = p;
    return id;
  }
  if (t->n == t->cap) {
    int32_t cap = t->cap ? t->cap * 2 : 64;
    void **s = realloc(t->slot, (size_t)cap * sizeof *s);
    if (!s) return -1;
    t->slot = s;
    int32_t *f = realloc(t->free, (size_t)cap * sizeof *f);
    if (!f) return -1;
    t->free = f;
    t->cap = cap;
  }
  t->slot[t->n] = p;
  return t->n++;
}

static void table_del(table_t *t, int32_t id) {
  t->slot[id] = NULL;
  t->free[t->nfree++] = id;
}

static void *table_get(table_t *t, int32_t id) {
  return id >= 0 && id < t->n ? t->slot[id] : NULL;
}

/* ---- calls into JS ------------------------------------------------------------------------ */

/* Through napi_make_callback, as node's own handles do, so that the ticks and microtasks the
 * handler queued run before the loop goes on. A handler that throws is an uncaught exception,
 * as it would be in a socket's event listener. */
static void call_js(senv_t *se, napi_ref fn, size_t argc, napi_value *argv) {
  napi_env env = se->env;
  napi_value f, recv, res;
  napi_get_reference_value(env, fn, &f);
  napi_get_reference_value(env, se->resource, &recv);
  if (napi_make_callback(env, se->actx, recv, f, argc, argv, &res) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
}

static void dispatch_reads(senv_t *se);

static void emit(senv_t *se, int32_t id, int kind, const char *arg) {
  if (se->nb > 0) dispatch_reads(se);
  napi_env env = se->env;
  napi_handle_scope sc;
  napi_open_handle_scope(env, &sc);
  napi_value argv[3];
  napi_create_int32(env, id, &argv[0]);
  napi_create_int32(env, kind, &argv[1]);
  if (arg) napi_create_string_latin1(env, arg, NAPI_AUTO_LENGTH, &argv[2]);
  else napi_get_undefined(env, &argv[2]);
  call_js(se, se->on_event, 3, argv);
  napi_close_handle_scope(env, sc);
}

/* ---- connections -------------------------------------------------------------------------- */

static void conn_closed(uv_handle_t *h) {
  conn_t *c = (conn_t *)h;
  senv_t *se = c->se;
  int32_t id = c->id;
  free(c);
  if (se == NULL) return; /* the thread is going away */
  table_del(&se->conns, id);
  emit(se, id, EV_CLOSE, NULL);
}

static void conn_close(conn_t *c) {
  if (c->closing) return;
  c->closing = 1;
  uv_close(&c->u.h, conn_closed);
}

/* an error on the socket: reported, then the socket closes, as node's 'error' then 'close' */
static void conn_fail(conn_t *c, int err) {
  if (c->closing) return;
  emit(c->se, c->id, EV_ERROR, uv_err_name(err));
  conn_close(c);
}

/* the room a read is given (the free part of rbuf is kept at least this large) */
#define READ_ROOM (64 * 1024)

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  senv_t *se = ((conn_t *)h)->se;
  (void)hint;
  b->base = se->rbuf + se->blen;
  b->len = se->rbuf_len - se->blen;
}

/* Hand the reads held to JS: one call with their count. */
static void dispatch_reads(senv_t *se) {
  if (se->dispatching || se->nb == 0) return;
  int32_t n = se->nb;
  for (int32_t i = 0; i < n; i++) {
    conn_t *c = se->bconn[i];
    if (table_get(&se->conns, se->batch[3 * i]) != c || c->closing) se->batch[3 * i + 2] = -1;
  }
  se->dispatching = 1;
  napi_env env = se->env;
  napi_handle_scope sc;
  napi_open_handle_scope(env, &sc);
  napi_value argv[1];
  napi_create_int32(env, n, &argv[0]);
  call_js(se, se->on_read, 1, argv);
  napi_close_handle_scope(env, sc);
  se->dispatching = 0;
  se->nb = 0;
  se->blen = 0;
}

static void on_cork_check(uv_check_t *h);

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  conn_t *c = (conn_t *)s;
  senv_t *se = c->se;
  if (n == 0 || c->closing) return;
  if (n == UV_EOF) {
    uv_read_stop(s);
    c->reading = 0;
    c->eof = 1;
    emit(se, c->id, EV_END, NULL);
    return;
  }
  if (n < 0) {
    conn_fail(c, (int)n);
    return;
  }
  if (!se->corking) {
    /* the check that hands the reads over (and writes what they wrote) */
    se->corking = 1;
    uv_check_start(&se->cork_check, on_cork_check);
  }
  int32_t i = se->nb++;
  se->batch[3 * i] = c->id;
  se->batch[3 * i + 1] = (int32_t)se->blen;
  se->batch[3 * i + 2] = (int32_t)n;
  se->bconn[i] = c;
  se->blen += (size_t)n;
  /* reads cannot arrive while JS takes a batch (JS does not run the loop) */
  if (se->nb >= se->batch_max || se->rbuf_len - se->blen < READ_ROOM) dispatch_reads(se);
}

static void on_write(uv_write_t *req, int status) {
  wreq_t *w = (wreq_t *)req;
  conn_t *c = w->c;
  c->pending -= w->len;
  if (status == 0) c->written += (double)w->len;
  free(w);
  if (status < 0) {
    if (status != UV_ECANCELED) conn_fail(c, status);
  } else if (c->pending == 0 && !c->closing) {
    emit(c->se, c->id, EV_DRAIN, NULL);
  }
}

/* queue what the kernel did not take at once; false when out of memory */
static int queue_write(conn_t *c, const char *p, size_t len) {
  wreq_t *w = malloc(sizeof *w + len);
  if (!w) return 0;
  memcpy(w->data, p, len);
  w->c = c;
  w->len = len;
  uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
  int rc = uv_write(&w->req, &c->u.s, &b, 1, on_write);
  if (rc < 0) {
    free(w);
    conn_fail(c, rc);
    return 1;
  }
  c->pending += len;
  return 1;
}

/* Write p[0..len) now: what the kernel does not take is queued behind earlier writes. */
static void conn_write_now(conn_t *c, const char *p, size_t len) {
  if (c->pending == 0) {
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    int n = uv_try_write(&c->u.s, &b, 1);
    if (n >= 0) {
      c->written += n;
      p += n;
      len -= (size_t)n;
      if (len == 0) return;
    } else if (n != UV_EAGAIN && n != UV_ENOSYS) {
      conn_fail(c, n);
      return;
    }
  }
  if (!queue_write(c, p, len)) conn_fail(c, UV_ENOMEM);
}

/* the most the cork buffer holds, and the largest write it takes */
#define CORK_MAX (256 * 1024)
#define CORK_WRITE_MAX (64 * 1024)

/* Write what the cork buffer holds, each connection's bytes in their order. A connection left
 * with bytes the kernel did not take tells its owner (EV_BACKLOG), which believed them written. */
static void cork_flush(senv_t *se) {
  /* A handler called from here may write again: that is appended and written by this loop,
   * or, when the buffer is full, by a nested flush. Each segment is marked written (len 0)
   * before its write, so a nested flush goes on from there and this loop skips what it did. */
  for (int32_t i = 0; i < se->nseg; i++) {
    seg_t g = se->segs[i];
    if (g.len == 0) continue;
    se->segs[i].len = 0;
    conn_t *c = g.c;
    c->deferred -= g.len;
    if (c->closing) continue;
    size_t before = c->pending;
    conn_write_now(c, se->cork + g.off, g.len);
    if (before == 0 && c->pending > 0 && !c->closing) emit(se, c->id, EV_BACKLOG, NULL);
  }
  se->nseg = 0;
  se->cork_len = 0;
}

static void on_cork_check(uv_check_t *h) {
  senv_t *se = h->data;
  /* the reads first, while writes are still held: what they answer goes out below */
  dispatch_reads(se);
  se->corking = 0;
  uv_check_stop(h);
  cork_flush(se);
}

/* hold p[0..len) in the cork buffer; false when it does not fit */
static int cork_put(senv_t *se, conn_t *c, const char *p, size_t len) {
  if (len > CORK_WRITE_MAX || se->cork_len + len > CORK_MAX) return 0;
  if (se->cork_len + len > se->cork_cap) {
    size_t cap = se->cork_cap ? se->cork_cap * 2 : 16384;
    while (cap < se->cork_len + len) cap *= 2;
    char *b = realloc(se->cork, cap);
    if (!b) return 0;
    se->cork = b;
    se->cork_cap = cap;
  }
  if (se->nseg == se->seg_cap) {
    int32_t cap = se->seg_cap ? se->seg_cap * 2 : 64;
    seg_t *g = realloc(se->segs, (size_t)cap * sizeof *g);
    if (!g) return 0;
    se->segs = g;
    se->seg_cap = cap;
  }
  memcpy(se->cork + se->cork_len, p, len);
  se->segs[se->nseg++] = (seg_t){c, se->cork_len, len};
  se->cork_len += len;
  c->deferred += len;
  return 1;
}

/* Write p[0..len): held until the end of the I/O phase while the loop handles reads (and after
 * anything of the connection's still held), else at once. */
static void conn_write(conn_t *c, const char *p, size_t len) {
  if (c->closing || c->shut || len == 0) return;
  senv_t *se = c->se;
  if (c->pending == 0 && ((se->corking && !se->nocork) || c->deferred > 0)) {
    if (cork_put(se, c, p, len)) return;
    /* too much to hold: out with what is held, and this after it */
    cork_flush(se);
    if (c->closing) return;
  }
  conn_write_now(c, p, len);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  conn_t *c = req->data;
  free(req);
  if (c->closing) return;
  if (status < 0 && status != UV_ENOTCONN) conn_fail(c, status);
  else emit(c->se, c->id, EV_FINISH, NULL);
}

/* ---- listeners ---------------------------------------------------------------------------- */

static void fmt_addr(const struct sockaddr_storage *ss, char *out, size_t cap, int *port) {
  out[0] = 0;
  *port = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    uv_ip4_name(a, out, cap);
    *port = ntohs(a->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    uv_ip6_name(a, out, cap);
    *port = ntohs(a->sin6_port);
  }
}

static void on_connection(uv_stream_t *server, int status) {
  lsn_t *l = (lsn_t *)server;
  senv_t *se = l->se;
  if (status < 0 || l->closing) return;
  conn_t *c = calloc(1, sizeof *c);
  if (!c) return;
  c->se = se;
  c->tcp = l->tcp;
  if (l->tcp) uv_tcp_init(se->loop, &c->u.tcp);
  else uv_pipe_init(se->loop, &c->u.pipe, 0);
  c->id = -1;
  if (uv_accept(server, &c->u.s) != 0 || (c->id = table_put(&se->conns, c)) < 0) {
    c->closing = 1;
    c->se = NULL;
    uv_close(&c->u.h, conn_closed);
    return;
  }
  char ra[64] = "unix:", la[64] = "";
  int rp = 0, lp = 0;
  if (c->tcp) {
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uv_tcp_nodelay(&c->u.tcp, 1);
    if (uv_tcp_getpeername(&c->u.tcp, (struct sockaddr *)&ss, &len) == 0) fmt_addr(&ss, ra, sizeof ra, &rp);
    len = sizeof ss;
    if (uv_tcp_getsockname(&c->u.tcp, (struct sockaddr *)&ss, &len) == 0) fmt_addr(&ss, la, sizeof la, &lp);
  }
  napi_env env = se->env;
  napi_handle_scope sc;
  napi_open_handle_scope(env, &sc);
  napi_value argv[6];
  napi_create_int32(env, l->id, &argv[0]);
  napi_create_int32(env, c->id, &argv[1]);
  napi_create_string_latin1(env, ra, NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_int32(env, rp, &argv[3]);
  napi_create_string_latin1(env, la, NAPI_AUTO_LENGTH, &argv[4]);
  napi_create_int32(env, lp, &argv[5]);
  call_js(se, se->on_conn, 6, argv);
  napi_close_handle_scope(env, sc);
  if (!c->closing && uv_read_start(&c->u.s, on_alloc, on_read) == 0) c->reading = 1;
}

static void lsn_closed(uv_handle_t *h) {
  lsn_t *l = (lsn_t *)h;
  senv_t *se = l->se;
  int32_t id = l->id;
  free(l);
  if (se == NULL) return;
  table_del(&se->lsns, id);
  emit(se, id, EV_LCLOSE, NULL);
}

/* ---- outgoing connections ---------------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status) {
  conn_t *c = req->data;
  free(req);
  if (c->closing) return;
  if (status < 0) {
    /* the owner closes it */
    emit(c->se, c->id, EV_CONNECT, uv_err_name(status));
    return;
  }
  if (c->tcp) uv_tcp_nodelay(&c->u.tcp, 1);
  if (uv_read_start(&c->u.s, on_alloc, on_read) == 0) c->reading = 1;
  emit(c->se, c->id, EV_CONNECT, NULL);
}

/* ---- exports ------------------------------------------------------------------------------ */

#define GET_ARGS(k)                                     \
  size_t argc = k;                                      \
  napi_value argv[k];                                   \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL); \
  senv_t *se = tls_se

#define CONN_ARG()                                                  \
  conn_t *c = se ? table_get(&se->conns, arg_i(env, argv[0])) : NULL; \
  if (c == NULL) return ret_undef(env)

static void senv_free(uv_handle_t *h);

static void teardown(void *arg) {
  senv_t *se = arg;
  /* the thread's loop is closing: no more events for JS */
  for (int32_t i = 0; i < se->conns.n; i++) {
    conn_t *c = se->conns.slot[i];
    if (c == NULL) continue;
    c->se = NULL;
    if (!c->closing) {
      c->closing = 1;
      uv_close(&c->u.h, conn_closed);
    }
  }
  for (int32_t i = 0; i < se->lsns.n; i++) {
    lsn_t *l = se->lsns.slot[i];
    if (l == NULL) continue;
    l->se = NULL;
    if (!l->closing) {
      l->closing = 1;
      uv_close(&l->u.h, lsn_closed);
    }
  }
  if (tls_se == se) tls_se = NULL;
  /* the check handle is the loop's until its close callback, which frees the rest */
  uv_close((uv_handle_t *)&se->cork_check, senv_free);
}

static void senv_free(uv_handle_t *h) {
  senv_t *se = h->data;
  free(se->cork);
  free(se->segs);
  free(se->conns.slot);
  free(se->conns.free);
  free(se->lsns.slot);
  free(se->lsns.free);
  free(se->scratch);
  free(se->bconn);
  free(se);
}

/* streaminit(onConnection, onReads, onEvent, readBuffer, batch): once per thread; onReads(n)
 * takes the n reads described in the Int32Array batch (dispatch_reads) */
static napi_value js_streaminit(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  if (se != NULL) return ret_undef(env);
  void *rb, *bt;
  size_t rblen, btlen;
  napi_typedarray_type tt;
  napi_value ab;
  size_t boff;
  if (napi_get_buffer_info(env, argv[3], &rb, &rblen) != napi_ok || rblen < 2 * READ_ROOM) return ret_undef(env);
  if (napi_get_typedarray_info(env, argv[4], &tt, &btlen, &bt, &ab, &boff) != napi_ok || tt != napi_int32_array || btlen < 3) return ret_undef(env);
  se = calloc(1, sizeof *se);
  if (!se) return ret_undef(env);
  se->env = env;
  se->rbuf = rb;
  se->rbuf_len = rblen;
  se->batch = bt;
  se->batch_max = (int32_t)(btlen / 3);
  /* NGXLUA_NOREADBATCH: each read handed over at once, as before batching (for A/B runs) */
  if (getenv("NGXLUA_NOREADBATCH") != NULL) se->batch_max = 1;
  se->bconn = calloc((size_t)se->batch_max, sizeof *se->bconn);
  if (!se->bconn) {
    free(se);
    se = NULL;
    return ret_undef(env);
  }
  napi_create_reference(env, argv[3], 1, &se->rbuf_ref);
  napi_create_reference(env, argv[4], 1, &se->batch_ref);
  napi_get_uv_event_loop(env, &se->loop);
  se->nocork = getenv("NGXLUA_NOCORK") != NULL; /* for A/B measurements */
  uv_check_init(se->loop, &se->cork_check);
  se->cork_check.data = se;
  uv_unref((uv_handle_t *)&se->cork_check);
  napi_create_reference(env, argv[0], 1, &se->on_conn);
  napi_create_reference(env, argv[1], 1, &se->on_read);
  napi_create_reference(env, argv[2], 1, &se->on_event);
  napi_value res, name;
  napi_create_object(env, &res);
  napi_create_reference(env, res, 1, &se->resource);
  napi_create_string_utf8(env, "ngxlua.stream", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, res, name, &se->actx);
  napi_add_env_cleanup_hook(env, teardown, se);
  tls_se = se;
  return ret_undef(env);
}

/* streamlisten(fd, backlog): a listener id, or -errno. The fd is bound, listening or not. */
static napi_value js_streamlisten(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  if (se == NULL) return ret_d(env, UV_EINVAL);
  int fd = arg_i(env, argv[0]);
  uv_handle_type t = uv_guess_handle(fd);
  if (t != UV_TCP && t != UV_NAMED_PIPE) return ret_d(env, UV_ENOTSOCK);
  lsn_t *l = calloc(1, sizeof *l);
  if (!l) return ret_d(env, UV_ENOMEM);
  l->se = se;
  l->tcp = t == UV_TCP;
  int rc = l->tcp ? uv_tcp_init(se->loop, &l->u.tcp) : uv_pipe_init(se->loop, &l->u.pipe, 0);
  if (rc == 0) rc = l->tcp ? uv_tcp_open(&l->u.tcp, fd) : uv_pipe_open(&l->u.pipe, fd);
  if (rc == 0) rc = uv_listen(&l->u.s, arg_i(env, argv[1]), on_connection);
  if (rc == 0 && (l->id = table_put(&se->lsns, l)) < 0) rc = UV_ENOMEM;
  if (rc != 0) {
    /* the handle owns the fd from uv_*_open on: it goes with it */
    l->se = NULL;
    l->closing = 1;
    uv_close(&l->u.h, lsn_closed);
    return ret_d(env, rc);
  }
  return ret_d(env, l->id);
}

/* streamunlisten(id): close a listener; EV_LCLOSE follows */
static napi_value js_streamunlisten(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  lsn_t *l = se ? table_get(&se->lsns, arg_i(env, argv[0])) : NULL;
  if (l != NULL && !l->closing) {
    l->closing = 1;
    uv_close(&l->u.h, lsn_closed);
  }
  return ret_undef(env);
}

/* streamaddr(id): the listener's [address, port], or undefined for a unix socket */
static napi_value js_streamaddr(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  lsn_t *l = se ? table_get(&se->lsns, arg_i(env, argv[0])) : NULL;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (l == NULL || !l->tcp || uv_tcp_getsockname(&l->u.tcp, (struct sockaddr *)&ss, &len) != 0) return ret_undef(env);
  char a[64];
  int port;
  fmt_addr(&ss, a, sizeof a, &port);
  napi_value arr, v;
  napi_create_array_with_length(env, 2, &arr);
  napi_create_string_latin1(env, a, NAPI_AUTO_LENGTH, &v);
  napi_set_element(env, arr, 0, v);
  napi_create_int32(env, port, &v);
  napi_set_element(env, arr, 1, v);
  return arr;
}

/* room for len bytes and a NUL in the scratch buffer; false when out of memory */
static int scratch_fit(senv_t *se, size_t len) {
  if (len + 1 <= se->scratch_cap) return 1;
  size_t cap = len + 1 > 65536 ? len + 1 : 65536;
  char *s = realloc(se->scratch, cap);
  if (!s) return 0;
  se->scratch = s;
  se->scratch_cap = cap;
  return 1;
}

/* Append v (a latin1 string or a Buffer) to the scratch buffer at *at, which has room. */
static void scratch_put(napi_env env, senv_t *se, napi_value v, size_t *at) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  size_t n = 0;
  if (t == napi_string) {
    napi_get_value_string_latin1(env, v, se->scratch + *at, se->scratch_cap - *at, &n);
  } else {
    void *p;
    if (napi_get_buffer_info(env, v, &p, &n) != napi_ok) return;
    if (n > se->scratch_cap - 1 - *at) n = se->scratch_cap - 1 - *at;
    memcpy(se->scratch + *at, p, n);
  }
  *at += n;
}

/* streamwrite(id, data, len): data a Buffer, or a string written as latin1 (len its length).
 * Returns the bytes still waiting for the kernel. */
static napi_value js_streamwrite(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  CONN_ARG();
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t == napi_string) {
    size_t len = (size_t)arg_i(env, argv[2]), at = 0;
    if (!scratch_fit(se, len)) {
      conn_fail(c, UV_ENOMEM);
      return ret_d(env, 0);
    }
    scratch_put(env, se, argv[1], &at);
    conn_write(c, se->scratch, at);
  } else {
    void *p;
    size_t n;
    if (napi_get_buffer_info(env, argv[1], &p, &n) == napi_ok) conn_write(c, p, n);
  }
  return ret_d(env, (double)c->pending);
}

/* streamwritev(id, len, n, part0, ..., part5) or streamwritev(id, len, n, parts): n parts (latin1
 * strings and Buffers, len bytes in all) gathered into one write; up to 6 come as arguments,
 * which costs no napi_get_element each. Returns the bytes still waiting for the kernel. */
#define WRITEV_ARGS 6
static napi_value js_streamwritev(napi_env env, napi_callback_info info) {
  GET_ARGS(3 + WRITEV_ARGS);
  CONN_ARG();
  size_t len = (size_t)arg_i(env, argv[1]), at = 0;
  uint32_t n = (uint32_t)arg_i(env, argv[2]);
  if (!scratch_fit(se, len)) {
    conn_fail(c, UV_ENOMEM);
    return ret_d(env, 0);
  }
  if (n <= WRITEV_ARGS && argc >= 3 + n) {
    for (uint32_t i = 0; i < n; i++) scratch_put(env, se, argv[3 + i], &at);
  } else {
    for (uint32_t i = 0; i < n; i++) {
      napi_value v;
      if (napi_get_element(env, argv[3], i, &v) == napi_ok) scratch_put(env, se, v, &at);
    }
  }
  conn_write(c, se->scratch, at);
  return ret_d(env, (double)c->pending);
}

/* streamconnect(host, port): connect to an IP address, or to a unix socket's path when port is
 * -1. The connection's id at once (EV_CONNECT follows, with the error's name when it failed),
 * or -errno. */
static napi_value js_streamconnect(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  if (se == NULL) return ret_d(env, UV_EINVAL);
  char host[4096];
  size_t hl = 0;
  napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hl);
  int port = arg_i(env, argv[1]);
  struct sockaddr_storage ss;
  if (port >= 0) {
    int rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) : uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    if (rc != 0) return ret_d(env, rc);
  }
  conn_t *c = calloc(1, sizeof *c);
  uv_connect_t *creq = malloc(sizeof *creq);
  if (!c || !creq) {
    free(c);
    free(creq);
    return ret_d(env, UV_ENOMEM);
  }
  c->se = se;
  c->tcp = port >= 0;
  creq->data = c;
  int rc = c->tcp ? uv_tcp_init(se->loop, &c->u.tcp) : uv_pipe_init(se->loop, &c->u.pipe, 0);
  if (rc != 0) {
    free(c);
    free(creq);
    return ret_d(env, rc);
  }
  /* once registered, the request is on_connect's to free (a close cancels it into there) */
  if (c->tcp) rc = uv_tcp_connect(creq, &c->u.tcp, (struct sockaddr *)&ss, on_connect);
  else uv_pipe_connect(creq, &c->u.pipe, host, on_connect);
  if (rc != 0) free(creq);
  if (rc == 0 && (c->id = table_put(&se->conns, c)) < 0) rc = UV_ENOMEM;
  if (rc != 0) {
    c->se = NULL;
    c->closing = 1;
    uv_close(&c->u.h, conn_closed);
    return ret_d(env, rc);
  }
  return ret_d(env, c->id);
}

/* streamref(id, on): whether the connection keeps the loop alive */
static napi_value js_streamref(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  CONN_ARG();
  bool on = true;
  napi_get_value_bool(env, argv[1], &on);
  if (on) uv_ref(&c->u.h);
  else uv_unref(&c->u.h);
  return ret_undef(env);
}

/* streamfd(id): the file descriptor, for debug lines */
static napi_value js_streamfd(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  CONN_ARG();
  uv_os_fd_t fd = -1;
  uv_fileno(&c->u.h, &fd);
  return ret_d(env, fd);
}

/* streamnodelay(id, on) / streamkeepalive(id, on): TCP_NODELAY and SO_KEEPALIVE */
static napi_value js_streamnodelay(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  CONN_ARG();
  bool on = false;
  napi_get_value_bool(env, argv[1], &on);
  if (c->tcp) uv_tcp_nodelay(&c->u.tcp, on);
  return ret_undef(env);
}

static napi_value js_streamkeepalive(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  CONN_ARG();
  bool on = false;
  napi_get_value_bool(env, argv[1], &on);
  if (c->tcp) uv_tcp_keepalive(&c->u.tcp, on, 0);
  return ret_undef(env);
}

/* streampending(id): bytes waiting for the kernel */
static napi_value js_streampending(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  CONN_ARG();
  return ret_d(env, (double)c->pending);
}

/* streamwritten(id): bytes the kernel has taken */
static napi_value js_streamwritten(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  CONN_ARG();
  return ret_d(env, c->written);
}

/* streamshutdown(id): half-close once the queued writes are out; EV_FINISH follows */
static napi_value js_streamshutdown(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  CONN_ARG();
  if (c->shut || c->closing) return ret_undef(env);
  if (c->deferred > 0) cork_flush(se);
  if (c->shut || c->closing) return ret_undef(env);
  c->shut = 1;
  uv_shutdown_t *sreq = malloc(sizeof *sreq);
  if (!sreq) {
    conn_fail(c, UV_ENOMEM);
    return ret_undef(env);
  }
  sreq->data = c;
  int rc = uv_shutdown(sreq, &c->u.s, on_shutdown);
  if (rc < 0) {
    free(sreq);
    conn_fail(c, rc);
  }
  return ret_undef(env);
}

/* streamclose(id, reset): close (with an RST when reset is true); EV_CLOSE follows */
static napi_value js_streamclose(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  CONN_ARG();
  if (c->closing) return ret_undef(env);
  bool reset = false;
  napi_get_value_bool(env, argv[1], &reset);
  /* what the connection wrote goes before the close, as it would have without the cork */
  if (!reset && c->deferred > 0) {
    cork_flush(se);
    if (c->closing) return ret_undef(env);
  }
  if (reset && c->tcp && !c->shut) {
    c->closing = 1;
    if (uv_tcp_close_reset(&c->u.tcp, conn_closed) == 0) return ret_undef(env);
    c->closing = 0;
  }
  conn_close(c);
  return ret_undef(env);
}

/* streamread(id, on): start or stop reading */
static napi_value js_streamread(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  CONN_ARG();
  bool on = false;
  napi_get_value_bool(env, argv[1], &on);
  if (c->closing || c->eof) return ret_undef(env);
  if (on && !c->reading) {
    if (uv_read_start(&c->u.s, on_alloc, on_read) == 0) c->reading = 1;
  } else if (!on && c->reading) {
    uv_read_stop(&c->u.s);
    c->reading = 0;
  }
  return ret_undef(env);
}

/* streamsockbufs(fd, sndbuf, rcvbuf): SO_SNDBUF and SO_RCVBUF of a socket (-1: leave it) */
static napi_value js_streamsockbufs(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  (void)se;
  int fd = arg_i(env, argv[0]), snd = arg_i(env, argv[1]), rcv = arg_i(env, argv[2]);
  if (snd >= 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
  if (rcv >= 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  return ret_undef(env);
}

#define SEXPORT(name) {#name, NULL, js_##name, NULL, NULL, NULL, napi_default, NULL}

void ngxlua_stream_exports(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      SEXPORT(streaminit), SEXPORT(streamlisten), SEXPORT(streamunlisten), SEXPORT(streamaddr),
      SEXPORT(streamwrite), SEXPORT(streamwritev), SEXPORT(streampending), SEXPORT(streamwritten),
      SEXPORT(streamshutdown), SEXPORT(streamclose), SEXPORT(streamread), SEXPORT(streamconnect),
      SEXPORT(streamref), SEXPORT(streamfd), SEXPORT(streamnodelay), SEXPORT(streamkeepalive),
      SEXPORT(streamsockbufs),
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
