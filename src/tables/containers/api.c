/* JSON replies of local services (Docker, LXD) over UNIX sockets. */
#include "tables/containers/api.h"

#include "tables/http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A loaded machine can make a daemon slow to answer; a wedged one must
 * not hold a query forever. */
#define API_TIMEOUT_MS 30000

json_t *osq_api_get(const char *socket, const char *what, const char *path,
                    int *rc) {
  char url[4096];
  if (snprintf(url, sizeof url, "http://localhost%s", path) >=
      (int)sizeof url) {
    osq_error("%s API: request path too long", what);
    *rc = OSQ_ERANGE;
    return NULL;
  }
  osq_http_request req = {.url = url,
                          .unix_socket = socket,
                          .max_body = OSQ_API_MAX_BODY,
                          .timeout_ms = API_TIMEOUT_MS};
  osq_http_reply rep;
  *rc = osq_http_do(&req, &rep);
  if (*rc != OSQ_OK)
    return NULL;
  if (rep.status == 404) {
    /* No message: for many callers a missing object is no error. */
    free(rep.body);
    *rc = OSQ_ENOTFOUND;
    return NULL;
  }
  if (rep.status != 200) {
    /* The service's own message, bounded, helps the user. */
    json_t *e = json_loadb(rep.body, rep.len, 0, NULL);
    const char *msg = e ? osq_js(e, "message") : "";
    if (*msg == '\0' && e != NULL)
      msg = osq_js(e, "error");
    osq_error("%s API %s: HTTP status %ld%s%.200s", what, path, rep.status,
              *msg ? ": " : "", msg);
    json_decref(e);
    free(rep.body);
    *rc = OSQ_EPROTO;
    return NULL;
  }
  json_error_t err;
  /* JSON_DECODE_ANY: some endpoints answer null (no changes). */
  json_t *doc = json_loadb(rep.body, rep.len, JSON_DECODE_ANY, &err);
  free(rep.body);
  if (doc == NULL) {
    osq_error("%s API %s: reply is not JSON (line %d: %s)", what, path,
              err.line, err.text);
    *rc = OSQ_EPROTO;
  }
  return doc;
}

const char *osq_js(const json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : "";
}

json_t *osq_jpath(const json_t *obj, const char *path) {
  char key[128];
  json_t *cur = (json_t *)obj;
  while (cur != NULL && *path) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (n >= sizeof key)
      return NULL;
    memcpy(key, path, n);
    key[n] = '\0';
    cur = json_object_get(cur, key);
    path += n + (dot ? 1 : 0);
  }
  return cur;
}

int64_t osq_jint(const json_t *obj, const char *path) {
  json_t *v = osq_jpath(obj, path);
  if (json_is_integer(v))
    return (int64_t)json_integer_value(v);
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d >= -9.2e18 && d <= 9.2e18)
      return (int64_t)d;
    return 0;
  }
  if (json_is_boolean(v))
    return json_is_true(v) ? 1 : 0;
  return 0;
}

const char *osq_jstr(const json_t *obj, const char *path) {
  const char *s = json_string_value(osq_jpath(obj, path));
  return s ? s : "";
}

char *osq_jjoin(const json_t *arr, const char *sep) {
  size_t len = 1, seplen = strlen(sep), i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (json_is_string(v))
      len += json_string_length(v) + seplen;
  }
  char *out = malloc(len);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  json_array_foreach(arr, i, v) {
    if (!json_is_string(v))
      continue;
    if (o > 0) {
      memcpy(out + o, sep, seplen);
      o += seplen;
    }
    memcpy(out + o, json_string_value(v), json_string_length(v));
    o += json_string_length(v);
  }
  out[o] = '\0';
  return out;
}

void osq_jfields(osq_rows *out, const json_t *obj, const osq_jfield *fields,
                 size_t n) {
  for (size_t i = 0; i < n; i++) {
    const osq_jfield *f = &fields[i];
    switch (f->kind) {
    case OSQ_JSTR:
      osq_rows_cstr(out, f->col, osq_js(obj, f->key));
      break;
    case OSQ_JPATH:
      osq_rows_cstr(out, f->col, osq_jstr(obj, f->key));
      break;
    case OSQ_JINT:
      osq_rows_int(out, f->col, osq_jint(obj, f->key));
      break;
    case OSQ_JNONZERO:
      osq_rows_int(out, f->col, osq_jint(obj, f->key) != 0);
      break;
    case OSQ_JTRUE:
      osq_rows_int(out, f->col, json_is_true(json_object_get(obj, f->key)));
      break;
    }
  }
}

int64_t osq_rfc3339(const char *s, int64_t *nanos) {
  if (nanos)
    *nanos = 0;
  struct tm tm = {0};
  const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (p == NULL)
    return 0;
  int64_t ns = 0;
  if (*p == '.') {
    int digits = 0;
    for (p++; isdigit((unsigned char)*p); p++) {
      if (digits < 9) {
        ns = ns * 10 + (*p - '0');
        digits++;
      }
    }
    for (; digits < 9; digits++)
      ns *= 10;
  }
  int64_t off = 0;
  if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
      isdigit((unsigned char)p[2]) && p[3] == ':' &&
      isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5])) {
    off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
          ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
    if (*p == '+')
      off = -off;
  }
  time_t t = timegm(&tm);
  if (t == (time_t)-1)
    return 0;
  if (nanos)
    *nanos = ns;
  return (int64_t)t + off;
}

size_t osq_api_eq_values(const osq_context *ctx, size_t col,
                         bool (*ok)(const char *), const char **v,
                         size_t max, bool *constrained) {
  size_t n = 0;
  *constrained = false;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, col); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, col, i);
    if (c->op != OSQ_OP_EQ)
      continue;
    *constrained = true;
    if (!ok(c->expr))
      continue;
    bool dup = false;
    for (size_t j = 0; j < n && !dup; j++)
      dup = strcmp(v[j], c->expr) == 0;
    if (dup)
      continue;
    if (n == max) {
      /* Too many to push down: ask for everything, SQLite filters. */
      *constrained = false;
      return 0;
    }
    v[n++] = c->expr;
  }
  return n;
}
