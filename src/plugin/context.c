/* Query contexts: what a query asks of a table, and osquery's JSON form of
 * it (the "context" of a generate request). */
#include "plugin_impl.h"

#include "../core/grow.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

osq_context *osq_context_new(const osq_column *columns, size_t ncolumns) {
  osq_context *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL)
    return NULL;
  ctx->columns = columns;
  ctx->ncolumns = ncolumns;
  if (ncolumns > 0) {
    ctx->cons = calloc(ncolumns, sizeof *ctx->cons);
    ctx->used = calloc(ncolumns, 1);
    if (ctx->cons == NULL || ctx->used == NULL) {
      osq_context_free(ctx);
      return NULL;
    }
  }
  return ctx;
}

void osq_context_free(osq_context *ctx) {
  if (ctx == NULL)
    return;
  for (size_t c = 0; ctx->cons && c < ctx->ncolumns; c++) {
    for (size_t i = 0; i < ctx->cons[c].n; i++)
      free((char *)ctx->cons[c].items[i].expr);
    free(ctx->cons[c].items);
  }
  free(ctx->cons);
  free(ctx->used);
  free(ctx);
}

int osq_context_add(osq_context *ctx, size_t col, int op, const char *expr,
                    size_t len) {
  if (col >= ctx->ncolumns)
    return OSQ_EINVAL;
  struct osq_context_column *cc = &ctx->cons[col];
  if (cc->n >= OSQ_CONTEXT_MAX_CONSTRAINTS)
    return OSQ_ERANGE;
  if (osq_grow(&cc->items, &cc->cap, cc->n + 1, sizeof *cc->items, 4, 0) !=
      OSQ_OK)
    return OSQ_ENOMEM;
  char *copy = malloc(len + 1);
  if (copy == NULL)
    return OSQ_ENOMEM;
  if (len)
    memcpy(copy, expr, len);
  copy[len] = '\0';
  cc->items[cc->n++] = (osq_constraint){op, copy, len};
  return OSQ_OK;
}

void osq_context_set_used(osq_context *ctx, size_t col, bool used) {
  if (col >= ctx->ncolumns)
    return;
  ctx->used_known = true;
  ctx->used[col] = used;
}

size_t osq_context_ncolumns(const osq_context *ctx) { return ctx->ncolumns; }

const osq_column *osq_context_column(const osq_context *ctx, size_t col) {
  return col < ctx->ncolumns ? &ctx->columns[col] : NULL;
}

int osq_context_column_index(const osq_context *ctx, const char *name) {
  return osq_column_find(ctx->columns, ctx->ncolumns, name);
}

size_t osq_context_nconstraints(const osq_context *ctx, size_t col) {
  return col < ctx->ncolumns ? ctx->cons[col].n : 0;
}

const osq_constraint *osq_context_constraint(const osq_context *ctx,
                                             size_t col, size_t i) {
  if (col >= ctx->ncolumns || i >= ctx->cons[col].n)
    return NULL;
  return &ctx->cons[col].items[i];
}

bool osq_context_column_used(const osq_context *ctx, size_t col) {
  if (col >= ctx->ncolumns)
    return false;
  return !ctx->used_known || ctx->used[col];
}

uint64_t osq_context_cols_used_bitset(const osq_context *ctx) {
  uint64_t bits = 0;
  for (size_t c = 0; c < ctx->ncolumns; c++)
    if (osq_context_column_used(ctx, c))
      bits |= (c >= 63) ? (1ull << 63) : (1ull << c);
  return bits;
}

/* ---- JSON ---------------------------------------------------------------- */

static int by_name(const void *a, const void *b, void *cols) {
  const osq_column *c = cols;
  return strcmp(c[*(const size_t *)a].name, c[*(const size_t *)b].name);
}

/* osquery keys the constraints by column name in a std::map, so they are
 * sent in byte order of the names; small n, insertion sort is enough. */
static void sort_by_name(size_t *idx, size_t n, const osq_column *cols) {
  for (size_t i = 1; i < n; i++) {
    size_t v = idx[i], j = i;
    while (j > 0 && by_name(&idx[j - 1], &v, (void *)cols) > 0) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = v;
  }
}

