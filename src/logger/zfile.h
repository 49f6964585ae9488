/* A file compressed into a zstd frame, as osquery keeps its older rotated
 * result files. libzstd is loaded on first use.
 *
 * Threads: any (callers serialize work on the same files). */
#ifndef OSQ_LOGGER_ZFILE_H
#define OSQ_LOGGER_ZFILE_H

#include <stddef.h>

/* Compress src into dst (written as dst.tmp, renamed when complete, so a
 * crash never leaves a torn dst). src is left in place. 0, or -1 with the
 * reason in err. */
int osq_zfile_compress(const char *src, const char *dst, char *err,
                       size_t errlen);

#endif
