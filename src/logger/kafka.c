/* The kafka_producer logger. What it does follows osquery's plugin:
 * - one producer, client.id = the host name, bootstrap.servers =
 *   --logger_kafka_brokers, compression.codec = --logger_kafka_compression,
 *   each topic with acks = --logger_kafka_acks;
 * - every message is keyed "<hostname>_<binary name>" (the name init
 *   gives, osqueryd);
 * - a result or snapshot line goes to the topic whose query-name list in
 *   the config's kafka_topics holds the line's "name", else to the base
 *   topic --logger_kafka_topic; with neither, it is reported and dropped;
 * - status lines are not sent (osquery's plugin does not take them);
 * - broker addresses with "ssl://" switch to TLS with the --tls_* files;
 * - with neither a base topic nor a usable kafka_topics entry, init fails
 *   and every line is refused.
 *
 * Delivery: a line is taken once librdkafka has queued it; librdkafka
 * retries until message.timeout.ms. A line it cannot queue for now
 * (queue full, not initialised) is refused, so osqd keeps it in the results store and
 * offers it again. Shutdown flushes with a bounded wait. */
#include "logger/kafka.h"

#include "core/flags.h"
#include "core/log.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define RDKAFKA_SONAME "librdkafka.so.1"
/* Kafka's own limit on a topic name's length */
#define TOPIC_NAME_MAX 249
#define MAX_TOPICS 1024
#define MAX_QUERY_NAMES 65536
#define POLL_INTERVAL_MS 1000

/* ---- librdkafka, loaded on first use ------------------------------------ */

static struct {
  bool ok;
  rd_kafka_conf_t *(*conf_new)(void);
  rd_kafka_conf_res_t (*conf_set)(rd_kafka_conf_t *, const char *,
                                  const char *, char *, size_t);
  void (*conf_destroy)(rd_kafka_conf_t *);
  void (*conf_set_log_cb)(rd_kafka_conf_t *,
                          void (*)(const rd_kafka_t *, int, const char *,
                                   const char *));
  void (*conf_set_dr_msg_cb)(rd_kafka_conf_t *,
                             void (*)(rd_kafka_t *, const rd_kafka_message_t *,
                                      void *));
  rd_kafka_t *(*new_)(rd_kafka_type_t, rd_kafka_conf_t *, char *, size_t);
  void (*destroy)(rd_kafka_t *);
  rd_kafka_topic_conf_t *(*topic_conf_new)(void);
  rd_kafka_conf_res_t (*topic_conf_set)(rd_kafka_topic_conf_t *, const char *,
                                        const char *, char *, size_t);
  void (*topic_conf_destroy)(rd_kafka_topic_conf_t *);
  rd_kafka_topic_t *(*topic_new)(rd_kafka_t *, const char *,
                                 rd_kafka_topic_conf_t *);
  void (*topic_destroy)(rd_kafka_topic_t *);
  const char *(*topic_name)(const rd_kafka_topic_t *);
  int (*produce)(rd_kafka_topic_t *, int32_t, int, void *, size_t,
                 const void *, size_t, void *);
  rd_kafka_resp_err_t (*last_error)(void);
  const char *(*err2str)(rd_kafka_resp_err_t);
  int (*poll)(rd_kafka_t *, int);
  rd_kafka_resp_err_t (*flush)(rd_kafka_t *, int);
  int (*outq_len)(rd_kafka_t *);
} rk;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/* ISO C has no conversion from void * to a function pointer. */
#define RK_SYM(h, field, name)                                                \
  do {                                                                        \
    void *sym_ = dlsym(h, name);                                              \
    if (sym_ == NULL)                                                         \
      missing = name;                                                         \
    else                                                                      \
      memcpy(&rk.field, &sym_, sizeof rk.field);                              \
  } while (0)

