/* crontab, suid_bin, system_controls and logged_in_users. */
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"
#include "host_config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmp.h>

/* Overridable for tests (host_config.h). */
const char *osq_tables_cron_files[] = {"/etc/crontab", NULL};
const char *osq_tables_cron_dirs[] = {"/etc/cron.d", "/var/spool/cron/crontabs",
                                      "/var/spool/cron", NULL};
const char *osq_tables_utmp_path = "/var/run/utmp";
const char *osq_tables_proc_sys = "/proc/sys";

/* ---- crontab ---------------------------------------------------------- */

enum {
  CR_EVENT, CR_MINUTE, CR_HOUR, CR_DOM, CR_MONTH, CR_DOW, CR_COMMAND,
  CR_PATH
};

static const osq_column cron_columns[] = {
    {"event", OSQ_TYPE_TEXT, 0},       {"minute", OSQ_TYPE_TEXT, 0},
    {"hour", OSQ_TYPE_TEXT, 0},        {"day_of_month", OSQ_TYPE_TEXT, 0},
    {"month", OSQ_TYPE_TEXT, 0},       {"day_of_week", OSQ_TYPE_TEXT, 0},
    {"command", OSQ_TYPE_TEXT, 0},     {"path", OSQ_TYPE_TEXT, 0},
    {"pid_with_namespace", OSQ_TYPE_INTEGER, OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};

static char *skip_ws(char *p) {
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

static int cron_line(osq_rows *out, const char *path, char *line) {
  char *p = skip_ws(line);
  if (*p == '\0' || *p == '#')
    return OSQ_OK;
  size_t first = strcspn(p, " \t");
  /* "NAME=value" environment settings are not jobs */
  char *eq = memchr(p, '=', first);
  if (eq && *p != '@' && !isdigit((unsigned char)*p) && *p != '*')
    return OSQ_OK;
  if (*p == '@') {
    char *cmd = skip_ws(p + first);
    if (*cmd == '\0')
      return OSQ_OK;
    osq_rows_text(out, CR_EVENT, p, first);
    for (size_t c = CR_MINUTE; c <= CR_DOW; c++)
      osq_rows_cstr(out, c, "");
    osq_rows_cstr(out, CR_COMMAND, cmd);
    osq_rows_cstr(out, CR_PATH, path);
    return osq_rows_end(out);
  }
  char *fields[5];
  for (int i = 0; i < 5; i++) {
    p = skip_ws(p);
    size_t n = strcspn(p, " \t");
    if (n == 0)
      return OSQ_OK; /* too few fields */
    fields[i] = p;
    p += n;
    if (*p)
      *p++ = '\0';
  }
  char *cmd = skip_ws(p);
  if (*cmd == '\0')
    return OSQ_OK;
  osq_rows_cstr(out, CR_EVENT, "");
  for (int i = 0; i < 5; i++)
    osq_rows_cstr(out, CR_MINUTE + (size_t)i, fields[i]);
  osq_rows_cstr(out, CR_COMMAND, cmd);
  osq_rows_cstr(out, CR_PATH, path);
  return osq_rows_end(out);
}

static int cron_file(osq_rows *out, const char *path, char *line) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  FILE *f = fd < 0 ? NULL : osq_tbl_fdopen_regular(fd, 16 * 1024 * 1024);
  if (f == NULL)
    return OSQ_OK;
  int rc = OSQ_OK, got;
  while (rc == OSQ_OK &&
         (got = osq_tbl_getline(f, line, OSQ_TBL_LINE_MAX)) != 0)
    if (got > 0)
      rc = cron_line(out, path, line);
  fclose(f);
  return rc;
}

static int cron_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)ctx;
  (void)udata;
  char *line = malloc(OSQ_TBL_LINE_MAX);
  if (line == NULL)
    return OSQ_ENOMEM;
  int rc = OSQ_OK;
  for (size_t i = 0; osq_tables_cron_files[i] && rc == OSQ_OK; i++)
    rc = cron_file(out, osq_tables_cron_files[i], line);
  for (size_t i = 0; osq_tables_cron_dirs[i] && rc == OSQ_OK; i++) {
    osq_pathlist names = {0};
    if (!osq_pathlist_readdir(&names, osq_tables_cron_dirs[i],
                              osq_name_not_hidden))
      continue;
    for (size_t k = 0; k < names.n && rc == OSQ_OK; k++) {
      char path[PATH_MAX];
      if (snprintf(path, sizeof path, "%s/%s", osq_tables_cron_dirs[i],
                   names.items[k]) < (int)sizeof path)
        rc = cron_file(out, path, line); /* directories are skipped there */
    }
    osq_pathlist_free(&names);
  }
  free(line);
  return rc;
}

