/* apt_sources and yum_sources: the package repositories apt and yum are
 * configured with.
 *
 * Every file is opened beneath one root directory (the host's "/", or a
 * container's root for pid_with_namespace) with symlinks confined to it.
 * Files are read line by line with a bounded length and size. */
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"
#include "repo_sources.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Overridable for tests (repo_sources.h). */
const char *osq_tables_sources_root = "/";

/* Source files and Release files are small; a larger one is not read. */
#define SOURCE_FILE_MAX (4u << 20)
/* The most source files read from one directory. */
#define SOURCE_FILES_MAX 4096

/* A file beneath rootfd as a stream, or NULL. */
static FILE *open_under(int rootfd, const char *path) {
  int fd = osq_tbl_open_beneath(rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  return fd < 0 ? NULL : osq_tbl_fdopen_regular(fd, SOURCE_FILE_MAX);
}

/* The names in directory dir beneath rootfd that end with suffix (and,
 * if prefix is not NULL, start with it), sorted. */
static void list_under(int rootfd, const char *dir, const char *prefix,
                       const char *suffix, osq_pathlist *out) {
  int fd = osq_tbl_open_beneath(rootfd, dir, O_RDONLY | O_DIRECTORY);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL) {
    if (fd >= 0)
      close(fd);
    return;
  }
  size_t pl = prefix ? strlen(prefix) : 0, sl = strlen(suffix);
  struct dirent *e;
  while ((e = readdir(d)) != NULL && out->n < SOURCE_FILES_MAX) {
    size_t nl = strlen(e->d_name);
    if (e->d_name[0] == '.' || nl < pl + sl ||
        (prefix && strncmp(e->d_name, prefix, pl) != 0) ||
        strcmp(e->d_name + nl - sl, suffix) != 0)
      continue;
    if (osq_pathlist_add(out, e->d_name) != 0)
      break;
  }
  closedir(d);
  osq_pathlist_unique(out);
}

/* Run fn once per root: the pid_with_namespace pids' roots, or the host's
 * (ns_pid 0). */
typedef int (*root_fn)(int rootfd, int64_t ns_pid, osq_rows *out);

static int each_root(const osq_context *ctx, size_t ns_col, osq_rows *out,
                     root_fn fn) {
  int64_t pids[OSQ_TBL_NS_PIDS_MAX];
  size_t np = osq_tbl_ns_pids(ctx, ns_col, pids, OSQ_TBL_NS_PIDS_MAX);
  int rc = OSQ_OK;
  if (np == 0) {
    int rootfd = open(osq_tables_sources_root,
                      O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
      return OSQ_OK;
    rc = fn(rootfd, 0, out);
    close(rootfd);
    return rc;
  }
  for (size_t i = 0; i < np && rc == OSQ_OK; i++) {
    int rootfd = osq_tbl_root_of(pids[i]);
    if (rootfd < 0)
      continue; /* gone, or not ours to read */
    rc = fn(rootfd, pids[i], out);
    close(rootfd);
  }
  return rc;
}

/* ---- apt_sources ------------------------------------------------------ */

enum {
  A_NAME, A_SOURCE, A_BASE_URI, A_RELEASE, A_VERSION, A_MAINTAINER,
  A_COMPONENTS, A_ARCHITECTURES, A_PID_WITH_NAMESPACE
};

static const osq_column apt_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"source", OSQ_TYPE_TEXT, 0},
    {"base_uri", OSQ_TYPE_TEXT, 0},
    {"release", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION_DPKG},
    {"maintainer", OSQ_TYPE_TEXT, 0},
    {"components", OSQ_TYPE_TEXT, 0},
    {"architectures", OSQ_TYPE_TEXT, 0},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};

#define APT_LISTS "/var/lib/apt/lists"

typedef struct apt_ctx {
  int rootfd;
  int64_t ns_pid;
  osq_rows *out;
  const char *source; /* the sources file, as a path inside the root */
} apt_ctx;

/* One Release header field of the fields osquery reports. */
static void release_field(osq_rows *out, char *line) {
  static const struct {
    const char *key;
    size_t col;
  } fields[] = {{"Codename", A_RELEASE},    {"Version", A_VERSION},
                {"Origin", A_MAINTAINER},   {"Components", A_COMPONENTS},
                {"Architectures", A_ARCHITECTURES}};
  char *colon = strchr(line, ':');
  /* like osquery, a value with a ':' of its own (Date: ..) is skipped */
  if (colon == NULL || strchr(colon + 1, ':'))
    return;
  *colon = '\0';
  char *key = osq_tbl_trim(line), *value = osq_tbl_trim(colon + 1);
  if (*value == '\0')
    return;
  for (size_t i = 0; i < OSQ_NCOLS(fields); i++)
    if (strcmp(key, fields[i].key) == 0)
      osq_rows_cstr(out, fields[i].col, value);
}

