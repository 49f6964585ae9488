/* The kafka_producer logger against librdkafka's mock cluster: topic
 * routing by query name, message keys, refusal when it cannot take a
 * line, delivery across a broker outage, bounded flush at shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/identity.h"
#include "logger/kafka.h"
#include "logger/logger.h"
#include "mock_cluster.h"
#include "registry/registry.h"

#define READ_MS 60000 /* a loaded machine meets it; a pass returns early */

static const char *const topics[] = {"base", "t_a", "t_b", NULL};

static void set(const char *flag, const char *value) {
  char err[256];
  assert_int_equal(osq_flag_set(flag, value, err, sizeof err), 0);
}

static void set_topics(const char *json) {
  json_error_t je;
  json_t *t = json ? json_loads(json, 0, &je) : NULL;
  osq_kafka_set_topics(t);
  json_decref(t);
}

static int put(osq_log_kind kind, const char *line) {
  return osq_logger_kafka.log(kind, line, strlen(line), NULL);
}

static void init(const char *binary) {
  assert_int_equal(put(OSQ_LOG_INIT, binary), OSQ_OK);
}

static char *expected_key(const char *binary) {
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  char *k = malloc(600);
  snprintf(k, 600, "%s_%s", host, binary);
  return k;
}

/* The topic holds exactly these values, in order, each with key. */
static void expect_topic(const char *bootstrap, const char *topic,
                         const char *key, const char *const *values,
                         int n) {
  kmsg got[16];
  int k = kmock_read(bootstrap, topic, got, 16, n, READ_MS);
  assert_int_equal(k, n);
  for (int i = 0; i < n; i++) {
    assert_string_equal(got[i].value, values[i]);
    assert_string_equal(got[i].key, key);
  }
  /* no more than those: one more is asked for, briefly (the expected
   * ones are all there already) */
  kmsg extra[16];
  int more = kmock_read(bootstrap, topic, extra, 16, n + 1, 1500);
  kmock_free(extra, more < 0 ? 0 : more);
  assert_int_equal(more, n);
  kmock_free(got, k);
}

static void test_registered(void **state) {
  (void)state;
  assert_int_equal(osq_loggers_register_builtin(), 0);
  assert_true(osq_registry_exists(OSQ_REGISTRY_LOGGER, "kafka_producer"));
}

static void test_routing_and_keys(void **state) {
  (void)state;
  kmock m;
  assert_true(kmock_start(&m, topics));
  set("logger_kafka_brokers", m.bootstrap);
  set("logger_kafka_topic", "base");
  set_topics("{\"t_a\": [\"qa\", \"qc\", 7, \"\"],"
             " \"bad topic!\": [\"qb\"],"
             " \"t_b\": \"qd\"}");
  /* through the dispatcher: init carries the daemon's name */
  char err[256];
  assert_int_equal(osq_loggers_register_builtin(), 0);
  assert_int_equal(
      osq_loggers_setup("kafka_producer", NULL, NULL, err, sizeof err), 0);
  const char *a1 = "{\"name\":\"qa\",\"action\":\"added\",\"columns\":{}}";
  const char *b1 = "{\"name\":\"qb\",\"action\":\"added\"}";
  const char *a2 = "{\"name\":\"qc\",\"snapshot\":[]}";
  const char *b2 = "not json at all";
  const char *b3 = "{\"name\":\"qd\"}";
  assert_int_equal(osq_loggers_log_to("kafka_producer", OSQ_LOG_RESULT, a1,
                                      strlen(a1)), OSQ_OK);
  assert_int_equal(put(OSQ_LOG_RESULT, b1), OSQ_OK);
  assert_int_equal(put(OSQ_LOG_SNAPSHOT, a2), OSQ_OK);
  assert_int_equal(put(OSQ_LOG_RESULT, b2), OSQ_OK);
  assert_int_equal(put(OSQ_LOG_RESULT, b3), OSQ_OK);
  /* status lines are not sent, as osquery's plugin */
  assert_int_equal(put(OSQ_LOG_STATUS, "[{\"s\":0,\"m\":\"hi\"}]"), OSQ_OK);

  char *key = expected_key(osq_identity_daemon_name());
  const char *on_a[] = {a1, a2};
  const char *on_base[] = {b1, b2, b3};
  expect_topic(m.bootstrap, "t_a", key, on_a, 2);
  expect_topic(m.bootstrap, "base", key, on_base, 3);
  expect_topic(m.bootstrap, "t_b", key, NULL, 0);
  free(key);
  osq_loggers_shutdown();
  kmock_stop(&m);
}

static void test_no_topic_at_all_refuses(void **state) {
  (void)state;
  set("logger_kafka_brokers", "127.0.0.1:1");
  set("logger_kafka_topic", "");
  set_topics(NULL);
  init("osqueryd");
  assert_int_not_equal(put(OSQ_LOG_RESULT, "{\"name\":\"q\"}"), OSQ_OK);
  assert_int_equal(osq_kafka_shutdown(100), 0);
}

