/* shadow, selinux_settings and apparmor_profiles: the local password
 * database and the state of the kernel's security modules.
 *
 * shadow reads the shadow file itself (the "files" source of getspent;
 * NSS shadow sources are not consulted). selinux_settings finds selinuxfs
 * in the mount table (the mounts table's file); apparmor_profiles walks
 * the securityfs policy tree. */
#include "tables/builtin.h"
#include "tables/util.h"
#include "tables/fsglob.h"
#include "misc.h"
#include "security.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Overridable for tests (security.h). */
const char *osq_tables_shadow_path = "/etc/shadow";
const char *osq_tables_apparmor_profiles =
    "/sys/kernel/security/apparmor/policy/profiles";

/* ---- shadow ----------------------------------------------------------- */

enum {
  SH_PASSWORD_STATUS, SH_HASH_ALG, SH_LAST_CHANGE, SH_MIN, SH_MAX,
  SH_WARNING, SH_INACTIVE, SH_EXPIRE, SH_FLAG, SH_USERNAME
};

static const osq_column shadow_columns[] = {
    {"password_status", OSQ_TYPE_TEXT, 0},
    {"hash_alg", OSQ_TYPE_TEXT, 0},
    {"last_change", OSQ_TYPE_BIGINT, 0},
    {"min", OSQ_TYPE_BIGINT, 0},
    {"max", OSQ_TYPE_BIGINT, 0},
    {"warning", OSQ_TYPE_BIGINT, 0},
    {"inactive", OSQ_TYPE_BIGINT, 0},
    {"expire", OSQ_TYPE_BIGINT, 0},
    {"flag", OSQ_TYPE_BIGINT, 0},
    {"username", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
};

/* A numeric shadow field; empty reads as -1, as getspent(3) reports it.
 * False for anything else that is not a number. */
static bool shadow_num(const char *s, int64_t *v) {
  if (*s == '\0') {
    *v = -1;
    return true;
  }
  return osq_tbl_parse_i64(s, v);
}

static const char *password_status(const char *pw) {
  if (strcmp(pw, "!!") == 0)
    return "not_set";
  if (pw[0] == '!' || pw[0] == '*' || pw[0] == 'x')
    return "locked";
  return pw[0] == '\0' ? "empty" : "active";
}

/* "$6$salt$hash" -> "6", "$2b$..." -> "2b": the word between the first
 * two '$'. Length 0 when the field has no such prefix. */
static size_t hash_alg(const char *pw, const char **alg) {
  if (pw[0] != '$')
    return 0;
  size_t n = 1;
  while (isalnum((unsigned char)pw[n]) || pw[n] == '_')
    n++;
  *alg = pw + 1;
  return (n > 1 && pw[n] == '$') ? n - 1 : 0;
}

/* Is name one of the usernames the "=" constraints ask for (or are there
 * none)? */
static bool username_wanted(const osq_context *ctx, const char *name) {
  size_t n = osq_context_nconstraints(ctx, SH_USERNAME), eq = 0;
  for (size_t i = 0; i < n; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, SH_USERNAME, i);
    if (c->op != OSQ_OP_EQ)
      continue;
    eq++;
    if (strcmp(c->expr, name) == 0)
      return true;
  }
  return eq == 0;
}

static int shadow_generate(const osq_context *ctx, osq_rows *out,
                           void *udata) {
  (void)udata;
  FILE *f = fopen(osq_tables_shadow_path, "re");
  if (f == NULL)
    return OSQ_OK; /* absent, or not root */
  char line[OSQ_TBL_LINE_MAX];
  int rc = OSQ_OK, got;
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    char *fld[9];
    int64_t num[7];
    if (got < 0 || !osq_tbl_split_colons(line, fld, 9) || fld[0][0] == '\0' ||
        !username_wanted(ctx, fld[0]))
      continue;
    bool ok = true;
    for (int i = 0; i < 7 && ok; i++)
      ok = shadow_num(fld[2 + i], &num[i]);
    if (!ok)
      continue; /* getspent skips such a line too */
    const char *alg = NULL;
    size_t algn = hash_alg(fld[1], &alg);
    osq_rows_cstr(out, SH_PASSWORD_STATUS, password_status(fld[1]));
    if (algn > 0)
      osq_rows_text(out, SH_HASH_ALG, alg, algn);
    for (int i = 0; i < 7; i++)
      osq_rows_int(out, SH_LAST_CHANGE + i, num[i]);
    osq_rows_cstr(out, SH_USERNAME, fld[0]);
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

const osq_table_plugin osq_table_shadow = {
    .name = "shadow",
    .columns = shadow_columns,
    .ncolumns = OSQ_NCOLS(shadow_columns),
    .generate = shadow_generate,
};

/* ---- shared: small files of a kernel tree ----------------------------- */

/* The files of the selinuxfs and securityfs trees are short; a longer one
 * is cut here. */
#define KFILE_MAX 4096
/* Bounds on a tree walk: depth below the start and names in total. */
#define WALK_DEPTH 8
#define WALK_NAMES 100000

/* Read a small text file into buf: up to its first NUL, trailing
 * whitespace kept unless trim. False if it cannot be read. */
static bool kfile(const char *path, char *buf, size_t cap, bool trim) {
  ssize_t n = osq_tbl_read(path, buf, cap, NULL);
  if (n < 0)
    return false;
  if (trim) {
    char *t = osq_tbl_trim(buf);
    memmove(buf, t, strlen(t) + 1);
  }
  return true;
}

typedef int (*walk_fn)(const char *root, const char *path, void *u);

/* Call fn for every non-directory below dir (sorted, depth-first, not
 * following symlinked directories); *budget counts names left. */
static int walk_files(const char *root, const char *dir, int depth,
                      size_t *budget, walk_fn fn, void *u) {
  osq_pathlist names = {0};
  if (depth > WALK_DEPTH || !osq_pathlist_readdir(&names, dir, NULL))
    return OSQ_OK;
  int rc = OSQ_OK;
  for (size_t i = 0; i < names.n && rc == OSQ_OK && *budget > 0; i++) {
    (*budget)--;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, names.items[i]) >=
        (int)sizeof path)
      continue;
    struct stat st;
    if (lstat(path, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode))
      rc = walk_files(root, path, depth + 1, budget, fn, u);
    else
      rc = fn(root, path, u);
  }
  osq_pathlist_free(&names);
  return rc;
}

