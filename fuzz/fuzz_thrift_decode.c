/* libFuzzer target: arbitrary bytes as a request to osq's Thrift server
 * (osq_api_serve_one with every handler present) and as the reply to each
 * client method. The first byte b picks the role; the rest is the stream.
 *
 *   b % 10 == 0      serve requests until the input ends or is rejected
 *   b % 10 == 1..9   decode a reply to ping, call, extensions, options,
 *                    registerExtension, deregisterExtension, query,
 *                    getQueryColumns, shutdown
 *   b / 10 bit 0     rows into an osq_plist instead of a counting handler
 *   b / 10 bit 1     a memory stream with a 64-byte buffer and short reads,
 *                    as from a socket (refills, strings longer than the
 *                    buffer, entries split between reads)
 *   b / 10 bit 2     thrift_string_size_limit 64
 *   b / 10 bit 3     rows into flat arrays (osq_cells_handler) instead
 *
 * Each input costs at most one connection: anything but a crash, a leak or
 * an unbounded allocation is a pass. */
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
 * small steps so that room() is exercised */
static const char *const kNames[] = {"a", "bb", "pid", "name", "cmdline",
                                     "0123456789abcdef0"};
static const uint32_t kNameLen[] = {1, 2, 3, 4, 7, 17};

static int cells_name(osq_tr_cells *t, size_t col, const char *k, size_t kl) {
  size_t *n = t->u;
  *n += col;
  for (size_t i = 0; i < kl; i++)
    *n += (unsigned char)k[i];
  return OSQ_OK;
}

static int cells_room(osq_tr_cells *t, size_t vbytes) {
  char *v = realloc(t->vals, t->vcap + vbytes + 7);
  if (v == NULL)
    return OSQ_ENOMEM;
  t->vals = v;
  t->vcap += vbytes + 7;
  uint32_t *e = realloc(t->ends, (t->ecap + 3) * sizeof *e);
  if (e == NULL)
    return OSQ_ENOMEM;
  t->ends = e;
  t->ecap += 3;
  uint32_t *re = realloc(t->row_ends, (t->rcap + 2) * sizeof *re);
  if (re == NULL)
    return OSQ_ENOMEM;
  t->row_ends = re;
  t->rcap += 2;
  return OSQ_OK;
}

static int cells_row_end(osq_tr_cells *t, size_t ncells) {
  size_t *n = t->u;
  /* every value of the row, through its offsets */
  size_t first = t->nrows > 1 ? t->row_ends[t->nrows - 2] : 0;
  if (t->nrows == 0 || t->row_ends[t->nrows - 1] - first != ncells)
    abort(); /* the row just ended has ncells cells */
  for (size_t c = first; c < t->nends; c++) {
    uint32_t start = c ? t->ends[c - 1] : 0;
    for (uint32_t i = start; i < t->ends[c]; i++)
      *n += (unsigned char)t->vals[i];
  }
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
          ? osq_tconn_memory_stream(data + 1, size - 1, &out, 64,
                                    1 + (size_t)data[0] % 13)
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
  osq_tr_cells cells = {.names = kNames,
                        .name_len = kNameLen,
                        .nnames = 6,
                        .name = cells_name,
                        .room = cells_room,
                        .row_end = cells_row_end,
                        .u = &sum};
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
