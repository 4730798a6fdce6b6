/*
 * lua_shared_dict zones in shared memory. A zone is one memfd mapping of exactly the declared
 * size, created by the process that reads the conf first (the master, or the only process) and
 * mapped by every worker from the inherited fd. Lua reaches the operations directly through
 * FFI (lua/shdict.lua); each takes the zone's process-shared mutex, so a worker killed while
 * holding it cannot wedge the others (robust mutex).
 *
 * Layout, sized as nginx's slab pool so that free_space() and the "no memory" point match the
 * reference: a header (at most nginx's 704-byte pool header), then per page a 16-byte page
 * descriptor and two hash buckets (nginx's 24-byte ngx_slab_page_t), then the 4 KiB pages.
 * Pages are either whole-page runs (free, or a value over 2 KiB) or slab pages cut into
 * power-of-two chunks (8..2048 bytes; below 64 bytes nginx keeps a bitmap in the first chunks,
 * and so many chunks stay reserved here too). An entry costs nginx's 68-byte node header + key
 * + value bytes, a list element 21 + its bytes, whatever our own headers need (less).
 * Everything inside the zone is addressed by 32-bit offsets from its base: each process maps
 * it at another address.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "shdict.h"

#define PAGE 4096u
#define POOL_HEADER 704u
#define PAGE_COST 24u
#define NODE_OVERHEAD 68u
#define LIST_NODE_OVERHEAD 21u
#define LIST_HEAD_LEN 16u
#define MAX_SMALL (PAGE / 2)
#define NCLASS 9 /* 8 .. 2048 */
#define NIL 0xffffffffu
#define MAGIC 0x6e676c73u

enum { PG_FREE = 1, PG_FREE_TAIL, PG_SLAB, PG_LARGE, PG_INNER };
enum { OP_SET = 0, OP_ADD = 1, OP_REPLACE = 2 };

typedef struct {
  uint32_t next, prev; /* free-run list, or the partial list of a slab class */
  uint32_t run;        /* run length (free / large start), start page (free tail), free chunk (slab) */
  uint8_t type, cls;
  uint16_t used;
} pdesc_t;

typedef struct {
  uint32_t magic;
  uint32_t npages, nbuckets, pages_off, pdesc_off, buckets_off;
  uint32_t free_head, free_pages;
  uint32_t partial[NCLASS];
  uint32_t lru_old, lru_new, count;
  uint64_t size;
  pthread_mutex_t mu;
} hdr_t;

typedef struct {
  uint32_t hnext, lprev, lnext, hash;
  int64_t expires; /* ms since the epoch, 0 = never */
  uint32_t vlen, flags;
  uint32_t lhead, ltail, lcount; /* a list value */
  uint16_t klen;
  uint8_t vtype, pad;
} node_t;

typedef struct {
  uint32_t next, prev, len;
  uint8_t vtype;
} lnode_t;

_Static_assert(sizeof(hdr_t) <= POOL_HEADER, "zone header larger than nginx's pool header");
_Static_assert(sizeof(pdesc_t) == 16, "page descriptor");
_Static_assert(sizeof(node_t) <= NODE_OVERHEAD, "node header larger than nginx's");
_Static_assert(sizeof(lnode_t) <= LIST_NODE_OVERHEAD, "list node header larger than nginx's");

typedef struct {
  char name[256];
  size_t size;
  unsigned char *base;
  int fd;
} zone_t;

#define MAX_ZONES 256
static zone_t zones[MAX_ZONES];
static int nzones;
/* the worker's run of init_by_lua: the master applied its writes already (see shdict.h) */
static int suppress_writes;

#define H(z) ((hdr_t *)(z))
#define AT(z, off) ((void *)((unsigned char *)(z) + (off)))
#define PD(z, i) (&((pdesc_t *)AT(z, H(z)->pdesc_off))[i])
#define BK(z) ((uint32_t *)AT(z, H(z)->buckets_off))
#define N(z, off) ((node_t *)AT(z, off))
#define KEY(n) ((unsigned char *)(n) + sizeof(node_t))
#define VAL(n) (KEY(n) + (n)->klen)

/* nginx's cached clock: libuv's loop time (updated when the loop turns and when a poll returns,
 * as nginx updates its time) moved to the wall clock, which every process shares. Without a
 * loop (a process that never gave one), the wall clock itself. */
