/* The TLS fleet client's local parts: gzip, --tls_hostname checks, reply
 * checks, and the tls logger's store buffer (--buffered_log_max,
 * --logger_tls_max_linesize, status records in osquery's form). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "core/flags.h"
#include "remote/http.h"
#include "remote/node.h"
#include "remote/plugins.h"

static void test_gzip(void **state) {
  (void)state;
  char in[10000];
  memset(in, 'a', sizeof in);
  char err[256] = "";
  size_t n = 0;
  unsigned char *gz = osq_gzip(in, sizeof in, &n, err, sizeof err);
  assert_non_null(gz);
  assert_true(n > 18 && n < 200);
  assert_int_equal(gz[0], 0x1f); /* gzip magic */
  assert_int_equal(gz[1], 0x8b);
  free(gz);
}

static void test_hostname_rules(void **state) {
  (void)state;
  char err[256];
  osq_http_opts o = {.hostname = "https://fleet.example"};
  assert_null(osq_http_new(&o, err, sizeof err));
  assert_non_null(strstr(err, "without a scheme"));
  o.hostname = "fleet.example/api";
  assert_null(osq_http_new(&o, err, sizeof err));
  o.hostname = "";
  assert_null(osq_http_new(&o, err, sizeof err));
  assert_non_null(strstr(err, "--tls_hostname is not set"));
  o.hostname = "127.0.0.1:8443";
  osq_http *h = osq_http_new(&o, err, sizeof err);
  assert_non_null(h);
  osq_http_reply r;
  assert_int_equal(osq_http_post(h, "no-slash", "{}", 2, false, &r, err,
                                 sizeof err),
                   -1);
  assert_non_null(strstr(err, "must start with /"));
  osq_http_free(h);
}

static void test_check_reply(void **state) {
  (void)state;
  char err[256];
  json_t *j = NULL;
  osq_http_reply r = {500, "{}", 2};
  assert_int_equal(osq_node_check_reply(&r, "/cfg", &j, err, sizeof err), -1);
  assert_non_null(strstr(err, "/cfg answered HTTP 500"));
  r = (osq_http_reply){200, "not json", 8};
  assert_int_equal(osq_node_check_reply(&r, "/cfg", &j, err, sizeof err), -1);
  assert_non_null(strstr(err, "no valid JSON"));
  r = (osq_http_reply){200, "[1]", 3};
  assert_int_equal(osq_node_check_reply(&r, "/cfg", &j, err, sizeof err), -1);
  assert_non_null(strstr(err, "not an object"));
  r = (osq_http_reply){200, "{\"a\":1,\"a\":2}", 13};
  assert_int_equal(osq_node_check_reply(&r, "/cfg", &j, err, sizeof err), -1);
  r = (osq_http_reply){200, "{\"node_invalid\":false}", 22};
  assert_int_equal(osq_node_check_reply(&r, "/cfg", &j, err, sizeof err), 0);
  assert_true(json_is_object(j));
  json_decref(j);
}

static int count(const char *type) {
  sqlite3 *db = osq_node_lock();
  sqlite3_stmt *st = NULL;
  int n = -1;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM remote_logs WHERE type=?",
                     -1, &st, NULL);
  sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  osq_node_unlock();
  return n;
}

static char *first_line(const char *type) {
  sqlite3 *db = osq_node_lock();
  sqlite3_stmt *st = NULL;
  char *out = NULL;
  sqlite3_prepare_v2(db,
                     "SELECT line FROM remote_logs WHERE type=? ORDER BY id",
                     -1, &st, NULL);
  sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW)
    out = strdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  osq_node_unlock();
  return out;
}

static void test_logger_buffer(void **state) {
  (void)state;
  char err[256];
  osq_tls_env env = {.host_identifier = "h1"};
  assert_int_equal(osq_node_open(&env, err, sizeof err), 0);
  assert_int_equal(OSQ_FLAG_SET(buffered_log_max, "3", err, sizeof err), 0);
  assert_int_equal(OSQ_FLAG_SET(logger_tls_max_linesize, "20", err,
                                sizeof err),
                   0);
  /* the forwarder only ever sends; with no --tls_hostname it stops at
   * once, and a long period keeps it from trying anyway */
  assert_int_equal(OSQ_FLAG_SET(logger_tls_period, "3600", err, sizeof err),
                   0);
  const osq_logger_plugin *p = &osq_remote_tls_logger;
  for (int i = 0; i < 5; i++) {
    char line[32];
    int n = snprintf(line, sizeof line, "{\"n\":%d}", i);
    assert_int_equal(p->log(OSQ_LOG_RESULT, line, (size_t)n, NULL), OSQ_OK);
  }
  assert_int_equal(count("result"), 3); /* the oldest two dropped */
  char *l = first_line("result");
  assert_string_equal(l, "{\"n\":2}");
  free(l);
  const char *big = "{\"this line\":\"is longer than twenty\"}";
  assert_int_equal(p->log(OSQ_LOG_RESULT, big, strlen(big), NULL),
                   OSQ_ERANGE);
  assert_int_equal(OSQ_FLAG_SET(logger_tls_max_linesize, "100000", err,
                                sizeof err),
                   0);
  const char *st = "[{\"s\":1,\"f\":\"a.c\",\"i\":7,\"m\":\"hi\",\"h\":\"h1\","
                   "\"c\":\"Mon\",\"u\":5}]";
  assert_int_equal(p->log(OSQ_LOG_STATUS, st, strlen(st), NULL), OSQ_OK);
  l = first_line("status");
  assert_non_null(l);
  json_t *j = json_loads(l, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "severity")),
                      "1");
  assert_string_equal(json_string_value(json_object_get(j, "filename")),
                      "a.c");
  assert_string_equal(json_string_value(json_object_get(j, "line")), "7");
  assert_string_equal(json_string_value(json_object_get(j, "message")),
                      "hi");
  assert_string_equal(
      json_string_value(json_object_get(j, "hostIdentifier")), "h1");
  assert_string_equal(json_string_value(json_object_get(j, "unixTime")),
                      "5");
  json_decref(j);
  free(l);
  assert_int_equal(OSQ_FLAG_SET(tls_disable_status_log, "true", err,
                                sizeof err),
                   0);
  assert_int_equal(p->log(OSQ_LOG_STATUS, st, strlen(st), NULL), OSQ_OK);
  assert_int_equal(count("status"), 1);
  osq_remote_tls_logger_stop();
  osq_node_close();
}

