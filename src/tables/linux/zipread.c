/* ZIP member extraction for jetbrains_plugins (zipread.h).
 *
 * Only what a .jar needs: no ZIP64, no encryption, methods 0 (stored) and
 * 8 (deflate). Every offset and size from the file is checked against the
 * file's size before it is used. */
#include "zipread.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* The end record is 22 bytes plus a comment of up to 64 KiB. */
#define EOCD_SEARCH (22 + 65535)
/* A central directory bigger than this is not a plugin's jar. */
#define CD_MAX (32u * 1024 * 1024)

static struct {
  int (*init2)(z_streamp, int, const char *, int);
  int (*inflate)(z_streamp, int);
  int (*end)(z_streamp);
} zl;
static pthread_once_t zl_once = PTHREAD_ONCE_INIT;

static void zl_load(void) {
  void *h = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    return;
  void *i = dlsym(h, "inflateInit2_"), *f = dlsym(h, "inflate"),
       *e = dlsym(h, "inflateEnd");
  if (i == NULL || f == NULL || e == NULL)
    return; /* the handle stays: unloading is never safe here */
  /* ISO C has no conversion from void * to a function pointer */
  memcpy(&zl.inflate, &f, sizeof f);
  memcpy(&zl.end, &e, sizeof e);
  memcpy(&zl.init2, &i, sizeof i);
}

static uint16_t le16(const unsigned char *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static bool read_at(int fd, void *buf, size_t n, uint64_t off) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    got += (size_t)r;
  }
  return true;
}

/* Find name in the central directory: its compression method, sizes and
 * the offset of its local header. */
static bool find_member(int fd, uint64_t fsize, const char *name,
                        uint16_t *method, uint32_t *csize, uint32_t *usize,
                        uint32_t *local) {
  size_t tail = fsize < EOCD_SEARCH ? (size_t)fsize : EOCD_SEARCH;
  if (tail < 22)
    return false;
  unsigned char *t = malloc(tail);
  if (t == NULL || !read_at(fd, t, tail, fsize - tail)) {
    free(t);
    return false;
  }
  size_t e = tail - 22 + 1;
  bool found = false;
  while (e-- > 0)
    if (le32(t + e) == 0x06054b50) {
      found = true;
      break;
    }
  uint32_t cd_size = found ? le32(t + e + 12) : 0;
  uint32_t cd_off = found ? le32(t + e + 16) : 0;
  uint16_t entries = found ? le16(t + e + 10) : 0;
  free(t);
  if (!found || cd_size > CD_MAX || (uint64_t)cd_off + cd_size > fsize)
    return false;
  unsigned char *cd = malloc(cd_size ? cd_size : 1);
  if (cd == NULL || !read_at(fd, cd, cd_size, cd_off)) {
    free(cd);
    return false;
  }
  size_t nlen = strlen(name), p = 0;
  bool ok = false;
  for (uint16_t i = 0; i < entries && !ok; i++) {
    if (cd_size - p < 46 || le32(cd + p) != 0x02014b50)
      break;
    uint16_t fl = le16(cd + p + 28), xl = le16(cd + p + 30),
             cl = le16(cd + p + 32);
    if ((size_t)46 + fl + xl + cl > cd_size - p)
      break;
    if (fl == nlen && memcmp(cd + p + 46, name, nlen) == 0) {
      *method = le16(cd + p + 10);
      *csize = le32(cd + p + 20);
      *usize = le32(cd + p + 24);
      *local = le32(cd + p + 42);
      ok = (le16(cd + p + 8) & 1) == 0; /* not encrypted */
    }
    p += (size_t)46 + fl + xl + cl;
  }
  free(cd);
  return ok;
}

static char *inflate_raw(const unsigned char *in, size_t n, size_t usize) {
  pthread_once(&zl_once, zl_load);
  if (zl.init2 == NULL)
    return NULL;
  char *out = malloc(usize + 1);
  if (out == NULL)
    return NULL;
  z_stream s;
  memset(&s, 0, sizeof s);
  if (zl.init2(&s, -MAX_WBITS, ZLIB_VERSION, (int)sizeof s) != Z_OK) {
    free(out);
    return NULL;
  }
  s.next_in = (Bytef *)(uintptr_t)in;
  s.avail_in = (uInt)n;
  s.next_out = (Bytef *)out;
  s.avail_out = (uInt)usize;
  int rc = zl.inflate(&s, Z_FINISH);
  size_t got = usize - s.avail_out;
  zl.end(&s);
  if (rc != Z_STREAM_END || got != usize) {
    free(out);
    return NULL;
  }
  out[usize] = '\0';
  return out;
}

char *osq_zip_read_member(const char *path, const char *name, size_t max,
                          size_t *len) {
  int fd;
  do
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return NULL;
  struct stat st;
  char *out = NULL;
  unsigned char *data = NULL;
  uint16_t method = UINT16_MAX;
  uint32_t csize = 0, usize = 0, local = 0;
  unsigned char lh[30];
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      !find_member(fd, (uint64_t)st.st_size, name, &method, &csize, &usize,
                   &local) ||
      usize > max || (method != 0 && method != 8) ||
      (method == 0 && csize != usize) ||
      !read_at(fd, lh, sizeof lh, local) || le32(lh) != 0x04034b50)
    goto out;
  uint64_t start = (uint64_t)local + 30 + le16(lh + 26) + le16(lh + 28);
  if (start + csize > (uint64_t)st.st_size)
    goto out;
  data = malloc(csize ? csize : 1);
  if (data == NULL || !read_at(fd, data, csize, start))
    goto out;
  if (method == 0) {
    out = malloc((size_t)usize + 1);
    if (out != NULL) {
      memcpy(out, data, usize);
      out[usize] = '\0';
    }
  } else {
    out = inflate_raw(data, csize, usize);
  }
  if (out != NULL && len != NULL)
    *len = usize;
out:
  free(data);
  close(fd);
  return out;
}
