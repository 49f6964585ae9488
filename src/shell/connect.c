/* --connect / .connect: send SQL to another manager's socket (Thrift
 * getQueryColumns for the column order, then query), for debugging a
 * running osqd or osqi. Rows stream cell by cell into the output modes. */
#include <stdlib.h>
#include <string.h>

#include "core/flags.h"
#include "shell.h"
#include "thrift/api.h"
#include "thrift/thrift.h"

#define CONNECT_TIMEOUT_MS 3000
#define REMOTE_MAX_COLUMNS 4096

struct cols {
  char **names;
  size_t n;
  int err;
};

static int col_cell(void *u, const char *key, size_t klen, const char *val,
                    size_t vlen) {
  (void)val, (void)vlen;
  struct cols *c = u;
  if (c->n >= REMOTE_MAX_COLUMNS)
    return c->err = OSQ_ERANGE;
  char **v = realloc(c->names, (c->n + 1) * sizeof *v);
  if (v == NULL)
    return c->err = OSQ_ENOMEM;
  c->names = v;
  c->names[c->n] = strndup(key, klen);
  if (c->names[c->n] == NULL)
    return c->err = OSQ_ENOMEM;
  c->n++;
  return 0;
}

static int col_end(void *u) {
  (void)u;
  return 0;
}

/* A row's cells are copied into one buffer until the row ends. */
struct rows {
  shell *sh;
  struct cols *cols;
  const char **vals;
  size_t *lens;
  size_t *off; /* offsets into buf, SIZE_MAX = absent (NULL) */
  char *buf;
  size_t len, cap;
  int err;
};

static int row_cell(void *u, const char *key, size_t klen, const char *val,
                    size_t vlen) {
  struct rows *r = u;
  size_t i = 0;
  while (i < r->cols->n && (strlen(r->cols->names[i]) != klen ||
                            memcmp(r->cols->names[i], key, klen) != 0))
    i++;
  if (i == r->cols->n)
    return 0; /* a column getQueryColumns did not name */
  if (r->len + vlen + 1 > r->cap) {
    size_t cap = (r->len + vlen + 1) * 2;
    char *b = realloc(r->buf, cap);
    if (b == NULL)
      return r->err = OSQ_ENOMEM;
    r->buf = b;
    r->cap = cap;
  }
  memcpy(r->buf + r->len, val, vlen);
  r->off[i] = r->len;
  r->lens[i] = vlen;
  r->len += vlen;
  r->buf[r->len++] = '\0';
  return 0;
}

static int row_end(void *u) {
  struct rows *r = u;
  for (size_t i = 0; i < r->cols->n; i++)
    r->vals[i] = r->off[i] == SIZE_MAX ? NULL : r->buf + r->off[i];
  int rc = shell_out_row(&r->sh->out, r->vals, r->lens);
  for (size_t i = 0; i < r->cols->n; i++)
    r->off[i] = SIZE_MAX;
  r->len = 0;
  if (rc != 0)
    r->err = OSQ_EIO;
  return rc;
}

static int fail(char **errmsg, const char *what, const char *msg) {
  if (errmsg && *errmsg == NULL &&
      asprintf(errmsg, "Extension call failed: %s%s", what, msg) < 0)
    *errmsg = NULL;
  return 1;
}

int shell_remote_exec(shell *sh, const char *sql, char **errmsg) {
  char msg[512] = "";
  int err = 0;
  osq_tconn *c = osq_tconn_open(sh->connect, CONNECT_TIMEOUT_MS, &err, msg,
                                sizeof msg);
  if (c == NULL)
    return fail(errmsg, "", msg);
  struct cols cols = {NULL, 0, 0};
  osq_ext_status st = {0, NULL, 0};
  osq_row_handler ch = {col_cell, col_end, &cols};
  int rc = osq_api_get_query_columns(c, sql, &st, &ch, msg, sizeof msg);
  struct rows r = {.sh = sh, .cols = &cols};
  if (rc != OSQ_OK || cols.err) {
    rc = fail(errmsg, "getQueryColumns: ", cols.err ? osq_strerror(cols.err)
                                                   : msg);
    goto out;
  }
  if (st.code != 0) {
    if (errmsg && *errmsg == NULL)
      *errmsg = strdup(st.message ? st.message : "query failed");
    rc = st.code;
    goto out;
  }
  size_t n = cols.n ? cols.n : 1;
  r.vals = calloc(n, sizeof *r.vals);
  r.lens = calloc(n, sizeof *r.lens);
  r.off = malloc(n * sizeof *r.off);
  if (!r.vals || !r.lens || !r.off) {
    rc = fail(errmsg, "", "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    r.off[i] = SIZE_MAX;
  if (shell_out_columns(&sh->out, cols.n, (const char *const *)cols.names)) {
    rc = fail(errmsg, "", "out of memory");
    goto out;
  }
  osq_ext_status_clear(&st);
  osq_row_handler rh = {row_cell, row_end, &r};
  rc = osq_api_query(c, sql, &st, &rh, msg, sizeof msg);
  if (rc != OSQ_OK || r.err) {
    rc = r.err == OSQ_EIO ? 1
                          : fail(errmsg, "query: ",
                                 r.err ? osq_strerror(r.err) : msg);
  } else if (st.code != 0) {
    if (errmsg && *errmsg == NULL)
      *errmsg = strdup(st.message ? st.message : "query failed");
    rc = st.code;
  }
out:
  osq_ext_status_clear(&st);
  for (size_t i = 0; i < cols.n; i++)
    free(cols.names[i]);
  free(cols.names);
  free(r.vals);
  free(r.lens);
  free(r.off);
  free(r.buf);
  osq_tconn_close(c);
  return rc;
}
