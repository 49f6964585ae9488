/* libFuzzer target: arbitrary bytes as a request to osq's Thrift server
 * (osq_api_serve_one with every handler present) and as the reply to each
 * client method. The first byte b picks the role; the rest is the stream.
 *
 *   b % 10 == 0      serve requests until the input ends or is rejected
 *   b % 10 == 1..9   decode a reply to ping, call, extensions, options,
 *                    registerExtension, deregisterExtension, query,
 *                    getQueryColumns, shutdown
 *   b / 10 bit 0     rows into an osq_plist instead of a counting handler
 *   b / 10 bit 1     a memory stream with a 64-byte buffer and reads of
 *                    1-13 bytes (with bits 0 and 3: 512 bytes, reads of
 *                    37-481), as from a socket (refills, strings longer
 *                    than the buffer, entries split between reads)
 *   b / 10 bit 2     thrift_string_size_limit 64
 *   b / 10 bit 3     rows into flat arrays (osq_cells_handler) instead;
 *                    with bit 0, the arrays grow with room to spare and
 *                    each row's names are expected in the next row (as
 *                    osq's callers do), so rows reach the bulk loop
 *
 * Each input costs at most one connection: anything but a crash, a leak or
 * an unbounded allocation is a pass. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "thrift/api.h"

/* Keep inputs' claims small enough for the fuzzer's RSS limit while still
 * crossing the 64 KiB read buffer. */
#define FUZZ_MAX_MESSAGE (4u << 20)

static int h_ping(void *u, osq_ext_status *out) {
  (void)u;
  osq_ext_status_set(out, 0, "pong", 1);
  return OSQ_OK;
}

static int h_call(void *u, const char *registry, const char *item,
                  const osq_strmap *req, osq_api_reply *rep) {
  (void)u;
  if (strcmp(registry, "fail") == 0)
    return OSQ_ERROR;
  osq_api_reply_add_strmap(rep, req);
  osq_api_reply_cell(rep, "item", 4, item, strlen(item));
  osq_api_reply_row_end(rep);
  osq_ext_status_set(&rep->status, 0, "OK", 0);
  return OSQ_OK;
}

static int h_shutdown(void *u) {
  (void)u;
  return OSQ_OK;
}

static int h_extensions(void *u, osq_ext_list *out) {
  (void)u;
  out->items = calloc(1, sizeof *out->items);
  if (out->items == NULL)
    return OSQ_ENOMEM;
  out->n = 1;
  out->items[0].uuid = 9;
  out->items[0].info.name = strdup("fuzz");
  return OSQ_OK;
}

static int h_options(void *u, osq_option_list *out) {
  (void)u;
  memset(out, 0, sizeof *out);
  return OSQ_OK;
}

static int h_register(void *u, const osq_ext_info *info,
                      const osq_route_table *routes, osq_ext_status *out) {
  (void)u;
  size_t cells = 0;
  for (size_t i = 0; i < routes->n; i++)
    for (size_t j = 0; j < routes->routes[i].info.n; j++)
      cells += osq_strmap_count(&routes->routes[i].info.rows[j]);
  osq_ext_status_set(out, info->name[0] ? 0 : 1, "OK", (int64_t)cells);
  return OSQ_OK;
}

static int h_deregister(void *u, int64_t uuid, osq_ext_status *out) {
  (void)u;
  osq_ext_status_set(out, uuid == 0, "OK", 0);
  return OSQ_OK;
}

static int h_query(void *u, const char *sql, osq_api_reply *rep) {
  (void)u;
  osq_api_reply_cell(rep, "sql", 3, sql, strlen(sql));
  osq_api_reply_row_end(rep);
  osq_ext_status_set(&rep->status, 0, "OK", 0);
  return OSQ_OK;
}

static const osq_api_handlers handlers = {
    h_ping,    h_call,       h_shutdown, h_extensions, h_options,
    h_register, h_deregister, h_query,   h_query};

