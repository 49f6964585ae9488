#include "remote.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/parse.h"
#include "client_pool.h"

struct osq_remote_ext {
  atomic_int refs;
  int64_t uuid;
  char *name;
  osq_pool *pool;
  int64_t call_timeout_ms;
  /* Why it was removed: written once (claimed through why_claimed), then
   * published by why_set, so readers need no lock. */
  atomic_bool why_claimed, why_set;
  char why[400];
};

osq_remote_ext *osq_remote_ext_new(int64_t uuid, const char *name,
                                   const char *socket_path,
                                   const osq_thrift_settings *t) {
  osq_remote_ext *e = calloc(1, sizeof *e);
  if (e == NULL)
    return NULL;
  atomic_init(&e->refs, 1);
  e->uuid = uuid;
  e->name = strdup(name ? name : "");
  e->call_timeout_ms = t ? t->call_timeout_ms : 0;
  e->pool = osq_pool_new(socket_path, t);
  if (e->name == NULL || e->pool == NULL) {
    free(e->name);
    osq_pool_free(e->pool);
    free(e);
    return NULL;
  }
  return e;
}

osq_remote_ext *osq_remote_ext_ref(osq_remote_ext *e) {
  atomic_fetch_add(&e->refs, 1);
  return e;
}

void osq_remote_ext_unref(osq_remote_ext *e) {
  if (e == NULL || atomic_fetch_sub(&e->refs, 1) != 1)
    return;
  osq_pool_free(e->pool);
  free(e->name);
  free(e);
}

void osq_remote_ext_close(osq_remote_ext *e) { osq_pool_close(e->pool, true); }
void osq_remote_ext_close_because(osq_remote_ext *e, const char *why) {
  if (why && !atomic_exchange(&e->why_claimed, true)) {
    snprintf(e->why, sizeof e->why, "%s", why);
    atomic_store(&e->why_set, true);
  }
  osq_pool_close(e->pool, true);
}
void osq_remote_ext_retire(osq_remote_ext *e) {
  osq_pool_close(e->pool, false);
}
int64_t osq_remote_ext_uuid(const osq_remote_ext *e) { return e->uuid; }
const char *osq_remote_ext_path(const osq_remote_ext *e) {
  return osq_pool_path(e->pool);
}
int osq_remote_ext_inflight(osq_remote_ext *e) {
  return osq_pool_inflight(e->pool);
}
void osq_remote_ext_stats(osq_remote_ext *e, struct osq_pool_stats *out) {
  osq_pool_get_stats(e->pool, out);
}

int64_t osq_remote_default_deadline(const osq_remote_ext *e) {
  return e->call_timeout_ms > 0 ? osq_now_ms() + e->call_timeout_ms : 0;
}

/* ---- calls ---------------------------------------------------------------- */

/* Counts what reached the caller's handler, so a failed call that already
 * delivered rows is never retried (the rows would arrive twice). */
struct counting {
  const osq_row_handler *inner;
  size_t cells;
};

static int count_cell(void *u, const char *k, size_t kl, const char *v,
                      size_t vl) {
  struct counting *c = u;
  c->cells++;
  return c->inner->cell(c->inner->u, k, kl, v, vl);
}

static int count_row_end(void *u) {
  struct counting *c = u;
  c->cells++;
  return c->inner->row_end ? c->inner->row_end(c->inner->u) : 0;
}

enum rpc_kind { RPC_CALL, RPC_PING, RPC_SHUTDOWN };

