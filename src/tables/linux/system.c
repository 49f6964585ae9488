/* system_info, os_version and uptime. */
#include "tables/builtin.h"
#include "tables/util.h"
#include "system.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Overridable for tests (system.h). */
const char *osq_tables_os_release_path = "/etc/os-release";

/* ---- system_info ------------------------------------------------------ */

enum {
  S_HOSTNAME, S_UUID, S_CPU_TYPE, S_CPU_SUBTYPE, S_CPU_BRAND,
  S_CPU_PHYSICAL_CORES, S_CPU_LOGICAL_CORES, S_CPU_SOCKETS, S_CPU_MICROCODE,
  S_PHYSICAL_MEMORY, S_HARDWARE_VENDOR, S_HARDWARE_MODEL, S_HARDWARE_VERSION,
  S_HARDWARE_SERIAL, S_BOARD_VENDOR, S_BOARD_MODEL, S_BOARD_VERSION,
  S_BOARD_SERIAL, S_COMPUTER_NAME, S_LOCAL_HOSTNAME,
  S_EMULATED_CPU_TYPE, S_COUNT
};

static const osq_column sysinfo_columns[] = {
    {"hostname", OSQ_TYPE_TEXT, 0},
    {"uuid", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"cpu_type", OSQ_TYPE_TEXT, 0},
    {"cpu_subtype", OSQ_TYPE_TEXT, 0},
    {"cpu_brand", OSQ_TYPE_TEXT, 0},
    {"cpu_physical_cores", OSQ_TYPE_INTEGER, 0},
    {"cpu_logical_cores", OSQ_TYPE_INTEGER, 0},
    {"cpu_sockets", OSQ_TYPE_INTEGER, 0},
    {"cpu_microcode", OSQ_TYPE_TEXT, 0},
    {"physical_memory", OSQ_TYPE_BIGINT, 0},
    {"hardware_vendor", OSQ_TYPE_TEXT, 0},
    {"hardware_model", OSQ_TYPE_TEXT, 0},
    {"hardware_version", OSQ_TYPE_TEXT, 0},
    {"hardware_serial", OSQ_TYPE_TEXT, 0},
    {"board_vendor", OSQ_TYPE_TEXT, 0},
    {"board_model", OSQ_TYPE_TEXT, 0},
    {"board_version", OSQ_TYPE_TEXT, 0},
    {"board_serial", OSQ_TYPE_TEXT, 0},
    {"computer_name", OSQ_TYPE_TEXT, 0},
    {"local_hostname", OSQ_TYPE_TEXT, 0},
    /* Windows-only in osquery: hidden, NULL */
    {"emulated_cpu_type", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
};

_Static_assert(sizeof sysinfo_columns / sizeof *sysinfo_columns == S_COUNT,
               "cols");

/* A DMI attribute, trimmed; "" when absent or unreadable (serials are
 * root-only). */
static void emit_dmi(osq_rows *out, size_t col, const char *name) {
  char path[128], buf[256];
  snprintf(path, sizeof path, "/sys/class/dmi/id/%s", name);
  if (osq_tbl_read(path, buf, sizeof buf, NULL) < 0)
    buf[0] = '\0';
  osq_rows_cstr(out, col, osq_tbl_trim(buf));
}

/* Small set of (physical id, core id) pairs seen in /proc/cpuinfo. */
#define MAX_CORES 4096

typedef struct cpuinfo {
  char brand[256], subtype[64], microcode[64];
  int64_t sockets, cores;
} cpuinfo;

static void read_cpuinfo(cpuinfo *ci) {
  memset(ci, 0, sizeof *ci);
  FILE *f = fopen("/proc/cpuinfo", "re");
  if (f == NULL)
    return;
  static const size_t max_pairs = MAX_CORES;
  int64_t(*pairs)[2] = calloc(max_pairs, sizeof *pairs);
  int64_t sockets[256];
  size_t npairs = 0, nsockets = 0;
  int64_t phys = -1, core = -1;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
      /* "flags" lines run to kilobytes: keep the head, drop the rest so a
       * tail is never read as a line of its own */
      int c;
      while ((c = fgetc(f)) != EOF && c != '\n')
        ;
    }
    char *colon = strchr(line, ':');
    if (line[0] == '\n' || colon == NULL) {
      /* end of one processor block */
      if (phys >= 0 && core >= 0 && pairs) {
        bool seen = false;
        for (size_t i = 0; i < npairs && !seen; i++)
          seen = pairs[i][0] == phys && pairs[i][1] == core;
        if (!seen && npairs < max_pairs) {
          pairs[npairs][0] = phys;
          pairs[npairs][1] = core;
          npairs++;
        }
      }
      phys = core = -1;
      continue;
    }
    *colon = '\0';
    char *key = osq_tbl_trim(line), *val = osq_tbl_trim(colon + 1);
    int64_t v;
    if (strcmp(key, "model name") == 0 && ci->brand[0] == '\0')
      snprintf(ci->brand, sizeof ci->brand, "%s", val);
    else if (strcmp(key, "model") == 0 && ci->subtype[0] == '\0')
      snprintf(ci->subtype, sizeof ci->subtype, "%s", val);
    else if (strcmp(key, "microcode") == 0 && ci->microcode[0] == '\0')
      snprintf(ci->microcode, sizeof ci->microcode, "%s", val);
    else if (strcmp(key, "physical id") == 0 && osq_tbl_parse_i64(val, &v)) {
      phys = v;
      bool seen = false;
      for (size_t i = 0; i < nsockets && !seen; i++)
        seen = sockets[i] == v;
      if (!seen && nsockets < sizeof sockets / sizeof *sockets)
        sockets[nsockets++] = v;
    } else if (strcmp(key, "core id") == 0 && osq_tbl_parse_i64(val, &v)) {
      core = v;
    }
  }
  if (phys >= 0 && core >= 0 && pairs) {
    bool seen = false;
    for (size_t i = 0; i < npairs && !seen; i++)
      seen = pairs[i][0] == phys && pairs[i][1] == core;
    if (!seen && npairs < max_pairs)
      npairs++;
  }
  fclose(f);
  free(pairs);
  ci->sockets = (int64_t)nsockets;
  ci->cores = (int64_t)npairs;
}

