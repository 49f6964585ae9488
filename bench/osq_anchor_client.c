/* osq_anchor_client: the anchor harness's --client, measured with osq's
 * Thrift codec and connections (src/thrift/). See bench/README.md and
 * ../shared/anchor/README.md for the contract:
 *
 *   osq_anchor_client bench SOCKET ROWS [SAVE]
 *   osq_anchor_client decode FILE
 *
 * and, to see the codec on both ends, the anchor extension's contract for
 * --server (served one connection at a time, like the floor's server):
 *
 *   osq_anchor_client serve SOCKET ROWS
 *
 * It prints the same "key value" lines as the anchor's bench_client_cpp
 * (medians after untimed warm-up runs; ANCHOR_QUICK=1 runs a tenth).
 * Every decode materialises the rows' strings into memory the caller owns
 * (flat arrays: values, cell and row end offsets; see "rows the caller
 * owns"), as Thrift's Response does; extra keys:
 *   decode_cpu_ms    decode_ms as CPU time of the thread (less sensitive
 *                    to other load on the machine)
 *   decode_plist_ms  the same bytes decoded into osq_plist (one malloc'd
 *                    string map per row), what a generic caller gets
 *   reused_gen_ms    the ROWS-row generate on one reused connection */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <time.h>

#include "thrift/api.h"

static const int kPingTimeoutMs = 10 * 1000;
static const int64_t kCallTimeoutMs = 300 * 1000;

static int iterations(int n) {
  const char *q = getenv("ANCHOR_QUICK");
  if (q && *q && *q != '0')
    return n / 10 > 3 ? n / 10 : 3;
  return n;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double cpu_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, const char *why) {
  fprintf(stderr, "osq_anchor_client: %s: %s\n", what, why);
  exit(1);
}

/* ---- rows the caller owns ---------------------------------------------
 * A reply is kept in three flat arrays, one allocation each per reply,
 * filled by the codec itself (osq_cells_handler, no call per cell or row):
 *   vals   every value's bytes, back to back (no separator)
 *   ends   per cell, the offset in vals where its value ends (it starts
 *          where the cell before ended)
 *   rowe   per row, the index in ends where its cells end
 * and each row's shape, the list of column names its cells have, interned
 * once, in a short list of the rows where the shape changes (one entry
 * for the anchor's reply). That is 4 bytes per cell and 4 per row besides
 * the values. Everything is an offset, so an array can move when it
 * grows. */

typedef struct growbuf {
  char *p;
  size_t len, cap;
} growbuf;

typedef struct shape_change {
  size_t row;     /* from this row on */
  uint32_t shape; /* index into rows.shapes */
} shape_change;

typedef struct shape {
  uint32_t n;
  uint32_t *key;     /* n indexes into rows.keys */
  const char **name; /* the same as strings, for the codec's check */
  uint32_t *name_len;
} shape;

#define MAX_KEYS 256
#define MAX_SHAPES 1024

enum { VALS, ENDS, ROWE, NBUF };

typedef struct rows {
  osq_tr_cells t; /* vals and ends, in b[VALS] and b[ENDS] */
  growbuf b[NBUF];
  shape_change *changes;
  size_t nchanges, changes_cap;
  /* the row being decoded: its names are shapes[like]'s until one
   * differs; from then on each cell's key id is kept in cur_keys */
  uint32_t like;
  bool diverged;
  uint32_t *cur_keys;
  size_t cur_cap;
  /* distinct keys, owned */
  const char *keys[MAX_KEYS];
  uint32_t key_len[MAX_KEYS];
  size_t nkeys;
  shape shapes[MAX_SHAPES];
  size_t nshapes;
} rows;

#define BIG_CHUNK ((size_t)2 * 1024 * 1024)

/* size bytes (a multiple of BIG_CHUNK), 2 MiB-aligned and advised as huge
 * pages, so the kernel can back them with huge pages: far fewer page faults
 * and TLB misses for megabytes. */