static void load(void) {
  void *h = dlopen(RDKAFKA_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *e = dlerror();
    OSQ_ERR("Cannot load %s for the kafka_producer logger: %s",
            RDKAFKA_SONAME, e ? e : "unknown error");
    return;
  }
  const char *missing = NULL;
  RK_SYM(h, conf_new, "rd_kafka_conf_new");
  RK_SYM(h, conf_set, "rd_kafka_conf_set");
  RK_SYM(h, conf_destroy, "rd_kafka_conf_destroy");
  RK_SYM(h, conf_set_log_cb, "rd_kafka_conf_set_log_cb");
  RK_SYM(h, conf_set_dr_msg_cb, "rd_kafka_conf_set_dr_msg_cb");
  RK_SYM(h, new_, "rd_kafka_new");
  RK_SYM(h, destroy, "rd_kafka_destroy");
  RK_SYM(h, topic_conf_new, "rd_kafka_topic_conf_new");
  RK_SYM(h, topic_conf_set, "rd_kafka_topic_conf_set");
  RK_SYM(h, topic_conf_destroy, "rd_kafka_topic_conf_destroy");
  RK_SYM(h, topic_new, "rd_kafka_topic_new");
  RK_SYM(h, topic_destroy, "rd_kafka_topic_destroy");
  RK_SYM(h, topic_name, "rd_kafka_topic_name");
  RK_SYM(h, produce, "rd_kafka_produce");
  RK_SYM(h, last_error, "rd_kafka_last_error");
  RK_SYM(h, err2str, "rd_kafka_err2str");
  RK_SYM(h, poll, "rd_kafka_poll");
  RK_SYM(h, flush, "rd_kafka_flush");
  RK_SYM(h, outq_len, "rd_kafka_outq_len");
  if (missing) {
    OSQ_ERR("Cannot use %s for the kafka_producer logger: it has no %s",
            RDKAFKA_SONAME, missing);
    return; /* the handle stays open: harmless, and dlclose may not be */
  }
  rk.ok = true;
}

/* ---- the producer --------------------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *config_topics; /* as set by osq_kafka_set_topics */

static struct {
  bool running;
  bool init_tried;
  bool produce_failing; /* a run of refused lines is reported once */
  rd_kafka_t *producer;
  rd_kafka_topic_t *topics[MAX_TOPICS + 1];
  size_t ntopics;
  rd_kafka_topic_t *base; /* NULL: no --logger_kafka_topic */
  json_t *by_query;       /* query name -> index into topics */
  char key[512];
  pthread_t poller;
  bool poller_started;
  bool stop;
  pthread_cond_t wake;
} kp = {.wake = PTHREAD_COND_INITIALIZER};

void osq_kafka_set_topics(const json_t *topics) {
  json_t *copy = json_is_object(topics) ? json_deep_copy(topics) : NULL;
  pthread_mutex_lock(&lock);
  json_decref(config_topics);
  config_topics = copy;
  pthread_mutex_unlock(&lock);
}

/* A failed delivery (after librdkafka's retries) is reported, as osquery
 * does; the line is not offered again. */
static void on_delivery(rd_kafka_t *h, const rd_kafka_message_t *m,
                        void *opaque) {
  (void)h;
  (void)opaque;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
    OSQ_ERR("Kafka message delivery failed: %s", rk.err2str(m->err));
}

/* librdkafka's own messages (syslog levels) join osqd's log instead of
 * going to stderr: its errors as warnings (it retries, and says when a
 * retry is over), the rest only with --verbose. */
static void on_log(const rd_kafka_t *h, int level, const char *fac,
                   const char *msg) {
  (void)h;
  if (level <= 3)
    OSQ_WARN("Kafka: %s: %s", fac, msg);
  else
    OSQ_VLOG("Kafka: %s: %s", fac, msg);
}

static bool set_conf(rd_kafka_conf_t *conf, const char *key,
                     const char *value) {
  char e[512] = "";
  if (value == NULL || *value == '\0')
    return true;
  if (rk.conf_set(conf, key, value, e, sizeof e) != RD_KAFKA_CONF_OK) {
    OSQ_ERR("Could not set Kafka configuration key '%s': %s", key, e);
    return false;
  }
  return true;
}

/* The base topic always has room: kafka_topics stops at MAX_TOPICS. */
static rd_kafka_topic_t *new_topic(const char *name) {
  char e[512] = "";
  rd_kafka_topic_conf_t *tc = rk.topic_conf_new();
  if (rk.topic_conf_set(tc, "acks", OSQ_FLAG_STR(logger_kafka_acks), e,
                        sizeof e) != RD_KAFKA_CONF_OK) {
    OSQ_ERR("Could not initiate Kafka request.required.acks configuration: "
            "%s",
            e);
    rk.topic_conf_destroy(tc);
    return NULL;
  }
  rd_kafka_topic_t *t = rk.topic_new(kp.producer, name, tc);
  if (t == NULL) {
    OSQ_ERR("Could not create Kafka topic %s: %s", name,
            rk.err2str(rk.last_error()));
    return NULL;
  }
  kp.topics[kp.ntopics++] = t;
  return t;
}

