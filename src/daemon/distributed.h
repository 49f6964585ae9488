/* Distributed queries (docs/protocol.md §5.4): ask the --distributed_plugin
 * for queries, run them, write the results back.
 *
 * Threads: the worker's main (scheduler) thread only. */
#ifndef OSQ_DAEMON_DISTRIBUTED_H
#define OSQ_DAEMON_DISTRIBUTED_H

#include <stdint.h>

#include "sql/sql.h"

/* One round. Returns the seconds until the next round: the plugin's
 * "accelerate" when it asked for one, else --distributed_interval. */
uint64_t osq_distributed_round(osq_db *db);

#endif
