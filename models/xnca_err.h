/* xnca_err.h - private to the engine library: the one formatter behind every
 * "fill the caller's error buffer and fail" return in models/ (format, eval, PTQ, prune). */
#ifndef XNCA_ERR_H
#define XNCA_ERR_H

#include <stddef.h>

/* Writes the printf-style message into err[errlen] (when err is non-NULL and errlen > 0,
 * truncated and NUL-terminated) and returns -1, so a failing path is `return xnca_errf(...)`. */
int xnca_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
