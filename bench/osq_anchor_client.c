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
 * (an arena plus a cell index), as Thrift's Response does; extra keys:
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
 * A row is stored like a SQLite record: its values packed one after the
 * other (each NUL-terminated) in an arena, then a footer with the cells'
 * key ids and value lengths. Column names repeat in every row, so each
 * distinct key is copied once and cells refer to it by index, as a C
 * caller keeping column names would. row_value() walks to a cell. */

typedef struct cell {
  uint32_t key; /* index into rows.keys */
  uint32_t vl;
} cell;

typedef struct row {
  struct row *next;
  const char *values;
  uint32_t n, bytes;
  cell c[];
} row;

typedef struct chunk {
  struct chunk *next;
  size_t used, cap;
  _Alignas(16) char data[];
} chunk;

#define MAX_KEYS 256

typedef struct rows {
  chunk *chunks;
  row *first, **tail;
  size_t nrows;
  /* the row being decoded */
  cell *cur;
  size_t ncur, cur_cap;
  char *vstart; /* its values so far, in the current chunk */
  size_t vbytes;
  /* distinct keys, owned */
  const char *keys[MAX_KEYS];
  uint32_t key_len[MAX_KEYS];
  size_t nkeys;
} rows;

/* The first chunk is 64 KiB from malloc (a 1-row reply needs no more);
 * later ones are 2 MiB mappings advised as huge pages, so a large reply
 * costs a few page faults instead of one per 4 KiB. */
#define SMALL_CHUNK ((size_t)64 * 1024)
#define BIG_CHUNK ((size_t)2 * 1024 * 1024)

/* Big chunks a freed reply gave back, kept for the next one as malloc
 * keeps freed memory (the C++ anchor's Response is freed into malloc's
 * heap between its decodes too): a reply then costs no fresh pages. */
#define POOL_MAX 64
static chunk *pool[POOL_MAX];
static size_t npool;

static chunk *new_chunk(rows *r, size_t n) {
  size_t size = r->chunks == NULL ? SMALL_CHUNK : BIG_CHUNK;
  if (n + sizeof(chunk) > size)
    size = (n + sizeof(chunk) + BIG_CHUNK - 1) & ~(BIG_CHUNK - 1);
  chunk *c;
  if (size == BIG_CHUNK && npool > 0) {
    c = pool[--npool];
  } else if (size == SMALL_CHUNK) {
    c = malloc(size);
    if (c == NULL)
      die("decode", "out of memory");
  } else {
    /* 2 MiB-aligned so the kernel can back it with huge pages */
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
    c = (chunk *)a;
  }
  c->next = r->chunks;
  c->used = 0;
  c->cap = size - sizeof *c;
  r->chunks = c;
  return c;
}

/* n bytes aligned to 8, after the current row's values */
static void *arena_alloc(rows *r, size_t n) {
  chunk *c = r->chunks;
  size_t at = c ? (c->used + 7) & ~(size_t)7 : 0;
  if (c == NULL || at > c->cap || c->cap - at < n) {
    c = new_chunk(r, n);
    at = 0;
  }
  c->used = at + n;
  return c->data + at;
}

static inline bool same(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i])
      return false;
  return true;
}

static inline uint32_t load32(const char *p) {
  uint32_t x;
  memcpy(&x, p, 4);
  return x;
}

static inline uint16_t load16(const char *p) {
  uint16_t x;
  memcpy(&x, p, 2);
  return x;
}

/* a[0..n) == b[0..n): two overlapping loads cover 2..8 bytes, which is
 * every column name of the anchor (and most of osquery's). */
static inline bool same_short(const char *a, const char *b, size_t n) {
  if (n >= 4 && n <= 8)
    return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
  if (n >= 2 && n < 4)
    return load16(a) == load16(b) && load16(a + n - 2) == load16(b + n - 2);
  return same(a, b, n);
}

