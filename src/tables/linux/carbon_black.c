/* carbon_black_info (alias cb_info): the Carbon Black sensor's settings
 * and queues, from /var/lib/cb.
 *
 * sensor.id is a 16-character file whose last five characters are the
 * sensor id in hex, as osquery reads it; sensorsettings.ini is an INI file
 * whose [CB] section holds the settings (a missing one reads -1); the
 * queues are the total sizes of the "filedata"/"metadata" files and of
 * the "events.*" files below /var/lib/cb. No row unless sensor.id or
 * sensorsettings.ini exists. */
#include "apps.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CB_DIR "/var/lib/cb"
#define SETTINGS_MAX (1024 * 1024)

enum {
  C_SENSOR_ID, C_CONFIG_NAME, C_COLLECT_STORE_FILES, C_COLLECT_MODULE_LOADS,
  C_COLLECT_MODULE_INFO, C_COLLECT_FILE_MODS, C_COLLECT_REG_MODS,
  C_COLLECT_NET_CONNS, C_COLLECT_PROCESSES, C_COLLECT_CROSS_PROCESSES,
  C_COLLECT_EMET_EVENTS, C_COLLECT_DATA_FILE_WRITES,
  C_COLLECT_PROCESS_USER_CONTEXT, C_COLLECT_SENSOR_OPERATIONS,
  C_LOG_FILE_DISK_QUOTA_MB, C_LOG_FILE_DISK_QUOTA_PERCENTAGE,
  C_PROTECTION_DISABLED, C_SENSOR_IP_ADDR, C_SENSOR_BACKEND_SERVER,
  C_EVENT_QUEUE, C_BINARY_QUEUE, C_COUNT
};