static int rpc(osq_remote_ext *e, enum rpc_kind kind, const char *registry,
               const char *item, const osq_strmap *request,
               osq_ext_status *st, const osq_row_handler *rows,
               int64_t deadline_ms, char *err, size_t errlen) {
  if (deadline_ms == 0)
    deadline_ms = osq_remote_default_deadline(e);
  int64_t started = osq_now_ms();
  struct counting cnt = {rows, 0};
  osq_row_handler wrapped = {count_cell, count_row_end, &cnt};
  char msg[512] = "";
  int rc = OSQ_ERROR;
  for (int attempt = 0; attempt < 2; attempt++) {
    osq_lease l;
    msg[0] = '\0';
    rc = osq_pool_acquire(e->pool, deadline_ms, &l, msg, sizeof msg);
    if (rc != OSQ_OK)
      break;
    switch (kind) {
    case RPC_CALL:
      rc = osq_api_call(l.conn, registry, item, request, st,
                        rows ? &wrapped : NULL, msg, sizeof msg);
      break;
    case RPC_PING: rc = osq_api_ping(l.conn, st, msg, sizeof msg); break;
    case RPC_SHUTDOWN: rc = osq_api_shutdown(l.conn, msg, sizeof msg); break;
    }
    if (rc != OSQ_OK && msg[0] == '\0')
      snprintf(msg, sizeof msg, "%s", osq_tconn_error(l.conn));
    bool reused = l.reused;
    osq_pool_release(e->pool, &l, rc == OSQ_OK);
    if (rc == OSQ_OK)
      return OSQ_OK;
    /* A pooled connection the extension closed while it sat idle: try
     * once more on a fresh one. */
    if (!(reused && cnt.cells == 0 && (rc == OSQ_ECLOSED || rc == OSQ_EIO)))
      break;
    if (deadline_ms > 0 && osq_now_ms() >= deadline_ms)
      break;
  }
  const char *what = kind == RPC_PING       ? "ping"
                     : kind == RPC_SHUTDOWN ? "shutdown"
                                            : "call";
  if (atomic_load(&e->why_set))
    snprintf(err, errlen,
             "Extension call failed: extension %s (uuid %lld) was removed "
             "before it answered %s %s%s%s: %s",
             e->name, (long long)e->uuid, what, registry ? registry : "",
             item ? " " : "", item ? item : "", e->why);
  else if (rc == OSQ_ETIMEDOUT)
    snprintf(err, errlen,
             "Extension call failed: extension %s (uuid %lld) did not answer "
             "%s %s%s%s within %lld ms (--thrift_timeout)",
             e->name, (long long)e->uuid, what, registry ? registry : "",
             item ? " " : "", item ? item : "",
             (long long)(deadline_ms - started));
  else if (rc == OSQ_EPROTO)
    /* the extension answered with an exception: its own words */
    snprintf(err, errlen, "Extension call failed: %s",
             msg[0] ? msg : osq_strerror(rc));
  else
    snprintf(err, errlen, "Extension call failed: extension %s (uuid %lld): %s",
             e->name, (long long)e->uuid, msg[0] ? msg : osq_strerror(rc));
  return rc;
}

int osq_remote_call(osq_remote_ext *e, const char *registry, const char *item,
                    const osq_strmap *request, osq_ext_status *st,
                    const osq_row_handler *rows, int64_t deadline_ms,
                    char *err, size_t errlen) {
  return rpc(e, RPC_CALL, registry, item, request, st, rows, deadline_ms, err,
             errlen);
}

int osq_remote_ping(osq_remote_ext *e, int64_t deadline_ms, char *err,
                    size_t errlen) {
  osq_ext_status st = {0};
  int rc = rpc(e, RPC_PING, NULL, NULL, NULL, &st, NULL, deadline_ms, err,
               errlen);
  if (rc == OSQ_OK && st.code == 1) {
    snprintf(err, errlen, "ping answered code 1: %s",
             st.message ? st.message : "");
    rc = OSQ_ERROR;
  }
  osq_ext_status_clear(&st);
  return rc;
}

int osq_remote_shutdown(osq_remote_ext *e, int64_t deadline_ms, char *err,
                        size_t errlen) {
  return rpc(e, RPC_SHUTDOWN, NULL, NULL, NULL, NULL, NULL, deadline_ms, err,
             errlen);
}

/* A call whose reply rows are collected; fails (OSQ_ERROR, message in err)
 * on a transport error or a non-zero status. */
static int call_collect(osq_remote_ext *e, const char *registry,
                        const char *item, const osq_strmap *req,
                        osq_plist *rows, char *err, size_t errlen) {
  osq_ext_status st = {0};
  osq_row_handler h = osq_plist_handler(rows);
  int rc = osq_remote_call(e, registry, item, req, &st, &h, 0, err, errlen);
  if (rc == OSQ_OK && st.code != 0) {
    snprintf(err, errlen, "%s",
             st.message && st.message[0] ? st.message : "extension failed");
    rc = OSQ_ERROR;
  }
  osq_ext_status_clear(&st);
  return rc == OSQ_OK ? OSQ_OK : OSQ_ERROR;
}

/* ---- tables --------------------------------------------------------------- */

struct col_alias {
  size_t alias, target; /* column indexes */
};

