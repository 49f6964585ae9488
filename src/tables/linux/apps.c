/* Bounded reads for the application tables (apps.h). */
#include "apps.h"
#include "core/flags.h"
#include "tables/fsglob.h"
#include "tables/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *osq_tables_apps_root = "";

/* The root directory of the process whose files are read, or -1. */
static _Thread_local int root_fd = -1;

bool osq_apps_enter_root(int64_t pid) {
  osq_apps_leave_root();
  if (pid <= 0)
    return true;
  int fd = osq_tbl_root_of(pid);
  if (fd < 0)
    return false;
  root_fd = fd;
  return true;
}

void osq_apps_leave_root(void) {
  if (root_fd >= 0)
    close(root_fd);
  root_fd = -1;
}

/* open(2) of path in the current root; -1 with errno set on failure. */
static int open_in_root(const char *path, int flags) {
  int fd;
  if (root_fd < 0) {
    do
      fd = open(path, flags | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd;
  }
  fd = osq_tbl_open_beneath(root_fd, path, flags);
  if (fd < 0) {
    errno = -fd;
    return -1;
  }
  return fd;
}

int osq_apps_stat(const char *path, struct stat *st) {
  if (root_fd < 0)
    return stat(path, st);
  int fd = open_in_root(path, O_PATH);
  if (fd < 0)
    return -1;
  int rc = fstat(fd, st);
  close(fd);
  return rc;
}

bool osq_apps_readdir(osq_pathlist *l, const char *dir,
                      bool (*keep)(const char *name)) {
  if (root_fd < 0)
    return osq_pathlist_readdir(l, dir, keep);
  int fd = open_in_root(dir, O_RDONLY | O_DIRECTORY);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (d == NULL) {
    if (fd >= 0)
      close(fd);
    return false;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
        (keep != NULL && !keep(e->d_name)))
      continue;
    if (osq_pathlist_add(l, e->d_name) != OSQ_OK)
      break;
  }
  closedir(d);
  osq_pathlist_unique(l);
  return true;
}

FILE *osq_apps_fopen(const char *path) {
  int fd = open_in_root(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return NULL;
  uint64_t max = OSQ_FLAG_UINT(read_max);
  return osq_tbl_fdopen_regular(fd, max ? max : 52428800);
}

bool osq_apps_path(char *out, size_t cap, const char *abs) {
  int n = snprintf(out, cap, "%s%s", osq_tables_apps_root, abs);
  return n >= 0 && (size_t)n < cap;
}

char *osq_apps_slurp(const char *path, size_t max, size_t *len) {
  int fd = open_in_root(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return NULL;
  struct stat st;
  char *buf = NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
      (uint64_t)st.st_size > max)
    goto out;
  /* the file may grow between fstat and read: never past max */
  size_t cap = (size_t)st.st_size + 1, n = 0;
  buf = malloc(cap);
  if (buf == NULL)
    goto out;
  while (n < cap - 1) {
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      free(buf);
      buf = NULL;
      goto out;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  if (len != NULL)
    *len = n;
out:
  close(fd);
  return buf;
}

json_t *osq_apps_json_file(const char *path, size_t max) {
  size_t n;
  char *text = osq_apps_slurp(path, max, &n);
  if (text == NULL)
    return NULL;
  json_error_t err;
  json_t *j = json_loadb(text, n, JSON_DECODE_ANY, &err);
  free(text);
  return j;
}

const char *osq_json_str(const json_t *obj, const char *key) {
  const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  return json_is_string(v) ? json_string_value(v) : NULL;
}
