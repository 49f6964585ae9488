/* portage_packages, portage_use, portage_keywords: Gentoo's package
 * database and its package.* settings.
 *
 * /var/db/pkg/<category>/<name>-<version>/ is an installed package, with
 * one small file per property (SLOT, SIZE, EAPI, BUILD_TIME, repository,
 * USE); /var/lib/portage/world lists the packages the user asked for.
 * /etc/portage/package.{keywords,mask,unmask} hold one atom a line
 * ("=cat/name-1.2 ~amd64"); each may also be a directory of such files, as
 * portage allows. Every file is read with a bound; a line too long is
 * skipped. Nothing here on a system without portage. */
#include "apps.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A property file holds one short value; USE a few hundred flags. */
#define PROP_MAX 4096
#define USE_MAX (64 * 1024)
/* Lines of a package.* file or the world file. */
#define LIST_LINES_MAX 200000
/* Bytes of one package.* file or the world file. */
#define LIST_FILE_MAX (16u * 1024 * 1024)
/* Files of a package.* directory. */
#define LIST_FILES_MAX 1000

/* ---- atoms -------------------------------------------------------------- */

/* Split an atom ("=cat/name-1.2-r1", ">=cat/name-2", "cat/name") into its
 * name and version: the operators except a leading single '=' go with the
 * version, and the version starts at the last '-' after the '/' that a
 * digit follows ("-r1" revisions are part of the version). */
static void split_atom(const char *atom, char *name, size_t ncap,
                       char *version, size_t vcap) {
  char ops[8] = "";
  size_t no = 0;
  const char *s = atom;
  while (*s == '<' || *s == '>' || *s == '=') {
    if (!(no == 0 && *s == '=') && no < sizeof ops - 1)
      ops[no++] = *s;
    ops[no] = '\0';
    s++;
  }
  size_t n = strlen(s);
  if (n > 0 && s[n - 1] == '/')
    n--;
  const char *slash = memchr(s, '/', n);
  size_t from = slash ? (size_t)(slash - s) : 0;
  size_t cut = n;
  /* the last '-' + digit; failing that, the one before it */
  for (int tries = 0, end = (int)n; tries < 2; tries++) {
    int d = end - 1;
    while (d >= 0 && s[d] != '-')
      d--;
    if (d < 0 || (size_t)d <= from)
      break;
    if ((size_t)d + 1 < n && isdigit((unsigned char)s[d + 1])) {
      cut = (size_t)d;
      break;
    }
    end = d;
  }
  snprintf(name, ncap, "%.*s", (int)cut, s);
  if (cut < n)
    snprintf(version, vcap, "%s%.*s", ops, (int)(n - cut - 1), s + cut + 1);
  else
    snprintf(version, vcap, "%s", ops);
}

/* ---- small files -------------------------------------------------------- */

static bool read_prop(const char *dir, const char *file, char *out,
                      size_t cap) {
  char p[PATH_MAX + 32];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  char *text = osq_apps_slurp(p, cap - 1, NULL);
  if (text == NULL)
    return false;
  snprintf(out, cap, "%s", osq_tbl_trim(text));
  free(text);
  return true;
}

/* Each line's first two whitespace-separated words, for lines that are
 * not empty or comments, of a file or of every file of a directory. */
typedef int (*line_fn)(const char *word0, const char *word1, void *u);

static int each_line_file(const char *path, line_fn fn, void *u) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  FILE *f = fd < 0 ? NULL : osq_tbl_fdopen_regular(fd, LIST_FILE_MAX);
  if (f == NULL)
    return OSQ_OK;
  char line[OSQ_TBL_LINE_MAX];
  int got, rc = OSQ_OK;
  for (int n = 0; rc == OSQ_OK && n < LIST_LINES_MAX &&
                  (got = osq_tbl_getline(f, line, sizeof line)) != 0;
       n++) {
    char *w[2] = {NULL, NULL};
    if (got < 0 || osq_tbl_tokens(line, " \t\r", w, 2) == 0 || w[0][0] == '#')
      continue;
    rc = fn(w[0], w[1] ? w[1] : "", u);
  }
  fclose(f);
  return rc;
}

static int each_line(const char *path, line_fn fn, void *u) {
  struct stat st;
  if (stat(path, &st) != 0)
    return OSQ_OK;
  if (!S_ISDIR(st.st_mode))
    return each_line_file(path, fn, u);
  osq_pathlist files = {0};
  osq_pathlist_readdir(&files, path, osq_name_not_hidden);
  int rc = OSQ_OK;
  for (size_t i = 0; i < files.n && i < LIST_FILES_MAX && rc == OSQ_OK; i++) {
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", path, files.items[i]) < (int)sizeof p)
      rc = each_line_file(p, fn, u);
  }
  osq_pathlist_free(&files);
  return rc;
}

