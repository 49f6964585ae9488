#include "remote/node.h"

#include "core/flags.h"
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NODE_KEY "nodeKey"
#define MAX_SECRET 4096
#define MAX_NODE_KEY 4096

static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t enroll_lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3 *db;
static osq_tls_env env;
static char *env_path, *env_host;
static bool have_env, open_failed;

/* enrollment state, under enroll_lock */
static char *node_key;
static bool enrolled_once;
static int64_t next_enroll_ms;
static uint64_t round_failures; /* failed attempts in the current round */

int64_t osq_node_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *kSchema =
    "CREATE TABLE IF NOT EXISTS settings("
    " key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS remote_logs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL,"
    " line TEXT NOT NULL);";

int osq_node_open(const osq_tls_env *e, char *err, size_t errlen) {
  pthread_mutex_lock(&db_lock);
  if (!have_env) {
    env = *e;
    env_path = e->database_path ? strdup(e->database_path) : NULL;
    env_host = strdup(e->host_identifier ? e->host_identifier : "");
    env.database_path = env_path;
    env.host_identifier = env_host;
    have_env = true;
  }
  pthread_mutex_unlock(&db_lock);
  (void)err, (void)errlen;
  return 0;
}

/* The connection is opened on first use, so that a daemon without tls
 * plugins never touches the store through it. db_lock held. */
static void ensure_open(void) {
  if (db || !have_env || open_failed)
    return;
  const char *path = env_path ? env_path : ":memory:";
  int rc = sqlite3_open_v2(path, &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                               SQLITE_OPEN_NOMUTEX,
                           NULL);
  char *msg = NULL;
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 10000);
    /* the results store's durability: WAL survives a killed process */
    rc = sqlite3_exec(db,
                      env_path ? "PRAGMA journal_mode=WAL;"
                                 "PRAGMA synchronous=NORMAL;"
                               : "",
                      NULL, NULL, &msg);
    if (rc == SQLITE_OK)
      rc = sqlite3_exec(db, kSchema, NULL, NULL, &msg);
  }
  if (rc != SQLITE_OK) {
    OSQ_ERR("Cannot open the remote state in %s: %s", path,
            msg ? msg : (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_free(msg);
    sqlite3_close(db);
    db = NULL;
    open_failed = true;
  }
}

void osq_node_close(void) {
  pthread_mutex_lock(&db_lock);
  sqlite3_close(db);
  db = NULL;
  free(env_path);
  free(env_host);
  env_path = env_host = NULL;
  have_env = open_failed = false;
  pthread_mutex_unlock(&db_lock);
  pthread_mutex_lock(&enroll_lock);
  free(node_key);
  node_key = NULL;
  enrolled_once = false;
  next_enroll_ms = 0;
  round_failures = 0;
  pthread_mutex_unlock(&enroll_lock);
}

sqlite3 *osq_node_lock(void) {
  pthread_mutex_lock(&db_lock);
  ensure_open();
  return db;
}

void osq_node_unlock(void) { pthread_mutex_unlock(&db_lock); }

char *osq_node_get(const char *key) {
  char *v = NULL;
  sqlite3 *d = osq_node_lock();
  sqlite3_stmt *st = NULL;
  if (d && sqlite3_prepare_v2(d, "SELECT value FROM settings WHERE key=?",
                              -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char *t = sqlite3_column_text(st, 0);
      v = strdup(t ? (const char *)t : "");
    }
  }
  sqlite3_finalize(st);
  osq_node_unlock();
  return v;
}

int osq_node_set(const char *key, const char *value) {
  int rc = -1;
  sqlite3 *d = osq_node_lock();
  sqlite3_stmt *st = NULL;
  if (d && sqlite3_prepare_v2(d,
                              value ? "INSERT OR REPLACE INTO settings(key,"
                                      " value) VALUES(?,?)"
                                    : "DELETE FROM settings WHERE key=?",
                              -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (value)
      sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    if (rc != 0)
      OSQ_WARN("remote state: cannot write %s: %s", key, sqlite3_errmsg(d));
  }
  sqlite3_finalize(st);
  osq_node_unlock();
  return rc;
}

/* --enroll_secret_path, else --enroll_secret_env; "" when neither. */
static char *enroll_secret(char *err, size_t errlen) {
  const char *path = OSQ_FLAG_STR(enroll_secret_path);
  if (path[0]) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
      snprintf(err, errlen, "cannot read --enroll_secret_path %s: %s", path,
               strerror(errno));
      return NULL;
    }
    char *buf = calloc(1, MAX_SECRET + 2);
    size_t n = buf ? fread(buf, 1, MAX_SECRET + 1, f) : 0;
    fclose(f);
    if (buf == NULL || n > MAX_SECRET) {
      free(buf);
      snprintf(err, errlen, "--enroll_secret_path %s: larger than %d bytes",
               path, MAX_SECRET);
      return NULL;
    }
    while (n > 0 && strchr(" \t\r\n", buf[n - 1]))
      buf[--n] = '\0';
    return buf;
  }
  const char *var = OSQ_FLAG_STR(enroll_secret_env);
  if (var[0]) {
    const char *v = getenv(var);
    if (v == NULL) {
      snprintf(err, errlen, "--enroll_secret_env: %s is not set", var);
      return NULL;
    }
    if (strlen(v) > MAX_SECRET) {
      snprintf(err, errlen, "--enroll_secret_env %s: longer than %d bytes",
               var, MAX_SECRET);
      return NULL;
    }
    return strdup(v);
  }
  return strdup("");
}

