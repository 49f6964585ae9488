/* osquery's extensions API over thrift.h (see api.h and osquery.thrift).
 *
 * Each IDL struct has one writer and one reader here; each method one
 * argument encoder (client) and one argument decoder (server). Readers
 * start from defaults and skip unknown or mistyped fields, because Python
 * writers leave out fields that are None. */
#include "api.h"
#include "core/cancel.h"

#include "../core/grow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A call's request map comes from a peer; strmap insertion is linear in
 * the map's size, so the count is bounded far below the message budget.
 * osquery's requests carry a handful of keys. */
#define OSQ_API_MAX_MAP_KEYS 4096

/* ---- value types -------------------------------------------------------- */

void osq_ext_status_set(osq_ext_status *s, int32_t code, const char *message,
                        int64_t uuid) {
  char *m = message ? strdup(message) : NULL;
  free(s->message);
  s->code = code;
  s->message = m;
  s->uuid = uuid;
}

void osq_ext_status_clear(osq_ext_status *s) {
  free(s->message);
  memset(s, 0, sizeof *s);
}

void osq_ext_info_clear(osq_ext_info *i) {
  free(i->name);
  free(i->version);
  free(i->sdk_version);
  free(i->min_sdk_version);
  memset(i, 0, sizeof *i);
}

void osq_ext_list_clear(osq_ext_list *l) {
  for (size_t i = 0; i < l->n; i++)
    osq_ext_info_clear(&l->items[i].info);
  free(l->items);
  memset(l, 0, sizeof *l);
}

void osq_option_list_clear(osq_option_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->items[i].name);
    free(l->items[i].value);
    free(l->items[i].default_value);
    free(l->items[i].type);
  }
  free(l->items);
  memset(l, 0, sizeof *l);
}

void osq_route_table_clear(osq_route_table *t) {
  for (size_t i = 0; i < t->n; i++) {
    free(t->routes[i].registry);
    free(t->routes[i].item);
    osq_plist_clear(&t->routes[i].info);
  }
  free(t->routes);
  for (size_t i = 0; i < t->nempty; i++)
    free(t->empty_registries[i]);
  free(t->empty_registries);
  memset(t, 0, sizeof *t);
}

/* Grow an array of elements of size sz to hold n+1. */
static int push(void **items, size_t *cap, size_t n, size_t sz) {
  return osq_grow(items, cap, n + 1, sz, 8, 0) == OSQ_OK ? OSQ_OK
                                                         : OSQ_ENOMEM;
}

static int strmap_set_view(osq_strmap *m, const char *k, size_t kl,
                           const char *v, size_t vl) {
  char small[128];
  char *key = kl < sizeof small ? small : malloc(kl + 1);
  if (key == NULL)
    return OSQ_ENOMEM;
  memcpy(key, k, kl);
  key[kl] = '\0';
  int rc = osq_strmap_set(m, key, v, vl);
  if (key != small)
    free(key);
  return rc;
}

/* ---- struct codecs ------------------------------------------------------ */

/* struct ExtensionStatus { 1: i32 code, 2: string message, 3: i64 uuid } */
static void write_status(osq_twriter *w, const osq_ext_status *s) {
  osq_tw_field(w, OSQ_TT_I32, 1);
  osq_tw_i32(w, s->code);
  osq_tw_field(w, OSQ_TT_STRING, 2);
  osq_tw_cstr(w, s->message);
  osq_tw_field(w, OSQ_TT_I64, 3);
  osq_tw_i64(w, s->uuid);
  osq_tw_stop(w);
}

/* Read a string field into *dst (replacing what was there). */
static int read_str(osq_treader *r, char **dst) {
  char *s;
  if (osq_tr_string(r, &s, NULL) != OSQ_OK)
    return r->err;
  free(*dst);
  *dst = s;
  return OSQ_OK;
}

/* Fill NULL strings with "" (fields the writer left out). */
static int default_str(osq_treader *r, char **s) {
  if (*s == NULL && (*s = strdup("")) == NULL)
    return osq_tr_fail(r, OSQ_ENOMEM, "out of memory");
  return OSQ_OK;
}

static int read_status(osq_treader *r, osq_ext_status *s) {
  osq_ext_status_clear(s);
  if (osq_tr_struct_enter(r) != OSQ_OK)
    return r->err;
  for (;;) {
    int t;
    int16_t id;
    if (osq_tr_field(r, &t, &id) != OSQ_OK)
      return r->err;
    if (t == OSQ_TT_STOP)
      break;
    int rc;
    if (id == 1 && t == OSQ_TT_I32)
      rc = osq_tr_i32(r, &s->code);
    else if (id == 2 && t == OSQ_TT_STRING)
      rc = read_str(r, &s->message);
    else if (id == 3 && t == OSQ_TT_I64)
      rc = osq_tr_i64(r, &s->uuid);
    else
      rc = osq_tr_skip(r, t);
    if (rc != OSQ_OK)
      return rc;
  }
  osq_tr_struct_leave(r);
  return default_str(r, &s->message);
}

/* Structs whose fields are all strings numbered 1..n. */
static void write_string_struct(osq_twriter *w, const char *const *vals,
                                int n) {
  for (int i = 0; i < n; i++) {
    osq_tw_field(w, OSQ_TT_STRING, (int16_t)(i + 1));
    osq_tw_cstr(w, vals[i]);
  }
  osq_tw_stop(w);
}