static int count_cell(void *u, const char *k, size_t kl, const char *v,
                      size_t vl) {
  size_t *n = u;
  /* touch every byte so the sanitizer sees bad views */
  for (size_t i = 0; i < kl; i++)
    *n += (unsigned char)k[i];
  for (size_t i = 0; i < vl; i++)
    *n += (unsigned char)v[i];
  return OSQ_OK;
}

static int count_row(void *u) {
  (*(size_t *)u)++;
  return OSQ_OK;
}

/* osq_tr_cells callbacks: names that sometimes match, arrays that grow in
 * small steps so that room() is exercised; or (adopt) with room to spare
 * and the names of each row expected in the next */
static const char *const kNames[] = {"a", "bb", "pid", "name", "cmdline",
                                     "0123456789abcdef0"};
static const uint32_t kNameLen[] = {1, 2, 3, 4, 7, 17};

#define ADOPT_COLS 16
#define ADOPT_KEY 32

typedef struct cells_ctx {
  size_t sum;
  bool adopt;
  bool fits;                     /* every name() of this row was kept */
  char next[ADOPT_COLS][ADOPT_KEY]; /* the keys name() saw in this row */
  uint32_t next_len[ADOPT_COLS];
  bool named[ADOPT_COLS];
  char keys[ADOPT_COLS][ADOPT_KEY]; /* the names expected */
  const char *names[ADOPT_COLS];
  uint32_t name_len[ADOPT_COLS];
} cells_ctx;

static int cells_name(osq_tr_cells *t, size_t col, const char *k, size_t kl) {
  cells_ctx *x = t->u;
  x->sum += col;
  for (size_t i = 0; i < kl; i++)
    x->sum += (unsigned char)k[i];
  if (col < ADOPT_COLS && kl < ADOPT_KEY) {
    memcpy(x->next[col], k, kl);
    x->next_len[col] = (uint32_t)kl;
    x->named[col] = true;
  } else {
    x->fits = false;
  }
  return OSQ_OK;
}

static int cells_room(osq_tr_cells *t, size_t vbytes) {
  cells_ctx *x = t->u;
  size_t more = x->adopt ? 4096 : 7, emore = x->adopt ? 256 : 3,
         rmore = x->adopt ? 64 : 2;
  char *v = realloc(t->vals, t->vcap + vbytes + more);
  if (v == NULL)
    return OSQ_ENOMEM;
  t->vals = v;
  t->vcap += vbytes + more;
  uint32_t *e = realloc(t->ends, (t->ecap + emore) * sizeof *e);
  if (e == NULL)
    return OSQ_ENOMEM;
  t->ends = e;
  t->ecap += emore;
  uint32_t *re = realloc(t->row_ends, (t->rcap + rmore) * sizeof *re);
  if (re == NULL)
    return OSQ_ENOMEM;
  t->row_ends = re;
  t->rcap += rmore;
  return OSQ_OK;
}

/* The row just ended's names become the ones expected, when all fit. */
static void cells_adopt(osq_tr_cells *t, cells_ctx *x, size_t ncells) {
  bool ok = x->fits && ncells <= ADOPT_COLS;
  for (size_t c = 0; ok && c < ncells; c++)
    if (!x->named[c] && (c >= t->nnames || t->name_len[c] >= ADOPT_KEY))
      ok = false;
  if (ok) {
    for (size_t c = 0; c < ncells; c++) {
      if (x->named[c]) {
        memcpy(x->keys[c], x->next[c], x->next_len[c]);
        x->name_len[c] = x->next_len[c];
      } else if (t->names[c] != x->keys[c]) {
        memcpy(x->keys[c], t->names[c], t->name_len[c]);
        x->name_len[c] = t->name_len[c];
      }
      x->names[c] = x->keys[c];
    }
    t->names = x->names;
    t->name_len = x->name_len;
    t->nnames = ncells;
  }
  memset(x->named, 0, sizeof x->named);
  x->fits = true;
}

