/* The HTTPS client of the remote (fleet) plugins: libcurl over OpenSSL,
 * loaded with dlopen on the first request so that programs that never
 * talk to a fleet server do not pay for it at start-up.
 *
 * One osq_http is one connection kept alive across requests; each thread
 * that sends requests owns its own (libcurl handles are not shared).
 * Settings come from the --tls_* and --proxy_hostname flags, read when
 * the client is made.
 *
 * Threads: one osq_http per thread. */
#ifndef OSQ_REMOTE_TLS_HTTP_H
#define OSQ_REMOTE_TLS_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* Replies larger than this are refused (a config is at most 4 MiB). */
#define OSQ_HTTP_MAX_REPLY (16u * 1024 * 1024)

/* URLs longer than this are refused (an endpoint with the secret and a
 * node key, each at most 4 KiB, percent-encoded, fits). */
#define OSQ_HTTP_MAX_URL (32u * 1024)

typedef struct osq_http osq_http;

typedef struct osq_http_opts {
  const char *hostname;    /* host[:port]; port 443 when absent */
  const char *server_certs; /* CA bundle path; "" = the system store */
  const char *client_cert;  /* "" = none */
  const char *client_key;
  const char *proxy;        /* "" = none */
  bool session_reuse;
  long session_timeout;     /* seconds an idle connection is reused */
  long timeout;             /* seconds for a whole request */
  bool dump;                /* requests and replies to stderr */
} osq_http_opts;

/* The options from the flags. */
osq_http_opts osq_http_opts_from_flags(void);

/* NULL with the reason in err when libcurl cannot be loaded. */
osq_http *osq_http_new(const osq_http_opts *o, char *err, size_t errlen);
void osq_http_free(osq_http *h);
/* A request in flight is abandoned once *flag is true (shutdown). */
void osq_http_set_cancel(osq_http *h, const atomic_bool *flag);

typedef struct osq_http_reply {
  long status;
  char *body; /* malloc'd, NUL-terminated */
  size_t len;
} osq_http_reply;

/* POST body (JSON) to https://hostname + endpoint; gzip: compress the
 * body and say so (Content-Encoding). 0 once an HTTP reply arrived (any
 * status; free out->body), -1 with the reason in err otherwise. */
int osq_http_post(osq_http *h, const char *endpoint, const char *body,
                  size_t len, bool gzip, osq_http_reply *out, char *err,
                  size_t errlen);

/* gzip (RFC 1952) of in; malloc'd, or NULL with err. */
unsigned char *osq_gzip(const void *in, size_t len, size_t *outlen,
                        char *err, size_t errlen);

#endif
