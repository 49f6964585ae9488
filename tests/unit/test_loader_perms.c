/* The extension permission check: one test per rule asserting its exact
 * message, --allow_unsafe, and a swap-after-check race. Fixtures live in a
 * private directory under the current directory (ctest runs in the build
 * tree, whose parents must themselves pass the directory rule). */
/* Fixture paths are bounded by PATH_MAX; truncation cannot matter here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "loader_fixture.h"

#include "core/flags.h"
#include "ext/loader/loader.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static osq_perm_rule check(const char *path, unsigned flags, char *err) {
  int fd = -1;
  osq_perm_rule r = osq_perm_check(path, flags, &fd, err, 1024);
  if (r == OSQ_PERM_OK) {
    assert_true(fd >= 0);
    close(fd);
  } else {
    assert_int_equal(fd, -1);
  }
  return r;
}

static void expect(const char *path, unsigned flags, osq_perm_rule rule,
                   const char *msg) {
  char err[1024];
  assert_int_equal(check(path, flags, err), rule);
  assert_string_equal(err, msg);
}

static int setup(void **state) {
  (void)state;
  scratch_make("loader_perms");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return scratch_remove();
}

static void test_ok(void **state) {
  (void)state;
  char p[PATH_MAX], err[1024];
  pathf(p, "good.ext");
  put_file(p, "#!/bin/sh\n", 0755);
  assert_int_equal(check(p, OSQ_PERM_AUTOLOAD, err), OSQ_PERM_OK);
  assert_string_equal(err, "");
}

static void test_suffix(void **state) {
  (void)state;
  char p[PATH_MAX], msg[2048];
  pathf(p, "tool.py");
  put_file(p, "#!/bin/sh\n", 0755);
  snprintf(msg, sizeof msg,
           "refusing %s: autoloaded extensions must end in .ext; rename it "
           "to NAME.ext or load it with --extension",
           p);
  expect(p, OSQ_PERM_AUTOLOAD, OSQ_PERM_SUFFIX, msg);
  /* --extension paths need no suffix */
  char err[1024];
  assert_int_equal(check(p, 0, err), OSQ_PERM_OK);
}

static void test_missing(void **state) {
  (void)state;
  char p[PATH_MAX], msg[2048];
  pathf(p, "nothere.ext");
  snprintf(msg, sizeof msg, "refusing %s: does not exist; check the path", p);
  expect(p, 0, OSQ_PERM_MISSING, msg);
}

static void test_symlink(void **state) {
  (void)state;
  char p[PATH_MAX], t[PATH_MAX], msg[3 * PATH_MAX];
  pathf(t, "target.ext");
  put_file(t, "#!/bin/sh\n", 0755);
  pathf(p, "link.ext");
  unlink(p);
  assert_int_equal(symlink("target.ext", p), 0);
  snprintf(msg, sizeof msg,
           "refusing %s: is a symbolic link (to target.ext); name the file "
           "itself: %s",
           p, t);
  expect(p, 0, OSQ_PERM_SYMLINK, msg);
}

static void test_not_regular(void **state) {
  (void)state;
  char p[PATH_MAX], msg[2048];
  pathf(p, "adir.ext");
  mkdir(p, 0755);
  snprintf(msg, sizeof msg,
           "refusing %s: not a regular file (a directory); name an "
           "executable file",
           p);
  expect(p, 0, OSQ_PERM_NOT_REGULAR, msg);
}

static void test_owner(void **state) {
  (void)state;
  if (getuid() != 0) {
    skip(); /* only root can give a file to someone else */
  }
  char p[PATH_MAX], msg[2048];
  pathf(p, "theirs.ext");
  put_file(p, "#!/bin/sh\n", 0755);
  assert_int_equal(chown(p, 54321, 54321), 0);
  snprintf(msg, sizeof msg,
           "refusing %s: owned by uid 54321, not root or the running user "
           "(uid 0); chown root %s",
           p, p);
  expect(p, 0, OSQ_PERM_OWNER, msg);
}

static void test_not_exec(void **state) {
  (void)state;
  char p[PATH_MAX], msg[2048];
  pathf(p, "noexec.ext");
  put_file(p, "#!/bin/sh\n", 0644);
  snprintf(msg, sizeof msg,
           "refusing %s: not executable by its owner (mode 0644); chmod u+x "
           "%s",
           p, p);
  expect(p, 0, OSQ_PERM_NOT_EXEC, msg);
}

