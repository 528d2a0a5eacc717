/* xnca_transport_sim.c - `sim[:BOARD]`: the Verilated device top (rtl/xnca_top.v, RTL UART
 * included) in process. Each board configuration is its own Verilated model, built on demand
 * by `make sim-top SIM_BOARD=BOARD` into build/sim/BOARD/libxnca_simtop.so (mk/top.mk) and
 * loaded here with dlopen, so this library carries no Verilator code. BOARD: icebreaker
 * (default), ulx3s-85f, ulx3s-25f. The library is looked up in $XNCA_SIM_DIR/BOARD/, then in
 * sim/BOARD/ next to the running executable (build/xnca -> build/sim/BOARD/), then in
 * build/sim/BOARD/ under the current directory.
 *
 * Wire bytes go to the RTL UART receiver bit by bit; the transmitter pin is decoded the same
 * way (sim/top_sim.cpp). The device computes while the host waits in read, as hardware would. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xnca_transport.h"

typedef struct {
    xnca_transport t;
    void *so;
    void *dev;
    void (*free_fn)(void *);
    void (*write_fn)(void *, const uint8_t *, size_t);
    long (*read_fn)(void *, uint8_t *, size_t, int);
} sim_transport;

static int sim_write(xnca_transport *t, const uint8_t *buf, size_t len, int timeout_ms)
{
    (void)timeout_ms;
    sim_transport *s = (sim_transport *)t;
    s->write_fn(s->dev, buf, len);
    return 0;
}

static long sim_read(xnca_transport *t, uint8_t *buf, size_t cap, int timeout_ms)
{
    sim_transport *s = (sim_transport *)t;
    return s->read_fn(s->dev, buf, cap, timeout_ms);
}

static void sim_close(xnca_transport *t)
{
    sim_transport *s = (sim_transport *)t;
    if (s->dev)
        s->free_fn(s->dev);
    if (s->so)
        dlclose(s->so);
    free(s);
}

static const char *const sim_boards[] = {"icebreaker", "ulx3s-85f", "ulx3s-25f"};

/* Try the candidate locations in order; returns the dlopen handle or NULL (tried lists them). */
static void *open_simtop(const char *board, char *tried, size_t triedlen)
{
    char path[PATH_MAX + 64];
    const char *lib = "libxnca_simtop.so";
    tried[0] = 0;
    const char *env = getenv("XNCA_SIM_DIR");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = NULL;
    if (n > 0) {
        exe[n] = 0;
        slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
    }
    for (int i = 0; i < 3; i++) {
        if (i == 0 && !(env && *env))
            continue;
        if (i == 1 && !slash)
            continue;
        if (i == 0)
            snprintf(path, sizeof path, "%s/%s/%s", env, board, lib);
        else if (i == 1)
            snprintf(path, sizeof path, "%s/sim/%s/%s", exe, board, lib);
        else
            snprintf(path, sizeof path, "build/sim/%s/%s", board, lib);
        if (access(path, R_OK) == 0) {
            void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            if (so)
                return so;
            if (snprintf(tried, triedlen, "%s: %s", path, dlerror()) < 0) /* truncation is fine */
                tried[0] = 0;
            return NULL;
        }
        size_t l = strlen(tried);
        if (snprintf(tried + l, triedlen - l, "%s%s", l ? ", " : "", path) < 0)
            tried[l] = 0;
    }
    return NULL;
}

int xnca_transport_sim_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen)
{
    (void)o;
    *out = NULL;
    const char *board = arg && *arg ? arg : "icebreaker";
    int known = 0;
    for (size_t i = 0; i < sizeof sim_boards / sizeof *sim_boards; i++)
        known |= !strcmp(board, sim_boards[i]);
    if (!known) {
        snprintf(err, errlen, "sim: unknown board '%s' (icebreaker, ulx3s-85f, ulx3s-25f)", board);
        return -2; /* a usage error, not a device failure */
    }
    char tried[1024];
    void *so = open_simtop(board, tried, sizeof tried);
    if (!so) {
        snprintf(err, errlen, "sim:%s: no Verilated device (tried %s); build it with `make sim-top SIM_BOARD=%s`",
                 board, tried, board);
        return -1;
    }
    sim_transport *s = calloc(1, sizeof *s);
    if (!s) {
        dlclose(so);
        snprintf(err, errlen, "sim: out of memory");
        return -1;
    }
    s->so = so;
    void *(*new_fn)(char *, size_t) = (void *(*)(char *, size_t))dlsym(so, "xnca_simtop_new");
    s->free_fn = (void (*)(void *))dlsym(so, "xnca_simtop_free");
    s->write_fn = (void (*)(void *, const uint8_t *, size_t))dlsym(so, "xnca_simtop_write");
    s->read_fn = (long (*)(void *, uint8_t *, size_t, int))dlsym(so, "xnca_simtop_read");
    if (!new_fn || !s->free_fn || !s->write_fn || !s->read_fn) {
        snprintf(err, errlen, "sim:%s: the Verilated device library lacks the xnca_simtop_* entry points", board);
        sim_close(&s->t);
        return -1;
    }
    char e[256] = "";
    if (!(s->dev = new_fn(e, sizeof e))) {
        snprintf(err, errlen, "sim:%s: %s", board, e);
        sim_close(&s->t);
        return -1;
    }
    s->t.name = "sim";
    s->t.write = sim_write;
    s->t.read = sim_read;
    s->t.close = sim_close;
    *out = &s->t;
    return 0;
}
