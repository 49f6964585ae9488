/* The "tls" logger plugin. Every result and status line is first written
 * to the remote_logs table of the results store; a forwarder thread sends
 * them in id order, per log type, every --logger_tls_period seconds, and
 * deletes a batch only once the server accepted it. A server that is
 * down, slow or failing therefore loses nothing, and delivery resumes
 * where it stopped after the server or osqd comes back. A batch whose
 * reply is lost in flight is sent again (at least once). */
#include "remote/plugins.h"

#include "core/flags.h"
#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static bool running;
static atomic_bool stopping;
static int64_t buffered = -1; /* rows in remote_logs; under the node lock */

/* Drop the oldest lines beyond --buffered_log_max. Node lock held. */
static void purge(sqlite3 *db) {
  uint64_t max = OSQ_FLAG_UINT(buffered_log_max);
  if (buffered < 0) {
    sqlite3_stmt *st = NULL;
    buffered = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM remote_logs", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      buffered = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  if (max == 0 || (uint64_t)buffered <= max)
    return;
  int64_t over = buffered - (int64_t)max;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db,
                         "DELETE FROM remote_logs WHERE id IN (SELECT id FROM"
                         " remote_logs ORDER BY id LIMIT ?)",
                         -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, over);
    if (sqlite3_step(st) == SQLITE_DONE) {
      buffered -= sqlite3_changes(db);
      OSQ_WARN("The tls logger buffer is full (--buffered_log_max=%llu): "
               "dropped the %lld oldest lines",
               (unsigned long long)max, (long long)over);
    }
  }
  sqlite3_finalize(st);
}

static int buffer_line(const char *type, const char *line, size_t len) {
  uint64_t maxsize = OSQ_FLAG_UINT(logger_tls_max_linesize);
  if (maxsize && len > maxsize) {
    OSQ_WARN("Dropping a %s log line of %zu bytes: larger than "
             "--logger_tls_max_linesize=%llu",
             type, len, (unsigned long long)maxsize);
    return OSQ_ERANGE;
  }
  int rc = OSQ_ERROR;
  sqlite3 *db = osq_node_lock();
  sqlite3_stmt *st = NULL;
  if (db && sqlite3_prepare_v2(db,
                               "INSERT INTO remote_logs(type, line)"
                               " VALUES(?,?)",
                               -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, line, (int)len, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_DONE) {
      rc = OSQ_OK;
      if (buffered >= 0)
        buffered++;
      purge(db);
    }
  }
  if (rc != OSQ_OK)
    fprintf(stderr, "osqd: tls logger: cannot buffer a line: %s\n",
            db ? sqlite3_errmsg(db) : "no results store");
  sqlite3_finalize(st);
  osq_node_unlock();
  return rc;
}

typedef struct buf {
  char *p;
  size_t n, cap;
  bool failed;
} buf;

