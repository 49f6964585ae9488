/* A row collector for table tests: runs a plugin's generate() with a
 * context and keeps every cell. */
#ifndef TEST_TABLES_SINK_H
#define TEST_TABLES_SINK_H

#include "plugin/plugin_impl.h"

#include <stdlib.h>
#include <string.h>

typedef struct tcell {
  osq_value_kind kind;
  int64_t i;
  double d;
  char *s; /* TEXT/BLOB, NUL-terminated copy */
} tcell;

typedef struct tresult {
  size_t ncols;
  tcell *cur;  /* row being built */
  tcell **rows;
  size_t n, cap;
  int rc;
  char error[512];
} tresult;

static inline int tsink_cell(void *self, size_t col, const osq_value *v) {
  tresult *r = self;
  if (r->cur == NULL)
    r->cur = calloc(r->ncols, sizeof *r->cur);
  tcell *c = &r->cur[col];
  free(c->s);
  memset(c, 0, sizeof *c);
  c->kind = v->kind;
  if (v->kind == OSQ_VALUE_INT)
    c->i = v->u.i;
  else if (v->kind == OSQ_VALUE_DOUBLE)
    c->d = v->u.d;
  else if (v->kind == OSQ_VALUE_TEXT || v->kind == OSQ_VALUE_BLOB) {
    c->s = malloc(v->u.s.n + 1);
    memcpy(c->s, v->u.s.p, v->u.s.n);
    c->s[v->u.s.n] = '\0';
  }
  return OSQ_OK;
}

static inline int tsink_end(void *self) {
  tresult *r = self;
  if (r->cur == NULL)
    r->cur = calloc(r->ncols, sizeof *r->cur);
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 16;
    r->rows = realloc(r->rows, r->cap * sizeof *r->rows);
  }
  r->rows[r->n++] = r->cur;
  r->cur = NULL;
  return OSQ_OK;
}

static const struct osq_rows_ops tsink_ops = {tsink_cell, NULL, tsink_end};

static inline tresult *trun(const osq_table_plugin *t, const osq_context *ctx) {
  tresult *r = calloc(1, sizeof *r);
  r->ncols = t->ncolumns;
  osq_rows rows;
  osq_rows_init(&rows, &tsink_ops, r, t->ncolumns);
  r->rc = t->generate(ctx, &rows, t->udata);
  const char *m = osq_rows_message(&rows);
  if (m)
    snprintf(r->error, sizeof r->error, "%s", m);
  return r;
}

/* Run with an empty context (every column used, no constraints). */
static inline tresult *trun_all(const osq_table_plugin *t) {
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  tresult *r = trun(t, ctx);
  osq_context_free(ctx);
  return r;
}

static inline void tfree(tresult *r) {
  for (size_t i = 0; i < r->n; i++) {
    for (size_t c = 0; c < r->ncols; c++)
      free(r->rows[i][c].s);
    free(r->rows[i]);
  }
  if (r->cur) {
    for (size_t c = 0; c < r->ncols; c++)
      free(r->cur[c].s);
    free(r->cur);
  }
  free(r->rows);
  free(r);
}

static inline int tcol(const osq_table_plugin *t, const char *name) {
  int i = osq_column_find(t->columns, t->ncolumns, name);
  if (i < 0) {
    fprintf(stderr, "no column %s in %s\n", name, t->name);
    abort();
  }
  return i;
}

/* Row whose column `col` is the integer v, or NULL. */
static inline tcell *tfind_int(tresult *r, int col, int64_t v) {
  for (size_t i = 0; i < r->n; i++)
    if (r->rows[i][col].kind == OSQ_VALUE_INT && r->rows[i][col].i == v)
      return r->rows[i];
  return NULL;
}

static inline tcell *tfind_text(tresult *r, int col, const char *v) {
  for (size_t i = 0; i < r->n; i++)
    if (r->rows[i][col].kind == OSQ_VALUE_TEXT &&
        strcmp(r->rows[i][col].s, v) == 0)
      return r->rows[i];
  return NULL;
}

#endif
