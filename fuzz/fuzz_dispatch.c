/* libFuzzer target: osq_dispatch_call, the serving side of an osquery
 * `call` for an in-process plugin, with the request map built from the
 * input. The reply goes out through osq_api_serve_one and is decoded again
 * by the client code, so the rows the dispatcher encodes itself must be
 * well-formed Thrift that reads back as the same status and row count.
 *
 * Input: byte 0 picks the plugin (b % 4: table, config, logger,
 * distributed) and variants (b / 4: bit 0 read-only table, bit 1 table
 * without generate). The rest is split at 0xFF: the first field is a
 * script the plugin follows (cells and rows a table emits, a config's
 * text), the others are request keys and values in turn. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thrift/dispatch.h"

#define SELF_UUID 7

static const uint8_t *script;
static size_t script_len;
static volatile unsigned sink; /* touch bytes so ASan sees bad views */

static void touch(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    sink += b[i];
}

static const osq_column cols[] = {
    {"path", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED | OSQ_COL_INDEX},
    {"pid", OSQ_TYPE_BIGINT, 0},
    {"score", OSQ_TYPE_DOUBLE, 0},
    {"data", OSQ_TYPE_BLOB, OSQ_COL_HIDDEN},
    {"count", OSQ_TYPE_INTEGER, OSQ_COL_ADDITIONAL},
    {"u", OSQ_TYPE_UNSIGNED_BIGINT, 0},
};
#define NCOLS (sizeof cols / sizeof *cols)
static const char *const aliases[] = {"fuzz_alias", NULL};

/* The script as a table: each byte is an op, some take bytes after it. */
static int gen(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  /* one row per constraint on path, as a table honouring them would */
  for (size_t i = 0; i < osq_context_nconstraints(ctx, 0) && i < 64; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, 0, i);
    touch(c->expr, c->len + 1);
    osq_rows_text(out, 0, c->expr, c->len);
    osq_rows_int(out, 1, c->op);
    osq_rows_end(out);
  }
  for (size_t i = 0; i < script_len;) {
    uint8_t op = script[i++];
    size_t col = (op >> 3) % (NCOLS + 1); /* NCOLS: one past the end */
    size_t n = i < script_len ? script[i] % 32 : 0;
    switch (op & 7) {
    case 0: /* text of the next n bytes */
      if (i < script_len)
        i++;
      if (n > script_len - i)
        n = script_len - i;
      if (col < NCOLS)
        osq_rows_text(out, col, (const char *)script + i, n);
      i += n;
      break;
    case 1: {
      int64_t v = 0;
      size_t k = script_len - i < 8 ? script_len - i : 8;
      memcpy(&v, script + i, k);
      i += k;
      if (col < NCOLS)
        osq_rows_int(out, col, v);
      break;
    }
    case 2: {
      double d = 0;
      size_t k = script_len - i < 8 ? script_len - i : 8;
      memcpy(&d, script + i, k);
      i += k;
      if (col < NCOLS)
        osq_rows_double(out, col, d);
      break;
    }
    case 3:
      if (i < script_len)
        i++;
      if (n > script_len - i)
        n = script_len - i;
      if (col < NCOLS)
        osq_rows_blob(out, col, script + i, n);
      i += n;
      break;
    case 4:
      if (col < NCOLS)
        osq_rows_cstr(out, col, NULL);
      break;
    case 5:
      osq_rows_end(out);
      break;
    case 6:
      osq_rows_rowid(out, (int64_t)op * 1000003);
      break;
    default:
      if (op == 0xf7) {
        osq_rows_error(out, "fuzz table failed at byte %zu", i);
        return OSQ_ERROR;
      }
      if (op == 0xef)
        return OSQ_ERROR; /* without a message */
      break;
    }
  }
  return OSQ_OK;
}

