/* Shared by the loader tests: a scratch directory (mode 0755, under the
 * build directory so its ancestors pass the permission rules) and files in
 * it. Include after cmocka.h. */
#ifndef LOADER_FIXTURE_H
#define LOADER_FIXTURE_H

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[PATH_MAX];

static inline void scratch_make(const char *prefix) {
  char cwd[PATH_MAX];
  assert_non_null(getcwd(cwd, sizeof cwd));
  snprintf(dir, sizeof dir, "%s/%s_XXXXXX", cwd, prefix);
  assert_non_null(mkdtemp(dir));
  assert_int_equal(chmod(dir, 0755), 0);
}

static inline int scratch_remove(void) {
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static inline void pathf(char *out, const char *name) {
  snprintf(out, PATH_MAX, "%s/%s", dir, name);
}

/* A file holding text, with mode (replacing any file of that name). */
static inline void put_file(const char *path, const char *text, mode_t mode) {
  unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  assert_int_equal(chmod(path, mode), 0);
}

#endif