static int sysinfo_generate(const osq_context *ctx, osq_rows *out,
                            void *udata) {
  (void)ctx;
  (void)udata;
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0)
    host[0] = '\0';
  host[sizeof host - 1] = '\0';
  osq_rows_cstr(out, S_HOSTNAME, host);
  osq_rows_cstr(out, S_COMPUTER_NAME, host);
  char local[256];
  snprintf(local, sizeof local, "%s", host);
  local[strcspn(local, ".")] = '\0';
  osq_rows_cstr(out, S_LOCAL_HOSTNAME, local);
  char uuid[37];
  osq_tbl_host_uuid(uuid);
  osq_rows_cstr(out, S_UUID, uuid);
  struct utsname u;
  osq_rows_cstr(out, S_CPU_TYPE, uname(&u) == 0 ? u.machine : "");
  cpuinfo ci;
  read_cpuinfo(&ci);
  osq_rows_cstr(out, S_CPU_SUBTYPE, ci.subtype);
  osq_rows_cstr(out, S_CPU_BRAND, ci.brand);
  osq_rows_cstr(out, S_CPU_MICROCODE, ci.microcode);
  long logical = sysconf(_SC_NPROCESSORS_CONF);
  osq_rows_int(out, S_CPU_LOGICAL_CORES, logical > 0 ? logical : 0);
  /* without topology lines (VMs, ARM) every logical CPU counts */
  osq_rows_int(out, S_CPU_PHYSICAL_CORES,
               ci.cores > 0 ? ci.cores : (logical > 0 ? logical : 0));
  osq_rows_int(out, S_CPU_SOCKETS, ci.sockets > 0 ? ci.sockets : 1);
  struct sysinfo si;
  if (sysinfo(&si) == 0)
    osq_rows_int(out, S_PHYSICAL_MEMORY,
                 (int64_t)((uint64_t)si.totalram * si.mem_unit));
  emit_dmi(out, S_HARDWARE_VENDOR, "sys_vendor");
  emit_dmi(out, S_HARDWARE_MODEL, "product_name");
  emit_dmi(out, S_HARDWARE_VERSION, "product_version");
  emit_dmi(out, S_HARDWARE_SERIAL, "product_serial");
  emit_dmi(out, S_BOARD_VENDOR, "board_vendor");
  emit_dmi(out, S_BOARD_MODEL, "board_name");
  emit_dmi(out, S_BOARD_VERSION, "board_version");
  emit_dmi(out, S_BOARD_SERIAL, "board_serial");
  return osq_rows_end(out);
}