static int read_string_struct(osq_treader *r, char **const *dst, int n) {
  if (osq_tr_struct_enter(r) != OSQ_OK)
    return r->err;
  for (;;) {
    int t;
    int16_t id;
    if (osq_tr_field(r, &t, &id) != OSQ_OK)
      return r->err;
    if (t == OSQ_TT_STOP)
      break;
    bool ours = t == OSQ_TT_STRING && id >= 1 && id <= n;
    if ((ours ? read_str(r, dst[id - 1]) : osq_tr_skip(r, t)) != OSQ_OK)
      return r->err;
  }
  osq_tr_struct_leave(r);
  for (int i = 0; i < n; i++)
    if (default_str(r, dst[i]))
      return r->err;
  return OSQ_OK;
}

/* struct InternalExtensionInfo { 1: string name, 2: string version,
 *   3: string sdk_version, 4: string min_sdk_version } */
static void write_info(osq_twriter *w, const osq_ext_info *i) {
  const char *const v[] = {i->name, i->version, i->sdk_version,
                           i->min_sdk_version};
  write_string_struct(w, v, 4);
}

static int read_info(osq_treader *r, osq_ext_info *i) {
  char **const d[] = {&i->name, &i->version, &i->sdk_version,
                      &i->min_sdk_version};
  return read_string_struct(r, d, 4);
}

/* struct InternalOptionInfo { 1: string value, 2: string default_value,
 *   3: string type } */
static void write_option(osq_twriter *w, const osq_option *o) {
  const char *const v[] = {o->value, o->default_value, o->type};
  write_string_struct(w, v, 3);
}

static int read_option(osq_treader *r, osq_option *o) {
  char **const d[] = {&o->value, &o->default_value, &o->type};
  return read_string_struct(r, d, 3);
}

/* map<string,string> */
static void write_strmap(osq_twriter *w, const osq_strmap *m) {
  size_t n = m ? osq_strmap_count(m) : 0;
  osq_tw_map_begin(w, OSQ_TT_STRING, OSQ_TT_STRING, (int32_t)n);
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const char *v = osq_strmap_val(m, i, &len);
    osq_tw_cstr(w, osq_strmap_key(m, i));
    osq_tw_string(w, v, len);
  }
}

static int read_strmap(osq_treader *r, osq_strmap *m, const char *what) {
  int kt, vt;
  int32_t n;
  if (osq_tr_map_begin(r, &kt, &vt, &n) != OSQ_OK)
    return r->err;
  if (n > 0 && (kt != OSQ_TT_STRING || vt != OSQ_TT_STRING))
    return osq_tr_fail(r, OSQ_EPROTO,
                       "%s: expected map<string,string>, got key type %d and "
                       "value type %d",
                       what, kt, vt);
  if (n > OSQ_API_MAX_MAP_KEYS)
    return osq_tr_fail(r, OSQ_ERANGE, "%s has %d entries, more than %d", what,
                       n, OSQ_API_MAX_MAP_KEYS);
  for (int32_t i = 0; i < n; i++) {
    const char *k, *v;
    size_t kl, vl;
    if (osq_tr_string_pair_view(r, &k, &kl, &v, &vl) != OSQ_OK)
      return r->err;
    int rc = strmap_set_view(m, k, kl, v, vl);
    if (rc != OSQ_OK)
      return osq_tr_fail(r, rc, "%s: cannot store entry %d: %s", what, i,
                         osq_strerror(rc));
  }
  return OSQ_OK;
}

/* ---- collecting rows into an osq_plist ------------------------------------ */

static int plist_row_begin(void *u) {
  return osq_plist_add(u) ? OSQ_OK : OSQ_ENOMEM;
}

static int plist_cell(void *u, const char *k, size_t kl, const char *v,
                      size_t vl) {
  osq_plist *l = u;
  if (l->n == 0 && osq_plist_add(l) == NULL)
    return OSQ_ENOMEM;
  osq_strmap *row = &l->rows[l->n - 1];
  /* insertion checks for duplicates linearly: bound the row */
  if (osq_strmap_count(row) >= OSQ_API_MAX_MAP_KEYS)
    return OSQ_ERANGE;
  return strmap_set_view(row, k, kl, v, vl);
}

static int plist_row_end(void *u) {
  (void)u;
  return OSQ_OK;
}

osq_row_handler osq_plist_handler(osq_plist *l) {
  /* read_rows adds a row to l where each row begins (an empty map is a
   * row too), so the cell callback fills the last one. */
  return (osq_row_handler){plist_cell, plist_row_end, l};
}

osq_row_handler osq_cells_handler(osq_tr_cells *t) {
  /* read_rows decodes into t without a call per cell */
  t->col = 0;
  t->named = false;
  return (osq_row_handler){osq_tr_cells_put, osq_tr_cells_row_end, t};
}

static int ignore_cell(void *u, const char *k, size_t kl, const char *v,
                       size_t vl) {
  (void)u, (void)k, (void)kl, (void)v, (void)vl;
  return OSQ_OK;
}

/* list<map<string,string>> handed to h cell by cell. */
static int read_rows(osq_treader *r, const osq_row_handler *h) {
  int et;
  int32_t n;
  if (osq_tr_list_begin(r, &et, &n) != OSQ_OK)
    return r->err;
  if (n > 0 && et != OSQ_TT_MAP)
    return osq_tr_fail(r, OSQ_EPROTO,
                       "response: expected list<map<string,string>>, got a "
                       "list of type %d",
                       et);
  if (h && h->cell == osq_tr_cells_put)
    return osq_tr_strmap_list_cells(r, n, "response row", h->u);
  bool plist = h && h->cell == plist_cell;
  return osq_tr_strmap_list_each(r, n, "response row",
                                 plist ? plist_row_begin : NULL,
                                 h && h->cell ? h->cell : ignore_cell,
                                 h ? h->row_end : NULL, h ? h->u : NULL);
}

/* struct ExtensionResponse { 1: ExtensionStatus status,
 *   2: list<map<string,string>> response } */
typedef struct response_ctx {
  osq_ext_status *status;
  const osq_row_handler *rows;
} response_ctx;