static uv_loop_t *clock_loop;
static int64_t clock_base_real, clock_base_loop;

static int64_t real_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ngxlua_shd_set_loop(uv_loop_t *loop) {
  clock_loop = loop;
  clock_base_loop = (int64_t)uv_now(loop);
  clock_base_real = real_ms();
}

static int64_t now_ms(void) {
  if (!clock_loop) return real_ms();
  int64_t t = (int64_t)uv_now(clock_loop) - clock_base_loop;
  /* follow wall-clock steps once a minute */
  if (t > 60000) {
    ngxlua_shd_set_loop(clock_loop);
    t = 0;
  }
  return clock_base_real + t;
}

/* ---- pages ------------------------------------------------------------------------------ */

static uint32_t slab_pages(uint64_t size) {
  if (size <= POOL_HEADER) return 0;
  uint64_t pages = (size - POOL_HEADER) / (PAGE + PAGE_COST);
  if (pages == 0) return 0;
  uint64_t start = (POOL_HEADER + pages * PAGE_COST + PAGE - 1) / PAGE * PAGE;
  uint64_t fit = size > start ? (size - start) / PAGE : 0;
  if (fit < pages) pages = fit;
  return (uint32_t)pages;
}

static void run_unlink(void *z, uint32_t p) {
  pdesc_t *d = PD(z, p);
  if (d->prev != NIL) PD(z, d->prev)->next = d->next;
  else H(z)->free_head = d->next;
  if (d->next != NIL) PD(z, d->next)->prev = d->prev;
}

/* mark [p, p+n) as one free run and put it on the free list */
static void run_mark_free(void *z, uint32_t p, uint32_t n) {
  pdesc_t *d = PD(z, p);
  d->type = PG_FREE;
  d->run = n;
  if (n > 1) {
    PD(z, p + n - 1)->type = PG_FREE_TAIL;
    PD(z, p + n - 1)->run = p;
  }
  d->prev = NIL;
  d->next = H(z)->free_head;
  if (d->next != NIL) PD(z, d->next)->prev = p;
  H(z)->free_head = p;
}

static uint32_t pages_alloc(void *z, uint32_t n) {
  for (uint32_t p = H(z)->free_head; p != NIL; p = PD(z, p)->next) {
    uint32_t len = PD(z, p)->run;
    if (len < n) continue;
    run_unlink(z, p);
    if (len > n) run_mark_free(z, p + n, len - n);
    H(z)->free_pages -= n;
    return p;
  }
  return NIL;
}

static void pages_free(void *z, uint32_t p, uint32_t n) {
  H(z)->free_pages += n;
  uint32_t np = H(z)->npages;
  if (p + n < np && PD(z, p + n)->type == PG_FREE) {
    uint32_t q = p + n;
    run_unlink(z, q);
    n += PD(z, q)->run;
  }
  if (p > 0) {
    pdesc_t *b = PD(z, p - 1);
    uint32_t s = b->type == PG_FREE ? p - 1 : b->type == PG_FREE_TAIL ? b->run : NIL;
    if (s != NIL) {
      run_unlink(z, s);
      n += p - s;
      p = s;
    }
  }
  for (uint32_t i = 1; i + 1 < n; i++) PD(z, p + i)->type = PG_INNER;
  run_mark_free(z, p, n);
}

/* ---- slab ------------------------------------------------------------------------------- */

static uint32_t class_size(int c) { return 8u << c; }

static uint32_t reserved_chunks(uint32_t csz) {
  uint32_t chunks = PAGE / csz;
  return csz < 64 ? (chunks / 8 + csz - 1) / csz : 0;
}

static void partial_push(void *z, int c, uint32_t p) {
  pdesc_t *d = PD(z, p);
  d->prev = NIL;
  d->next = H(z)->partial[c];
  if (d->next != NIL) PD(z, d->next)->prev = p;
  H(z)->partial[c] = p;
}

static void partial_unlink(void *z, int c, uint32_t p) {
  pdesc_t *d = PD(z, p);
  if (d->prev != NIL) PD(z, d->prev)->next = d->next;
  else H(z)->partial[c] = d->next;
  if (d->next != NIL) PD(z, d->next)->prev = d->prev;
}

