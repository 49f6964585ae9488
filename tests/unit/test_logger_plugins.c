/* The built-in filesystem logger (files, mode, rotation, status lines) and
 * the dispatch to active loggers (activation errors, status buffering,
 * features). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/log.h"
#include "logger/logger.h"
#include "logger/zfile.h"
#include "registry/registry.h"

static char dir[64];

static char *slurp(const char *name) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "r");
  if (f == NULL)
    return NULL;
  char *buf = calloc(1, 1 << 16);
  size_t n = fread(buf, 1, (1 << 16) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static int setup(void **state) {
  (void)state;
  strcpy(dir, "/tmp/osq-logger-XXXXXX");
  assert_non_null(mkdtemp(dir));
  char err[256], path[128];
  snprintf(path, sizeof path, "%s/logs/sub", dir);
  assert_int_equal(OSQ_FLAG_SET(logger_path, path, err, sizeof err), 0);
  strcat(dir, "/logs/sub");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  *strstr(dir, "/logs/sub") = '\0';
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static void test_filesystem_files(void **state) {
  (void)state;
  char err[256];
  assert_int_equal(osq_fslog_setup(err, sizeof err), 0);
  char *r = slurp(OSQ_RESULTS_LOG);
  assert_non_null(r); /* created empty at setup */
  assert_string_equal(r, "");
  free(r);
  const osq_logger_plugin *fs = &osq_logger_filesystem;
  assert_int_equal(fs->log(OSQ_LOG_RESULT, "{\"a\":1}", 7, NULL), OSQ_OK);
  assert_int_equal(fs->log(OSQ_LOG_RESULT, "{\"a\":2}", 7, NULL), OSQ_OK);
  assert_int_equal(fs->log(OSQ_LOG_SNAPSHOT, "{\"s\":1}", 7, NULL), OSQ_OK);
  r = slurp(OSQ_RESULTS_LOG);
  assert_string_equal(r, "{\"a\":1}\n{\"a\":2}\n");
  free(r);
  r = slurp(OSQ_SNAPSHOTS_LOG);
  assert_string_equal(r, "{\"s\":1}\n");
  free(r);
  char p[256];
  snprintf(p, sizeof p, "%s/%s", dir, OSQ_RESULTS_LOG);
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0640);
  /* status lines arrive as osquery's JSON array, leave as glog lines */
  const char *status = "[{\"s\":2,\"f\":\"x.c\",\"i\":7,\"m\":\"boom\","
                       "\"h\":\"h\",\"c\":\"c\",\"u\":1412098650}]";
  assert_int_equal(fs->log(OSQ_LOG_STATUS, status, strlen(status), NULL),
                   OSQ_OK);
  r = slurp(OSQ_STATUS_LOG);
  assert_non_null(r);
  assert_true(r[0] == 'E');
  assert_non_null(strstr(r, " x.c:7] boom\n"));
  free(r);
  assert_int_not_equal(fs->log(OSQ_LOG_STATUS, "[", 1, NULL), OSQ_OK);
}

static void test_rotation(void **state) {
  (void)state;
  char err[256];
  OSQ_FLAG_SET(logger_rotate, "true", err, sizeof err);
  OSQ_FLAG_SET(logger_rotate_size, "8", err, sizeof err); /* one line */
  OSQ_FLAG_SET(logger_rotate_max_files, "2", err, sizeof err);
  const osq_logger_plugin *fs = &osq_logger_filesystem;
  for (int i = 0; i < 5; i++) {
    char line[32];
    int n = snprintf(line, sizeof line, "{\"n\":%d}", i);
    assert_int_equal(fs->log(OSQ_LOG_SNAPSHOT, line, (size_t)n, NULL), OSQ_OK);
  }
  char *cur = slurp(OSQ_SNAPSHOTS_LOG);
  char *one = slurp(OSQ_SNAPSHOTS_LOG ".1");
  char *two = slurp(OSQ_SNAPSHOTS_LOG ".2.zst");
  char *three = slurp(OSQ_SNAPSHOTS_LOG ".3.zst");
  assert_string_equal(cur, "{\"n\":4}\n");
  assert_string_equal(one, "{\"n\":3}\n");
  /* from the second on, osquery's files are zstd frames (the content is
   * checked with the zstd tool in test_daemon_logfiles.py) */
  assert_non_null(two);
  assert_memory_equal(two, "\x28\xb5\x2f\xfd", 4);
  assert_null(slurp(OSQ_SNAPSHOTS_LOG ".2"));
  assert_null(three); /* beyond logger_rotate_max_files */
  free(cur);
  free(one);
  free(two);
  OSQ_FLAG_SET(logger_rotate, "false", err, sizeof err);
}