static int read_response(osq_treader *r, void *ctx) {
  response_ctx *x = ctx;
  if (osq_tr_struct_enter(r) != OSQ_OK)
    return r->err;
  bool have_status = false;
  for (;;) {
    int t;
    int16_t id;
    if (osq_tr_field(r, &t, &id) != OSQ_OK)
      return r->err;
    if (t == OSQ_TT_STOP)
      break;
    int rc;
    if (id == 1 && t == OSQ_TT_STRUCT) {
      rc = read_status(r, x->status);
      have_status = true;
    } else if (id == 2 && t == OSQ_TT_LIST) {
      rc = read_rows(r, x->rows);
    } else {
      rc = osq_tr_skip(r, t);
    }
    if (rc != OSQ_OK)
      return rc;
  }
  osq_tr_struct_leave(r);
  if (!have_status) {
    osq_ext_status_clear(x->status);
    return default_str(r, &x->status->message);
  }
  return OSQ_OK;
}

static int read_status_value(osq_treader *r, void *ctx) {
  return read_status(r, ctx);
}

/* map<i64, InternalExtensionInfo> */
static int read_ext_list(osq_treader *r, void *ctx) {
  osq_ext_list *l = ctx;
  int kt, vt;
  int32_t n;
  if (osq_tr_map_begin(r, &kt, &vt, &n) != OSQ_OK)
    return r->err;
  if (n > 0 && (kt != OSQ_TT_I64 || vt != OSQ_TT_STRUCT))
    return osq_tr_fail(r, OSQ_EPROTO,
                       "extensions: expected map<i64,struct>, got key type "
                       "%d and value type %d",
                       kt, vt);
  size_t cap = 0;
  for (int32_t i = 0; i < n; i++) {
    if (push((void **)&l->items, &cap, l->n, sizeof *l->items) != OSQ_OK)
      return osq_tr_fail(r, OSQ_ENOMEM, "out of memory");
    osq_ext_entry *e = &l->items[l->n];
    memset(e, 0, sizeof *e);
    l->n++;
    if (osq_tr_i64(r, &e->uuid) != OSQ_OK || read_info(r, &e->info) != OSQ_OK)
      return r->err;
  }
  return OSQ_OK;
}

/* map<string, InternalOptionInfo> */
static int read_option_list(osq_treader *r, void *ctx) {
  osq_option_list *l = ctx;
  int kt, vt;
  int32_t n;
  if (osq_tr_map_begin(r, &kt, &vt, &n) != OSQ_OK)
    return r->err;
  if (n > 0 && (kt != OSQ_TT_STRING || vt != OSQ_TT_STRUCT))
    return osq_tr_fail(r, OSQ_EPROTO,
                       "options: expected map<string,struct>, got key type "
                       "%d and value type %d",
                       kt, vt);
  size_t cap = 0;
  for (int32_t i = 0; i < n; i++) {
    if (push((void **)&l->items, &cap, l->n, sizeof *l->items) != OSQ_OK)
      return osq_tr_fail(r, OSQ_ENOMEM, "out of memory");
    osq_option *o = &l->items[l->n];
    memset(o, 0, sizeof *o);
    l->n++;
    if (read_str(r, &o->name) != OSQ_OK || read_option(r, o) != OSQ_OK)
      return r->err;
  }
  return OSQ_OK;
}

/* ---- TApplicationException { 1: string message, 2: i32 type } ---------- */

static void write_exception(osq_twriter *w, const char *method, int32_t seqid,
                            int type, const char *message) {
  osq_tw_message_begin(w, method, OSQ_TM_EXCEPTION, seqid);
  osq_tw_field(w, OSQ_TT_STRING, 1);
  osq_tw_cstr(w, message);
  osq_tw_field(w, OSQ_TT_I32, 2);
  osq_tw_i32(w, type);
  osq_tw_stop(w);
}

static int read_exception(osq_treader *r, char *msg, size_t msglen) {
  char *text = NULL;
  int32_t type = OSQ_TAPP_UNKNOWN;
  if (osq_tr_struct_enter(r) != OSQ_OK)
    return r->err;
  for (;;) {
    int t;
    int16_t id;
    if (osq_tr_field(r, &t, &id) != OSQ_OK)
      break;
    if (t == OSQ_TT_STOP)
      break;
    int rc;
    if (id == 1 && t == OSQ_TT_STRING)
      rc = read_str(r, &text);
    else if (id == 2 && t == OSQ_TT_I32)
      rc = osq_tr_i32(r, &type);
    else
      rc = osq_tr_skip(r, t);
    if (rc != OSQ_OK)
      break;
  }
  osq_tr_struct_leave(r);
  if (r->err == OSQ_OK)
    snprintf(msg, msglen, "%s",
             text && *text ? text : "TApplicationException without a message");
  free(text);
  return r->err ? r->err : OSQ_EPROTO;
}

/* ---- client side ---------------------------------------------------------- */

typedef int (*value_reader)(osq_treader *r, void *ctx);

/* Start a request: the header; the caller appends the args struct. */
static osq_twriter *request(osq_tconn *c, const char *method, int32_t *seqid) {
  osq_twriter *w = osq_tconn_writer(c);
  *seqid = osq_tconn_next_seqid(c);
  osq_tw_message_begin(w, method, OSQ_TM_CALL, *seqid);
  return w;
}

/* Send the request in w, then read the reply: field 0 of the result struct
 * is decoded by fn (type0 OSQ_TT_STOP: a void method). */