static bool topic_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > TOPIC_NAME_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  }
  return true;
}

/* kafka_topics: {"topic": ["query name", ...], ...}. A bad entry is
 * reported and skipped. */
static void configure_query_topics(const json_t *topics) {
  const char *tname;
  json_t *names;
  json_object_foreach((json_t *)topics, tname, names) {
    if (!topic_name_ok(tname)) {
      OSQ_ERR("Kafka logger: kafka_topics has an invalid topic name '%.64s' "
              "(1 to %d of [a-zA-Z0-9._-])",
              tname, TOPIC_NAME_MAX);
      continue;
    }
    if (!json_is_array(names)) {
      OSQ_WARN("Query names for a topic must be in JSON array format");
      continue;
    }
    if (kp.ntopics >= MAX_TOPICS) {
      OSQ_ERR("Kafka logger: kafka_topics has more than %d topics; %.64s "
              "and later ones are not used",
              MAX_TOPICS, tname);
      return;
    }
    rd_kafka_topic_t *t = new_topic(tname);
    if (t == NULL)
      continue;
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
      const char *q = json_string_value(n);
      if (q == NULL || *q == '\0') {
        OSQ_WARN("Query names for a topic must be in JSON array format");
        continue;
      }
      if (json_object_size(kp.by_query) >= MAX_QUERY_NAMES) {
        OSQ_ERR("Kafka logger: more than %d query names in kafka_topics",
                MAX_QUERY_NAMES);
        return;
      }
      json_object_set_new(kp.by_query, q, json_integer((json_int_t)kp.ntopics - 1));
    }
  }
}

static void *poller_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  while (!kp.stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += POLL_INTERVAL_MS / 1000;
    pthread_cond_timedwait(&kp.wake, &lock, &ts);
    if (!kp.stop && kp.producer)
      rk.poll(kp.producer, 0); /* serves delivery reports */
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void close_producer(void) {
  for (size_t i = 0; i < kp.ntopics; i++)
    rk.topic_destroy(kp.topics[i]);
  kp.ntopics = 0;
  kp.base = NULL;
  if (kp.producer)
    rk.destroy(kp.producer);
  kp.producer = NULL;
  json_decref(kp.by_query);
  kp.by_query = NULL;
  kp.running = false;
}

/* Called with lock held. */
static void init_producer(const char *binary) {
  kp.init_tried = true;
  pthread_once(&load_once, load);
  if (!rk.ok)
    return;
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0)
    snprintf(host, sizeof host, "localhost");
  snprintf(kp.key, sizeof kp.key, "%s_%s", host, binary);

  rd_kafka_conf_t *conf = rk.conf_new();
  const char *brokers = OSQ_FLAG_STR(logger_kafka_brokers);
  bool ok = true;
  if (OSQ_FLAG_BOOL(verbose))
    ok = set_conf(conf, "debug", "all");
  if (ok && strcasestr(brokers, "ssl://") != NULL)
    ok = set_conf(conf, "security.protocol", "ssl") &&
         set_conf(conf, "ssl.ca.location", OSQ_FLAG_STR(tls_server_certs)) &&
         set_conf(conf, "ssl.key.location", OSQ_FLAG_STR(tls_client_key)) &&
         set_conf(conf, "ssl.certificate.location",
                  OSQ_FLAG_STR(tls_client_cert));
  ok = ok && set_conf(conf, "client.id", host) &&
       set_conf(conf, "bootstrap.servers", brokers) &&
       set_conf(conf, "compression.codec",
                OSQ_FLAG_STR(logger_kafka_compression));
  if (!ok) {
    rk.conf_destroy(conf);
    return;
  }
  rk.conf_set_dr_msg_cb(conf, on_delivery);
  rk.conf_set_log_cb(conf, on_log);
  char e[512] = "";
  kp.producer = rk.new_(RD_KAFKA_PRODUCER, conf, e, sizeof e);
  if (kp.producer == NULL) {
    OSQ_ERR("Could not initiate Kafka producer handle: %s", e);
    rk.conf_destroy(conf); /* rd_kafka_new frees it only on success */
    return;
  }
  kp.by_query = json_object();
  if (config_topics)
    configure_query_topics(config_topics);
  const char *base = OSQ_FLAG_STR(logger_kafka_topic);
  if (*base != '\0')
    kp.base = new_topic(base);
  /* osquery would go on with a base topic it could not create and fail
   * every line that needs it; refusing them all from the start is what
   * that amounts to, said once */
  if (kp.ntopics == 0 || (*base != '\0' && kp.base == NULL)) {
    OSQ_ERR("Could not initial Kafka logger because configuration is "
            "invalid");
    close_producer();
    return;
  }
  kp.running = true;
  kp.stop = false;
  kp.poller_started = pthread_create(&kp.poller, NULL, poller_main, NULL) == 0;
}

