/* Bounded sampling of /proc/<pid>/stat and statm for the resource limits
 * of supervised extensions (the limits come in osq_ext_settings). */
#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ssize_t read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  size_t len = 0;
  while (len + 1 < cap) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  return (ssize_t)len;
}

/* Next space-separated unsigned decimal field; false if malformed. */
static bool next_u64(const char **p, const char *end, uint64_t *out) {
  const char *s = *p;
  while (s < end && *s == ' ')
    s++;
  if (s >= end || *s < '0' || *s > '9')
    return false;
  uint64_t v = 0;
  while (s < end && *s >= '0' && *s <= '9') {
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
    s++;
  }
  if (s < end && *s != ' ' && *s != '\n')
    return false;
  *p = s;
  *out = v;
  return true;
}

static bool skip_field(const char **p, const char *end) {
  const char *s = *p;
  while (s < end && *s == ' ')
    s++;
  if (s >= end)
    return false;
  while (s < end && *s != ' ' && *s != '\n')
    s++;
  *p = s;
  return true;
}

int osq_proc_parse_stat(const char *text, size_t len, uint64_t *ticks,
                        pid_t *ppid) {
  /* "pid (comm) state ppid ..." where comm may hold spaces and ')'. */
  const char *end = text + len;
  const char *rp = NULL;
  for (const char *s = text; s < end; s++)
    if (*s == ')')
      rp = s;
  if (!rp)
    return -EINVAL;
  const char *p = rp + 1;
  if (!skip_field(&p, end)) /* state */
    return -EINVAL;
  uint64_t v, pp = 0, ut = 0, st = 0;
  /* fields 4..15: ppid pgrp session tty tpgid flags minflt cminflt majflt
   * cmajflt utime stime */
  for (int f = 4; f <= 15; f++) {
    bool want = f == 4 || f == 14 || f == 15;
    if (!want) { /* may be negative (tty_nr, tpgid) */
      if (!skip_field(&p, end))
        return -EINVAL;
      continue;
    }
    if (!next_u64(&p, end, &v))
      return -EINVAL;
    if (f == 4)
      pp = v;
    else if (f == 14)
      ut = v;
    else
      st = v;
  }
  if (pp > INT32_MAX)
    return -EINVAL;
  if (ut > UINT64_MAX / 2 || st > UINT64_MAX / 2)
    return -ERANGE;
  *ticks = ut + st;
  *ppid = (pid_t)pp;
  return 0;
}

int osq_proc_sample_read(pid_t pid, osq_proc_sample *s) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  ssize_t n = read_small(path, buf, sizeof buf);
  if (n < 0)
    return (int)n;
  uint64_t ticks;
  pid_t ppid;
  int rc = osq_proc_parse_stat(buf, (size_t)n, &ticks, &ppid);
  if (rc)
    return rc;
  const char *rp = strrchr(buf, ')'); /* parse_stat found one */
  char state = rp && rp[1] == ' ' ? rp[2] : 0;
  snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
  n = read_small(path, buf, sizeof buf);
  if (n < 0)
    return (int)n;
  const char *p = buf, *end = buf + n;
  uint64_t size, resident;
  if (!next_u64(&p, end, &size) || !next_u64(&p, end, &resident))
    return -EINVAL;
  long hz = sysconf(_SC_CLK_TCK);
  long page = sysconf(_SC_PAGESIZE);
  if (hz <= 0)
    hz = 100;
  if (page <= 0)
    page = 4096;
  if (ticks > UINT64_MAX / 1000 || resident > UINT64_MAX / (uint64_t)page)
    return -ERANGE;
  s->cpu_ms = ticks * 1000 / (uint64_t)hz;
  s->rss_bytes = resident * (uint64_t)page;
  s->ppid = ppid;
  s->state = state;
  return 0;
}