static void test_group_write(void **state) {
  (void)state;
  char p[PATH_MAX], msg[2048];
  pathf(p, "gw.ext");
  put_file(p, "#!/bin/sh\n", 0775);
  snprintf(msg, sizeof msg,
           "refusing %s: writable by group (mode 0775); chmod g-w %s", p, p);
  expect(p, 0, OSQ_PERM_GROUP_WRITE, msg);
}

static void test_other_write(void **state) {
  (void)state;
  char p[PATH_MAX], msg[2048];
  pathf(p, "ow.ext");
  put_file(p, "#!/bin/sh\n", 0757);
  snprintf(msg, sizeof msg,
           "refusing %s: writable by others (mode 0757); chmod o-w %s", p, p);
  expect(p, 0, OSQ_PERM_OTHER_WRITE, msg);
  put_file(p, "#!/bin/sh\n", 0777);
  snprintf(msg, sizeof msg,
           "refusing %s: writable by group and others (mode 0777); chmod "
           "go-w %s",
           p, p);
  expect(p, 0, OSQ_PERM_OTHER_WRITE, msg);
}

static void with_subdir(const char *name, mode_t mode, char *sub, char *p) {
  pathf(sub, name);
  mkdir(sub, 0755);
  assert_int_equal(chmod(sub, mode), 0);
  snprintf(p, PATH_MAX, "%s/x.ext", sub);
  put_file(p, "#!/bin/sh\n", 0755);
}

static void test_dir_sticky(void **state) {
  (void)state;
  char sub[PATH_MAX], p[PATH_MAX], msg[3 * PATH_MAX];
  with_subdir("sticky", 01755, sub, p);
  snprintf(msg, sizeof msg,
           "refusing %s: directory %s is sticky (mode 1755), a shared "
           "/tmp-like directory; move the extension to a directory only "
           "root can write, e.g. /usr/local/lib/osq",
           p, sub);
  expect(p, 0, OSQ_PERM_DIR_STICKY, msg);
}

static void test_dir_write(void **state) {
  (void)state;
  char sub[PATH_MAX], p[PATH_MAX], msg[3 * PATH_MAX];
  with_subdir("gwdir", 0775, sub, p);
  snprintf(msg, sizeof msg,
           "refusing %s: directory %s is writable by group (mode 0775); "
           "chmod g-w %s",
           p, sub, sub);
  expect(p, 0, OSQ_PERM_DIR_WRITE, msg);
  with_subdir("owdir", 0757, sub, p);
  snprintf(msg, sizeof msg,
           "refusing %s: directory %s is writable by others (mode 0757); "
           "chmod o-w %s",
           p, sub, sub);
  expect(p, 0, OSQ_PERM_DIR_WRITE, msg);
}

static void test_dir_owner(void **state) {
  (void)state;
  if (getuid() != 0) {
    skip();
  }
  char sub[PATH_MAX], p[PATH_MAX], msg[3 * PATH_MAX];
  with_subdir("theirdir", 0755, sub, p);
  assert_int_equal(chown(sub, 54321, 54321), 0);
  snprintf(msg, sizeof msg,
           "refusing %s: directory %s is owned by uid 54321, not root or "
           "the running user (uid 0); chown root %s",
           p, sub, sub);
  expect(p, 0, OSQ_PERM_DIR_OWNER, msg);
}

static void test_dir_parent_checked_too(void **state) {
  (void)state;
  /* A safe directory inside an unsafe one is still refused. */
  char outer[PATH_MAX], inner[PATH_MAX + 8], p[PATH_MAX + 16],
      msg[4 * PATH_MAX];
  pathf(outer, "outer");
  mkdir(outer, 0755);
  snprintf(inner, sizeof inner, "%s/in", outer);
  mkdir(inner, 0755);
  snprintf(p, sizeof p, "%s/x.ext", inner);
  put_file(p, "#!/bin/sh\n", 0755);
  assert_int_equal(chmod(outer, 0777), 0);
  snprintf(msg, sizeof msg,
           "refusing %s: directory %s is writable by group and others (mode "
           "0777); chmod go-w %s",
           p, outer, outer);
  expect(p, 0, OSQ_PERM_DIR_WRITE, msg);
  chmod(outer, 0755);
}