struct rtable {
  osq_table_plugin pub;
  osq_remote_ext *ext;
  char *name;
  osq_column *cols;
  size_t *namelen; /* strlen of each column name */
  size_t ncols;
  char **aliases; /* NULL-terminated */
  struct col_alias *calias;
  size_t ncalias;
};

static void rtable_destroy(void *u) {
  struct rtable *t = u;
  for (size_t i = 0; i < t->ncols; i++)
    free((char *)t->cols[i].name);
  free(t->cols);
  free(t->namelen);
  for (size_t i = 0; t->aliases && t->aliases[i]; i++)
    free(t->aliases[i]);
  free(t->aliases);
  free(t->calias);
  free(t->name);
  osq_remote_ext_unref(t->ext);
  free(t);
}

struct gen {
  struct rtable *t;
  osq_rows *out;
  size_t next; /* extensions send cells in the same order every row */
};

static int gen_cell(void *u, const char *k, size_t kl, const char *v,
                    size_t vl) {
  struct gen *g = u;
  struct rtable *t = g->t;
  size_t n = t->ncols, col = n;
  for (size_t i = 0; i < n; i++) {
    size_t c = (g->next + i) % n;
    /* keys are counted bytes and may hold a NUL: compare lengths first */
    if (t->namelen[c] == kl && memcmp(t->cols[c].name, k, kl) == 0) {
      col = c;
      break;
    }
  }
  if (col == n) {
    int64_t rowid;
    if (kl == 5 && memcmp(k, "rowid", 5) == 0 &&
        osq_parse_i64(v, vl, 10, true, &rowid) == OSQ_OK)
      return osq_rows_rowid(g->out, rowid);
    return 0; /* keys that are not columns are ignored, as in osquery */
  }
  g->next = col + 1 < n ? col + 1 : 0;
  int rc = osq_rows_text(g->out, col, v, vl);
  for (size_t i = 0; rc == OSQ_OK && i < t->ncalias; i++)
    if (t->calias[i].target == col)
      rc = osq_rows_text(g->out, t->calias[i].alias, v, vl);
  return rc;
}

static int gen_row_end(void *u) {
  struct gen *g = u;
  g->next = 0;
  return osq_rows_end(g->out);
}

static int rtable_generate(const osq_context *ctx, osq_rows *out, void *u) {
  struct rtable *t = u;
  char *json = osq_context_to_json(ctx);
  if (json == NULL) {
    osq_rows_error(out, "out of memory encoding the query context");
    return OSQ_ERROR;
  }
  osq_strmap req;
  osq_strmap_init(&req);
  osq_strmap_set(&req, "action", "generate", 8);
  osq_strmap_set(&req, "context", json, strlen(json));
  free(json);
  struct gen g = {t, out, 0};
  osq_row_handler h = {gen_cell, gen_row_end, &g};
  osq_ext_status st = {0};
  char err[768];
  int rc = req.failed ? OSQ_ENOMEM
                      : osq_remote_call(t->ext, "table", t->name, &req, &st,
                                        &h, 0, err, sizeof err);
  osq_strmap_clear(&req);
  if (rc != OSQ_OK) {
    osq_rows_error(out, "%s", rc == OSQ_ENOMEM ? "out of memory" : err);
  } else if (st.code != 0) {
    osq_rows_error(out, "%s",
                   st.message && st.message[0] ? st.message
                                               : "extension table failed");
    rc = OSQ_ERROR;
  }
  osq_ext_status_clear(&st);
  return rc == OSQ_OK ? OSQ_OK : OSQ_ERROR;
}

static json_t *value_json(const osq_value *v) {
  switch (v->kind) {
  case OSQ_VALUE_INT: return json_integer((json_int_t)v->u.i);
  case OSQ_VALUE_DOUBLE: return json_real(v->u.d);
  case OSQ_VALUE_TEXT:
  case OSQ_VALUE_BLOB: {
    json_t *j = json_stringn(v->u.s.p, v->u.s.n);
    if (j == NULL) { /* not UTF-8: keep what can be carried */
      char *copy = malloc(v->u.s.n + 1);
      if (copy == NULL)
        return NULL;
      for (size_t i = 0; i < v->u.s.n; i++)
        copy[i] = (unsigned char)v->u.s.p[i] < 0x80 ? v->u.s.p[i] : '?';
      j = json_stringn(copy, v->u.s.n);
      free(copy);
    }
    return j;
  }
  default: return json_null();
  }
}

