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
  char keys[64][32];
  const char *names[64];
  uint32_t name_len[64];
  int name_calls, room_calls, row_end_calls;
  size_t row_end_rows[64];
  int fail_row_end; /* fail the n-th row_end() call */
} sink;

static int sink_name(osq_tr_cells *t, size_t col, const char *k, size_t kl) {
  sink *s = t->u;
  s->name_calls++;
  assert_true(col < 64 && kl < 32);
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

  /* arrays that claim more than they hold are refused before a byte */
  c = osq_tconn_memory(w.buf, w.len, NULL);
  sink_init(&s);
  s.t.vlen = s.t.vcap + 1;
  assert_int_equal(decode(c, &s, &n, msg, sizeof msg), OSQ_EINVAL);
  assert_string_equal(msg, "response row: bad cell arrays");
  osq_tconn_close(c);
  sink_free(&s);

  /* a row that is not map<string,string> is named, after a good row */
  osq_tw_reset(&w);
  osq_tw_list_begin(&w, OSQ_TT_MAP, 2);
  osq_tw_map_begin(&w, OSQ_TT_STRING, OSQ_TT_STRING, 1);
  osq_tw_cstr(&w, "k0");
  osq_tw_cstr(&w, "v");
  osq_tw_map_begin(&w, OSQ_TT_I32, OSQ_TT_STRING, 1);
  osq_tw_i32(&w, 7);
  osq_tw_cstr(&w, "v");
  c = osq_tconn_memory(w.buf, w.len, NULL);
  sink_init(&s);
  assert_int_equal(decode(c, &s, &n, msg, sizeof msg), OSQ_EPROTO);
  assert_string_equal(msg, "response row 1: expected map<string,string>, "
                           "got key type 8 and value type 11");
  osq_tconn_close(c);
  sink_free(&s);
  osq_tw_free(&w);
}

/* ---- the bulk loop for rows shaped like the row before -------------------
 * A reply of many same-shaped rows, with values of every copy size (empty,
 * up to 16, up to 32, longer), a row whose key differs, a row with fewer
 * cells and a run of rows after each, decoded into arrays with plenty of
 * room (so whole rows go through the bulk loop) and into arrays with no
 * room to spare, must give exactly what the per-cell calls
 * (osq_tr_cells_put, osq_tr_cells_row_end) give for the same bytes. */

#define BIG_ROWS 300
#define BIG_COLS 5

static int big_cells(int i) { return i == 150 ? 3 : BIG_COLS; }

static void big_value(int i, int j, char *v, size_t cap) {
  static const char pad[] = "0123456789abcdefghijklmnopqrstuvwxyz0123456789"
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  int len = (i * 7 + j * 13) % 71; /* 0..70 */
  snprintf(v, cap, "%d.%d:%.*s", i, j, len, pad);
  if ((i + j) % 17 == 0)
    v[0] = '\0';
}

static void write_big(osq_twriter *w) {
  static const char *const keys[BIG_COLS] = {"cmdline", "name", "path", "pid",
                                             "a-key-longer-than-16-bytes"};
  osq_tw_list_begin(w, OSQ_TT_MAP, BIG_ROWS);
  for (int i = 0; i < BIG_ROWS; i++) {
    osq_tw_map_begin(w, OSQ_TT_STRING, OSQ_TT_STRING, big_cells(i));
    for (int j = 0; j < big_cells(i); j++) {
      char v[96];
      big_value(i, j, v, sizeof v);
      osq_tw_cstr(w, i == 100 && j == 2 ? "path2" : keys[j]);
      osq_tw_cstr(w, v);
    }
  }
}

/* Decodes through the per-cell calls: the reference. */
static int decode_per_cell(osq_tconn *c, sink *s) {
  osq_treader r;
  osq_tr_init_conn(&r, c);
  int et;
  int32_t n;
  int rc = osq_tr_list_begin(&r, &et, &n);
  if (rc == OSQ_OK)
    rc = osq_tr_strmap_list_each(&r, n, "response row", NULL,
                                 osq_tr_cells_put, osq_tr_cells_row_end,
                                 &s->t);
  osq_tr_free(&r);
  return rc;
}

static void assert_same_cells(const sink *a, const sink *b) {
  assert_int_equal(a->t.nrows, b->t.nrows);
  assert_int_equal(a->t.nends, b->t.nends);
  assert_int_equal(a->t.vlen, b->t.vlen);
  assert_memory_equal(a->t.row_ends, b->t.row_ends,
                      a->t.nrows * sizeof *a->t.row_ends);
  assert_memory_equal(a->t.ends, b->t.ends, a->t.nends * sizeof *a->t.ends);
  if (a->t.vlen)
    assert_memory_equal(a->t.vals, b->t.vals, a->t.vlen);
  assert_int_equal(a->name_calls, b->name_calls);
  assert_int_equal(a->row_end_calls, b->row_end_calls);
  for (int i = 0; i < a->row_end_calls && i < 64; i++)
    assert_int_equal(a->row_end_rows[i], b->row_end_rows[i]);
}

/* Arrays of exactly vcap, ecap, rcap (malloc'd to that size, so that the
 * sanitizer sees any write past them); room() then grows as sink_room. */
