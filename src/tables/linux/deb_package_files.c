/* deb_package_files: the files each installed Debian package owns, from
 * dpkg's lists (<admindir>/info/<package>.list, or
 * <package>:<arch>.list for Multi-Arch: same packages): what
 * `dpkg-query -L` prints, directories included.
 *
 * `package = 'x'` opens only x's lists; otherwise the info directory is
 * walked one list at a time and rows stream out, so 100,000 files cost
 * one line buffer. `package` is the name without its architecture, as in
 * deb_packages, so the two join on it. */
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_ADMINDIR "/var/lib/dpkg"
/* A list longer than this is not dpkg's: stop reading it. */
#define LIST_MAX ((uint64_t)256 << 20)

enum { C_PACKAGE, C_PATH, C_ADMINDIR, C_COUNT };

static const osq_column columns[] = {
    {"package", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"path", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"admindir", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL | OSQ_COL_OPTIMIZED},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

/* Is name "<pkg>.list" or "<pkg>:<arch>.list"? Sets *pkglen. */
static bool list_name(const char *name, size_t *pkglen) {
  size_t n = strlen(name);
  if (n <= 5 || strcmp(name + n - 5, ".list") != 0)
    return false;
  const char *colon = memchr(name, ':', n - 5);
  *pkglen = colon ? (size_t)(colon - name) : n - 5;
  return *pkglen > 0;
}

static int emit_list(osq_rows *out, int infofd, const char *file,
                     const char *pkg, size_t pkglen, const char *admindir) {
  int fd = openat(infofd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  /* O_NONBLOCK: a FIFO named like a list must not block the open */
  if (fd < 0)
    return OSQ_OK;
  FILE *f = osq_tbl_fdopen_regular(fd, LIST_MAX);
  if (f == NULL)
    return OSQ_OK;
  char line[PATH_MAX + 1];
  int r, rc = OSQ_OK;
  while (rc == OSQ_OK && (r = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (r < 0 || line[0] == '\0')
      continue; /* longer than any path: not a file name */
    osq_rows_text(out, C_PACKAGE, pkg, pkglen);
    osq_rows_cstr(out, C_PATH, line);
    osq_rows_cstr(out, C_ADMINDIR, admindir);
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

/* Every list of the admindir, or only those of package want. */
static int gen_admindir(osq_rows *out, const char *admindir,
                        const char *want) {
  char info[PATH_MAX];
  if (snprintf(info, sizeof info, "%s/info", admindir) >= (int)sizeof info)
    return OSQ_OK;
  int infofd = open(info, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (infofd < 0)
    return OSQ_OK; /* not a Debian system, or another admindir */
  int dupfd = dup(infofd);
  DIR *d = dupfd < 0 ? NULL : fdopendir(dupfd);
  if (d == NULL) {
    if (dupfd >= 0)
      close(dupfd);
    close(infofd);
    return OSQ_OK;
  }
  size_t wantlen = want ? strlen(want) : 0;
  int rc = OSQ_OK;
  struct dirent *e;
  while (rc == OSQ_OK && (e = readdir(d)) != NULL) {
    size_t pkglen;
    if (!list_name(e->d_name, &pkglen))
      continue;
    if (want && (pkglen != wantlen || memcmp(e->d_name, want, wantlen) != 0))
      continue;
    rc = emit_list(out, infofd, e->d_name, e->d_name, pkglen, admindir);
  }
  closedir(d);
  close(infofd);
  return rc;
}

static bool plain_eq(const osq_constraint *c) {
  return c->op == OSQ_OP_EQ && c->len > 0 && strlen(c->expr) == c->len &&
         strchr(c->expr, '/') == NULL;
}

static int gen_packages(const osq_context *ctx, osq_rows *out,
                        const char *admindir) {
  size_t n = osq_context_nconstraints(ctx, C_PACKAGE);
  bool only_eq = n > 0;
  for (size_t i = 0; i < n; i++)
    if (osq_context_constraint(ctx, C_PACKAGE, i)->op != OSQ_OP_EQ)
      only_eq = false;
  if (!only_eq)
    return gen_admindir(out, admindir, NULL);
  int rc = OSQ_OK;
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_PACKAGE, i);
    if (plain_eq(c)) /* a name with '/' names no list: no rows */
      rc = gen_admindir(out, admindir, c->expr);
  }
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  size_t n = osq_context_nconstraints(ctx, C_ADMINDIR);
  bool any = false;
  int rc = OSQ_OK;
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_ADMINDIR, i);
    if (c->op != OSQ_OP_EQ || c->len == 0 || strlen(c->expr) != c->len)
      continue;
    any = true;
    rc = gen_packages(ctx, out, c->expr);
  }
  if (!any && rc == OSQ_OK)
    rc = gen_packages(ctx, out, DEFAULT_ADMINDIR);
  return rc;
}

const osq_table_plugin osq_table_deb_package_files = {
    .name = "deb_package_files",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .generate = generate,
};
