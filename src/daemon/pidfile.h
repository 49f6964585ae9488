/* --pidfile: osquery's rules (docs/compat.md §4.2): O_CREAT|O_RDWR|O_APPEND
 * mode 0600, an exclusive non-blocking flock held for the life of the
 * process, the decimal pid written without a newline.
 *
 * Threads: the main thread at start-up, before other threads exist. */
#ifndef OSQ_DAEMON_PIDFILE_H
#define OSQ_DAEMON_PIDFILE_H

#include <stddef.h>

/* Returns the descriptor to keep open, or -1 with the reason in err
 * ("Busy" when another process holds the lock). */
int osq_pidfile_acquire(const char *path, char *err, size_t errlen);
/* --force: when the pidfile is busy and its pid is an osqd process
 * (/proc/<pid>/comm starts with "osqd", or "osqueryd" under osquery's
 * names), send it SIGTERM and retry 5 times
 * at 2 s intervals. */
int osq_pidfile_acquire_force(const char *path, char *err, size_t errlen);
/* Unlock and close; the file is left in place. */
void osq_pidfile_release(int fd);

#endif
