/* xnca_transport_sim.c - `sim[:BOARD]`: the Verilated device top (RTL UART included).
 * Not built yet: the accelerator core and its Verilated top do not exist; until then the
 * transport says so (exit 2). The link alone is tested by sim/link_tb.cpp (suite link-rtl). */
#include <stdio.h>

#include "xnca_transport.h"

int xnca_transport_sim_open(const char *arg, const xnca_transport_opts *o, xnca_transport **out, char *err,
                            size_t errlen)
{
    (void)o;
    *out = NULL;
    snprintf(err, errlen, "sim%s%s: the Verilated device top is not built into this library yet",
             arg && *arg ? ":" : "", arg ? arg : "");
    return -1;
}
