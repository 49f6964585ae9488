/* The built-in logger plugins: filesystem, stdout, syslog. */
#include "logger/logger.h"

#include "core/flags.h"
#include "core/identity.h"
#include "core/log.h"
#include "logger/format.h"
#include "logger/zfile.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* ---- filesystem ---------------------------------------------------------- */

static pthread_mutex_t fs_lock = PTHREAD_MUTEX_INITIALIZER;

/* glog's per-severity status files: osqueryd.INFO.* holds every line,
 * osqueryd.WARNING.* WARNING and above, and so on; each is begun on the
 * first line it gets. Under fs_lock; "" until begun. */
#define GLOG_SEVERITIES 4
static const char *const glog_names[GLOG_SEVERITIES] = {
    "osqueryd.INFO", "osqueryd.WARNING", "osqueryd.ERROR", "osqueryd.FATAL"};
static char status_path[GLOG_SEVERITIES][4096];

static mode_t log_mode(void) {
  const char *m = OSQ_FLAG_STR(logger_mode);
  char *end;
  unsigned long v = strtoul(m, &end, 8);
  if (*m == '\0' || *end != '\0' || strlen(m) > 5 || v < 1 || v > 07777)
    return 0640;
  return (mode_t)v;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w == 0)
      errno = ENOSPC; /* a write that makes no progress */
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Where the file's last whole line ends: its size when it ends in a
 * newline (or is empty), else just past the last newline (0 if none). A
 * torn tail is left by a writer killed mid-line. */
static off_t last_line_end(int fd, off_t size) {
  char buf[4096];
  if (size == 0 || (pread(fd, buf, 1, size - 1) == 1 && buf[0] == '\n'))
    return size;
  off_t end = size;
  while (end > 0) {
    off_t from = end > (off_t)sizeof buf ? end - (off_t)sizeof buf : 0;
    ssize_t r = pread(fd, buf, (size_t)(end - from), from);
    if (r <= 0)
      return size; /* unreadable: leave the file alone */
    for (ssize_t i = r - 1; i >= 0; i--)
      if (buf[i] == '\n')
        return from + i + 1;
    end = from;
  }
  return 0;
}

/* Append one line, whole or not at all: a short write (a full disk) is
 * cut back to where the line began, so the next line never lands on a
 * torn one. -1 with errno set on failure. */
static int write_line(int fd, const char *line, size_t len) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return -1;
  off_t start = last_line_end(fd, st.st_size);
  if (start != st.st_size && ftruncate(fd, start) != 0)
    return -1;
  /* one write per line keeps lines whole for readers tailing the file
   * (the file is opened for reading too, to find a torn tail) */
  char *buf = malloc(len + 1);
  if (buf == NULL)
    return -1;
  memcpy(buf, line, len);
  buf[len] = '\n';
  int rc = write_all(fd, buf, len + 1);
  free(buf);
  if (rc != 0) {
    int e = errno;
    if (ftruncate(fd, start) != 0)
      OSQ_VLOG("cannot cut a torn line back: %s", strerror(errno));
    errno = e;
  }
  return rc;
}

static void path_of(char *out, size_t cap, const char *name) {
  const char *dir = OSQ_FLAG_STR(logger_path);
  size_t l = strlen(dir);
  snprintf(out, cap, "%s%s%s", dir, (l && dir[l - 1] == '/') ? "" : "/", name);
}

/* Begin a status file as glog names it, <name>.<YYYYMMDD-HHMMSS>.<pid>,
 * and point the link <name> at it. A file begun in the same second has
 * the same name: glog would then lose lines; osq appends to it. Caller
 * holds fs_lock. */
static void start_status_file(int sev) {
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  char name[128];
  snprintf(name, sizeof name, "%s.%04d%02d%02d-%02d%02d%02d.%d",
           glog_names[sev], tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, (int)getpid());
  path_of(status_path[sev], sizeof status_path[sev], name);
  char link[4200];
  path_of(link, sizeof link, glog_names[sev]);
  unlink(link);
  if (symlink(name, link) != 0)
    OSQ_VLOG("cannot link %s: %s", link, strerror(errno));
}

/* The status file for sev, begun anew once the current one has reached
 * glog's max_log_size (osquery fixes it at 10 MB; a hidden flag lowers it
 * for tests). The size is checked before a line, so lines stay whole. */
static void status_file_for(int sev, char *out, size_t cap) {
  pthread_mutex_lock(&fs_lock);
  struct stat st;
  if (status_path[sev][0] == '\0' ||
      (stat(status_path[sev], &st) == 0 &&
       (uint64_t)st.st_size >= OSQ_FLAG_UINT(osq_status_max_size)))
    start_status_file(sev);
  size_t n = strnlen(status_path[sev], cap - 1);
  memcpy(out, status_path[sev], n);
  out[n] = '\0';
  pthread_mutex_unlock(&fs_lock);
}

/* Rotated copy k of path: "X.k.zst", or with plain set "X.k" (the first
 * copy, and any copy libzstd could not compress). */