static void *huge_alloc(size_t size) {
  void *m = mmap(NULL, size + BIG_CHUNK, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    die("decode", "out of memory");
  uintptr_t a = ((uintptr_t)m + BIG_CHUNK - 1) & ~(uintptr_t)(BIG_CHUNK - 1);
  if (a > (uintptr_t)m)
    munmap(m, a - (uintptr_t)m);
  size_t tail = (uintptr_t)m + size + BIG_CHUNK - (a + size);
  if (tail)
    munmap((void *)(a + size), tail);
  madvise((void *)a, size, MADV_HUGEPAGE);
  return (void *)a;
}

/* The buffers freed replies gave back, kept for the next ones as malloc
 * keeps freed memory (the C++ anchor's Response is freed into malloc's
 * heap between its decodes too): a reply then costs no fresh pages. */
#define POOL_MAX 4
static growbuf pool[NBUF][POOL_MAX];
static size_t npool[NBUF];

static void grow(rows *r, int kind, size_t need) {
  growbuf *b = &r->b[kind];
  if (b->cap - b->len >= need)
    return;
  if (b->p == NULL && npool[kind] > 0) {
    *b = pool[kind][--npool[kind]];
    b->len = 0;
    if (b->cap >= need)
      return;
  }
  if (need > (size_t)UINT32_MAX - b->len)
    die("decode", "reply larger than 4 GiB");
  size_t cap = b->cap ? b->cap : BIG_CHUNK;
  while (cap - b->len < need)
    cap *= 2;
  if (b->p == NULL) {
    b->p = huge_alloc(cap);
  } else {
    /* the mapping moves without a copy of its pages */
    void *m = mremap(b->p, b->cap, cap, MREMAP_MAYMOVE);
    if (m == MAP_FAILED)
      die("decode", "out of memory");
    b->p = m;
    madvise(b->p, cap, MADV_HUGEPAGE);
  }
  b->cap = cap;
}

static int rows_room(osq_tr_cells *t, size_t vbytes) {
  rows *r = t->u;
  r->b[VALS].len = t->vlen;
  r->b[ENDS].len = t->nends * sizeof(uint32_t);
  r->b[ROWE].len = t->nrows * sizeof(uint32_t);
  grow(r, VALS, vbytes);
  grow(r, ENDS, sizeof(uint32_t));
  grow(r, ROWE, sizeof(uint32_t));
  t->vals = r->b[VALS].p;
  t->vcap = r->b[VALS].cap < UINT32_MAX ? r->b[VALS].cap : UINT32_MAX;
  t->ends = (uint32_t *)(void *)r->b[ENDS].p;
  t->ecap = r->b[ENDS].cap / sizeof(uint32_t);
  t->row_ends = (uint32_t *)(void *)r->b[ROWE].p;
  t->rcap = r->b[ROWE].cap / sizeof(uint32_t);
  return OSQ_OK;
}

static uint32_t intern_key(rows *r, const char *k, size_t kl) {
  for (size_t i = 0; i < r->nkeys; i++)
    if (r->key_len[i] == kl && memcmp(r->keys[i], k, kl) == 0)
      return (uint32_t)i;
  if (r->nkeys == MAX_KEYS)
    die("decode", "more distinct column names than this bench keeps");
  char *d = malloc(kl + 1);
  if (d == NULL)
    die("decode", "out of memory");
  memcpy(d, k, kl);
  d[kl] = '\0';
  r->keys[r->nkeys] = d;
  r->key_len[r->nkeys] = (uint32_t)kl;
  return (uint32_t)r->nkeys++;
}

static void keep_key(rows *r, size_t col, uint32_t key) {
  while (col >= r->cur_cap) {
    r->cur_cap = r->cur_cap ? r->cur_cap * 2 : 16;
    r->cur_keys = realloc(r->cur_keys, r->cur_cap * sizeof *r->cur_keys);
    if (r->cur_keys == NULL)
      die("decode", "out of memory");
  }
  r->cur_keys[col] = key;
}

/* Cell col's name is not the one the rows before had there: from here on
 * this row's names are kept one by one (nnames = col sends them all
 * here). */
static int rows_name(osq_tr_cells *t, size_t col, const char *k, size_t kl) {
  rows *r = t->u;
  if (!r->diverged) {
    for (size_t i = 0; i < col; i++)
      keep_key(r, i, r->shapes[r->like].key[i]);
    r->diverged = true;
    t->nnames = col;
  }
  keep_key(r, col, intern_key(r, k, kl));
  return OSQ_OK;
}

static uint32_t intern_shape(rows *r, size_t n) {
  for (size_t i = 0; i < r->nshapes; i++)
    if (r->shapes[i].n == n &&
        (n == 0 ||
         memcmp(r->shapes[i].key, r->cur_keys, n * sizeof(uint32_t)) == 0))
      return (uint32_t)i;
  if (r->nshapes == MAX_SHAPES)
    die("decode", "more distinct row shapes than this bench keeps");
  shape *s = &r->shapes[r->nshapes];
  size_t m = n ? n : 1;
  s->n = (uint32_t)n;
  s->key = malloc(m * sizeof *s->key);
  s->name = malloc(m * sizeof *s->name);
  s->name_len = malloc(m * sizeof *s->name_len);
  if (s->key == NULL || s->name == NULL || s->name_len == NULL)
    die("decode", "out of memory");
  for (size_t i = 0; i < n; i++) {
    s->key[i] = r->cur_keys[i];
    s->name[i] = r->keys[s->key[i]];
    s->name_len[i] = r->key_len[s->key[i]];
  }
  return (uint32_t)r->nshapes++;
}

/* Called only for a row whose names were not all the ones expected or
 * whose cell count differs: it is the last of t->row_ends. */
static int rows_row_end(osq_tr_cells *t, size_t ncells) {
  rows *r = t->u;
  if (!r->diverged && r->nshapes)
    for (size_t i = 0; i < ncells; i++)
      keep_key(r, i, r->shapes[r->like].key[i]);
  uint32_t like = intern_shape(r, ncells);
  r->diverged = false;
  if (r->nchanges == 0 || like != r->like) {
    if (r->nchanges == r->changes_cap) {
      r->changes_cap = r->changes_cap ? r->changes_cap * 2 : 16;
      r->changes = realloc(r->changes, r->changes_cap * sizeof *r->changes);
      if (r->changes == NULL)
        die("decode", "out of memory");
    }
    r->changes[r->nchanges++] = (shape_change){t->nrows - 1, like};
  }
  r->like = like;
  const shape *s = &r->shapes[like];
  t->names = s->name;
  t->name_len = s->name_len;
  t->nnames = s->n;
  return OSQ_OK;
}

static osq_row_handler rows_handler(rows *r) {
  memset(r, 0, sizeof *r);
  r->t.name = rows_name;
  r->t.room = rows_room;
  r->t.row_end = rows_row_end;
  r->t.u = r;
  return osq_cells_handler(&r->t);
}

static size_t nrows_of(const rows *r) { return r->t.nrows; }

/* the shape of row i: the last change at or before it */
static const shape *row_shape(const rows *r, size_t i) {
  static const shape none = {0, NULL, NULL, NULL}; /* rows before any */
  if (r->nchanges == 0 || r->changes[0].row > i)
    return &none;
  size_t lo = 0, hi = r->nchanges;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (r->changes[mid].row <= i)
      lo = mid;
    else
      hi = mid;
  }
  return &r->shapes[r->changes[lo].shape];
}