static void test_bad_setting_refuses(void **state) {
  (void)state;
  set("logger_kafka_brokers", "127.0.0.1:1");
  set("logger_kafka_topic", "base");
  set("logger_kafka_compression", "rot13");
  init("osqueryd");
  assert_int_not_equal(put(OSQ_LOG_RESULT, "{\"name\":\"q\"}"), OSQ_OK);
  osq_kafka_shutdown(100);
  set("logger_kafka_compression", "none");
  set("logger_kafka_acks", "many");
  init("osqueryd");
  assert_int_not_equal(put(OSQ_LOG_RESULT, "{\"name\":\"q\"}"), OSQ_OK);
  osq_kafka_shutdown(100);
  set("logger_kafka_acks", "all");
}

static void test_only_query_topics(void **state) {
  (void)state;
  kmock m;
  assert_true(kmock_start(&m, topics));
  set("logger_kafka_brokers", m.bootstrap);
  set("logger_kafka_topic", "");
  set("logger_kafka_compression", "gzip");
  set_topics("{\"t_b\": [\"listed\"]}");
  init("osqi");
  const char *l = "{\"name\":\"listed\"}";
  /* a line no topic takes is reported and dropped: offering it again
   * could never help */
  assert_int_equal(put(OSQ_LOG_RESULT, "{\"name\":\"other\"}"), OSQ_OK);
  assert_int_equal(put(OSQ_LOG_RESULT, l), OSQ_OK);
  char *key = expected_key("osqi");
  const char *on_b[] = {l};
  expect_topic(m.bootstrap, "t_b", key, on_b, 1);
  free(key);
  assert_int_equal(osq_kafka_shutdown(30000), 0);
  set("logger_kafka_compression", "none");
  kmock_stop(&m);
}

static void test_broker_outage_loses_nothing(void **state) {
  (void)state;
  kmock m;
  assert_true(kmock_start(&m, topics));
  set("logger_kafka_brokers", m.bootstrap);
  set("logger_kafka_topic", "base");
  set_topics(NULL);
  init("osqueryd");
  /* a line librdkafka can never take (over message.max.bytes) is
   * dropped, not refused: refusing would hold back every later line */
  size_t big_len = 2u << 20;
  char *big = malloc(big_len + 1);
  memset(big, 'x', big_len);
  big[big_len] = '\0';
  assert_int_equal(put(OSQ_LOG_RESULT, big), OSQ_OK);
  free(big);
  const char *first = "{\"name\":\"q\",\"n\":0}";
  assert_int_equal(put(OSQ_LOG_RESULT, first), OSQ_OK);
  char *key = expected_key("osqueryd");
  const char *one[] = {first};
  expect_topic(m.bootstrap, "base", key, one, 1);

  rd_kafka_mock_broker_set_down(m.cluster, -1);
  char lines[5][64];
  const char *all[6] = {first};
  for (int i = 0; i < 5; i++) {
    snprintf(lines[i], sizeof lines[i], "{\"name\":\"q\",\"n\":%d}", i + 1);
    assert_int_equal(put(OSQ_LOG_RESULT, lines[i]), OSQ_OK);
    all[i + 1] = lines[i];
  }
  rd_kafka_mock_broker_set_up(m.cluster, -1);
  expect_topic(m.bootstrap, "base", key, all, 6);
  free(key);
  assert_int_equal(osq_kafka_shutdown(30000), 0);
  kmock_stop(&m);
}

static void test_shutdown_flush_is_bounded(void **state) {
  (void)state;
  kmock m;
  assert_true(kmock_start(&m, topics));
  set("logger_kafka_brokers", m.bootstrap);
  set("logger_kafka_topic", "base");
  init("osqueryd");
  rd_kafka_mock_broker_set_down(m.cluster, -1);
  assert_int_equal(put(OSQ_LOG_RESULT, "{\"name\":\"q\"}"), OSQ_OK);
  long long t0 = kmock_now_ms();
  assert_int_equal(osq_kafka_shutdown(300), 1);
  /* the wait is bounded: far below librdkafka's own retry time */
  assert_true(kmock_now_ms() - t0 < 20000);
  kmock_stop(&m);
}

/* a failed test leaves no producer behind for the next */
static int reset(void **state) {
  (void)state;
  osq_kafka_shutdown(0);
  set("logger_kafka_compression", "none");
  set("logger_kafka_acks", "all");
  return 0;
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_registered, reset),
      cmocka_unit_test_teardown(test_routing_and_keys, reset),
      cmocka_unit_test_teardown(test_no_topic_at_all_refuses, reset),
      cmocka_unit_test_teardown(test_bad_setting_refuses, reset),
      cmocka_unit_test_teardown(test_only_query_topics, reset),
      cmocka_unit_test_teardown(test_broker_outage_loses_nothing, reset),
      cmocka_unit_test_teardown(test_shutdown_flush_is_bounded, reset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