/* offset of n bytes in the zone, 0 when it is full */
static uint32_t zalloc(void *z, size_t n) {
  hdr_t *h = H(z);
  if (n > MAX_SMALL) {
    uint64_t np = (n + PAGE - 1) / PAGE;
    if (np > h->npages) return 0;
    uint32_t p = pages_alloc(z, (uint32_t)np);
    if (p == NIL) return 0;
    PD(z, p)->type = PG_LARGE;
    PD(z, p)->run = (uint32_t)np;
    for (uint32_t i = 1; i < np; i++) PD(z, p + i)->type = PG_INNER;
    return h->pages_off + p * PAGE;
  }
  int c = 0;
  while (class_size(c) < n) c++;
  uint32_t csz = class_size(c);
  uint32_t p = h->partial[c];
  if (p == NIL) {
    p = pages_alloc(z, 1);
    if (p == NIL) return 0;
    pdesc_t *d = PD(z, p);
    d->type = PG_SLAB;
    d->cls = (uint8_t)c;
    d->used = 0;
    uint32_t first = reserved_chunks(csz), last = PAGE / csz;
    unsigned char *pg = AT(z, h->pages_off + p * PAGE);
    for (uint32_t i = first; i < last; i++) {
      uint32_t next = i + 1 < last ? i + 1 : NIL;
      memcpy(pg + i * csz, &next, 4);
    }
    d->run = first;
    partial_push(z, c, p);
  }
  pdesc_t *d = PD(z, p);
  unsigned char *pg = AT(z, h->pages_off + p * PAGE);
  uint32_t i = d->run;
  memcpy(&d->run, pg + i * csz, 4);
  d->used++;
  if (d->run == NIL) partial_unlink(z, c, p);
  return h->pages_off + p * PAGE + i * csz;
}

static void zfree(void *z, uint32_t off) {
  hdr_t *h = H(z);
  uint32_t p = (off - h->pages_off) / PAGE;
  pdesc_t *d = PD(z, p);
  if (d->type == PG_LARGE) {
    pages_free(z, p, d->run);
    return;
  }
  int c = d->cls;
  uint32_t csz = class_size(c);
  uint32_t i = (off - h->pages_off - p * PAGE) / csz;
  unsigned char *pg = AT(z, h->pages_off + p * PAGE);
  int was_full = d->run == NIL;
  memcpy(pg + i * csz, &d->run, 4);
  d->run = i;
  d->used--;
  if (d->used == 0) {
    if (!was_full) partial_unlink(z, c, p);
    pages_free(z, p, 1);
  } else if (was_full) {
    partial_push(z, c, p);
  }
}

/* ---- entries ---------------------------------------------------------------------------- */

static uint32_t hash_key(const unsigned char *k, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ k[i]) * 16777619u;
  return h;
}

static uint32_t lookup(void *z, const unsigned char *k, size_t kl, uint32_t hash) {
  for (uint32_t o = BK(z)[hash % H(z)->nbuckets]; o; o = N(z, o)->hnext) {
    node_t *n = N(z, o);
    if (n->hash == hash && n->klen == kl && memcmp(KEY(n), k, kl) == 0) return o;
  }
  return 0;
}

static void lru_unlink(void *z, uint32_t o) {
  node_t *n = N(z, o);
  if (n->lprev) N(z, n->lprev)->lnext = n->lnext;
  else H(z)->lru_old = n->lnext;
  if (n->lnext) N(z, n->lnext)->lprev = n->lprev;
  else H(z)->lru_new = n->lprev;
}

static void lru_append(void *z, uint32_t o) {
  node_t *n = N(z, o);
  n->lnext = 0;
  n->lprev = H(z)->lru_new;
  if (n->lprev) N(z, n->lprev)->lnext = o;
  else H(z)->lru_old = o;
  H(z)->lru_new = o;
}

static void touch(void *z, uint32_t o) {
  if (H(z)->lru_new == o) return;
  lru_unlink(z, o);
  lru_append(z, o);
}

static void list_free(void *z, node_t *n) {
  for (uint32_t e = n->lhead; e;) {
    uint32_t next = ((lnode_t *)AT(z, e))->next;
    zfree(z, e);
    e = next;
  }
  n->lhead = n->ltail = n->lcount = 0;
}