static size_t row_cells(const rows *r, size_t i) {
  return i < nrows_of(r) ? row_shape(r, i)->n : 0;
}

/* Cell c of row i: its column name and value (vl bytes). */
static const char *row_value(const rows *r, size_t i, size_t c,
                             const char **key, size_t *vl) {
  size_t cell = (i ? r->t.row_ends[i - 1] : 0) + c;
  uint32_t start = cell ? r->t.ends[cell - 1] : 0;
  *key = r->keys[row_shape(r, i)->key[c]];
  *vl = r->t.ends[cell] - start;
  return r->t.vals + start;
}

static void rows_free(rows *r) {
  free(r->changes);
  for (int i = 0; i < NBUF; i++) {
    growbuf *b = &r->b[i];
    if (b->p && npool[i] < POOL_MAX)
      pool[i][npool[i]++] = *b;
    else if (b->p)
      munmap(b->p, b->cap);
  }
  free(r->cur_keys);
  for (size_t i = 0; i < r->nkeys; i++)
    free((char *)r->keys[i]);
  for (size_t i = 0; i < r->nshapes; i++) {
    free(r->shapes[i].key);
    free(r->shapes[i].name);
    free(r->shapes[i].name_len);
  }
  memset(r, 0, sizeof *r);
}

static void check_rows(const rows *r, const osq_ext_status *st, size_t want) {
  char why[128];
  if (st->code != 0) {
    snprintf(why, sizeof why, "status %d %s", st->code, st->message);
    die("call", why);
  }
  if (nrows_of(r) != want) {
    snprintf(why, sizeof why, "got %zu rows, want %zu", nrows_of(r), want);
    die("call", why);
  }
  if (want > 0 && row_cells(r, 0) != 5)
    die("call", "a row does not have 5 columns");
  if (want > 0) {
    const char *key;
    size_t vl;
    const char *v = row_value(r, 0, 3, &key, &vl);
    if (strcmp(key, "pid") != 0 || vl != 4 || memcmp(v, "1000", 4) != 0)
      die("call", "row 0 is not the anchor's first row");
    /* the last row's pid: 1000 + want - 1 */
    char last[24];
    int ll = snprintf(last, sizeof last, "%zu", 1000 + want - 1);
    v = row_value(r, want - 1, 3, &key, &vl);
    if (row_cells(r, want - 1) != 5 || strcmp(key, "pid") != 0 ||
        vl != (size_t)ll || memcmp(v, last, vl) != 0)
      die("call", "the last row is not the anchor's last row");
  }
}

