#include "logger/logger.h"

#include "core/flags.h"
#include "core/identity.h"
#include "core/log.h"
#include "logger/format.h"
#include "logger/kafka.h"
#include "registry/registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

#define MAX_LOGGERS 16
#define STATUS_BUFFER_MAX 10000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *active[MAX_LOGGERS];
static size_t nactive;

int osq_loggers_register_builtin(void) {
  osq_plugin_spec specs[] = {
      {OSQ_REGISTRY_LOGGER, &osq_logger_filesystem, OSQ_CORE_UUID, false},
      {OSQ_REGISTRY_LOGGER, &osq_logger_stdout, OSQ_CORE_UUID, false},
      {OSQ_REGISTRY_LOGGER, &osq_logger_syslog, OSQ_CORE_UUID, false},
      {OSQ_REGISTRY_LOGGER, &osq_logger_kafka, OSQ_CORE_UUID, false},
  };
  char err[256];
  size_t n = sizeof specs / sizeof specs[0];
  /* re-registration (tests) is harmless: keep what is there */
  for (size_t i = 0; i < n; i++) {
    const osq_logger_plugin *p = specs[i].plugin;
    if (osq_registry_exists(OSQ_REGISTRY_LOGGER, p->name))
      continue;
    if (osq_registry_add(specs[i].kind, p, OSQ_CORE_UUID, false, err,
                         sizeof err) != 0) {
      OSQ_ERR("%s", err);
      return -1;
    }
  }
  return 0;
}

static void clear_active(void) {
  for (size_t i = 0; i < nactive; i++)
    free(active[i]);
  nactive = 0;
}

int osq_loggers_setup(const char *names, osq_plugin_wait_fn wait,
                      void *udata, char *err, size_t errlen) {
  char *list = strdup(names ? names : "");
  if (list == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  char *chosen[MAX_LOGGERS];
  size_t n = 0;
  int rc = 0;
  int64_t deadline =
      osq_now_ms() + (int64_t)(atof(OSQ_FLAG_STR(extensions_timeout)) * 1000);
  char *save = NULL;
  for (char *t = strtok_r(list, ",", &save); t && rc == 0;
       t = strtok_r(NULL, ",", &save)) {
    if (*t == '\0')
      continue;
    if (n == MAX_LOGGERS) {
      snprintf(err, errlen, "too many logger plugins (at most %d)",
               MAX_LOGGERS);
      rc = -1;
      break;
    }
    bool ok = osq_registry_exists(OSQ_REGISTRY_LOGGER, t);
    if (!ok && wait)
      ok = wait("logger", t, deadline, udata);
    if (!ok) {
      snprintf(err, errlen,
               "Cannot activate %s logger plugin: Unknown registry plugin: %s",
               t, t);
      rc = -1;
      break;
    }
    chosen[n++] = strdup(t);
  }
  free(list);
  if (rc != 0) {
    for (size_t i = 0; i < n; i++)
      free(chosen[i]);
    return -1;
  }
  pthread_mutex_lock(&lock);
  clear_active();
  for (size_t i = 0; i < n; i++)
    active[nactive++] = chosen[i];
  pthread_mutex_unlock(&lock);
  osq_registry_set_active(OSQ_REGISTRY_LOGGER, names);
  for (size_t i = 0; i < n; i++) {
    const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_LOGGER, chosen[i]);
    if (p && p->u.logger->log) {
      const char *self = osq_identity_daemon_name(); /* osqueryd as such */
      p->u.logger->log(OSQ_LOG_INIT, self, strlen(self), p->u.logger->udata);
      /* An extension's features are learnt on its first non-init call;
       * an empty status batch makes that happen now, so the first status
       * lines already go where they are wanted. */
      if (p->owner != OSQ_CORE_UUID &&
          __atomic_load_n(&p->u.logger->features, __ATOMIC_ACQUIRE) == 0)
        p->u.logger->log(OSQ_LOG_STATUS, "[]", 2, p->u.logger->udata);
    }
    osq_plugin_release(p);
  }
  return 0;
}

/* Names are copied so the lock is not held across a plugin call. */
static size_t copy_active(char *out[MAX_LOGGERS]) {
  pthread_mutex_lock(&lock);
  size_t n = nactive;
  for (size_t i = 0; i < n; i++)
    out[i] = strdup(active[i]);
  pthread_mutex_unlock(&lock);
  return n;
}

size_t osq_loggers_active(char **out, size_t cap) {
  char *names[MAX_LOGGERS];
  size_t n = copy_active(names);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (names[i] && k < cap)
      out[k++] = names[i];
    else
      free(names[i]);
  }
  return k;
}

int osq_loggers_log_to(const char *name, osq_log_kind kind, const char *line,
                       size_t len) {
  const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_LOGGER, name);
  int rc = p == NULL ? OSQ_ENOTFOUND : OSQ_OK;
  if (p && p->u.logger->log)
    rc = p->u.logger->log(kind, line, len, p->u.logger->udata);
  osq_plugin_release(p);
  return rc;
}

