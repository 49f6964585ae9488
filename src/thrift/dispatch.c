/* One osquery plugin call served by a local plugin (see dispatch.h). */
#include "dispatch.h"

#include "../core/grow.h"
#include "../core/parse.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OK_MSG "OK"

static const char *get(const osq_strmap *m, const char *key, size_t *len) {
  size_t n = osq_strmap_count(m);
  for (size_t i = 0; i < n; i++)
    if (strcmp(osq_strmap_key(m, i), key) == 0)
      return osq_strmap_val(m, i, len);
  return NULL;
}

static void ok(osq_api_reply *r, int64_t uuid) {
  osq_ext_status_set(&r->status, 0, OK_MSG, uuid);
}

static void fail(osq_api_reply *r, int64_t uuid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(osq_api_reply *r, int64_t uuid, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  osq_api_reply_discard_rows(r);
  osq_ext_status_set(&r->status, 1, msg, uuid);
}

/* A reply whose rows could not be encoded (allocation) must not go out. */
static int finish(osq_api_reply *r, int64_t uuid) {
  if (r->rows.failed) {
    osq_api_reply_discard_rows(r);
    osq_ext_status_set(&r->status, 1, "out of memory building the reply",
                       uuid);
  }
  return r->status.message ? OSQ_OK : OSQ_ENOMEM;
}

void osq_dispatch_unknown_registry(osq_api_reply *reply, const char *registry,
                                   int64_t self_uuid) {
  fail(reply, self_uuid, "Unknown registry requested: %s", registry);
}

void osq_dispatch_unknown_item(osq_api_reply *reply, const char *item,
                               int64_t self_uuid) {
  fail(reply, self_uuid, "Cannot call registry item: %s", item);
}

/* ---- cells ---------------------------------------------------------------- */

/* Decimal digits of v into buf (>= 21 bytes); returns the count. Rows
 * carry many integers and printf is most of their cost. */
static size_t format_i64(int64_t v, char *buf) {
  static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                              "25262728293031323334353637383940414243444546474849"
                              "50515253545556575859606162636465666768697071727374"
                              "75767778798081828384858687888990919293949596979899";
  char tmp[24];
  size_t n = sizeof tmp;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  while (u >= 100) {
    unsigned d = (unsigned)(u % 100) * 2;
    u /= 100;
    tmp[--n] = pairs[d + 1];
    tmp[--n] = pairs[d];
  }
  if (u >= 10) {
    tmp[--n] = pairs[u * 2 + 1];
    tmp[--n] = pairs[u * 2];
  } else {
    tmp[--n] = (char)('0' + u);
  }
  if (v < 0)
    tmp[--n] = '-';
  size_t len = sizeof tmp - n;
  memcpy(buf, tmp + n, len);
  buf[len] = '\0';
  return len;
}

const char *osq_dispatch_format(const osq_value *v, char *buf, size_t *len) {
  int n;
  switch (v->kind) {
  case OSQ_VALUE_INT:
    n = (int)format_i64(v->u.i, buf);
    break;
  case OSQ_VALUE_DOUBLE:
    n = snprintf(buf, OSQ_DISPATCH_NUMBUF, "%.15g", v->u.d);
    if (isfinite(v->u.d) && strtod(buf, NULL) != v->u.d)
      n = snprintf(buf, OSQ_DISPATCH_NUMBUF, "%.17g", v->u.d);
    break;
  case OSQ_VALUE_TEXT:
  case OSQ_VALUE_BLOB:
    *len = v->u.s.n;
    return v->u.s.p ? v->u.s.p : "";
  default:
    return NULL;
  }
  *len = (size_t)n;
  return buf;
}

/* ---- route info ------------------------------------------------------------- */

static int set_str(osq_strmap *m, const char *k, const char *v) {
  return osq_strmap_set(m, k, v, strlen(v));
}

int osq_dispatch_route_info(const osq_table_plugin *t, osq_plist *out) {
  char num[24];
  int rc = OSQ_OK;
  for (size_t i = 0; i < t->ncolumns && rc == OSQ_OK; i++) {
    osq_strmap *m = osq_plist_add(out);
    if (m == NULL)
      return OSQ_ENOMEM;
    snprintf(num, sizeof num, "%" PRIu32, t->columns[i].options);
    rc = set_str(m, "id", "column");
    if (rc == OSQ_OK)
      rc = set_str(m, "name", t->columns[i].name);
    if (rc == OSQ_OK)
      rc = set_str(m, "type", osq_type_name(t->columns[i].type));
    if (rc == OSQ_OK)
      rc = set_str(m, "op", num);
  }
  for (size_t i = 0; t->aliases && t->aliases[i] && rc == OSQ_OK; i++) {
    osq_strmap *m = osq_plist_add(out);
    if (m == NULL)
      return OSQ_ENOMEM;
    rc = set_str(m, "id", "alias");
    if (rc == OSQ_OK)
      rc = set_str(m, "alias", t->aliases[i]);
  }
  if (rc != OSQ_OK)
    return rc;
  osq_strmap *m = osq_plist_add(out);
  if (m == NULL)
    return OSQ_ENOMEM;
  snprintf(num, sizeof num, "%" PRIu32, t->attributes);
  rc = set_str(m, "id", "attributes");
  return rc == OSQ_OK ? set_str(m, "attributes", num) : rc;
}

/* ---- generate: rows straight into the reply ------------------------------- */

/* Each row goes out as a Thrift map<string,string> in key order, as
 * osquery's C++ SDK sends its std::map rows, so a C++ peer sees the same
 * bytes. Cells that arrive in key order (the common case: a table whose
 * columns are declared sorted, or any one-cell-per-column plugin after the
 * first row's sort) are encoded straight into the reply. A cell out of
 * order, given twice, or turned NULL moves the row to a staging area and
 * the row is encoded when it ends; the last value wins. "rowid" is one
 * more key in the order. */
struct stage_cell {
  size_t off, len; /* value bytes: in the reply (direct) or the stage */
  bool set;
};

struct gen_sink {
  osq_api_reply *reply;
  size_t nkeys;          /* columns + the "rowid" key (index ncolumns) */
  const char **keyname;  /* per key */
  size_t *keylen;
  size_t *order;         /* keys in byte order of their names */
  size_t *rank;          /* position of each key in order */
  struct stage_cell *cells;
  char *buf;             /* staged values */
  size_t len, cap;
  char *enc;             /* encoded rows not yet appended to the reply */
  size_t enc_len, enc_cap;
  bool direct;           /* this row is being encoded in place */
  bool row_open;         /* its map header is in enc */
  size_t row_start;
  uint32_t ncells;
  size_t last_rank;      /* of the last cell encoded in place, +1 */
  int err;               /* first error: the reply is abandoned */
};

/* Rows are encoded inline into a small buffer that is appended to the
 * reply in chunks: one call and one copy per chunk, not per cell. */
#define GEN_CHUNK (64 * 1024)

static int stage(struct gen_sink *s, const char *p, size_t n, size_t *off) {
  if (n > OSQ_DISPATCH_MAX_REPLY - s->len)
    return OSQ_ERANGE;
  int rc = osq_grow(&s->buf, &s->cap, s->len + n, 1, 256, 0);
  if (rc != OSQ_OK)
    return rc;
  if (n)
    memcpy(s->buf + s->len, p, n);
  *off = s->len;
  s->len += n;
  return OSQ_OK;
}

static int grow_enc(struct gen_sink *s, size_t n);

/* Room for n more bytes in enc, within the reply bound. */
static inline int room(struct gen_sink *s, size_t n) {
  if (s->enc_len + n <= s->enc_cap && n <= GEN_CHUNK)
    return OSQ_OK; /* enc is flushed past GEN_CHUNK, so the bound holds */
  return grow_enc(s, n);
}

static int grow_enc(struct gen_sink *s, size_t n) {
  if (n > OSQ_DISPATCH_MAX_REPLY ||
      s->reply->rows.len + s->enc_len + n > OSQ_DISPATCH_MAX_REPLY)
    return s->err = OSQ_ERANGE;
  if (osq_grow(&s->enc, &s->enc_cap, s->enc_len + n, 1, GEN_CHUNK, 0) !=
      OSQ_OK)
    return s->err = OSQ_ENOMEM;
  return OSQ_OK;
}

static int open_row(struct gen_sink *s) {
  if (room(s, OSQ_API_ROW_HEAD) != OSQ_OK)
    return s->err;
  s->row_start = s->enc_len;
  osq_api_row_head(s->enc + s->enc_len);
  s->enc_len += OSQ_API_ROW_HEAD; /* count patched when the row ends */
  s->ncells = 0;
  s->row_open = true;
  return OSQ_OK;
}

/* key and value, length-prefixed; room() was checked. Returns the value's
 * offset in enc. */
static inline __attribute__((always_inline)) size_t
put_kv(struct gen_sink *s, size_t key, const char *p, size_t n) {
  s->enc_len += osq_api_put_cell(s->enc + s->enc_len, s->keyname[key],
                                 s->keylen[key], p, n);
  s->ncells++;
  return s->enc_len - n;
}

static int flush(struct gen_sink *s) {
  if (s->enc_len) {
    osq_api_reply_append(s->reply, s->enc, s->enc_len);
    s->enc_len = 0;
    if (s->reply->rows.failed)
      return s->err = OSQ_ENOMEM;
    if (s->reply->rows.len > OSQ_DISPATCH_MAX_REPLY)
      return s->err = OSQ_ERANGE;
  }
  return OSQ_OK;
}

/* Move the cells encoded in place to the stage and take the row out. */
static int to_stage(struct gen_sink *s) {
  for (size_t k = 0; k < s->nkeys; k++) {
    struct stage_cell *c = &s->cells[k];
    if (!c->set)
      continue;
    int rc = stage(s, s->enc + c->off, c->len, &c->off);
    if (rc != OSQ_OK)
      return s->err = rc;
  }
  if (s->row_open)
    s->enc_len = s->row_start;
  s->row_open = false;
  s->direct = false;
  return OSQ_OK;
}

static int put_cell(struct gen_sink *s, size_t key, const char *p, size_t n) {
  if (s->err)
    return s->err;
  struct stage_cell *c = &s->cells[key];
  if (s->direct) {
    if (p != NULL && s->rank[key] + 1 > s->last_rank) {
      if ((!s->row_open && open_row(s) != OSQ_OK) ||
          room(s, osq_api_cell_size(s->keylen[key], n)) != OSQ_OK)
        return s->err;
      *c = (struct stage_cell){put_kv(s, key, p, n), n, true};
      s->last_rank = s->rank[key] + 1;
      return OSQ_OK;
    }
    if (p == NULL && !c->set)
      return OSQ_OK; /* NULL for a cell not given: nothing to undo */
    if (to_stage(s) != OSQ_OK)
      return s->err;
  }
  if (p == NULL) {
    c->set = false;
    return OSQ_OK;
  }
  size_t off;
  int rc = stage(s, p, n, &off);
  if (rc != OSQ_OK)
    return s->err = rc;
  *c = (struct stage_cell){off, n, true};
  return OSQ_OK;
}

static int sink_cell(void *self, size_t col, const osq_value *v) {
  char num[OSQ_DISPATCH_NUMBUF];
  size_t n = 0;
  const char *p = osq_dispatch_format(v, num, &n);
  return put_cell(self, col, p, n);
}

static int sink_rowid(void *self, int64_t rowid) {
  struct gen_sink *s = self;
  char num[24];
  size_t n = format_i64(rowid, num);
  return put_cell(s, s->nkeys - 1, num, n);
}

static int sink_end(void *self) {
  struct gen_sink *s = self;
  if (s->err)
    return s->err;
  if (!s->row_open && open_row(s) != OSQ_OK)
    return s->err;
  if (!s->direct) {
    size_t need = 0;
    for (size_t k = 0; k < s->nkeys; k++)
      if (s->cells[k].set)
        need += osq_api_cell_size(s->keylen[k], s->cells[k].len);
    if (room(s, need) != OSQ_OK)
      return s->err;
    /* only empty values staged: the stage was never allocated */
    const char *base = s->buf ? s->buf : "";
    for (size_t i = 0; i < s->nkeys; i++) {
      size_t k = s->order[i];
      if (s->cells[k].set)
        put_kv(s, k, base + s->cells[k].off, s->cells[k].len);
    }
  }
  osq_api_row_count(s->enc + s->row_start, s->ncells);
  s->reply->nrows++;
  for (size_t k = 0; k < s->nkeys; k++)
    s->cells[k].set = false;
  s->direct = true;
  s->row_open = false;
  s->last_rank = 0;
  s->len = 0;
  return s->enc_len >= GEN_CHUNK ? flush(s) : OSQ_OK;
}

static const struct osq_rows_ops gen_ops = {sink_cell, sink_rowid, sink_end};

static int gen_sink_init(struct gen_sink *s, const osq_table_plugin *t,
                         osq_api_reply *reply) {
  memset(s, 0, sizeof *s);
  s->reply = reply;
  s->direct = true;
  size_t n = s->nkeys = t->ncolumns + 1;
  s->keyname = malloc(n * sizeof *s->keyname);
  s->keylen = malloc(n * sizeof *s->keylen);
  s->order = malloc(n * sizeof *s->order);
  s->rank = malloc(n * sizeof *s->rank);
  s->cells = calloc(n, sizeof *s->cells);
  if (!s->keyname || !s->keylen || !s->order || !s->rank || !s->cells)
    return OSQ_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    s->keyname[i] = i < t->ncolumns ? t->columns[i].name : "rowid";
    s->keylen[i] = strlen(s->keyname[i]);
    size_t j = i;
    while (j > 0 && strcmp(s->keyname[s->order[j - 1]], s->keyname[i]) > 0) {
      s->order[j] = s->order[j - 1];
      j--;
    }
    s->order[j] = i;
  }
  for (size_t i = 0; i < n; i++)
    s->rank[s->order[i]] = i;
  return OSQ_OK;
}