/* Every /var/db/pkg/<category>/<package> directory. */
typedef int (*pkg_fn)(const char *dir, const char *rel, void *u);

static int each_package(pkg_fn fn, void *u) {
  char db[PATH_MAX];
  if (!osq_apps_path(db, sizeof db, "/var/db/pkg"))
    return OSQ_OK;
  osq_pathlist cats = {0};
  osq_pathlist_readdir(&cats, db, osq_name_not_hidden);
  int rc = OSQ_OK;
  for (size_t i = 0; i < cats.n && rc == OSQ_OK; i++) {
    char cat[PATH_MAX];
    if (snprintf(cat, sizeof cat, "%s/%s", db, cats.items[i]) >=
        (int)sizeof cat)
      continue;
    osq_pathlist pkgs = {0};
    osq_pathlist_readdir(&pkgs, cat, osq_name_not_hidden);
    for (size_t k = 0; k < pkgs.n && rc == OSQ_OK; k++) {
      char dir[PATH_MAX], rel[PATH_MAX];
      struct stat st;
      if (snprintf(dir, sizeof dir, "%s/%s", cat, pkgs.items[k]) >=
              (int)sizeof dir ||
          stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        continue;
      snprintf(rel, sizeof rel, "%s/%s", cats.items[i], pkgs.items[k]);
      rc = fn(dir, rel, u);
    }
    osq_pathlist_free(&pkgs);
  }
  osq_pathlist_free(&cats);
  return rc;
}

/* ---- portage_packages --------------------------------------------------- */

enum {
  P_PACKAGE, P_VERSION, P_SLOT, P_BUILD_TIME, P_REPOSITORY, P_EAPI, P_SIZE,
  P_WORLD, P_COUNT
};

static const osq_column pkg_columns[] = {
    {"package", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"slot", OSQ_TYPE_TEXT, 0},
    {"build_time", OSQ_TYPE_BIGINT, 0},
    {"repository", OSQ_TYPE_TEXT, 0},
    {"eapi", OSQ_TYPE_BIGINT, 0},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"world", OSQ_TYPE_INTEGER, 0},
};
_Static_assert(sizeof pkg_columns / sizeof *pkg_columns == P_COUNT, "cols");

typedef struct pkg_scan {
  osq_rows *out;
  osq_pathlist world; /* package names (no version) */
} pkg_scan;

static int world_line(const char *w0, const char *w1, void *u) {
  (void)w1;
  pkg_scan *s = u;
  char name[PATH_MAX], version[256];
  split_atom(w0, name, sizeof name, version, sizeof version);
  name[strcspn(name, ":")] = '\0'; /* "dev-lang/python:3.11": a slot */
  return osq_pathlist_add(&s->world, name) == OSQ_OK ? OSQ_OK : OSQ_ENOMEM;
}

static void int_prop(osq_rows *out, size_t col, const char *dir,
                     const char *file) {
  char v[64];
  int64_t n;
  if (read_prop(dir, file, v, sizeof v) && osq_tbl_parse_i64(v, &n))
    osq_rows_int(out, col, n);
}

static int package_row(const char *dir, const char *rel, void *u) {
  pkg_scan *s = u;
  char name[PATH_MAX], version[256], v[PROP_MAX];
  split_atom(rel, name, sizeof name, version, sizeof version);
  osq_rows_cstr(s->out, P_PACKAGE, name);
  osq_rows_cstr(s->out, P_VERSION, version);
  bool in_world = false;
  for (size_t i = 0; i < s->world.n && !in_world; i++)
    in_world = strcmp(s->world.items[i], name) == 0;
  osq_rows_int(s->out, P_WORLD, in_world);
  if (read_prop(dir, "SLOT", v, sizeof v))
    osq_rows_cstr(s->out, P_SLOT, v);
  if (read_prop(dir, "repository", v, sizeof v))
    osq_rows_cstr(s->out, P_REPOSITORY, v);
  int_prop(s->out, P_SIZE, dir, "SIZE");
  int_prop(s->out, P_EAPI, dir, "EAPI");
  int_prop(s->out, P_BUILD_TIME, dir, "BUILD_TIME");
  return osq_rows_end(s->out);
}

static int pkg_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  pkg_scan s = {.out = out};
  char world[PATH_MAX];
  int rc = OSQ_OK;
  if (osq_apps_path(world, sizeof world, "/var/lib/portage/world"))
    rc = each_line(world, world_line, &s);
  if (rc == OSQ_OK)
    rc = each_package(package_row, &s);
  osq_pathlist_free(&s.world);
  return rc;
}

const osq_table_plugin osq_table_portage_packages = {
    .name = "portage_packages",
    .columns = pkg_columns,
    .ncolumns = OSQ_NCOLS(pkg_columns),
    .generate = pkg_generate,
};