const osq_table_plugin osq_table_crontab = {
    .name = "crontab",
    .columns = cron_columns,
    .ncolumns = OSQ_NCOLS(cron_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = cron_generate,
};

/* ---- suid_bin --------------------------------------------------------- */

static const osq_column suid_columns[] = {
    {"path", OSQ_TYPE_TEXT, 0},
    {"username", OSQ_TYPE_TEXT, 0},
    {"groupname", OSQ_TYPE_TEXT, 0},
    {"permissions", OSQ_TYPE_TEXT, 0},
    {"pid_with_namespace", OSQ_TYPE_INTEGER, OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};

#define SUID_DEPTH 8

static void id_names(uid_t uid, gid_t gid, char *user, char *group,
                     size_t cap) {
  char buf[4096];
  struct passwd pw, *pr = NULL;
  struct group gr, *grr = NULL;
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &pr) == 0 && pr)
    snprintf(user, cap, "%s", pr->pw_name);
  else
    snprintf(user, cap, "%u", (unsigned)uid);
  if (getgrgid_r(gid, &gr, buf, sizeof buf, &grr) == 0 && grr)
    snprintf(group, cap, "%s", grr->gr_name);
  else
    snprintf(group, cap, "%u", (unsigned)gid);
}

static int suid_walk(osq_rows *out, const char *dir, int depth) {
  if (depth > SUID_DEPTH)
    return OSQ_OK;
  osq_pathlist names = {0};
  if (!osq_pathlist_readdir(&names, dir, NULL))
    return OSQ_OK;
  int rc = OSQ_OK;
  for (size_t i = 0; i < names.n && rc == OSQ_OK; i++) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, names.items[i]) >=
        (int)sizeof path)
      continue;
    struct stat st;
    if (lstat(path, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      rc = suid_walk(out, path, depth + 1);
      continue;
    }
    if (!S_ISREG(st.st_mode) || !(st.st_mode & (S_ISUID | S_ISGID)))
      continue;
    char user[64], group[64];
    id_names(st.st_uid, st.st_gid, user, group, sizeof user);
    osq_rows_cstr(out, 0, path);
    osq_rows_cstr(out, 1, user);
    osq_rows_cstr(out, 2, group);
    osq_rows_cstr(out, 3,
                  (st.st_mode & S_ISUID) ? ((st.st_mode & S_ISGID) ? "SG" : "S")
                                         : "G");
    rc = osq_rows_end(out);
  }
  osq_pathlist_free(&names);
  return rc;
}

static int suid_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)ctx;
  (void)udata;
  static const char *const roots[] = {"/bin",           "/sbin",
                                      "/usr/bin",       "/usr/sbin",
                                      "/usr/local/bin", "/usr/local/sbin",
                                      "/tmp"};
  int rc = OSQ_OK;
  for (size_t i = 0; i < sizeof roots / sizeof *roots && rc == OSQ_OK; i++) {
    struct stat st;
    /* merged-/usr systems link /bin to /usr/bin: list each tree once */
    if (lstat(roots[i], &st) != 0 || !S_ISDIR(st.st_mode))
      continue;
    rc = suid_walk(out, roots[i], 0);
  }
  return rc;
}

