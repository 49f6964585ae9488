/* osq_tr_strmap_list_cells: a list<map<string,string>> decoded into flat
 * arrays the caller owns gives the same cells, in the same order, as the
 * per-cell path, whatever the read buffer's size, and keeps every check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thrift/api.h"

/* A sink with small arrays, so that room() is called often; names are
 * kept per column as the first row had them (later changes go to
 * name()). */
typedef struct sink {
  osq_tr_cells t;
  char keys[64][16];
  const char *names[64];
  uint32_t name_len[64];
  int name_calls, room_calls, row_end_calls;
  size_t row_end_rows[64];
  int fail_row_end; /* fail the n-th row_end() call */
} sink;

static int sink_name(osq_tr_cells *t, size_t col, const char *k, size_t kl) {
  sink *s = t->u;
  s->name_calls++;
  assert_true(col < 64 && kl < 16);
  memcpy(s->keys[col], k, kl);
  s->keys[col][kl] = '\0';
  return OSQ_OK;
}

static int sink_room(osq_tr_cells *t, size_t vbytes) {
  sink *s = t->u;
  s->room_calls++;
  size_t vcap = t->vcap + vbytes + 3;
  t->vals = realloc(t->vals, vcap);
  t->vcap = vcap;
  t->ends = realloc(t->ends, (t->ecap + 2) * sizeof *t->ends);
  t->ecap += 2;
  t->row_ends = realloc(t->row_ends, (t->rcap + 1) * sizeof *t->row_ends);
  t->rcap += 1;
  assert_non_null(t->vals);
  assert_non_null(t->ends);
  assert_non_null(t->row_ends);
  return OSQ_OK;
}

static int sink_row_end(osq_tr_cells *t, size_t ncells) {
  sink *s = t->u;
  if (s->fail_row_end && s->row_end_calls + 1 == s->fail_row_end)
    return OSQ_ENOMEM;
  /* only a row that differs: the last one recorded */
  assert_true(t->nrows > 0);
  s->row_end_rows[s->row_end_calls++] = t->nrows - 1;
  size_t first = t->nrows > 1 ? t->row_ends[t->nrows - 2] : 0;
  assert_int_equal(t->row_ends[t->nrows - 1] - first, ncells);
  /* the next row is expected to have this one's names */
  for (size_t i = 0; i < ncells && i < 64; i++) {
    s->names[i] = s->keys[i];
    s->name_len[i] = (uint32_t)strlen(s->keys[i]);
  }
  t->names = s->names;
  t->name_len = s->name_len;
  t->nnames = ncells;
  return OSQ_OK;
}

static void sink_init(sink *s) {
  memset(s, 0, sizeof *s);
  s->t.name = sink_name;
  s->t.room = sink_room;
  s->t.row_end = sink_row_end;
  s->t.u = s;
}

static void sink_free(sink *s) {
  free(s->t.vals);
  free(s->t.ends);
  free(s->t.row_ends);
}

static const char *value(const sink *s, size_t cell, size_t *len) {
  uint32_t start = cell ? s->t.ends[cell - 1] : 0;
  *len = s->t.ends[cell] - start;
  return s->t.vals + start;
}

/* rows of "k<col>" -> "v<row>.<col>" with the cell counts given; row 2's
 * second key differs ("other") */
static void write_rows(osq_twriter *w, const int *cells, int nrows) {
  osq_tw_list_begin(w, OSQ_TT_MAP, nrows);
  for (int i = 0; i < nrows; i++) {
    osq_tw_map_begin(w, OSQ_TT_STRING, OSQ_TT_STRING, cells[i]);
    for (int j = 0; j < cells[i]; j++) {
      char k[16], v[48];
      snprintf(k, sizeof k, i == 2 && j == 1 ? "other" : "k%d", j);
      /* some values long enough for the block copy, one empty */
      if (j == 2)
        snprintf(v, sizeof v, "v%d.%d-a-value-longer-than-16-bytes", i, j);
      else if (j == 3)
        v[0] = '\0';
      else
        snprintf(v, sizeof v, "v%d.%d", i, j);
      osq_tw_cstr(w, k);
      osq_tw_cstr(w, v);
    }
  }
}

