/*
 * ngx.re's engine: PCRE (Debian's libpcre3, the library the reference's lua module links), for
 * lua/re.lua to call through ffi.C. Subjects are Lua strings passed as pointers, so no match
 * copies them; captures come back as byte offsets in an ovector the caller owns.
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <pcre.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  pcre *code;
  pcre_extra *extra;
  int ncaptures;
  int name_count;
  int name_entry_size;
  const unsigned char *name_table;
} ngxlua_regex_t;

/* lua_regex_match_limit (0: PCRE's own default) and the JIT stack set by ngx.re.opt */
static int match_limit;
static pcre_jit_stack *jit_stack;

/* a DFA match keeps its alternatives here (ngx_lua's workspace size) */
#define DFA_WORKSPACE 100

void ngxlua_regex_set_match_limit(int n) {
  match_limit = n;
}

/* pcre_exec recurses on the C stack: a pattern like (a|b)* over a long subject overflows it and
 * the process dies (the reference's worker does). Cap the recursion at what this thread's
 * stack holds, less a megabyte for what runs below us, so such a match fails with -21 instead. */
static _Thread_local unsigned long recursion_limit;

static unsigned long stack_recursion_limit(void) {
  if (recursion_limit) return recursion_limit;
  size_t size = 8u << 20;
  pthread_attr_t a;
  if (pthread_getattr_np(pthread_self(), &a) == 0) {
    pthread_attr_getstacksize(&a, &size);
    pthread_attr_destroy(&a);
  }
  size_t budget = size > (2u << 20) ? size - (1u << 20) : size / 2;
  int frame = -pcre_exec(NULL, NULL, NULL, -999, -999, 0, NULL, 0);
  if (frame <= 0 || frame > 65536) frame = 1024;
  recursion_limit = budget / (size_t)frame;
  return recursion_limit;
}

/* err gets at most errlen - 1 bytes: with 128 it is cut where the reference cuts its message */
ngxlua_regex_t *ngxlua_regex_compile(const char *pattern, int options, int jit, int dfa, char *err, size_t errlen) {
  const char *msg;
  int off;
  pcre *code = pcre_compile(pattern, options, &msg, &off, NULL);
  if (code == NULL) {
    if ((size_t)off == strlen(pattern)) snprintf(err, errlen, "pcre_compile() failed: %s in \"%s\"", msg, pattern);
    else snprintf(err, errlen, "pcre_compile() failed: %s in \"%s\" at \"%s\"", msg, pattern, pattern + off);
    return NULL;
  }
  ngxlua_regex_t *re = calloc(1, sizeof *re);
  if (re == NULL) {
    pcre_free(code);
    snprintf(err, errlen, "no memory");
    return NULL;
  }
  re->code = code;
  if (jit) {
    /* a pattern the JIT cannot handle still runs, interpreted, as on the reference */
    re->extra = pcre_study(code, PCRE_STUDY_JIT_COMPILE, &msg);
    if (re->extra && jit_stack) pcre_assign_jit_stack(re->extra, NULL, jit_stack);
  }
  if (!dfa) {
    int fresh = re->extra == NULL;
    if (fresh) re->extra = pcre_malloc(sizeof(pcre_extra));
    if (re->extra) {
      if (fresh) memset(re->extra, 0, sizeof(pcre_extra));
      if (match_limit > 0) {
        re->extra->flags |= PCRE_EXTRA_MATCH_LIMIT;
        re->extra->match_limit = (unsigned long)match_limit;
      }
      re->extra->flags |= PCRE_EXTRA_MATCH_LIMIT_RECURSION;
      re->extra->match_limit_recursion = stack_recursion_limit();
    }
  }
  pcre_fullinfo(code, NULL, PCRE_INFO_CAPTURECOUNT, &re->ncaptures);
  pcre_fullinfo(code, NULL, PCRE_INFO_NAMECOUNT, &re->name_count);
  if (re->name_count > 0) {
    pcre_fullinfo(code, NULL, PCRE_INFO_NAMEENTRYSIZE, &re->name_entry_size);
    pcre_fullinfo(code, NULL, PCRE_INFO_NAMETABLE, &re->name_table);
  }
  return re;
}

void ngxlua_regex_free(ngxlua_regex_t *re) {
  if (re == NULL) return;
  if (re->extra) pcre_free_study(re->extra);
  pcre_free(re->code);
  free(re);
}

/* pcre_exec (or pcre_dfa_exec, which reports the longest match first) from byte `start` */
int ngxlua_regex_exec(ngxlua_regex_t *re, const char *subj, int len, int start, int options, int dfa, int *ovector, int ovecsize) {
  if (dfa) {
    int ws[DFA_WORKSPACE];
    int rc = pcre_dfa_exec(re->code, re->extra, subj, len, start, options, ovector, ovecsize, ws, DFA_WORKSPACE);
    /* 0: more matches than the ovector holds; the longest is in it */
    return rc == 0 ? 1 : rc;
  }
  return pcre_exec(re->code, re->extra, subj, len, start, options, ovector, ovecsize);
}

/* ngx.re.opt("jit_stack_size", n): later JIT-compiled patterns get a stack of n bytes */
int ngxlua_regex_set_jit_stack_size(int size) {
  pcre_jit_stack *s = pcre_jit_stack_alloc(size < 32 * 1024 ? size : 32 * 1024, size);
  if (s == NULL) return -1;
  if (jit_stack) pcre_jit_stack_free(jit_stack);
  jit_stack = s;
  return 0;
}