static int exchange(osq_tconn *c, osq_twriter *w, const char *method,
                    int32_t seqid, int type0, value_reader fn, void *ctx,
                    char *msg, size_t msglen) {
  char tmp[8];
  if (msg == NULL || msglen == 0) {
    msg = tmp;
    msglen = sizeof tmp;
  }
  int rc = osq_tconn_send(c, w, NULL);
  if (rc != OSQ_OK) {
    snprintf(msg, msglen, "%s: %s", method, osq_tconn_error(c));
    return rc;
  }
  osq_treader r;
  osq_tr_init_conn(&r, c);
  char name[OSQ_THRIFT_MAX_NAME];
  int type;
  int32_t rseq;
  bool got = false;
  if (osq_tr_message_begin(&r, name, &type, &rseq) != OSQ_OK)
    goto fail;
  if (type == OSQ_TM_EXCEPTION) {
    rc = read_exception(&r, msg, msglen);
    if (r.err)
      goto fail;
    osq_tconn_set_error(c, "%s", msg);
    osq_tr_free(&r);
    return rc;
  }
  if (type != OSQ_TM_REPLY)
    osq_tr_fail(&r, OSQ_EPROTO, "expected a reply, got message type %d", type);
  else if (strcmp(name, method) != 0)
    osq_tr_fail(&r, OSQ_EPROTO, "reply is for method '%s', expected '%s'",
                name, method);
  else if (rseq != seqid)
    osq_tr_fail(&r, OSQ_EPROTO, "reply seqid %d does not match request seqid %d",
                rseq, seqid);
  if (r.err || osq_tr_struct_enter(&r) != OSQ_OK)
    goto fail;
  for (;;) {
    int t;
    int16_t id;
    if (osq_tr_field(&r, &t, &id) != OSQ_OK)
      goto fail;
    if (t == OSQ_TT_STOP)
      break;
    if (id == 0 && t == type0 && fn && !got) {
      int frc = fn(&r, ctx);
      if (frc != OSQ_OK) {
        osq_tr_fail(&r, frc, "decoding the result failed: %s", osq_strerror(frc));
        goto fail;
      }
      got = true;
    } else if (osq_tr_skip(&r, t) != OSQ_OK) {
      goto fail;
    }
  }
  osq_tr_struct_leave(&r);
  if (type0 != OSQ_TT_STOP && !got) {
    osq_tr_fail(&r, OSQ_EPROTO, "%s failed: unknown result", method);
    goto fail;
  }
  osq_tr_free(&r);
  return OSQ_OK;
fail:
  rc = r.err ? r.err : OSQ_EPROTO;
  snprintf(msg, msglen, "%s reply: %s", method, osq_tr_message(&r));
  osq_tconn_set_error(c, "%s", msg);
  osq_tr_free(&r);
  return rc;
}

/* ping() -> ExtensionStatus */
int osq_api_ping(osq_tconn *c, osq_ext_status *status, char *msg,
                 size_t msglen) {
  int32_t seq;
  osq_twriter *w = request(c, "ping", &seq);
  osq_tw_stop(w);
  return exchange(c, w, "ping", seq, OSQ_TT_STRUCT, read_status_value, status,
                  msg, msglen);
}

/* call(1: string registry, 2: string item, 3: map<string,string> request)
 *   -> ExtensionResponse */
int osq_api_call(osq_tconn *c, const char *registry, const char *item,
                 const osq_strmap *req, osq_ext_status *status,
                 const osq_row_handler *rows, char *msg, size_t msglen) {
  int32_t seq;
  osq_twriter *w = request(c, "call", &seq);
  osq_tw_field(w, OSQ_TT_STRING, 1);
  osq_tw_cstr(w, registry);
  osq_tw_field(w, OSQ_TT_STRING, 2);
  osq_tw_cstr(w, item);
  osq_tw_field(w, OSQ_TT_MAP, 3);
  write_strmap(w, req);
  osq_tw_stop(w);
  response_ctx x = {status, rows};
  return exchange(c, w, "call", seq, OSQ_TT_STRUCT, read_response, &x, msg,
                  msglen);
}

/* void shutdown() */
int osq_api_shutdown(osq_tconn *c, char *msg, size_t msglen) {
  int32_t seq;
  osq_twriter *w = request(c, "shutdown", &seq);
  osq_tw_stop(w);
  return exchange(c, w, "shutdown", seq, OSQ_TT_STOP, NULL, NULL, msg, msglen);
}

/* extensions() -> map<i64, InternalExtensionInfo> */
int osq_api_extensions(osq_tconn *c, osq_ext_list *out, char *msg,
                       size_t msglen) {
  int32_t seq;
  osq_twriter *w = request(c, "extensions", &seq);
  osq_tw_stop(w);
  memset(out, 0, sizeof *out);
  int rc = exchange(c, w, "extensions", seq, OSQ_TT_MAP, read_ext_list, out,
                    msg, msglen);
  if (rc != OSQ_OK)
    osq_ext_list_clear(out);
  return rc;
}

/* options() -> map<string, InternalOptionInfo> */
int osq_api_options(osq_tconn *c, osq_option_list *out, char *msg,
                    size_t msglen) {
  int32_t seq;
  osq_twriter *w = request(c, "options", &seq);
  osq_tw_stop(w);
  memset(out, 0, sizeof *out);
  int rc = exchange(c, w, "options", seq, OSQ_TT_MAP, read_option_list, out,
                    msg, msglen);
  if (rc != OSQ_OK)
    osq_option_list_clear(out);
  return rc;
}

/* map<string, map<string, list<map<string,string>>>>: routes grouped by
 * registry in order of first appearance, then the empty registries. */
