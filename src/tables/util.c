#include "util.h"
#include "core/parse.h"
#include "core/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read at most cap-1 bytes of fd and NUL-terminate; closes fd. */
static ssize_t read_fd(int fd, char *buf, size_t cap, bool *truncated) {
  size_t len = 0;
  while (len < cap - 1) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      close(fd);
      buf[0] = '\0';
      return -e;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  if (len == cap - 1 && truncated) {
    char extra;
    ssize_t n;
    do
      n = read(fd, &extra, 1);
    while (n < 0 && errno == EINTR);
    *truncated = n > 0;
  }
  close(fd);
  buf[len] = '\0';
  return (ssize_t)len;
}

ssize_t osq_tbl_readat(int dirfd, const char *path, char *buf, size_t cap,
                       bool *truncated) {
  if (truncated)
    *truncated = false;
  if (cap == 0)
    return -EINVAL;
  buf[0] = '\0';
  int fd;
  do
    fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return -errno;
  return read_fd(fd, buf, cap, truncated);
}

ssize_t osq_tbl_read(const char *path, char *buf, size_t cap,
                     bool *truncated) {
  return osq_tbl_readat(AT_FDCWD, path, buf, cap, truncated);
}

FILE *osq_tbl_fdopen_regular(int fd, uint64_t max) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      (uint64_t)st.st_size > max) {
    close(fd);
    return NULL;
  }
  FILE *f = fdopen(fd, "r");
  if (f == NULL)
    close(fd);
  return f;
}

ssize_t osq_tbl_readlinkat(int dirfd, const char *path, char *buf,
                           size_t cap) {
  if (cap == 0)
    return -EINVAL;
  ssize_t n = readlinkat(dirfd, path, buf, cap - 1);
  if (n < 0) {
    buf[0] = '\0';
    return -errno;
  }
  buf[n] = '\0';
  return n;
}

/* Byte by byte rather than fgets: fgets gives no length, so a NUL inside
 * a line made its tail look over-long and cost the next line too. A NUL
 * byte reads as '?', so nothing after it is hidden. */
static int getline_impl(FILE *f, char *buf, size_t cap, bool crlf) {
  size_t n = 0;
  bool any = false, too_long = false;
  int c = EOF;
  while ((c = getc_unlocked(f)) != EOF) {
    any = true;
    if (c == '\n')
      break;
    if (n + 1 < cap)
      buf[n++] = c ? (char)c : '?';
    else
      too_long = true;
  }
  if (cap > 0)
    buf[n < cap ? n : cap - 1] = '\0';
  if (!any)
    return 0;
  if (too_long) {
    buf[0] = '\0';
    return -1;
  }
  if (crlf && c == '\n' && n > 0 && buf[n - 1] == '\r')
    buf[n - 1] = '\0';
  return 1;
}

int osq_tbl_getline(FILE *f, char *buf, size_t cap) {
  return getline_impl(f, buf, cap, false);
}

int osq_tbl_getline_crlf(FILE *f, char *buf, size_t cap) {
  return getline_impl(f, buf, cap, true);
}

char *osq_tbl_trim(char *s) {
  while (*s && isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
  return s;
}

bool osq_tbl_parse_i64(const char *s, int64_t *out) {
  return s != NULL && !isspace((unsigned char)*s) && osq_parse_i64_str(s, out);
}

bool osq_tbl_parse_u64(const char *s, uint64_t *out) {
  if (s == NULL || !isdigit((unsigned char)*s))
    return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  *out = v;
  return true;
}

bool osq_tbl_parse_u32(const char *s, uint32_t *out) {
  uint64_t v;
  if (!osq_tbl_parse_u64(s, &v) || v > UINT32_MAX)
    return false;
  *out = (uint32_t)v;
  return true;
}

int osq_tbl_tokens(char *line, const char *delims, char **tok, int max) {
  char *save = NULL;
  int n = 0;
  for (char *t = strtok_r(line, delims, &save); t && n < max;
       t = strtok_r(NULL, delims, &save))
    tok[n++] = t;
  return n;
}

bool osq_tbl_split_colons(char *line, char **f, int want) {
  int n = 0;
  f[n++] = line;
  for (char *p = line; *p; p++) {
    if (*p == ':') {
      if (n == want)
        return false;
      *p = '\0';
      f[n++] = p + 1;
    }
  }
  return n == want;
}

size_t osq_tbl_count_op(const osq_context *ctx, size_t col, int op) {
  size_t n = osq_context_nconstraints(ctx, col), hits = 0;
  for (size_t i = 0; i < n; i++)
    if (osq_context_constraint(ctx, col, i)->op == op)
      hits++;
  return hits;
}

bool osq_tbl_eq_int_ok(const osq_context *ctx, size_t col, int64_t v) {
  size_t n = osq_context_nconstraints(ctx, col);
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, col, i);
    if (c->op != OSQ_OP_EQ)
      continue;
    any = true;
    int64_t x;
    if (osq_tbl_parse_i64(c->expr, &x) && x == v)
      return true;
  }
  return !any;
}

