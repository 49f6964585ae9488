/* The TLS fleet client (docs/fleet.md): enrollment and the "tls" config,
 * logger and distributed plugins speaking osquery's remote API.
 *
 * The daemon hands in what this layer cannot reach itself (the results
 * store's path, the host identifier, the host details queries), then
 * registers the plugins. Lines for the tls logger and the node key live
 * in the results store file, in tables of their own, through a connection
 * of this layer (WAL lets it share the file with the scheduler's).
 *
 * Threads: init/register/shutdown on the main thread; the plugins: any. */
#ifndef OSQ_REMOTE_TLS_H
#define OSQ_REMOTE_TLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct osq_tls_env {
  const char *database_path; /* NULL: in memory (--ephemeral) */
  const char *host_identifier;
  /* osquery's enrollment host_details: table name -> its first row, for
   * os_version, osquery_info, system_info and platform_info. Called from
   * any thread, rarely (enrollment); NULL: send an empty object. */
  json_t *(*host_details)(void *udata);
  void *udata;
} osq_tls_env;

/* Keep env (copied) and register the tls config, logger and distributed
 * plugins. 0, or -1 with the reason in err. */
int osq_tls_register(const osq_tls_env *env, char *err, size_t errlen);

/* Stop the log forwarder and close the connection (lines stay stored). */
void osq_tls_shutdown(void);

#endif
