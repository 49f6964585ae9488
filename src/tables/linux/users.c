/* users and groups: local accounts from /etc/passwd and /etc/group.
 *
 * Lines are parsed strictly (the field count must match, ids must be
 * decimal and 32-bit); a malformed or over-long line is skipped. With
 * include_remote = 1, users come from NSS (LDAP, sssd ...) instead. */
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/util.h"
#include "users.h"

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Overridable for tests (users.h). */
const char *osq_tables_passwd_path = "/etc/passwd";
const char *osq_tables_group_path = "/etc/group";

#define MAX_FIELDS 8

/* path as process ns_pid sees it; only the host's own file missing is
 * worth a warning. */
static FILE *open_local(int64_t ns_pid, const char *path, const char *table) {
  FILE *f = osq_tbl_fopen_in(ns_pid, path);
  if (f == NULL && ns_pid <= 0)
    OSQ_WARN("%s: cannot read %s: %s", table, path, strerror(errno));
  return f;
}

/* Split a local passwd or group entry (got: osq_tbl_getline's result)
 * into nf fields; false for a dropped line, a comment, a NIS "+"/"-"
 * line, the wrong field count or an empty name. */
static bool local_entry(int got, char *line, char **fl, int nf) {
  return got > 0 && line[0] != '#' && line[0] != '+' && line[0] != '-' &&
         osq_tbl_split_colons(line, fl, nf) && fl[0][0] != '\0';
}

static bool eq_text_ok(const osq_context *ctx, size_t col, const char *v) {
  size_t n = osq_context_nconstraints(ctx, col);
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, col, i);
    if (c->op != OSQ_OP_EQ)
      continue;
    any = true;
    if (strcmp(c->expr, v) == 0)
      return true;
  }
  return !any;
}

/* ---- users ------------------------------------------------------------ */

enum {
  U_UID, U_GID, U_UID_SIGNED, U_GID_SIGNED, U_USERNAME, U_DESCRIPTION,
  U_DIRECTORY, U_SHELL, U_UUID, U_TYPE, U_IS_HIDDEN, U_PID_WITH_NAMESPACE,
  U_INCLUDE_REMOTE, U_COUNT
};

static const osq_column user_columns[] = {
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX},
    {"gid", OSQ_TYPE_BIGINT, 0},
    {"uid_signed", OSQ_TYPE_BIGINT, 0},
    {"gid_signed", OSQ_TYPE_BIGINT, 0},
    {"username", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"description", OSQ_TYPE_TEXT, 0},
    {"directory", OSQ_TYPE_TEXT, 0},
    {"shell", OSQ_TYPE_TEXT, 0},
    {"uuid", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_NOCASE},
    /* Windows and macOS columns, hidden here as in osquery */
    {"type", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"is_hidden", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"include_remote", OSQ_TYPE_INTEGER, OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};

_Static_assert(sizeof user_columns / sizeof *user_columns == U_COUNT, "cols");

static int user_row(const osq_context *ctx, osq_rows *out, const char *name,
                    uint32_t uid, uint32_t gid, const char *gecos,
                    const char *dir, const char *shell, bool remote,
                    int64_t ns_pid) {
  if (!osq_tbl_eq_int_ok(ctx, U_UID, uid) || !eq_text_ok(ctx, U_USERNAME, name))
    return OSQ_OK;
  osq_rows_int(out, U_UID, uid);
  osq_rows_int(out, U_GID, gid);
  osq_rows_int(out, U_UID_SIGNED, (int32_t)uid);
  osq_rows_int(out, U_GID_SIGNED, (int32_t)gid);
  osq_rows_cstr(out, U_USERNAME, name);
  osq_rows_cstr(out, U_DESCRIPTION, gecos);
  osq_rows_cstr(out, U_DIRECTORY, dir);
  osq_rows_cstr(out, U_SHELL, shell);
  osq_rows_cstr(out, U_UUID, "");
  osq_rows_int(out, U_INCLUDE_REMOTE, remote ? 1 : 0);
  if (ns_pid > 0)
    osq_rows_int(out, U_PID_WITH_NAMESPACE, ns_pid);
  return osq_rows_end(out);
}

static int users_local(const osq_context *ctx, osq_rows *out,
                       int64_t ns_pid) {
  FILE *f = open_local(ns_pid, osq_tables_passwd_path, "users");
  if (f == NULL)
    return OSQ_OK;
  char line[OSQ_TBL_LINE_MAX];
  int rc = OSQ_OK, got;
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    char *fl[7];
    uint32_t uid, gid;
    if (!local_entry(got, line, fl, 7) || !osq_tbl_parse_u32(fl[2], &uid) ||
        !osq_tbl_parse_u32(fl[3], &gid))
      continue;
    rc = user_row(ctx, out, fl[0], uid, gid, fl[4], fl[5], fl[6], false,
                  ns_pid);
  }
  fclose(f);
  return rc;
}

#define USERS_MAX 1000000

size_t osq_tables_users_list(osq_local_user **out) {
  *out = NULL;
  FILE *f = fopen(osq_tables_passwd_path, "re");
  if (f == NULL)
    return 0;
  osq_local_user *v = NULL;
  size_t n = 0, cap = 0;
  char line[OSQ_TBL_LINE_MAX];
  int got;
  while (n < USERS_MAX && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    char *fl[7];
    uint32_t uid, gid;
    if (!local_entry(got, line, fl, 7) || !osq_tbl_parse_u32(fl[2], &uid) ||
        !osq_tbl_parse_u32(fl[3], &gid))
      continue;
    if (n == cap) {
      size_t c2 = cap ? cap * 2 : 32;
      osq_local_user *v2 = realloc(v, c2 * sizeof *v);
      if (v2 == NULL)
        break;
      v = v2;
      cap = c2;
    }
    v[n].uid = uid;
    v[n].gid = gid;
    v[n].name = strdup(fl[0]);
    v[n].dir = strdup(fl[5]);
    if (v[n].name == NULL || v[n].dir == NULL) {
      free(v[n].name);
      free(v[n].dir);
      break;
    }
    n++;
  }
  fclose(f);
  *out = v;
  return n;
}