/* The line's "name" member: which topic it goes to. */
static rd_kafka_topic_t *topic_for(const char *line, size_t len,
                                   char *name, size_t cap) {
  name[0] = '\0';
  json_error_t je;
  json_t *doc = json_loadb(line, len, 0, &je);
  const char *n = json_string_value(json_object_get(doc, "name"));
  if (n)
    snprintf(name, cap, "%s", n);
  json_t *ix = n ? json_object_get(kp.by_query, n) : NULL;
  json_decref(doc);
  if (ix)
    return kp.topics[json_integer_value(ix)];
  return kp.base;
}

static int produce_line(const char *line, size_t len) {
  if (!kp.running) {
    OSQ_VLOG("Cannot log because Kafka producer did not initiate properly.");
    return OSQ_EIO;
  }
  char name[256];
  rd_kafka_topic_t *t = topic_for(line, len, name, sizeof name);
  if (t == NULL) {
    /* taken and dropped: offering it again cannot help, and would hold
     * back every later line */
    OSQ_ERR("Could not publish message: Topic not configured for message "
            "name '%s'",
            name);
    return OSQ_OK;
  }
  int rc = OSQ_OK;
  if (rk.produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)line,
                 len, kp.key, strlen(kp.key), NULL) == -1) {
    rd_kafka_resp_err_t e = rk.last_error();
    /* Only a full queue passes: that line is refused and offered again.
     * Any other refusal (a line over message.max.bytes, a topic the
     * cluster does not have) would refuse it for ever and hold back
     * every later line: it is reported and dropped, as osquery does. */
    bool transient = e == RD_KAFKA_RESP_ERR__QUEUE_FULL;
    if (!transient || !kp.produce_failing)
      OSQ_ERR("Could not publish message: Failed to produce on Kafka topic "
              "%s : %s",
              rk.topic_name(t), rk.err2str(e));
    kp.produce_failing = transient;
    rc = transient ? OSQ_EIO : OSQ_OK;
  } else {
    kp.produce_failing = false;
  }
  rk.poll(kp.producer, 0);
  return rc;
}

static int kafka_log(osq_log_kind kind, const char *text, size_t len,
                     void *udata) {
  (void)udata;
  int rc = OSQ_OK;
  pthread_mutex_lock(&lock);
  switch (kind) {
  case OSQ_LOG_INIT:
    if (!kp.init_tried) {
      char binary[128];
      snprintf(binary, sizeof binary, "%.*s", (int)(len < 127 ? len : 127),
               text);
      init_producer(binary);
    }
    break;
  case OSQ_LOG_RESULT:
  case OSQ_LOG_SNAPSHOT:
    rc = produce_line(text, len);
    break;
  default: /* status and events: not taken, as osquery's plugin */
    break;
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

size_t osq_kafka_shutdown(int timeout_ms) {
  pthread_mutex_lock(&lock);
  kp.stop = true;
  pthread_cond_broadcast(&kp.wake);
  bool join = kp.poller_started;
  kp.poller_started = false;
  pthread_mutex_unlock(&lock);
  if (join)
    pthread_join(kp.poller, NULL);
  pthread_mutex_lock(&lock);
  size_t left = 0;
  if (kp.producer) {
    rk.flush(kp.producer, timeout_ms);
    int q = rk.outq_len(kp.producer);
    left = q > 0 ? (size_t)q : 0;
    if (left > 0)
      OSQ_ERR("Kafka logger: %zu messages were not delivered before "
              "shutdown",
              left);
  }
  close_producer();
  kp.init_tried = false;
  kp.produce_failing = false;
  json_decref(config_topics);
  config_topics = NULL;
  pthread_mutex_unlock(&lock);
  return left;
}

const osq_logger_plugin osq_logger_kafka = {
    .name = "kafka_producer",
    .features = 0,
    .log = kafka_log,
};
