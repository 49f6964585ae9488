/* python_packages: distributions installed in Python's site directories.
 *
 * System sites are <prefix>/lib/python*\/{dist,site}-packages under /usr
 * and /usr/local; each local user's own site is
 * ~/.local/lib/python*\/site-packages, reported with the user's uid. In a
 * site, every "*.dist-info" directory (wheel installs: METADATA) and
 * "*.egg-info" directory (setuptools: PKG-INFO) is one package, and so is
 * an "*.egg-info" file (distutils, Debian's python3-* packages: the file
 * is the PKG-INFO; osquery skips these, Python's importlib lists them). Only the
 * header of the metadata file is read (it ends at the first empty line),
 * line by line with a bounded length; a package whose metadata is missing
 * or unreadable is still a row, with its path. */
#include "apps.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"
#include "user_files.h"

#include <stdint.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum {
  C_NAME, C_UID, C_VERSION, C_SUMMARY, C_AUTHOR, C_LICENSE, C_PATH,
  C_DIRECTORY, C_PID_WITH_NAMESPACE, C_COUNT
};

static const osq_column columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"summary", OSQ_TYPE_TEXT, 0},
    {"author", OSQ_TYPE_TEXT, 0},
    {"license", OSQ_TYPE_TEXT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"directory", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};

_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

/* Header fields kept, by column. */
static const struct {
  const char *field;
  size_t col;
} fields[] = {
    {"Name", C_NAME},     {"Version", C_VERSION}, {"Summary", C_SUMMARY},
    {"Author", C_AUTHOR}, {"License", C_LICENSE},
};
#define NFIELDS (sizeof fields / sizeof *fields)
#define VALUE_MAX 1024
/* A header with more lines than this is not a package's metadata. */
#define HEADER_LINES_MAX 20000
/* Entries looked at in one site directory. */
#define SITE_ENTRIES_MAX 100000

typedef struct site_scan {
  const osq_context *ctx;
  osq_rows *out;
  osq_pathlist scanned; /* sites read so far */
  int64_t ns_pid;       /* pid_with_namespace, 0 for the host */
  char line[OSQ_TBL_LINE_MAX];
} site_scan;

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n > k && strcmp(s + n - k, suffix) == 0;
}

static bool is_package_dir_name(const char *name) {
  return ends_with(name, ".dist-info") || ends_with(name, ".egg-info");
}

/* Name, Version, … from the header of a METADATA / PKG-INFO file. */
static void read_metadata(const char *file, char *line,
                          char values[NFIELDS][VALUE_MAX], bool *set) {
  FILE *f = osq_apps_fopen(file);
  if (f == NULL)
    return;
  int got;
  for (int lines = 0; lines < HEADER_LINES_MAX &&
                      (got = osq_tbl_getline_crlf(f, line, OSQ_TBL_LINE_MAX)) != 0;
       lines++) {
    if (got < 0)
      continue;
    if (line[0] == '\0')
      break; /* the body (description) follows */
    if (line[0] == ' ' || line[0] == '\t')
      continue; /* a continuation of a multi-line value */
    char *colon = strchr(line, ':');
    if (colon == NULL)
      continue;
    *colon = '\0';
    for (size_t i = 0; i < NFIELDS; i++)
      if (!set[i] && strcasecmp(line, fields[i].field) == 0) {
        snprintf(values[i], VALUE_MAX, "%s", osq_tbl_trim(colon + 1));
        set[i] = true;
      }
  }
  fclose(f);
}

static int package_row(site_scan *s, const char *site, const char *entry,
                       bool has_uid, uint32_t uid) {
  char path[PATH_MAX], meta[PATH_MAX + 16];
  if (snprintf(path, sizeof path, "%s/%s", site, entry) >= (int)sizeof path)
    return OSQ_OK;
  struct stat st;
  if (osq_apps_stat(path, &st) != 0)
    return OSQ_OK;
  if (S_ISDIR(st.st_mode))
    snprintf(meta, sizeof meta, "%s/%s", path,
             ends_with(entry, ".dist-info") ? "METADATA" : "PKG-INFO");
  else if (S_ISREG(st.st_mode) && ends_with(entry, ".egg-info"))
    snprintf(meta, sizeof meta, "%s", path); /* distutils: the file is it */
  else
    return OSQ_OK;
  char values[NFIELDS][VALUE_MAX];
  bool set[NFIELDS] = {false};
  read_metadata(meta, s->line, values, set);
  for (size_t i = 0; i < NFIELDS; i++)
    if (set[i])
      osq_rows_cstr(s->out, fields[i].col, values[i]);
  if (has_uid)
    osq_rows_int(s->out, C_UID, uid);
  osq_rows_cstr(s->out, C_PATH, path);
  osq_rows_cstr(s->out, C_DIRECTORY, site);
  osq_rows_int(s->out, C_PID_WITH_NAMESPACE, s->ns_pid);
  return osq_rows_end(s->out);
}

