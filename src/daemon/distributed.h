/* Distributed queries (docs/protocol.md §5.4): ask the --distributed_plugin
 * for queries, run them, write the results back.
 *
 * Threads: the worker's main (scheduler) thread only. */
#ifndef OSQ_DAEMON_DISTRIBUTED_H
#define OSQ_DAEMON_DISTRIBUTED_H

#include <stdint.h>

#include "daemon/store.h"
#include "sql/sql.h"

/* One round. Returns the seconds until the next round: the plugin's
 * "accelerate" when it asked for one, else --distributed_interval.
 *
 * store (may be NULL) marks each query as running while it runs; a query
 * still marked when it comes again (it took the worker down) is not run
 * for --distributed_denylist_duration seconds after it started, and is
 * reported failed with "Query is denylisted". */
uint64_t osq_distributed_round(osq_db *db, osq_store *store);

#endif
