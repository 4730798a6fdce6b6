/*
 * Listening sockets made by the master and inherited by its workers: Node's net module cannot
 * create one without accepting on it, and the master must never accept. One socket shared by
 * every worker keeps the accept queue in the master's hands across reloads (new workers take
 * over the same queue, nothing queued is lost); with `listen ... reuseport` the master makes one
 * SO_REUSEPORT socket per worker slot, which the kernel balances, and hands slot i's socket to
 * every generation of worker i.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shdict.h"

int ngxlua_listen_socket(const char *host, int port, int backlog, int reuseport) {
  struct sockaddr_storage ss;
  socklen_t len;
  int family;
  memset(&ss, 0, sizeof ss);
  if (strncmp(host, "unix:", 5) == 0) {
    struct sockaddr_un *un = (struct sockaddr_un *)&ss;
    if (strlen(host + 5) >= sizeof un->sun_path) return -ENAMETOOLONG;
    un->sun_family = AF_UNIX;
    strcpy(un->sun_path, host + 5);
    unlink(un->sun_path);
    family = AF_UNIX;
    len = sizeof *un;
  } else if (strchr(host, ':')) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1) return -EINVAL;
    family = AF_INET6;
    len = sizeof *in6;
  } else {
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &in->sin_addr) != 1) return -EINVAL;
    family = AF_INET;
    len = sizeof *in;
  }
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  if (family != AF_UNIX) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  /* backlog < 0: bound only; the first worker's listen() opens it, so that nothing connects
   * before a worker can answer */
  if (bind(fd, (struct sockaddr *)&ss, len) != 0 || (backlog >= 0 && listen(fd, backlog) != 0)) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}
