/* --host_identifier (docs/compat.md §3.5).
 *
 * Thread-safe: any thread. */
#ifndef OSQ_DAEMON_HOSTID_H
#define OSQ_DAEMON_HOSTID_H

#include <stddef.h>

#include "daemon/store.h"

/* Fill out with the identifier for the current flags; store (may be
 * NULL) keeps the uuid/instance values across restarts. */
void osq_host_identifier(osq_store *store, char *out, size_t cap);

#endif