static void remove_node(void *z, uint32_t o) {
  node_t *n = N(z, o);
  uint32_t *b = &BK(z)[n->hash % H(z)->nbuckets];
  while (*b != o) b = &N(z, *b)->hnext;
  *b = n->hnext;
  lru_unlink(z, o);
  if (n->vtype == NGXLUA_SHD_LIST) list_free(z, n);
  H(z)->count--;
  zfree(z, o);
}

static int expired(node_t *n, int64_t now) { return n->expires != 0 && n->expires <= now; }

/* nginx's expire(n): without force, free up to two expired entries at the LRU's old end; with
 * force, free the oldest entry whatever it is, then up to two more expired ones */
static int sweep(void *z, int force) {
  int64_t now = now_ms();
  int n = force ? 0 : 1, freed = 0;
  while (n < 3) {
    uint32_t o = H(z)->lru_old;
    if (!o) return freed;
    if (n++ != 0) {
      node_t *e = N(z, o);
      if (e->expires == 0 || e->expires > now) return freed;
    }
    remove_node(z, o);
    freed++;
  }
  return freed;
}

/* n bytes, evicting the oldest entries (at most 30 rounds) unless safe */
static uint32_t alloc_evicting(void *z, size_t n, int safe, int *forcible) {
  uint32_t o = zalloc(z, n);
  if (o || safe) return o;
  for (int i = 0; i < 30; i++) {
    if (sweep(z, 1) == 0) break;
    *forcible = 1;
    o = zalloc(z, n);
    if (o) break;
  }
  return o;
}

static uint32_t insert(void *z, uint32_t o, const unsigned char *k, size_t kl, uint32_t hash, int vtype, uint32_t vlen) {
  node_t *n = N(z, o);
  memset(n, 0, sizeof *n);
  n->hash = hash;
  n->klen = (uint16_t)kl;
  n->vtype = (uint8_t)vtype;
  n->vlen = vlen;
  memcpy(KEY(n), k, kl);
  uint32_t *b = &BK(z)[hash % H(z)->nbuckets];
  n->hnext = *b;
  *b = o;
  lru_append(z, o);
  H(z)->count++;
  return o;
}

static uint32_t value_len(int vtype, size_t slen) {
  return vtype == NGXLUA_SHD_STRING ? (uint32_t)slen : vtype == NGXLUA_SHD_NUMBER ? 8 : 1;
}

static void write_value(node_t *n, int vtype, const unsigned char *s, size_t sl, double num) {
  n->vtype = (uint8_t)vtype;
  if (vtype == NGXLUA_SHD_STRING) memcpy(VAL(n), s, sl);
  else if (vtype == NGXLUA_SHD_NUMBER) memcpy(VAL(n), &num, 8);
  else VAL(n)[0] = num != 0;
}

/* copy a value out: into buf when it fits, else into malloc'd memory the caller frees */
static int read_value(ngxlua_shd_res_t *r, int vtype, const unsigned char *v, size_t len, unsigned char *buf, size_t bufsz) {
  r->type = vtype;
  if (vtype == NGXLUA_SHD_NUMBER) {
    memcpy(&r->num, v, 8);
  } else if (vtype == NGXLUA_SHD_BOOLEAN) {
    r->num = v[0];
  } else {
    unsigned char *dst = len <= bufsz ? buf : malloc(len ? len : 1);
    if (!dst) return NGXLUA_SHD_ENOMEM_HOST;
    memcpy(dst, v, len);
    r->str = dst;
    r->len = len;
  }
  return 0;
}

static int64_t expires_at(int ms) { return ms > 0 ? now_ms() + ms : 0; }

static void lock(void *z) {
  if (pthread_mutex_lock(&H(z)->mu) == EOWNERDEAD) pthread_mutex_consistent(&H(z)->mu);
}
static void unlock(void *z) { pthread_mutex_unlock(&H(z)->mu); }

/* ---- the operations Lua calls through FFI ------------------------------------------------ */

/* the newest zone of that name: a reload that changed a zone's size made a new one */
void *ngxlua_shd_zone(const char *name, size_t nl) {
  for (int i = nzones - 1; i >= 0; i--)
    if (strlen(zones[i].name) == nl && memcmp(zones[i].name, name, nl) == 0) return zones[i].base;
  return NULL;
}