static void put(buf *b, const char *s, size_t n) {
  if (b->failed)
    return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->n + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
      b->failed = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

/* Read up to max lines of type in id order into the data array of body;
 * returns how many, with the last id in *last. */
static size_t read_batch(const char *type, uint64_t max, buf *data,
                         int64_t *last) {
  size_t n = 0;
  sqlite3 *db = osq_node_lock();
  sqlite3_stmt *st = NULL;
  if (db && sqlite3_prepare_v2(db,
                               "SELECT id, line FROM remote_logs WHERE type=?"
                               " ORDER BY id LIMIT ?",
                               -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    while (sqlite3_step(st) == SQLITE_ROW) {
      if (n)
        put(data, ",", 1);
      put(data, (const char *)sqlite3_column_text(st, 1),
          (size_t)sqlite3_column_bytes(st, 1));
      *last = sqlite3_column_int64(st, 0);
      n++;
    }
  }
  sqlite3_finalize(st);
  osq_node_unlock();
  return n;
}

static void delete_upto(const char *type, int64_t last) {
  sqlite3 *db = osq_node_lock();
  sqlite3_stmt *st = NULL;
  if (db && sqlite3_prepare_v2(db,
                               "DELETE FROM remote_logs WHERE type=? AND"
                               " id<=?",
                               -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, last);
    if (sqlite3_step(st) == SQLITE_DONE && buffered >= 0)
      buffered -= sqlite3_changes(db);
  }
  sqlite3_finalize(st);
  osq_node_unlock();
}

/* POST one batch (data: the lines joined by commas) with osquery's body
 * ({"node_key", "log_type", "data"}; the key goes in the URL instead with
 * --tls_node_api). 1 when the server took it, -1 with err otherwise. */
static int post_lines(osq_http *h, const char *endpoint, const char *key,
                      const char *type, const buf *data, char *err,
                      size_t errlen) {
  buf body = {0};
  put(&body, "{", 1);
  if (!OSQ_FLAG_BOOL(tls_node_api)) {
    json_t *jk = json_string(key);
    char *kq = jk ? json_dumps(jk, JSON_ENCODE_ANY) : NULL;
    json_decref(jk);
    put(&body, "\"node_key\":", 11);
    put(&body, kq ? kq : "\"\"", kq ? strlen(kq) : 2);
    put(&body, ",", 1);
    free(kq);
  }
  put(&body, "\"log_type\":\"", 12);
  put(&body, type, strlen(type));
  put(&body, "\",\"data\":[", 10);
  put(&body, data->p, data->n);
  put(&body, "]}", 2);
  char *target = osq_node_target(endpoint, key, err, errlen);
  int rc = -1;
  osq_http_reply r;
  if (target && !body.failed &&
      osq_http_post(h, target, body.p, body.n,
                    OSQ_FLAG_BOOL(logger_tls_compress), &r, err,
                    errlen) == 0) {
    json_t *j = NULL;
    if (osq_node_check_reply(&r, endpoint, &j, err, errlen) == 0) {
      if (json_is_true(json_object_get(j, "node_invalid"))) {
        osq_node_invalidate(key);
        snprintf(err, errlen, "%s: node_invalid", endpoint);
      } else {
        rc = 1;
      }
    }
    json_decref(j);
    free(r.body);
  }
  free(target);
  free(body.p);
  return rc;
}

/* Send one batch. 1 sent (maybe more waiting), 0 nothing to send, -1
 * failed (the lines stay). */
static int send_batch(osq_http *h, const char *type) {
  uint64_t max = OSQ_FLAG_UINT(logger_tls_max_lines);
  if (max == 0)
    max = 1024;
  buf data = {0};
  int64_t last = 0;
  size_t n = read_batch(type, max, &data, &last);
  if (n == 0 || data.failed) {
    free(data.p);
    return n ? -1 : 0;
  }
  const char *endpoint = OSQ_FLAG_STR(logger_tls_endpoint);
  char err[1024] = "";
  int rc = -1;
  char *key = osq_node_key(h, err, sizeof err);
  if (key) {
    rc = post_lines(h, endpoint, key, type, &data, err, sizeof err);
    free(key);
  }
  free(data.p);
  if (rc == 1) {
    delete_upto(type, last);
    return n == max ? 1 : 0;
  }
  /* Not a status line of its own when the server is down: that would
   * only grow the buffer that cannot drain. */
  fprintf(stderr, "osqd: tls logger: cannot send %zu %s lines: %s\n", n,
          type, err);
  return -1;
}

static void *forwarder(void *arg) {
  (void)arg;
  char err[1024];
  osq_http_opts o = osq_http_opts_from_flags();
  osq_http *h = osq_http_new(&o, err, sizeof err);
  if (h == NULL) {
    OSQ_ERR("The tls logger cannot start: %s", err);
    return NULL;
  }
  osq_http_set_cancel(h, &stopping);
  for (;;) {
    uint64_t period = OSQ_FLAG_UINT(logger_tls_period);
    if (period == 0)
      period = 1;
    pthread_mutex_lock(&lock);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)period;
    while (!atomic_load(&stopping) &&
           pthread_cond_timedwait(&wake, &lock, &until) == 0)
      ;
    pthread_mutex_unlock(&lock);
    if (atomic_load(&stopping))
      break;
    static const char *const types[] = {"result", "status"};
    for (size_t t = 0; t < 2 && !atomic_load(&stopping); t++) {
      int rc;
      do
        rc = send_batch(h, types[t]);
      while (rc == 1 && !atomic_load(&stopping));
      if (rc < 0)
        break; /* the server is unwell: wait for the next period */
    }
  }
  osq_http_free(h);
  return NULL;
}

static void start(void) {
  pthread_mutex_lock(&lock);
  if (!running) {
    atomic_store(&stopping, false);
    running = pthread_create(&thread, NULL, forwarder, NULL) == 0;
    if (!running)
      OSQ_ERR("The tls logger cannot start its forwarder thread");
  }
  pthread_mutex_unlock(&lock);
}

static json_t *str_of(json_t *v) {
  if (json_is_string(v))
    return json_string(json_string_value(v));
  if (json_is_integer(v)) {
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v));
    return json_string(b);
  }
  return json_string("");
}

/* The status record as osquery's tls logger sends it, from the short
 * form loggers receive ({"s","f","i","m","h","c","u"}). */
static json_t *status_record(json_t *v) {
  return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "hostIdentifier",
                   str_of(json_object_get(v, "h")), "calendarTime",
                   str_of(json_object_get(v, "c")), "unixTime",
                   str_of(json_object_get(v, "u")), "severity",
                   str_of(json_object_get(v, "s")), "filename",
                   str_of(json_object_get(v, "f")), "line",
                   str_of(json_object_get(v, "i")), "message",
                   str_of(json_object_get(v, "m")), "version", OSQ_VERSION);
}

static int log_line(osq_log_kind kind, const char *text, size_t len,
                    void *udata) {
  (void)udata;
  switch (kind) {
  case OSQ_LOG_INIT:
    start();
    return OSQ_OK;
  case OSQ_LOG_RESULT:
  case OSQ_LOG_SNAPSHOT:
    start();
    return buffer_line("result", text, len);
  case OSQ_LOG_STATUS: {
    if (OSQ_FLAG_BOOL(tls_disable_status_log))
      return OSQ_OK;
    start();
    json_error_t je;
    json_t *arr = json_loadb(text, len, 0, &je);
    if (!json_is_array(arr)) {
      json_decref(arr);
      return OSQ_EINVAL;
    }
    size_t i;
    json_t *v;
    int rc = OSQ_OK;
    json_array_foreach(arr, i, v) {
      json_t *rec = json_is_object(v) ? status_record(v) : NULL;
      char *line = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
      json_decref(rec);
      if (line && buffer_line("status", line, strlen(line)) != OSQ_OK)
        rc = OSQ_ERROR;
      free(line);
    }
    json_decref(arr);
    return rc;
  }
  default:
    return OSQ_OK;
  }
}

const osq_logger_plugin osq_remote_tls_logger = {
    .name = "tls",
    .features = OSQ_LOGGER_FEATURE_STATUS,
    .log = log_line,
};

void osq_remote_tls_logger_stop(void) {
  pthread_mutex_lock(&lock);
  bool was = running;
  atomic_store(&stopping, true);
  pthread_cond_broadcast(&wake);
  running = false;
  pthread_mutex_unlock(&lock);
  if (was)
    pthread_join(thread, NULL);
  sqlite3 *db = osq_node_lock();
  buffered = -1;
  (void)db;
  osq_node_unlock();
}