typedef struct osq_node_buf {
  char *p;
  size_t n, cap;
  bool failed;
} osq_node_buf;

static void osq_node_buf_put(osq_node_buf *b, const char *p, size_t n) {
  if (b->failed)
    return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1)
      cap *= 2;
    char *q = realloc(b->p, cap);
    if (q == NULL) {
      b->failed = true;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
  b->p[b->n] = '\0';
}

/* Percent-encode s (all but RFC 3986's unreserved characters) onto b. */
static void put_escaped(osq_node_buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || strchr("-._~", c)) {
      osq_node_buf_put(b, s, 1);
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      osq_node_buf_put(b, e, 3);
    }
  }
}

char *osq_node_target(const char *endpoint, const char *key, char *err,
                      size_t errlen) {
  bool node_api = key && OSQ_FLAG_BOOL(tls_node_api);
  osq_node_buf b = {0};
  if (node_api) {
    osq_node_buf_put(&b, "/", 1);
    put_escaped(&b, key);
  }
  osq_node_buf_put(&b, endpoint, strlen(endpoint));
  if (OSQ_FLAG_BOOL(tls_secret_always)) {
    char *secret = enroll_secret(err, errlen);
    if (secret == NULL) {
      free(b.p);
      return NULL;
    }
    osq_node_buf_put(&b, strchr(b.p ? b.p : "", '?') ? "&" : "?", 1);
    put_escaped(&b, OSQ_FLAG_STR(tls_enroll_override));
    osq_node_buf_put(&b, "=", 1);
    put_escaped(&b, secret);
    free(secret);
  }
  if (node_api) {
    /* osquery adds it with '&' even when there is no query yet; servers
     * written for osquery parse exactly that. */
    osq_node_buf_put(&b, "&node_key=", 10);
    put_escaped(&b, key);
  }
  if (b.failed || b.p == NULL) {
    free(b.p);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  return b.p;
}

int osq_node_check_reply(const osq_http_reply *r, const char *endpoint,
                       json_t **out, char *err, size_t errlen) {
  if (r->status != 200) {
    snprintf(err, errlen, "%s answered HTTP %ld", endpoint, r->status);
    return -1;
  }
  json_error_t je;
  json_t *j = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &je);
  if (!json_is_object(j)) {
    snprintf(err, errlen, "%s sent %s: %s", endpoint,
             j ? "JSON that is not an object" : "no valid JSON",
             j ? "" : je.text);
    json_decref(j);
    return -1;
  }
  *out = j;
  return 0;
}

/* One enrollment request; on success node_key is set and stored. Called
 * with enroll_lock held. */