static void write_registry(osq_twriter *w, const osq_route_table *t) {
  size_t nreg = 0;
  osq_tw_map_begin(w, OSQ_TT_STRING, OSQ_TT_MAP, 0);
  size_t count_at = w->len - 4; /* patched below */
  for (size_t i = 0; t && i < t->n; i++) {
    const char *reg = t->routes[i].registry;
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++)
      seen = strcmp(t->routes[j].registry, reg) == 0;
    if (seen)
      continue;
    nreg++;
    osq_tw_cstr(w, reg);
    int32_t items = 0;
    for (size_t j = i; j < t->n; j++)
      items += strcmp(t->routes[j].registry, reg) == 0;
    osq_tw_map_begin(w, OSQ_TT_STRING, OSQ_TT_LIST, items);
    for (size_t j = i; j < t->n; j++) {
      const osq_route *rt = &t->routes[j];
      if (strcmp(rt->registry, reg) != 0)
        continue;
      osq_tw_cstr(w, rt->item);
      osq_tw_list_begin(w, OSQ_TT_MAP, (int32_t)rt->info.n);
      for (size_t k = 0; k < rt->info.n; k++)
        write_strmap(w, &rt->info.rows[k]);
    }
  }
  for (size_t i = 0; t && i < t->nempty; i++) {
    bool seen = false;
    for (size_t j = 0; j < t->n && !seen; j++)
      seen = strcmp(t->routes[j].registry, t->empty_registries[i]) == 0;
    for (size_t j = 0; j < i && !seen; j++)
      seen = strcmp(t->empty_registries[j], t->empty_registries[i]) == 0;
    if (seen)
      continue;
    nreg++;
    osq_tw_cstr(w, t->empty_registries[i]);
    osq_tw_map_begin(w, OSQ_TT_STRING, OSQ_TT_LIST, 0);
  }
  osq_tw_patch_i32(w, count_at, (int32_t)nreg);
}

/* registerExtension(1: InternalExtensionInfo info,
 *   2: map<string, map<string, list<map<string,string>>>> registry)
 *   -> ExtensionStatus */
int osq_api_register(osq_tconn *c, const osq_ext_info *info,
                     const osq_route_table *routes, osq_ext_status *status,
                     char *msg, size_t msglen) {
  int32_t seq;
  osq_twriter *w = request(c, "registerExtension", &seq);
  osq_tw_field(w, OSQ_TT_STRUCT, 1);
  write_info(w, info);
  osq_tw_field(w, OSQ_TT_MAP, 2);
  write_registry(w, routes);
  osq_tw_stop(w);
  return exchange(c, w, "registerExtension", seq, OSQ_TT_STRUCT,
                  read_status_value, status, msg, msglen);
}

/* deregisterExtension(1: i64 uuid) -> ExtensionStatus */
int osq_api_deregister(osq_tconn *c, int64_t uuid, osq_ext_status *status,
                       char *msg, size_t msglen) {
  int32_t seq;
  osq_twriter *w = request(c, "deregisterExtension", &seq);
  osq_tw_field(w, OSQ_TT_I64, 1);
  osq_tw_i64(w, uuid);
  osq_tw_stop(w);
  return exchange(c, w, "deregisterExtension", seq, OSQ_TT_STRUCT,
                  read_status_value, status, msg, msglen);
}

static int sql_call(osq_tconn *c, const char *method, const char *sql,
                    osq_ext_status *status, const osq_row_handler *rows,
                    char *msg, size_t msglen) {
  int32_t seq;
  osq_twriter *w = request(c, method, &seq);
  osq_tw_field(w, OSQ_TT_STRING, 1);
  osq_tw_cstr(w, sql);
  osq_tw_stop(w);
  response_ctx x = {status, rows};
  return exchange(c, w, method, seq, OSQ_TT_STRUCT, read_response, &x, msg,
                  msglen);
}

/* query(1: string sql) -> ExtensionResponse */
int osq_api_query(osq_tconn *c, const char *sql, osq_ext_status *status,
                  const osq_row_handler *rows, char *msg, size_t msglen) {
  return sql_call(c, "query", sql, status, rows, msg, msglen);
}

/* getQueryColumns(1: string sql) -> ExtensionResponse */
int osq_api_get_query_columns(osq_tconn *c, const char *sql,
                              osq_ext_status *status,
                              const osq_row_handler *rows, char *msg,
                              size_t msglen) {
  return sql_call(c, "getQueryColumns", sql, status, rows, msg, msglen);
}

/* ---- reply builder ---------------------------------------------------------- */

void osq_api_reply_init(osq_api_reply *r) {
  memset(r, 0, sizeof *r);
  osq_tw_init(&r->rows);
}

void osq_api_reply_free(osq_api_reply *r) {
  osq_tw_free(&r->rows);
  osq_ext_status_clear(&r->status);
  memset(r, 0, sizeof *r);
}

void osq_api_reply_row_begin(osq_api_reply *r) {
  if (r->in_row)
    osq_api_reply_row_end(r);
  osq_tw_i8(&r->rows, OSQ_TT_STRING);
  osq_tw_i8(&r->rows, OSQ_TT_STRING);
  r->row_map_count_at = osq_tw_reserve_i32(&r->rows);
  r->row_cells = 0;
  r->in_row = true;
}

void osq_api_reply_cell(osq_api_reply *r, const char *key, size_t klen,
                        const char *val, size_t vlen) {
  if (!r->in_row)
    osq_api_reply_row_begin(r);
  osq_tw_string(&r->rows, key, klen);
  osq_tw_string(&r->rows, val, vlen);
  r->row_cells++;
}

void osq_api_reply_row_end(osq_api_reply *r) {
  if (!r->in_row)
    osq_api_reply_row_begin(r);
  osq_tw_patch_i32(&r->rows, r->row_map_count_at, r->row_cells);
  r->nrows++;
  r->in_row = false;
}