/* A row for base_uri + suite, if apt has its Release file cached (as in
 * osquery, a source apt never fetched is not listed). */
static int apt_row(apt_ctx *a, const char *uri, const char *suite) {
  const char *host = strstr(uri, "://") + 3;
  /* apt names the cache file "<host/path>_dists_<suite>_Release" (or
   * "<host/path>_<suite parts>_" for a flat repository's "dir/" suite),
   * every '/' becoming '_'; InRelease files match the pattern too */
  char cache[PATH_MAX];
  size_t n = 0;
  bool flat = strchr(suite, '/') != NULL;
  const char *parts[] = {host, flat ? suite : "dists", flat ? NULL : suite};
  for (size_t i = 0; i < 3 && parts[i]; i++) {
    char copy[PATH_MAX], *save = NULL;
    snprintf(copy, sizeof copy, "%s", parts[i]);
    for (char *t = strtok_r(copy, "/", &save); t;
         t = strtok_r(NULL, "/", &save)) {
      size_t tl = strlen(t);
      if (n + tl + 2 >= sizeof cache)
        return OSQ_OK;
      memcpy(cache + n, t, tl);
      n += tl;
      cache[n++] = '_';
    }
  }
  cache[n] = '\0';
  osq_pathlist found = {0};
  list_under(a->rootfd, APT_LISTS, cache, "Release", &found);
  if (found.n == 0) {
    osq_pathlist_free(&found);
    return OSQ_OK;
  }
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", APT_LISTS, found.items[0]);
  osq_pathlist_free(&found);
  FILE *f = open_under(a->rootfd, path);
  if (f == NULL)
    return OSQ_OK;
  char line[OSQ_TBL_LINE_MAX];
  int got;
  while ((got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0)
      continue;
    if (strcmp(line, "-----BEGIN PGP SIGNATURE-----") == 0)
      break;
    release_field(a->out, line);
  }
  fclose(f);
  char name[PATH_MAX + 256];
  snprintf(name, sizeof name, "%s %s", host, suite);
  osq_rows_cstr(a->out, A_NAME, name);
  osq_rows_cstr(a->out, A_SOURCE, a->source);
  osq_rows_cstr(a->out, A_BASE_URI, uri);
  osq_rows_int(a->out, A_PID_WITH_NAMESPACE, a->ns_pid);
  return osq_rows_end(a->out);
}

/* "deb [options] uri suite [components]" (deb-src lines are left out). */
static int apt_list_line(apt_ctx *a, char *line) {
  line[strcspn(line, "#")] = '\0';
  char *deb = strstr(line, "deb ");
  if (deb == NULL)
    return OSQ_OK;
  char *tok[64];
  int n = osq_tbl_tokens(deb + 4, " \t", tok, 64), i = 0;
  if (n >= 1 && tok[0][0] == '[') {
    while (i < n && strchr(tok[i], ']') == NULL)
      i++;
    i++;
  }
  if (i + 1 >= n || strstr(tok[i], "://") == NULL)
    return OSQ_OK;
  char *uri = tok[i];
  size_t ul = strlen(uri);
  while (ul > 0 && uri[ul - 1] == '/')
    uri[--ul] = '\0';
  if (strstr(uri, "://")[3] == '\0')
    return OSQ_OK;
  return apt_row(a, uri, tok[i + 1]);
}

/* The uris and suites of one deb822 paragraph, then its rows. */
typedef struct deb822 {
  char uris[OSQ_TBL_LINE_MAX];
  char suites[OSQ_TBL_LINE_MAX];
  bool not_deb, disabled;
} deb822;

static int deb822_end(apt_ctx *a, deb822 *p) {
  int rc = OSQ_OK;
  if (!p->not_deb && !p->disabled) {
    char *us = NULL;
    for (char *u = strtok_r(p->uris, " \t", &us); u && rc == OSQ_OK;
         u = strtok_r(NULL, " \t", &us)) {
      size_t ul = strlen(u);
      while (ul > 0 && u[ul - 1] == '/')
        u[--ul] = '\0';
      char *scheme = strstr(u, "://");
      if (scheme == NULL || scheme[3] == '\0')
        continue;
      char suites[OSQ_TBL_LINE_MAX], *ss = NULL;
      memcpy(suites, p->suites, sizeof suites);
      for (char *s = strtok_r(suites, " \t", &ss); s && rc == OSQ_OK;
           s = strtok_r(NULL, " \t", &ss))
        rc = apt_row(a, u, s);
    }
  }
  memset(p, 0, sizeof *p);
  return rc;
}

