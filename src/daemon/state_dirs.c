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
  const char *pidfile = OSQ_FLAG_STR(pidfile);
  if (!OSQ_FLAG_BOOL(ephemeral) && pidfile[0] &&
      osq_mkdirs_parent(pidfile, STATE_DIR_MODE) != 0)
    return fail(err, errlen, "pidfile", pidfile);
  const char *db = OSQ_FLAG_STR(database_path);
  if (!OSQ_FLAG_BOOL(ephemeral) && !OSQ_FLAG_BOOL(disable_database) &&
      db[0] && osq_mkdirs_parent(db, STATE_DIR_MODE) != 0)
    return fail(err, errlen, "database_path", db);
  const char *logs = OSQ_FLAG_STR(logger_path);
  if (strstr(OSQ_FLAG_STR(logger_plugin), "filesystem") && logs[0] &&
      osq_mkdirs(logs, LOG_DIR_MODE) != 0)
    return fail(err, errlen, "logger_path", logs);
  return 0;
}