/* A row the plugin left unfinished is not sent. */
static void gen_sink_close(struct gen_sink *s) {
  if (s->row_open)
    s->enc_len = s->row_start;
  s->row_open = false;
  if (s->err == OSQ_OK)
    flush(s);
}

static void gen_sink_free(struct gen_sink *s) {
  free(s->keyname);
  free(s->keylen);
  free(s->order);
  free(s->rank);
  free(s->cells);
  free(s->buf);
  free(s->enc);
}

static osq_context *request_context(const osq_table_plugin *t,
                                    const osq_strmap *req, char *err,
                                    size_t errlen) {
  size_t len = 0;
  const char *json = get(req, "context", &len);
  if (json == NULL || len == 0) {
    /* No context: nothing is constrained and every column counts as used. */
    osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
    if (ctx == NULL)
      snprintf(err, errlen, "out of memory");
    return ctx;
  }
  return osq_context_from_json(json, len, t->columns, t->ncolumns, err,
                               errlen);
}

static void table_generate(const osq_table_plugin *t, const osq_strmap *req,
                           osq_api_reply *reply, int64_t uuid) {
  if (t->generate == NULL) {
    fail(reply, uuid, "table %s cannot generate rows", t->name);
    return;
  }
  char err[512];
  osq_context *ctx = request_context(t, req, err, sizeof err);
  if (ctx == NULL) {
    fail(reply, uuid, "table %s: %s", t->name, err);
    return;
  }
  struct gen_sink s;
  if (gen_sink_init(&s, t, reply) != OSQ_OK) {
    gen_sink_free(&s);
    osq_context_free(ctx);
    fail(reply, uuid, "table %s: out of memory", t->name);
    return;
  }
  osq_rows rows;
  osq_rows_init(&rows, &gen_ops, &s, t->ncolumns);
  uint64_t mark = osq_error_mark();
  int rc = t->generate(ctx, &rows, t->udata);
  gen_sink_close(&s);
  const char *msg = osq_rows_message(&rows);
  if (msg == NULL && rc != OSQ_OK)
    msg = osq_error_since(mark);
  if (s.err == OSQ_ERANGE)
    fail(reply, uuid,
         "table %s: the reply exceeds %u bytes, the most a Thrift peer reads",
         t->name, (unsigned)OSQ_DISPATCH_MAX_REPLY);
  else if (s.err != OSQ_OK)
    fail(reply, uuid, "table %s: %s", t->name, osq_strerror(s.err));
  else if (msg != NULL)
    fail(reply, uuid, "%s", msg);
  else if (rc != OSQ_OK)
    fail(reply, uuid, "table %s: generate failed: %s", t->name,
         osq_strerror(rc));
  else
    ok(reply, uuid);
  gen_sink_free(&s);
  osq_context_free(ctx);
}

