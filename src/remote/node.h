/* Inside the remote layer: its state in the results store, enrollment
 * and one request with node_key, node_invalid and retries handled.
 *
 * Threads: any; the state connection and enrollment are locked. */
#ifndef OSQ_REMOTE_NODE_H
#define OSQ_REMOTE_NODE_H

#include "remote/http.h"
#include "remote/tls.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* Keep env (copied; idempotent). The state connection opens on first
 * use; a failure to open is logged once and the callers' writes fail. */
int osq_node_open(const osq_tls_env *env, char *err, size_t errlen);
void osq_node_close(void);

/* The state connection, locked for the caller until osq_node_unlock. */
sqlite3 *osq_node_lock(void);
void osq_node_unlock(void);

/* Settings in the results store's settings table. */
char *osq_node_get(const char *key);
int osq_node_set(const char *key, const char *value);

/* The node key (malloc'd), enrolling first when there is none (or always
 * once with --enroll_always). NULL with err when enrollment failed or is
 * backing off. --disable_enrollment: "" without asking the server. */
char *osq_node_key(osq_http *h, char *err, size_t errlen);
/* An enrollment round (osquery's): after the failures-th failed attempt
 * in a row, the seconds to wait before the next one: failures squared,
 * at most max_interval; -1 when max_attempts (0: no limit) are spent and
 * the round is over, so the next request that needs a key starts a new
 * one. */
int64_t osq_node_enroll_wait(uint64_t failures, uint64_t max_attempts,
                             uint64_t max_interval);

/* The path (and query) to send a request for endpoint to, as osquery
 * builds it: with --tls_node_api the node key (key; NULL for enrollment)
 * is a path segment before the endpoint and a node_key parameter; with
 * --tls_secret_always the enroll secret is a parameter named by
 * --tls_enroll_override. Values are percent-encoded. malloc'd, or NULL
 * with err (the secret cannot be read). */
char *osq_node_target(const char *endpoint, const char *key, char *err,
                      size_t errlen);

/* The server said node_invalid for key: forget it so the next call
 * enrolls again. */
void osq_node_invalidate(const char *key);

/* An HTTP reply as osquery's remote API wants it: status 200 and a JSON
 * object. 0 with *out, or -1 with err naming endpoint and why. */
int osq_node_check_reply(const osq_http_reply *r, const char *endpoint,
                         json_t **out, char *err, size_t errlen);

/* POST body (an object; node_key is added) to endpoint, up to attempts
 * times (1 s, 2 s, ... apart). A node_invalid reply re-enrolls and
 * retries. On success *reply is the reply object (node_invalid removed).
 * 0, or -1 with err. */
int osq_node_request(osq_http *h, const char *endpoint, json_t *body,
                     unsigned attempts, bool gzip, json_t **reply, char *err,
                     size_t errlen);

/* Milliseconds on the monotonic clock. */
int64_t osq_node_now_ms(void);

#endif