/* Does site pass the "=" constraints on directory (if there are any)? */
static bool site_wanted(const osq_context *ctx, const char *site) {
  size_t n = osq_context_nconstraints(ctx, C_DIRECTORY), eq = 0;
  for (size_t i = 0; i < n; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_DIRECTORY, i);
    if (c->op != OSQ_OP_EQ)
      continue;
    eq++;
    if (strcmp(c->expr, site) == 0)
      return true;
  }
  return eq == 0;
}

static int scan_site(site_scan *s, const char *site, bool has_uid,
                     uint32_t uid) {
  if (!site_wanted(s->ctx, site))
    return OSQ_OK;
  if (osq_pathlist_add(&s->scanned, site) != OSQ_OK)
    return OSQ_ENOMEM;
  osq_pathlist entries = {0};
  osq_apps_readdir(&entries, site, is_package_dir_name);
  int rc = OSQ_OK;
  for (size_t i = 0; i < entries.n && i < SITE_ENTRIES_MAX && rc == OSQ_OK;
       i++)
    rc = package_row(s, site, entries.items[i], has_uid, uid);
  osq_pathlist_free(&entries);
  return rc;
}

static bool is_python_dir_name(const char *name) {
  return strncmp(name, "python", 6) == 0;
}

/* <lib>/python*\/<leaf> for each python* directory in lib. */
static int scan_lib(site_scan *s, const char *lib, const char *const *leaves,
                    size_t nleaves, bool has_uid, uint32_t uid) {
  osq_pathlist pythons = {0};
  osq_apps_readdir(&pythons, lib, is_python_dir_name);
  int rc = OSQ_OK;
  for (size_t i = 0; i < pythons.n && rc == OSQ_OK; i++)
    for (size_t k = 0; k < nleaves && rc == OSQ_OK; k++) {
      char site[PATH_MAX];
      if (snprintf(site, sizeof site, "%s/%s/%s", lib, pythons.items[i],
                   leaves[k]) < (int)sizeof site)
        rc = scan_site(s, site, has_uid, uid);
    }
  osq_pathlist_free(&pythons);
  return rc;
}

/* The site-scan of the query in progress, for the per-user callback. */
static _Thread_local site_scan *current_scan;

static int user_lib(osq_rows *out, uint32_t uid, const char *path,
                    char *line) {
  (void)out;
  (void)line;
  static const char *const leaves[] = {"site-packages"};
  return scan_lib(current_scan, path, leaves, 1, true, uid);
}

/* The packages as process ns_pid sees them (0: the host). Inside a
 * container only the system sites and "directory =" values are read: its
 * users are not the host's passwd users. */
static int generate_in(const osq_context *ctx, osq_rows *out,
                       int64_t ns_pid) {
  site_scan *s = malloc(sizeof *s);
  if (s == NULL)
    return OSQ_ENOMEM;
  s->ctx = ctx;
  s->out = out;
  s->scanned = (osq_pathlist){0};
  s->ns_pid = ns_pid;
  int rc = OSQ_OK;
  if (!osq_apps_enter_root(ns_pid)) {
    free(s);
    return OSQ_OK; /* the process is gone */
  }
  /* the system sites have no owner: a "uid =" constraint leaves them out */
  if (osq_tbl_count_op(ctx, C_UID, OSQ_OP_EQ) == 0) {
    static const char *const libs[] = {"/usr/local/lib", "/usr/lib"};
    static const char *const leaves[] = {"dist-packages", "site-packages"};
    for (size_t i = 0; i < 2 && rc == OSQ_OK; i++) {
      char lib[PATH_MAX];
      if (osq_apps_path(lib, sizeof lib, libs[i]))
        rc = scan_lib(s, lib, leaves, 2, false, 0);
    }
  }
  if (rc == OSQ_OK && ns_pid <= 0) {
    static const char *const names[] = {".local/lib"};
    current_scan = s;
    rc = osq_each_user_file(ctx, out, C_UID, names, 1, 1, true, user_lib);
    current_scan = NULL;
  }
  /* a "directory =" value that is none of the sites above (a virtualenv)
   * is read as given, with no owner, as osquery reads it */
  size_t n = osq_context_nconstraints(ctx, C_DIRECTORY);
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_DIRECTORY, i);
    bool seen = false;
    for (size_t k = 0; k < s->scanned.n && !seen; k++)
      seen = strcmp(s->scanned.items[k], c->expr) == 0;
    if (c->op == OSQ_OP_EQ && c->expr[0] == '/' && !seen &&
        osq_tbl_count_op(ctx, C_UID, OSQ_OP_EQ) == 0)
      rc = scan_site(s, c->expr, false, 0);
  }
  osq_apps_leave_root();
  osq_pathlist_free(&s->scanned);
  free(s);
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  int64_t pids[OSQ_TBL_NS_PIDS_MAX];
  size_t np = osq_tbl_ns_pids(ctx, C_PID_WITH_NAMESPACE, pids,
                              OSQ_TBL_NS_PIDS_MAX);
  if (np == 0)
    return generate_in(ctx, out, 0);
  int rc = OSQ_OK;
  for (size_t i = 0; i < np && rc == OSQ_OK; i++)
    rc = generate_in(ctx, out, pids[i]);
  return rc;
}

const osq_table_plugin osq_table_python_packages = {
    .name = "python_packages",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_USER_BASED,
    .generate = generate,
};