static void table_columns(const osq_table_plugin *t, osq_api_reply *reply,
                          int64_t uuid) {
  osq_plist info;
  osq_plist_init(&info);
  if (osq_dispatch_route_info(t, &info) != OSQ_OK) {
    fail(reply, uuid, "table %s: out of memory", t->name);
  } else {
    for (size_t i = 0; i < info.n; i++)
      osq_api_reply_add_strmap(reply, &info.rows[i]);
    ok(reply, uuid);
  }
  osq_plist_clear(&info);
}

/* ---- writes ---------------------------------------------------------------- */

static int json_values(const osq_table_plugin *t, json_t *arr, osq_value *vals,
                       char *err, size_t errlen) {
  if (!json_is_array(arr)) {
    snprintf(err, errlen, "\"json_value_array\" is not a JSON array");
    return OSQ_EINVAL;
  }
  if (json_array_size(arr) != t->ncolumns) {
    snprintf(err, errlen, "\"json_value_array\" has %zu values for %zu columns",
             json_array_size(arr), t->ncolumns);
    return OSQ_EINVAL;
  }
  for (size_t i = 0; i < t->ncolumns; i++) {
    json_t *j = json_array_get(arr, i);
    osq_value *v = &vals[i];
    memset(v, 0, sizeof *v);
    if (json_is_integer(j)) {
      v->kind = OSQ_VALUE_INT;
      v->u.i = json_integer_value(j);
    } else if (json_is_real(j)) {
      v->kind = OSQ_VALUE_DOUBLE;
      v->u.d = json_real_value(j);
    } else if (json_is_string(j)) {
      v->kind = t->columns[i].type == OSQ_TYPE_BLOB ? OSQ_VALUE_BLOB
                                                    : OSQ_VALUE_TEXT;
      v->u.s.p = json_string_value(j);
      v->u.s.n = json_string_length(j);
    } else if (json_is_boolean(j)) {
      v->kind = OSQ_VALUE_INT;
      v->u.i = json_is_true(j);
    } else if (json_is_null(j)) {
      v->kind = OSQ_VALUE_NULL;
    } else {
      snprintf(err, errlen, "value %zu (column %s) is not a scalar", i,
               t->columns[i].name);
      return OSQ_EINVAL;
    }
  }
  return OSQ_OK;
}

