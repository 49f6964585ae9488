/* The autoload file (--extensions_autoload): one path a line, '#' and ';'
 * comments, blank lines ignored; a directory adds the files directly
 * inside it in name order. Every line and file is bounded; a bad line is
 * reported with FILE:LINE and skipped, the rest still load. */
#include "loader.h"

#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int osq_autoload_parse(const char *text, size_t len, const char *file,
                       osq_autoload_fn fn, void *udata, char *err,
                       size_t errlen) {
  int found = 0;
  unsigned lineno = 0;
  char *buf = malloc(OSQ_LOADER_MAX_LINE + 1);
  if (!buf) {
    snprintf(err, errlen, "%s: out of memory", file);
    return -1;
  }
  size_t pos = 0;
  while (pos < len) {
    const char *start = text + pos;
    const char *nl = memchr(start, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - start) : len - pos;
    pos += n + (nl ? 1 : 0);
    if (++lineno > OSQ_LOADER_MAX_LINES) {
      snprintf(err, errlen, "%s: more than %d lines; split the list or "
               "name directories instead", file, OSQ_LOADER_MAX_LINES);
      free(buf);
      return -1;
    }
    while (n && is_space(*start)) {
      start++;
      n--;
    }
    while (n && is_space(start[n - 1]))
      n--;
    if (n == 0 || *start == '#' || *start == ';')
      continue;
    if (n > OSQ_LOADER_MAX_LINE) {
      OSQ_WARN("%s:%u: line is %zu bytes, longer than %d; skipped", file,
               lineno, n, OSQ_LOADER_MAX_LINE);
      continue;
    }
    if (memchr(start, '\0', n)) {
      OSQ_WARN("%s:%u: line contains a NUL byte; skipped", file, lineno);
      continue;
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    if (buf[0] != '/') {
      OSQ_WARN("%s:%u: %s is not an absolute path; skipped", file, lineno,
               buf);
      continue;
    }
    found++;
    fn(buf, lineno, udata);
  }
  free(buf);
  return found;
}

typedef struct load_ctx {
  osq_loader *l;
  const char *file;
  int added;
} load_ctx;

static void add_one(load_ctx *c, const char *path, unsigned line) {
  char err[1024];
  size_t before = osq_loader_count(c->l);
  if (osq_loader_add_path(c->l, path, true, err, sizeof err) != 0) {
    OSQ_WARN("%s:%u: %s", c->file, line, err);
    return;
  }
  if (osq_loader_count(c->l) > before)
    c->added++;
}

static int not_hidden(const struct dirent *d) { return d->d_name[0] != '.'; }

static void on_line(const char *path, unsigned line, void *udata) {
  load_ctx *c = udata;
  struct stat st;
  if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
    add_one(c, path, line); /* the check explains missing/symlink/... */
    return;
  }
  struct dirent **names = NULL;
  int n = scandir(path, &names, not_hidden, alphasort);
  if (n < 0) {
    OSQ_WARN("%s:%u: cannot list directory %s (%s); skipped", c->file, line,
             path, strerror(errno));
    return;
  }
  size_t plen = strlen(path);
  for (int i = 0; i < n; i++) {
    char full[OSQ_LOADER_MAX_LINE + 256 + 2];
    snprintf(full, sizeof full, "%s%s%s", path,
             plen && path[plen - 1] == '/' ? "" : "/", names[i]->d_name);
    struct stat est;
    if (lstat(full, &est) == 0 && S_ISDIR(est.st_mode))
      OSQ_VLOG("%s:%u: not descending into %s", c->file, line, full);
    else
      add_one(c, full, line);
    free(names[i]);
  }
  free(names);
}

/* The list decides what runs, so whoever may write it may add programs:
 * warn (as osquery's file checks do) when others could, naming the rule.
 * It is only a warning because every listed extension is still checked. */
static void warn_if_unsafe(const char *file, const struct stat *st) {
  unsigned mode = (unsigned)(st->st_mode & 07777);
  if (st->st_mode & (S_IWOTH | S_IWGRP))
    OSQ_WARN("extensions autoload file %s is writable by %s (mode %04o): "
             "they could add extensions to it; chmod %s %s (each listed "
             "extension is still checked)",
             file,
             (st->st_mode & S_IWOTH) && (st->st_mode & S_IWGRP)
                 ? "group and others"
             : (st->st_mode & S_IWOTH) ? "others"
                                       : "group",
             mode,
             (st->st_mode & S_IWOTH) && (st->st_mode & S_IWGRP) ? "go-w"
             : (st->st_mode & S_IWOTH)                          ? "o-w"
                                                                : "g-w",
             file);
  if (st->st_uid != 0 && st->st_uid != getuid())
    OSQ_WARN("extensions autoload file %s is owned by uid %u, not root or "
             "the running user (uid %u): its owner could add extensions to "
             "it; chown root %s (each listed extension is still checked)",
             file, (unsigned)st->st_uid, (unsigned)getuid(), file);
}

int osq_loader_read_autoload(osq_loader *l, const char *file, char *err,
                             size_t errlen) {
  if (err && errlen)
    err[0] = '\0';
  if (!file || !*file)
    return 0;
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) {
      OSQ_VLOG("no extensions autoload file at %s", file);
      return 0;
    }
    snprintf(err, errlen, "cannot read extensions autoload file %s: %s",
             file, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    snprintf(err, errlen,
             "extensions autoload file %s is not a regular file", file);
    return -1;
  }
  if (st.st_size > OSQ_LOADER_MAX_FILE) {
    close(fd);
    snprintf(err, errlen,
             "extensions autoload file %s is %lld bytes, more than %d",
             file, (long long)st.st_size, OSQ_LOADER_MAX_FILE);
    return -1;
  }
  warn_if_unsafe(file, &st);
  char *text = malloc(OSQ_LOADER_MAX_FILE + 1);
  if (!text) {
    close(fd);
    snprintf(err, errlen, "%s: out of memory", file);
    return -1;
  }
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, text + len, OSQ_LOADER_MAX_FILE + 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      snprintf(err, errlen, "cannot read extensions autoload file %s: %s",
               file, strerror(errno));
      close(fd);
      free(text);
      return -1;
    }
    if (n == 0)
      break;
    len += (size_t)n;
    if (len > OSQ_LOADER_MAX_FILE) {
      snprintf(err, errlen, "extensions autoload file %s grew beyond %d "
               "bytes while being read", file, OSQ_LOADER_MAX_FILE);
      close(fd);
      free(text);
      return -1;
    }
  }
  close(fd);
  load_ctx c = {.l = l, .file = file, .added = 0};
  int rc = osq_autoload_parse(text, len, file, on_line, &c, err, errlen);
  free(text);
  return rc < 0 ? -1 : c.added;
}