static void deb822_line(deb822 *p, char *line) {
  line[strcspn(line, "#")] = '\0';
  char *colon = strchr(line, ':');
  if (colon == NULL)
    return;
  *colon = '\0';
  char *value = osq_tbl_trim(colon + 1);
  for (char *k = line; *k; k++)
    *k = (char)tolower((unsigned char)*k);
  char *key = osq_tbl_trim(line);
  if (*value == '\0')
    return;
  if (strcmp(key, "types") == 0) {
    char copy[OSQ_TBL_LINE_MAX], *save = NULL;
    snprintf(copy, sizeof copy, "%s", value);
    bool deb = false;
    for (char *t = strtok_r(copy, " \t", &save); t && !deb;
         t = strtok_r(NULL, " \t", &save))
      deb = strcmp(t, "deb") == 0;
    p->not_deb = !deb;
  } else if (strcmp(key, "enabled") == 0) {
    /* deb822 says yes/no; osquery looks for "on" */
    p->disabled = strcmp(value, "on") != 0 && strcmp(value, "yes") != 0;
  } else if (strcmp(key, "uris") == 0 || strcmp(key, "suites") == 0) {
    char *dst = key[0] == 'u' ? p->uris : p->suites;
    size_t dl = strlen(dst), vl = strlen(value);
    if (dl + vl + 2 < OSQ_TBL_LINE_MAX) {
      if (dl)
        dst[dl++] = ' ';
      memcpy(dst + dl, value, vl + 1);
    }
  }
}

static int apt_file(apt_ctx *a, bool deb822_format) {
  FILE *f = open_under(a->rootfd, a->source);
  if (f == NULL)
    return OSQ_OK;
  char line[OSQ_TBL_LINE_MAX];
  deb822 *p = deb822_format ? calloc(1, sizeof *p) : NULL;
  int rc = deb822_format && p == NULL ? OSQ_ENOMEM : OSQ_OK, got;
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0)
      continue;
    if (!deb822_format)
      rc = apt_list_line(a, line);
    else if (line[0] == '\0')
      rc = deb822_end(a, p);
    else
      deb822_line(p, line);
  }
  if (rc == OSQ_OK && p != NULL)
    rc = deb822_end(a, p);
  free(p);
  fclose(f);
  return rc;
}

static int apt_root(int rootfd, int64_t ns_pid, osq_rows *out) {
  apt_ctx a = {rootfd, ns_pid, out, "/etc/apt/sources.list"};
  int rc = apt_file(&a, false);
  static const char *const kinds[] = {".list", ".sources"};
  for (int k = 0; k < 2 && rc == OSQ_OK; k++) {
    osq_pathlist names = {0};
    list_under(rootfd, "/etc/apt/sources.list.d", NULL, kinds[k], &names);
    for (size_t i = 0; i < names.n && rc == OSQ_OK; i++) {
      char path[PATH_MAX];
      snprintf(path, sizeof path, "/etc/apt/sources.list.d/%s",
               names.items[i]);
      a.source = path;
      rc = apt_file(&a, k == 1);
    }
    osq_pathlist_free(&names);
  }
  return rc;
}

static int apt_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  return each_root(ctx, A_PID_WITH_NAMESPACE, out, apt_root);
}

const osq_table_plugin osq_table_apt_sources = {
    .name = "apt_sources",
    .columns = apt_columns,
    .ncolumns = OSQ_NCOLS(apt_columns),
    .generate = apt_generate,
};

/* ---- yum_sources ------------------------------------------------------ */

enum {
  Y_NAME, Y_SOURCE, Y_BASEURL, Y_MIRRORLIST, Y_METALINK, Y_ENABLED,
  Y_GPGCHECK, Y_GPGKEY, Y_PID_WITH_NAMESPACE
};

static const osq_column yum_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"source", OSQ_TYPE_TEXT, 0},
    {"baseurl", OSQ_TYPE_TEXT, 0},
    {"mirrorlist", OSQ_TYPE_TEXT, 0},
    {"metalink", OSQ_TYPE_TEXT, 0},
    {"enabled", OSQ_TYPE_TEXT, 0},
    {"gpgcheck", OSQ_TYPE_TEXT, 0},
    {"gpgkey", OSQ_TYPE_TEXT, 0},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};

/* Options of one repository section, in column order after source. */
static const char *const yum_keys[] = {"name",    "baseurl",  "mirrorlist",
                                       "metalink", "enabled", "gpgcheck",
                                       "gpgkey"};
static const size_t yum_cols[] = {Y_NAME,    Y_BASEURL,  Y_MIRRORLIST,
                                  Y_METALINK, Y_ENABLED, Y_GPGCHECK,
                                  Y_GPGKEY};

typedef struct yum_section {
  char id[256];
  char *value[7]; /* malloc'd, or NULL */
} yum_section;

