/* npm_packages: Node packages in node_modules trees.
 *
 * The trees are the global prefixes (/usr/local/lib, /usr/lib), each
 * local user's ~/.npm-global/lib, or the directories a "directory ="
 * constraint names (a project). In <dir>/node_modules every <name> and
 * @scope/<name> with a package.json is a package at depth 0; its own
 * node_modules holds its nested ones at depth 1, and so on down to
 * max_depth (default 100, -1 for no limit). A package.json that is not
 * JSON is a row with its path only.
 *
 * Bounds: manifests are read up to OSQ_APPS_MANIFEST_MAX; a directory
 * that is already on the way down (a symlink loop) is not entered again;
 * one query reads at most OSQ_GLOB_MAX_DIRS node_modules directories. */
#include "apps.h"
#include "core/cancel.h"
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"
#include "user_files.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
  C_NAME, C_VERSION, C_DESCRIPTION, C_AUTHOR, C_LICENSE, C_HOMEPAGE, C_PATH,
  C_DIRECTORY, C_DEPTH, C_MAX_DEPTH, C_PID_WITH_NAMESPACE,
  C_MOUNT_NAMESPACE_ID, C_COUNT
};

static const osq_column columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"description", OSQ_TYPE_TEXT, 0},
    {"author", OSQ_TYPE_TEXT, 0},
    {"license", OSQ_TYPE_TEXT, 0},
    {"homepage", OSQ_TYPE_TEXT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"directory", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"depth", OSQ_TYPE_INTEGER, 0},
    {"max_depth", OSQ_TYPE_INTEGER, OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"mount_namespace_id", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
};

_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

#define DEFAULT_MAX_DEPTH 100
/* Nesting deeper than this cannot fit in PATH_MAX anyway. */
#define HARD_MAX_DEPTH 1000

typedef struct npm_scan {
  osq_rows *out;
  const char *site;
  int64_t max_depth;
  size_t dirs_read;
  bool warned;
  int64_t ns_pid;    /* pid_with_namespace, 0 for the host */
  char mnt_ns[32];   /* its mount namespace id, "" for the host */
  /* (device, inode) of the node_modules directories on the way down */
  dev_t dev[HARD_MAX_DEPTH + 1];
  ino_t ino[HARD_MAX_DEPTH + 1];
} npm_scan;

static void manifest_cells(osq_rows *out, const json_t *j) {
  static const struct {
    const char *key;
    size_t col;
  } plain[] = {{"name", C_NAME},
               {"version", C_VERSION},
               {"description", C_DESCRIPTION},
               {"homepage", C_HOMEPAGE}};
  for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
    const json_t *v = json_object_get(j, plain[i].key);
    if (v != NULL) /* present but not a string: empty, as osquery has it */
      osq_rows_cstr(out, plain[i].col,
                    json_is_string(v) ? json_string_value(v) : "");
  }
  /* "author": "Name <mail>" or {"name": …} */
  const json_t *author = json_object_get(j, "author");
  if (json_is_string(author))
    osq_rows_cstr(out, C_AUTHOR, json_string_value(author));
  else if (json_is_object(author) && json_object_get(author, "name")) {
    const char *n = osq_json_str(author, "name");
    osq_rows_cstr(out, C_AUTHOR, n ? n : "");
  }
  /* "license": an SPDX string, or the old {"type": …, "url": …} */
  const json_t *license = json_object_get(j, "license");
  if (json_is_string(license))
    osq_rows_cstr(out, C_LICENSE, json_string_value(license));
  else if (osq_json_str(license, "url"))
    osq_rows_cstr(out, C_LICENSE, osq_json_str(license, "url"));
}

static int walk_modules(npm_scan *s, const char *dir, int64_t depth);

/* One package directory: its row, then its nested node_modules. */
static int package(npm_scan *s, const char *pkgdir, int64_t depth) {
  char manifest[PATH_MAX];
  if (snprintf(manifest, sizeof manifest, "%s/package.json", pkgdir) >=
      (int)sizeof manifest)
    return OSQ_OK;
  struct stat st;
  if (osq_apps_stat(manifest, &st) != 0 || !S_ISREG(st.st_mode))
    return OSQ_OK; /* not a package (.bin, a stray directory) */
  json_t *j = osq_apps_json_file(manifest, OSQ_APPS_MANIFEST_MAX);
  if (json_is_object(j))
    manifest_cells(s->out, j);
  json_decref(j);
  osq_rows_cstr(s->out, C_PATH, manifest);
  osq_rows_cstr(s->out, C_DIRECTORY, s->site);
  osq_rows_int(s->out, C_DEPTH, depth);
  osq_rows_int(s->out, C_MAX_DEPTH, s->max_depth);
  osq_rows_int(s->out, C_PID_WITH_NAMESPACE, s->ns_pid);
  if (s->mnt_ns[0] != '\0')
    osq_rows_cstr(s->out, C_MOUNT_NAMESPACE_ID, s->mnt_ns);
  int rc = osq_rows_end(s->out);
  if (rc == OSQ_OK && (s->max_depth < 0 || depth < s->max_depth) &&
      depth < HARD_MAX_DEPTH)
    rc = walk_modules(s, pkgdir, depth + 1);
  return rc;
}