static int decode(osq_tconn *c, sink *s, int32_t *n, char *msg, size_t ml) {
  osq_treader r;
  osq_tr_init_conn(&r, c);
  int et;
  int rc = osq_tr_list_begin(&r, &et, n);
  if (rc == OSQ_OK)
    rc = osq_tr_strmap_list_cells(&r, *n, "response row", &s->t);
  if (rc != OSQ_OK)
    snprintf(msg, ml, "%s", osq_tr_message(&r));
  osq_tr_free(&r);
  return rc;
}

static void test_cells_match_input(void **state) {
  (void)state;
  static const int cells[] = {5, 5, 5, 0, 7, 3};
  osq_twriter w;
  osq_tw_init(&w);
  write_rows(&w, cells, 6);
  static const size_t bufs[] = {16, 37, 64, 4096}, reads[] = {1, 5, 4096};
  for (size_t b = 0; b < 4; b++)
    for (size_t m = 0; m < 3; m++) {
      osq_tconn *c = osq_tconn_memory_stream(w.buf, w.len, NULL, bufs[b], reads[m]);
      sink s;
      sink_init(&s);
      int32_t n;
      char msg[256];
      assert_int_equal(decode(c, &s, &n, msg, sizeof msg), OSQ_OK);
      osq_tconn_close(c);
      assert_int_equal(s.t.nrows, 6);
      size_t cell = 0;
      for (int i = 0; i < 6; i++) {
        size_t first = i ? s.t.row_ends[i - 1] : 0;
        assert_int_equal(s.t.row_ends[i] - first, cells[i]);
        for (int j = 0; j < cells[i]; j++, cell++) {
          char want[48];
          if (j == 2)
            snprintf(want, sizeof want, "v%d.%d-a-value-longer-than-16-bytes", i, j);
          else if (j == 3)
            want[0] = '\0';
          else
            snprintf(want, sizeof want, "v%d.%d", i, j);
          size_t len;
          const char *v = value(&s, cell, &len);
          assert_int_equal(len, strlen(want));
          assert_memory_equal(v, want, len);
        }
      }
      assert_int_equal(s.t.nends, cell);
      /* name() only where the expected name differs: all 5 of row 0
       * (nothing expected yet), row 2's "other", all 7 of row 4 (the
       * empty row 3 left nothing expected) */
      assert_int_equal(s.name_calls, 5 + 1 + 7);
      /* row_end() for the rows that differ from the one before: 0 (names),
       * 2 (a name), 3 (no cells), 4 (names), 5 (fewer cells) */
      static const size_t differ[] = {0, 2, 3, 4, 5};
      assert_int_equal(s.row_end_calls, 5);
      for (int i = 0; i < 5; i++)
        assert_int_equal(s.row_end_rows[i], differ[i]);
      assert_true(s.room_calls > 0);
      sink_free(&s);
    }
  osq_tw_free(&w);
}

static void test_cells_checks(void **state) {
  (void)state;
  static const int cells[] = {5, 5, 5};
  osq_twriter w;
  osq_tw_init(&w);
  write_rows(&w, cells, 3);
  char msg[256];
  int32_t n;
  sink s;

  /* truncated anywhere: an error, never a crash or a row too many */
  for (size_t k = 0; k < w.len; k++) {
    osq_tconn *c = osq_tconn_memory(w.buf, k, NULL);
    sink_init(&s);
    assert_int_not_equal(decode(c, &s, &n, msg, sizeof msg), OSQ_OK);
    assert_true(s.t.nrows < 3);
    osq_tconn_close(c);
    sink_free(&s);
  }

  /* the string limit still holds on the bulk path */
  osq_tconn *c = osq_tconn_memory(w.buf, w.len, NULL);
  osq_tconn_set_string_limit(c, 8);
  sink_init(&s);
  assert_int_equal(decode(c, &s, &n, msg, sizeof msg), OSQ_ERANGE);
  osq_tconn_close(c);
  sink_free(&s);

  /* a callback's failure names the row */
  c = osq_tconn_memory(w.buf, w.len, NULL);
  sink_init(&s);
  s.fail_row_end = 1; /* row 0: its names are all new */
  assert_int_equal(decode(c, &s, &n, msg, sizeof msg), OSQ_ENOMEM);
  assert_string_equal(msg, "response row 0: handler failed");
  osq_tconn_close(c);
  sink_free(&s);
  osq_tw_free(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cells_match_input),
      cmocka_unit_test(test_cells_checks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
