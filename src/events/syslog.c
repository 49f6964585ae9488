/* syslog_events from rsyslog through a named pipe (--syslog_pipe_path),
 * enabled with --enable_syslog, as osquery's syslog publisher: rsyslog
 * writes each message as one CSV line (docs/events.md gives the
 * template); at most --syslog_rate_limit lines are taken every 200 ms,
 * the rest wait in the pipe (rsyslog queues them). The table keeps its own
 * --syslog_events_expiry and --syslog_events_max. */
#include "events/events_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/log.h"
#include "core/mkdirs.h"
#include "events/evstore.h"
#include "events/parse.h"

#define LINE_MAX_BYTES 65536
#define BUF_BYTES (4 * LINE_MAX_BYTES)
#define CYCLE_MS 200

static osq_ev_stats stats;
static const char *const tables[] = {"syslog_events", NULL};
static int fd = -1;
static osq_ev_waker waker = {-1, -1};
static pthread_t thread;

static bool wanted(const json_t *cfg) {
  (void)cfg;
  return OSQ_FLAG_BOOL(enable_syslog);
}

static void publish(const char *line, size_t len) {
  char *dec = malloc(len + 8);
  const char *f[6];
  int n = dec ? osq_syslog_csv(line, len, dec, len + 8, f, 6) : -1;
  if (n != 6) {
    atomic_fetch_add(&stats.errors, 1);
    free(dec);
    return;
  }
  const osq_table_plugin *t = &osq_table_syslog_events;
  osq_ev_row *row = osq_ev_row_new(t);
  if (row) {
    char *end;
    long sev = strtol(f[2], &end, 10);
    osq_ev_row_str(row, t, "datetime", f[0]);
    osq_ev_row_str(row, t, "host", f[1]);
    if (end != f[2] && *end == '\0')
      osq_ev_row_int(row, t, "severity", sev);
    osq_ev_row_str(row, t, "facility", f[3]);
    osq_ev_row_str(row, t, "tag", f[4]);
    osq_ev_row_str(row, t, "message", f[5]);
    osq_ev_add("syslog_events", osq_ev_now(), row);
  }
  free(dec);
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *run(void *arg) {
  (void)arg;
  char *buf = malloc(BUF_BYTES);
  size_t have = 0;
  bool skipping = false; /* inside a line longer than LINE_MAX_BYTES */
  int64_t cycle_end = mono_ms() + CYCLE_MS;
  uint64_t budget = OSQ_FLAG_UINT(syslog_rate_limit);
  while (buf) {
    int64_t now = mono_ms();
    if (now >= cycle_end) {
      cycle_end = now + CYCLE_MS;
      budget = OSQ_FLAG_UINT(syslog_rate_limit);
    }
    /* lines already read first, within the budget */
    size_t start = 0;
    while (budget > 0) {
      char *nl = memchr(buf + start, '\n', have - start);
      if (nl == NULL)
        break;
      size_t len = (size_t)(nl - (buf + start));
      if (!skipping) {
        publish(buf + start, len);
        atomic_fetch_add(&stats.events, 1);
        budget--;
      }
      skipping = false;
      start += len + 1;
    }
    memmove(buf, buf + start, have - start);
    have -= start;
    if (have >= LINE_MAX_BYTES && memchr(buf, '\n', have) == NULL) {
      atomic_fetch_add(&stats.errors, 1); /* an endless line: drop it */
      have = 0;
      skipping = true;
    }
    int due = osq_ev_commit_due();
    bool can_read = budget > 0 && have < BUF_BYTES;
    int wait = due; /* -1: nothing to commit, no need to wake */
    if (!can_read) {
      /* the budget is spent: wait for the next cycle */
      int left = (int)(cycle_end - mono_ms());
      if (left < 0)
        left = 0;
      if (wait < 0 || left < wait)
        wait = left;
    }
    struct pollfd p[2] = {{can_read ? fd : -1, POLLIN, 0},
                          {waker.rd, POLLIN, 0}};
    int rc = poll(p, 2, wait);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc < 0 || (p[1].revents & POLLIN))
      break;
    if (can_read && (p[0].revents & POLLIN)) {
      ssize_t n = read(fd, buf + have, BUF_BYTES - have);
      if (n > 0)
        have += (size_t)n;
    }
  }
  free(buf);
  osq_ev_commit();
  return NULL;
}

static int start(const json_t *cfg, char *err, size_t errlen) {
  (void)cfg;
  const char *path = OSQ_FLAG_STR(syslog_pipe_path);
  struct stat st;
  if (lstat(path, &st) != 0) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
      *slash = '\0';
      osq_mkdirs(dir, 0755);
    }
    /* rsyslog writes, osq reads: owner read-write, group write */
    if (mkfifo(path, 0620) != 0 || chmod(path, 0620) != 0) {
      snprintf(err, errlen, "cannot create the syslog pipe %s: %s", path,
               strerror(errno));
      return -1;
    }
  } else if (!S_ISFIFO(st.st_mode)) {
    snprintf(err, errlen, "%s (--syslog_pipe_path) is not a named pipe",
             path);
    return -1;
  }
  /* read-write: the pipe never reports end-of-file when rsyslog restarts */
  fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open the syslog pipe %s: %s", path,
             strerror(errno));
    return -1;
  }
  osq_evstore_set_limits("syslog_events", OSQ_FLAG_UINT(syslog_events_max),
                         OSQ_FLAG_UINT(syslog_events_expiry));
  if (osq_ev_waker_open(&waker) != 0 ||
      pthread_create(&thread, NULL, run, NULL) != 0) {
    snprintf(err, errlen, "cannot start the publisher thread");
    osq_ev_waker_close(&waker);
    close(fd);
    fd = -1;
    return -1;
  }
  atomic_store(&stats.subscriptions, 1);
  return 0;
}

static void stop(void) {
  osq_ev_waker_wake(&waker);
  pthread_join(thread, NULL);
  osq_ev_waker_close(&waker);
  close(fd);
  fd = -1;
  atomic_store(&stats.subscriptions, 0);
}

const osq_ev_publisher osq_ev_syslog = {
    .name = "syslog",
    .tables = tables,
    .stats = &stats,
    .wanted = wanted,
    .start = start,
    .reconfigure = NULL,
    .stop = stop,
};
