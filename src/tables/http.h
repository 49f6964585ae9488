/* A small HTTP client for the tables that ask a local service (Docker and
 * LXD over their UNIX sockets, a cloud metadata service), with libcurl
 * loaded by dlopen on first use: a run that never queries these tables
 * never maps libcurl, so start-up of osqi and osqd pays nothing for it.
 *
 * Every reply is outside input: its body is capped, the transfer has a
 * deadline, no proxy from the environment is used, redirects are not
 * followed and only http:// is spoken.
 *
 * Thread-safe: any thread. */
#ifndef OSQ_TABLES_HTTP_H
#define OSQ_TABLES_HTTP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct osq_http_reply {
  long status; /* HTTP status code */
  char *body;  /* malloc'd, NUL-terminated; free() it */
  size_t len;
} osq_http_reply;

typedef struct osq_http_request {
  const char *method;      /* "GET" (NULL) or "PUT" */
  const char *url;         /* http://... */
  const char *unix_socket; /* connect here instead of the URL's host */
  const char *const *headers; /* "Name: value", NULL-terminated, or NULL */
  size_t max_body;         /* larger replies fail with OSQ_ERANGE */
  long timeout_ms;         /* whole transfer */
} osq_http_request;

/* Perform the request. Returns OSQ_OK with *out filled (any status), or a
 * negative OSQ_* code with osq_error() saying why: OSQ_EIO when the
 * service cannot be reached (no socket, refused), OSQ_ETIMEDOUT,
 * OSQ_ERANGE for a body over max_body, OSQ_ERROR when libcurl cannot be
 * loaded. */
int osq_http_do(const osq_http_request *req, osq_http_reply *out);

/* Percent-encode s for a URL query (RFC 3986 unreserved kept) into out
 * (cap bytes); false if it does not fit. */
bool osq_http_escape(const char *s, char *out, size_t cap);

#endif
