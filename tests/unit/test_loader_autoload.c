/* The autoload file: comments, blank lines, whitespace, directories
 * (sorted, not recursive), bad lines reported with FILE:LINE, bounds. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "loader_fixture.h"

#include "core/flags.h"
#include "core/log.h"
#include "ext/loader/loader.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "settings/ext_settings.h"

/* The settings the shell would pass, from the flags this test set. */
static const osq_ext_settings *settings_from_flags(void) {
  static osq_ext_settings s;
  osq_ext_settings_from_flags(&s);
  return &s;
}

static char logbuf[65536];
static size_t loglen;

static void sink(const osq_status_line *st, void *u) {
  (void)u;
  int n = snprintf(logbuf + loglen, sizeof logbuf - loglen, "%c|%s\n",
                   "IWEF"[st->severity & 3], st->message);
  if (n > 0 && loglen + (size_t)n < sizeof logbuf)
    loglen += (size_t)n;
}

static void log_clear(void) {
  loglen = 0;
  logbuf[0] = '\0';
}

static void put_bytes(const char *path, const char *text, size_t len,
                     mode_t mode) {
  unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
  assert_int_equal(chmod(path, mode), 0);
}

static void put_ext(const char *name) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  put_bytes(p, "#!/bin/sh\nexit 0\n", 17, 0755);
}

typedef struct seen {
  char lines[16][512];
  unsigned lineno[16];
  size_t n;
} seen;

static void collect(const char *path, unsigned line, void *u) {
  seen *s = u;
  if (s->n < 16) {
    snprintf(s->lines[s->n], sizeof s->lines[0], "%s", path);
    s->lineno[s->n] = line;
    s->n++;
  }
}

