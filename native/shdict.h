/* lua_shared_dict zones in shared memory (shdict.c); the FFI declarations in lua/shdict.lua
 * mirror the ngxlua_shd_* prototypes and the result struct below. */
#ifndef NGXLUA_SHDICT_H
#define NGXLUA_SHDICT_H
#include <stddef.h>
#include <stdint.h>

/* value types: Lua's own type numbers, as nginx stores them */
#define NGXLUA_SHD_NIL 0
#define NGXLUA_SHD_BOOLEAN 1
#define NGXLUA_SHD_NUMBER 3
#define NGXLUA_SHD_STRING 4
#define NGXLUA_SHD_LIST 5

/* results other than 0 */
#define NGXLUA_SHD_ENOTFOUND (-1)
#define NGXLUA_SHD_EEXISTS (-2)
#define NGXLUA_SHD_ENOMEM (-3)
#define NGXLUA_SHD_ENOTNUM (-4)
#define NGXLUA_SHD_EISLIST (-5)
#define NGXLUA_SHD_ENOTLIST (-6)
#define NGXLUA_SHD_ENILADD (-7)
#define NGXLUA_SHD_ENOMEM_HOST (-8)

typedef struct {
  double num;
  unsigned char *str;
  size_t len;
  int type, flags, stale, forcible;
} ngxlua_shd_res_t;

/* a zone by name and size: mapped from fd (inherited from the master), or created when fd < 0;
 * the same name and size again is the zone already mapped. Its index, or -errno. */
int ngxlua_shd_open(const char *name, uint64_t size, int fd, int *out_fd);
/* while on, writes are not applied (a worker's run of init_by_lua, whose writes the master made) */
void ngxlua_shd_suppress(int on);
/* the event loop whose time is the zones' clock (the process's main loop) */
struct uv_loop_s;
void ngxlua_shd_set_loop(struct uv_loop_s *loop);

/* a listening TCP or unix socket for the master to share with its workers; the fd or -errno */
int ngxlua_listen_socket(const char *host, int port, int backlog, int reuseport);
#endif