static void table_write(const osq_table_plugin *t, osq_write_action action,
                        const char *aname, const osq_strmap *req,
                        osq_api_reply *reply, int64_t uuid) {
  osq_strmap row;
  osq_strmap_init(&row);
  if (t->write == NULL) {
    set_str(&row, "status", "readonly");
    osq_api_reply_add_strmap(reply, &row);
    osq_strmap_clear(&row);
    ok(reply, uuid);
    return;
  }
  char err[512] = "";
  osq_write w;
  memset(&w, 0, sizeof w);
  w.action = action;
  json_t *arr = NULL;
  osq_value *vals = NULL;
  osq_context *ctx = NULL;
  const char *id = osq_strmap_get(req, "id");
  if (action == OSQ_WRITE_INSERT) {
    const char *auto_rowid = osq_strmap_get(req, "auto_rowid");
    w.has_rowid = auto_rowid && strcmp(auto_rowid, "true") == 0;
    if (w.has_rowid && !osq_parse_i64_str(id, &w.rowid)) {
      snprintf(err, sizeof err, "\"id\" is not an integer rowid");
      goto bad;
    }
  } else if (!osq_parse_i64_str(id, &w.rowid)) {
    snprintf(err, sizeof err, "\"id\" is missing or not an integer rowid");
    goto bad;
  }
  if (action == OSQ_WRITE_UPDATE && osq_strmap_get(req, "new_id")) {
    if (!osq_parse_i64_str(osq_strmap_get(req, "new_id"), &w.new_rowid)) {
      snprintf(err, sizeof err, "\"new_id\" is not an integer rowid");
      goto bad;
    }
    w.rowid_changes = w.new_rowid != w.rowid;
  }
  if (action != OSQ_WRITE_DELETE) {
    size_t len = 0;
    const char *json = get(req, "json_value_array", &len);
    if (json == NULL) {
      snprintf(err, sizeof err, "\"json_value_array\" is missing");
      goto bad;
    }
    json_error_t jerr;
    arr = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (arr == NULL) {
      snprintf(err, sizeof err, "\"json_value_array\": %s at column %d",
               jerr.text, jerr.column);
      goto bad;
    }
    vals = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *vals);
    if (vals == NULL) {
      snprintf(err, sizeof err, "out of memory");
      goto bad;
    }
    if (json_values(t, arr, vals, err, sizeof err) != OSQ_OK)
      goto bad;
    w.values = vals;
    w.nvalues = t->ncolumns;
  }
  ctx = request_context(t, req, err, sizeof err);
  if (ctx == NULL)
    goto bad;
  w.ctx = ctx;
  uint64_t mark = osq_error_mark();
  int rc = t->write(&w, t->udata);
  const char *status = rc == OSQ_OK           ? "success"
                       : rc == OSQ_READONLY   ? "readonly"
                       : rc == OSQ_CONSTRAINT ? "constraint"
                                              : "failure";
  set_str(&row, "status", status);
  if (rc == OSQ_OK && action == OSQ_WRITE_INSERT && !w.has_rowid) {
    char num[24];
    snprintf(num, sizeof num, "%" PRId64, w.assigned_rowid);
    set_str(&row, "id", num);
  }
  if (strcmp(status, "failure") == 0) {
    w.message[sizeof w.message - 1] = '\0';
    const char *why = w.message[0] ? w.message : osq_error_since(mark);
    set_str(&row, "message", why ? why : osq_strerror(rc));
  }
  osq_api_reply_add_strmap(reply, &row);
  ok(reply, uuid);
  goto done;