/* ---- selinux_settings ------------------------------------------------- */

static const osq_column selinux_columns[] = {
    {"scope", OSQ_TYPE_TEXT, 0},
    {"key", OSQ_TYPE_TEXT, 0},
    {"value", OSQ_TYPE_TEXT, 0},
};

/* Where selinuxfs is mounted, from the mount table; false if nowhere. */
static bool selinuxfs_path(char *out, size_t cap) {
  FILE *f = fopen(osq_tables_mounts_path, "re");
  if (f == NULL)
    return false;
  char line[OSQ_TBL_LINE_MAX];
  bool found = false;
  int got;
  while (!found && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    char *tok[4];
    if (got > 0 && osq_tbl_tokens(line, " \t", tok, 4) >= 3 &&
        strcmp(tok[2], "selinuxfs") == 0 && strlen(tok[1]) < cap) {
      snprintf(out, cap, "%s", tok[1]);
      found = true;
    }
  }
  fclose(f);
  return found;
}

static int selinux_row(osq_rows *out, const char *scope, const char *key,
                       const char *value) {
  osq_rows_cstr(out, 0, scope);
  osq_rows_cstr(out, 1, key);
  osq_rows_cstr(out, 2, value);
  return osq_rows_end(out);
}

typedef struct selinux_walk {
  osq_rows *out;
  const char *scope;
} selinux_walk;

/* A file of booleans/, policy_capabilities/ or initial_contexts/: its
 * name is the key. A boolean reads "<current> <pending>": "1 1" is on,
 * "0 0" off, and one with a change pending is left out, as osquery does. */
static int selinux_scope_file(const char *root, const char *path, void *u) {
  (void)root;
  selinux_walk *w = u;
  char value[KFILE_MAX];
  if (!kfile(path, value, sizeof value, false))
    return OSQ_OK;
  const char *v = value;
  if (strcmp(w->scope, "booleans") == 0) {
    if (strcmp(value, "1 1") == 0)
      v = "on";
    else if (strcmp(value, "0 0") == 0)
      v = "off";
    else
      return OSQ_OK;
  }
  return selinux_row(w->out, w->scope, strrchr(path, '/') + 1, v);
}

/* class/<class>/perms/<perm>: key "<class>/perms", value "<perm>"; the
 * "index" files (numbers) are left out. */
static int selinux_class_file(const char *root, const char *path, void *u) {
  selinux_walk *w = u;
  const char *name = strrchr(path, '/') + 1;
  size_t rl = strlen(root) + 1;
  if (strcmp(name, "index") == 0 || (size_t)(name - path) <= rl)
    return OSQ_OK;
  char key[PATH_MAX];
  snprintf(key, sizeof key, "%.*s", (int)(name - path - 1 - (ptrdiff_t)rl),
           path + rl);
  return selinux_row(w->out, "class", key, name);
}

static int selinux_generate(const osq_context *ctx, osq_rows *out,
                            void *udata) {
  (void)ctx;
  (void)udata;
  char fs[PATH_MAX - 64];
  if (!selinuxfs_path(fs, sizeof fs))
    return OSQ_OK; /* SELinux is not enabled */
  static const char *const root_keys[] = {"checkreqprot", "deny_unknown",
                                          "enforce",      "mls",
                                          "policyvers",   "reject_unknown"};
  int rc = OSQ_OK;
  char path[PATH_MAX], value[KFILE_MAX];
  for (size_t i = 0; i < OSQ_NCOLS(root_keys) && rc == OSQ_OK; i++) {
    snprintf(path, sizeof path, "%s/%s", fs, root_keys[i]);
    /* osquery keeps the row with a NULL value when the file is missing */
    bool ok = kfile(path, value, sizeof value, false);
    rc = selinux_row(out, "", root_keys[i], ok ? value : NULL);
  }
  static const char *const scopes[] = {"booleans", "policy_capabilities",
                                       "initial_contexts"};
  size_t budget = WALK_NAMES;
  for (size_t i = 0; i < OSQ_NCOLS(scopes) && rc == OSQ_OK; i++) {
    selinux_walk w = {out, scopes[i]};
    snprintf(path, sizeof path, "%s/%s", fs, scopes[i]);
    rc = walk_files(path, path, 0, &budget, selinux_scope_file, &w);
  }
  if (rc == OSQ_OK) {
    selinux_walk w = {out, "class"};
    snprintf(path, sizeof path, "%s/class", fs);
    rc = walk_files(path, path, 0, &budget, selinux_class_file, &w);
  }
  return rc;
}

