#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int verbose;
static atomic_int min_level = OSQ_SEV_INFO;
static atomic_int stderr_min = OSQ_SEV_WARNING;
static osq_log_sink sink;
static void *sink_udata;
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;

void osq_log_apply(const osq_log_settings *settings) {
  atomic_store(&verbose, settings->verbose ? 1 : 0);
  int min = settings->min_level;
  if (min > OSQ_SEV_FATAL)
    min = OSQ_SEV_FATAL; /* a fatal line is never dropped */
  atomic_store(&min_level, settings->verbose || min < 0 ? (int)OSQ_SEV_INFO
                                                        : min);
  atomic_store(&stderr_min,
               settings->verbose ? (int)OSQ_SEV_INFO : settings->stderr_min);
}

int osq_log_verbose(void) { return atomic_load(&verbose); }

void osq_log_set_sink(osq_log_sink s, void *udata) {
  pthread_mutex_lock(&sink_lock);
  sink = s;
  sink_udata = udata;
  pthread_mutex_unlock(&sink_lock);
}

void osq_log_at(osq_severity sev, const char *file, int line, const char *fmt,
                ...) {
  if ((int)sev < atomic_load(&min_level))
    return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  if ((int)sev >= atomic_load(&stderr_min)) {
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    /* glog's prefix: severity letter, mmdd hh:mm:ss.uuuuuu pid file:line] */
    fprintf(stderr, "%c%02d%02d %02d:%02d:%02d.%06ld %d %s:%d] %s\n",
            "IWEF"[sev & 3], tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
            tm.tm_min, tm.tm_sec, (long)tv.tv_usec, (int)getpid(), base, line,
            msg);
  }
  pthread_mutex_lock(&sink_lock);
  osq_log_sink s = sink;
  void *u = sink_udata;
  pthread_mutex_unlock(&sink_lock);
  if (s) {
    osq_status_line st = {sev, base, line, msg, (int64_t)tv.tv_sec,
                          (long)tv.tv_usec};
    s(&st, u);
  }
}