static int enroll(osq_http *h, char *err, size_t errlen) {
  const char *endpoint = OSQ_FLAG_STR(enroll_tls_endpoint);
  if (endpoint[0] == '\0') {
    snprintf(err, errlen, "--enroll_tls_endpoint is not set");
    return -1;
  }
  char *secret = enroll_secret(err, errlen);
  if (secret == NULL)
    return -1;
  json_t *details = env.host_details ? env.host_details(env.udata) : NULL;
  if (!json_is_object(details)) {
    json_decref(details);
    details = json_object();
  }
  const char *secret_key = OSQ_FLAG_STR(tls_enroll_override);
  json_t *body = json_object();
  json_object_set_new(body, secret_key[0] ? secret_key : "enroll_secret",
                      json_string(secret));
  json_object_set_new(body, "host_identifier",
                      json_string(env.host_identifier ? env.host_identifier
                                                      : ""));
  /* osquery's PlatformType bits for Linux: POSIX | LINUX */
  json_object_set_new(body, "platform_type", json_string("9"));
  json_object_set_new(body, "host_details", details);
  free(secret);
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  if (text == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  OSQ_INFO("Requesting a node key from %s", endpoint);
  char *target = osq_node_target(endpoint, NULL, err, errlen);
  osq_http_reply r;
  int rc = target ? osq_http_post(h, target, text, strlen(text), false, &r,
                                  err, errlen)
                  : -1;
  free(target);
  free(text);
  if (rc != 0)
    return -1;
  json_t *j = NULL;
  rc = osq_node_check_reply(&r, endpoint, &j, err, errlen);
  free(r.body);
  if (rc != 0)
    return -1;
  json_t *k = json_object_get(j, "node_key");
  json_t *inv = json_object_get(j, "node_invalid");
  if (json_is_true(inv) || !json_is_string(k) ||
      json_string_length(k) > MAX_NODE_KEY) {
    snprintf(err, errlen, "%s refused the enrollment%s", endpoint,
             json_is_true(inv) ? " (node_invalid)"
             : json_is_string(k) ? " (node_key too long)"
                                 : " (no node_key in the reply)");
    json_decref(j);
    return -1;
  }
  free(node_key);
  node_key = strdup(json_string_value(k));
  json_decref(j);
  osq_node_set(NODE_KEY, node_key);
  OSQ_INFO("Enrolled with %s", endpoint);
  return node_key ? 0 : -1;
}

int64_t osq_node_enroll_wait(uint64_t failures, uint64_t max_attempts,
                             uint64_t max_interval) {
  if (max_attempts > 0 && failures >= max_attempts)
    return -1;
  /* osquery's 1, 4, 9, ... s; squared only while below the cap */
  uint64_t step = failures > 0 ? failures : 1;
  if (step > max_interval || step * step > max_interval)
    return (int64_t)max_interval;
  return (int64_t)(step * step);
}

char *osq_node_key(osq_http *h, char *err, size_t errlen) {
  if (OSQ_FLAG_BOOL(disable_enrollment))
    return strdup("");
  pthread_mutex_lock(&enroll_lock);
  char *out = NULL;
  if (node_key == NULL && !(OSQ_FLAG_BOOL(enroll_always) && !enrolled_once))
    node_key = osq_node_get(NODE_KEY);
  if (node_key && node_key[0] &&
      !(OSQ_FLAG_BOOL(enroll_always) && !enrolled_once)) {
    out = strdup(node_key);
    goto done;
  }
  int64_t now = osq_node_now_ms();
  if (now < next_enroll_ms) {
    snprintf(err, errlen,
             "not enrolled; the next enrollment attempt is in %lld s",
             (long long)((next_enroll_ms - now + 999) / 1000));
    goto done;
  }
  if (enroll(h, err, errlen) == 0) {
    enrolled_once = true;
    round_failures = 0;
    next_enroll_ms = 0;
    out = strdup(node_key);
  } else {
    OSQ_WARN("Enrollment failed: %s", err);
    int64_t wait_s = osq_node_enroll_wait(
        ++round_failures, OSQ_FLAG_UINT(tls_enroll_max_attempts),
        OSQ_FLAG_UINT(tls_enroll_max_interval));
    if (wait_s < 0) {
      OSQ_WARN("Enrollment failed %llu times in a row "
               "(--tls_enroll_max_attempts); the next request that needs a "
               "node key starts over",
               (unsigned long long)round_failures);
      round_failures = 0;
      wait_s = 0;
    }
    next_enroll_ms = osq_node_now_ms() + wait_s * 1000;
  }
done:
  pthread_mutex_unlock(&enroll_lock);
  return out;
}

void osq_node_invalidate(const char *key) {
  pthread_mutex_lock(&enroll_lock);
  /* Another thread may have enrolled again already. */
  if (node_key && key && strcmp(node_key, key) == 0 &&
      !OSQ_FLAG_BOOL(disable_reenrollment)) {
    free(node_key);
    node_key = strdup("");
    enrolled_once = true;
    osq_node_set(NODE_KEY, NULL);
    OSQ_WARN("The server says the node key is invalid; enrolling again");
  }
  pthread_mutex_unlock(&enroll_lock);
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

int osq_node_request(osq_http *h, const char *endpoint, json_t *body,
                     unsigned attempts, bool gzip, json_t **reply, char *err,
                     size_t errlen) {
  *reply = NULL;
  if (endpoint == NULL || endpoint[0] == '\0') {
    snprintf(err, errlen, "the endpoint is not set");
    return -1;
  }
  if (attempts == 0)
    attempts = 1;
  bool reenrolled = OSQ_FLAG_BOOL(disable_reenrollment);
  for (unsigned a = 1; a <= attempts; a++) {
    if (a > 1)
      sleep_ms((int64_t)(a - 1) * 1000);
    char *key = osq_node_key(h, err, errlen);
    if (key == NULL)
      continue;
    /* --tls_node_api: the key travels in the URL instead (osquery) */
    if (!OSQ_FLAG_BOOL(tls_node_api))
      json_object_set_new(body, "node_key", json_string(key));
    char *target = osq_node_target(endpoint, key, err, errlen);
    char *text = target ? json_dumps(body, JSON_COMPACT) : NULL;
    if (text == NULL) {
      if (target)
        snprintf(err, errlen, "out of memory");
      free(target);
      free(key);
      return -1;
    }
    osq_http_reply r;
    int rc = osq_http_post(h, target, text, strlen(text), gzip, &r, err,
                           errlen);
    free(target);
    free(text);
    json_t *j = NULL;
    if (rc == 0) {
      rc = osq_node_check_reply(&r, endpoint, &j, err, errlen);
      free(r.body);
    }
    if (rc == 0 && json_is_true(json_object_get(j, "node_invalid"))) {
      osq_node_invalidate(key);
      snprintf(err, errlen, "%s: node_invalid", endpoint);
      json_decref(j);
      free(key);
      if (!reenrolled) {
        reenrolled = true;
        a--; /* one re-enrollment is not a failed attempt */
      }
      continue;
    }
    free(key);
    if (rc == 0) {
      json_object_del(j, "node_invalid");
      *reply = j;
      return 0;
    }
  }
  return -1;
}
