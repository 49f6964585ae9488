/* The instance metadata services of the clouds osquery knows (EC2, Azure,
 * Yandex Cloud): which one this machine runs on, by its DMI data, and
 * cached, bounded requests to that one only.
 *
 * Thread-safe: any thread. */
#ifndef OSQ_TABLES_CLOUD_METADATA_H
#define OSQ_TABLES_CLOUD_METADATA_H

#include <stdbool.h>
#include <stddef.h>

typedef enum osq_cloud {
  OSQ_CLOUD_EC2,
  OSQ_CLOUD_AZURE,
  OSQ_CLOUD_YCLOUD,
} osq_cloud;

/* Does the DMI data (--cloud_dmi_dir) say this machine runs on cloud? */
bool osq_cloud_detected(osq_cloud cloud);

/* The base URL requests go to ("http://169.254.169.254", or the loopback
 * --cloud_metadata_endpoint) into out; false with osq_error() when the
 * flags are unsafe (an endpoint that is not loopback, or a DMI override
 * without an endpoint: a test must never reach a real service). */
bool osq_cloud_base(char *out, size_t cap);

/* Is url "http://" + a loopback host (127.0.0.0/8, localhost, [::1]) with
 * an optional port and nothing else? */
bool osq_cloud_url_is_loopback(const char *url);

/* A reply, kept in a process-wide cache for OSQ_CLOUD_CACHE_SECONDS (a
 * status of 200 or 404; other statuses and failures are not kept). */
#define OSQ_CLOUD_CACHE_SECONDS 600
#define OSQ_CLOUD_MAX_BODY (1u << 20)

typedef struct osq_cloud_reply {
  long status; /* 0: no answer */
  char *body;  /* malloc'd, NUL-terminated, "" when none; free() it */
  size_t len;
} osq_cloud_reply;

/* GET base + path with headers (NULL-terminated, may be NULL), or the
 * cached answer for that URL (headers such as EC2's token do not change
 * an answer). Returns OSQ_OK (see status) or a negative code with
 * osq_error(). */
int osq_cloud_get(const char *base, const char *path,
                  const char *const *headers, osq_cloud_reply *out);
/* PUT without a body, never cached (EC2's IMDSv2 token). */
int osq_cloud_put(const char *base, const char *path,
                  const char *const *headers, osq_cloud_reply *out);

#endif
