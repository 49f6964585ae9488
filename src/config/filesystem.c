#include "config/filesystem.h"

#include "config/config.h"
#include "core/flags.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *osq_read_file_bounded(const char *path, size_t max, size_t *len,
                            char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "not a regular file: %s", path);
    close(fd);
    return NULL;
  }
  size_t cap = max + 1;
  char *buf = malloc(cap + 1);
  if (buf == NULL) {
    close(fd);
    snprintf(err, errlen, "out of memory reading %s", path);
    return NULL;
  }
  size_t n = 0;
  while (n < cap) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
      free(buf);
      close(fd);
      return NULL;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  *len = n;
  return buf;
}

static int add_file(osq_strmap *out, const char *path) {
  char err[512];
  size_t len;
  char *text =
      osq_read_file_bounded(path, OSQ_CONFIG_MAX_SIZE, &len, err, sizeof err);
  if (text == NULL) {
    OSQ_WARN("Skipping config source: %s", err);
    return 0;
  }
  int rc = osq_strmap_set(out, path, text, len);
  free(text);
  return rc;
}

static int fs_generate(osq_strmap *out, void *udata) {
  (void)udata;
  const char *path = OSQ_FLAG_STR(config_path);
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    osq_strmap_error(out, "config file does not exist: %s", path);
    return OSQ_ERROR;
  }
  int rc = add_file(out, path);
  char dir[4096];
  if (rc == 0 && snprintf(dir, sizeof dir, "%s.d", path) < (int)sizeof dir) {
    DIR *d = opendir(dir);
    if (d) {
      struct dirent *e;
      while (rc == 0 && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 5, ".conf") != 0)
          continue;
        char full[4096 + 256];
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
          rc = add_file(out, full);
      }
      closedir(d);
    }
  }
  if (rc != 0) {
    osq_strmap_error(out, "cannot collect config sources: %s",
                     osq_strerror(rc));
    return OSQ_ERROR;
  }
  return OSQ_OK;
}

static int fs_gen_pack(const char *name, const char *value, osq_strmap *out,
                       void *udata) {
  (void)udata;
  char err[512];
  size_t len;
  if (strcmp(name, "*") != 0) {
    char *text = osq_read_file_bounded(value, OSQ_CONFIG_MAX_SIZE, &len, err,
                                       sizeof err);
    if (text == NULL) {
      osq_strmap_error(out, "%s", err);
      return OSQ_ERROR;
    }
    int rc = osq_strmap_set(out, name, text, len);
    free(text);
    return rc;
  }
  /* osquery's % wildcard is glob's * */
  char pat[4096];
  size_t o = 0;
  for (const char *p = value; *p && o + 2 < sizeof pat; p++)
    pat[o++] = *p == '%' ? '*' : *p;
  pat[o] = '\0';
  glob_t g;
  memset(&g, 0, sizeof g);
  if (glob(pat, 0, NULL, &g) != 0) {
    globfree(&g);
    return OSQ_OK; /* no match: no packs */
  }
  for (size_t i = 0; i < g.gl_pathc; i++) {
    const char *path = g.gl_pathv[i];
    char *text =
        osq_read_file_bounded(path, OSQ_CONFIG_MAX_SIZE, &len, err, sizeof err);
    if (text == NULL) {
      OSQ_WARN("Skipping pack file: %s", err);
      continue;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char stem[256];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
      *dot = '\0';
    osq_strmap_set(out, stem, text, len);
    free(text);
  }
  globfree(&g);
  return OSQ_OK;
}

const osq_config_plugin osq_config_filesystem = {
    .name = "filesystem",
    .generate = fs_generate,
    .gen_pack = fs_gen_pack,
};
