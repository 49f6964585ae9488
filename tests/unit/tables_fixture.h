/* Fixture shared by table tests: a scratch directory the test program
 * writes its fake /etc and /proc files into, and a run with one "="
 * constraint. Header-only: every tests/unit/test_*.c is its own program.
 * Include after cmocka.h. */
#ifndef TABLES_FIXTURE_H
#define TABLES_FIXTURE_H

#include "test_tables_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char tfx_dir[256];

/* Create /tmp/<name>.XXXXXX as tfx_dir. */
static inline void tfx_make_dir(const char *name) {
  snprintf(tfx_dir, sizeof tfx_dir, "/tmp/%s.XXXXXX", name);
  assert_non_null(mkdtemp(tfx_dir));
}

static inline void tfx_remove_dir(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tfx_dir);
  assert_int_equal(system(cmd), 0);
}

/* Write content to tfx_dir/rel, making parent directories. The returned
 * path stays valid for the next seven calls. */
static inline char *tfx_put(const char *rel, const char *content) {
  static char paths[8][512];
  static int k;
  char *p = paths[k++ % 8];
  snprintf(p, 512, "%s/%s", tfx_dir, rel);
  for (char *s = strchr(p + strlen(tfx_dir) + 1, '/'); s;
       s = strchr(s + 1, '/')) {
    *s = '\0';
    mkdir(p, 0755);
    *s = '/';
  }
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(content, f);
  fclose(f);
  return p;
}

/* Run t with one constraint: col = v. */
static inline tresult *trun_eq(const osq_table_plugin *t, const char *col,
                               const char *v) {
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  osq_context_add(ctx, tcol(t, col), OSQ_OP_EQ, v, strlen(v));
  tresult *r = trun(t, ctx);
  osq_context_free(ctx);
  return r;
}

#endif