/* A rotated copy that stayed plain (libzstd could not compress it) moves
 * along with the compressed ones instead of being overwritten. */
static void test_rotation_moves_plain_copies(void **state) {
  (void)state;
  char err[256];
  const char *old[] = {OSQ_SNAPSHOTS_LOG ".1", OSQ_SNAPSHOTS_LOG ".2",
                       OSQ_SNAPSHOTS_LOG ".2.zst", OSQ_SNAPSHOTS_LOG ".3",
                       OSQ_SNAPSHOTS_LOG ".3.zst"};
  char p[256];
  for (size_t i = 0; i < sizeof old / sizeof *old; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, old[i]);
    unlink(p);
  }
  snprintf(p, sizeof p, "%s/%s", dir, OSQ_SNAPSHOTS_LOG ".2");
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs("plain\n", f);
  fclose(f);
  const osq_logger_plugin *fs = &osq_logger_filesystem;
  /* the current file holds a line, so the next one rotates exactly once */
  OSQ_FLAG_SET(logger_rotate, "false", err, sizeof err);
  assert_int_equal(fs->log(OSQ_LOG_SNAPSHOT, "{\"n\":0}", 7, NULL), OSQ_OK);
  OSQ_FLAG_SET(logger_rotate, "true", err, sizeof err);
  OSQ_FLAG_SET(logger_rotate_size, "8", err, sizeof err);
  OSQ_FLAG_SET(logger_rotate_max_files, "3", err, sizeof err);
  assert_int_equal(fs->log(OSQ_LOG_SNAPSHOT, "{\"n\":1}", 7, NULL), OSQ_OK);
  OSQ_FLAG_SET(logger_rotate, "false", err, sizeof err);
  char *cur = slurp(OSQ_SNAPSHOTS_LOG);
  char *three = slurp(OSQ_SNAPSHOTS_LOG ".3");
  char *two = slurp(OSQ_SNAPSHOTS_LOG ".2");
  assert_string_equal(cur, "{\"n\":1}\n");
  assert_non_null(three);
  assert_string_equal(three, "plain\n");
  assert_null(two);
  free(cur);
  free(three);
}

/* A source that cannot be read is an error naming it; no copy is left. */
static void test_compress_missing_source(void **state) {
  (void)state;
  char src[256], dst[256], err[512] = "";
  snprintf(src, sizeof src, "%s/no-such-log", dir);
  snprintf(dst, sizeof dst, "%s/no-such-log.2.zst", dir);
  assert_int_equal(osq_zfile_compress(src, dst, err, sizeof err), -1);
  char want[600];
  snprintf(want, sizeof want, "cannot open %s: No such file or directory",
           src);
  assert_string_equal(err, want);
  assert_int_equal(access(dst, F_OK), -1);
}

/* A logger that records what it gets. */
static char got[4096];
static int calls;
static int rec_log(osq_log_kind kind, const char *text, size_t len,
                   void *udata) {
  (void)udata;
  calls++;
  size_t o = strlen(got);
  snprintf(got + o, sizeof got - o, "%d:%.*s\n", (int)kind, (int)len, text);
  return OSQ_OK;
}
static const osq_logger_plugin rec = {
    .name = "rec", .features = OSQ_LOGGER_FEATURE_STATUS, .log = rec_log};
static const osq_logger_plugin quiet = {.name = "quiet", .log = rec_log};