static int setup(void **state) {
  (void)state;
  scratch_make("loader_auto");
  osq_log_set_sink(sink, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  osq_log_set_sink(NULL, NULL);
  return scratch_remove();
}

static void test_parse_lines(void **state) {
  (void)state;
  const char text[] = "# a comment\n"
                      "; another comment\n"
                      "\n"
                      "   \t\n"
                      "  /opt/a.ext  \r\n"
                      "relative/b.ext\n"
                      "/opt/c.ext\n"
                      "  # indented comment\n"
                      "/opt/no-newline.ext";
  seen s = {0};
  char err[256];
  log_clear();
  int n = osq_autoload_parse(text, sizeof text - 1, "ext.load", collect, &s,
                             err, sizeof err);
  assert_int_equal(n, 3);
  assert_int_equal(s.n, 3);
  assert_string_equal(s.lines[0], "/opt/a.ext");
  assert_int_equal(s.lineno[0], 5);
  assert_string_equal(s.lines[1], "/opt/c.ext");
  assert_int_equal(s.lineno[1], 7);
  assert_string_equal(s.lines[2], "/opt/no-newline.ext");
  assert_int_equal(s.lineno[2], 9);
  assert_non_null(strstr(
      logbuf, "W|ext.load:6: relative/b.ext is not an absolute path; "
              "skipped\n"));
}

static void test_parse_bad_bytes_and_bounds(void **state) {
  (void)state;
  char err[256];
  seen s = {0};
  log_clear();
  const char nul[] = "/opt/a\0b.ext\n/opt/ok.ext\n";
  assert_int_equal(osq_autoload_parse(nul, sizeof nul - 1, "f", collect, &s,
                                      err, sizeof err),
                   1);
  assert_string_equal(s.lines[0], "/opt/ok.ext");
  assert_non_null(strstr(logbuf, "W|f:1: line contains a NUL byte; skipped"));

  /* an over-long line is skipped, the next one still loads */
  size_t big = OSQ_LOADER_MAX_LINE + 10;
  char *t = malloc(big + 32);
  assert_non_null(t);
  t[0] = '/';
  memset(t + 1, 'x', big - 1);
  strcpy(t + big, "\n/opt/after.ext\n");
  memset(&s, 0, sizeof s);
  log_clear();
  assert_int_equal(osq_autoload_parse(t, strlen(t), "f", collect, &s, err,
                                      sizeof err),
                   1);
  assert_string_equal(s.lines[0], "/opt/after.ext");
  char want[128];
  snprintf(want, sizeof want, "W|f:1: line is %zu bytes, longer than %d; "
           "skipped", big, OSQ_LOADER_MAX_LINE);
  assert_non_null(strstr(logbuf, want));
  free(t);

  /* too many lines: the whole file is refused */
  size_t nl = OSQ_LOADER_MAX_LINES + 1;
  char *many = malloc(nl + 1);
  assert_non_null(many);
  memset(many, '\n', nl);
  many[nl] = '\0';
  assert_int_equal(osq_autoload_parse(many, nl, "f", collect, &s, err,
                                      sizeof err),
                   -1);
  snprintf(want, sizeof want, "f: more than %d lines; split the list or "
           "name directories instead", OSQ_LOADER_MAX_LINES);
  assert_string_equal(err, want);
  free(many);
}

static void test_read_file_with_dir(void **state) {
  (void)state;
  char sub[PATH_MAX], file[PATH_MAX], text[4 * PATH_MAX], p[PATH_MAX];
  snprintf(sub, sizeof sub, "%s/exts", dir);
  mkdir(sub, 0755);
  put_ext("exts/b.ext");
  put_ext("exts/a.ext");
  put_ext("exts/readme.txt");
  put_ext("exts/.hidden.ext");
  snprintf(p, sizeof p, "%s/exts/nested", dir);
  mkdir(p, 0755);
  put_ext("exts/nested/deep.ext");
  put_ext("single.ext");
  put_ext("loose.ext");
  snprintf(p, sizeof p, "%s/loose.ext", dir);
  chmod(p, 0777);

  snprintf(file, sizeof file, "%s/extensions.load", dir);
  snprintf(text, sizeof text,
           "# autoload\n%s\n%s/single.ext\n%s/single.ext\n%s/loose.ext\n"
           "%s/missing.ext\n",
           sub, dir, dir, dir, dir);
  put_bytes(file, text, strlen(text), 0644);

  osq_loader *l = osq_loader_new("/x/osq.em", settings_from_flags());
  char err[1024];
  log_clear();
  assert_int_equal(osq_loader_read_autoload(l, file, err, sizeof err), 3);
  assert_int_equal(osq_loader_count(l), 3);
  osq_ext_proc_info info;
  char want[2 * PATH_MAX + 256];
  assert_true(osq_loader_info(l, 0, &info));
  snprintf(want, sizeof want, "%s/a.ext", sub);
  assert_string_equal(info.path, want);
  assert_true(info.from_autoload);
  assert_true(osq_loader_info(l, 1, &info));
  snprintf(want, sizeof want, "%s/b.ext", sub);
  assert_string_equal(info.path, want);
  assert_true(osq_loader_info(l, 2, &info));
  snprintf(want, sizeof want, "%s/single.ext", dir);
  assert_string_equal(info.path, want);
  assert_int_equal(info.state, OSQ_EXT_PENDING);

  snprintf(want, sizeof want,
           "W|%s:2: refusing %s/readme.txt: autoloaded extensions must end "
           "in .ext; rename it to NAME.ext or load it with --extension\n",
           file, sub);
  assert_non_null(strstr(logbuf, want));
  snprintf(want, sizeof want,
           "W|%s:5: refusing %s/loose.ext: writable by group and others "
           "(mode 0777); chmod go-w %s/loose.ext\n",
           file, dir, dir);
  assert_non_null(strstr(logbuf, want));
  snprintf(want, sizeof want,
           "W|%s:6: refusing %s/missing.ext: does not exist; check the "
           "path\n",
           file, dir);
  assert_non_null(strstr(logbuf, want));
  assert_null(strstr(logbuf, "deep.ext"));
  assert_null(strstr(logbuf, "hidden"));
  osq_loader_free(l);
}

/* The list decides what runs: a list others (or the group) may write is
 * named in a warning; a safe one is not. */
static void test_autoload_file_writable_warns(void **state) {
  (void)state;
  char file[PATH_MAX], want[2 * PATH_MAX + 256];
  snprintf(file, sizeof file, "%s/open.load", dir);
  put_bytes(file, "# nothing\n", 10, 0644);
  osq_loader *l = osq_loader_new("/x/osq.em", settings_from_flags());
  char err[1024];
  log_clear();
  assert_int_equal(osq_loader_read_autoload(l, file, err, sizeof err), 0);
  assert_null(strstr(logbuf, "autoload file"));

  assert_int_equal(chmod(file, 0646), 0);
  log_clear();
  assert_int_equal(osq_loader_read_autoload(l, file, err, sizeof err), 0);
  snprintf(want, sizeof want,
           "W|extensions autoload file %s is writable by others (mode 0646): "
           "they could add extensions to it; chmod o-w %s (each listed "
           "extension is still checked)\n",
           file, file);
  assert_non_null(strstr(logbuf, want));

  assert_int_equal(chmod(file, 0664), 0);
  log_clear();
  assert_int_equal(osq_loader_read_autoload(l, file, err, sizeof err), 0);
  assert_non_null(strstr(logbuf, "is writable by group (mode 0664)"));
  osq_loader_free(l);
}

static void test_missing_and_bad_files(void **state) {
  (void)state;
  osq_loader *l = osq_loader_new("/x/osq.em", settings_from_flags());
  char err[1024], p[PATH_MAX], want[PATH_MAX + 128];
  snprintf(p, sizeof p, "%s/none.load", dir);
  assert_int_equal(osq_loader_read_autoload(l, p, err, sizeof err), 0);
  assert_string_equal(err, "");
  assert_int_equal(osq_loader_read_autoload(l, dir, err, sizeof err), -1);
  snprintf(want, sizeof want,
           "extensions autoload file %s is not a regular file", dir);
  assert_string_equal(err, want);
  snprintf(p, sizeof p, "%s/huge.load", dir);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, OSQ_LOADER_MAX_FILE + 1), 0);
  close(fd);
  assert_int_equal(osq_loader_read_autoload(l, p, err, sizeof err), -1);
  snprintf(want, sizeof want,
           "extensions autoload file %s is %d bytes, more than %d", p,
           OSQ_LOADER_MAX_FILE + 1, OSQ_LOADER_MAX_FILE);
  assert_string_equal(err, want);
  assert_int_equal(osq_loader_count(l), 0);
  osq_loader_free(l);
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_lines),
      cmocka_unit_test(test_parse_bad_bytes_and_bounds),
      cmocka_unit_test(test_read_file_with_dir),
      cmocka_unit_test(test_missing_and_bad_files),
      cmocka_unit_test(test_autoload_file_writable_warns),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  osq_flags_shutdown();
  return rc;
}