static void set_i64(osq_strmap *m, const char *key, int64_t v) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
  osq_strmap_set(m, key, buf, (size_t)n);
}

static int rtable_write(osq_write *w, void *u) {
  struct rtable *t = u;
  osq_strmap req;
  osq_strmap_init(&req);
  char *ctx = w->ctx ? osq_context_to_json(w->ctx) : NULL;
  char *values = NULL;
  if (w->action == OSQ_WRITE_DELETE) {
    osq_strmap_set(&req, "action", "delete", 6);
    set_i64(&req, "id", w->rowid);
  } else {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < w->nvalues; i++)
      if (json_array_append_new(arr, value_json(&w->values[i])) != 0) {
        json_decref(arr);
        arr = NULL;
      }
    values = arr ? json_dumps(arr, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(arr);
    if (values == NULL) {
      snprintf(w->message, sizeof w->message, "out of memory");
      free(ctx);
      return OSQ_ERROR;
    }
    if (w->action == OSQ_WRITE_INSERT) {
      osq_strmap_set(&req, "action", "insert", 6);
      osq_strmap_set(&req, "json_value_array", values, strlen(values));
      osq_strmap_set(&req, "auto_rowid", w->has_rowid ? "true" : "false",
                     w->has_rowid ? 4 : 5);
      if (w->has_rowid)
        set_i64(&req, "id", w->rowid);
    } else {
      osq_strmap_set(&req, "action", "update", 6);
      set_i64(&req, "id", w->rowid);
      osq_strmap_set(&req, "json_value_array", values, strlen(values));
      if (w->rowid_changes)
        set_i64(&req, "new_id", w->new_rowid);
    }
  }
  if (ctx)
    osq_strmap_set(&req, "context", ctx, strlen(ctx));
  free(ctx);
  free(values);
  osq_plist rows;
  osq_plist_init(&rows);
  char err[768];
  bool oom = req.failed;
  int rc = oom ? OSQ_ERROR
               : call_collect(t->ext, "table", t->name, &req, &rows, err,
                              sizeof err);
  osq_strmap_clear(&req);
  if (rc != OSQ_OK) {
    snprintf(w->message, sizeof w->message, "%.255s",
             oom ? "out of memory" : err);
    osq_plist_clear(&rows);
    return OSQ_ERROR;
  }
  const char *status = rows.n ? osq_strmap_get(&rows.rows[0], "status") : NULL;
  if (status == NULL) {
    snprintf(w->message, sizeof w->message,
             "extension table %s answered a write without a status", t->name);
    rc = OSQ_ERROR;
  } else if (strcmp(status, "success") == 0) {
    rc = OSQ_OK;
    if (w->action == OSQ_WRITE_INSERT && !w->has_rowid) {
      const char *id = osq_strmap_get(&rows.rows[0], "id");
      int64_t v;
      if (id == NULL || !osq_parse_i64_str(id, &v)) {
        snprintf(w->message, sizeof w->message,
                 "extension table %s did not return the new row's id",
                 t->name);
        rc = OSQ_ERROR;
      } else {
        w->assigned_rowid = v;
      }
    }
  } else if (strcmp(status, "readonly") == 0) {
    rc = OSQ_READONLY;
  } else if (strcmp(status, "constraint") == 0) {
    rc = OSQ_CONSTRAINT;
  } else {
    const char *m = osq_strmap_get(&rows.rows[0], "message");
    snprintf(w->message, sizeof w->message, "%.255s",
             m && *m ? m : "extension table write failed");
    rc = OSQ_ERROR;
  }
  osq_plist_clear(&rows);
  return rc;
}

/* A bare SQL identifier: the name goes into CREATE VIRTUAL TABLE as osquery
 * does, so anything else could not be attached. */
