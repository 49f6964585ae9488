/* kernel_modules, last, block_devices and sudoers. */
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"
#include "system_extra.h"

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
#include <utmp.h>

/* Overridable for tests (system_extra.h). */
const char *osq_tables_modules_path = "/proc/modules";
const char *osq_tables_wtmp_path = "/var/log/wtmp";
const char *osq_tables_sys_block = "/sys/block";
const char *osq_tables_sudoers_path = "/etc/sudoers";

/* ---- kernel_modules --------------------------------------------------- */

static const osq_column mod_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},    {"size", OSQ_TYPE_BIGINT, 0},
    {"used_by", OSQ_TYPE_TEXT, 0}, {"status", OSQ_TYPE_TEXT, 0},
    {"address", OSQ_TYPE_TEXT, 0},
};

static int mod_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  FILE *f = fopen(osq_tables_modules_path, "re");
  if (f == NULL)
    return OSQ_OK; /* a kernel without modules */
  char line[OSQ_TBL_LINE_MAX];
  int got, rc = OSQ_OK;
  /* "name size refcount used_by state address" */
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0)
      continue;
    char *tok[6];
    int n = osq_tbl_tokens(line, " ", tok, 6);
    int64_t size;
    if (n < 6 || !osq_tbl_parse_i64(tok[1], &size))
      continue;
    osq_rows_cstr(out, 0, tok[0]);
    osq_rows_int(out, 1, size);
    osq_rows_cstr(out, 2, tok[3]);
    osq_rows_cstr(out, 3, tok[4]);
    osq_rows_cstr(out, 4, tok[5]);
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

const osq_table_plugin osq_table_kernel_modules = {
    .name = "kernel_modules",
    .columns = mod_columns,
    .ncolumns = OSQ_NCOLS(mod_columns),
    .generate = mod_generate,
};

/* ---- last ------------------------------------------------------------- */

enum { L_USERNAME, L_TTY, L_PID, L_TYPE, L_TYPE_NAME, L_TIME, L_HOST };

static const osq_column last_columns[] = {
    {"username", OSQ_TYPE_TEXT, 0},  {"tty", OSQ_TYPE_TEXT, 0},
    {"pid", OSQ_TYPE_INTEGER, 0},    {"type", OSQ_TYPE_INTEGER, 0},
    {"type_name", OSQ_TYPE_TEXT, 0}, {"time", OSQ_TYPE_INTEGER, 0},
    {"host", OSQ_TYPE_TEXT, 0},
};

#define WTMP_MAX_RECORDS (1u << 22) /* 1.5 GiB of wtmp: far past sane */