int64_t osq_tbl_boot_time(void) {
  static int64_t cached = -1;
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&lock);
  int64_t bt = cached;
  pthread_mutex_unlock(&lock);
  if (bt >= 0)
    return bt;
  /* /proc/stat grows with the CPU count; btime sits after the per-CPU
   * lines and the interrupt counters, so read generously. */
  size_t cap = 1 << 20;
  char *buf = malloc(cap);
  if (buf == NULL)
    return -1;
  if (osq_tbl_read("/proc/stat", buf, cap, NULL) > 0) {
    for (char *line = buf; line && *line;) {
      char *nl = strchr(line, '\n');
      if (nl)
        *nl = '\0';
      if (strncmp(line, "btime ", 6) == 0) {
        int64_t v;
        if (osq_tbl_parse_i64(osq_tbl_trim(line + 6), &v) && v > 0)
          bt = v;
        break;
      }
      line = nl ? nl + 1 : NULL;
    }
  }
  free(buf);
  if (bt >= 0) {
    pthread_mutex_lock(&lock);
    cached = bt;
    pthread_mutex_unlock(&lock);
  }
  return bt;
}

void osq_tbl_random_uuid(char out[37]) {
  unsigned char b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      /* No entropy source: still unique enough per process and time. */
      for (; got < sizeof b; got++)
        b[got] = (unsigned char)(rand() ^ getpid() ^ (int)got);
      break;
    }
    got += (size_t)n;
  }
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  snprintf(out, 37,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
           "%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
           b[11], b[12], b[13], b[14], b[15]);
}

bool osq_tbl_is_uuid(const char *s) {
  if (strlen(s) != 36)
    return false;
  for (int i = 0; i < 36; i++) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
      return false;
  }
  return true;
}

static bool host_uuid_read(char out[37]) {
  /* Firmware that never set a UUID reports one of these. */
  static const char *const placeholders[] = {
      "00000000-0000-0000-0000-000000000000",
      "03000200-0400-0500-0006-000700080009",
      "03020100-0504-0706-0809-0a0b0c0d0e0f",
      "10000000-0000-8000-0040-000000000000",
  };
  char buf[128];
  if (osq_tbl_read("/sys/class/dmi/id/product_uuid", buf, sizeof buf, NULL) >
      0) {
    char *s = osq_tbl_trim(buf);
    bool ok = osq_tbl_is_uuid(s);
    for (size_t i = 0; ok && i < sizeof placeholders / sizeof *placeholders;
         i++)
      if (strcasecmp(s, placeholders[i]) == 0)
        ok = false;
    if (ok) {
      memcpy(out, s, 37);
      return true;
    }
  }
  if (osq_tbl_read("/etc/machine-id", buf, sizeof buf, NULL) > 0) {
    char *s = osq_tbl_trim(buf);
    if (strlen(s) == 32) {
      bool hex = true;
      for (int i = 0; i < 32; i++)
        hex = hex && isxdigit((unsigned char)s[i]);
      if (hex) {
        snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", s, s + 8, s + 12,
                 s + 16, s + 20);
        return true;
      }
    }
  }
  return false;
}

void osq_tbl_host_uuid(char out[37]) {
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  static char cached[37];
  pthread_mutex_lock(&lock);
  if (cached[0] == '\0' && !host_uuid_read(cached))
    osq_tbl_random_uuid(cached);
  memcpy(out, cached, 37);
  pthread_mutex_unlock(&lock);
}

bool osq_tbl_os_release(const char *text, const char *key, char *out,
                        size_t cap) {
  size_t klen = strlen(key);
  for (const char *line = text; line && *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
      const char *v = line + klen + 1;
      size_t vlen = len - klen - 1;
      if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
        v++;
        vlen -= 2;
      }
      size_t o = 0;
      for (size_t i = 0; i < vlen && o + 1 < cap; i++) {
        if (v[i] == '\\' && i + 1 < vlen)
          i++; /* shell-style escape: keep the escaped character */
        out[o++] = v[i];
      }
      out[o] = '\0';
      return true;
    }
    line = nl ? nl + 1 : NULL;
  }
  return false;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