typedef struct yum_file {
  yum_section *s;
  size_t n, cap;
  char reposdir[PATH_MAX]; /* [main] reposdir=, if set */
} yum_file;

static void yum_free(yum_file *y) {
  for (size_t i = 0; i < y->n; i++)
    for (int k = 0; k < 7; k++)
      free(y->s[i].value[k]);
  free(y->s);
  memset(y, 0, sizeof *y);
}

/* Parse an INI file as boost's ini_parser (osquery's) does: "[section]",
 * "key=value" (both trimmed), ';' or '#' comment lines. A line that is
 * none of these makes the whole file unreadable, as in osquery; so does a
 * section or key given twice. Returns false then. */
static bool yum_parse(FILE *f, yum_file *y) {
  char line[OSQ_TBL_LINE_MAX];
  int got;
  yum_section *cur = NULL;
  bool in_main = false;
  while ((got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0)
      return false;
    char *l = osq_tbl_trim(line);
    if (*l == '\0' || *l == ';' || *l == '#')
      continue;
    if (*l == '[') {
      char *close = strchr(l, ']');
      if (close == NULL || close[1] != '\0')
        return false;
      *close = '\0';
      char *id = osq_tbl_trim(l + 1);
      in_main = strcmp(id, "main") == 0;
      cur = NULL;
      for (size_t i = 0; i < y->n; i++)
        if (strcmp(y->s[i].id, id) == 0)
          return false;
      if (in_main)
        continue;
      if (y->n == y->cap) {
        size_t cap = y->cap ? y->cap * 2 : 8;
        if (cap > SOURCE_FILES_MAX)
          return false;
        yum_section *g = realloc(y->s, cap * sizeof *g);
        if (g == NULL)
          return false;
        y->s = g;
        y->cap = cap;
      }
      cur = &y->s[y->n++];
      memset(cur, 0, sizeof *cur);
      snprintf(cur->id, sizeof cur->id, "%s", id);
      continue;
    }
    char *eq = strchr(l, '=');
    if (eq == NULL)
      return false;
    *eq = '\0';
    char *key = osq_tbl_trim(l), *value = osq_tbl_trim(eq + 1);
    if (in_main) {
      if (strcmp(key, "reposdir") == 0)
        snprintf(y->reposdir, sizeof y->reposdir, "%s", value);
      continue;
    }
    if (cur == NULL)
      continue; /* before any section */
    for (int k = 0; k < 7; k++) {
      if (strcmp(key, yum_keys[k]) != 0)
        continue;
      if (cur->value[k] != NULL)
        return false;
      cur->value[k] = strdup(value);
    }
  }
  return true;
}

/* The rows of one file; *reposdir gets [main] reposdir when set. */
static int yum_conf(int rootfd, int64_t ns_pid, const char *path,
                    osq_rows *out, char *reposdir, size_t cap) {
  FILE *f = open_under(rootfd, path);
  if (f == NULL)
    return OSQ_OK;
  yum_file y = {0};
  bool ok = yum_parse(f, &y);
  fclose(f);
  int rc = OSQ_OK;
  if (ok) {
    if (reposdir && y.reposdir[0])
      snprintf(reposdir, cap, "%s", y.reposdir);
    for (size_t i = 0; i < y.n && rc == OSQ_OK; i++) {
      osq_rows_cstr(out, Y_SOURCE, path);
      for (int k = 0; k < 7; k++)
        osq_rows_cstr(out, yum_cols[k], y.s[i].value[k]);
      osq_rows_int(out, Y_PID_WITH_NAMESPACE, ns_pid);
      rc = osq_rows_end(out);
    }
  }
  yum_free(&y);
  return rc;
}

static int yum_root(int rootfd, int64_t ns_pid, osq_rows *out) {
  char reposdir[PATH_MAX] = "/etc/yum.repos.d";
  int rc = yum_conf(rootfd, ns_pid, "/etc/yum.conf", out, reposdir,
                    sizeof reposdir);
  osq_pathlist names = {0};
  list_under(rootfd, reposdir, NULL, ".repo", &names);
  for (size_t i = 0; i < names.n && rc == OSQ_OK; i++) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", reposdir, names.items[i]) <
        (int)sizeof path)
      rc = yum_conf(rootfd, ns_pid, path, out, NULL, 0);
  }
  osq_pathlist_free(&names);
  return rc;
}

static int yum_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  return each_root(ctx, Y_PID_WITH_NAMESPACE, out, yum_root);
}

const osq_table_plugin osq_table_yum_sources = {
    .name = "yum_sources",
    .columns = yum_columns,
    .ncolumns = OSQ_NCOLS(yum_columns),
    .generate = yum_generate,
};