int ngxlua_shd_get(void *z, const unsigned char *k, size_t kl, int stale, ngxlua_shd_res_t *r, unsigned char *buf, size_t bufsz) {
  int rc = 0;
  r->type = NGXLUA_SHD_NIL;
  r->flags = 0;
  r->stale = 0;
  lock(z);
  if (!stale) sweep(z, 0);
  uint32_t o = lookup(z, k, kl, hash_key(k, kl));
  if (o) {
    node_t *n = N(z, o);
    int is_stale = expired(n, now_ms());
    if (!is_stale || stale) {
      if (n->vtype == NGXLUA_SHD_LIST) {
        rc = NGXLUA_SHD_EISLIST;
      } else {
        if (!is_stale) touch(z, o);
        rc = read_value(r, n->vtype, VAL(n), n->vlen, buf, bufsz);
        r->flags = (int)n->flags;
        r->stale = is_stale;
      }
    }
  }
  unlock(z);
  return rc;
}

int ngxlua_shd_store(void *z, int op, int safe, const unsigned char *k, size_t kl, int vtype, const unsigned char *s, size_t sl, double num, int exptime_ms, int flags, ngxlua_shd_res_t *r) {
  r->forcible = 0;
  if (vtype == NGXLUA_SHD_NIL && (op == OP_ADD || op == OP_REPLACE)) return NGXLUA_SHD_ENILADD;
  if (suppress_writes) return 0;
  int rc = 0;
  uint32_t hash = hash_key(k, kl);
  lock(z);
  sweep(z, 0);
  uint32_t o = lookup(z, k, kl, hash);
  int live = o && !expired(N(z, o), now_ms());
  if (op == OP_REPLACE && !live) {
    rc = NGXLUA_SHD_ENOTFOUND;
    goto done;
  }
  if (op == OP_ADD && live) {
    rc = NGXLUA_SHD_EEXISTS;
    goto done;
  }
  if (o) {
    node_t *n = N(z, o);
    if (vtype != NGXLUA_SHD_NIL && n->vtype != NGXLUA_SHD_LIST && n->vlen == value_len(vtype, sl)) {
      write_value(n, vtype, s, sl, num);
      n->flags = (uint32_t)flags;
      n->expires = expires_at(exptime_ms);
      touch(z, o);
      goto done;
    }
    remove_node(z, o);
  }
  if (vtype == NGXLUA_SHD_NIL) goto done;
  uint32_t vlen = value_len(vtype, sl);
  o = alloc_evicting(z, NODE_OVERHEAD + kl + vlen, safe, &r->forcible);
  if (!o) {
    rc = NGXLUA_SHD_ENOMEM;
    goto done;
  }
  insert(z, o, k, kl, hash, vtype, vlen);
  node_t *n = N(z, o);
  write_value(n, vtype, s, sl, num);
  n->flags = (uint32_t)flags;
  n->expires = expires_at(exptime_ms);
done:
  unlock(z);
  return rc;
}

int ngxlua_shd_incr(void *z, const unsigned char *k, size_t kl, double step, int has_init, double init, int init_ttl_ms, ngxlua_shd_res_t *r) {
  int rc = 0;
  double v;
  uint32_t hash = hash_key(k, kl);
  r->forcible = 0;
  lock(z);
  sweep(z, 0);
  uint32_t o = lookup(z, k, kl, hash);
  if (!o || expired(N(z, o), now_ms())) {
    if (!has_init) {
      rc = NGXLUA_SHD_ENOTFOUND;
      goto done;
    }
    if (suppress_writes) {
      r->num = init + step;
      goto done;
    }
    v = init + step;
    if (o && N(z, o)->vtype == NGXLUA_SHD_NUMBER) {
      node_t *n = N(z, o);
      memcpy(VAL(n), &v, 8);
      n->flags = 0;
      n->expires = expires_at(init_ttl_ms);
      touch(z, o);
    } else {
      if (o) remove_node(z, o);
      o = alloc_evicting(z, NODE_OVERHEAD + kl + 8, 0, &r->forcible);
      if (!o) {
        rc = NGXLUA_SHD_ENOMEM;
        goto done;
      }
      insert(z, o, k, kl, hash, NGXLUA_SHD_NUMBER, 8);
      node_t *n = N(z, o);
      memcpy(VAL(n), &v, 8);
      n->expires = expires_at(init_ttl_ms);
    }
    r->num = v;
    goto done;
  }
  node_t *n = N(z, o);
  if (n->vtype != NGXLUA_SHD_NUMBER) {
    rc = NGXLUA_SHD_ENOTNUM;
    goto done;
  }
  memcpy(&v, VAL(n), 8);
  if (!suppress_writes) {
    v += step;
    memcpy(VAL(n), &v, 8);
    touch(z, o);
  }
  r->num = v;
done:
  unlock(z);
  return rc;
}

