/* Per-user files: authorized_keys and shell_history.
 *
 * Users come from the passwd file; a "uid =" constraint narrows them. The
 * files are the users' own: read with a size bound (--read_max), not
 * following a symlinked file to somewhere else, line by line with a
 * bounded length. */
#include "core/flags.h"
#include "tables/builtin.h"
#include "tables/util.h"
#include "user_files.h"
#include "users.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Lines of authorized_keys can carry long certificates. */
#define KEY_LINE_MAX 16384

FILE *osq_user_file_open(const char *path) {
  int fd;
  do
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return NULL;
  uint64_t max = OSQ_FLAG_UINT(read_max);
  if (max == 0)
    max = 52428800;
  return osq_tbl_fdopen_regular(fd, max);
}

int osq_each_user_file(const osq_context *ctx, osq_rows *out, size_t uid_col,
                       const char *const *names, size_t nnames, size_t linecap,
                       bool once_per_home, osq_user_file_fn fn) {
  osq_local_user *users;
  size_t nu = osq_tables_users_list(&users);
  char *line = malloc(linecap);
  int rc = line ? OSQ_OK : OSQ_ENOMEM;
  for (size_t i = 0; i < nu && rc == OSQ_OK; i++) {
    if (!osq_tbl_eq_int_ok(ctx, uid_col, users[i].uid) ||
        users[i].dir[0] != '/')
      continue;
    bool seen = false;
    for (size_t j = 0; once_per_home && j < i && !seen; j++)
      seen = users[j].uid == users[i].uid &&
             strcmp(users[j].dir, users[i].dir) == 0;
    if (seen)
      continue;
    for (size_t k = 0; k < nnames && rc == OSQ_OK; k++) {
      char path[PATH_MAX];
      if (snprintf(path, sizeof path, "%s/%s", users[i].dir, names[k]) <
          (int)sizeof path)
        rc = fn(out, users[i].uid, path, line);
    }
  }
  free(line);
  osq_tables_users_free(users, nu);
  return rc;
}

/* ---- authorized_keys -------------------------------------------------- */

enum { K_UID, K_ALGORITHM, K_KEY, K_OPTIONS, K_COMMENT, K_KEY_FILE };

static const osq_column key_columns[] = {
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_ADDITIONAL},
    {"algorithm", OSQ_TYPE_TEXT, 0},
    {"key", OSQ_TYPE_TEXT, 0},
    {"options", OSQ_TYPE_TEXT, 0},
    {"comment", OSQ_TYPE_TEXT, 0},
    {"key_file", OSQ_TYPE_TEXT, 0},
    {"pid_with_namespace", OSQ_TYPE_INTEGER, OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};

static bool is_key_type(const char *s, size_t n) {
  static const char *const prefixes[] = {"ssh-", "ecdsa-", "sk-ssh-",
                                         "sk-ecdsa-"};
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
    size_t pl = strlen(prefixes[i]);
    if (n > pl && strncmp(s, prefixes[i], pl) == 0)
      return true;
  }
  return false;
}

/* Length of the options field: up to the first space outside quotes. */
static size_t options_len(const char *s) {
  bool quoted = false;
  size_t i = 0;
  for (; s[i]; i++) {
    if (s[i] == '\\' && quoted && s[i + 1]) {
      i++;
      continue;
    }
    if (s[i] == '"')
      quoted = !quoted;
    else if (!quoted && (s[i] == ' ' || s[i] == '\t'))
      break;
  }
  return i;
}

static int key_line(osq_rows *out, uint32_t uid, const char *file,
                    char *line) {
  char *p = line;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p == '\0' || *p == '#')
    return OSQ_OK;
  const char *opts = "";
  size_t optn = 0;
  size_t tl = strcspn(p, " \t");
  if (!is_key_type(p, tl)) {
    opts = p;
    optn = options_len(p);
    p += optn;
    while (*p == ' ' || *p == '\t')
      p++;
    tl = strcspn(p, " \t");
    if (!is_key_type(p, tl))
      return OSQ_OK; /* not a key line */
  }
  const char *alg = p;
  size_t algn = tl;
  p += tl;
  while (*p == ' ' || *p == '\t')
    p++;
  const char *key = p;
  size_t keyn = strcspn(p, " \t");
  if (keyn == 0)
    return OSQ_OK;
  p += keyn;
  while (*p == ' ' || *p == '\t')
    p++;
  osq_rows_int(out, K_UID, uid);
  osq_rows_text(out, K_ALGORITHM, alg, algn);
  osq_rows_text(out, K_KEY, key, keyn);
  osq_rows_text(out, K_OPTIONS, opts, optn);
  osq_rows_cstr(out, K_COMMENT, p);
  osq_rows_cstr(out, K_KEY_FILE, file);
  return osq_rows_end(out);
}