size_t osq_tbl_ns_pids(const osq_context *ctx, size_t col, int64_t *out,
                       size_t max) {
  size_t n = 0, nc = osq_context_nconstraints(ctx, col);
  for (size_t i = 0; i < nc && n < max; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, col, i);
    int64_t v;
    if (c->op == OSQ_OP_EQ && osq_tbl_parse_i64(c->expr, &v) && v > 0 &&
        v <= INT32_MAX)
      out[n++] = v;
  }
  qsort(out, n, sizeof *out, cmp_i64);
  size_t w = 0;
  for (size_t i = 0; i < n; i++)
    if (w == 0 || out[w - 1] != out[i])
      out[w++] = out[i];
  return w;
}

int64_t *osq_tbl_eq_pids(const osq_context *ctx, size_t col, size_t *n) {
  *n = 0;
  size_t neq = osq_tbl_count_op(ctx, col, OSQ_OP_EQ);
  if (neq == 0)
    return NULL;
  int64_t *p = malloc(neq * sizeof *p);
  if (p != NULL)
    *n = osq_tbl_ns_pids(ctx, col, p, neq); /* room for every value */
  return p;
}

int osq_tbl_root_of(int64_t pid) {
  char root[64];
  snprintf(root, sizeof root, "/proc/%lld/root", (long long)pid);
  int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int osq_tbl_open_beneath(int rootfd, const char *path, int flags) {
  while (*path == '/')
    path++;
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC),
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  long r;
  do
    r = syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof how);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : (int)r;
}

int osq_tbl_open_in(int64_t pid, const char *path) {
  int fd;
  if (pid <= 0) {
    do
      fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
  }
  int rootfd = osq_tbl_root_of(pid);
  if (rootfd < 0)
    return rootfd;
  fd = osq_tbl_open_beneath(rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  close(rootfd);
  return fd;
}

FILE *osq_tbl_fopen_in(int64_t pid, const char *path) {
  int fd = osq_tbl_open_in(pid, path);
  return fd < 0 ? NULL : osq_tbl_fdopen_regular(fd, UINT64_MAX);
}

ssize_t osq_tbl_read_in(int64_t pid, const char *path, char *buf,
                        size_t cap) {
  if (cap == 0)
    return -EINVAL;
  buf[0] = '\0';
  if (pid <= 0)
    return osq_tbl_read(path, buf, cap, NULL);
  int fd = osq_tbl_open_in(pid, path);
  if (fd < 0)
    return fd;
  return read_fd(fd, buf, cap, NULL);
}

bool osq_tbl_mnt_ns(int64_t pid, char *out, size_t cap) {
  char path[64], link[64];
  snprintf(path, sizeof path, "/proc/%lld/ns/mnt", (long long)pid);
  if (osq_tbl_readlinkat(AT_FDCWD, path, link, sizeof link) <= 0)
    return false;
  char *open = strchr(link, '['), *close_ = strchr(link, ']');
  if (strncmp(link, "mnt:", 4) != 0 || open == NULL || close_ == NULL ||
      close_ < open + 2)
    return false;
  *close_ = '\0';
  snprintf(out, cap, "%s", open + 1);
  return true;
}

int osq_tbl_for_pids(const osq_context *ctx, size_t col, osq_rows *out,
                     osq_tbl_pid_fn fn, void *u, const char *table) {
  int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (procfd < 0) {
    osq_rows_error(out, "%s: cannot open /proc: %s", table, strerror(errno));
    return OSQ_ERROR;
  }
  int rc = OSQ_OK;
  if (osq_tbl_count_op(ctx, col, OSQ_OP_EQ) > 0) {
    size_t n;
    int64_t *pids = osq_tbl_eq_pids(ctx, col, &n);
    for (size_t i = 0; i < n && rc == OSQ_OK; i++)
      rc = fn(procfd, pids[i], out, u);
    free(pids);
  } else {
    osq_proc_walk w;
    if (osq_proc_walk_open(&w, procfd) != OSQ_OK) {
      close(procfd);
      osq_rows_error(out, "%s: cannot list /proc", table);
      return OSQ_ERROR;
    }
    int64_t pid;
    while (rc == OSQ_OK && osq_proc_walk_next(&w, &pid))
      rc = fn(procfd, pid, out, u);
    osq_proc_walk_close(&w);
  }
  close(procfd);
  return rc;
}

/* The name under /dev/disk/by-<kind> that links to /dev/<dev>. */
void osq_tbl_disk_link(const char *kind, const char *dev, char *out,
                       size_t cap) {
  out[0] = '\0';
  char dir[64];
  snprintf(dir, sizeof dir, "/dev/disk/by-%s", kind);
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  char link[PATH_MAX];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    ssize_t n = osq_tbl_readlinkat(dirfd(d), e->d_name, link, sizeof link);
    const char *base = n > 0 ? strrchr(link, '/') : NULL;
    if (base && strcmp(base + 1, dev) == 0) {
      snprintf(out, cap, "%s", e->d_name);
      break;
    }
  }
  closedir(d);
}
