/* osquery_info: one row about this process. */
#include "osquery_info.h"

#include "core/flags.h"
#include "ext/introspect.h"
#include "tables/builtin.h"
#include "tables/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_INSTANCE_PATH "/var/osq/instance_id"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *config_hash;
static bool config_valid;
static pid_t watcher = -1;
static char *instance_path;
static char instance_id[37];
static char host_uuid[37]; /* set by the daemon, else "" */

void osq_info_set_config(const char *hash, bool valid) {
  char *copy = hash ? strdup(hash) : NULL;
  pthread_mutex_lock(&lock);
  free(config_hash);
  config_hash = copy;
  config_valid = valid;
  pthread_mutex_unlock(&lock);
}

void osq_info_set_watcher(pid_t pid) {
  pthread_mutex_lock(&lock);
  watcher = pid > 0 ? pid : -1;
  pthread_mutex_unlock(&lock);
}

void osq_info_set_instance_path(const char *path) {
  char *copy = path ? strdup(path) : NULL;
  pthread_mutex_lock(&lock);
  free(instance_path);
  instance_path = copy;
  instance_id[0] = '\0';
  pthread_mutex_unlock(&lock);
}

bool osq_info_set_host_uuid(const char *uuid) {
  if (uuid && !osq_tbl_is_uuid(uuid))
    return false;
  pthread_mutex_lock(&lock);
  snprintf(host_uuid, sizeof host_uuid, "%s", uuid ? uuid : "");
  pthread_mutex_unlock(&lock);
  return true;
}

bool osq_info_set_instance_id(const char *uuid) {
  if (uuid && !osq_tbl_is_uuid(uuid))
    return false;
  pthread_mutex_lock(&lock);
  /* "" makes the next read load the file again */
  snprintf(instance_id, sizeof instance_id, "%s", uuid ? uuid : "");
  pthread_mutex_unlock(&lock);
  return true;
}

/* The instance id survives restarts when its file can be kept; a directory
 * we may not write gives a per-process id, as osquery's ephemeral mode. */
static void load_instance_id(const char *path, char out[37]) {
  char buf[64];
  if (osq_tbl_read(path, buf, sizeof buf, NULL) > 0) {
    char *s = osq_tbl_trim(buf);
    if (osq_tbl_is_uuid(s)) {
      memcpy(out, s, 37);
      return;
    }
  }
  osq_tbl_random_uuid(out);
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >=
      (int)sizeof tmp)
    return;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                0644);
  if (fd < 0)
    return;
  char line[40];
  int n = snprintf(line, sizeof line, "%s\n", out);
  bool ok = write(fd, line, (size_t)n) == n;
  ok = close(fd) == 0 && ok;
  /* link() refuses to replace a file another process made meanwhile. */
  if (ok && link(tmp, path) != 0 && errno == EEXIST) {
    unlink(tmp);
    if (osq_tbl_read(path, buf, sizeof buf, NULL) > 0) {
      char *s = osq_tbl_trim(buf);
      if (osq_tbl_is_uuid(s))
        memcpy(out, s, 37);
    }
    return;
  }
  unlink(tmp);
}

void osq_info_instance_id(char out[37]) {
  pthread_mutex_lock(&lock);
  if (instance_id[0] == '\0')
    load_instance_id(instance_path ? instance_path : DEFAULT_INSTANCE_PATH,
                     instance_id);
  memcpy(out, instance_id, 37);
  pthread_mutex_unlock(&lock);
}

/* A connect() that succeeds (or finds a full backlog) means a manager
 * listens; nothing is sent. */
static bool manager_answers(void) {
  char *path = osq_introspect_socket();
  if (path == NULL)
    return false;
  bool ok = false;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) < sizeof sa.sun_path) {
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0) {
      int rc;
      do
        rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
      while (rc < 0 && errno == EINTR);
      ok = rc == 0 || errno == EAGAIN || errno == EINPROGRESS;
      close(fd);
    }
  }
  free(path);
  return ok;
}

static void build_distro(char *out, size_t cap) {
  char buf[8192], id[64] = "", ver[64] = "";
  if (osq_tbl_read("/etc/os-release", buf, sizeof buf, NULL) > 0 ||
      osq_tbl_read("/usr/lib/os-release", buf, sizeof buf, NULL) > 0) {
    osq_tbl_os_release(buf, "ID", id, sizeof id);
    osq_tbl_os_release(buf, "VERSION_ID", ver, sizeof ver);
  }
  snprintf(out, cap, "%s%s", id[0] ? id : "linux", ver);
}