/* ---- connections ----------------------------------------------------------- */

static osq_tconn *conn(const char *path, int timeout_ms) {
  int err;
  char msg[256];
  osq_tconn *c = osq_tconn_open(path, timeout_ms, &err, msg, sizeof msg);
  if (c == NULL)
    die("connect", msg);
  osq_tconn_set_deadline(c, osq_now_ms() + timeout_ms);
  return c;
}

static void ping(osq_tconn *c) {
  osq_ext_status st = {0};
  char msg[256];
  if (osq_api_ping(c, &st, msg, sizeof msg) != OSQ_OK)
    die("ping", msg);
  if (st.code != 0 || strcmp(st.message, "pong") != 0)
    die("ping", "unexpected reply");
  osq_ext_status_clear(&st);
}

static void call(osq_tconn *c, const osq_strmap *req, rows *out, size_t want) {
  osq_ext_status st = {0};
  char msg[256];
  osq_row_handler h = rows_handler(out);
  if (osq_api_call(c, "table", "anchor", req, &st, &h, msg, sizeof msg) !=
      OSQ_OK)
    die("call", msg);
  check_rows(out, &st, want);
  osq_ext_status_clear(&st);
}

static void put_us(const char *key, double v) { printf("%s %.3f\n", key, v); }
static void put_n(const char *key, size_t v) { printf("%s %zu\n", key, v); }

/* ---- bench ------------------------------------------------------------------- */