/* 0 for a live list at o (o = 0 when the key is missing or expired), or an error */
static int live_list(void *z, uint32_t *o) {
  if (!*o) return 0;
  node_t *n = N(z, *o);
  if (expired(n, now_ms())) {
    *o = 0;
    return 0;
  }
  return n->vtype == NGXLUA_SHD_LIST ? 0 : NGXLUA_SHD_ENOTLIST;
}

int ngxlua_shd_push(void *z, const unsigned char *k, size_t kl, int left, int vtype, const unsigned char *s, size_t sl, double num, ngxlua_shd_res_t *r) {
  uint32_t hash = hash_key(k, kl);
  int rc = 0;
  lock(z);
  sweep(z, 0);
  uint32_t o = lookup(z, k, kl, hash);
  if (o && expired(N(z, o), now_ms()) && !suppress_writes) {
    /* an expired list is emptied and reused, anything else expired goes, as ngx_lua does */
    node_t *n = N(z, o);
    if (n->vtype == NGXLUA_SHD_LIST) {
      list_free(z, n);
      n->expires = 0;
      touch(z, o);
    } else {
      remove_node(z, o);
      o = 0;
    }
  } else if ((rc = live_list(z, &o)) != 0) {
    goto done;
  }
  if (suppress_writes) {
    r->num = o ? N(z, o)->lcount : 0;
    goto done;
  }
  if (!o) {
    /* a new list's head never evicts (ngx_lua allocates it without its LRU loop) */
    o = zalloc(z, NODE_OVERHEAD + kl + LIST_HEAD_LEN);
    if (!o) {
      rc = NGXLUA_SHD_ENOMEM;
      goto done;
    }
    insert(z, o, k, kl, hash, NGXLUA_SHD_LIST, LIST_HEAD_LEN);
  }
  size_t len = vtype == NGXLUA_SHD_STRING ? sl : 8;
  uint32_t e = zalloc(z, LIST_NODE_OVERHEAD + len);
  if (!e) {
    /* an empty list does not stay behind a failed push */
    if (N(z, o)->lcount == 0) remove_node(z, o);
    rc = NGXLUA_SHD_ENOMEM;
    goto done;
  }
  lnode_t *ln = AT(z, e);
  ln->vtype = (uint8_t)vtype;
  ln->len = (uint32_t)len;
  unsigned char *data = (unsigned char *)ln + sizeof *ln;
  if (vtype == NGXLUA_SHD_STRING) memcpy(data, s, sl);
  else memcpy(data, &num, 8);
  node_t *n = N(z, o);
  if (left) {
    ln->prev = 0;
    ln->next = n->lhead;
    if (n->lhead) ((lnode_t *)AT(z, n->lhead))->prev = e;
    else n->ltail = e;
    n->lhead = e;
  } else {
    ln->next = 0;
    ln->prev = n->ltail;
    if (n->ltail) ((lnode_t *)AT(z, n->ltail))->next = e;
    else n->lhead = e;
    n->ltail = e;
  }
  n->lcount++;
  touch(z, o);
  r->num = n->lcount;
done:
  unlock(z);
  return rc;
}

int ngxlua_shd_pop(void *z, const unsigned char *k, size_t kl, int left, ngxlua_shd_res_t *r, unsigned char *buf, size_t bufsz) {
  int rc;
  r->type = NGXLUA_SHD_NIL;
  lock(z);
  sweep(z, 0);
  uint32_t o = lookup(z, k, kl, hash_key(k, kl));
  if ((rc = live_list(z, &o)) != 0 || !o || suppress_writes) goto done;
  node_t *n = N(z, o);
  uint32_t e = left ? n->lhead : n->ltail;
  if (!e) goto done;
  lnode_t *ln = AT(z, e);
  rc = read_value(r, ln->vtype, (unsigned char *)ln + sizeof *ln, ln->len, buf, bufsz);
  if (rc) goto done;
  if (ln->prev) ((lnode_t *)AT(z, ln->prev))->next = ln->next;
  else n->lhead = ln->next;
  if (ln->next) ((lnode_t *)AT(z, ln->next))->prev = ln->prev;
  else n->ltail = ln->prev;
  n->lcount--;
  zfree(z, e);
  if (n->lcount == 0) remove_node(z, o);
  else touch(z, o);
done:
  unlock(z);
  return rc;
}