bad:
  fail(reply, uuid, "table %s: %s request: %s", t->name, aname, err);
done:
  osq_strmap_clear(&row);
  osq_context_free(ctx);
  free(vals);
  json_decref(arr);
}

int osq_dispatch_table(const osq_table_plugin *t, const osq_strmap *request,
                       osq_api_reply *reply, int64_t self_uuid) {
  const char *action = osq_strmap_get(request, "action");
  if (action == NULL)
    fail(reply, self_uuid, "table %s: the request has no \"action\"",
         t->name);
  else if (strcmp(action, "generate") == 0)
    table_generate(t, request, reply, self_uuid);
  else if (strcmp(action, "columns") == 0)
    table_columns(t, reply, self_uuid);
  else if (strcmp(action, "insert") == 0)
    table_write(t, OSQ_WRITE_INSERT, action, request, reply, self_uuid);
  else if (strcmp(action, "update") == 0)
    table_write(t, OSQ_WRITE_UPDATE, action, request, reply, self_uuid);
  else if (strcmp(action, "delete") == 0)
    table_write(t, OSQ_WRITE_DELETE, action, request, reply, self_uuid);
  else
    fail(reply, self_uuid,
         "table %s: unknown action \"%.64s\" (expected columns, generate, "
         "insert, update or delete)",
         t->name, action);
  return finish(reply, self_uuid);
}