static void test_root_sticky_ancestor(void **state) {
  (void)state;
  if (getuid() != 0) {
    skip();
  }
  /* /tmp-like (root-owned, sticky, world-writable) above the extension's
   * own safe directory: accepted, since nobody else can replace "in". */
  char outer[PATH_MAX], inner[PATH_MAX + 8], p[PATH_MAX + 16], err[1024],
      msg[4 * PATH_MAX];
  pathf(outer, "tmplike");
  mkdir(outer, 0755);
  snprintf(inner, sizeof inner, "%s/in", outer);
  mkdir(inner, 0755);
  snprintf(p, sizeof p, "%s/x.ext", inner);
  put_file(p, "#!/bin/sh\n", 0755);
  assert_int_equal(chmod(outer, 01777), 0);
  assert_int_equal(check(p, 0, err), OSQ_PERM_OK);
  /* not when someone else owns the sticky directory */
  assert_int_equal(chown(outer, 54321, 54321), 0);
  snprintf(msg, sizeof msg,
           "refusing %s: directory %s is sticky (mode 1777), a shared "
           "/tmp-like directory; move the extension to a directory only "
           "root can write, e.g. /usr/local/lib/osq",
           p, outer);
  expect(p, 0, OSQ_PERM_DIR_STICKY, msg);
  chown(outer, 0, 0);
  chmod(outer, 0755);
}

static void test_allow_unsafe(void **state) {
  (void)state;
  char p[PATH_MAX], err[1024];
  pathf(p, "unsafe.ext");
  put_file(p, "#!/bin/sh\n", 0777);
  assert_int_equal(check(p, OSQ_PERM_ALLOW_UNSAFE, err), OSQ_PERM_OK);
  /* a directory is still not executable */
  pathf(p, "adir2.ext");
  mkdir(p, 0755);
  assert_int_equal(check(p, OSQ_PERM_ALLOW_UNSAFE, err),
                   OSQ_PERM_NOT_REGULAR);
}

/* Check one file, rename another over its path, launch: the checked inode
 * runs. */
static void test_swap_after_check(void **state) {
  (void)state;
  char p[PATH_MAX], evil[PATH_MAX], out[PATH_MAX], script[3 * PATH_MAX];
  pathf(p, "swap.ext");
  pathf(evil, "evil.ext");
  pathf(out, "swap.out");
  unlink(out);
  snprintf(script, sizeof script, "#!/bin/sh\necho checked > '%s'\n", out);
  put_file(p, script, 0755);
  snprintf(script, sizeof script, "#!/bin/sh\necho swapped > '%s'\n", out);
  put_file(evil, script, 0755);

  int fd = -1;
  char err[1024];
  assert_int_equal(osq_perm_check(p, OSQ_PERM_AUTOLOAD, &fd, err, sizeof err),
                   OSQ_PERM_OK);
  assert_int_equal(rename(evil, p), 0);

  osq_launch_args a = {.exec_fd = fd, .path = p, .socket = "/nonexistent"};
  pid_t pid = osq_launch(&a, err, sizeof err);
  close(fd);
  assert_true(pid > 0);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  FILE *f = fopen(out, "r");
  assert_non_null(f);
  char line[64] = "";
  assert_non_null(fgets(line, sizeof line, f));
  fclose(f);
  assert_string_equal(line, "checked\n");
}

/* A directory swapped (renameat2 RENAME_EXCHANGE) again and again while
 * extensions start: good/ passes the rules, evil/ is writable by others.
 * The check examines and runs what it opened, so a start either runs
 * good/x.ext or is refused; evil/x.ext never runs. */
struct swapper {
  char a[PATH_MAX], b[PATH_MAX];
  _Atomic bool stop;
  _Atomic unsigned swaps;
};

static void *swap_main(void *arg) {
  struct swapper *sw = arg;
  while (!sw->stop)
    if (renameat2(AT_FDCWD, sw->a, AT_FDCWD, sw->b, RENAME_EXCHANGE) == 0)
      sw->swaps++;
  return NULL;
}