int ngxlua_shd_llen(void *z, const unsigned char *k, size_t kl, ngxlua_shd_res_t *r) {
  int rc;
  r->num = 0;
  lock(z);
  sweep(z, 0);
  uint32_t o = lookup(z, k, kl, hash_key(k, kl));
  if ((rc = live_list(z, &o)) == 0 && o) {
    r->num = N(z, o)->lcount;
    touch(z, o);
  }
  unlock(z);
  return rc;
}

/* ms left in r->num (0: no expiry; negative: expired, not yet freed) */
int ngxlua_shd_ttl(void *z, const unsigned char *k, size_t kl, ngxlua_shd_res_t *r) {
  int rc = 0;
  lock(z);
  uint32_t o = lookup(z, k, kl, hash_key(k, kl));
  if (!o) rc = NGXLUA_SHD_ENOTFOUND;
  else r->num = N(z, o)->expires == 0 ? 0 : (double)(N(z, o)->expires - now_ms());
  unlock(z);
  return rc;
}

int ngxlua_shd_expire(void *z, const unsigned char *k, size_t kl, int ms) {
  int rc = 0;
  lock(z);
  uint32_t o = lookup(z, k, kl, hash_key(k, kl));
  if (!o) rc = NGXLUA_SHD_ENOTFOUND;
  else if (!suppress_writes) N(z, o)->expires = expires_at(ms);
  unlock(z);
  return rc;
}

/* every entry expired, then the oldest few freed, as nginx does */
void ngxlua_shd_flush_all(void *z) {
  if (suppress_writes) return;
  lock(z);
  for (uint32_t o = H(z)->lru_old; o; o = N(z, o)->lnext) N(z, o)->expires = 1;
  sweep(z, 1);
  unlock(z);
}

/* free expired entries, oldest first, at most max (0 = all); how many */
int ngxlua_shd_flush_expired(void *z, int max) {
  if (suppress_writes) return 0;
  int freed = 0;
  lock(z);
  int64_t now = now_ms();
  for (uint32_t o = H(z)->lru_old; o;) {
    uint32_t next = N(z, o)->lnext;
    if (expired(N(z, o), now)) {
      remove_node(z, o);
      if (++freed == max) break;
    }
    o = next;
  }
  unlock(z);
  return freed;
}

/* live keys, oldest first, at most max (<= 0: all), as [u16 length][bytes]... in *out
 * (malloc'd, the caller frees it); the count */
int ngxlua_shd_keys(void *z, int max, unsigned char **out) {
  int count = 0;
  *out = NULL;
  lock(z);
  int64_t now = now_ms();
  size_t total = 0;
  for (uint32_t o = H(z)->lru_old; o; o = N(z, o)->lnext) {
    if (expired(N(z, o), now)) continue;
    total += 2 + N(z, o)->klen;
    if (++count == max) break;
  }
  unsigned char *p = *out = malloc(total ? total : 1);
  if (!p) count = 0;
  for (uint32_t o = H(z)->lru_old, i = 0; p && o && (int)i < count; o = N(z, o)->lnext) {
    node_t *n = N(z, o);
    if (expired(n, now)) continue;
    memcpy(p, &n->klen, 2);
    memcpy(p + 2, KEY(n), n->klen);
    p += 2 + n->klen;
    i++;
  }
  unlock(z);
  return count;
}

size_t ngxlua_shd_capacity(void *z) { return (size_t)H(z)->size; }

size_t ngxlua_shd_free_space(void *z) {
  lock(z);
  size_t n = (size_t)H(z)->free_pages * PAGE;
  unlock(z);
  return n;
}

/* ---- zones, for the JS side ------------------------------------------------------------- */