static int last_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)ctx;
  (void)udata;
  int fd = open(osq_tables_wtmp_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return OSQ_OK;
  FILE *f = fdopen(fd, "r");
  if (f == NULL) {
    close(fd);
    return OSQ_OK;
  }
  int rc = OSQ_OK;
  struct utmp u;
  for (size_t n = 0; n < WTMP_MAX_RECORDS && rc == OSQ_OK; n++) {
    if (fread(&u, sizeof u, 1, f) != 1)
      break; /* end, or a torn last record */
    /* logins and logouts only, as osquery */
    if (u.ut_type != USER_PROCESS && u.ut_type != DEAD_PROCESS)
      continue;
    osq_rows_text(out, L_USERNAME, u.ut_user,
                  strnlen(u.ut_user, sizeof u.ut_user));
    osq_rows_text(out, L_TTY, u.ut_line, strnlen(u.ut_line, sizeof u.ut_line));
    osq_rows_int(out, L_PID, u.ut_pid);
    osq_rows_int(out, L_TYPE, u.ut_type);
    osq_rows_cstr(out, L_TYPE_NAME,
                  u.ut_type == USER_PROCESS ? "user-process" : "dead-process");
    osq_rows_int(out, L_TIME, u.ut_tv.tv_sec);
    osq_rows_text(out, L_HOST, u.ut_host, strnlen(u.ut_host, sizeof u.ut_host));
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

const osq_table_plugin osq_table_last = {
    .name = "last",
    .columns = last_columns,
    .ncolumns = OSQ_NCOLS(last_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = last_generate,
};

/* ---- block_devices ---------------------------------------------------- */

enum {
  B_NAME, B_PARENT, B_VENDOR, B_MODEL, B_SERIAL, B_SIZE, B_BLOCK_SIZE,
  B_UUID, B_TYPE, B_LABEL, B_COUNT
};

static const osq_column block_columns[] = {
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"parent", OSQ_TYPE_TEXT, 0},
    {"vendor", OSQ_TYPE_TEXT, 0},
    {"model", OSQ_TYPE_TEXT, 0},
    {"serial", OSQ_TYPE_TEXT, 0},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"block_size", OSQ_TYPE_INTEGER, 0},
    {"uuid", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"type", OSQ_TYPE_TEXT, 0},
    {"label", OSQ_TYPE_TEXT, 0},
};

_Static_assert(sizeof block_columns / sizeof *block_columns == B_COUNT,
               "cols");

/* A small sysfs attribute, trimmed, or "". */
static void attr(const char *dir, const char *name, char *out, size_t cap) {
  char path[PATH_MAX];
  out[0] = '\0';
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
    return;
  if (osq_tbl_read(path, out, cap, NULL) < 0)
    out[0] = '\0';
  char *t = osq_tbl_trim(out);
  memmove(out, t, strlen(t) + 1);
}


static int block_row(osq_rows *out, const char *sysdir, const char *dev,
                     const char *parent, const char *devdir) {
  char buf[256];
  char name[300];
  snprintf(name, sizeof name, "/dev/%s", dev);
  osq_rows_cstr(out, B_NAME, name);
  if (parent) {
    snprintf(name, sizeof name, "/dev/%s", parent);
    osq_rows_cstr(out, B_PARENT, name);
  } else {
    osq_rows_cstr(out, B_PARENT, "");
  }
  /* vendor, model and serial belong to the whole disk */
  attr(devdir, "device/vendor", buf, sizeof buf);
  osq_rows_cstr(out, B_VENDOR, buf);
  attr(devdir, "device/model", buf, sizeof buf);
  osq_rows_cstr(out, B_MODEL, buf);
  attr(devdir, "device/serial", buf, sizeof buf);
  if (buf[0] == '\0')
    attr(devdir, "serial", buf, sizeof buf);
  osq_rows_cstr(out, B_SERIAL, buf);
  attr(sysdir, "size", buf, sizeof buf);
  int64_t v;
  if (osq_tbl_parse_i64(buf, &v))
    osq_rows_int(out, B_SIZE, v);
  attr(devdir, "queue/logical_block_size", buf, sizeof buf);
  if (osq_tbl_parse_i64(buf, &v))
    osq_rows_int(out, B_BLOCK_SIZE, v);
  osq_tbl_disk_link("uuid", dev, buf, sizeof buf);
  osq_rows_cstr(out, B_UUID, buf);
  osq_tbl_disk_link("label", dev, buf, sizeof buf);
  osq_rows_cstr(out, B_LABEL, buf);
  osq_rows_cstr(out, B_TYPE, "");
  return osq_rows_end(out);
}

static int block_generate(const osq_context *ctx, osq_rows *out,
                          void *udata) {
  (void)ctx;
  (void)udata;
  osq_pathlist disks = {0};
  if (!osq_pathlist_readdir(&disks, osq_tables_sys_block, osq_name_not_hidden))
    return OSQ_OK;
  int rc = OSQ_OK;
  for (size_t i = 0; i < disks.n && rc == OSQ_OK; i++) {
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s", osq_tables_sys_block,
                 disks.items[i]) >= (int)sizeof dir)
      continue;
    rc = block_row(out, dir, disks.items[i], NULL, dir);
    /* partitions are subdirectories holding a "partition" file */
    DIR *pd = opendir(dir);
    if (pd == NULL)
      continue;
    osq_pathlist parts = {0};
    struct dirent *e;
    while ((e = readdir(pd)) != NULL) {
      if (strncmp(e->d_name, disks.items[i], strlen(disks.items[i])) != 0)
        continue;
      char pf[PATH_MAX];
      struct stat st;
      if (snprintf(pf, sizeof pf, "%s/%s/partition", dir, e->d_name) <
              (int)sizeof pf &&
          stat(pf, &st) == 0)
        osq_pathlist_add(&parts, e->d_name);
    }
    closedir(pd);
    osq_pathlist_unique(&parts);
    for (size_t k = 0; k < parts.n && rc == OSQ_OK; k++) {
      char pdir[PATH_MAX];
      if (snprintf(pdir, sizeof pdir, "%s/%s", dir, parts.items[k]) <
          (int)sizeof pdir)
        rc = block_row(out, pdir, parts.items[k], disks.items[i], dir);
    }
    osq_pathlist_free(&parts);
  }
  osq_pathlist_free(&disks);
  return rc;
}