static void bench(const char *path, size_t nrows, const char *save) {
  /* osquery sends std::map requests: keys in sorted order */
  osq_strmap one, all;
  osq_strmap_init(&one);
  osq_strmap_init(&all);
  osq_strmap_set(&one, "action", "generate", 8);
  osq_strmap_set(&one, "context", "{}", 2);
  osq_strmap_set(&one, "rows", "1", 1);
  osq_strmap_set(&all, "action", "generate", 8);
  osq_strmap_set(&all, "context", "{}", 2);

  rows r = {0};
  osq_twriter tin, tout;
  osq_tw_init(&tin);
  osq_tw_init(&tout);
  {
    osq_tconn *c = conn(path, (int)kCallTimeoutMs);
    osq_tconn_tap(c, &tin, &tout);
    ping(c);
    put_n("ping_req_bytes", tout.len);
    put_n("ping_rep_bytes", tin.len);
    osq_tw_reset(&tin);
    osq_tw_reset(&tout);
    call(c, &one, &r, 1);
    put_n("call1_req_bytes", tout.len);
    put_n("call1_rep_bytes", tin.len);
    rows_free(&r);
    osq_tconn_close(c);
  }

  int n = iterations(20000);
  double *t = malloc(sizeof(double) * (size_t)(n > 2000 ? n : 2000));
  {
    osq_tconn *c = conn(path, (int)kCallTimeoutMs);
    for (int i = 0; i < 200; i++)
      ping(c);
    for (int i = 0; i < n; i++) {
      double t0 = now_us();
      ping(c);
      t[i] = now_us() - t0;
    }
    put_us("ping_us", median(t, n));
    for (int i = 0; i < 200; i++) {
      rows_free(&r);
      call(c, &one, &r, 1);
    }
    for (int i = 0; i < n; i++) {
      rows_free(&r);
      double t0 = now_us();
      call(c, &one, &r, 1);
      t[i] = now_us() - t0;
    }
    put_us("call1_us", median(t, n));
    rows_free(&r);
    osq_tconn_close(c);
  }

  n = iterations(2000);
  for (int i = -20; i < n; i++) {
    double t0 = now_us();
    osq_tconn *c = conn(path, kPingTimeoutMs);
    ping(c);
    osq_tconn_close(c);
    if (i >= 0)
      t[i] = now_us() - t0;
  }
  put_us("ping_fresh_us", median(t, n));

  for (int i = -20; i < n; i++) {
    double t0 = now_us();
    osq_tconn *c = conn(path, kPingTimeoutMs);
    ping(c);
    osq_tconn_close(c);
    c = conn(path, (int)kCallTimeoutMs);
    rows_free(&r);
    call(c, &one, &r, 1);
    osq_tconn_close(c);
    if (i >= 0)
      t[i] = now_us() - t0;
  }
  put_us("osq_pattern_us", median(t, n));
  rows_free(&r);

  /* The big generate: a fresh connection and fresh rows each run, as the
   * osquery core does; freeing the rows is outside the timed span. */
  n = iterations(10);
  for (int i = -1; i < n; i++) {
    rows big = {0};
    double t0 = now_us();
    osq_tconn *c = conn(path, (int)kCallTimeoutMs);
    call(c, &all, &big, nrows);
    osq_tconn_close(c);
    if (i >= 0)
      t[i] = now_us() - t0;
    rows_free(&big);
  }
  double ms = median(t, n) / 1e3;
  put_n("gen_rows", nrows);
  put_us("gen_ms", ms);
  put_us("gen_rows_per_s", (double)nrows / (ms / 1e3));

  {
    osq_tconn *c = conn(path, (int)kCallTimeoutMs);
    for (int i = -1; i < n; i++) {
      rows big = {0};
      double t0 = now_us();
      call(c, &all, &big, nrows);
      if (i >= 0)
        t[i] = now_us() - t0;
      rows_free(&big);
    }
    osq_tconn_close(c);
    put_us("reused_gen_ms", median(t, n) / 1e3);
  }

  /* One generate reply's exact bytes. */
  {
    osq_tw_reset(&tin);
    osq_tconn *c = conn(path, (int)kCallTimeoutMs);
    osq_tconn_tap(c, &tin, NULL);
    rows big = {0};
    call(c, &all, &big, nrows);
    rows_free(&big);
    osq_tconn_close(c);
    put_n("gen_reply_bytes", tin.len);
    if (save && *save) {
      FILE *f = fopen(save, "wb");
      if (f == NULL || fwrite(tin.buf, 1, tin.len, f) != tin.len ||
          fclose(f) != 0)
        die(save, strerror(errno));
    }
  }
  free(t);
  osq_tw_free(&tin);
  osq_tw_free(&tout);
  osq_strmap_clear(&one);
  osq_strmap_clear(&all);
}

/* ---- decode ------------------------------------------------------------------- */