static void zone_init(unsigned char *z, uint64_t size, const char *name) {
  hdr_t *h = H(z);
  memset(h, 0, sizeof *h);
  h->size = size;
  h->npages = slab_pages(size);
  h->pdesc_off = POOL_HEADER;
  h->buckets_off = POOL_HEADER + h->npages * (uint32_t)sizeof(pdesc_t);
  h->nbuckets = h->npages ? h->npages * 2 : 1;
  h->pages_off = (POOL_HEADER + h->npages * PAGE_COST + PAGE - 1) / PAGE * PAGE;
  h->free_head = NIL;
  for (int c = 0; c < NCLASS; c++) h->partial[c] = NIL;
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&h->mu, &a);
  pthread_mutexattr_destroy(&a);
  if (h->npages) {
    /* a single run holding every page */
    memset(PD(z, 0), 0, h->npages * sizeof(pdesc_t));
    run_mark_free(z, 0, h->npages);
    h->free_pages = h->npages;
  }
  /* what nginx's zone init allocates and keeps: the shared context (tree, sentinel, LRU
   * queue) and the log context string ' in lua_shared_dict zone "NAME"' */
  zalloc(z, 80);
  zalloc(z, 27 + strlen(name));
  h->magic = MAGIC;
}

int ngxlua_shd_open(const char *name, uint64_t size, int fd, int *out_fd) {
  for (int i = 0; i < nzones; i++)
    if (strcmp(zones[i].name, name) == 0 && zones[i].size == size) {
      *out_fd = zones[i].fd;
      return i;
    }
  if (nzones == MAX_ZONES || strlen(name) >= sizeof zones[0].name || size < PAGE || size > 0xffff0000u) return -EINVAL;
  int created = fd < 0;
  if (created) {
    fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return -errno;
    if (ftruncate(fd, (off_t)size) != 0) {
      int e = errno;
      close(fd);
      return -e;
    }
  }
  void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    int e = errno;
    if (created) close(fd);
    return -e;
  }
  if (created) zone_init(base, size, name);
  else if (H(base)->magic != MAGIC || H(base)->size != size) {
    munmap(base, size);
    return -EINVAL;
  }
  zone_t *zn = &zones[nzones];
  strcpy(zn->name, name);
  zn->size = size;
  zn->base = base;
  zn->fd = fd;
  *out_fd = fd;
  return nzones++;
}

void ngxlua_shd_suppress(int on) { suppress_writes = on; }

/* ---- ngx_lua's C API for other modules (ngx_http_lua_api.h), reached through ffi.C --------- */

typedef struct {
  uint8_t type;
  union {
    int b;
    double n;
    struct {
      size_t len;
      unsigned char *data;
    } s;
  } value;
} ngx_http_lua_value_t;

void *ngx_http_lua_find_zone(const unsigned char *name, size_t len) { return ngxlua_shd_zone((const char *)name, len); }

/* 0 (NGX_OK) with the value; -5 (NGX_DECLINED) not found, -4 (NGX_DONE) expired; -1 for a
 * string without a buffer or a value of another type. A string is cut to the buffer's length. */
intptr_t ngx_http_lua_shared_dict_get(void *z, const unsigned char *k, size_t kl, ngx_http_lua_value_t *v) {
  if (!z) return -1;
  intptr_t rc = 0;
  lock(z);
  uint32_t o = lookup(z, k, kl, hash_key(k, kl));
  if (!o) {
    rc = -5;
    goto done;
  }
  node_t *n = N(z, o);
  if (expired(n, now_ms())) {
    rc = -4;
    goto done;
  }
  v->type = n->vtype;
  switch (n->vtype) {
  case NGXLUA_SHD_STRING: {
    if (v->value.s.data == NULL || v->value.s.len == 0) {
      rc = -1;
      break;
    }
    size_t len = n->vlen;
    if (len > v->value.s.len) len = v->value.s.len;
    else v->value.s.len = len;
    memcpy(v->value.s.data, VAL(n), len);
    break;
  }
  case NGXLUA_SHD_NUMBER:
    memcpy(&v->value.n, VAL(n), 8);
    break;
  case NGXLUA_SHD_BOOLEAN:
    v->value.b = VAL(n)[0];
    break;
  default:
    rc = -1;
  }
done:
  unlock(z);
  return rc;
}