const osq_table_plugin osq_table_block_devices = {
    .name = "block_devices",
    .columns = block_columns,
    .ncolumns = OSQ_NCOLS(block_columns),
    .generate = block_generate,
};

/* ---- sudoers ---------------------------------------------------------- */

static const osq_column sudo_columns[] = {
    {"source", OSQ_TYPE_TEXT, 0},
    {"header", OSQ_TYPE_TEXT, 0},
    {"rule_details", OSQ_TYPE_TEXT, 0},
};

#define SUDO_DEPTH 8 /* include nesting, as sudo's own limit */
#define SUDO_LOGICAL_MAX 65536

static int sudo_file(osq_rows *out, const char *path, int depth);

/* sudo skips names ending in '~' or containing '.' */
static bool sudo_name_ok(const char *name) {
  size_t n = strlen(name);
  return !(n == 0 || name[n - 1] == '~' || strchr(name, '.'));
}

static int sudo_dir(osq_rows *out, const char *dir, int depth) {
  osq_pathlist names = {0};
  if (!osq_pathlist_readdir(&names, dir, sudo_name_ok))
    return OSQ_OK;
  int rc = OSQ_OK;
  for (size_t i = 0; i < names.n && rc == OSQ_OK; i++) {
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", dir, names.items[i]) < (int)sizeof p)
      rc = sudo_file(out, p, depth + 1);
  }
  osq_pathlist_free(&names);
  return rc;
}

/* Relative include paths are relative to the including file's directory. */
static void resolve(const char *from, const char *arg, char *out,
                    size_t cap) {
  if (arg[0] == '/') {
    snprintf(out, cap, "%s", arg);
    return;
  }
  const char *slash = strrchr(from, '/');
  int dl = slash ? (int)(slash - from) : 1;
  snprintf(out, cap, "%.*s/%s", dl, slash ? from : ".", arg);
}

static int sudo_logical(osq_rows *out, const char *path, char *line,
                        int depth) {
  char *p = line;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p == '\0')
    return OSQ_OK;
  bool include = strncmp(p, "#include", 8) == 0 || strncmp(p, "@include", 8) == 0;
  if (*p == '#' && !include)
    return OSQ_OK; /* a comment */
  size_t hl = strcspn(p, " \t");
  char *rest = p + hl;
  while (*rest == ' ' || *rest == '\t')
    rest++;
  osq_rows_cstr(out, 0, path);
  osq_rows_text(out, 1, p, hl);
  osq_rows_cstr(out, 2, rest);
  int rc = osq_rows_end(out);
  if (rc != OSQ_OK || !include || *rest == '\0')
    return rc;
  char target[PATH_MAX];
  resolve(path, rest, target, sizeof target);
  bool dir = strncmp(p + 1, "includedir", 10) == 0;
  return dir ? sudo_dir(out, target, depth) : sudo_file(out, target, depth + 1);
}

static int sudo_file(osq_rows *out, const char *path, int depth) {
  if (depth > SUDO_DEPTH)
    return OSQ_OK;
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return OSQ_OK;
  char *logical = malloc(SUDO_LOGICAL_MAX);
  char line[OSQ_TBL_LINE_MAX];
  size_t len = 0;
  int got, rc = logical ? OSQ_OK : OSQ_ENOMEM;
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0)
      continue;
    size_t n = strlen(line);
    bool cont = n > 0 && line[n - 1] == '\\';
    if (cont)
      line[--n] = '\0';
    /* a backslash-newline joins lines; past the bound the rule is dropped */
    if (len + n + 1 < SUDO_LOGICAL_MAX) {
      memcpy(logical + len, line, n);
      len += n;
    } else {
      len = SUDO_LOGICAL_MAX; /* poisoned until the rule ends */
    }
    if (cont)
      continue;
    if (len < SUDO_LOGICAL_MAX) {
      logical[len] = '\0';
      rc = sudo_logical(out, path, logical, depth);
    }
    len = 0;
  }
  free(logical);
  fclose(f);
  return rc;
}

static int sudo_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)ctx;
  (void)udata;
  return sudo_file(out, osq_tables_sudoers_path, 0);
}

const osq_table_plugin osq_table_sudoers = {
    .name = "sudoers",
    .columns = sudo_columns,
    .ncolumns = OSQ_NCOLS(sudo_columns),
    .generate = sudo_generate,
};
