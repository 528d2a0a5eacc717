/* xnca_transport_cpu.c - `cpu`: the reference engine behind the in-process device model
 * (xnca_devmodel.c). Bytes go through the same framing, credit and checks as on a wire; the
 * model computes while the host waits for a reply (in read), as a device would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_devmodel.h"
#include "xnca_transport.h"

typedef struct {
    xnca_transport t;
    xnca_devmodel *dev;
} cpu_transport;

static int cpu_write(xnca_transport *t, const uint8_t *buf, size_t len, int timeout_ms)
{
    (void)timeout_ms;
    xnca_devmodel_write(((cpu_transport *)t)->dev, buf, len);
    return 0;
}

static long cpu_read(xnca_transport *t, uint8_t *buf, size_t cap, int timeout_ms)
{
    (void)timeout_ms;
    cpu_transport *c = (cpu_transport *)t;
    if (!xnca_devmodel_pending(c->dev))
        xnca_devmodel_run(c->dev);
    size_t n = xnca_devmodel_read(c->dev, buf, cap);
    if (n == 0) {
        /* nothing will ever come: report it at once instead of waiting for the timeout */
        strcpy(t->err, "the device model has no reply pending");
        return -1;
    }
    return (long)n;
}

static void cpu_close(xnca_transport *t)
{
    xnca_devmodel_free(((cpu_transport *)t)->dev);
    free(t);
}

int xnca_transport_cpu_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen)
{
    (void)o;
    if (arg && *arg) {
        snprintf(err, errlen, "cpu: unexpected argument '%s'", arg);
        return -1;
    }
    cpu_transport *c = calloc(1, sizeof *c);
    if (!c || !(c->dev = xnca_devmodel_new(NULL))) {
        free(c);
        snprintf(err, errlen, "cpu: out of memory");
        return -1;
    }
    c->t.name = "cpu";
    c->t.write = cpu_write;
    c->t.read = cpu_read;
    c->t.close = cpu_close;
    *out = &c->t;
    return 0;
}
