/* extended_attributes: the extended attributes of files named by "path"
 * (or of the files in "directory"), values base64-encoded when they are
 * not printable text. security.capability is shown as libcap's text
 * ("cap_net_raw=ep"), as osquery shows it; libcap is loaded on first
 * need, so the table works (with the raw value) without it. */
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

enum { X_PATH, X_DIRECTORY, X_KEY, X_VALUE, X_BASE64 };

static const osq_column columns[] = {
    {"path", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED | OSQ_COL_OPTIMIZED},
    {"directory", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED | OSQ_COL_OPTIMIZED},
    {"key", OSQ_TYPE_TEXT, 0},
    {"value", OSQ_TYPE_TEXT, 0},
    {"base64", OSQ_TYPE_INTEGER, 0},
};

/* The kernel's own limits on a name list and on one value. */
#define XLIST_MAX 65536
#define XVALUE_MAX 65536

typedef struct xbuf {
  char list[XLIST_MAX];
  char value[XVALUE_MAX];
  char encoded[4 * (XVALUE_MAX / 3) + 8];
} xbuf;

/* ---- security.capability through libcap -------------------------------- */

static struct {
  void *(*get_file)(const char *);
  char *(*to_text)(void *, ssize_t *);
  int (*free_)(void *);
} libcap;
static pthread_once_t libcap_once = PTHREAD_ONCE_INIT;

static void libcap_load(void) {
  void *h = dlopen("libcap.so.2", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    return;
  void *g = dlsym(h, "cap_get_file"), *t = dlsym(h, "cap_to_text"),
       *f = dlsym(h, "cap_free");
  if (g == NULL || t == NULL || f == NULL)
    return; /* the handle stays: unloading a library is never safe here */
  /* ISO C has no conversion from void * to a function pointer */
  memcpy(&libcap.free_, &f, sizeof f);
  memcpy(&libcap.to_text, &t, sizeof t);
  memcpy(&libcap.get_file, &g, sizeof g);
}

/* libcap's text for path's file capabilities into buf; false if libcap
 * is missing or cannot decode them (the raw value is shown then). */
static bool capability_text(const char *path, char *buf, size_t cap) {
  pthread_once(&libcap_once, libcap_load);
  if (libcap.get_file == NULL)
    return false;
  void *caps = libcap.get_file(path);
  if (caps == NULL)
    return false;
  char *text = libcap.to_text(caps, NULL);
  libcap.free_(caps);
  if (text == NULL)
    return false;
  /* older libcap starts with "= " (all cleared, then the rest) */
  const char *t = strncmp(text, "= ", 2) == 0 ? text + 2 : text;
  snprintf(buf, cap, "%s", t);
  libcap.free_(text);
  return buf[0] != '\0';
}

static bool printable(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
      return false;
  return true;
}

/* The parent of path as osquery prints it: "/a/b" for "/a/b/c", "/" for
 * "/a". */
static void parent_of(const char *path, char *out, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    snprintf(out, cap, "%s", "");
    return;
  }
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  snprintf(out, cap, "%.*s", (int)n, path);
}

static int xattr_rows(osq_rows *out, const char *path, xbuf *b) {
  struct stat st;
  if (stat(path, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
    return OSQ_OK;
  ssize_t ln = listxattr(path, b->list, sizeof b->list);
  if (ln <= 0)
    return OSQ_OK; /* none, unsupported, or unreadable */
  char dir[PATH_MAX];
  parent_of(path, dir, sizeof dir);
  int rc = OSQ_OK;
  for (ssize_t off = 0; off < ln && rc == OSQ_OK;) {
    const char *name = b->list + off;
    size_t nl = strnlen(name, (size_t)(ln - off));
    off += (ssize_t)nl + 1;
    if (nl == 0 || off > ln)
      continue;
    ssize_t vn = getxattr(path, name, b->value, sizeof b->value);
    if (vn < 0)
      continue; /* removed meanwhile, or larger than the kernel allows */
    if (strcmp(name, "security.capability") == 0 &&
        capability_text(path, b->encoded, sizeof b->encoded)) {
      vn = (ssize_t)strlen(b->encoded);
      memcpy(b->value, b->encoded, (size_t)vn);
    }
    bool text = printable(b->value, (size_t)vn);
    osq_rows_cstr(out, X_PATH, path);
    osq_rows_cstr(out, X_DIRECTORY, dir);
    osq_rows_text(out, X_KEY, name, nl);
    if (text) {
      osq_rows_text(out, X_VALUE, b->value, (size_t)vn);
    } else {
      int en = EVP_EncodeBlock((unsigned char *)b->encoded,
                               (const unsigned char *)b->value, (int)vn);
      osq_rows_text(out, X_VALUE, b->encoded, en > 0 ? (size_t)en : 0);
    }
    osq_rows_int(out, X_BASE64, text ? 0 : 1);
    rc = osq_rows_end(out);
  }
  return rc;
}

/* The regular files of one directory (not recursive). */
static int xattr_dir(osq_rows *out, const char *dir, xbuf *b) {
  osq_pathlist names = {0};
  if (!osq_pathlist_readdir(&names, dir, NULL))
    return OSQ_OK;
  bool slash = dir[0] && dir[strlen(dir) - 1] == '/';
  int rc = OSQ_OK;
  for (size_t i = 0; i < names.n && rc == OSQ_OK; i++) {
    char path[PATH_MAX];
    struct stat st;
    int n = snprintf(path, sizeof path, "%s%s%s", dir, slash ? "" : "/",
                     names.items[i]);
    if (n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0 &&
        S_ISREG(st.st_mode))
      rc = xattr_rows(out, path, b);
  }
  osq_pathlist_free(&names);
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  osq_pathlist paths = {0}, dirs = {0};
  int rc = osq_glob_collect(ctx, X_PATH, OSQ_GLOB_FILES | OSQ_GLOB_DIRS,
                            &paths);
  if (rc == OSQ_OK && !osq_glob_constrained(ctx, X_PATH))
    rc = osq_glob_collect(ctx, X_DIRECTORY, OSQ_GLOB_DIRS, &dirs);
  xbuf *b = rc == OSQ_OK ? malloc(sizeof *b) : NULL;
  if (b == NULL) {
    osq_pathlist_free(&paths);
    osq_pathlist_free(&dirs);
    osq_rows_error(out, "extended_attributes: out of memory");
    return OSQ_ERROR;
  }
  for (size_t i = 0; i < paths.n && rc == OSQ_OK; i++)
    rc = xattr_rows(out, paths.items[i], b);
  for (size_t i = 0; i < dirs.n && rc == OSQ_OK; i++)
    rc = xattr_dir(out, dirs.items[i], b);
  free(b);
  osq_pathlist_free(&paths);
  osq_pathlist_free(&dirs);
  return rc;
}

const osq_table_plugin osq_table_extended_attributes = {
    .name = "extended_attributes",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .generate = generate,
};