void osq_tables_users_free(osq_local_user *u, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(u[i].name);
    free(u[i].dir);
  }
  free(u);
}

/* getpwent's cursor is process-global. */
static pthread_mutex_t pwent_lock = PTHREAD_MUTEX_INITIALIZER;

static int users_remote(const osq_context *ctx, osq_rows *out) {
  int rc = OSQ_OK;
  size_t cap = 16384;
  char *buf = malloc(cap);
  if (buf == NULL)
    return OSQ_ENOMEM;
  struct passwd pw, *res;
  pthread_mutex_lock(&pwent_lock);
  setpwent();
  for (;;) {
    int e = getpwent_r(&pw, buf, cap, &res);
    if (e == ERANGE && cap < (1u << 20)) {
      char *b = realloc(buf, cap * 2);
      if (b == NULL)
        break;
      buf = b;
      cap *= 2;
      continue;
    }
    if (e != 0 || res == NULL)
      break;
    rc = user_row(ctx, out, pw.pw_name, pw.pw_uid, pw.pw_gid,
                  pw.pw_gecos ? pw.pw_gecos : "", pw.pw_dir ? pw.pw_dir : "",
                  pw.pw_shell ? pw.pw_shell : "", true, 0);
    if (rc != OSQ_OK)
      break;
  }
  endpwent();
  pthread_mutex_unlock(&pwent_lock);
  free(buf);
  return rc;
}

static int users_generate(const osq_context *ctx, osq_rows *out,
                          void *udata) {
  (void)udata;
  size_t n = osq_context_nconstraints(ctx, U_INCLUDE_REMOTE);
  bool remote = false;
  for (size_t i = 0; i < n; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, U_INCLUDE_REMOTE, i);
    if (c->op == OSQ_OP_EQ && strcmp(c->expr, "1") == 0)
      remote = true;
  }
  /* pid_with_namespace: the passwd file of that process's root */
  int64_t pids[OSQ_TBL_NS_PIDS_MAX];
  size_t np = osq_tbl_ns_pids(ctx, U_PID_WITH_NAMESPACE, pids,
                              OSQ_TBL_NS_PIDS_MAX);
  if (np > 0) {
    int rc = OSQ_OK;
    for (size_t i = 0; i < np && rc == OSQ_OK; i++)
      rc = users_local(ctx, out, pids[i]);
    return rc;
  }
  return remote ? users_remote(ctx, out) : users_local(ctx, out, 0);
}

const osq_table_plugin osq_table_users = {
    .name = "users",
    .columns = user_columns,
    .ncolumns = OSQ_NCOLS(user_columns),
    .generate = users_generate,
};

/* ---- groups ----------------------------------------------------------- */

enum {
  G_GID, G_GID_SIGNED, G_GROUPNAME, G_GROUP_SID, G_COMMENT, G_IS_HIDDEN,
  G_PID_WITH_NAMESPACE, G_COUNT
};

static const osq_column group_columns[] = {
    {"gid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX},
    {"gid_signed", OSQ_TYPE_BIGINT, 0},
    {"groupname", OSQ_TYPE_TEXT, 0},
    {"group_sid", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN | OSQ_COL_INDEX},
    {"comment", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"is_hidden", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};

_Static_assert(sizeof group_columns / sizeof *group_columns == G_COUNT,
               "cols");

static int groups_file(const osq_context *ctx, osq_rows *out,
                       int64_t ns_pid) {
  FILE *f = open_local(ns_pid, osq_tables_group_path, "groups");
  if (f == NULL)
    return OSQ_OK;
  char line[OSQ_TBL_LINE_MAX];
  int rc = OSQ_OK, got;
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    char *fl[4];
    uint32_t gid;
    if (!local_entry(got, line, fl, 4) || !osq_tbl_parse_u32(fl[2], &gid))
      continue;
    if (!osq_tbl_eq_int_ok(ctx, G_GID, gid))
      continue;
    osq_rows_int(out, G_GID, gid);
    osq_rows_int(out, G_GID_SIGNED, (int32_t)gid);
    osq_rows_cstr(out, G_GROUPNAME, fl[0]);
    if (ns_pid > 0)
      osq_rows_int(out, G_PID_WITH_NAMESPACE, ns_pid);
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

static int groups_generate(const osq_context *ctx, osq_rows *out,
                           void *udata) {
  (void)udata;
  int64_t pids[OSQ_TBL_NS_PIDS_MAX];
  size_t np = osq_tbl_ns_pids(ctx, G_PID_WITH_NAMESPACE, pids,
                              OSQ_TBL_NS_PIDS_MAX);
  if (np == 0)
    return groups_file(ctx, out, 0);
  int rc = OSQ_OK;
  for (size_t i = 0; i < np && rc == OSQ_OK; i++)
    rc = groups_file(ctx, out, pids[i]);
  return rc;
}

const osq_table_plugin osq_table_groups = {
    .name = "groups",
    .columns = group_columns,
    .ncolumns = OSQ_NCOLS(group_columns),
    .generate = groups_generate,
};
