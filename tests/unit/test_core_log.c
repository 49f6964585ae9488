/* The status log's level rules: what is dropped everywhere
 * (--logger_min_status, glog's minloglevel) and what also goes to stderr
 * (--alsologtostderr, --logger_min_stderr), as osq_log_configure reads
 * them from the flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/log.h"

static int kept[4];

static void count_sink(const osq_status_line *st, void *udata) {
  (void)udata;
  kept[st->severity & 3]++;
}

/* Logs one line of each severity but FATAL with stderr sent to a file;
 * returns what reached stderr. */
static char *log_each(void) {
  static char out[8192];
  memset(kept, 0, sizeof kept);
  char path[] = "/tmp/osq-test-log-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  osq_log_set_sink(count_sink, NULL);
  OSQ_INFO("line info");
  OSQ_WARN("line warning");
  OSQ_ERR("line error");
  osq_log_set_sink(NULL, NULL);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  ssize_t n = pread(fd, out, sizeof out - 1, 0);
  out[n > 0 ? n : 0] = '\0';
  close(fd);
  unlink(path);
  return out;
}

static void configure(osq_personality who, int argc, char **argv) {
  osq_flags_init(who);
  assert_int_equal(osq_flags_parse(&argc, argv, NULL, stdout, stderr),
                   OSQ_FLAGS_CONTINUE);
  osq_log_configure();
}

static void test_daemon_defaults(void **state) {
  (void)state;
  char *argv[] = {"osqd", NULL};
  configure(OSQ_PERSONALITY_DAEMON, 1, argv);
  char *err = log_each();
  assert_int_equal(kept[0] + kept[1] + kept[2], 3);
  assert_non_null(strstr(err, "line info"));
  assert_non_null(strstr(err, "line error"));
}

static void test_min_status_drops_everywhere(void **state) {
  (void)state;
  char *argv[] = {"osqd", "--logger_min_status=1", NULL};
  configure(OSQ_PERSONALITY_DAEMON, 2, argv);
  char *err = log_each();
  assert_int_equal(kept[0], 0);
  assert_int_equal(kept[1], 1);
  assert_int_equal(kept[2], 1);
  assert_null(strstr(err, "line info"));
  assert_non_null(strstr(err, "line warning"));
}

/* osquery sets glog's minloglevel and stderrthreshold from its own flags
 * at start: the glog names alone change nothing. */
static void test_glog_names_are_overridden(void **state) {
  (void)state;
  char *argv[] = {"osqd", "--minloglevel=2", "--stderrthreshold=2",
                  "--logtostderr", NULL};
  configure(OSQ_PERSONALITY_DAEMON, 4, argv);
  char *err = log_each();
  assert_int_equal(kept[0], 1);
  assert_non_null(strstr(err, "line info"));
}

static void test_shell_keeps_warning_and_above(void **state) {
  (void)state;
  char *argv[] = {"osqi", NULL};
  configure(OSQ_PERSONALITY_SHELL, 1, argv);
  char *err = log_each();
  assert_int_equal(kept[0], 0);
  assert_int_equal(kept[1], 1);
  assert_null(strstr(err, "line info"));
  assert_non_null(strstr(err, "line warning"));
  char *verbose[] = {"osqi", "--verbose", NULL};
  configure(OSQ_PERSONALITY_SHELL, 2, verbose);
  err = log_each();
  assert_int_equal(kept[0], 1);
  assert_non_null(strstr(err, "line info"));
}

static void test_alsologtostderr(void **state) {
  (void)state;
  char *argv[] = {"osqd", "--logger_min_stderr=2", NULL};
  configure(OSQ_PERSONALITY_DAEMON, 2, argv);
  char *err = log_each();
  assert_null(strstr(err, "line warning"));
  assert_non_null(strstr(err, "line error"));
  char *also[] = {"osqd", "--logger_min_stderr=2", "--alsologtostderr",
                  NULL};
  configure(OSQ_PERSONALITY_DAEMON, 3, also);
  err = log_each();
  assert_non_null(strstr(err, "line info"));
  assert_non_null(strstr(err, "line warning"));
  /* --logger_stderr=false silences stderr whatever else is set */
  char *off[] = {"osqd", "--alsologtostderr", "--logger_stderr=false", NULL};
  configure(OSQ_PERSONALITY_DAEMON, 3, off);
  err = log_each();
  assert_string_equal(err, "");
  assert_int_equal(kept[0], 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_daemon_defaults),
      cmocka_unit_test(test_min_status_drops_everywhere),
      cmocka_unit_test(test_glog_names_are_overridden),
      cmocka_unit_test(test_shell_keeps_warning_and_above),
      cmocka_unit_test(test_alsologtostderr),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
