/* Lines a logger does not take wait in the results store, in order, and
 * reach it once it takes lines again; the other loggers are not held
 * back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/flags.h"
#include "daemon/outbox.h"
#include "daemon/store.h"
#include "logger/logger.h"
#include "registry/registry.h"

static char good_got[256], flaky_got[256];
static bool flaky_down;

static void append(char *buf, size_t cap, const char *text, size_t len) {
  size_t n = strlen(buf);
  snprintf(buf + n, cap - n, "%.*s;", (int)len, text);
}

static int good_log(osq_log_kind kind, const char *text, size_t len, void *u) {
  (void)u;
  if (kind == OSQ_LOG_RESULT || kind == OSQ_LOG_SNAPSHOT)
    append(good_got, sizeof good_got, text, len);
  return OSQ_OK;
}

static int flaky_log(osq_log_kind kind, const char *text, size_t len, void *u) {
  (void)u;
  if (kind != OSQ_LOG_RESULT && kind != OSQ_LOG_SNAPSHOT)
    return OSQ_OK;
  if (flaky_down)
    return OSQ_EIO;
  append(flaky_got, sizeof flaky_got, text, len);
  return OSQ_OK;
}

static const osq_logger_plugin good = {.name = "good", .log = good_log};
static const osq_logger_plugin flaky = {.name = "flaky", .log = flaky_log};

static void test_waiting_lines(void **state) {
  (void)state;
  char err[256];
  assert_int_equal(
      osq_registry_add(OSQ_REGISTRY_LOGGER, &good, 0, false, err, sizeof err),
      0);
  assert_int_equal(
      osq_registry_add(OSQ_REGISTRY_LOGGER, &flaky, 0, false, err, sizeof err),
      0);
  assert_int_equal(osq_loggers_setup("good,flaky", NULL, NULL, err, sizeof err),
                   0);
  osq_store *s = osq_store_open(NULL, err, sizeof err);
  assert_non_null(s);

  flaky_down = true;
  assert_int_equal(osq_outbox_send(s, OSQ_LOG_RESULT, "a", 1), 0);
  flaky_down = false; /* later lines still queue behind "a" */
  assert_int_equal(osq_outbox_send(s, OSQ_LOG_SNAPSHOT, "b", 1), 0);
  assert_string_equal(good_got, "a;b;");
  assert_string_equal(flaky_got, "");
  assert_int_equal(osq_store_lines_waiting(s, NULL), 2);
  assert_int_equal(osq_store_lines_waiting(s, "flaky"), 1);
  assert_int_equal(osq_store_lines_waiting(s, "good"), 0);

  flaky_down = true;
  assert_int_equal(osq_outbox_retry(s), 0);
  assert_int_equal(osq_store_lines_waiting(s, NULL), 2);
  flaky_down = false;
  assert_int_equal(osq_outbox_retry(s), 0);
  assert_string_equal(flaky_got, "a;b;"); /* in order, once */
  assert_int_equal(osq_store_lines_waiting(s, NULL), 0);

  assert_int_equal(osq_outbox_send(s, OSQ_LOG_RESULT, "c", 1), 0);
  assert_string_equal(good_got, "a;b;c;");
  assert_string_equal(flaky_got, "a;b;c;");
  osq_store_close(s);
  osq_loggers_shutdown();
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_waiting_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