static int cells_row_end(osq_tr_cells *t, size_t ncells) {
  cells_ctx *x = t->u;
  /* every value of the row, through its offsets */
  size_t first = t->nrows > 1 ? t->row_ends[t->nrows - 2] : 0;
  if (t->nrows == 0 || t->row_ends[t->nrows - 1] - first != ncells)
    abort(); /* the row just ended has ncells cells */
  for (size_t c = first; c < t->nends; c++) {
    uint32_t start = c ? t->ends[c - 1] : 0;
    for (uint32_t i = start; i < t->ends[c]; i++)
      x->sum += (unsigned char)t->vals[i];
  }
  if (x->adopt)
    cells_adopt(t, x, ncells);
  return OSQ_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int mode = data[0] % 10, variant = data[0] / 10;
  osq_twriter out;
  osq_tw_init(&out);
  osq_tconn *c =
      variant & 2
          ? osq_tconn_memory_stream(data + 1, size - 1, &out,
                                    (variant & 9) == 9 ? 512 : 64,
                                    ((variant & 9) == 9 ? 37 : 1) *
                                        (1 + (size_t)data[0] % 13))
          : osq_tconn_memory(data + 1, size - 1, &out);
  if (c == NULL)
    return 0;
  osq_tconn_set_max_message(c, FUZZ_MAX_MESSAGE);
  if (variant & 4)
    osq_tconn_set_string_limit(c, 64);
  char msg[256];
  osq_ext_status st = {0};
  size_t sum = 0;
  osq_row_handler counter = {count_cell, count_row, &sum};
  osq_plist l;
  osq_plist_init(&l);
  osq_row_handler plist = osq_plist_handler(&l);
  static cells_ctx cx; /* reset for each input */
  memset(&cx, 0, sizeof cx);
  cx.adopt = (variant & 9) == 9;
  cx.fits = true;
  osq_tr_cells cells = {.names = kNames,
                        .name_len = kNameLen,
                        .nnames = 6,
                        .name = cells_name,
                        .room = cells_room,
                        .row_end = cells_row_end,
                        .u = &cx};
  osq_row_handler flat = osq_cells_handler(&cells);
  const osq_row_handler *rows =
      variant & 8 ? &flat : variant & 1 ? &plist : &counter;
  switch (mode) {
  case 0:
    for (int i = 0; i < 64 && osq_api_serve_one(c, &handlers, NULL) == OSQ_OK; i++)
      ;
    break;
  case 1:
    osq_api_ping(c, &st, msg, sizeof msg);
    break;
  case 2:
    osq_api_call(c, "table", "t", NULL, &st, rows, msg, sizeof msg);
    break;
  case 3: {
    osq_ext_list el;
    osq_api_extensions(c, &el, msg, sizeof msg);
    osq_ext_list_clear(&el);
    break;
  }
  case 4: {
    osq_option_list ol;
    osq_api_options(c, &ol, msg, sizeof msg);
    osq_option_list_clear(&ol);
    break;
  }
  case 5: {
    osq_ext_info info = {"fuzz", "1", "5.12.1", "0.0.0"};
    osq_api_register(c, &info, NULL, &st, msg, sizeof msg);
    break;
  }
  case 6:
    osq_api_deregister(c, 1, &st, msg, sizeof msg);
    break;
  case 7:
    osq_api_query(c, "select 1", &st, rows, msg, sizeof msg);
    break;
  case 8:
    osq_api_get_query_columns(c, "select 1", &st, rows, msg, sizeof msg);
    break;
  case 9:
    osq_api_shutdown(c, msg, sizeof msg);
    break;
  }
  osq_plist_clear(&l);
  free(cells.vals);
  free(cells.ends);
  free(cells.row_ends);
  osq_ext_status_clear(&st);
  osq_tconn_close(c);
  osq_tw_free(&out);
  return 0;
}
