#include "plugin_impl.h"

#include "../core/grow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *osq_strerror(int code) {
  switch (code) {
  case OSQ_OK: return "success";
  case OSQ_ERROR: return "error";
  case OSQ_ENOMEM: return "out of memory";
  case OSQ_EINVAL: return "invalid argument";
  case OSQ_ERANGE: return "limit exceeded";
  case OSQ_ETIMEDOUT: return "timed out";
  case OSQ_EIO: return "input/output error";
  case OSQ_ENOTFOUND: return "not found";
  case OSQ_EEXIST: return "already exists";
  case OSQ_EPROTO: return "protocol error";
  case OSQ_ECLOSED: return "connection closed";
  case OSQ_EVERSION: return "unsupported API version";
  case OSQ_READONLY: return "read-only";
  case OSQ_CONSTRAINT: return "constraint failed";
  default: return "unknown error";
  }
}

static const char *const type_names[] = {
    [OSQ_TYPE_UNKNOWN] = "UNKNOWN", [OSQ_TYPE_TEXT] = "TEXT",
    [OSQ_TYPE_INTEGER] = "INTEGER", [OSQ_TYPE_BIGINT] = "BIGINT",
    [OSQ_TYPE_UNSIGNED_BIGINT] = "UNSIGNED BIGINT",
    [OSQ_TYPE_DOUBLE] = "DOUBLE", [OSQ_TYPE_BLOB] = "BLOB",
};

const char *osq_type_name(osq_type type) {
  if ((unsigned)type >= sizeof type_names / sizeof type_names[0])
    return "UNKNOWN";
  return type_names[type];
}

osq_type osq_type_from_name(const char *name) {
  if (name == NULL)
    return OSQ_TYPE_UNKNOWN;
  for (size_t i = 1; i < sizeof type_names / sizeof type_names[0]; i++)
    if (strcmp(name, type_names[i]) == 0)
      return (osq_type)i;
  return OSQ_TYPE_UNKNOWN;
}

int osq_column_find(const osq_column *cols, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(cols[i].name, name) == 0)
      return (int)i;
  return -1;
}

/* ---- rows ---------------------------------------------------------------- */

void osq_rows_init(osq_rows *r, const struct osq_rows_ops *ops, void *self,
                   size_t ncolumns) {
  r->ops = ops;
  r->self = self;
  r->ncolumns = ncolumns;
  r->failed = false;
  r->error[0] = '\0';
}

const char *osq_rows_message(const osq_rows *r) {
  return r->failed ? r->error : NULL;
}

int osq_rows_value(osq_rows *out, size_t col, const osq_value *v) {
  if (col >= out->ncolumns)
    return OSQ_EINVAL;
  return out->ops->cell(out->self, col, v);
}

int osq_rows_text(osq_rows *out, size_t col, const char *s, size_t len) {
  osq_value v = {.kind = OSQ_VALUE_TEXT};
  v.u.s.p = s;
  v.u.s.n = len;
  return osq_rows_value(out, col, &v);
}

int osq_rows_cstr(osq_rows *out, size_t col, const char *s) {
  if (s == NULL) {
    osq_value v = {.kind = OSQ_VALUE_NULL};
    return osq_rows_value(out, col, &v);
  }
  return osq_rows_text(out, col, s, strlen(s));
}

int osq_rows_int(osq_rows *out, size_t col, int64_t i) {
  osq_value v = {.kind = OSQ_VALUE_INT};
  v.u.i = i;
  return osq_rows_value(out, col, &v);
}

int osq_rows_double(osq_rows *out, size_t col, double d) {
  osq_value v = {.kind = OSQ_VALUE_DOUBLE};
  v.u.d = d;
  return osq_rows_value(out, col, &v);
}

int osq_rows_blob(osq_rows *out, size_t col, const void *p, size_t len) {
  osq_value v = {.kind = OSQ_VALUE_BLOB};
  v.u.s.p = p;
  v.u.s.n = len;
  return osq_rows_value(out, col, &v);
}

int osq_rows_rowid(osq_rows *out, int64_t rowid) {
  return out->ops->rowid ? out->ops->rowid(out->self, rowid) : OSQ_OK;
}

int osq_rows_end(osq_rows *out) { return out->ops->end(out->self); }

void osq_rows_error(osq_rows *out, const char *fmt, ...) {
  if (out->failed)
    return;
  out->failed = true;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->error, sizeof out->error, fmt, ap);
  va_end(ap);
}

/* ---- string maps ----------------------------------------------------------- */

void osq_strmap_init(osq_strmap *m) { memset(m, 0, sizeof *m); }

void osq_strmap_clear(osq_strmap *m) {
  for (size_t i = 0; i < m->n; i++) {
    free(m->e[i].key);
    free(m->e[i].val);
  }
  free(m->e);
  osq_strmap_init(m);
}

int osq_strmap_set(osq_strmap *m, const char *key, const char *val,
                   size_t len) {
  char *v = malloc(len + 1);
  if (v == NULL)
    return OSQ_ENOMEM;
  memcpy(v, val, len);
  v[len] = '\0';
  for (size_t i = 0; i < m->n; i++) {
    if (strcmp(m->e[i].key, key) == 0) {
      free(m->e[i].val);
      m->e[i].val = v;
      m->e[i].len = len;
      return OSQ_OK;
    }
  }
  if (m->n >= OSQ_STRMAP_MAX_ENTRIES) {
    free(v);
    return OSQ_ERANGE;
  }
  if (osq_grow(&m->e, &m->cap, m->n + 1, sizeof *m->e, 8, 0) != OSQ_OK) {
    free(v);
    return OSQ_ENOMEM;
  }
  char *k = strdup(key);
  if (k == NULL) {
    free(v);
    return OSQ_ENOMEM;
  }
  m->e[m->n++] = (struct osq_strmap_entry){k, v, len};
  return OSQ_OK;
}

const char *osq_strmap_get(const osq_strmap *m, const char *key) {
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->e[i].key, key) == 0)
      return m->e[i].val;
  return NULL;
}

size_t osq_strmap_count(const osq_strmap *m) { return m->n; }

const char *osq_strmap_key(const osq_strmap *m, size_t i) {
  return i < m->n ? m->e[i].key : NULL;
}

const char *osq_strmap_val(const osq_strmap *m, size_t i, size_t *len) {
  if (i >= m->n)
    return NULL;
  if (len)
    *len = m->e[i].len;
  return m->e[i].val;
}

void osq_strmap_error(osq_strmap *m, const char *fmt, ...) {
  if (m->failed)
    return;
  m->failed = true;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->error, sizeof m->error, fmt, ap);
  va_end(ap);
}

const char *osq_strmap_message(const osq_strmap *m) {
  return m->failed ? m->error : NULL;
}

/* ---- plugin responses ------------------------------------------------------ */

void osq_plist_init(osq_plist *l) { memset(l, 0, sizeof *l); }

void osq_plist_clear(osq_plist *l) {
  for (size_t i = 0; i < l->n; i++)
    osq_strmap_clear(&l->rows[i]);
  free(l->rows);
  osq_plist_init(l);
}

osq_strmap *osq_plist_add(osq_plist *l) {
  if (l->n >= OSQ_PLIST_MAX_ROWS)
    return NULL;
  if (osq_grow(&l->rows, &l->cap, l->n + 1, sizeof *l->rows, 8, 0) != OSQ_OK)
    return NULL;
  osq_strmap *m = &l->rows[l->n++];
  osq_strmap_init(m);
  return m;
}
