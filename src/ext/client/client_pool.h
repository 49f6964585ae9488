/* Reused client connections to one extension's socket.
 *
 * osquery opens two fresh connections per call (a ping, then the call);
 * osq keeps connections open and reuses them, one call in flight per
 * connection. osquery-python serves one connection at a time
 * (TSimpleServer), so an idle connection of ours would keep such a server
 * from ever accepting the connection another caller is waiting on. The
 * pool therefore keeps at most one idle connection, and only while no
 * other call to the same extension is in flight: a caller that finishes
 * while another waits closes its connection, which lets a single-
 * connection server move on to the waiting one.
 *
 * Threads: any thread; one lease is used by one thread at a time. */
#ifndef OSQ_CLIENT_POOL_H
#define OSQ_CLIENT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ext/settings.h"
#include "thrift/thrift.h"

typedef struct osq_pool osq_pool;

/* t (copied; NULL: codec defaults): message and string limits. */
osq_pool *osq_pool_new(const char *path, const osq_thrift_settings *t);
/* No new calls (they fail at once), idle connections closed; with cut,
 * in-flight calls are cut too (their sockets shut down), otherwise they
 * finish. Idempotent. */
void osq_pool_close(osq_pool *p, bool cut);
/* Free: only once no call can be using it (after osq_pool_close and when
 * the last owner lets go). */
void osq_pool_free(osq_pool *p);
const char *osq_pool_path(const osq_pool *p);
/* Calls in flight right now. */
int osq_pool_inflight(osq_pool *p);

/* One call's use of a connection. */
typedef struct osq_lease {
  osq_tconn *conn;
  bool reused; /* came from the pool (it may have gone stale meanwhile) */
} osq_lease;

/* Take the idle connection or open a new one; the connection's deadline is
 * set to deadline_ms. OSQ_OK, or an error with the reason in err. */
int osq_pool_acquire(osq_pool *p, int64_t deadline_ms, osq_lease *l,
                     char *err, size_t errlen);
/* Give the connection back. healthy = the exchange completed and the
 * stream is in sync; otherwise it is closed. */
void osq_pool_release(osq_pool *p, osq_lease *l, bool healthy);

/* Counters (benchmarks, tests). */
typedef struct osq_pool_stats {
  uint64_t connects, reuses, closes;
} osq_pool_stats;
void osq_pool_get_stats(osq_pool *p, osq_pool_stats *out);

#endif