void osq_api_reply_add_strmap(osq_api_reply *r, const osq_strmap *row) {
  osq_api_reply_row_begin(r);
  size_t n = osq_strmap_count(row);
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const char *v = osq_strmap_val(row, i, &len);
    const char *k = osq_strmap_key(row, i);
    osq_api_reply_cell(r, k, strlen(k), v, len);
  }
  osq_api_reply_row_end(r);
}

void osq_api_reply_append(osq_api_reply *r, const void *rows, size_t len) {
  osq_tw_bytes(&r->rows, rows, len);
}

void osq_api_reply_discard_rows(osq_api_reply *r) {
  osq_tw_reset(&r->rows);
  r->nrows = 0;
  r->in_row = false;
  r->row_cells = 0;
}

/* ---- server side -------------------------------------------------------- */

typedef struct server_ctx {
  osq_tconn *c;
  osq_treader *r;
  const osq_api_handlers *h;
  void *u;
  const char *method;
  int32_t seqid;
  bool oneway;
} server_ctx;

/* Walk the args struct, handing each field to fn (NULL: skip all). */
typedef int (*arg_reader)(osq_treader *r, int16_t id, int type, void *args);

static int read_args(osq_treader *r, arg_reader fn, void *args) {
  if (osq_tr_struct_enter(r) != OSQ_OK)
    return r->err;
  for (;;) {
    int t;
    int16_t id;
    if (osq_tr_field(r, &t, &id) != OSQ_OK)
      return r->err;
    if (t == OSQ_TT_STOP)
      break;
    int rc = fn ? fn(r, id, t, args) : 1;
    if (rc > 0)
      rc = osq_tr_skip(r, t); /* not a field of ours */
    if (rc != OSQ_OK)
      return r->err ? r->err : rc;
  }
  osq_tr_struct_leave(r);
  return OSQ_OK;
}

static int send_reply(server_ctx *x, osq_twriter *head, osq_twriter *body) {
  if (x->oneway)
    return OSQ_OK;
  int rc = osq_tconn_send(x->c, head, body);
  return rc;
}

static int send_exception(server_ctx *x, int type, const char *message) {
  osq_twriter *w = osq_tconn_writer(x->c);
  write_exception(w, x->method, x->seqid, type, message);
  return send_reply(x, w, NULL);
}

static int internal_error(server_ctx *x) {
  return send_exception(x, OSQ_TAPP_INTERNAL_ERROR, "Internal error");
}

static osq_twriter *reply_head(server_ctx *x) {
  osq_twriter *w = osq_tconn_writer(x->c);
  osq_tw_message_begin(w, x->method, OSQ_TM_REPLY, x->seqid);
  return w;
}

static int reply_status(server_ctx *x, const osq_ext_status *s) {
  osq_twriter *w = reply_head(x);
  osq_tw_field(w, OSQ_TT_STRUCT, 0);
  write_status(w, s);
  osq_tw_stop(w);
  return send_reply(x, w, NULL);
}

/* ExtensionResponse: the head carries the status and the list header, the
 * rows follow from the builder's own buffer (one sendmsg, no copy). */
static int reply_response(server_ctx *x, osq_api_reply *rep) {
  if (rep->in_row)
    osq_api_reply_row_end(rep);
  if (rep->rows.failed || rep->nrows > INT32_MAX)
    return internal_error(x);
  osq_twriter *w = reply_head(x);
  osq_tw_field(w, OSQ_TT_STRUCT, 0);
  osq_tw_field(w, OSQ_TT_STRUCT, 1);
  write_status(w, &rep->status);
  osq_tw_field(w, OSQ_TT_LIST, 2);
  osq_tw_list_begin(w, OSQ_TT_MAP, (int32_t)rep->nrows);
  osq_tw_stop(&rep->rows); /* ends ExtensionResponse */
  osq_tw_stop(&rep->rows); /* ends the result struct */
  return send_reply(x, w, &rep->rows);
}

static int serve_ping(server_ctx *x) {
  if (read_args(x->r, NULL, NULL) != OSQ_OK)
    return x->r->err;
  osq_ext_status s = {0};
  int rc = x->h->ping(x->u, &s);
  rc = rc == OSQ_OK ? reply_status(x, &s) : internal_error(x);
  osq_ext_status_clear(&s);
  return rc;
}

typedef struct call_args {
  char *registry, *item;
  osq_strmap request;
} call_args;

static int call_arg(osq_treader *r, int16_t id, int t, void *p) {
  call_args *a = p;
  if (id == 1 && t == OSQ_TT_STRING)
    return read_str(r, &a->registry);
  if (id == 2 && t == OSQ_TT_STRING)
    return read_str(r, &a->item);
  if (id == 3 && t == OSQ_TT_MAP)
    return read_strmap(r, &a->request, "call request");
  return 1;
}

static int serve_call(server_ctx *x) {
  call_args a = {0};
  osq_strmap_init(&a.request);
  osq_api_reply rep;
  osq_api_reply_init(&rep);
  int rc = read_args(x->r, call_arg, &a);
  if (rc == OSQ_OK) {
    rc = x->h->call(x->u, a.registry ? a.registry : "", a.item ? a.item : "",
                    &a.request, &rep);
    rc = rc == OSQ_OK ? reply_response(x, &rep) : internal_error(x);
  }
  osq_api_reply_free(&rep);
  free(a.registry);
  free(a.item);
  osq_strmap_clear(&a.request);
  return rc;
}

static int serve_shutdown(server_ctx *x) {
  if (read_args(x->r, NULL, NULL) != OSQ_OK)
    return x->r->err;
  if (x->h->shutdown(x->u) != OSQ_OK)
    return internal_error(x);
  osq_twriter *w = reply_head(x);
  osq_tw_stop(w); /* void: an empty result struct */
  return send_reply(x, w, NULL);
}