static void test_directory_swap_race(void **state) {
  (void)state;
  char good[PATH_MAX], evil[PATH_MAX], out[PATH_MAX], p[PATH_MAX + 16];
  char script[3 * PATH_MAX];
  pathf(good, "good");
  pathf(evil, "evil");
  pathf(out, "race.out");
  unlink(out);
  assert_int_equal(mkdir(good, 0755), 0);
  assert_int_equal(mkdir(evil, 0755), 0);
  assert_int_equal(chmod(evil, 0777), 0);
  snprintf(p, sizeof p, "%s/x.ext", good);
  snprintf(script, sizeof script, "#!/bin/sh\necho good >> '%s'\n", out);
  put_file(p, script, 0755);
  snprintf(p, sizeof p, "%s/x.ext", evil);
  snprintf(script, sizeof script, "#!/bin/sh\necho evil >> '%s'\n", out);
  put_file(p, script, 0755);

  struct stat ist;
  snprintf(p, sizeof p, "%s/x.ext", good);
  assert_int_equal(stat(p, &ist), 0);
  ino_t good_ino = ist.st_ino;

  static struct swapper sw;
  memset(&sw, 0, sizeof sw);
  snprintf(sw.a, sizeof sw.a, "%s", good);
  snprintf(sw.b, sizeof sw.b, "%s", evil);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, swap_main, &sw), 0);

  snprintf(p, sizeof p, "%s/x.ext", good); /* always this path */
  unsigned ran = 0, refused = 0;
  for (int i = 0; i < 150; i++) {
    int fd = -1;
    char err[1024];
    if (osq_perm_check(p, OSQ_PERM_AUTOLOAD, &fd, err, sizeof err) !=
        OSQ_PERM_OK) {
      refused++;
      continue;
    }
    osq_launch_args a = {.exec_fd = fd, .path = p, .socket = "/nonexistent"};
    pid_t pid = osq_launch(&a, err, sizeof err);
    close(fd);
    assert_true(pid > 0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ran++;
  }
  /* Many more checks without a launch, so that the swaps land inside the
   * check's window often: whatever passes must be good/x.ext's inode. */
  unsigned checked = 0;
  for (int i = 0; i < 20000; i++) {
    int fd = -1;
    char err[1024];
    if (osq_perm_check(p, OSQ_PERM_AUTOLOAD, &fd, err, sizeof err) !=
        OSQ_PERM_OK)
      continue;
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    close(fd);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_ino, good_ino);
    checked++;
  }
  (void)checked;
  sw.stop = true;
  pthread_join(th, NULL);
  assert_true(sw.swaps > 0);

  unsigned goods = 0, evils = 0;
  FILE *f = fopen(out, "r");
  char line[64];
  while (f && fgets(line, sizeof line, f))
    if (strcmp(line, "good\n") == 0)
      goods++;
    else
      evils++;
  if (f)
    fclose(f);
  assert_int_equal(evils, 0);
  assert_int_equal(goods, ran);
  assert_int_equal(ran + refused, 150);
}

static void test_launch_failure_reported(void **state) {
  (void)state;
  char p[PATH_MAX], err[1024], msg[2048];
  pathf(p, "badinterp.ext");
  put_file(p, "#!/nonexistent/interpreter\n", 0755);
  int fd = -1;
  assert_int_equal(osq_perm_check(p, 0, &fd, err, sizeof err), OSQ_PERM_OK);
  osq_launch_args a = {.exec_fd = fd, .path = p, .socket = "/x"};
  assert_int_equal(osq_launch(&a, err, sizeof err), -1);
  close(fd);
  snprintf(msg, sizeof msg,
           "cannot execute %s: No such file or directory (is its #! "
           "interpreter installed?)",
           p);
  assert_string_equal(err, msg);
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ok),
      cmocka_unit_test(test_suffix),
      cmocka_unit_test(test_missing),
      cmocka_unit_test(test_symlink),
      cmocka_unit_test(test_not_regular),
      cmocka_unit_test(test_owner),
      cmocka_unit_test(test_not_exec),
      cmocka_unit_test(test_group_write),
      cmocka_unit_test(test_other_write),
      cmocka_unit_test(test_dir_sticky),
      cmocka_unit_test(test_root_sticky_ancestor),
      cmocka_unit_test(test_dir_write),
      cmocka_unit_test(test_dir_owner),
      cmocka_unit_test(test_dir_parent_checked_too),
      cmocka_unit_test(test_allow_unsafe),
      cmocka_unit_test(test_swap_after_check),
      cmocka_unit_test(test_directory_swap_race),
      cmocka_unit_test(test_launch_failure_reported),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  osq_flags_shutdown();
  return rc;
}