const osq_table_plugin osq_table_selinux_settings = {
    .name = "selinux_settings",
    .columns = selinux_columns,
    .ncolumns = OSQ_NCOLS(selinux_columns),
    .generate = selinux_generate,
};

/* ---- apparmor_profiles ------------------------------------------------ */

enum { AA_PATH, AA_NAME, AA_ATTACH, AA_MODE, AA_SHA1, AA_SHA256 };

static const osq_column apparmor_columns[] = {
    {"path", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"name", OSQ_TYPE_TEXT, 0},
    {"attach", OSQ_TYPE_TEXT, 0},
    {"mode", OSQ_TYPE_TEXT, 0},
    {"sha1", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"sha256", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
};

/* One profile directory (name, mode, attach, hashes), then its children
 * under profiles/. path is "<parent>//<name>" for a child profile. */
static int apparmor_profile(osq_rows *out, const char *dir,
                            const char *parent, int depth, size_t *budget) {
  char path[PATH_MAX], name[KFILE_MAX], mode[256], attach[KFILE_MAX];
  char sha1[256], sha256[256];
  snprintf(path, sizeof path, "%s/name", dir);
  if (!kfile(path, name, sizeof name, true))
    return OSQ_OK;
  snprintf(path, sizeof path, "%s/mode", dir);
  if (!kfile(path, mode, sizeof mode, true))
    return OSQ_OK;
  snprintf(path, sizeof path, "%s/attach", dir);
  if (!kfile(path, attach, sizeof attach, true))
    return OSQ_OK;
  /* the hash files exist only with CONFIG_SECURITY_APPARMOR_HASH */
  snprintf(path, sizeof path, "%s/sha1", dir);
  bool has_sha1 = kfile(path, sha1, sizeof sha1, true);
  snprintf(path, sizeof path, "%s/sha256", dir);
  bool has_sha256 = kfile(path, sha256, sizeof sha256, true);
  char full[2 * KFILE_MAX + 4];
  snprintf(full, sizeof full, "%s%s%s", parent, parent[0] ? "//" : "", name);
  osq_rows_cstr(out, AA_PATH, full);
  osq_rows_cstr(out, AA_NAME, name);
  osq_rows_cstr(out, AA_ATTACH, attach);
  osq_rows_cstr(out, AA_MODE, mode);
  osq_rows_cstr(out, AA_SHA1, has_sha1 ? sha1 : NULL);
  osq_rows_cstr(out, AA_SHA256, has_sha256 ? sha256 : NULL);
  int rc = osq_rows_end(out);
  if (rc != OSQ_OK || depth >= WALK_DEPTH)
    return rc;
  osq_pathlist kids = {0};
  snprintf(path, sizeof path, "%s/profiles", dir);
  if (!osq_pathlist_readdir(&kids, path, NULL))
    return OSQ_OK;
  for (size_t i = 0; i < kids.n && rc == OSQ_OK && *budget > 0; i++) {
    (*budget)--;
    char kid[PATH_MAX];
    if (snprintf(kid, sizeof kid, "%s/%s", path, kids.items[i]) <
        (int)sizeof kid)
      rc = apparmor_profile(out, kid, name, depth + 1, budget);
  }
  osq_pathlist_free(&kids);
  return rc;
}

static int apparmor_generate(const osq_context *ctx, osq_rows *out,
                             void *udata) {
  (void)ctx;
  (void)udata;
  osq_pathlist top = {0};
  if (!osq_pathlist_readdir(&top, osq_tables_apparmor_profiles, NULL))
    return OSQ_OK; /* AppArmor is not enabled */
  size_t budget = WALK_NAMES;
  int rc = OSQ_OK;
  for (size_t i = 0; i < top.n && rc == OSQ_OK && budget > 0; i++) {
    budget--;
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s", osq_tables_apparmor_profiles,
                 top.items[i]) < (int)sizeof dir)
      rc = apparmor_profile(out, dir, "", 0, &budget);
  }
  osq_pathlist_free(&top);
  return rc;
}

const osq_table_plugin osq_table_apparmor_profiles = {
    .name = "apparmor_profiles",
    .columns = apparmor_columns,
    .ncolumns = OSQ_NCOLS(apparmor_columns),
    .generate = apparmor_generate,
};