static void test_dispatch(void **state) {
  (void)state;
  char err[256];
  assert_int_equal(osq_loggers_register_builtin(), 0);
  assert_int_equal(osq_registry_add(OSQ_REGISTRY_LOGGER, &rec, 0, false, err,
                                    sizeof err),
                   0);
  assert_int_equal(osq_registry_add(OSQ_REGISTRY_LOGGER, &quiet, 0, false,
                                    err, sizeof err),
                   0);
  assert_int_equal(osq_loggers_setup("rec,nope", NULL, NULL, err, sizeof err),
                   -1);
  assert_string_equal(
      err, "Cannot activate nope logger plugin: Unknown registry plugin: nope");
  got[0] = '\0';
  assert_int_equal(osq_loggers_setup("rec,quiet", NULL, NULL, err, sizeof err),
                   0);
  assert_string_equal(got, "3:osqd\n3:osqd\n"); /* init to each */
  got[0] = '\0';
  assert_int_equal(osq_loggers_log(OSQ_LOG_RESULT, "L", 1), 0);
  assert_string_equal(got, "0:L\n0:L\n");
  /* status lines are held until flushed, and only "rec" wants them */
  osq_loggers_capture_status();
  OSQ_WARN("held %d", 1);
  got[0] = '\0';
  osq_loggers_flush_status("hh");
  assert_non_null(strstr(got, "2:[{\"s\":1,\"f\":\"test_logger_plugins.c\""));
  assert_non_null(strstr(got, "\"m\":\"held 1\",\"h\":\"hh\""));
  assert_null(strstr(strchr(got, '\n') + 1, "2:"));
  got[0] = '\0';
  osq_loggers_flush_status("hh"); /* nothing left */
  assert_string_equal(got, "");
  osq_loggers_shutdown();
}

/* A line is appended whole: a torn tail (a writer killed mid-line) is cut
 * back to the last newline first, so no record is glued onto it. */
static void test_torn_tail_cut(void **state) {
  (void)state;
  char err[256], p[256];
  assert_int_equal(osq_fslog_setup(err, sizeof err), 0);
  snprintf(p, sizeof p, "%s/%s", dir, OSQ_SNAPSHOTS_LOG);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs("{\"whole\":1}\n{\"torn\":", f);
  fclose(f);
  const osq_logger_plugin *fs = &osq_logger_filesystem;
  assert_int_equal(fs->log(OSQ_LOG_SNAPSHOT, "{\"s\":2}", 7, NULL), OSQ_OK);
  char *r = slurp(OSQ_SNAPSHOTS_LOG);
  assert_string_equal(r, "{\"whole\":1}\n{\"s\":2}\n");
  free(r);
}

/* Status lines in the glog-shaped file carry the microseconds of the
 * moment they were logged. */
static void test_status_microseconds(void **state) {
  (void)state;
  char err[256];
  assert_int_equal(osq_loggers_register_builtin(), 0);
  assert_int_equal(osq_fslog_setup(err, sizeof err), 0);
  assert_int_equal(osq_loggers_setup("filesystem", NULL, NULL, err,
                                     sizeof err),
                   0);
  osq_loggers_capture_status();
  for (int i = 0; i < 5; i++) {
    OSQ_WARN("usec tick %d", i);
    struct timespec ts = {0, 1300 * 1000};
    nanosleep(&ts, NULL);
  }
  osq_loggers_flush_status("hh");
  osq_loggers_shutdown();
  char *r = slurp(OSQ_STATUS_LOG);
  assert_non_null(r);
  long seen[5];
  int n = 0;
  for (char *l = strstr(r, "usec tick"); l && n < 5;
       l = strstr(l + 1, "usec tick")) {
    char *start = l;
    while (start > r && start[-1] != '\n')
      start--;
    /* "Wmmdd hh:mm:ss.uuuuuu ..." */
    assert_true(start[14] == '.');
    seen[n++] = strtol(start + 15, NULL, 10);
  }
  assert_int_equal(n, 5);
  int distinct = 0;
  for (int i = 0; i < n; i++) {
    bool again = false;
    for (int k = 0; k < i; k++)
      again = again || seen[k] == seen[i];
    distinct += !again;
  }
  assert_true(distinct >= 2); /* 1.3 ms apart: not a constant */
  free(r);
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_filesystem_files),
      cmocka_unit_test(test_rotation),
      cmocka_unit_test(test_rotation_moves_plain_copies),
      cmocka_unit_test(test_compress_missing_source),
      cmocka_unit_test(test_dispatch),
      cmocka_unit_test(test_torn_tail_cut),
      cmocka_unit_test(test_status_microseconds),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