static void decode_into(const uint8_t *bytes, size_t len,
                        const osq_row_handler *h, osq_ext_status *st) {
  osq_tconn *c = osq_tconn_memory(bytes, len, NULL);
  char msg[256];
  if (osq_api_call(c, "table", "anchor", NULL, st, h, msg, sizeof msg) !=
      OSQ_OK)
    die("decode", msg);
  osq_tconn_close(c);
}

static void decode_bench(const char *file) {
  FILE *f = fopen(file, "rb");
  if (f == NULL)
    die(file, strerror(errno));
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (size <= 0)
    die(file, "empty");
  uint8_t *bytes = malloc((size_t)size);
  if (bytes == NULL || fread(bytes, 1, (size_t)size, f) != (size_t)size)
    die(file, "cannot read");
  fclose(f);

  osq_ext_status st = {0};
  rows r = {0};
  osq_row_handler h = rows_handler(&r);
  decode_into(bytes, (size_t)size, &h, &st); /* warm-up and check */
  size_t want = nrows_of(&r);
  check_rows(&r, &st, want);
  rows_free(&r);

  int n = iterations(20);
  double *dec = malloc(sizeof(double) * (size_t)n);
  double *fre = malloc(sizeof(double) * (size_t)n);
  double *cpu = malloc(sizeof(double) * (size_t)n);
  for (int i = 0; i < n; i++) {
    rows x = {0};
    osq_row_handler hx = rows_handler(&x);
    double c0 = cpu_us(), t0 = now_us();
    decode_into(bytes, (size_t)size, &hx, &st);
    dec[i] = now_us() - t0;
    cpu[i] = cpu_us() - c0;
    if (nrows_of(&x) != want)
      die("decode", "row count changed");
    t0 = now_us();
    rows_free(&x);
    fre[i] = now_us() - t0;
  }
  double ms = median(dec, n) / 1e3;
  put_n("decode_rows", want);
  put_n("decode_bytes", (size_t)size);
  put_us("decode_ms", ms);
  put_us("decode_rows_per_s", (double)want / (ms / 1e3));
  put_us("free_ms", median(fre, n) / 1e3);
  put_us("decode_cpu_ms", median(cpu, n) / 1e3);

  for (int i = 0; i < n && !getenv("OSQ_BENCH_NO_PLIST"); i++) {
    osq_plist l;
    osq_plist_init(&l);
    osq_row_handler hp = osq_plist_handler(&l);
    double t0 = now_us();
    decode_into(bytes, (size_t)size, &hp, &st);
    dec[i] = now_us() - t0;
    if (l.n != want)
      die("decode", "plist row count differs");
    osq_plist_clear(&l);
  }
  put_us("decode_plist_ms", median(dec, n) / 1e3);
  osq_ext_status_clear(&st);
  free(dec);
  free(fre);
  free(cpu);
  free(bytes);
}


/* ---- serve: the anchor extension on osq's codec ---------------------------- */

static const char *const kName[8] = {"systemd-journald", "sshd", "postgres",
                                     "nginx", "python3", "containerd",
                                     "chrome", "bash"};
static const char *const kPath[8] = {
    "/usr/lib/systemd/systemd-journald", "/usr/sbin/sshd",
    "/usr/lib/postgresql/15/bin/postgres", "/usr/sbin/nginx",
    "/usr/bin/python3.11", "/usr/bin/containerd", "/opt/google/chrome/chrome",
    "/usr/bin/bash"};
static const char *const kArgs[8] = {"--no-daemon",         "-D -o LogLevel=INFO",
                                     "-D /var/lib/pg/main", "-g daemon off;",
                                     "-m http.server 8080", "--config /etc/ctr.toml",
                                     "--type=renderer",     "--login -i"};
static const char *const kState[4] = {"S (sleeping)", "R (running)", "I (idle)",
                                      "D (disk sleep)"};

typedef struct anchor_server {
  size_t rows;
  bool stop;
} anchor_server;

static int s_ping(void *u, osq_ext_status *out) {
  (void)u;
  osq_ext_status_set(out, 0, "pong", 0);
  return OSQ_OK;
}

