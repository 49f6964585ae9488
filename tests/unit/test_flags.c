#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/flags.h"

static char errbuf[4096];

static int parse(int argc, char **argv, FILE *err) {
  return osq_flags_parse(&argc, argv, NULL, stdout, err);
}

static void test_forms(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  char *argv[] = {"osqd", "--verbose", "--logger_path=/tmp/x", "--config_plugin",
                  "ext_cfg", "--nodisable_watchdog", "select 1", NULL};
  int argc = 7;
  assert_int_equal(osq_flags_parse(&argc, argv, NULL, stdout, stderr), OSQ_FLAGS_CONTINUE);
  assert_int_equal(argc, 2);
  assert_string_equal(argv[1], "select 1");
  assert_true(OSQ_FLAG_BOOL(verbose));
  assert_string_equal(OSQ_FLAG_STR(logger_path), "/tmp/x");
  assert_string_equal(OSQ_FLAG_STR(config_plugin), "ext_cfg");
  assert_false(OSQ_FLAG_BOOL(disable_watchdog));
  assert_true(OSQ_FLAG_WAS_SET(disable_watchdog));
  assert_true(OSQ_FLAG_IS_DEFAULT(disable_watchdog));
  /* aliases */
  char *argv2[] = {"osqd", "--socket", "/tmp/s.em", "--db_path=/tmp/db", NULL};
  assert_int_equal(parse(4, argv2, stderr), OSQ_FLAGS_CONTINUE);
  assert_string_equal(OSQ_FLAG_STR(extensions_socket), "/tmp/s.em");
  assert_string_equal(OSQ_FLAG_STR(database_path), "/tmp/db");
}

static void test_errors(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  FILE *err = fmemopen(errbuf, sizeof errbuf, "w");
  char *argv[] = {"osqi", "--no_such_flag", NULL};
  assert_int_equal(parse(2, argv, err), 1);
  fflush(err);
  assert_non_null(strstr(errbuf, "ERROR: unknown command line flag 'no_such_flag'"));
  rewind(err);
  char *argv2[] = {"osqi", "--watchdog_level=abc", NULL};
  assert_int_equal(parse(2, argv2, err), 1);
  fflush(err);
  assert_non_null(strstr(errbuf, "illegal value 'abc' specified for int32 flag 'watchdog_level'"));
  fclose(err);
  char msg[256];
  assert_int_equal(OSQ_FLAG_SET(read_max, "-5", msg, sizeof msg), -1);
  assert_non_null(strstr(msg, "uint64"));
}

static void test_flagfile(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  char path[] = "/tmp/osq-flagfile-XXXXXX";
  int fd = mkstemp(path);
  const char *text = "# comment\n"
                     "  --logger_path=/var/tmp/logs\n"
                     "--verbose\n"
                     "--config_path /etc/x.conf\n"
                     "--no_such=1\n"
                     "--host_identifier=\"quoted\"\n"
                     "nomatch*\n"
                     "--pack_delimiter=!\n";
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  FILE *err = fmemopen(errbuf, sizeof errbuf, "w");
  char flagfile_arg[128];
  snprintf(flagfile_arg, sizeof flagfile_arg, "--flagfile=%s", path);
  char *argv[] = {"osqd", flagfile_arg, "--logger_path=/cli/wins", NULL};
  assert_int_equal(parse(3, argv, err), OSQ_FLAGS_CONTINUE);
  fflush(err);
  fclose(err);
  unlink(path);
  assert_string_equal(OSQ_FLAG_STR(logger_path), "/cli/wins");
  assert_true(OSQ_FLAG_BOOL(verbose));
  /* "--name value" in a flagfile is not a flag: ignored with a warning */
  assert_string_equal(OSQ_FLAG_STR(config_path), "/etc/osq/osq.conf");
  assert_non_null(strstr(errbuf, "ignoring '--config_path /etc/x.conf': a flagfile needs --name=value"));
  assert_non_null(strstr(errbuf, "ignoring unknown flag 'no_such'"));
  assert_string_equal(OSQ_FLAG_STR(host_identifier), "\"quoted\"");
  /* after a glob line that does not match argv[0] flags are skipped */
  assert_string_equal(OSQ_FLAG_STR(pack_delimiter), "_");
}

/* A device named as a flagfile never ends a line: read up to the bound,
 * not until memory runs out (found reviewing fuzz_flagfile). */
static void test_flagfile_device(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  memset(errbuf, 0, sizeof errbuf);
  FILE *err = fmemopen(errbuf, sizeof errbuf - 1, "w");
  assert_int_equal(osq_flags_load_file("/dev/zero", "osqd", err), 0);
  fflush(err);
  fclose(err);
  assert_non_null(
      strstr(errbuf, "W flagfile /dev/zero: larger than 1048576 bytes, rest "
                     "ignored"));
}

/* A flagfile naming itself many times fans out as k^depth reads: the
 * total is bounded, and its own lines after the nesting still apply. */
static void test_flagfile_fanout(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  char path[] = "/tmp/osq-flagfile-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  char text[4096];
  int n = snprintf(text, sizeof text, "--flagfile=");
  for (int i = 0; i < 10; i++)
    n += snprintf(text + n, sizeof text - (size_t)n, "%s%s", i ? "," : "",
                  path);
  n += snprintf(text + n, sizeof text - (size_t)n, "\n--verbose\n");
  assert_int_equal(write(fd, text, (size_t)n), n);
  close(fd);
  size_t cap = 1 << 20;
  char *warn = calloc(1, cap);
  FILE *err = fmemopen(warn, cap - 1, "w");
  assert_int_equal(osq_flags_load_file(path, "osqd", err), 0);
  fflush(err);
  fclose(err);
  unlink(path);
  assert_non_null(strstr(warn, "more than 64 flagfiles in all, skipped"));
  free(warn);
  assert_true(OSQ_FLAG_BOOL(verbose));
}

static void test_help_version(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  char out[16384] = {0};
  FILE *o = fmemopen(out, sizeof out - 1, "w");
  char *argv[] = {"osqi", "--help", NULL};
  int argc = 2;
  assert_int_equal(osq_flags_parse(&argc, argv, NULL, o, stderr), 0);
  fflush(o);
  assert_non_null(strstr(out, "Usage: osqi [OPTION]... [SQL STATEMENT]"));
  assert_non_null(strstr(out, "--extensions_socket VALUE"));
  assert_non_null(strstr(out, "osq shell-only CLI flags:"));
  rewind(o);
  char *argv2[] = {"osqi", "--version", NULL};
  argc = 2;
  assert_int_equal(osq_flags_parse(&argc, argv2, NULL, o, stderr), 0);
  fputc('\0', o);
  fclose(o);
  assert_string_equal(out, "osqi version " OSQ_VERSION "\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forms),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_flagfile),
      cmocka_unit_test(test_flagfile_device),
      cmocka_unit_test(test_flagfile_fanout),
      cmocka_unit_test(test_help_version),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  osq_flags_shutdown();
  return rc;
}