static int wr(osq_write *w, void *u) {
  (void)u;
  for (size_t i = 0; i < w->nvalues; i++)
    if (w->values[i].kind == OSQ_VALUE_TEXT ||
        w->values[i].kind == OSQ_VALUE_BLOB)
      touch(w->values[i].u.s.p, w->values[i].u.s.n);
  if (osq_context_ncolumns(w->ctx) != NCOLS)
    abort();
  w->assigned_rowid = w->rowid + 1;
  int pick = script_len ? script[0] % 5 : 0;
  if (pick == 3)
    snprintf(w->message, sizeof w->message, "fuzz write refused %lld",
             (long long)w->rowid);
  if (pick == 4)
    memset(w->message, 'm', sizeof w->message); /* not terminated */
  static const int codes[] = {OSQ_OK, OSQ_READONLY, OSQ_CONSTRAINT,
                              OSQ_ERROR, OSQ_ERROR};
  return codes[pick];
}

static int cfg_gen(osq_strmap *out, void *u) {
  (void)u;
  if (script_len && script[0] == 'F')
    return OSQ_ERROR;
  return osq_strmap_set(out, "fuzz", (const char *)script, script_len);
}

static int cfg_pack(const char *name, const char *value, osq_strmap *out,
                    void *u) {
  (void)u;
  if (strncmp(value, "fail", 4) == 0) {
    osq_strmap_error(out, "pack %s: refused", name);
    return OSQ_ERROR;
  }
  return osq_strmap_set(out, name, value, strlen(value));
}

static int log_fn(osq_log_kind kind, const char *text, size_t len, void *u) {
  (void)u;
  (void)kind;
  touch(text, len);
  return len > 0 && text[0] == 'E' ? OSQ_ERROR : OSQ_OK;
}

static int dist_get(osq_strmap *out, void *u) {
  (void)u;
  return osq_strmap_set(out, "results", (const char *)script, script_len);
}

static int dist_write(const char *json, size_t len, void *u) {
  (void)u;
  touch(json, len);
  return len % 7 == 3 ? OSQ_EIO : OSQ_OK;
}

static osq_table_plugin table = {.name = "fuzz_table",
                                 .columns = cols,
                                 .ncolumns = NCOLS,
                                 .attributes = OSQ_TABLE_CACHEABLE,
                                 .aliases = aliases,
                                 .generate = gen,
                                 .write = wr};
static const osq_config_plugin config = {"fuzz_config", cfg_gen, cfg_pack,
                                         NULL, NULL};
static const osq_logger_plugin logger = {
    "fuzz_logger", OSQ_LOGGER_FEATURE_STATUS | OSQ_LOGGER_FEATURE_EVENT,
    log_fn, NULL, NULL};
static const osq_distributed_plugin dist = {"fuzz_dist", dist_get, dist_write,
                                            NULL, NULL};

static osq_plugin plugin;
static int32_t served_code;
static size_t served_rows;
static char served_msg[1024];

static int h_call(void *u, const char *registry, const char *item,
                  const osq_strmap *req, osq_api_reply *rep) {
  (void)u;
  (void)registry;
  (void)item;
  int rc = osq_dispatch_call(&plugin, req, rep, SELF_UUID);
  if (rc != OSQ_OK)
    return rc;
  if (rep->status.message == NULL)
    abort(); /* the status is always set */
  if (rep->status.code != 0 && rep->nrows != 0 &&
      plugin.kind != OSQ_REGISTRY_LOGGER)
    abort(); /* a failed call sends no rows */
  if (plugin.kind != OSQ_REGISTRY_LOGGER && rep->status.code != 0 &&
      rep->status.code != 1)
    abort();
  served_code = rep->status.code;
  served_rows = rep->nrows;
  snprintf(served_msg, sizeof served_msg, "%s", rep->status.message);
  return OSQ_OK;
}

static const osq_api_handlers handlers = {.call = h_call};

