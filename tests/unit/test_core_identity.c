/* core/identity: osq's names keep osq's paths, osquery's names (also
 * through a directory or a versioned suffix) take osquery's; mkdirs and
 * the daemon's state directories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/identity.h"
#include "core/mkdirs.h"
#include "daemon/state_dirs.h"

static void test_osq_names(void **state) {
  (void)state;
  const char *names[] = {"osqi", "/usr/bin/osqd", "./osq-something", NULL};
  for (int i = 0; i < 3; i++) {
    osq_flags_init(i == 1 ? OSQ_PERSONALITY_DAEMON : OSQ_PERSONALITY_SHELL);
    osq_identity_init(names[i]);
    assert_false(osq_identity_is_osquery());
    assert_string_equal(osq_identity_product(), "osq");
    assert_string_equal(osq_identity_version(), OSQ_VERSION);
    assert_string_equal(osq_identity_home_name(), ".osq");
    assert_string_equal(osq_identity_daemon_flagfile(), "/etc/osq/osq.flags");
    assert_string_equal(OSQ_FLAG_STR(config_path), "/etc/osq/osq.conf");
    assert_string_equal(OSQ_FLAG_STR(pidfile), "/var/osq/osqd.pidfile");
    assert_true(OSQ_FLAG_IS_DEFAULT(database_path));
  }
  osq_identity_init(NULL); /* no argv[0]: osq's own */
  assert_false(osq_identity_is_osquery());
  osq_flags_shutdown();
}

static void test_osquery_names(void **state) {
  (void)state;
  const char *names[] = {"osqueryi", "/opt/x/bin/osqueryd",
                         "/tmp/l/osqueryi-5.12"};
  for (int i = 0; i < 3; i++) {
    osq_flags_init(OSQ_PERSONALITY_DAEMON);
    osq_identity_init(names[i]);
    assert_true(osq_identity_is_osquery());
    assert_string_equal(osq_identity_product(), "osquery");
    assert_string_equal(osq_identity_version(), OSQ_SDK_VERSION);
    assert_string_equal(osq_identity_home_name(), ".osquery");
    assert_string_equal(osq_identity_daemon_name(), "osqueryd");
    assert_string_equal(osq_identity_daemon_flagfile(),
                        "/etc/osquery/osquery.flags");
    assert_string_equal(osq_identity_shell_flagfile(),
                        "/etc/osquery/osquery.flags.default");
    assert_string_equal(OSQ_FLAG_STR(config_path),
                        "/etc/osquery/osquery.conf");
    assert_string_equal(OSQ_FLAG_STR(database_path),
                        "/var/osquery/osquery.db");
    assert_string_equal(OSQ_FLAG_STR(logger_path), "/var/log/osquery/");
    assert_string_equal(OSQ_FLAG_STR(extensions_socket),
                        "/var/osquery/osquery.em");
    assert_string_equal(OSQ_FLAG_STR(extensions_autoload),
                        "/etc/osquery/extensions.load");
    /* defaults, not settings: osquery_flags shows them as default_value
     * and a flagfile or the command line still wins */
    assert_true(OSQ_FLAG_IS_DEFAULT(config_path));
    assert_false(OSQ_FLAG_WAS_SET(config_path));
    char err[128];
    assert_int_equal(OSQ_FLAG_SET(config_path, "/x.conf", err, sizeof err),
                     0);
    assert_string_equal(OSQ_FLAG_STR(config_path), "/x.conf");
  }
  osq_flags_shutdown();
  osq_identity_init("osqi"); /* leave osq's for other users */
}

static void test_mkdirs(void **state) {
  (void)state;
  char dir[] = "/tmp/osq-mkd-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/a//b/c/", dir);
  assert_int_equal(osq_mkdirs(path, 0700), 0);
  assert_int_equal(osq_mkdirs(path, 0700), 0); /* again: nothing to do */
  snprintf(path, sizeof path, "%s/a/b/c", dir);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0700);
  /* a file in the way */
  snprintf(path, sizeof path, "%s/file", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
  snprintf(path, sizeof path, "%s/file/x", dir);
  assert_int_equal(osq_mkdirs(path, 0700), -1);
  assert_int_equal(errno, ENOTDIR);
  snprintf(path, sizeof path, "%s/file/x/pidfile", dir);
  assert_int_equal(osq_mkdirs_parent(path, 0700), -1);
  assert_int_equal(osq_mkdirs_parent("bare-name", 0700), 0);
  assert_int_equal(osq_mkdirs_parent("/bare-at-root", 0700), 0);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_state_dirs(void **state) {
  (void)state;
  char dir[] = "/tmp/osq-state-XXXXXX";
  assert_non_null(mkdtemp(dir));
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  char v[256], err[512];
  snprintf(v, sizeof v, "%s/run/osq/osqd.pidfile", dir);
  assert_int_equal(OSQ_FLAG_SET(pidfile, v, err, sizeof err), 0);
  snprintf(v, sizeof v, "%s/var/osq/osq.db", dir);
  assert_int_equal(OSQ_FLAG_SET(database_path, v, err, sizeof err), 0);
  snprintf(v, sizeof v, "%s/log/osq", dir);
  assert_int_equal(OSQ_FLAG_SET(logger_path, v, err, sizeof err), 0);
  assert_int_equal(osq_state_dirs_make(err, sizeof err), 0);
  const char *made[][2] = {{"run/osq", "700"}, {"var/osq", "700"},
                           {"log/osq", "750"}};
  for (int i = 0; i < 3; i++) {
    struct stat st;
    snprintf(v, sizeof v, "%s/%s", dir, made[i][0]);
    assert_int_equal(stat(v, &st), 0);
    char mode[8];
    snprintf(mode, sizeof mode, "%o", (unsigned)(st.st_mode & 0777));
    assert_string_equal(mode, made[i][1]);
  }
  /* a file where the pidfile's directory should be: named in the error */
  snprintf(v, sizeof v, "%s/blocker", dir);
  FILE *f = fopen(v, "w");
  assert_non_null(f);
  fclose(f);
  snprintf(v, sizeof v, "%s/blocker/osqd.pidfile", dir);
  assert_int_equal(OSQ_FLAG_SET(pidfile, v, err, sizeof err), 0);
  assert_int_equal(osq_state_dirs_make(err, sizeof err), -1);
  assert_non_null(strstr(err, "--pidfile="));
  assert_non_null(strstr(err, "Not a directory"));
  osq_flags_shutdown();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  umask(022); /* the modes asserted are the ones asked for */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_osq_names),
      cmocka_unit_test(test_osquery_names),
      cmocka_unit_test(test_mkdirs),
      cmocka_unit_test(test_state_dirs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