static uint32_t intern_key(rows *r, const char *k, size_t kl, size_t col) {
  if (col < r->nkeys && r->key_len[col] == kl && same(r->keys[col], k, kl))
    return (uint32_t)col;
  for (size_t i = 0; i < r->nkeys; i++)
    if (r->key_len[i] == kl && memcmp(r->keys[i], k, kl) == 0)
      return (uint32_t)i;
  if (r->nkeys == MAX_KEYS)
    die("decode", "more distinct column names than this bench keeps");
  char *d = malloc(kl + 1); /* not in the arena: a row's values are there */
  if (d == NULL)
    die("decode", "out of memory");
  memcpy(d, k, kl);
  d[kl] = '\0';
  r->keys[r->nkeys] = d;
  r->key_len[r->nkeys] = (uint32_t)kl;
  return (uint32_t)r->nkeys++;
}

/* Every case but the common one: a new column name, a full cell index or a
 * full chunk. Out of line, so the common case stays a leaf. */
static __attribute__((noinline)) int rows_cell_slow(rows *r, const char *k,
                                                    size_t kl, const char *v,
                                                    size_t vl) {
  if (r->ncur == r->cur_cap) {
    r->cur_cap = r->cur_cap ? r->cur_cap * 2 : 16;
    r->cur = realloc(r->cur, r->cur_cap * sizeof *r->cur);
    if (r->cur == NULL)
      return OSQ_ENOMEM;
  }
  uint32_t key = intern_key(r, k, kl, r->ncur);
  chunk *c = r->chunks;
  if (c == NULL || c->cap - c->used <= vl) {
    /* the row's values stay contiguous: move them to a fresh chunk */
    chunk *n = new_chunk(r, r->vbytes + vl + 1);
    if (r->vbytes)
      memcpy(n->data, r->vstart, r->vbytes);
    r->vstart = n->data;
    n->used = r->vbytes;
    c = n;
  }
  char *d = c->data + c->used;
  if (r->vbytes == 0)
    r->vstart = d;
  memcpy(d, v, vl);
  d[vl] = '\0';
  c->used += vl + 1;
  r->vbytes += vl + 1;
  r->cur[r->ncur++] = (cell){key, (uint32_t)vl};
  return OSQ_OK;
}

static inline void store64(char *p, uint64_t x) { memcpy(p, &x, 8); }
static inline uint64_t load64(const char *p) {
  uint64_t x;
  memcpy(&x, p, 8);
  return x;
}
static inline void store32(char *p, uint32_t x) { memcpy(p, &x, 4); }

typedef struct {
  char b[16];
} block16;

/* Copy n bytes without a call, so that the per-cell path stays a leaf:
 * 16-byte blocks and one last block that ends exactly at n (it may
 * overlap the one before); shorter values with two overlapping loads.
 * Nothing is read outside v[0..n). */
static inline void copy_value(char *d, const char *v, size_t n) {
  if (n >= 16) {
    block16 t;
    for (size_t i = 0; i + 16 < n; i += 16) {
      memcpy(&t, v + i, 16);
      memcpy(d + i, &t, 16);
    }
    memcpy(&t, v + n - 16, 16);
    memcpy(d + n - 16, &t, 16);
  } else if (n >= 8) {
    uint64_t a = load64(v), b = load64(v + n - 8);
    store64(d, a);
    store64(d + n - 8, b);
  } else if (n >= 4) {
    uint32_t a = load32(v), b = load32(v + n - 4);
    store32(d, a);
    store32(d + n - 4, b);
  } else {
    for (size_t i = 0; i < n; i++)
      d[i] = v[i];
  }
}

/* The common case: the column name is the one this column had before,
 * and the value fits in the current chunk. */