static int count_cell(void *u, const char *k, size_t kl, const char *v,
                      size_t vl) {
  (void)u;
  touch(k, kl);
  touch(v, vl);
  return OSQ_OK;
}

static int count_row(void *u) {
  (*(size_t *)u)++;
  return OSQ_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  static const osq_registry_kind kinds[] = {
      OSQ_REGISTRY_TABLE, OSQ_REGISTRY_CONFIG, OSQ_REGISTRY_LOGGER,
      OSQ_REGISTRY_DISTRIBUTED};
  plugin.kind = kinds[data[0] % 4];
  table.write = (data[0] >> 2) & 1 ? NULL : wr;
  table.generate = (data[0] >> 3) & 1 ? NULL : gen;
  switch (plugin.kind) {
  case OSQ_REGISTRY_TABLE: plugin.u.table = &table; break;
  case OSQ_REGISTRY_CONFIG: plugin.u.config = &config; break;
  case OSQ_REGISTRY_LOGGER: plugin.u.logger = &logger; break;
  default: plugin.u.distributed = &dist; break;
  }
  plugin.name = "fuzz";

  /* fields at 0xFF: script, then key, value, key, value ... */
  const uint8_t *p = data + 1, *end = data + size;
  const uint8_t *f = memchr(p, 0xff, (size_t)(end - p));
  script = p;
  script_len = (size_t)((f ? f : end) - p);
  p = f ? f + 1 : end;
  osq_strmap req;
  osq_strmap_init(&req);
  char key[256];
  while (p < end) {
    f = memchr(p, 0xff, (size_t)(end - p));
    const uint8_t *kend = f ? f : end;
    size_t kl = (size_t)(kend - p);
    if (kl >= sizeof key)
      kl = sizeof key - 1;
    memcpy(key, p, kl);
    key[kl] = '\0';
    const uint8_t *v = f ? f + 1 : end;
    f = v < end ? memchr(v, 0xff, (size_t)(end - v)) : NULL;
    const uint8_t *vend = f ? f : end;
    osq_strmap_set(&req, key, (const char *)v, (size_t)(vend - v));
    p = f ? f + 1 : end;
  }

  /* request bytes: the client's encoding of the call */
  osq_twriter wreq, wrep, scratch;
  osq_tw_init(&wreq);
  osq_tw_init(&wrep);
  osq_tw_init(&scratch);
  osq_ext_status st = {0};
  char msg[256];
  osq_tconn *c = osq_tconn_memory("", 0, &wreq);
  osq_api_call(c, "table", "fuzz", &req, &st, NULL, msg, sizeof msg);
  osq_tconn_close(c);
  osq_ext_status_clear(&st);
  if (wreq.failed)
    goto done; /* the request itself was not encodable (memory) */

  /* serve it */
  served_msg[0] = '\0';
  c = osq_tconn_memory(wreq.buf, wreq.len, &wrep);
  int rc = osq_api_serve_one(c, &handlers, NULL);
  osq_tconn_close(c);
  if (rc != OSQ_OK)
    abort(); /* a well-formed request is always answered */

  /* decode the reply as a client would */
  size_t rows = 0;
  osq_row_handler h = {count_cell, count_row, &rows};
  c = osq_tconn_memory(wrep.buf, wrep.len, &scratch);
  rc = osq_api_call(c, "table", "fuzz", &req, &st, &h, msg, sizeof msg);
  osq_tconn_close(c);
  if (rc != OSQ_OK) {
    fprintf(stderr, "reply does not decode: %s (%s)\n", osq_strerror(rc),
            msg);
    abort();
  }
  if (st.code != served_code || rows != served_rows ||
      strcmp(st.message ? st.message : "", served_msg) != 0 ||
      st.uuid != SELF_UUID)
    abort();
done:
  osq_ext_status_clear(&st);
  osq_tw_free(&wreq);
  osq_tw_free(&wrep);
  osq_tw_free(&scratch);
  osq_strmap_clear(&req);
  return 0;
}