const osq_table_plugin osq_table_system_info = {
    .name = "system_info",
    .columns = sysinfo_columns,
    .ncolumns = OSQ_NCOLS(sysinfo_columns),
    .generate = sysinfo_generate,
};

/* ---- os_version ------------------------------------------------------- */

enum {
  O_NAME, O_VERSION, O_MAJOR, O_MINOR, O_PATCH, O_BUILD, O_PLATFORM,
  O_PLATFORM_LIKE, O_CODENAME, O_ARCH, O_EXTRA, O_INSTALL_DATE, O_REVISION,
  O_PID_WITH_NAMESPACE, O_MOUNT_NAMESPACE_ID, O_COUNT
};

static const osq_column os_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"major", OSQ_TYPE_INTEGER, 0},
    {"minor", OSQ_TYPE_INTEGER, 0},
    {"patch", OSQ_TYPE_INTEGER, 0},
    {"build", OSQ_TYPE_TEXT, 0},
    {"platform", OSQ_TYPE_TEXT, 0},
    {"platform_like", OSQ_TYPE_TEXT, 0},
    {"codename", OSQ_TYPE_TEXT, 0},
    {"arch", OSQ_TYPE_TEXT, 0},
    /* other platforms' columns, hidden */
    {"extra", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"install_date", OSQ_TYPE_BIGINT, OSQ_COL_HIDDEN},
    {"revision", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"mount_namespace_id", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
};

_Static_assert(sizeof os_columns / sizeof *os_columns == O_COUNT, "cols");

/* "22.04.3" -> 22, 4, 3; a part the release does not have is 0, as
 * osquery reports it ("12" -> 12, 0, 0; none at all -> 0, 0, 0). */
static void emit_version_parts(osq_rows *out, const char *v) {
  size_t cols[3] = {O_MAJOR, O_MINOR, O_PATCH};
  int64_t parts[3] = {0, 0, 0};
  const char *p = v;
  for (int i = 0; i < 3 && isdigit((unsigned char)*p); i++) {
    int digits = 0;
    while (isdigit((unsigned char)*p) && digits < 9) {
      parts[i] = parts[i] * 10 + (*p++ - '0');
      digits++;
    }
    if (*p != '.')
      break;
    p++;
  }
  for (int i = 0; i < 3; i++)
    osq_rows_int(out, cols[i], parts[i]);
}