static void test_enroll_wait(void **state) {
  (void)state;
  /* osquery's round: 1, 4, 9, ... s, capped; over after max attempts */
  assert_int_equal(osq_node_enroll_wait(1, 12, 600), 1);
  assert_int_equal(osq_node_enroll_wait(2, 12, 600), 4);
  assert_int_equal(osq_node_enroll_wait(3, 12, 600), 9);
  assert_int_equal(osq_node_enroll_wait(11, 12, 600), 121);
  assert_int_equal(osq_node_enroll_wait(12, 12, 600), -1);
  assert_int_equal(osq_node_enroll_wait(30, 0, 600), 600);
  assert_int_equal(osq_node_enroll_wait(3, 0, 5), 5);
  assert_int_equal(osq_node_enroll_wait(1, 1, 600), -1);
  assert_int_equal(osq_node_enroll_wait(UINT64_MAX / 2, 0, 600), 600);
}

static void test_target(void **state) {
  (void)state;
  char err[256];
  char path[64];
  snprintf(path, sizeof path, "/tmp/osq-test-secret-%d", (int)getpid());
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("s e&cret\n", f);
  fclose(f);
  assert_int_equal(OSQ_FLAG_SET(enroll_secret_path, path, err, sizeof err),
                   0);
  char *t = osq_node_target("/config", "k1", err, sizeof err);
  assert_string_equal(t, "/config");
  free(t);
  assert_int_equal(OSQ_FLAG_SET(tls_secret_always, "true", err, sizeof err),
                   0);
  t = osq_node_target("/enroll", NULL, err, sizeof err);
  assert_string_equal(t, "/enroll?enroll_secret=s%20e%26cret");
  free(t);
  t = osq_node_target("/c?x=1", "k1", err, sizeof err);
  assert_string_equal(t, "/c?x=1&enroll_secret=s%20e%26cret");
  free(t);
  assert_int_equal(OSQ_FLAG_SET(tls_node_api, "true", err, sizeof err), 0);
  assert_int_equal(OSQ_FLAG_SET(tls_enroll_override, "token", err,
                                sizeof err),
                   0);
  t = osq_node_target("/config", "k/1", err, sizeof err);
  assert_string_equal(t, "/k%2F1/config?token=s%20e%26cret&node_key=k%2F1");
  free(t);
  t = osq_node_target("/enroll", NULL, err, sizeof err);
  assert_string_equal(t, "/enroll?token=s%20e%26cret");
  free(t);
  assert_int_equal(OSQ_FLAG_SET(tls_secret_always, "false", err, sizeof err),
                   0);
  /* osquery's own form: '&' even with no query before it */
  t = osq_node_target("/config", "k1", err, sizeof err);
  assert_string_equal(t, "/k1/config&node_key=k1");
  free(t);
  unlink(path);
  assert_int_equal(OSQ_FLAG_SET(tls_secret_always, "true", err, sizeof err),
                   0);
  assert_null(osq_node_target("/config", "k1", err, sizeof err));
  assert_non_null(strstr(err, "--enroll_secret_path"));
  OSQ_FLAG_SET(tls_secret_always, "false", err, sizeof err);
  OSQ_FLAG_SET(tls_node_api, "false", err, sizeof err);
  OSQ_FLAG_SET(tls_enroll_override, "enroll_secret", err, sizeof err);
  OSQ_FLAG_SET(enroll_secret_path, "", err, sizeof err);
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gzip),
      cmocka_unit_test(test_hostname_rules),
      cmocka_unit_test(test_check_reply),
      cmocka_unit_test(test_logger_buffer),
      cmocka_unit_test(test_enroll_wait),
      cmocka_unit_test(test_target),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