static void rotated_name(char *out, size_t cap, const char *path, uint64_t k,
                         bool plain) {
  snprintf(out, cap, plain ? "%s.%llu" : "%s.%llu.zst", path,
           (unsigned long long)k);
}

/* osquery's rotation: X -> X.1 (kept plain) -> X.2.zst -> X.3.zst ...,
 * keeping logger_rotate_max_files rotated files. A copy that stayed plain
 * because it could not be compressed moves along with the others. Caller
 * holds fs_lock. */
static void rotate(const char *path) {
  uint64_t max = OSQ_FLAG_UINT(logger_rotate_max_files);
  if (max < 1)
    max = 1;
  char from[4200], to[4200];
  /* the oldest goes, with any left from a run with a larger max */
  for (uint64_t k = max; k < max + 1000; k++) {
    bool gone = true;
    for (int plain = 0; plain < 2; plain++) {
      rotated_name(from, sizeof from, path, k, plain);
      if (unlink(from) == 0 || errno != ENOENT)
        gone = false;
    }
    if (gone && k > max)
      break;
  }
  for (uint64_t k = max - 1; k >= 2; k--) {
    for (int plain = 0; plain < 2; plain++) {
      rotated_name(from, sizeof from, path, k, plain);
      rotated_name(to, sizeof to, path, k + 1, plain);
      rename(from, to);
    }
  }
  rotated_name(from, sizeof from, path, 1, true);
  if (max >= 2 && access(from, F_OK) == 0) {
    char err[512];
    rotated_name(to, sizeof to, path, 2, false);
    if (osq_zfile_compress(from, to, err, sizeof err) == 0) {
      chmod(to, log_mode());
      unlink(from);
    } else {
      /* the lines stay, plain, rather than being lost */
      OSQ_WARN("Cannot compress %s: %s", from, err);
      rotated_name(to, sizeof to, path, 2, true);
      rename(from, to);
    }
  }
  rename(path, from);
}

/* Whether the last result or snapshot write failed: its error is logged
 * once, when a run of failures starts, not for every retry. */
static bool fs_failing;

static int append_line(const char *path, const char *line, size_t len,
                       bool may_rotate) {
  pthread_mutex_lock(&fs_lock);
  if (may_rotate && OSQ_FLAG_BOOL(logger_rotate)) {
    struct stat st;
    if (stat(path, &st) == 0 &&
        (uint64_t)st.st_size >= OSQ_FLAG_UINT(logger_rotate_size))
      rotate(path);
  }
  int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, log_mode());
  int rc = -1;
  int e = errno;
  if (fd >= 0) {
    fchmod(fd, log_mode());
    rc = write_line(fd, line, len);
    e = errno;
    close(fd);
  }
  /* status lines do not report their own failure: that report would be a
   * status line for the same file */
  bool report = may_rotate && rc != 0 && !fs_failing;
  if (may_rotate)
    fs_failing = rc != 0;
  pthread_mutex_unlock(&fs_lock);
  if (report)
    OSQ_ERR("Cannot write a line to %s: %s", path, strerror(e));
  return rc;
}

static int mkdirs(const char *dir) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", dir);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  if (mkdir(buf, 0750) != 0 && errno != EEXIST)
    return -1;
  return 0;
}

int osq_fslog_setup(char *err, size_t errlen) {
  const char *dir = OSQ_FLAG_STR(logger_path);
  if (mkdirs(dir) != 0) {
    snprintf(err, errlen, "cannot create logger_path %s: %s", dir,
             strerror(errno));
    return -1;
  }
  char path[4200];
  path_of(path, sizeof path, OSQ_RESULTS_LOG);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, log_mode());
  if (fd < 0) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  fchmod(fd, log_mode());
  close(fd);
  pthread_mutex_lock(&fs_lock);
  for (int sev = 0; sev < GLOG_SEVERITIES; sev++)
    status_path[sev][0] = '\0';
  /* the INFO file exists from the start, so the link is there to tail */
  start_status_file(OSQ_SEV_INFO);
  pthread_mutex_unlock(&fs_lock);
  return 0;
}

/* Status arrives as osquery's JSON array; each record becomes one
 * glog-shaped line. */
static int fs_status(const char *text, size_t len) {
  json_error_t e;
  json_t *arr = json_loadb(text, len, 0, &e);
  if (!json_is_array(arr)) {
    json_decref(arr);
    return -1;
  }
  size_t i;
  json_t *r;
  int rc = 0;
  json_array_foreach(arr, i, r) {
    osq_status_line st = {
        (osq_severity)(json_integer_value(json_object_get(r, "s")) & 3),
        json_string_value(json_object_get(r, "f")),
        (int)json_integer_value(json_object_get(r, "i")),
        json_string_value(json_object_get(r, "m")),
        json_integer_value(json_object_get(r, "u")),
        (long)json_integer_value(json_object_get(r, "us"))};
    if (st.usec < 0 || st.usec > 999999)
      st.usec = 0;
    char line[2400];
    osq_log_status_text(&st, st.usec, (long)getpid(), line, sizeof line);
    /* glog writes a line to its own severity's file and every lower one */
    for (int sev = 0; sev <= (int)st.severity; sev++) {
      char path[4096];
      status_file_for(sev, path, sizeof path);
      rc |= append_line(path, line, strlen(line), false);
    }
  }
  json_decref(arr);
  return rc;
}

