/* JSON over a local service's UNIX socket (Docker Engine API, LXD API),
 * plus the small JSON readers the container tables share.
 *
 * Thread-safe: any thread. */
#ifndef OSQ_TABLES_CONTAINERS_API_H
#define OSQ_TABLES_CONTAINERS_API_H

#include <osq/plugin.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest reply body accepted from a service. */
#define OSQ_API_MAX_BODY (64u << 20)

/* GET path (starting with '/') from the HTTP service on socket; the reply
 * must be 200 with a JSON body. Returns the parsed document, or NULL with
 * *rc set: OSQ_ENOTFOUND for a 404 (no message set: the caller decides
 * whether a missing object is an error), OSQ_EIO when the service is not
 * there (no socket, refused: the table then has no rows, as osquery's),
 * anything else with osq_error() naming the service, path and reason.
 * what names the service in messages ("docker"). */
json_t *osq_api_get(const char *socket, const char *what, const char *path,
                    int *rc);

/* obj[key] as a string, or "" if absent or not a string. */
const char *osq_js(const json_t *obj, const char *key);
/* A dotted path ("State.Pid") into nested objects, or NULL. */
json_t *osq_jpath(const json_t *obj, const char *path);
/* A number or boolean at a dotted path as an integer; 0 otherwise. */
int64_t osq_jint(const json_t *obj, const char *path);
/* A string at a dotted path, or "". */
const char *osq_jstr(const json_t *obj, const char *path);
/* The strings of an array joined with sep into a malloc'd string ("" for
 * a missing array; non-strings skipped); NULL only when memory runs out. */
char *osq_jjoin(const json_t *arr, const char *sep);

/* How one column's value is read from a JSON object. */
typedef enum osq_jkind {
  OSQ_JSTR,     /* obj[key] as a string (a key may hold dots, as LXD's) */
  OSQ_JPATH,    /* the string at a dotted path */
  OSQ_JINT,     /* the number or boolean at a dotted path */
  OSQ_JNONZERO, /* 1 when the number at a dotted path is not 0 */
  OSQ_JTRUE,    /* 1 when obj[key] is JSON true */
} osq_jkind;

typedef struct osq_jfield {
  size_t col;
  const char *key;
  osq_jkind kind;
} osq_jfield;

/* Set the n columns that fields name in the current row, from obj. */
void osq_jfields(osq_rows *out, const json_t *obj, const osq_jfield *fields,
                 size_t n);

/* Seconds since the epoch of an RFC 3339 time ("2017-05-01T16:08:43.66Z",
 * with Z or an offset); *nanos (if non-NULL) gets its fraction. 0 if it
 * does not parse. */
int64_t osq_rfc3339(const char *s, int64_t *nanos);

/* The distinct "=" values of column col that pass ok(), at most max,
 * into v (pointers into ctx). *constrained says the column had "="
 * constraints at all (so none passing means no row can match). */
size_t osq_api_eq_values(const osq_context *ctx, size_t col,
                         bool (*ok)(const char *), const char **v,
                         size_t max, bool *constrained);

#endif