const osq_table_plugin osq_table_suid_bin = {
    .name = "suid_bin",
    .columns = suid_columns,
    .ncolumns = OSQ_NCOLS(suid_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = suid_generate,
};

/* ---- system_controls -------------------------------------------------- */

enum { S_NAME, S_OID, S_SUBSYSTEM, S_CURRENT, S_CONFIG, S_TYPE };

static const osq_column sysctl_columns[] = {
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"oid", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"subsystem", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"current_value", OSQ_TYPE_TEXT, 0},
    {"config_value", OSQ_TYPE_TEXT, 0},
    {"type", OSQ_TYPE_TEXT, 0},
    /* macOS-only in osquery: hidden, NULL */
    {"field_name", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
};

#define SYSCTL_DEPTH 10
#define SYSCTL_VALUE_MAX 4096

typedef struct sysctl_conf {
  osq_pathlist keys, values; /* parallel */
} sysctl_conf;

static void conf_file(sysctl_conf *c, const char *path) {
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return;
  char line[OSQ_TBL_LINE_MAX];
  int got;
  while ((got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    char *p = skip_ws(line);
    if (got < 0 || *p == '#' || *p == ';' || *p == '\0')
      continue;
    if (*p == '-')
      p++; /* "-key = value": ignore errors when setting it */
    char *eq = strchr(p, '=');
    if (eq == NULL)
      continue;
    *eq = '\0';
    char *key = osq_tbl_trim(p), *val = osq_tbl_trim(eq + 1);
    for (char *k = key; *k; k++)
      if (*k == '/')
        *k = '.';
    if (*key && osq_pathlist_add(&c->keys, key) == OSQ_OK &&
        osq_pathlist_add(&c->values, val) != OSQ_OK)
      free(c->keys.items[--c->keys.n]);
  }
  fclose(f);
}

static const char *conf_value(const sysctl_conf *c, const char *name) {
  const char *v = NULL; /* the last setting wins, as sysctl --system */
  for (size_t i = 0; i < c->keys.n; i++)
    if (strcmp(c->keys.items[i], name) == 0)
      v = c->values.items[i];
  return v;
}

static int sysctl_row(osq_rows *out, const sysctl_conf *c, const char *name,
                      const char *file) {
  char buf[SYSCTL_VALUE_MAX];
  if (osq_tbl_read(file, buf, sizeof buf, NULL) < 0)
    return OSQ_OK; /* write-only or gone */
  for (char *p = buf; *p; p++)
    if (*p == '\t' || *p == '\n')
      *p = ' ';
  osq_rows_cstr(out, S_NAME, name);
  osq_rows_cstr(out, S_OID, "");
  size_t sub = strcspn(name, ".");
  osq_rows_text(out, S_SUBSYSTEM, name, sub);
  osq_rows_cstr(out, S_CURRENT, osq_tbl_trim(buf));
  const char *cv = conf_value(c, name);
  osq_rows_cstr(out, S_CONFIG, cv ? cv : "");
  osq_rows_cstr(out, S_TYPE, "");
  return osq_rows_end(out);
}

static int sysctl_walk(osq_rows *out, const sysctl_conf *c, const char *dir,
                       const char *prefix, int depth) {
  if (depth > SYSCTL_DEPTH)
    return OSQ_OK;
  osq_pathlist names = {0};
  if (!osq_pathlist_readdir(&names, dir, NULL))
    return OSQ_OK;
  int rc = OSQ_OK;
  for (size_t i = 0; i < names.n && rc == OSQ_OK; i++) {
    char path[PATH_MAX], name[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, names.items[i]) >=
            (int)sizeof path ||
        snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "",
                 names.items[i]) >= (int)sizeof name)
      continue;
    struct stat st;
    if (lstat(path, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode))
      rc = sysctl_walk(out, c, path, name, depth + 1);
    else if (S_ISREG(st.st_mode) && (st.st_mode & 0444))
      rc = sysctl_row(out, c, name, path);
  }
  osq_pathlist_free(&names);
  return rc;
}