static int rows_cell(void *u, const char *k, size_t kl, const char *v,
                     size_t vl) {
  rows *r = u;
  size_t col = r->ncur;
  chunk *c = r->chunks;
  if (__builtin_expect(col >= r->cur_cap || col >= r->nkeys || c == NULL ||
                           c->cap - c->used <= vl || r->key_len[col] != kl ||
                           !same_short(r->keys[col], k, kl),
                       0))
    return rows_cell_slow(r, k, kl, v, vl);
  char *d = c->data + c->used;
  if (r->vbytes == 0)
    r->vstart = d;
  copy_value(d, v, vl);
  d[vl] = '\0';
  c->used += vl + 1;
  r->vbytes += vl + 1;
  r->cur[col] = (cell){(uint32_t)col, (uint32_t)vl};
  r->ncur = col + 1;
  return OSQ_OK;
}

static int rows_row_end(void *u) {
  rows *r = u;
  row *w = arena_alloc(r, sizeof *w + r->ncur * sizeof(cell));
  w->next = NULL;
  w->values = r->vbytes ? r->vstart : "";
  w->n = (uint32_t)r->ncur;
  w->bytes = (uint32_t)r->vbytes;
  memcpy(w->c, r->cur, r->ncur * sizeof(cell));
  if (r->tail == NULL)
    r->tail = &r->first;
  *r->tail = w;
  r->tail = &w->next;
  r->nrows++;
  r->ncur = 0;
  r->vbytes = 0;
  return OSQ_OK;
}

/* Cell i of a row: its column name and value. */
static const char *row_value(const rows *r, const row *w, size_t i,
                             const char **key) {
  const char *v = w->values;
  for (size_t j = 0; j < i; j++)
    v += w->c[j].vl + 1;
  *key = r->keys[w->c[i].key];
  return v;
}

static void rows_free(rows *r) {
  while (r->chunks) {
    chunk *c = r->chunks, *n = c->next;
    if (c->cap + sizeof *c == SMALL_CHUNK)
      free(c);
    else if (c->cap + sizeof *c == BIG_CHUNK && npool < POOL_MAX)
      pool[npool++] = c;
    else
      munmap(c, c->cap + sizeof *c);
    r->chunks = n;
  }
  free(r->cur);
  for (size_t i = 0; i < r->nkeys; i++)
    free((char *)r->keys[i]);
  memset(r, 0, sizeof *r);
}

static size_t row_cells(const rows *r, size_t i) {
  const row *w = r->first;
  while (i-- > 0 && w)
    w = w->next;
  return w ? w->n : 0;
}

static void check_rows(const rows *r, const osq_ext_status *st, size_t want) {
  char why[128];
  if (st->code != 0) {
    snprintf(why, sizeof why, "status %d %s", st->code, st->message);
    die("call", why);
  }
  if (r->nrows != want) {
    snprintf(why, sizeof why, "got %zu rows, want %zu", r->nrows, want);
    die("call", why);
  }
  if (want > 0 && row_cells(r, 0) != 5)
    die("call", "a row does not have 5 columns");
  if (want > 0) {
    const char *key, *v = row_value(r, r->first, 3, &key);
    if (strcmp(key, "pid") != 0 || strcmp(v, "1000") != 0)
      die("call", "row 0 is not the anchor's first row");
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
  osq_row_handler h = {rows_cell, rows_row_end, out};
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
  osq_row_handler h = {rows_cell, rows_row_end, &r};
  decode_into(bytes, (size_t)size, &h, &st); /* warm-up and check */
  size_t want = r.nrows;
  check_rows(&r, &st, want);
  rows_free(&r);

  int n = iterations(20);
  double *dec = malloc(sizeof(double) * (size_t)n);
  double *fre = malloc(sizeof(double) * (size_t)n);
  double *cpu = malloc(sizeof(double) * (size_t)n);
  for (int i = 0; i < n; i++) {
    rows x = {0};
    osq_row_handler hx = {rows_cell, rows_row_end, &x};
    double c0 = cpu_us(), t0 = now_us();
    decode_into(bytes, (size_t)size, &hx, &st);
    dec[i] = now_us() - t0;
    cpu[i] = cpu_us() - c0;
    if (x.nrows != want)
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
