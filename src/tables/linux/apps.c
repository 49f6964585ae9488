/* Bounded reads for the application tables (apps.h). */
#include "apps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *osq_tables_apps_root = "";

bool osq_apps_path(char *out, size_t cap, const char *abs) {
  int n = snprintf(out, cap, "%s%s", osq_tables_apps_root, abs);
  return n >= 0 && (size_t)n < cap;
}

char *osq_apps_slurp(const char *path, size_t max, size_t *len) {
  int fd;
  do
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  while (fd < 0 && errno == EINTR);
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