static json_t *string_or_lossy(const char *s, size_t n) {
  json_t *j = json_stringn(s, n);
  if (j != NULL)
    return j;
  /* Not UTF-8: replace the bad bytes so the peer can still parse it. */
  char *copy = malloc(n + 1);
  if (copy == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
  j = json_stringn(copy, n);
  free(copy);
  return j;
}

char *osq_context_to_json(const osq_context *ctx) {
  json_t *root = json_object();
  json_t *constraints = json_array();
  json_t *used = json_array();
  size_t *idx = malloc((ctx->ncolumns + 1) * sizeof *idx);
  char *out = NULL;
  if (!root || !constraints || !used || !idx)
    goto done;
  for (size_t c = 0; c < ctx->ncolumns; c++)
    idx[c] = c;
  sort_by_name(idx, ctx->ncolumns, ctx->columns);
  for (size_t k = 0; k < ctx->ncolumns; k++) {
    size_t c = idx[k];
    json_t *entry = json_object();
    json_t *list = json_array();
    if (!entry || !list) {
      json_decref(entry);
      json_decref(list);
      goto done;
    }
    for (size_t i = 0; i < ctx->cons[c].n; i++) {
      const osq_constraint *con = &ctx->cons[c].items[i];
      json_t *item = json_object();
      json_object_set_new(item, "op", json_integer(con->op));
      json_object_set_new(item, "expr", string_or_lossy(con->expr, con->len));
      json_array_append_new(list, item);
    }
    json_object_set_new(entry, "name", json_string(ctx->columns[c].name));
    json_object_set_new(entry, "list", list);
    json_object_set_new(entry, "affinity",
                        json_string(osq_type_name(ctx->columns[c].type)));
    json_array_append_new(constraints, entry);
  }
  for (size_t c = 0; c < ctx->ncolumns; c++)
    if (osq_context_column_used(ctx, c))
      json_array_append_new(used, json_string(ctx->columns[c].name));
  json_object_set_new(root, "constraints", constraints);
  json_object_set_new(root, "colsUsed", used);
  json_object_set_new(root, "colsUsedBitset",
                      json_integer((json_int_t)osq_context_cols_used_bitset(ctx)));
  constraints = used = NULL;
  out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
done:
  json_decref(constraints);
  json_decref(used);
  json_decref(root);
  free(idx);
  return out;
}

static int parse_op(json_t *op) {
  if (json_is_integer(op))
    return (int)json_integer_value(op);
  if (json_is_string(op)) {
    const char *s = json_string_value(op);
    char *end;
    long v = strtol(s, &end, 10);
    if (end != s && *end == '\0' && v >= 0 && v < 256)
      return (int)v;
  }
  return -1;
}

osq_context *osq_context_from_json(const char *json, size_t len,
                                   const osq_column *columns, size_t ncolumns,
                                   char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root = json_loadb(json, len, 0, &jerr);
  if (root == NULL) {
    snprintf(err, errlen, "context JSON: %s at line %d column %d", jerr.text,
             jerr.line, jerr.column);
    return NULL;
  }
  osq_context *ctx = NULL;
  if (!json_is_object(root)) {
    snprintf(err, errlen, "context JSON: not an object");
    goto fail;
  }
  ctx = osq_context_new(columns, ncolumns);
  if (ctx == NULL) {
    snprintf(err, errlen, "context: out of memory");
    goto fail;
  }
  json_t *cons = json_object_get(root, "constraints");
  if (cons != NULL && !json_is_array(cons)) {
    snprintf(err, errlen, "context JSON: \"constraints\" is not an array");
    goto fail;
  }
  size_t i;
  json_t *entry;
  json_array_foreach(cons, i, entry) {
    const char *name = json_string_value(json_object_get(entry, "name"));
    if (name == NULL)
      continue;
    int col = osq_column_find(columns, ncolumns, name);
    if (col < 0)
      continue;
    json_t *list = json_object_get(entry, "list");
    if (!json_is_array(list))
      continue; /* older cores send "" for an empty list */
    size_t j;
    json_t *item;
    json_array_foreach(list, j, item) {
      int op = parse_op(json_object_get(item, "op"));
      json_t *expr = json_object_get(item, "expr");
      if (op < 0 || !json_is_string(expr)) {
        snprintf(err, errlen,
                 "context JSON: constraint %zu of column %s has no valid "
                 "\"op\" or \"expr\"",
                 j, name);
        goto fail;
      }
      int rc = osq_context_add(ctx, (size_t)col, op, json_string_value(expr),
                               json_string_length(expr));
      if (rc != OSQ_OK) {
        snprintf(err, errlen, "context: column %s: %s", name,
                 osq_strerror(rc));
        goto fail;
      }
    }
  }
  json_t *used = json_object_get(root, "colsUsed");
  if (json_is_array(used)) {
    json_t *name;
    json_array_foreach(used, i, name) {
      if (!json_is_string(name))
        continue;
      int col = osq_column_find(columns, ncolumns, json_string_value(name));
      if (col >= 0)
        osq_context_set_used(ctx, (size_t)col, true);
    }
    ctx->used_known = true;
  }
  json_decref(root);
  return ctx;
fail:
  osq_context_free(ctx);
  json_decref(root);
  return NULL;
}