static bool valid_ident(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > OSQ_REMOTE_MAX_NAME || isdigit((unsigned char)s[0]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_')
      return false;
  return true;
}

static int add_column(struct rtable *t, size_t *cap, const char *name,
                      osq_type type, uint32_t opts) {
  if (t->ncols == *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    osq_column *c = realloc(t->cols, nc * sizeof *c);
    if (c == NULL)
      return OSQ_ENOMEM;
    t->cols = c;
    *cap = nc;
  }
  char *copy = strdup(name);
  if (copy == NULL)
    return OSQ_ENOMEM;
  t->cols[t->ncols++] = (osq_column){copy, type, opts};
  return OSQ_OK;
}

/* What reading a table's route info collects besides the columns. */
struct route_reader {
  struct rtable *t;
  size_t cap;        /* of t->cols */
  size_t nalias;     /* t->aliases in use */
  uint32_t attributes;
  char why[300];     /* what is invalid, for "Invalid route info" */
};

/* An {"id": "column"} row (a row without an id counts as one). */
static int route_column(struct route_reader *rd, const osq_strmap *row) {
  struct rtable *t = rd->t;
  const char *name = osq_strmap_get(row, "name");
  const char *type = osq_strmap_get(row, "type");
  const char *op = osq_strmap_get(row, "op");
  if (name == NULL || name[0] == '\0' || strlen(name) > OSQ_REMOTE_MAX_NAME) {
    snprintf(rd->why, sizeof rd->why, "a column without a valid name");
    return OSQ_EINVAL;
  }
  if (osq_column_find(t->cols, t->ncols, name) >= 0) {
    snprintf(rd->why, sizeof rd->why, "column %s declared twice", name);
    return OSQ_EINVAL;
  }
  if (t->ncols >= OSQ_REMOTE_MAX_COLUMNS) {
    snprintf(rd->why, sizeof rd->why, "more than %d columns",
             OSQ_REMOTE_MAX_COLUMNS);
    return OSQ_EINVAL;
  }
  unsigned long opts = op ? strtoul(op, NULL, 10) : 0;
  return add_column(t, &rd->cap, name, osq_type_from_name(type),
                    (uint32_t)(opts & 0xffff));
}

/* An {"id": "alias"} row: a view name for the table. */
static int route_alias(struct route_reader *rd, const osq_strmap *row) {
  const char *alias = osq_strmap_get(row, "alias");
  if (alias == NULL || !valid_ident(alias)) {
    snprintf(rd->why, sizeof rd->why,
             "alias '%.64s' is not an SQL identifier", alias ? alias : "");
    return OSQ_EINVAL;
  }
  if ((rd->t->aliases[rd->nalias] = strdup(alias)) == NULL)
    return OSQ_ENOMEM;
  rd->nalias++;
  return OSQ_OK;
}

/* An {"id": "columnAlias"} row: a hidden column standing for its target,
 * which must already be a column. */
static int route_column_alias(struct route_reader *rd,
                              const osq_strmap *row) {
  struct rtable *t = rd->t;
  const char *name = osq_strmap_get(row, "name");
  const char *target = osq_strmap_get(row, "target");
  int ti = target ? osq_column_find(t->cols, t->ncols, target) : -1;
  if (name == NULL || name[0] == '\0' || ti < 0 ||
      osq_column_find(t->cols, t->ncols, name) >= 0) {
    snprintf(rd->why, sizeof rd->why,
             "column alias %.64s -> %.64s is invalid", name ? name : "",
             target ? target : "");
    return OSQ_EINVAL;
  }
  if (t->ncols >= OSQ_REMOTE_MAX_COLUMNS) {
    snprintf(rd->why, sizeof rd->why, "too many columns");
    return OSQ_EINVAL;
  }
  int rc = add_column(t, &rd->cap, name, t->cols[ti].type, OSQ_COL_HIDDEN);
  if (rc == OSQ_OK)
    t->calias[t->ncalias++] = (struct col_alias){t->ncols - 1, (size_t)ti};
  return rc;
}

/* Every row of the route info. Columns, aliases and attributes first,
 * then column aliases: they name their target, which may come later in
 * the list only in theory; two passes keep it simple. */
static int read_route_info(struct route_reader *rd, const osq_route *r) {
  int rc = OSQ_OK;
  for (size_t i = 0; i < r->info.n && rc == OSQ_OK; i++) {
    const osq_strmap *row = &r->info.rows[i];
    const char *id = osq_strmap_get(row, "id");
    if (id == NULL || strcmp(id, "column") == 0) {
      rc = route_column(rd, row);
    } else if (strcmp(id, "alias") == 0) {
      rc = route_alias(rd, row);
    } else if (strcmp(id, "attributes") == 0) {
      const char *a = osq_strmap_get(row, "attributes");
      rd->attributes = a ? (uint32_t)strtoul(a, NULL, 10) : 0;
    }
  }
  for (size_t i = 0; i < r->info.n && rc == OSQ_OK; i++) {
    const osq_strmap *row = &r->info.rows[i];
    const char *id = osq_strmap_get(row, "id");
    if (id && strcmp(id, "columnAlias") == 0)
      rc = route_column_alias(rd, row);
  }
  if (rc == OSQ_OK && rd->t->ncols == 0) {
    snprintf(rd->why, sizeof rd->why, "no columns");
    rc = OSQ_EINVAL;
  }
  return rc;
}

/* The column name lengths the row decoder compares against. */
static int index_name_lengths(struct rtable *t) {
  t->namelen = malloc(t->ncols * sizeof *t->namelen);
  if (t->namelen == NULL)
    return OSQ_ENOMEM;
  for (size_t i = 0; i < t->ncols; i++)
    t->namelen[i] = strlen(t->cols[i].name);
  return OSQ_OK;
}

static struct rtable *build_table(osq_remote_ext *e, const osq_route *r,
                                  char *err, size_t errlen) {
  if (r->info.n == 0) {
    snprintf(err, errlen, "Invalid route info");
    return NULL;
  }
  if (!valid_ident(r->item)) {
    snprintf(err, errlen, "Invalid route info: table name '%.*s' is not an "
             "SQL identifier", OSQ_REMOTE_MAX_NAME, r->item);
    return NULL;
  }
  struct rtable *t = calloc(1, sizeof *t);
  if (t == NULL || (t->name = strdup(r->item)) == NULL) {
    free(t);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  struct route_reader rd = {.t = t};
  int rc = OSQ_OK;
  t->aliases = calloc(r->info.n + 1, sizeof *t->aliases);
  t->calias = calloc(r->info.n, sizeof *t->calias);
  if (t->aliases == NULL || t->calias == NULL)
    rc = OSQ_ENOMEM;
  if (rc == OSQ_OK)
    rc = read_route_info(&rd, r);
  if (rc == OSQ_OK)
    rc = index_name_lengths(t);
  if (rc != OSQ_OK) {
    if (rc == OSQ_ENOMEM)
      snprintf(err, errlen, "out of memory");
    else
      snprintf(err, errlen, "Invalid route info for table %s: %s", r->item,
               rd.why);
    t->ext = NULL;
    rtable_destroy(t);
    return NULL;
  }
  t->ext = osq_remote_ext_ref(e);
  t->pub = (osq_table_plugin){
      .name = t->name,
      .columns = t->cols,
      .ncolumns = t->ncols,
      .attributes = rd.attributes,
      .aliases = rd.nalias ? (const char *const *)t->aliases : NULL,
      .generate = rtable_generate,
      .write = rtable_write,
      .udata = t,
      .destroy = rtable_destroy,
  };
  return t;
}

/* ---- config, logger, distributed ------------------------------------------ */

struct rplugin {
  union {
    osq_config_plugin config;
    osq_logger_plugin logger;
    osq_distributed_plugin distributed;
  } pub;
  osq_registry_kind kind;
  osq_remote_ext *ext;
  char *name;
  atomic_bool features_known;
};

static void rplugin_destroy(void *u) {
  struct rplugin *p = u;
  osq_remote_ext_unref(p->ext);
  free(p->name);
  free(p);
}

/* Copy the first reply row into out. */
static void first_row_into(const osq_plist *rows, osq_strmap *out) {
  if (rows->n == 0)
    return;
  const osq_strmap *r = &rows->rows[0];
  for (size_t i = 0; i < osq_strmap_count(r); i++) {
    size_t len;
    const char *v = osq_strmap_val(r, i, &len);
    osq_strmap_set(out, osq_strmap_key(r, i), v, len);
  }
}

static int simple_call(struct rplugin *p, osq_strmap *req, osq_strmap *out) {
  osq_plist rows;
  osq_plist_init(&rows);
  char err[768];
  int rc = req->failed ? OSQ_ENOMEM
                       : call_collect(p->ext, osq_registry_name(p->kind),
                                      p->name, req, &rows, err, sizeof err);
  if (rc == OSQ_OK && out)
    first_row_into(&rows, out);
  else if (rc != OSQ_OK && out)
    osq_strmap_error(out, "%s", rc == OSQ_ENOMEM ? "out of memory" : err);
  else if (rc != OSQ_OK)
    OSQ_VLOG("%s plugin %s: %s", osq_registry_name(p->kind), p->name, err);
  osq_plist_clear(&rows);
  osq_strmap_clear(req);
  return rc == OSQ_OK ? OSQ_OK : OSQ_ERROR;
}

static int rconfig_generate(osq_strmap *out, void *u) {
  osq_strmap req;
  osq_strmap_init(&req);
  osq_strmap_set(&req, "action", "genConfig", 9);
  return simple_call(u, &req, out);
}

static int rconfig_gen_pack(const char *name, const char *value,
                            osq_strmap *out, void *u) {
  osq_strmap req;
  osq_strmap_init(&req);
  osq_strmap_set(&req, "action", "genPack", 7);
  osq_strmap_set(&req, "name", name, strlen(name));
  osq_strmap_set(&req, "value", value ? value : "", value ? strlen(value) : 0);
  return simple_call(u, &req, out);
}

static void query_features(struct rplugin *p) {
  osq_strmap req;
  osq_strmap_init(&req);
  osq_strmap_set(&req, "action", "features", 8);
  osq_ext_status st = {0};
  char err[768];
  int rc = req.failed ? OSQ_ENOMEM
                      : osq_remote_call(p->ext, "logger", p->name, &req, &st,
                                        NULL, 0, err, sizeof err);
  osq_strmap_clear(&req);
  if (rc == OSQ_OK) {
    /* The code is the bitmask (Python and Go answer 1: LOGSTATUS). */
    uint32_t f = st.code > 0 ? (uint32_t)st.code &
                                   (OSQ_LOGGER_FEATURE_STATUS |
                                    OSQ_LOGGER_FEATURE_EVENT)
                             : 0;
    /* The plugin is already published and the logger thread reads this
     * field while we (the health thread, or a logger call) learn it: both
     * sides use atomic accesses, never a plain read or write. */
    __atomic_store_n(&p->pub.logger.features, f, __ATOMIC_RELEASE);
    atomic_store(&p->features_known, true);
  } else {
    OSQ_VLOG("logger plugin %s: features: %s", p->name, err);
  }
  osq_ext_status_clear(&st);
}

static int rlogger_log(osq_log_kind kind, const char *text, size_t len,
                       void *u) {
  struct rplugin *p = u;
  if (!atomic_load(&p->features_known) && kind != OSQ_LOG_INIT)
    query_features(p);
  osq_strmap req;
  osq_strmap_init(&req);
  switch (kind) {
  case OSQ_LOG_RESULT:
    osq_strmap_set(&req, "string", text, len);
    osq_strmap_set(&req, "category", "event", 5);
    break;
  case OSQ_LOG_SNAPSHOT: osq_strmap_set(&req, "snapshot", text, len); break;
  case OSQ_LOG_STATUS:
    osq_strmap_set(&req, "status", "true", 4);
    osq_strmap_set(&req, "log", text, len);
    break;
  case OSQ_LOG_INIT: osq_strmap_set(&req, "init", text, len); break;
  case OSQ_LOG_EVENT: osq_strmap_set(&req, "event", text, len); break;
  default: osq_strmap_clear(&req); return OSQ_EINVAL;
  }
  return simple_call(p, &req, NULL);
}

static int rdist_get_queries(osq_strmap *out, void *u) {
  osq_strmap req;
  osq_strmap_init(&req);
  osq_strmap_set(&req, "action", "getQueries", 10);
  osq_strmap tmp;
  osq_strmap_init(&tmp);
  int rc = simple_call(u, &req, &tmp);
  if (rc == OSQ_OK) {
    size_t len = 0;
    const char *res = NULL;
    for (size_t i = 0; i < osq_strmap_count(&tmp); i++)
      if (strcmp(osq_strmap_key(&tmp, i), "results") == 0)
        res = osq_strmap_val(&tmp, i, &len);
    osq_strmap_set(out, "results", res ? res : "", res ? len : 0);
  } else {
    osq_strmap_error(out, "%s", osq_strmap_message(&tmp));
  }
  osq_strmap_clear(&tmp);
  return rc;
}

static int rdist_write_results(const char *json, size_t len, void *u) {
  osq_strmap req;
  osq_strmap_init(&req);
  osq_strmap_set(&req, "action", "writeResults", 12);
  osq_strmap_set(&req, "results", json, len);
  return simple_call(u, &req, NULL);
}

static struct rplugin *build_plugin(osq_remote_ext *e, osq_registry_kind kind,
                                    const char *name) {
  struct rplugin *p = calloc(1, sizeof *p);
  if (p == NULL || (p->name = strdup(name)) == NULL) {
    free(p);
    return NULL;
  }
  p->kind = kind;
  p->ext = osq_remote_ext_ref(e);
  switch (kind) {
  case OSQ_REGISTRY_CONFIG:
    p->pub.config = (osq_config_plugin){p->name, rconfig_generate,
                                        rconfig_gen_pack, p, rplugin_destroy};
    break;
  case OSQ_REGISTRY_LOGGER:
    p->pub.logger =
        (osq_logger_plugin){p->name, 0, rlogger_log, p, rplugin_destroy};
    break;
  default:
    p->pub.distributed = (osq_distributed_plugin){
        p->name, rdist_get_queries, rdist_write_results, p, rplugin_destroy};
    break;
  }
  return p;
}

void osq_remote_query_features(osq_remote_ext *e, const osq_plugin *const *list,
                               size_t n) {
  for (size_t i = 0; i < n; i++) {
    const osq_logger_plugin *l = list[i]->u.logger;
    if (list[i]->owner != (uint64_t)e->uuid || l->destroy != rplugin_destroy)
      continue;
    struct rplugin *p = l->udata;
    if (!atomic_load(&p->features_known))
      query_features(p);
  }
}

/* ---- building a registration's plugins ------------------------------------ */

static void spec_destroy(const osq_plugin_spec *s) {
  /* pub is the first member of both wrappers */
  if (s->kind == OSQ_REGISTRY_TABLE)
    rtable_destroy((void *)s->plugin);
  else
    rplugin_destroy((void *)s->plugin);
}

void osq_remote_specs_free(osq_plugin_spec *specs, size_t n) {
  for (size_t i = 0; i < n; i++)
    spec_destroy(&specs[i]);
  free(specs);
}

void osq_remote_specs_release(osq_plugin_spec *specs) { free(specs); }

int osq_remote_build(osq_remote_ext *e, const osq_route_table *routes,
                     osq_plugin_spec **out, size_t *nout, char *err,
                     size_t errlen) {
  *out = NULL;
  *nout = 0;
  if (routes->n > OSQ_REMOTE_MAX_ROUTES) {
    snprintf(err, errlen, "too many routes (%zu, at most %d)", routes->n,
             OSQ_REMOTE_MAX_ROUTES);
    return OSQ_EINVAL;
  }
  /* osquery checks every registry name before adding any route. */
  for (size_t i = 0; i < routes->n; i++) {
    const char *reg = routes->routes[i].registry;
    if (osq_registry_from_name(reg) < 0 && !osq_registry_is_foreign(reg)) {
      snprintf(err, errlen, "Unknown registry: %s", reg);
      return OSQ_EINVAL;
    }
  }
  osq_plugin_spec *specs = calloc(routes->n ? routes->n : 1, sizeof *specs);
  if (specs == NULL) {
    snprintf(err, errlen, "out of memory");
    return OSQ_ENOMEM;
  }
  size_t n = 0;
  for (size_t i = 0; i < routes->n; i++) {
    const osq_route *r = &routes->routes[i];
    int kind = osq_registry_from_name(r->registry);
    if (kind < 0) {
      OSQ_WARN("Extension %lld: ignoring %s plugin %s (osq has no %s "
               "registry)",
               (long long)e->uuid, r->registry, r->item, r->registry);
      continue;
    }
    if (r->item == NULL || r->item[0] == '\0' ||
        strlen(r->item) > OSQ_REMOTE_MAX_NAME) {
      snprintf(err, errlen, "Invalid route info: a %s plugin without a valid "
               "name", r->registry);
      osq_remote_specs_free(specs, n);
      return OSQ_EINVAL;
    }
    const void *plugin;
    if (kind == OSQ_REGISTRY_TABLE) {
      struct rtable *t = build_table(e, r, err, errlen);
      if (t == NULL) {
        osq_remote_specs_free(specs, n);
        return OSQ_EINVAL;
      }
      plugin = &t->pub;
    } else {
      struct rplugin *p = build_plugin(e, (osq_registry_kind)kind, r->item);
      if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        osq_remote_specs_free(specs, n);
        return OSQ_ENOMEM;
      }
      plugin = &p->pub;
    }
    specs[n++] = (osq_plugin_spec){(osq_registry_kind)kind, plugin,
                                   (uint64_t)e->uuid, false};
  }
  *out = specs;
  *nout = n;
  return OSQ_OK;
}