static int fs_log(osq_log_kind kind, const char *text, size_t len,
                  void *udata) {
  (void)udata;
  char path[4200];
  switch (kind) {
  case OSQ_LOG_RESULT:
    path_of(path, sizeof path, OSQ_RESULTS_LOG);
    return append_line(path, text, len, true) == 0 ? OSQ_OK : OSQ_EIO;
  case OSQ_LOG_SNAPSHOT:
    path_of(path, sizeof path, OSQ_SNAPSHOTS_LOG);
    return append_line(path, text, len, true) == 0 ? OSQ_OK : OSQ_EIO;
  case OSQ_LOG_STATUS:
    return fs_status(text, len) == 0 ? OSQ_OK : OSQ_EIO;
  default:
    return OSQ_OK;
  }
}

const osq_logger_plugin osq_logger_filesystem = {
    .name = "filesystem",
    .features = OSQ_LOGGER_FEATURE_STATUS,
    .log = fs_log,
};

/* ---- stdout -------------------------------------------------------------- */

static int status_each(const char *text, size_t len,
                       void (*out)(const json_t *rec, void *u), void *u) {
  json_error_t e;
  json_t *arr = json_loadb(text, len, 0, &e);
  if (!json_is_array(arr)) {
    json_decref(arr);
    return OSQ_EINVAL;
  }
  size_t i;
  json_t *r;
  json_array_foreach(arr, i, r) out(r, u);
  json_decref(arr);
  return OSQ_OK;
}

static void stdout_status(const json_t *r, void *u) {
  (void)u;
  printf("severity=%lld location=%s:%lld message=%s\n",
         (long long)json_integer_value(json_object_get(r, "s")),
         json_string_value(json_object_get(r, "f"))
             ? json_string_value(json_object_get(r, "f"))
             : "",
         (long long)json_integer_value(json_object_get(r, "i")),
         json_string_value(json_object_get(r, "m"))
             ? json_string_value(json_object_get(r, "m"))
             : "");
}

static int stdout_log(osq_log_kind kind, const char *text, size_t len,
                      void *udata) {
  (void)udata;
  int rc = OSQ_OK;
  flockfile(stdout);
  if (kind == OSQ_LOG_RESULT || kind == OSQ_LOG_SNAPSHOT) {
    if (fwrite(text, 1, len, stdout) != len || putchar('\n') == EOF)
      rc = OSQ_EIO;
  } else if (kind == OSQ_LOG_STATUS) {
    rc = status_each(text, len, stdout_status, NULL);
  }
  fflush(stdout);
  funlockfile(stdout);
  return rc;
}

const osq_logger_plugin osq_logger_stdout = {
    .name = "stdout",
    .features = OSQ_LOGGER_FEATURE_STATUS,
    .log = stdout_log,
};

/* ---- syslog -------------------------------------------------------------- */

static pthread_once_t syslog_once = PTHREAD_ONCE_INIT;

static void syslog_open(void) {
  int64_t f = OSQ_FLAG_INT(logger_syslog_facility);
  if (f < 0 || f > 23)
    f = 19;
  openlog(osq_identity_daemon_name(), LOG_PID | LOG_NDELAY, (int)(f << 3));
}

static void syslog_status(const json_t *r, void *u) {
  (void)u;
  static const int prio[] = {LOG_NOTICE, LOG_WARNING, LOG_ERR, LOG_CRIT};
  int s = (int)json_integer_value(json_object_get(r, "s")) & 3;
  const char *f = json_string_value(json_object_get(r, "f"));
  const char *m = json_string_value(json_object_get(r, "m"));
  syslog(prio[s], "severity=%d location=%s:%lld message=%s", s, f ? f : "",
         (long long)json_integer_value(json_object_get(r, "i")), m ? m : "");
}

static int syslog_log(osq_log_kind kind, const char *text, size_t len,
                      void *udata) {
  (void)udata;
  pthread_once(&syslog_once, syslog_open);
  if (kind == OSQ_LOG_RESULT || kind == OSQ_LOG_SNAPSHOT) {
    syslog(LOG_INFO, "%s%.*s",
           OSQ_FLAG_BOOL(logger_syslog_prepend_cee) ? "@cee:" : "",
           (int)(len > 1u << 30 ? 1u << 30 : len), text);
    return OSQ_OK;
  }
  if (kind == OSQ_LOG_STATUS)
    return status_each(text, len, syslog_status, NULL);
  return OSQ_OK;
}

const osq_logger_plugin osq_logger_syslog = {
    .name = "syslog",
    .features = OSQ_LOGGER_FEATURE_STATUS,
    .log = syslog_log,
};
