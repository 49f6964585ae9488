/* libFuzzer target: arbitrary bytes as the "context" JSON of a generate
 * request (osq_context_from_json) for a fixed column set. When it parses,
 * osq_context_to_json must succeed and read back to the same constraints
 * and the same used columns: what osq forwards to an extension is what it
 * was given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_impl.h"

static const osq_column cols[] = {
    {"path", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED},
    {"pid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX},
    {"name", OSQ_TYPE_TEXT, 0},
    {"size", OSQ_TYPE_UNSIGNED_BIGINT, 0},
    {"score", OSQ_TYPE_DOUBLE, 0},
    {"data", OSQ_TYPE_BLOB, OSQ_COL_HIDDEN},
    {"", OSQ_TYPE_INTEGER, 0},
    {"Name", OSQ_TYPE_UNKNOWN, 0},
};
#define NCOLS (sizeof cols / sizeof *cols)

static void same(const osq_context *a, const osq_context *b) {
  for (size_t c = 0; c < NCOLS; c++) {
    size_t n = osq_context_nconstraints(a, c);
    if (n != osq_context_nconstraints(b, c))
      abort();
    for (size_t i = 0; i < n; i++) {
      const osq_constraint *x = osq_context_constraint(a, c, i);
      const osq_constraint *y = osq_context_constraint(b, c, i);
      if (x->op != y->op || x->len != y->len ||
          memcmp(x->expr, y->expr, x->len) != 0 || x->expr[x->len] != '\0')
        abort();
    }
    if (osq_context_column_used(a, c) != osq_context_column_used(b, c))
      abort();
  }
  if (osq_context_cols_used_bitset(a) != osq_context_cols_used_bitset(b))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[512];
  err[0] = '\0';
  osq_context *ctx = osq_context_from_json((const char *)data, size, cols,
                                           NCOLS, err, sizeof err);
  if (ctx == NULL) {
    if (err[0] == '\0') /* a refusal always says why */
      abort();
    return 0;
  }
  char *json = osq_context_to_json(ctx);
  if (json == NULL)
    abort();
  osq_context *back = osq_context_from_json(json, strlen(json), cols, NCOLS,
                                            err, sizeof err);
  if (back == NULL) {
    fprintf(stderr, "re-parse failed: %s\n%s\n", err, json);
    abort();
  }
  same(ctx, back);
  osq_context_free(back);
  osq_context_free(ctx);
  free(json);
  return 0;
}