/* ---- config ---------------------------------------------------------------- */

/* mark: taken before the callback that returned rc. */
static void map_reply(osq_api_reply *reply, osq_strmap *out, int rc,
                      uint64_t mark, const char *what, const char *name,
                      int64_t uuid) {
  const char *msg = osq_strmap_message(out);
  if (msg == NULL && rc != OSQ_OK)
    msg = osq_error_since(mark);
  if (msg != NULL)
    fail(reply, uuid, "%s", msg);
  else if (rc != OSQ_OK)
    fail(reply, uuid, "%s %s failed: %s", what, name, osq_strerror(rc));
  else {
    osq_api_reply_add_strmap(reply, out);
    ok(reply, uuid);
  }
}

int osq_dispatch_config(const osq_config_plugin *c, const osq_strmap *request,
                        osq_api_reply *reply, int64_t self_uuid) {
  const char *action = osq_strmap_get(request, "action");
  osq_strmap out;
  osq_strmap_init(&out);
  uint64_t mark = osq_error_mark();
  if (action && strcmp(action, "genConfig") == 0) {
    if (c->generate == NULL)
      fail(reply, self_uuid, "config plugin %s cannot generate a config",
           c->name);
    else
      map_reply(reply, &out, c->generate(&out, c->udata), mark,
                "config plugin", c->name, self_uuid);
  } else if (action && strcmp(action, "genPack") == 0) {
    const char *name = osq_strmap_get(request, "name");
    const char *value = osq_strmap_get(request, "value");
    if (c->gen_pack == NULL)
      fail(reply, self_uuid, "config plugin %s does not serve packs",
           c->name);
    else if (name == NULL)
      fail(reply, self_uuid, "config plugin %s: genPack request has no "
           "\"name\"", c->name);
    else
      map_reply(reply, &out,
                c->gen_pack(name, value ? value : "", &out, c->udata), mark,
                "config plugin", c->name, self_uuid);
  } else if (action && strcmp(action, "update") == 0) {
    /* osquery's "update" hands a source's config text to the process
     * that serves the plugin, to apply to its own config; an extension
     * has no schedule of its own, so a complete request is taken as
     * done. */
    if (osq_strmap_get(request, "source") == NULL ||
        osq_strmap_get(request, "data") == NULL)
      fail(reply, self_uuid, "Missing source or data");
    else
      ok(reply, self_uuid);
  } else {
    fail(reply, self_uuid,
         "config plugin %s: unknown action \"%.64s\" (expected genConfig, "
         "genPack or update)",
         c->name, action ? action : "");
  }
  osq_strmap_clear(&out);
  return finish(reply, self_uuid);
}

