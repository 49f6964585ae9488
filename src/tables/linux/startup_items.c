/* startup_items: what starts with a session or the system, from files.
 *
 * XDG autostart entries (~/.config/autostart/ of every passwd user and
 * /etc/xdg/autostart/) give name and path from their Name= and Exec=
 * lines; autostart scripts (~/.config/autostart-scripts/) and SysV init
 * scripts (/etc/init.d/) are listed by file name. Then, as osquery does,
 * every unit systemd's manager has loaded (ListUnits over D-Bus,
 * systemd_bus.h): type "systemd unit", status its active state, path its
 * FragmentPath, source its SourcePath, username the service's User. On a
 * machine without a system bus or manager those rows are simply absent:
 * the reason is logged with --verbose only, since the file rows stand. */
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"
#include "startup_items.h"
#include "systemd_bus.h"
#include "user_files.h"
#include "users.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Overridable for tests (startup_items.h). */
const char *osq_tables_startup_root = "";

/* Entries read from one directory. */
#define STARTUP_DIR_FILES_MAX 4096

enum { SI_NAME, SI_PATH, SI_ARGS, SI_TYPE, SI_SOURCE, SI_STATUS, SI_USERNAME };

static const osq_column columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},   {"path", OSQ_TYPE_TEXT, 0},
    {"args", OSQ_TYPE_TEXT, 0},   {"type", OSQ_TYPE_TEXT, 0},
    {"source", OSQ_TYPE_TEXT, 0}, {"status", OSQ_TYPE_TEXT, 0},
    {"username", OSQ_TYPE_TEXT, 0},
};

/* The value of a "Key=value" line when the line has exactly one '=' and
 * a non-empty value (osquery splits at every '=' and wants two parts:
 * an Exec= line with '=' in its arguments gives nothing). */
static const char *desktop_value(char *line, const char *key) {
  size_t kl = strlen(key);
  if (strncmp(line, key, kl) != 0 || line[kl] != '=')
    return NULL;
  char *v = osq_tbl_trim(line + kl + 1);
  return (*v == '\0' || strchr(v, '=')) ? NULL : v;
}

/* Name and Exec of a .desktop file; the last such line wins. */
static void desktop_entry(const char *path, char *name, char *exec,
                          size_t cap) {
  FILE *f = osq_user_file_open(path);
  if (f == NULL)
    return;
  char line[OSQ_TBL_LINE_MAX];
  int got;
  while ((got = osq_tbl_getline_crlf(f, line, sizeof line)) != 0) {
    const char *v;
    if (got < 0)
      continue;
    if ((v = desktop_value(line, "Name")) != NULL)
      snprintf(name, cap, "%s", v);
    else if ((v = desktop_value(line, "Exec")) != NULL)
      snprintf(exec, cap, "%s", v);
  }
  fclose(f);
}

/* One row per regular file of dir (which ends in '/'): desktop entries
 * when items, scripts otherwise. */
static int startup_dir(osq_rows *out, const char *dir, bool items,
                       const char *username) {
  osq_pathlist names = {0};
  if (!osq_pathlist_readdir(&names, dir, NULL))
    return OSQ_OK;
  int rc = OSQ_OK;
  for (size_t i = 0; i < names.n && i < STARTUP_DIR_FILES_MAX && rc == OSQ_OK;
       i++) {
    char path[PATH_MAX];
    struct stat st;
    if (snprintf(path, sizeof path, "%s%s", dir, names.items[i]) >=
            (int)sizeof path ||
        stat(path, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (items) {
      char name[OSQ_TBL_LINE_MAX] = "", exec[OSQ_TBL_LINE_MAX] = "";
      desktop_entry(path, name, exec, sizeof name);
      osq_rows_cstr(out, SI_NAME, name[0] ? name : NULL);
      osq_rows_cstr(out, SI_PATH, exec[0] ? exec : NULL);
    } else {
      osq_rows_cstr(out, SI_NAME, names.items[i]);
      osq_rows_cstr(out, SI_PATH, path);
    }
    osq_rows_cstr(out, SI_TYPE, "Startup Item");
    osq_rows_cstr(out, SI_SOURCE, dir);
    osq_rows_cstr(out, SI_STATUS, "enabled");
    osq_rows_cstr(out, SI_USERNAME, username);
    rc = osq_rows_end(out);
  }
  osq_pathlist_free(&names);
  return rc;
}

/* The length of a home directory without its trailing slashes. */
static size_t home_len(const char *home) {
  size_t n = strlen(home);
  while (n > 1 && home[n - 1] == '/')
    n--;
  return n;
}

typedef struct unit_gen {
  const osq_context *ctx;
  osq_rows *out;
} unit_gen;

static int unit_row(sd_bus *bus, const osq_sd_unit *u, void *udata) {
  unit_gen *g = udata;
  const char *path = u->object_path;
  osq_rows_cstr(g->out, SI_NAME, u->id);
  osq_rows_cstr(g->out, SI_TYPE, "systemd unit");
  osq_rows_cstr(g->out, SI_STATUS, u->active_state);
  osq_sd_property_cell(g->ctx, g->out, SI_PATH, bus, path, OSQ_SD_UNIT_IFACE,
                "FragmentPath");
  osq_sd_property_cell(g->ctx, g->out, SI_SOURCE, bus, path, OSQ_SD_UNIT_IFACE,
                "SourcePath");
  osq_sd_property_cell(g->ctx, g->out, SI_USERNAME, bus, path, OSQ_SD_SERVICE_IFACE,
                "User");
  return osq_rows_end(g->out);
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  osq_local_user *users;
  size_t nu = osq_tables_users_list(&users);
  int rc = OSQ_OK;
  char dir[PATH_MAX];
  for (size_t i = 0; i < nu && rc == OSQ_OK; i++) {
    const char *home = users[i].dir;
    size_t hl = home_len(home);
    bool seen = home[0] != '/';
    for (size_t j = 0; j < i && !seen; j++) /* a home is read once */
      seen = home_len(users[j].dir) == hl &&
             strncmp(users[j].dir, home, hl) == 0;
    if (seen)
      continue;
    if (snprintf(dir, sizeof dir, "%.*s/.config/autostart/", (int)hl, home) <
        (int)sizeof dir)
      rc = startup_dir(out, dir, true, users[i].name);
    if (rc == OSQ_OK &&
        snprintf(dir, sizeof dir, "%.*s/.config/autostart-scripts/", (int)hl,
                 home) < (int)sizeof dir)
      rc = startup_dir(out, dir, false, users[i].name);
  }
  osq_tables_users_free(users, nu);
  if (rc == OSQ_OK) {
    snprintf(dir, sizeof dir, "%s/etc/init.d/", osq_tables_startup_root);
    rc = startup_dir(out, dir, false, NULL);
  }
  if (rc == OSQ_OK) {
    snprintf(dir, sizeof dir, "%s/etc/xdg/autostart/", osq_tables_startup_root);
    rc = startup_dir(out, dir, true, NULL);
  }
  /* A fixture root stands for another machine: not this one's manager. */
  if (rc == OSQ_OK && osq_tables_startup_root[0] == '\0') {
    unit_gen g = {ctx, out};
    rc = osq_sd_each_unit("startup_items", true, unit_row, &g);
  }
  return rc;
}

const osq_table_plugin osq_table_startup_items = {
    .name = "startup_items",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = generate,
};
