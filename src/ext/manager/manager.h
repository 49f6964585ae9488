/* The extension manager: osquery's ExtensionManager service on a UNIX
 * socket (accepting, peer checks, registration), routing calls to the
 * plugins extensions registered, and the health pings. Implemented in
 * src/ext/manager/.
 *
 * Room dependencies (one way): manager -> client (it calls extensions
 * through src/ext/client/) -> thrift. The manager never includes the
 * loader (src/ext/loader/), nor the loader the manager: the shell and the
 * daemon connect the two with hooks (a dead child removes its routes; a
 * hung extension is killed and restarted).
 *
 * Threads: start and stop from one thread (the program's main); the waits,
 * osq_manager_remove* and osq_manager_set_unhealthy_hook from any thread.
 * The manager runs an accept thread, a health thread (plus helpers for a
 * round) and one thread per connection; hooks run on the health thread. */
#ifndef OSQ_MANAGER_H
#define OSQ_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ext/settings.h"

typedef struct osq_manager osq_manager;

/* Check the socket mode and group of settings as osq_manager_start
 * would, without starting: 0, or -1 with its message in err. */
int osq_manager_check_socket_settings(const osq_ext_settings *settings,
                                      char *err, size_t errlen);
/* Serve on socket_path (the socket appears only once it can serve).
 * settings (copied; NULL: osquery's defaults): socket mode and group,
 * connection caps, request and ping deadlines, health interval, Thrift
 * limits. NULL with the reason in err (e.g. a bad socket mode or group). */
osq_manager *osq_manager_start(const char *socket_path,
                               const osq_ext_settings *settings, char *err,
                               size_t errlen);
/* Send shutdown() to every extension while still serving their
 * deregisterExtension, stop, remove the socket files, free. */
void osq_manager_stop(osq_manager *m);
const char *osq_manager_socket(const osq_manager *m);

/* Wait until every name has registered, under one shared deadline
 * (CLOCK_MONOTONIC ms, see osq_now_ms). 0, or -1 with the missing names
 * in err. */
int osq_manager_wait_names(osq_manager *m, const char *const *names,
                           size_t n, int64_t deadline_ms, char *err,
                           size_t errlen);
/* Wait until the process pid (or a child of it) has registered (known
 * from SO_PEERCRED of the registering connection). Returns its uuid, or 0
 * on timeout. */
int64_t osq_manager_wait_pid(osq_manager *m, pid_t pid, int64_t deadline_ms);
/* Wait until a plugin is registered in a registry (config/logger plugins
 * served by extensions). */
bool osq_manager_wait_plugin(osq_manager *m, const char *registry,
                             const char *name, int64_t deadline_ms);
/* Called from the health thread, with no lock held, after an extension
 * failed its health check (a missed ping, or stopped while calls wait on
 * it) and was removed. pid is the peer that registered it. The shell and
 * the daemon connect this to osq_loader_restart_pid, so a hung extension
 * is killed and restarted as if it had crashed. */
typedef void (*osq_manager_unhealthy_hook)(pid_t pid, const char *why,
                                           void *udata);
/* Returns once no call of the previous hook is in progress, so its udata
 * may be freed after osq_manager_set_unhealthy_hook(m, NULL, NULL). */
void osq_manager_set_unhealthy_hook(osq_manager *m,
                                    osq_manager_unhealthy_hook fn,
                                    void *udata);
/* Drop an extension and its routes (e.g. its process was killed). */
void osq_manager_remove(osq_manager *m, int64_t uuid);
/* Remove the extensions registered by pid (its process is gone). */
void osq_manager_remove_pid(osq_manager *m, pid_t pid);

#endif
