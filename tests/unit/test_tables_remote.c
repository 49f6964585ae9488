/* The helpers behind the container and cloud tables: time parsing, URL
 * encoding, JSON readers, and the loopback check that keeps test
 * endpoints on this machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tables/cloud/metadata.h"
#include "tables/containers/api.h"
#include "tables/http.h"

static void test_rfc3339(void **state) {
  (void)state;
  int64_t ns;
  assert_int_equal(osq_rfc3339("2023-11-14T22:13:20Z", &ns), 1700000000);
  assert_int_equal(ns, 0);
  assert_int_equal(osq_rfc3339("2023-11-14T22:13:20.5Z", &ns), 1700000000);
  assert_int_equal(ns, 500000000);
  /* more than nine digits: the rest are ignored */
  assert_int_equal(osq_rfc3339("2023-11-14T22:13:20.1234567891Z", &ns),
                   1700000000);
  assert_int_equal(ns, 123456789);
  assert_int_equal(osq_rfc3339("2023-11-14T23:13:20+01:00", NULL),
                   1700000000);
  assert_int_equal(osq_rfc3339("2023-11-14T21:13:20-01:00", NULL),
                   1700000000);
  assert_int_equal(osq_rfc3339("", &ns), 0);
  assert_int_equal(osq_rfc3339("yesterday", &ns), 0);
}

static void test_escape(void **state) {
  (void)state;
  char out[64];
  assert_true(osq_http_escape("{\"id\":{\"ab\":true}}", out, sizeof out));
  assert_string_equal(out, "%7B%22id%22%3A%7B%22ab%22%3Atrue%7D%7D");
  assert_true(osq_http_escape("a/../b c", out, sizeof out));
  assert_string_equal(out, "a%2F..%2Fb%20c");
  /* does not fit: refused, not truncated */
  assert_false(osq_http_escape("////", out, 12));
  assert_true(osq_http_escape("", out, 1));
  assert_string_equal(out, "");
}

static void test_json_readers(void **state) {
  (void)state;
  json_t *doc = json_loads("{\"State\":{\"Pid\":42,\"Running\":true,"
                           "\"Size\":1.5e3,\"Name\":\"x\"},"
                           "\"Env\":[\"A=1\",7,\"B=2\"]}",
                           0, NULL);
  assert_non_null(doc);
  assert_int_equal(osq_jint(doc, "State.Pid"), 42);
  assert_int_equal(osq_jint(doc, "State.Running"), 1);
  assert_int_equal(osq_jint(doc, "State.Size"), 1500);
  assert_int_equal(osq_jint(doc, "State.Missing"), 0);
  assert_int_equal(osq_jint(doc, "State.Name"), 0);
  assert_string_equal(osq_jstr(doc, "State.Name"), "x");
  assert_string_equal(osq_jstr(doc, "State.Pid"), "");
  assert_string_equal(osq_jstr(doc, "Nope.Deeper"), "");
  char *j = osq_jjoin(json_object_get(doc, "Env"), ", ");
  assert_string_equal(j, "A=1, B=2");
  free(j);
  j = osq_jjoin(NULL, ",");
  assert_string_equal(j, "");
  free(j);
  assert_string_equal(osq_js(NULL, "x"), "");
  json_decref(doc);
}

static void test_loopback(void **state) {
  (void)state;
  assert_true(osq_cloud_url_is_loopback("http://127.0.0.1"));
  assert_true(osq_cloud_url_is_loopback("http://127.0.0.1:8080"));
  assert_true(osq_cloud_url_is_loopback("http://127.1.2.3:1/"));
  assert_true(osq_cloud_url_is_loopback("http://localhost:80"));
  assert_true(osq_cloud_url_is_loopback("http://[::1]:9"));
  assert_false(osq_cloud_url_is_loopback("http://169.254.169.254"));
  assert_false(osq_cloud_url_is_loopback("http://127.0.0.1.evil.example"));
  assert_false(osq_cloud_url_is_loopback("http://127.0.0.1@10.0.0.1"));
  assert_false(osq_cloud_url_is_loopback("http://127.0.0.1:80/path"));
  assert_false(osq_cloud_url_is_loopback("http://localhost.example"));
  assert_false(osq_cloud_url_is_loopback("https://127.0.0.1"));
  assert_false(osq_cloud_url_is_loopback("http://127.0.0.1:"));
  assert_false(osq_cloud_url_is_loopback("http://127.0.0.256"));
  assert_false(osq_cloud_url_is_loopback("http://0127.0.0.1"));
  assert_false(osq_cloud_url_is_loopback("http://128.0.0.1"));
}

static void test_unreachable_service(void **state) {
  (void)state;
  /* no socket: OSQ_EIO, the "no daemon" case the tables turn into no
   * rows */
  int rc;
  json_t *doc = osq_api_get("/nonexistent/osq-test.sock", "docker",
                            "/version", &rc);
  assert_null(doc);
  assert_int_equal(rc, OSQ_EIO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc3339),
      cmocka_unit_test(test_escape),
      cmocka_unit_test(test_json_readers),
      cmocka_unit_test(test_loopback),
      cmocka_unit_test(test_unreachable_service),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