static const osq_column columns[] = {
    {"sensor_id", OSQ_TYPE_INTEGER, 0},
    {"config_name", OSQ_TYPE_TEXT, 0},
    {"collect_store_files", OSQ_TYPE_INTEGER, 0},
    {"collect_module_loads", OSQ_TYPE_INTEGER, 0},
    {"collect_module_info", OSQ_TYPE_INTEGER, 0},
    {"collect_file_mods", OSQ_TYPE_INTEGER, 0},
    {"collect_reg_mods", OSQ_TYPE_INTEGER, 0},
    {"collect_net_conns", OSQ_TYPE_INTEGER, 0},
    {"collect_processes", OSQ_TYPE_INTEGER, 0},
    {"collect_cross_processes", OSQ_TYPE_INTEGER, 0},
    {"collect_emet_events", OSQ_TYPE_INTEGER, 0},
    {"collect_data_file_writes", OSQ_TYPE_INTEGER, 0},
    {"collect_process_user_context", OSQ_TYPE_INTEGER, 0},
    {"collect_sensor_operations", OSQ_TYPE_INTEGER, 0},
    {"log_file_disk_quota_mb", OSQ_TYPE_INTEGER, 0},
    {"log_file_disk_quota_percentage", OSQ_TYPE_INTEGER, 0},
    {"protection_disabled", OSQ_TYPE_INTEGER, 0},
    {"sensor_ip_addr", OSQ_TYPE_TEXT, 0},
    {"sensor_backend_server", OSQ_TYPE_TEXT, 0},
    {"event_queue", OSQ_TYPE_INTEGER, 0},
    {"binary_queue", OSQ_TYPE_INTEGER, 0},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

/* [CB] keys of the integer settings. */
static const struct {
  const char *key;
  size_t col;
} int_settings[] = {
    {"CollectStoreFiles", C_COLLECT_STORE_FILES},
    {"CollectModuleLoads", C_COLLECT_MODULE_LOADS},
    {"CollectModuleInfo", C_COLLECT_MODULE_INFO},
    {"CollectFileMods", C_COLLECT_FILE_MODS},
    {"CollectRegMods", C_COLLECT_REG_MODS},
    {"CollectNetConns", C_COLLECT_NET_CONNS},
    {"CollectProcesses", C_COLLECT_PROCESSES},
    {"CollectCrossProcess", C_COLLECT_CROSS_PROCESSES},
    {"CollectEmetEvents", C_COLLECT_EMET_EVENTS},
};
#define NINT (sizeof int_settings / sizeof *int_settings)

static bool sensor_id(int64_t *id) {
  char path[PATH_MAX];
  if (!osq_apps_path(path, sizeof path, CB_DIR "/sensor.id"))
    return false;
  size_t n;
  char *text = osq_apps_slurp(path, 64, &n);
  bool ok = text != NULL && n == 16;
  if (ok) {
    char *end;
    unsigned long v = strtoul(text + 11, &end, 16);
    ok = end != text + 11;
    *id = (int64_t)v;
  }
  free(text);
  return ok;
}

/* Replace every occurrence of from (3 characters, "%20") by c, in place. */
static void unescape(char *s, const char *from, char c) {
  char *w = s;
  for (const char *r = s; *r;) {
    if (strncasecmp(r, from, 3) == 0) {
      *w++ = c;
      r += 3;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
}

/* The [CB] section's settings as cells; false if the file is missing. */
static bool settings(osq_rows *out) {
  char path[PATH_MAX];
  if (!osq_apps_path(path, sizeof path, CB_DIR "/sensorsettings.ini"))
    return false;
  char *text = osq_apps_slurp(path, SETTINGS_MAX, NULL);
  if (text == NULL)
    return false;
  bool set[NINT] = {false};
  bool in_cb = false, have_name = false, have_server = false;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char *l = osq_tbl_trim(line);
    if (*l == ';' || *l == '#' || *l == '\0')
      continue;
    if (*l == '[') {
      char *end = strchr(l, ']');
      in_cb = end && end - l == 3 && strncmp(l + 1, "CB", 2) == 0;
      continue;
    }
    char *eq = strchr(l, '=');
    if (!in_cb || eq == NULL)
      continue;
    *eq = '\0';
    char *key = osq_tbl_trim(l), *value = osq_tbl_trim(eq + 1);
    if (strcmp(key, "ConfigName") == 0 && !have_name) {
      unescape(value, "%20", ' ');
      osq_rows_cstr(out, C_CONFIG_NAME, value);
      have_name = true;
    } else if (strcmp(key, "SensorBackendServer") == 0 && !have_server) {
      unescape(value, "%3A", ':');
      osq_rows_cstr(out, C_SENSOR_BACKEND_SERVER, value);
      have_server = true;
    }
    for (size_t i = 0; i < NINT; i++) {
      int64_t v;
      if (!set[i] && strcmp(key, int_settings[i].key) == 0 &&
          osq_tbl_parse_i64(value, &v)) {
        osq_rows_int(out, int_settings[i].col, v);
        set[i] = true;
      }
    }
  }
  free(text);
  if (!have_name)
    osq_rows_cstr(out, C_CONFIG_NAME, "");
  if (!have_server)
    osq_rows_cstr(out, C_SENSOR_BACKEND_SERVER, "");
  for (size_t i = 0; i < NINT; i++)
    if (!set[i])
      osq_rows_int(out, int_settings[i].col, -1);
  /* settings osquery reports as constants on Linux */
  static const size_t zero[] = {
      C_COLLECT_DATA_FILE_WRITES, C_COLLECT_SENSOR_OPERATIONS,
      C_LOG_FILE_DISK_QUOTA_MB, C_LOG_FILE_DISK_QUOTA_PERCENTAGE,
      C_PROTECTION_DISABLED, C_COLLECT_PROCESS_USER_CONTEXT};
  for (size_t i = 0; i < sizeof zero / sizeof *zero; i++)
    osq_rows_int(out, zero[i], 0);
  osq_rows_cstr(out, C_SENSOR_IP_ADDR, "");
  return true;
}

static void queues(osq_rows *out) {
  char dir[PATH_MAX], pattern[PATH_MAX + 8];
  if (!osq_apps_path(dir, sizeof dir, CB_DIR))
    return;
  snprintf(pattern, sizeof pattern, "%s/%%%%", dir);
  osq_pathlist files = {0};
  osq_glob_expand(pattern, OSQ_GLOB_FILES, &files);
  int64_t binary = 0, events = 0;
  size_t dl = strlen(dir);
  for (size_t i = 0; i < files.n; i++) {
    const char *p = files.items[i];
    if (strncmp(p, dir, dl) != 0 || p[dl] != '/')
      continue; /* a LIKE superset: not below the directory */
    const char *base = strrchr(p, '/') + 1;
    struct stat st;
    if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (strcmp(base, "filedata") == 0 || strcmp(base, "metadata") == 0)
      binary += st.st_size;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (stem == 6 && strncmp(base, "events", 6) == 0)
      events += st.st_size;
  }
  osq_pathlist_free(&files);
  osq_rows_int(out, C_BINARY_QUEUE, binary);
  osq_rows_int(out, C_EVENT_QUEUE, events);
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  int64_t id;
  bool has_id = sensor_id(&id);
  char p[PATH_MAX];
  bool has_settings = osq_apps_path(p, sizeof p,
                                    CB_DIR "/sensorsettings.ini") &&
                      access(p, F_OK) == 0;
  char idp[PATH_MAX];
  bool has_id_file = osq_apps_path(idp, sizeof idp, CB_DIR "/sensor.id") &&
                     access(idp, F_OK) == 0;
  if (!has_id_file && !has_settings)
    return OSQ_OK; /* no sensor here */
  if (has_id)
    osq_rows_int(out, C_SENSOR_ID, id);
  settings(out);
  queues(out);
  return osq_rows_end(out);
}

static const char *const aliases[] = {"cb_info", NULL};

const osq_table_plugin osq_table_carbon_black_info = {
    .name = "carbon_black_info",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .aliases = aliases,
    .generate = generate,
};