int osq_loggers_log(osq_log_kind kind, const char *line, size_t len) {
  char *names[MAX_LOGGERS];
  size_t n = copy_active(names);
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    const osq_plugin *p =
        names[i] ? osq_registry_get(OSQ_REGISTRY_LOGGER, names[i]) : NULL;
    if (p == NULL) {
      OSQ_ERR("Logger plugin %s is gone", names[i] ? names[i] : "?");
      rc = -1;
    } else if (p->u.logger->log &&
               p->u.logger->log(kind, line, len, p->u.logger->udata) != 0) {
      OSQ_ERR("Logger plugin %s failed to write a result line", names[i]);
      rc = -1;
    }
    osq_plugin_release(p);
    free(names[i]);
  }
  return rc;
}

/* ---- status lines ------------------------------------------------------- */

typedef struct held_status {
  osq_severity severity;
  char *file;
  int line;
  char *message;
  int64_t unix_time;
  long usec;
} held_status;

static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;
static held_status *held;
static size_t nheld, capheld;
static size_t dropped;

static void status_sink(const osq_status_line *st, void *udata) {
  (void)udata;
  pthread_mutex_lock(&status_lock);
  if (nheld == STATUS_BUFFER_MAX) {
    free(held[0].file);
    free(held[0].message);
    memmove(held, held + 1, (nheld - 1) * sizeof *held);
    nheld--;
    dropped++;
  }
  if (nheld == capheld) {
    size_t cap = capheld ? capheld * 2 : 64;
    held_status *h = realloc(held, cap * sizeof *h);
    if (h == NULL) {
      pthread_mutex_unlock(&status_lock);
      return;
    }
    held = h;
    capheld = cap;
  }
  held_status *h = &held[nheld];
  h->severity = st->severity;
  h->file = strdup(st->file ? st->file : "");
  h->line = st->line;
  h->message = strdup(st->message ? st->message : "");
  h->unix_time = st->unix_time;
  h->usec = st->usec;
  if (h->file && h->message) {
    nheld++;
  } else {
    free(h->file);
    free(h->message);
  }
  pthread_mutex_unlock(&status_lock);
}

void osq_loggers_capture_status(void) { osq_log_set_sink(status_sink, NULL); }

void osq_loggers_flush_status(const char *host) {
  pthread_mutex_lock(&status_lock);
  held_status *h = held;
  size_t n = nheld;
  held = NULL;
  nheld = capheld = 0;
  pthread_mutex_unlock(&status_lock);
  if (n == 0) {
    free(h);
    return;
  }
  /* Extension loggers get osquery's record keys exactly; the built-in
   * loggers also get the microseconds ("us") for their glog-shaped
   * lines. */
  json_t *arr = json_array(), *core_arr = json_array();
  for (size_t i = 0; arr && core_arr && i < n; i++) {
    osq_status_line st = {h[i].severity, h[i].file,      h[i].line,
                          h[i].message,  h[i].unix_time, h[i].usec};
    json_t *rec = osq_log_status_record(&st, host);
    json_t *core_rec = rec ? json_copy(rec) : NULL;
    if (core_rec)
      json_object_set_new(core_rec, "us", json_integer(st.usec));
    json_array_append_new(arr, rec);
    json_array_append_new(core_arr, core_rec);
  }
  char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
  char *core_text = core_arr ? json_dumps(core_arr, JSON_COMPACT) : NULL;
  json_decref(arr);
  json_decref(core_arr);
  for (size_t i = 0; i < n; i++) {
    free(h[i].file);
    free(h[i].message);
  }
  free(h);
  if (text == NULL || core_text == NULL) {
    free(text);
    free(core_text);
    return;
  }
  char *names[MAX_LOGGERS];
  size_t na = copy_active(names);
  for (size_t i = 0; i < na; i++) {
    const osq_plugin *p =
        names[i] ? osq_registry_get(OSQ_REGISTRY_LOGGER, names[i]) : NULL;
    /* An extension logger's failure here must not log again (it would
     * feed the buffer it came from forever), so it is ignored. */
    const char *t = p && p->owner == OSQ_CORE_UUID ? core_text : text;
    if (p && p->u.logger->log &&
        /* atomic: an extension's features arrive after it is published
         * (src/ext/client/remote.c, query_features) */
        (__atomic_load_n(&p->u.logger->features, __ATOMIC_ACQUIRE) &
         OSQ_LOGGER_FEATURE_STATUS))
      p->u.logger->log(OSQ_LOG_STATUS, t, strlen(t), p->u.logger->udata);
    osq_plugin_release(p);
    free(names[i]);
  }
  free(text);
  free(core_text);
}

/* osquery's bound on the Kafka producer's flush at shutdown */
#define KAFKA_FLUSH_MS 3000

void osq_loggers_shutdown(void) {
  osq_kafka_shutdown(KAFKA_FLUSH_MS);
  osq_log_set_sink(NULL, NULL);
  pthread_mutex_lock(&status_lock);
  for (size_t i = 0; i < nheld; i++) {
    free(held[i].file);
    free(held[i].message);
  }
  free(held);
  held = NULL;
  nheld = capheld = 0;
  pthread_mutex_unlock(&status_lock);
  pthread_mutex_lock(&lock);
  clear_active();
  pthread_mutex_unlock(&lock);
}
