/* The remote client: plugins that live in an extension process, as local
 * plugin structs whose callbacks make the Thrift `call` (docs/protocol.md
 * §5), over the extension's connection pool (client_pool.h) with a
 * per-call deadline. Implemented in src/ext/client/.
 *
 * Room dependencies (one way): client -> registry (the plugin structs),
 * thrift, core. The manager uses the client; the client knows neither the
 * manager nor the loader.
 *
 * Threads: every function may be called from any thread; a remote
 * extension is refcounted and its pool has its own lock (never held
 * across a call). */
#ifndef OSQ_REMOTE_H
#define OSQ_REMOTE_H

#include "plugin/kind.h"
#include "ext/settings.h"
#include "thrift/api.h"

/* Bounds on what one registration may declare. */
#define OSQ_REMOTE_MAX_ROUTES 4096
#define OSQ_REMOTE_MAX_COLUMNS 2000 /* SQLite's default SQLITE_MAX_COLUMN */
#define OSQ_REMOTE_MAX_NAME 255

/* One registered extension as its plugins and the manager see it.
 * Refcounted: every remote plugin holds a reference. */
typedef struct osq_remote_ext osq_remote_ext;

/* t (copied; NULL: no call deadline, codec limits): the per-call
 * deadline and decoding limits. */
osq_remote_ext *osq_remote_ext_new(int64_t uuid, const char *name,
                                   const char *socket_path,
                                   const osq_thrift_settings *t);
osq_remote_ext *osq_remote_ext_ref(osq_remote_ext *e);
void osq_remote_ext_unref(osq_remote_ext *e);
/* The extension is gone: calls fail at once, in-flight calls are cut. */
void osq_remote_ext_close(osq_remote_ext *e);
/* The same, and every failed call says why (e.g. "failed its health
 * check (...)"), so a query names the cause instead of a bare "closed".
 * The first reason given is kept. */
void osq_remote_ext_close_because(osq_remote_ext *e, const char *why);
/* The extension left on its own (deregisterExtension): no new calls, but
 * calls in flight may finish (osquery-go deregisters from inside its
 * shutdown() handler, while our shutdown() call waits for the reply). */
void osq_remote_ext_retire(osq_remote_ext *e);
int64_t osq_remote_ext_uuid(const osq_remote_ext *e);
const char *osq_remote_ext_path(const osq_remote_ext *e);
/* Calls in flight (the health check leaves a busy extension alone: the
 * calls' own deadlines catch a hang). */
int osq_remote_ext_inflight(osq_remote_ext *e);
struct osq_pool_stats;
void osq_remote_ext_stats(osq_remote_ext *e, struct osq_pool_stats *out);

/* Per-call deadline: now + the call timeout (0 = none). */
int64_t osq_remote_default_deadline(const osq_remote_ext *e);

/* One `call` over the pool. deadline_ms 0: the default. A reused
 * connection that turns out dead is replaced once. OSQ_OK when a reply
 * arrived (check st->code); otherwise err says why ("Extension call
 * failed: ..."). */
int osq_remote_call(osq_remote_ext *e, const char *registry, const char *item,
                    const osq_strmap *request, osq_ext_status *st,
                    const osq_row_handler *rows, int64_t deadline_ms,
                    char *err, size_t errlen);
/* ping: OSQ_OK when alive (any code but 1, as osquery treats it). */
int osq_remote_ping(osq_remote_ext *e, int64_t deadline_ms, char *err,
                    size_t errlen);
int osq_remote_shutdown(osq_remote_ext *e, int64_t deadline_ms, char *err,
                        size_t errlen);

/* Turn the routes of a registration into plugin specs owned by e.
 * Unknown registries with an empty route table are ignored, as are
 * osquery registries osq does not serve (with a warning). On failure err
 * gets osquery's reason (e.g. "Invalid route info", "Unknown registry:
 * X"), nothing is returned and OSQ_EINVAL. */
int osq_remote_build(osq_remote_ext *e, const osq_route_table *routes,
                     osq_plugin_spec **specs, size_t *nspecs, char *err,
                     size_t errlen);
/* Free specs that were never published (registration failed). */
void osq_remote_specs_free(osq_plugin_spec *specs, size_t n);
/* Free the array only (the registry owns the plugins now). */
void osq_remote_specs_release(osq_plugin_spec *specs);

/* Ask the extension's logger plugins among loggers (the registered
 * logger plugins, from the caller's registry) for their features (the
 * reply's code is the bitmask) once it serves. */
void osq_remote_query_features(osq_remote_ext *e, const osq_plugin *const *loggers,
                               size_t n);

#endif