static void sink_sized(sink *s, size_t vcap, size_t ecap, size_t rcap) {
  sink_init(s);
  s->t.vals = malloc(vcap ? vcap : 1);
  s->t.vcap = vcap;
  s->t.ends = malloc((ecap ? ecap : 1) * sizeof *s->t.ends);
  s->t.ecap = ecap;
  s->t.row_ends = malloc((rcap ? rcap : 1) * sizeof *s->t.row_ends);
  s->t.rcap = rcap;
  assert_non_null(s->t.vals);
  assert_non_null(s->t.ends);
  assert_non_null(s->t.row_ends);
}

static void test_cells_bulk_rows_match_per_cell(void **state) {
  (void)state;
  osq_twriter w;
  osq_tw_init(&w);
  write_big(&w);
  /* the input in a buffer of its exact size */
  uint8_t *in = malloc(w.len);
  assert_non_null(in);
  memcpy(in, w.buf, w.len);

  sink ref;
  sink_init(&ref);
  osq_tconn *c = osq_tconn_memory(in, w.len, NULL);
  assert_int_equal(decode_per_cell(c, &ref), OSQ_OK);
  osq_tconn_close(c);
  assert_int_equal(ref.t.nrows, BIG_ROWS);
  /* row 0 (new names), 100 (a key differs), 101 (after it: names of
   * row 100 expected, row 101 has "path" again), 150 (fewer cells), 151 */
  assert_int_equal(ref.row_end_calls, 5);

  /* plenty of room: one big array each; and no room to spare: the exact
   * sizes the reply needs */
  const size_t sizes[2][3] = {{1u << 20, 4096, 1024},
                              {ref.t.vlen, ref.t.nends, ref.t.nrows}};
  static const size_t bufs[] = {0, 64, 4096, 65536}, reads[] = {7, 65536};
  for (size_t z = 0; z < 2; z++)
    for (size_t b = 0; b < 4; b++)
      for (size_t m = 0; m < (bufs[b] ? 2u : 1u); m++) {
        c = bufs[b] ? osq_tconn_memory_stream(in, w.len, NULL, bufs[b], reads[m])
                    : osq_tconn_memory(in, w.len, NULL);
        sink s;
        sink_sized(&s, sizes[z][0], sizes[z][1], sizes[z][2]);
        int32_t n;
        char msg[256];
        assert_int_equal(decode(c, &s, &n, msg, sizeof msg), OSQ_OK);
        osq_tconn_close(c);
        assert_same_cells(&s, &ref);
        if (z == 0)
          assert_int_equal(s.room_calls, 0);
        sink_free(&s);
      }
  sink_free(&ref);
  free(in);
  osq_tw_free(&w);
}

static void test_cells_bulk_rows_checks(void **state) {
  (void)state;
  osq_twriter w;
  osq_tw_init(&w);
  write_big(&w);
  char msg[256];
  int32_t n;

  /* truncated anywhere (input in a buffer of exactly that size): an
   * error, never a read past it or a row too many; every whole row before
   * the cut is kept as the per-cell path keeps it */
  for (size_t k = 0; k < w.len; k += (k < 64 || w.len - k < 256) ? 1 : 97) {
    uint8_t *in = malloc(k ? k : 1);
    assert_non_null(in);
    memcpy(in, w.buf, k);
    osq_tconn *c = osq_tconn_memory(in, k, NULL);
    sink s, ref;
    sink_sized(&s, 1u << 20, 4096, 1024);
    assert_int_not_equal(decode(c, &s, &n, msg, sizeof msg), OSQ_OK);
    osq_tconn_close(c);
    assert_true(s.t.nrows < BIG_ROWS);
    c = osq_tconn_memory(in, k, NULL);
    sink_init(&ref);
    assert_int_not_equal(decode_per_cell(c, &ref), OSQ_OK);
    osq_tconn_close(c);
    assert_int_equal(s.t.nrows, ref.t.nrows);
    assert_memory_equal(s.t.row_ends, ref.t.row_ends,
                        s.t.nrows * sizeof *s.t.row_ends);
    sink_free(&s);
    sink_free(&ref);
    free(in);
  }

  /* the string limit holds in the bulk loop: values are up to 76 bytes,
   * keys up to 26 */
  static const size_t limits[] = {16, 32, 70};
  for (size_t l = 0; l < 3; l++) {
    osq_tconn *c = osq_tconn_memory(w.buf, w.len, NULL);
    osq_tconn_set_string_limit(c, limits[l]);
    sink s;
    sink_sized(&s, 1u << 20, 4096, 1024);
    assert_int_equal(decode(c, &s, &n, msg, sizeof msg), OSQ_ERANGE);
    osq_tconn_close(c);
    sink_free(&s);
  }

  /* the message budget bounds it too */
  osq_tconn *c = osq_tconn_memory(w.buf, w.len, NULL);
  osq_tconn_set_max_message(c, w.len / 2);
  sink s;
  sink_sized(&s, 1u << 20, 4096, 1024);
  assert_int_not_equal(decode(c, &s, &n, msg, sizeof msg), OSQ_OK);
  assert_true(s.t.nrows < BIG_ROWS);
  osq_tconn_close(c);
  sink_free(&s);
  osq_tw_free(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cells_match_input),
      cmocka_unit_test(test_cells_checks),
      cmocka_unit_test(test_cells_bulk_rows_match_per_cell),
      cmocka_unit_test(test_cells_bulk_rows_checks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