static int os_row(osq_rows *out, int64_t ns_pid) {
  char buf[16384];
  if (osq_tbl_read_in(ns_pid, osq_tables_os_release_path, buf, sizeof buf) <
          0 &&
      osq_tbl_read_in(ns_pid, "/usr/lib/os-release", buf, sizeof buf) < 0) {
    if (ns_pid > 0)
      return OSQ_OK; /* that root has no os-release: no row */
    buf[0] = '\0';
  }
  char name[256] = "Linux", version[256] = "", version_id[128] = "",
       id[128] = "linux", like[256] = "", codename[128] = "",
       build[128] = "";
  osq_tbl_os_release(buf, "NAME", name, sizeof name);
  osq_tbl_os_release(buf, "VERSION", version, sizeof version);
  osq_tbl_os_release(buf, "VERSION_ID", version_id, sizeof version_id);
  osq_tbl_os_release(buf, "ID", id, sizeof id);
  osq_tbl_os_release(buf, "ID_LIKE", like, sizeof like);
  osq_tbl_os_release(buf, "VERSION_CODENAME", codename, sizeof codename);
  osq_tbl_os_release(buf, "BUILD_ID", build, sizeof build);
  osq_rows_cstr(out, O_NAME, name);
  osq_rows_cstr(out, O_VERSION, version[0] ? version : version_id);
  emit_version_parts(out, version_id[0] ? version_id : version);
  osq_rows_cstr(out, O_BUILD, build);
  osq_rows_cstr(out, O_PLATFORM, id);
  osq_rows_cstr(out, O_PLATFORM_LIKE, like);
  osq_rows_cstr(out, O_CODENAME, codename);
  struct utsname u;
  osq_rows_cstr(out, O_ARCH, uname(&u) == 0 ? u.machine : "");
  if (ns_pid > 0) {
    char mnt[32];
    osq_rows_int(out, O_PID_WITH_NAMESPACE, ns_pid);
    if (osq_tbl_mnt_ns(ns_pid, mnt, sizeof mnt))
      osq_rows_cstr(out, O_MOUNT_NAMESPACE_ID, mnt);
  }
  return osq_rows_end(out);
}

static int os_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  int64_t pids[OSQ_TBL_NS_PIDS_MAX];
  size_t np = osq_tbl_ns_pids(ctx, O_PID_WITH_NAMESPACE, pids,
                              OSQ_TBL_NS_PIDS_MAX);
  if (np == 0)
    return os_row(out, 0);
  int rc = OSQ_OK;
  for (size_t i = 0; i < np && rc == OSQ_OK; i++)
    rc = os_row(out, pids[i]);
  return rc;
}

const osq_table_plugin osq_table_os_version = {
    .name = "os_version",
    .columns = os_columns,
    .ncolumns = OSQ_NCOLS(os_columns),
    .generate = os_generate,
};

/* ---- uptime ----------------------------------------------------------- */

enum { T_DAYS, T_HOURS, T_MINUTES, T_SECONDS, T_TOTAL_SECONDS };

static const osq_column uptime_columns[] = {
    {"days", OSQ_TYPE_INTEGER, 0},    {"hours", OSQ_TYPE_INTEGER, 0},
    {"minutes", OSQ_TYPE_INTEGER, 0}, {"seconds", OSQ_TYPE_INTEGER, 0},
    {"total_seconds", OSQ_TYPE_BIGINT, 0},
};

static int uptime_generate(const osq_context *ctx, osq_rows *out,
                           void *udata) {
  (void)ctx;
  (void)udata;
  struct timespec ts;
  /* CLOCK_BOOTTIME counts suspend too, as /proc/uptime does */
  if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0) {
    osq_rows_error(out, "uptime: cannot read the boot clock");
    return OSQ_ERROR;
  }
  int64_t t = ts.tv_sec;
  osq_rows_int(out, T_DAYS, t / 86400);
  osq_rows_int(out, T_HOURS, (t % 86400) / 3600);
  osq_rows_int(out, T_MINUTES, (t % 3600) / 60);
  osq_rows_int(out, T_SECONDS, t % 60);
  osq_rows_int(out, T_TOTAL_SECONDS, t);
  return osq_rows_end(out);
}

const osq_table_plugin osq_table_uptime = {
    .name = "uptime",
    .columns = uptime_columns,
    .ncolumns = OSQ_NCOLS(uptime_columns),
    .generate = uptime_generate,
};