static int serve_extensions(server_ctx *x) {
  if (read_args(x->r, NULL, NULL) != OSQ_OK)
    return x->r->err;
  osq_ext_list l = {0};
  int rc = x->h->extensions(x->u, &l);
  if (rc != OSQ_OK || l.n > INT32_MAX) {
    osq_ext_list_clear(&l);
    return internal_error(x);
  }
  osq_twriter *w = reply_head(x);
  osq_tw_field(w, OSQ_TT_MAP, 0);
  osq_tw_map_begin(w, OSQ_TT_I64, OSQ_TT_STRUCT, (int32_t)l.n);
  for (size_t i = 0; i < l.n; i++) {
    osq_tw_i64(w, l.items[i].uuid);
    write_info(w, &l.items[i].info);
  }
  osq_tw_stop(w);
  osq_ext_list_clear(&l);
  return send_reply(x, w, NULL);
}

static int serve_options(server_ctx *x) {
  if (read_args(x->r, NULL, NULL) != OSQ_OK)
    return x->r->err;
  osq_option_list l = {0};
  int rc = x->h->options(x->u, &l);
  if (rc != OSQ_OK || l.n > INT32_MAX) {
    osq_option_list_clear(&l);
    return internal_error(x);
  }
  osq_twriter *w = reply_head(x);
  osq_tw_field(w, OSQ_TT_MAP, 0);
  osq_tw_map_begin(w, OSQ_TT_STRING, OSQ_TT_STRUCT, (int32_t)l.n);
  for (size_t i = 0; i < l.n; i++) {
    osq_tw_cstr(w, l.items[i].name);
    write_option(w, &l.items[i]);
  }
  osq_tw_stop(w);
  osq_option_list_clear(&l);
  return send_reply(x, w, NULL);
}

typedef struct register_args {
  osq_ext_info info;
  osq_route_table routes;
  size_t routes_cap, empty_cap;
} register_args;

/* map<string, map<string, list<map<string,string>>>> */
static int read_registry(osq_treader *r, register_args *a) {
  int kt, vt;
  int32_t nreg;
  if (osq_tr_map_begin(r, &kt, &vt, &nreg) != OSQ_OK)
    return r->err;
  if (nreg > 0 && (kt != OSQ_TT_STRING || vt != OSQ_TT_MAP))
    return osq_tr_fail(r, OSQ_EPROTO,
                       "registry: expected map<string,map>, got key type %d "
                       "and value type %d",
                       kt, vt);
  osq_route_table *t = &a->routes;
  for (int32_t i = 0; i < nreg; i++) {
    char *reg = NULL;
    int32_t nitems;
    if (read_str(r, &reg) != OSQ_OK)
      return r->err;
    if (osq_tr_map_begin(r, &kt, &vt, &nitems) != OSQ_OK) {
      free(reg);
      return r->err;
    }
    if (nitems > 0 && (kt != OSQ_TT_STRING || vt != OSQ_TT_LIST)) {
      osq_tr_fail(r, OSQ_EPROTO,
                  "registry '%s': expected map<string,list>, got key type %d "
                  "and value type %d",
                  reg, kt, vt);
      free(reg);
      return r->err;
    }
    if (nitems == 0) {
      if (push((void **)&t->empty_registries, &a->empty_cap, t->nempty,
               sizeof *t->empty_registries) != OSQ_OK) {
        free(reg);
        return osq_tr_fail(r, OSQ_ENOMEM, "out of memory");
      }
      t->empty_registries[t->nempty++] = reg;
      continue;
    }
    for (int32_t j = 0; j < nitems; j++) {
      if (push((void **)&t->routes, &a->routes_cap, t->n, sizeof *t->routes) !=
          OSQ_OK) {
        free(reg);
        return osq_tr_fail(r, OSQ_ENOMEM, "out of memory");
      }
      osq_route *rt = &t->routes[t->n++];
      memset(rt, 0, sizeof *rt);
      osq_plist_init(&rt->info);
      rt->registry = strdup(reg);
      if (rt->registry == NULL) {
        free(reg);
        return osq_tr_fail(r, OSQ_ENOMEM, "out of memory");
      }
      int et;
      int32_t nrows;
      if (read_str(r, &rt->item) != OSQ_OK ||
          osq_tr_list_begin(r, &et, &nrows) != OSQ_OK) {
        free(reg);
        return r->err;
      }
      if (nrows > 0 && et != OSQ_TT_MAP) {
        free(reg);
        return osq_tr_fail(r, OSQ_EPROTO,
                           "route '%s': expected list<map>, got a list of "
                           "type %d",
                           rt->item, et);
      }
      for (int32_t k = 0; k < nrows; k++) {
        osq_strmap *row = osq_plist_add(&rt->info);
        if (row == NULL) {
          free(reg);
          return osq_tr_fail(r, OSQ_ENOMEM, "route '%s': too many rows",
                             rt->item);
        }
        if (read_strmap(r, row, "route info") != OSQ_OK) {
          free(reg);
          return r->err;
        }
      }
    }
    free(reg);
  }
  return OSQ_OK;
}

static int register_arg(osq_treader *r, int16_t id, int t, void *p) {
  register_args *a = p;
  if (id == 1 && t == OSQ_TT_STRUCT) {
    osq_ext_info_clear(&a->info);
    return read_info(r, &a->info);
  }
  if (id == 2 && t == OSQ_TT_MAP) {
    osq_route_table_clear(&a->routes);
    a->routes_cap = a->empty_cap = 0;
    return read_registry(r, a);
  }
  return 1;
}

