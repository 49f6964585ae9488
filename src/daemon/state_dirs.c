#include "daemon/state_dirs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/flags.h"
#include "core/mkdirs.h"

/* State (database, pidfile, socket) is private to root; logs may be read
 * by a group (as --logger_mode allows). */
#define STATE_DIR_MODE 0700
#define LOG_DIR_MODE 0750

static int fail(char *err, size_t errlen, const char *flag, const char *path) {
  snprintf(err, errlen, "cannot create the directory for --%s=%s: %s", flag,
           path, strerror(errno));
  return -1;
}

int osq_state_dirs_make(char *err, size_t errlen) {
  const char *pidfile = osq_flag_str("pidfile");
  if (!osq_flag_bool("ephemeral") && pidfile[0] &&
      osq_mkdirs_parent(pidfile, STATE_DIR_MODE) != 0)
    return fail(err, errlen, "pidfile", pidfile);
  const char *db = osq_flag_str("database_path");
  if (!osq_flag_bool("ephemeral") && !osq_flag_bool("disable_database") &&
      db[0] && osq_mkdirs_parent(db, STATE_DIR_MODE) != 0)
    return fail(err, errlen, "database_path", db);
  const char *logs = osq_flag_str("logger_path");
  if (strstr(osq_flag_str("logger_plugin"), "filesystem") && logs[0] &&
      osq_mkdirs(logs, LOG_DIR_MODE) != 0)
    return fail(err, errlen, "logger_path", logs);
  return 0;
}