/* ---- logger ---------------------------------------------------------------- */

int osq_dispatch_logger(const osq_logger_plugin *l, const osq_strmap *request,
                        osq_api_reply *reply, int64_t self_uuid) {
  static const struct {
    const char *key;
    osq_log_kind kind;
  } keys[] = {{"string", OSQ_LOG_RESULT},
              {"snapshot", OSQ_LOG_SNAPSHOT},
              {"init", OSQ_LOG_INIT},
              {"status", OSQ_LOG_STATUS},
              {"event", OSQ_LOG_EVENT}};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    size_t len = 0;
    const char *text = get(request, keys[i].key, &len);
    if (text == NULL)
      continue;
    if (keys[i].kind == OSQ_LOG_STATUS) {
      text = get(request, "log", &len);
      if (text == NULL) {
        fail(reply, self_uuid,
             "logger %s: status request has no \"log\"", l->name);
        return finish(reply, self_uuid);
      }
    }
    uint64_t mark = osq_error_mark();
    int rc = l->log ? l->log(keys[i].kind, text, len, l->udata) : OSQ_OK;
    const char *why = rc != OSQ_OK ? osq_error_since(mark) : NULL;
    if (rc != OSQ_OK)
      fail(reply, self_uuid, "logger %s failed to log a %s line: %s",
           l->name, keys[i].key, why ? why : osq_strerror(rc));
    else
      ok(reply, self_uuid);
    return finish(reply, self_uuid);
  }
  const char *action = osq_strmap_get(request, "action");
  if (action && strcmp(action, "features") == 0)
    osq_ext_status_set(&reply->status, (int32_t)l->features, OK_MSG,
                       self_uuid);
  else
    fail(reply, self_uuid,
         "logger %s: unknown request (expected string, snapshot, init, "
         "status, event or action features)",
         l->name);
  return finish(reply, self_uuid);
}

