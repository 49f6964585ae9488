/* --pidfile (lock, content, busy) and --host_identifier modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/flags.h"
#include "daemon/hostid.h"
#include "daemon/pidfile.h"
#include "daemon/store.h"

static void test_pidfile(void **state) {
  (void)state;
  char dir[] = "/tmp/osq-pid-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128], err[256];
  snprintf(path, sizeof path, "%s/osqd.pid", dir);
  int fd = osq_pidfile_acquire(path, err, sizeof err);
  assert_true(fd >= 0);
  char buf[32] = "";
  FILE *f = fopen(path, "r");
  assert_non_null(fgets(buf, sizeof buf, f));
  fclose(f);
  char want[32];
  snprintf(want, sizeof want, "%d", (int)getpid()); /* no newline */
  assert_string_equal(buf, want);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  /* another process is refused while the lock is held */
  pid_t child = fork();
  if (child == 0) {
    char e[256];
    int cfd = osq_pidfile_acquire(path, e, sizeof e);
    _exit(cfd < 0 && strncmp(e, "Busy: ", 6) == 0 && strstr(e, want) ? 0 : 1);
  }
  int status;
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  osq_pidfile_release(fd);
  /* left in place, and free for the next daemon */
  assert_int_equal(access(path, F_OK), 0);
  fd = osq_pidfile_acquire(path, err, sizeof err);
  assert_true(fd >= 0);
  osq_pidfile_release(fd);
  unlink(path);
  /* an unusable path names itself */
  assert_int_equal(osq_pidfile_acquire("/proc/nope/x.pid", err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "/proc/nope/x.pid"));
  rmdir(dir);
}

static void test_hostid(void **state) {
  (void)state;
  char err[256], a[256], b[256], host[256];
  gethostname(host, sizeof host);
  osq_store *s = osq_store_open(NULL, err, sizeof err);
  assert_non_null(s);
  osq_host_identifier(s, a, sizeof a);
  assert_string_equal(a, host);
  OSQ_FLAG_SET(host_identifier, "instance", err, sizeof err);
  osq_host_identifier(s, a, sizeof a);
  osq_host_identifier(s, b, sizeof b);
  assert_int_equal(strlen(a), 36);
  assert_string_equal(a, b); /* persisted */
  char *kept = osq_store_get(s, "instance_uuid_v1");
  assert_string_equal(kept, a);
  free(kept);
  OSQ_FLAG_SET(host_identifier, "uuid", err, sizeof err);
  osq_host_identifier(s, b, sizeof b);
  assert_int_equal(strlen(b), 36);
  kept = osq_store_get(s, "host_uuid_v3");
  assert_string_equal(kept, b);
  free(kept);
  OSQ_FLAG_SET(host_identifier, "ephemeral", err, sizeof err);
  osq_host_identifier(s, a, sizeof a);
  osq_host_identifier(s, b, sizeof b);
  assert_string_equal(a, b);
  OSQ_FLAG_SET(host_identifier, "specified", err, sizeof err);
  osq_host_identifier(s, a, sizeof a);
  assert_string_equal(a, host); /* empty specified_identifier */
  OSQ_FLAG_SET(specified_identifier, "box-1", err, sizeof err);
  osq_host_identifier(s, a, sizeof a);
  assert_string_equal(a, "box-1");
  osq_store_close(s);
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pidfile),
      cmocka_unit_test(test_hostid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
