/* Hooks the TLS fleet client (src/remote) into the daemon: the host
 * identifier and enrollment's host details come from here.
 *
 * Threads: register/shutdown on the worker's main thread. */
#ifndef OSQ_DAEMON_FLEET_H
#define OSQ_DAEMON_FLEET_H

#include <stddef.h>

#include "daemon/store.h"

/* database_path NULL: the store is in memory. */
int osq_fleet_register(osq_store *store, const char *database_path,
                       char *err, size_t errlen);
void osq_fleet_shutdown(void);

#endif