/* ---- portage_use -------------------------------------------------------- */

enum { U_PACKAGE, U_VERSION, U_USE };

static const osq_column use_columns[] = {
    {"package", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"use", OSQ_TYPE_TEXT, 0},
};

static int use_rows(const char *dir, const char *rel, void *u) {
  osq_rows *out = u;
  char p[PATH_MAX + 8];
  snprintf(p, sizeof p, "%s/USE", dir);
  char *text = osq_apps_slurp(p, USE_MAX, NULL);
  if (text == NULL)
    return OSQ_OK;
  char name[PATH_MAX], version[256];
  split_atom(rel, name, sizeof name, version, sizeof version);
  int rc = OSQ_OK;
  char *save = NULL;
  for (char *flag = strtok_r(text, " \t\r\n", &save); flag && rc == OSQ_OK;
       flag = strtok_r(NULL, " \t\r\n", &save)) {
    osq_rows_cstr(out, U_PACKAGE, name);
    osq_rows_cstr(out, U_VERSION, version);
    osq_rows_cstr(out, U_USE, flag);
    rc = osq_rows_end(out);
  }
  free(text);
  return rc;
}

static int use_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  return each_package(use_rows, out);
}

const osq_table_plugin osq_table_portage_use = {
    .name = "portage_use",
    .columns = use_columns,
    .ncolumns = OSQ_NCOLS(use_columns),
    .generate = use_generate,
};

/* ---- portage_keywords --------------------------------------------------- */

enum { K_PACKAGE, K_VERSION, K_KEYWORD, K_MASK, K_UNMASK };

static const osq_column kw_columns[] = {
    {"package", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"keyword", OSQ_TYPE_TEXT, 0},
    {"mask", OSQ_TYPE_INTEGER, 0},
    {"unmask", OSQ_TYPE_INTEGER, 0},
};

/* One atom of the three files; an atom in several is one row. */
typedef struct kw_entry {
  char *atom, *keyword;
  bool mask, unmask;
} kw_entry;

typedef struct kw_list {
  kw_entry *e;
  size_t n, cap;
  int which; /* 0 keywords, 1 mask, 2 unmask */
} kw_list;

static int kw_line(const char *w0, const char *w1, void *u) {
  kw_list *l = u;
  if (l->which == 0 && w1[0] == '#')
    return OSQ_OK; /* osquery drops a keyword that is a comment */
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->e[i].atom, w0) == 0) {
      if (l->which == 1)
        l->e[i].mask = true;
      else if (l->which == 2)
        l->e[i].unmask = true;
      return OSQ_OK;
    }
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 32;
    kw_entry *e = realloc(l->e, cap * sizeof *e);
    if (e == NULL)
      return OSQ_ENOMEM;
    l->e = e;
    l->cap = cap;
  }
  kw_entry *e = &l->e[l->n];
  e->atom = strdup(w0);
  e->keyword = strdup(l->which == 0 ? w1 : "");
  if (e->atom == NULL || e->keyword == NULL) {
    free(e->atom);
    free(e->keyword);
    return OSQ_ENOMEM;
  }
  e->mask = l->which == 1;
  e->unmask = l->which == 2;
  l->n++;
  return OSQ_OK;
}

static int kw_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  static const char *const files[] = {"/etc/portage/package.keywords",
                                      "/etc/portage/package.mask",
                                      "/etc/portage/package.unmask"};
  kw_list l = {0};
  int rc = OSQ_OK;
  for (int i = 0; i < 3 && rc == OSQ_OK; i++) {
    char p[PATH_MAX];
    l.which = i;
    if (osq_apps_path(p, sizeof p, files[i]))
      rc = each_line(p, kw_line, &l);
  }
  for (size_t i = 0; i < l.n && rc == OSQ_OK; i++) {
    char name[PATH_MAX], version[256];
    split_atom(l.e[i].atom, name, sizeof name, version, sizeof version);
    osq_rows_cstr(out, K_PACKAGE, name);
    osq_rows_cstr(out, K_VERSION, version);
    osq_rows_cstr(out, K_KEYWORD, l.e[i].keyword);
    osq_rows_int(out, K_MASK, l.e[i].mask);
    osq_rows_int(out, K_UNMASK, l.e[i].unmask);
    rc = osq_rows_end(out);
  }
  for (size_t i = 0; i < l.n; i++) {
    free(l.e[i].atom);
    free(l.e[i].keyword);
  }
  free(l.e);
  return rc;
}

const osq_table_plugin osq_table_portage_keywords = {
    .name = "portage_keywords",
    .columns = kw_columns,
    .ncolumns = OSQ_NCOLS(kw_columns),
    .generate = kw_generate,
};