static int s_call(void *u, const char *registry, const char *item,
                  const osq_strmap *req, osq_api_reply *rep) {
  anchor_server *a = u;
  (void)item;
  const char *action = osq_strmap_get(req, "action");
  if (strcmp(registry, "table") != 0 || !action ||
      strcmp(action, "generate") != 0) {
    osq_ext_status_set(&rep->status, 1, "unknown registry or action", 0);
    return OSQ_OK;
  }
  size_t n = a->rows;
  const char *rv = osq_strmap_get(req, "rows");
  if (rv) {
    size_t len = strlen(rv);
    char *end;
    unsigned long long v = strtoull(rv, &end, 10);
    if (len < 1 || len > 10 || *end || rv[0] < '0' || rv[0] > '9' ||
        v > 10000000) {
      osq_ext_status_set(&rep->status, 1, "bad rows value", 0);
      return OSQ_OK;
    }
    n = (size_t)v;
  }
  /* the 8 command lines repeat: built once, as any table would cache
   * them */
  char cmd[8][64];
  size_t cmdlen[8], namelen[8], pathlen[8], statelen[4];
  for (unsigned k = 0; k < 8; k++) {
    cmdlen[k] = (size_t)snprintf(cmd[k], sizeof cmd[k], "%s %s", kName[k], kArgs[k]);
    namelen[k] = strlen(kName[k]);
    pathlen[k] = strlen(kPath[k]);
    if (k < 4)
      statelen[k] = strlen(kState[k]);
  }
  for (size_t i = 0; i < n; i++) {
    unsigned k = (unsigned)(i % 8);
    char pid[24], *p = pid + sizeof pid;
    size_t v = 1000 + i;
    do
      *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    osq_api_reply_row_begin(rep);
    osq_api_reply_cell(rep, "cmdline", 7, cmd[k], cmdlen[k]);
    osq_api_reply_cell(rep, "name", 4, kName[k], namelen[k]);
    osq_api_reply_cell(rep, "path", 4, kPath[k], pathlen[k]);
    osq_api_reply_cell(rep, "pid", 3, p, (size_t)(pid + sizeof pid - p));
    osq_api_reply_cell(rep, "state", 5, kState[i % 4], statelen[i % 4]);
    osq_api_reply_row_end(rep);
  }
  osq_ext_status_set(&rep->status, 0, "OK", 0);
  return OSQ_OK;
}

static int s_shutdown(void *u) {
  ((anchor_server *)u)->stop = true;
  return OSQ_OK;
}

static int serve(const char *path, size_t rows) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path)
    die(path, "socket path too long");
  strcpy(sa.sun_path, path);
  unlink(path);
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      listen(lfd, 64) < 0)
    die(path, strerror(errno));
  anchor_server a = {.rows = rows};
  const osq_api_handlers h = {
      .ping = s_ping, .call = s_call, .shutdown = s_shutdown};
  while (!a.stop) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      die("accept", strerror(errno));
    }
    osq_tconn *c = osq_tconn_wrap(fd);
    while (!a.stop && osq_api_serve_one(c, &h, &a) == OSQ_OK)
      ;
    osq_tconn_close(c);
  }
  close(lfd);
  unlink(path);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && argc <= 5 && strcmp(argv[1], "bench") == 0) {
    char *end;
    unsigned long long n = strtoull(argv[3], &end, 10);
    if (*end || n > 10000000)
      die("bench", "ROWS must be a number up to 10000000");
    bench(argv[2], (size_t)n, argc == 5 ? argv[4] : NULL);
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "serve") == 0) {
    char *end;
    unsigned long long n = strtoull(argv[3], &end, 10);
    if (*end || n > 10000000)
      die("serve", "ROWS must be a number up to 10000000");
    return serve(argv[2], (size_t)n);
  }
  if (argc == 3 && strcmp(argv[1], "decode") == 0) {
    decode_bench(argv[2]);
    return 0;
  }
  fprintf(stderr, "usage: osq_anchor_client bench SOCKET ROWS [SAVE]\n"
                  "       osq_anchor_client decode FILE\n"
                  "       osq_anchor_client serve SOCKET ROWS\n");
  return 2;
}