static int serve_register(server_ctx *x) {
  register_args a = {0};
  int rc = read_args(x->r, register_arg, &a);
  if (rc == OSQ_OK) {
    osq_ext_info *i = &a.info;
    if ((!i->name && !(i->name = strdup(""))) ||
        (!i->version && !(i->version = strdup(""))) ||
        (!i->sdk_version && !(i->sdk_version = strdup(""))) ||
        (!i->min_sdk_version && !(i->min_sdk_version = strdup("")))) {
      rc = internal_error(x);
    } else {
      osq_ext_status s = {0};
      rc = x->h->register_extension(x->u, &a.info, &a.routes, &s);
      rc = rc == OSQ_OK ? reply_status(x, &s) : internal_error(x);
      osq_ext_status_clear(&s);
    }
  }
  osq_ext_info_clear(&a.info);
  osq_route_table_clear(&a.routes);
  return rc;
}

static int uuid_arg(osq_treader *r, int16_t id, int t, void *p) {
  if (id == 1 && t == OSQ_TT_I64)
    return osq_tr_i64(r, p);
  return 1;
}

static int serve_deregister(server_ctx *x) {
  int64_t uuid = 0;
  if (read_args(x->r, uuid_arg, &uuid) != OSQ_OK)
    return x->r->err;
  osq_ext_status s = {0};
  int rc = x->h->deregister_extension(x->u, uuid, &s);
  rc = rc == OSQ_OK ? reply_status(x, &s) : internal_error(x);
  osq_ext_status_clear(&s);
  return rc;
}

static int sql_arg(osq_treader *r, int16_t id, int t, void *p) {
  if (id == 1 && t == OSQ_TT_STRING)
    return read_str(r, p);
  return 1;
}

static int serve_sql(server_ctx *x,
                     int (*fn)(void *u, const char *sql, osq_api_reply *rep)) {
  char *sql = NULL;
  int rc = read_args(x->r, sql_arg, &sql);
  if (rc != OSQ_OK) {
    free(sql);
    return rc;
  }
  osq_api_reply rep;
  osq_api_reply_init(&rep);
  /* A client that hangs up no longer wants the rows: long table work
   * (a file search) asks osq_cancelled() and stops. */
  osq_cancel_scope client;
  osq_cancel_enter(&client, osq_cancel_peer_gone,
                   (void *)(intptr_t)osq_tconn_fd(x->c));
  rc = fn(x->u, sql ? sql : "", &rep);
  osq_cancel_leave(&client);
  rc = rc == OSQ_OK ? reply_response(x, &rep) : internal_error(x);
  osq_api_reply_free(&rep);
  free(sql);
  return rc;
}

static int serve_query(server_ctx *x) { return serve_sql(x, x->h->query); }
static int serve_columns(server_ctx *x) {
  return serve_sql(x, x->h->get_query_columns);
}

static int serve_request(osq_tconn *c, const osq_api_handlers *h, void *u);

int osq_api_serve_one(osq_tconn *c, const osq_api_handlers *h, void *u) {
  int rc = osq_tconn_begin_request(c);
  if (rc != OSQ_OK)
    return rc; /* idle peer went away, or the caller's deadline passed */
  rc = serve_request(c, h, u);
  osq_tconn_end_request(c);
  return rc;
}

static int serve_request(osq_tconn *c, const osq_api_handlers *h, void *u) {
  osq_treader r;
  osq_tr_init_conn(&r, c);
  char name[OSQ_THRIFT_MAX_NAME];
  int type;
  int32_t seqid;
  int rc = osq_tr_message_begin(&r, name, &type, &seqid);
  if (rc == OSQ_OK && type != OSQ_TM_CALL && type != OSQ_TM_ONEWAY)
    rc = osq_tr_fail(&r, OSQ_EPROTO, "expected a call, got message type %d",
                     type);
  if (rc != OSQ_OK) {
    if (rc != OSQ_ECLOSED)
      osq_tconn_set_error(c, "%s", osq_tr_message(&r));
    else
      osq_tconn_set_error(c, "peer closed the connection");
    osq_tr_free(&r);
    return rc;
  }
  server_ctx x = {c, &r, h, u, name, seqid, type == OSQ_TM_ONEWAY};
  static const struct {
    const char *name;
    size_t handler; /* offset of the handler in osq_api_handlers */
    int (*serve)(server_ctx *x);
  } methods[] = {
      {"ping", offsetof(osq_api_handlers, ping), serve_ping},
      {"call", offsetof(osq_api_handlers, call), serve_call},
      {"shutdown", offsetof(osq_api_handlers, shutdown), serve_shutdown},
      {"extensions", offsetof(osq_api_handlers, extensions), serve_extensions},
      {"options", offsetof(osq_api_handlers, options), serve_options},
      {"registerExtension", offsetof(osq_api_handlers, register_extension),
       serve_register},
      {"deregisterExtension", offsetof(osq_api_handlers, deregister_extension),
       serve_deregister},
      {"query", offsetof(osq_api_handlers, query), serve_query},
      {"getQueryColumns", offsetof(osq_api_handlers, get_query_columns),
       serve_columns},
  };
  int (*serve)(server_ctx *) = NULL;
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    if (strcmp(methods[i].name, name) != 0)
      continue;
    void *fn;
    memcpy(&fn, (const char *)h + methods[i].handler, sizeof fn);
    if (fn)
      serve = methods[i].serve;
    break;
  }
  if (serve == NULL) {
    rc = read_args(&r, NULL, NULL);
    if (rc == OSQ_OK) {
      char text[OSQ_THRIFT_MAX_NAME + 32];
      snprintf(text, sizeof text, "Invalid method name: '%s'", name);
      rc = send_exception(&x, OSQ_TAPP_UNKNOWN_METHOD, text);
    }
  } else {
    rc = serve(&x);
  }
  if (rc != OSQ_OK && r.err)
    osq_tconn_set_error(c, "%s request: %s", name, osq_tr_message(&r));
  osq_tr_free(&r);
  return rc;
}
