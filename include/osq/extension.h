/*
 * libosqext: write an osquery extension in C.
 *
 * An extension is a separate program that adds tables, config sources,
 * loggers or distributed-query sources to an osquery-compatible core (osq's
 * osqi/osqd, or osquery itself) over osquery's Thrift API on a UNIX
 * socket. The plugins are the structs of <osq/plugin.h>.
 *
 *   osq_extension *ext = osq_extension_new("my_ext", "1.0.0");
 *   osq_extension_add_table(ext, &my_table);
 *   int code = osq_extension_run(ext, argc, argv);  // until told to stop
 *   osq_extension_free(ext);
 *   return code;
 *
 * osq_extension_run reads the flags the core passes to an extension
 * (--socket, --timeout, --interval, --verbose; others are ignored), waits
 * for the core, registers, serves the core's calls on <socket>.<uuid>
 * (each connection on its own thread), watches the core, and returns the
 * process exit code: 0 when the core asked it to stop, went away, or a
 * SIGTERM/SIGINT came; 1 when it could not register or the core dropped it.
 *
 * Plugin callbacks may run concurrently on several threads: keep them
 * thread-safe. Functions return OSQ_OK or a negative OSQ_E* code
 * (osq_strerror names it; osq_last_error() says why, see <osq/plugin.h>).
 *
 * Threads: osq_extension_new, the add functions and osq_extension_free on
 * one thread, before and after osq_extension_run; osq_extension_stop and
 * the getters and queries below from any thread while it runs.
 */
#ifndef OSQ_EXTENSION_H
#define OSQ_EXTENSION_H

#include <osq/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OSQ_EXT_API_VERSION OSQ_API_VERSION /* the older name */

/* Bounds checked by the add functions. */
#define OSQ_EXT_MAX_PLUGINS 1024 /* per extension */
#define OSQ_EXT_MAX_NAME 255     /* extension, plugin and column names */
#define OSQ_EXT_MAX_CONNECTIONS 64 /* served at once; more are refused */

typedef struct osq_extension osq_extension;

/* name: how the core lists the extension (osquery_extensions.name);
 * version: its version string. NULL on a bad name or out of memory. */
osq_extension *osq_extension_new(const char *name, const char *version);
/* Calls each plugin's destroy(). Not while osq_extension_run runs. */
void osq_extension_free(osq_extension *ext);

/* Add a plugin before osq_extension_run. The struct (and its columns,
 * aliases) must stay valid until osq_extension_free. Errors (osq_last_error() says which rule failed):
 * OSQ_EINVAL for a bad plugin (empty name, a table name that is not a
 * bare SQL identifier, no columns), OSQ_EEXIST for a second plugin of that
 * name in the registry, OSQ_ERANGE past OSQ_EXT_MAX_PLUGINS, OSQ_EVERSION
 * when the extension was built for an API version this library does not
 * have (newer than osq_api_version()).
 *
 * The add functions are macros that pass sizeof the struct and
 * OSQ_API_VERSION, so the library reads only the fields the extension was
 * built with; call the _v functions only through them. */
#define osq_extension_add_table(ext, t)                                     \
  osq_extension_add_table_v((ext), (t), sizeof *(t), OSQ_API_VERSION)
#define osq_extension_add_config(ext, c)                                    \
  osq_extension_add_config_v((ext), (c), sizeof *(c), OSQ_API_VERSION)
#define osq_extension_add_logger(ext, l)                                    \
  osq_extension_add_logger_v((ext), (l), sizeof *(l), OSQ_API_VERSION)
#define osq_extension_add_distributed(ext, d)                               \
  osq_extension_add_distributed_v((ext), (d), sizeof *(d), OSQ_API_VERSION)
int osq_extension_add_table_v(osq_extension *ext, const osq_table_plugin *t,
                              size_t size, int api_version);
int osq_extension_add_config_v(osq_extension *ext, const osq_config_plugin *c,
                               size_t size, int api_version);
int osq_extension_add_logger_v(osq_extension *ext, const osq_logger_plugin *l,
                               size_t size, int api_version);
int osq_extension_add_distributed_v(osq_extension *ext,
                                    const osq_distributed_plugin *d,
                                    size_t size, int api_version);

/* Run until stopped; returns the exit code for main(). argv is not
 * modified. */
int osq_extension_run(osq_extension *ext, int argc, char **argv);

/* Serve the plugins on socket_path without a core: no registration, no
 * watcher, uuid 0 (benchmarks, tests, a peer that connects by path). A
 * stale socket at the path is replaced. Returns 0 after shutdown() or
 * SIGTERM/SIGINT, 1 if it cannot listen. */
int osq_extension_serve(osq_extension *ext, const char *socket_path);

/* Ask a running extension to stop (any thread, not a signal handler):
 * deregister, stop serving, and make osq_extension_run return code. */
void osq_extension_stop(osq_extension *ext, int code);

/* While running (e.g. from a plugin callback): the uuid the core gave,
 * the socket the extension serves, the core's socket, and the core's
 * value of one of its flags (from options() at registration: e.g.
 * "logger_plugin"), or NULL. */
int64_t osq_extension_uuid(const osq_extension *ext);
const char *osq_extension_socket(const osq_extension *ext);
const char *osq_extension_manager_socket(const osq_extension *ext);
const char *osq_extension_option(const osq_extension *ext, const char *name);

/* The request map of the call being served on this thread ("action",
 * "context", and any other key the caller sent), or NULL outside a plugin
 * callback. For keys osquery's payloads do not model. */
const osq_strmap *osq_extension_request(void);

/* Run SQL on the core (its query() method). row is called once per result
 * row with column name -> value text (osq_strmap_get / _count / _key /
 * _val); a non-zero return stops the calls and becomes the result.
 * OSQ_OK; OSQ_ERROR when the core refused the SQL (its reason in err,
 * which may be NULL, and in osq_last_error());
 * OSQ_EIO/OSQ_ETIMEDOUT/OSQ_EPROTO when the core could not be asked;
 * OSQ_EINVAL when the extension is not running. Safe from any thread. */
typedef int (*osq_query_row_fn)(const osq_strmap *row, void *udata);
int osq_extension_query(osq_extension *ext, const char *sql,
                        osq_query_row_fn row, void *udata, char *err,
                        size_t errlen);
/* The result columns of sql without running it (getQueryColumns): one
 * call per column, in order, with a one-entry map name -> declared type
 * ("TEXT", "BIGINT", ... or "UNKNOWN"). Errors as osq_extension_query. */
int osq_extension_query_columns(osq_extension *ext, const char *sql,
                                osq_query_row_fn row, void *udata, char *err,
                                size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