/* The packages of <dir>/node_modules, at the given depth. */
static int walk_modules(npm_scan *s, const char *dir, int64_t depth) {
  char nm[PATH_MAX];
  if (snprintf(nm, sizeof nm, "%s/node_modules", dir) >= (int)sizeof nm)
    return OSQ_OK;
  struct stat st;
  if (osq_apps_stat(nm, &st) != 0 || !S_ISDIR(st.st_mode))
    return OSQ_OK;
  for (int64_t i = 0; i < depth; i++)
    if (s->dev[i] == st.st_dev && s->ino[i] == st.st_ino)
      return OSQ_OK; /* a symlink back up the tree */
  s->dev[depth] = st.st_dev;
  s->ino[depth] = st.st_ino;
  if (s->dirs_read >= osq_glob_max_dirs) {
    if (!s->warned)
      OSQ_WARN("npm_packages: stopped after %zu node_modules directories",
               s->dirs_read);
    s->warned = true;
    return OSQ_OK;
  }
  s->dirs_read++;
  osq_pathlist names = {0};
  osq_apps_readdir(&names, nm, osq_name_not_hidden);
  int rc = OSQ_OK;
  for (size_t i = 0; i < names.n && rc == OSQ_OK && !osq_cancelled(); i++) {
    char sub[PATH_MAX];
    if (snprintf(sub, sizeof sub, "%s/%s", nm, names.items[i]) >=
        (int)sizeof sub)
      continue;
    if (names.items[i][0] != '@') {
      rc = package(s, sub, depth);
      continue;
    }
    osq_pathlist scoped = {0}; /* @scope/<name> */
    osq_apps_readdir(&scoped, sub, osq_name_not_hidden);
    for (size_t k = 0; k < scoped.n && rc == OSQ_OK; k++) {
      char pkgdir[PATH_MAX];
      if (snprintf(pkgdir, sizeof pkgdir, "%s/%s", sub, scoped.items[k]) <
          (int)sizeof pkgdir)
        rc = package(s, pkgdir, depth);
    }
    osq_pathlist_free(&scoped);
  }
  osq_pathlist_free(&names);
  return rc;
}

static int scan_site(npm_scan *s, const char *site) {
  s->site = site;
  return walk_modules(s, site, 0);
}

static _Thread_local npm_scan *current_scan;

static int user_site(osq_rows *out, uint32_t uid, const char *path,
                     char *line) {
  (void)out;
  (void)uid;
  (void)line;
  return scan_site(current_scan, path);
}

/* The packages as process ns_pid sees them (0: the host). Inside a
 * container ~/.npm-global is not read: its users are not the host's. */
static int generate_in(const osq_context *ctx, osq_rows *out,
                       int64_t ns_pid) {
  npm_scan *s = calloc(1, sizeof *s);
  if (s == NULL)
    return OSQ_ENOMEM;
  s->out = out;
  s->ns_pid = ns_pid;
  if (ns_pid > 0 && !osq_tbl_mnt_ns(ns_pid, s->mnt_ns, sizeof s->mnt_ns))
    s->mnt_ns[0] = '\0';
  s->max_depth = DEFAULT_MAX_DEPTH;
  size_t nmax = osq_context_nconstraints(ctx, C_MAX_DEPTH);
  for (size_t i = 0; i < nmax; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_MAX_DEPTH, i);
    int64_t v;
    if (c->op == OSQ_OP_EQ && osq_tbl_parse_i64(c->expr, &v))
      s->max_depth = v < 0 ? -1 : v;
  }
  if (!osq_apps_enter_root(ns_pid)) {
    free(s);
    return OSQ_OK; /* the process is gone */
  }
  int rc = OSQ_OK;
  osq_pathlist dirs = {0};
  if (osq_tbl_count_op(ctx, C_DIRECTORY, OSQ_OP_EQ) > 0) {
    size_t n = osq_context_nconstraints(ctx, C_DIRECTORY);
    for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
      const osq_constraint *c = osq_context_constraint(ctx, C_DIRECTORY, i);
      if (c->op == OSQ_OP_EQ && c->expr[0] != '\0')
        rc = osq_pathlist_add(&dirs, c->expr);
    }
    osq_pathlist_unique(&dirs);
    for (size_t i = 0; i < dirs.n && rc == OSQ_OK; i++)
      rc = scan_site(s, dirs.items[i]);
  } else {
    static const char *const globals[] = {"/usr/local/lib", "/usr/lib"};
    for (size_t i = 0; i < 2 && rc == OSQ_OK; i++) {
      char site[PATH_MAX];
      if (osq_apps_path(site, sizeof site, globals[i]))
        rc = scan_site(s, site);
    }
    /* npm's documented per-user global prefix; no uid column here, so
     * every user's is read */
    static const char *const names[] = {".npm-global/lib"};
    current_scan = s;
    if (rc == OSQ_OK && ns_pid <= 0)
      rc = osq_each_user_file(ctx, out, (size_t)-1, names, 1, 1, true,
                              user_site);
    current_scan = NULL;
  }
  osq_apps_leave_root();
  osq_pathlist_free(&dirs);
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

const osq_table_plugin osq_table_npm_packages = {
    .name = "npm_packages",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .generate = generate,
};
