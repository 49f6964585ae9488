#include "core/mkdirs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int make_one(const char *dir, mode_t mode) {
  if (mkdir(dir, mode) == 0)
    return 0;
  if (errno != EEXIST)
    return -1;
  struct stat st;
  if (stat(dir, &st) != 0)
    return -1;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  return 0;
}

int osq_mkdirs(const char *dir, mode_t mode) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  size_t n = strlen(buf);
  while (n > 1 && buf[n - 1] == '/')
    buf[--n] = '\0';
  if (n == 0)
    return 0;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/' || p[-1] == '/')
      continue;
    *p = '\0';
    int rc = make_one(buf, mode);
    *p = '/';
    if (rc != 0)
      return -1;
  }
  return make_one(buf, mode);
}

int osq_mkdirs_parent(const char *path, mode_t mode) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  char *slash = strrchr(buf, '/');
  if (slash == NULL)
    return 0;
  if (slash == buf)
    return 0; /* "/name": the root exists */
  *slash = '\0';
  return osq_mkdirs(buf, mode);
}
