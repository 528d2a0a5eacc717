/* xnca_err.c - the engine library's error-buffer formatter (xnca_err.h). */
#include "xnca_err.h"

#include <stdarg.h>
#include <stdio.h>

int xnca_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}
