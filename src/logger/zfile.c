/* Streaming zstd compression of one file (bounded memory whatever its
 * size). */
#include "logger/zfile.h"

#include "core/lazylib.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

static __typeof__(ZSTD_createCCtx) *lz_ZSTD_createCCtx;
static __typeof__(ZSTD_freeCCtx) *lz_ZSTD_freeCCtx;
static __typeof__(ZSTD_compressStream2) *lz_ZSTD_compressStream2;
static __typeof__(ZSTD_CStreamOutSize) *lz_ZSTD_CStreamOutSize;
static __typeof__(ZSTD_isError) *lz_ZSTD_isError;
static __typeof__(ZSTD_getErrorName) *lz_ZSTD_getErrorName;
static const osq_lazysym zstd_syms[] = {
    OSQ_LAZYSYM(ZSTD_createCCtx),        OSQ_LAZYSYM(ZSTD_freeCCtx),
    OSQ_LAZYSYM(ZSTD_compressStream2),   OSQ_LAZYSYM(ZSTD_CStreamOutSize),
    OSQ_LAZYSYM(ZSTD_isError),           OSQ_LAZYSYM(ZSTD_getErrorName)};
static osq_lazylib zstd_lib = OSQ_LAZYLIB("libzstd.so.1", zstd_syms);

#define CHUNK (128 * 1024)

/* Feed one input chunk (last: end the frame) and write what comes out. */
static int pump(ZSTD_CCtx *cc, const char *in, size_t n, bool last,
                char *out, size_t outcap, FILE *dst, char *err,
                size_t errlen) {
  ZSTD_inBuffer ib = {in, n, 0};
  ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
  for (;;) {
    ZSTD_outBuffer ob = {out, outcap, 0};
    size_t left = lz_ZSTD_compressStream2(cc, &ob, &ib, mode);
    if (lz_ZSTD_isError(left)) {
      snprintf(err, errlen, "zstd: %s", lz_ZSTD_getErrorName(left));
      return -1;
    }
    if (ob.pos > 0 && fwrite(out, 1, ob.pos, dst) != ob.pos) {
      snprintf(err, errlen, "write: %s", strerror(errno));
      return -1;
    }
    if (last ? left == 0 : ib.pos == ib.size)
      return 0;
  }
}

static int compress_stream(FILE *src, FILE *dst, char *err, size_t errlen) {
  ZSTD_CCtx *cc = lz_ZSTD_createCCtx();
  size_t outcap = lz_ZSTD_CStreamOutSize();
  char *in = malloc(CHUNK), *out = malloc(outcap);
  int rc = cc && in && out ? 0 : -1;
  if (rc != 0)
    snprintf(err, errlen, "out of memory");
  while (rc == 0) {
    size_t n = fread(in, 1, CHUNK, src);
    if (ferror(src)) {
      snprintf(err, errlen, "read: %s", strerror(errno));
      rc = -1;
      break;
    }
    bool last = n < CHUNK;
    rc = pump(cc, in, n, last, out, outcap, dst, err, errlen);
    if (last)
      break;
  }
  lz_ZSTD_freeCCtx(cc);
  free(in);
  free(out);
  return rc;
}

int osq_zfile_compress(const char *src, const char *dst, char *err,
                       size_t errlen) {
  if (!osq_lazylib_load(&zstd_lib)) {
    snprintf(err, errlen, "needs libzstd: %s", osq_lazylib_error(&zstd_lib));
    return -1;
  }
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.tmp", dst);
  FILE *in = fopen(src, "rbe");
  if (in == NULL) {
    snprintf(err, errlen, "cannot open %s: %s", src, strerror(errno));
    return -1;
  }
  /* owner-only until the caller sets the log mode: the lines are results */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
  if (out == NULL) {
    if (fd >= 0)
      close(fd);
    snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
    fclose(in);
    return -1;
  }
  int rc = compress_stream(in, out, err, errlen);
  fclose(in);
  if (fclose(out) != 0 && rc == 0) {
    snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
    rc = -1;
  }
  if (rc == 0 && rename(tmp, dst) != 0) {
    snprintf(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
    rc = -1;
  }
  if (rc != 0)
    remove(tmp);
  return rc;
}