/* ---- distributed ----------------------------------------------------------- */

int osq_dispatch_distributed(const osq_distributed_plugin *d,
                             const osq_strmap *request, osq_api_reply *reply,
                             int64_t self_uuid) {
  const char *action = osq_strmap_get(request, "action");
  uint64_t mark = osq_error_mark();
  if (action && strcmp(action, "getQueries") == 0) {
    osq_strmap out;
    osq_strmap_init(&out);
    if (d->get_queries == NULL)
      fail(reply, self_uuid, "distributed plugin %s has no queries", d->name);
    else
      map_reply(reply, &out, d->get_queries(&out, d->udata), mark,
                "distributed plugin", d->name, self_uuid);
    osq_strmap_clear(&out);
  } else if (action && strcmp(action, "writeResults") == 0) {
    size_t len = 0;
    const char *json = get(request, "results", &len);
    int rc;
    if (json == NULL)
      fail(reply, self_uuid,
           "distributed plugin %s: writeResults request has no \"results\"",
           d->name);
    else if (d->write_results == NULL)
      fail(reply, self_uuid, "distributed plugin %s does not take results",
           d->name);
    else if ((rc = d->write_results(json, len, d->udata)) != OSQ_OK) {
      const char *why = osq_error_since(mark);
      fail(reply, self_uuid, "distributed plugin %s failed to write results: "
           "%s", d->name, why ? why : osq_strerror(rc));
    }
    else
      ok(reply, self_uuid);
  } else {
    fail(reply, self_uuid,
         "distributed plugin %s: unknown action \"%.64s\" (expected "
         "getQueries or writeResults)",
         d->name, action ? action : "");
  }
  return finish(reply, self_uuid);
}

int osq_dispatch_call(const osq_plugin *p, const osq_strmap *request,
                      osq_api_reply *reply, int64_t self_uuid) {
  switch (p->kind) {
  case OSQ_REGISTRY_TABLE:
    return osq_dispatch_table(p->u.table, request, reply, self_uuid);
  case OSQ_REGISTRY_CONFIG:
    return osq_dispatch_config(p->u.config, request, reply, self_uuid);
  case OSQ_REGISTRY_LOGGER:
    return osq_dispatch_logger(p->u.logger, request, reply, self_uuid);
  case OSQ_REGISTRY_DISTRIBUTED:
    return osq_dispatch_distributed(p->u.distributed, request, reply,
                                    self_uuid);
  default:
    fail(reply, self_uuid, "Unknown registry requested: #%d", (int)p->kind);
    return finish(reply, self_uuid);
  }
}