/* The process start in epoch seconds, from /proc/self/stat. */
static int64_t self_start_time(void) {
  char buf[1024];
  if (osq_tbl_read("/proc/self/stat", buf, sizeof buf, NULL) <= 0)
    return -1;
  char *p = strrchr(buf, ')');
  if (p == NULL)
    return -1;
  /* fields after the command: state is field 3, starttime field 22 */
  unsigned long long start = 0;
  int field = 2;
  char *save = NULL;
  for (char *tok = strtok_r(p + 1, " ", &save); tok;
       tok = strtok_r(NULL, " ", &save)) {
    if (++field == 22) {
      start = strtoull(tok, NULL, 10);
      break;
    }
  }
  int64_t boot = osq_tbl_boot_time();
  long hz = sysconf(_SC_CLK_TCK);
  if (field != 22 || boot < 0 || hz <= 0)
    return -1;
  return boot + (int64_t)(start / (unsigned long long)hz);
}

enum {
  C_PID, C_UUID, C_INSTANCE_ID, C_VERSION, C_CONFIG_HASH, C_CONFIG_VALID,
  C_EXTENSIONS, C_BUILD_PLATFORM, C_BUILD_DISTRO, C_START_TIME, C_WATCHER,
  C_PLATFORM_MASK, C_OSQ_VERSION,
};

static const osq_column columns[] = {
    {"pid", OSQ_TYPE_INTEGER, 0},
    {"uuid", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"instance_id", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"config_hash", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"config_valid", OSQ_TYPE_INTEGER, 0},
    {"extensions", OSQ_TYPE_TEXT, 0},
    {"build_platform", OSQ_TYPE_TEXT, 0},
    {"build_distro", OSQ_TYPE_TEXT, 0},
    {"start_time", OSQ_TYPE_INTEGER, 0},
    {"watcher", OSQ_TYPE_INTEGER, 0},
    {"platform_mask", OSQ_TYPE_INTEGER, 0},
    /* osq's own version; hidden so that SELECT * shows osquery's columns
     * only */
    {"osq_version", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN | OSQ_COL_COLLATE_VERSION},
};

/* osquery's PlatformType bits: POSIX (8) | LINUX (1) */
#define PLATFORM_MASK_LINUX 9

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  char uuid[37], inst[37], distro[160];
  osq_rows_int(out, C_PID, getpid());
  if (osq_tbl_used(ctx, C_UUID)) {
    pthread_mutex_lock(&lock);
    memcpy(uuid, host_uuid, sizeof uuid);
    pthread_mutex_unlock(&lock);
    if (uuid[0] == '\0')
      osq_tbl_host_uuid(uuid);
    osq_rows_cstr(out, C_UUID, uuid);
  }
  if (osq_tbl_used(ctx, C_INSTANCE_ID)) {
    osq_info_instance_id(inst);
    osq_rows_cstr(out, C_INSTANCE_ID, inst);
  }
  /* the osquery version osq behaves as: packs and fleet servers gate on it */
  osq_rows_cstr(out, C_VERSION, OSQ_SDK_VERSION);
  pthread_mutex_lock(&lock);
  osq_rows_cstr(out, C_CONFIG_HASH, config_hash ? config_hash : "");
  osq_rows_int(out, C_CONFIG_VALID, config_valid ? 1 : 0);
  int64_t w = watcher;
  pthread_mutex_unlock(&lock);
  if (osq_tbl_used(ctx, C_EXTENSIONS))
    osq_rows_cstr(out, C_EXTENSIONS,
                  manager_answers() ? "active" : "inactive");
  osq_rows_cstr(out, C_BUILD_PLATFORM, "linux");
  if (osq_tbl_used(ctx, C_BUILD_DISTRO)) {
    build_distro(distro, sizeof distro);
    osq_rows_cstr(out, C_BUILD_DISTRO, distro);
  }
  osq_rows_int(out, C_START_TIME, self_start_time());
  osq_rows_int(out, C_WATCHER, w);
  osq_rows_int(out, C_PLATFORM_MASK, PLATFORM_MASK_LINUX);
  osq_rows_cstr(out, C_OSQ_VERSION, OSQ_VERSION);
  return osq_rows_end(out);
}

const osq_table_plugin osq_table_osquery_info = {
    .name = "osquery_info",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_UTILITY,
    .generate = generate,
};
