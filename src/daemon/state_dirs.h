/* The directories osqd writes to, made before it takes the pidfile (as
 * osqueryd does), so a fresh install starts: the pidfile's directory, the
 * results store's and, for the filesystem logger, --logger_path. Main
 * thread, at start. */
#ifndef OSQ_DAEMON_STATE_DIRS_H
#define OSQ_DAEMON_STATE_DIRS_H

#include <stddef.h>

/* 0, or -1 with a message naming the flag, the directory and why. */
int osq_state_dirs_make(char *err, size_t errlen);

#endif
