/* xnca_transport_unix.c - a device served on a Unix stream socket by `xnca sim`
 * (host/cli_sim.c, host/xnca_serve.c): `sim[:BOARD]@[PATH]` and `unix:PATH`. The socket carries
 * the wire bytes of docs/protocol.md unchanged; the byte pipe is the tty transport's
 * (xnca_transport_fd_open). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xnca_transport.h"

int xnca_sim_socket_path(const char *board, char *buf, size_t len)
{
    const char *dir = getenv("XNCA_SIM_SOCKET_DIR");
    if (!dir || !*dir)
        dir = getenv("XDG_RUNTIME_DIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int n = snprintf(buf, len, "%s/xnca-sim-%s.sock", dir, board && *board ? board : "icebreaker");
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int xnca_transport_unix_open(const char *path, const char *board, const char *name, const xnca_transport_opts *o,
                             xnca_transport **out, char *err, size_t errlen)
{
    (void)o;
    char def[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
    if (!path || !*path) {
        if (xnca_sim_socket_path(board, def, sizeof def)) {
            snprintf(err, errlen, "%s: the default socket path is too long; give one", name);
            return -1;
        }
        path = def;
    }
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) {
        snprintf(err, errlen, "%s: socket path '%s' is too long (at most %zu bytes)", name, path,
                 sizeof a.sun_path - 1);
        return -1;
    }
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "%s: socket: %s", name, strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "%s: cannot connect to %s: %s%s", name, path, strerror(e),
                 e == ENOENT || e == ECONNREFUSED ? " (is `xnca sim` serving it?)" : "");
        return -1;
    }
    return xnca_transport_fd_open(fd, name, out, err, errlen);
}