static int sysctl_generate(const osq_context *ctx, osq_rows *out,
                           void *udata) {
  (void)udata;
  sysctl_conf c = {{0}, {0}};
  conf_file(&c, "/etc/sysctl.conf");
  DIR *d = opendir("/etc/sysctl.d");
  if (d) {
    osq_pathlist files = {0};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      size_t n = strlen(e->d_name);
      if (n > 5 && strcmp(e->d_name + n - 5, ".conf") == 0)
        osq_pathlist_add(&files, e->d_name);
    }
    closedir(d);
    osq_pathlist_unique(&files);
    for (size_t i = 0; i < files.n; i++) {
      char p[PATH_MAX];
      snprintf(p, sizeof p, "/etc/sysctl.d/%s", files.items[i]);
      conf_file(&c, p);
    }
    osq_pathlist_free(&files);
  }
  int rc = OSQ_OK;
  size_t n = osq_context_nconstraints(ctx, S_NAME);
  bool named = false;
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    const osq_constraint *k = osq_context_constraint(ctx, S_NAME, i);
    if (k->op != OSQ_OP_EQ)
      continue;
    named = true;
    /* a name maps to one file; refuse anything that could leave /proc/sys */
    if (k->len == 0 || k->len >= 256 || strlen(k->expr) != k->len ||
        strstr(k->expr, "..") || strchr(k->expr, '/') || k->expr[0] == '.')
      continue;
    char path[PATH_MAX];
    int w = snprintf(path, sizeof path, "%s/", osq_tables_proc_sys);
    for (const char *p = k->expr; *p && w < (int)sizeof path - 1; p++)
      path[w++] = *p == '.' ? '/' : *p;
    path[w] = '\0';
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
      rc = sysctl_row(out, &c, k->expr, path);
  }
  if (!named)
    rc = sysctl_walk(out, &c, osq_tables_proc_sys, "", 0);
  osq_pathlist_free(&c.keys);
  osq_pathlist_free(&c.values);
  return rc;
}

const osq_table_plugin osq_table_system_controls = {
    .name = "system_controls",
    .columns = sysctl_columns,
    .ncolumns = OSQ_NCOLS(sysctl_columns),
    .generate = sysctl_generate,
};

/* ---- logged_in_users -------------------------------------------------- */

enum { U_TYPE, U_USER, U_TTY, U_HOST, U_TIME, U_PID, U_SID, U_REGISTRY_HIVE };

static const osq_column login_columns[] = {
    {"type", OSQ_TYPE_TEXT, 0},
    {"user", OSQ_TYPE_TEXT, 0},
    {"tty", OSQ_TYPE_TEXT, 0},
    {"host", OSQ_TYPE_TEXT, 0},
    {"time", OSQ_TYPE_BIGINT, 0},
    {"pid", OSQ_TYPE_INTEGER, 0},
    {"sid", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},           /* Windows */
    {"registry_hive", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN}, /* Windows */
};

#define UTMP_MAX_RECORDS 65536

static const char *login_type(short t) {
  switch (t) {
  case RUN_LVL: return "runlevel";
  case BOOT_TIME: return "boot_time";
  case NEW_TIME: return "new_time";
  case OLD_TIME: return "old_time";
  case INIT_PROCESS: return "init";
  case LOGIN_PROCESS: return "login";
  case USER_PROCESS: return "user";
  case DEAD_PROCESS: return "dead";
  case ACCOUNTING: return "accounting";
  default: return NULL;
  }
}

static int login_generate(const osq_context *ctx, osq_rows *out,
                          void *udata) {
  (void)ctx;
  (void)udata;
  int fd = open(osq_tables_utmp_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return OSQ_OK; /* no utmp (containers): nobody logged in */
  int rc = OSQ_OK;
  struct utmp u;
  for (size_t n = 0; n < UTMP_MAX_RECORDS && rc == OSQ_OK; n++) {
    size_t got = 0;
    while (got < sizeof u) {
      ssize_t r = read(fd, (char *)&u + got, sizeof u - got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      got += (size_t)r;
    }
    if (got < sizeof u)
      break; /* end, or a torn last record */
    const char *type = login_type(u.ut_type);
    if (type == NULL)
      continue;
    osq_rows_cstr(out, U_TYPE, type);
    osq_rows_text(out, U_USER, u.ut_user, strnlen(u.ut_user, sizeof u.ut_user));
    osq_rows_text(out, U_TTY, u.ut_line, strnlen(u.ut_line, sizeof u.ut_line));
    osq_rows_text(out, U_HOST, u.ut_host, strnlen(u.ut_host, sizeof u.ut_host));
    osq_rows_int(out, U_TIME, u.ut_tv.tv_sec);
    osq_rows_int(out, U_PID, u.ut_pid);
    rc = osq_rows_end(out);
  }
  close(fd);
  return rc;
}

const osq_table_plugin osq_table_logged_in_users = {
    .name = "logged_in_users",
    .columns = login_columns,
    .ncolumns = OSQ_NCOLS(login_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = login_generate,
};