static int key_file(osq_rows *out, uint32_t uid, const char *path, char *line) {
  FILE *f = osq_user_file_open(path);
  if (f == NULL)
    return OSQ_OK;
  int rc = OSQ_OK, got;
  while (rc == OSQ_OK &&
         (got = osq_tbl_getline_crlf(f, line, KEY_LINE_MAX)) != 0)
    if (got > 0)
      rc = key_line(out, uid, path, line);
  fclose(f);
  return rc;
}

static int keys_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)udata;
  static const char *const names[] = {".ssh/authorized_keys",
                                      ".ssh/authorized_keys2"};
  return osq_each_user_file(ctx, out, K_UID, names, 2, KEY_LINE_MAX, false,
                        key_file);
}

const osq_table_plugin osq_table_authorized_keys = {
    .name = "authorized_keys",
    .columns = key_columns,
    .ncolumns = OSQ_NCOLS(key_columns),
    .attributes = OSQ_TABLE_USER_BASED,
    .generate = keys_generate,
};

/* ---- shell_history ---------------------------------------------------- */

enum { H_UID, H_TIME, H_COMMAND, H_HISTORY_FILE };

static const osq_column hist_columns[] = {
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_ADDITIONAL | OSQ_COL_OPTIMIZED},
    {"time", OSQ_TYPE_INTEGER, 0},
    {"command", OSQ_TYPE_TEXT, 0},
    {"history_file", OSQ_TYPE_TEXT, 0},
};

static int hist_row(osq_rows *out, uint32_t uid, int64_t t, const char *cmd,
                    const char *file) {
  osq_rows_int(out, H_UID, uid);
  osq_rows_int(out, H_TIME, t);
  osq_rows_cstr(out, H_COMMAND, cmd);
  osq_rows_cstr(out, H_HISTORY_FILE, file);
  return osq_rows_end(out);
}

/* bash: "#<epoch>" before a command when HISTTIMEFORMAT is set.
 * zsh extended: ": <epoch>:<duration>;<command>". */
static int hist_file(osq_rows *out, uint32_t uid, const char *path,
                     char *line) {
  FILE *f = osq_user_file_open(path);
  if (f == NULL)
    return OSQ_OK;
  int rc = OSQ_OK, got;
  int64_t pending = 0;
  while (rc == OSQ_OK &&
         (got = osq_tbl_getline_crlf(f, line, OSQ_TBL_LINE_MAX)) != 0) {
    if (got < 0 || line[0] == '\0')
      continue;
    int64_t t;
    if (line[0] == '#' && osq_tbl_parse_i64(line + 1, &t) && t >= 0) {
      pending = t;
      continue;
    }
    if (line[0] == ':' && line[1] == ' ') {
      char *colon = strchr(line + 2, ':');
      char *semi = colon ? strchr(colon, ';') : NULL;
      if (colon && semi) {
        *colon = '\0';
        if (osq_tbl_parse_i64(line + 2, &t) && t >= 0) {
          rc = hist_row(out, uid, t, semi + 1, path);
          continue;
        }
        *colon = ':';
      }
    }
    rc = hist_row(out, uid, pending, line, path);
    pending = 0;
  }
  fclose(f);
  return rc;
}

static int hist_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)udata;
  static const char *const files[] = {".bash_history", ".zsh_history",
                                      ".zhistory", ".history",
                                      ".sh_history"};
  /* two accounts may share a home (root and toor): read it once */
  return osq_each_user_file(ctx, out, H_UID, files,
                            sizeof files / sizeof *files, OSQ_TBL_LINE_MAX,
                            true, hist_file);
}

const osq_table_plugin osq_table_shell_history = {
    .name = "shell_history",
    .columns = hist_columns,
    .ncolumns = OSQ_NCOLS(hist_columns),
    .attributes = OSQ_TABLE_USER_BASED,
    .generate = hist_generate,
};

/* ---- known_hosts ------------------------------------------------------ */

static const osq_column kh_columns[] = {
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"key", OSQ_TYPE_TEXT, 0},
    {"key_file", OSQ_TYPE_TEXT, 0},
};

static int kh_file(osq_rows *out, uint32_t uid, const char *path, char *line) {
  FILE *f = osq_user_file_open(path);
  if (f == NULL)
    return OSQ_OK;
  int rc = OSQ_OK, got;
  while (rc == OSQ_OK &&
         (got = osq_tbl_getline_crlf(f, line, KEY_LINE_MAX)) != 0) {
    char *p = line;
    while (*p == ' ' || *p == '\t')
      p++;
    if (got < 0 || *p == '\0' || *p == '#')
      continue;
    osq_rows_int(out, 0, uid);
    osq_rows_cstr(out, 1, p);
    osq_rows_cstr(out, 2, path);
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

static int kh_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  static const char *const names[] = {".ssh/known_hosts"};
  return osq_each_user_file(ctx, out, 0, names, 1, KEY_LINE_MAX, false,
                            kh_file);
}

const osq_table_plugin osq_table_known_hosts = {
    .name = "known_hosts",
    .columns = kh_columns,
    .ncolumns = OSQ_NCOLS(kh_columns),
    .attributes = OSQ_TABLE_USER_BASED,
    .generate = kh_generate,
};
