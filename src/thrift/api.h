/* osquery's extensions API (osquery.thrift) on top of thrift.h: the
 * Extension and ExtensionManager services, encoded in one place.
 *
 *   struct InternalOptionInfo { 1: string value, 2: string default_value,
 *                               3: string type }
 *   struct InternalExtensionInfo { 1: string name, 2: string version,
 *                                  3: string sdk_version,
 *                                  4: string min_sdk_version }
 *   struct ExtensionStatus { 1: i32 code, 2: string message, 3: i64 uuid }
 *   struct ExtensionResponse { 1: ExtensionStatus status,
 *                              2: list<map<string,string>> response }
 *   service Extension { ExtensionStatus ping(),
 *     ExtensionResponse call(1: string registry, 2: string item,
 *                            3: map<string,string> request),
 *     void shutdown() }
 *   service ExtensionManager extends Extension {
 *     map<i64, InternalExtensionInfo> extensions(),
 *     map<string, InternalOptionInfo> options(),
 *     ExtensionStatus registerExtension(1: InternalExtensionInfo info,
 *        2: map<string, map<string, list<map<string,string>>>> registry),
 *     ExtensionStatus deregisterExtension(1: i64 uuid),
 *     ExtensionResponse query(1: string sql),
 *     ExtensionResponse getQueryColumns(1: string sql) }
 *
 * Thread-safe: any thread; a connection is used by one thread at a time.
 */
#ifndef OSQ_API_H
#define OSQ_API_H

#include "../plugin/plugin_impl.h"
#include "thrift.h"

#include <string.h>

typedef struct osq_ext_status {
  int32_t code;  /* 0 success, 1 failed, 2 fatal */
  char *message; /* malloc'd, may be NULL when decoding a sparse reply */
  int64_t uuid;
} osq_ext_status;

void osq_ext_status_set(osq_ext_status *s, int32_t code, const char *message,
                        int64_t uuid);
void osq_ext_status_clear(osq_ext_status *s);

typedef struct osq_ext_info {
  char *name, *version, *sdk_version, *min_sdk_version; /* never NULL after
                                                           decoding */
} osq_ext_info;
void osq_ext_info_clear(osq_ext_info *i);

/* One extension in extensions(). */
typedef struct osq_ext_entry {
  int64_t uuid;
  osq_ext_info info;
} osq_ext_entry;

typedef struct osq_ext_list {
  osq_ext_entry *items;
  size_t n;
} osq_ext_list;
void osq_ext_list_clear(osq_ext_list *l);

typedef struct osq_option {
  char *name, *value, *default_value, *type;
} osq_option;
typedef struct osq_option_list {
  osq_option *items;
  size_t n;
} osq_option_list;
void osq_option_list_clear(osq_option_list *l);

/* registerExtension's broadcast: registry -> item -> route info rows. */
typedef struct osq_route {
  char *registry;
  char *item;
  osq_plist info;
} osq_route;
typedef struct osq_route_table {
  osq_route *routes;
  size_t n;
  /* registry names that came with an empty route table */
  char **empty_registries;
  size_t nempty;
} osq_route_table;
void osq_route_table_clear(osq_route_table *t);

/* ---- receiving rows: ExtensionResponse.response as a stream ------------- */

/* Rows are handed over cell by cell as they are decoded, so a large reply
 * is never held twice. Key and value views are valid during the call. */
typedef struct osq_row_handler {
  int (*cell)(void *u, const char *key, size_t klen, const char *val,
              size_t vlen);
  int (*row_end)(void *u);
  void *u;
} osq_row_handler;

/* A handler that collects into an osq_plist (one malloc'd string map per
 * row, at most 4096 cells a row: OSQ_ERANGE past that). Convenient for
 * small replies (config, logger, registry calls); a large table scan is
 * ~30x cheaper through a handler of its own that keeps what it needs. */
osq_row_handler osq_plist_handler(osq_plist *l);

/* A handler that keeps the rows in t's flat arrays (osq_tr_cells in
 * thrift.h): the bulk path for a large reply, no call per cell. */
osq_row_handler osq_cells_handler(osq_tr_cells *t);

/* ---- client side: one request/reply on an open connection --------------- */

/* Each returns OSQ_OK when a reply was decoded (check status->code), or a
 * negative error with osq_tconn_error() / msg saying why (a
 * TApplicationException's message is reported as OSQ_EPROTO with its
 * text in msg). The connection is unusable after an error. */
int osq_api_ping(osq_tconn *c, osq_ext_status *status, char *msg,
                 size_t msglen);
int osq_api_call(osq_tconn *c, const char *registry, const char *item,
                 const osq_strmap *request, osq_ext_status *status,
                 const osq_row_handler *rows, char *msg, size_t msglen);
int osq_api_shutdown(osq_tconn *c, char *msg, size_t msglen);
int osq_api_extensions(osq_tconn *c, osq_ext_list *out, char *msg,
                       size_t msglen);
int osq_api_options(osq_tconn *c, osq_option_list *out, char *msg,
                    size_t msglen);
/* routes: registry -> item -> info, as above (empty_registries are sent
 * as empty maps). */
int osq_api_register(osq_tconn *c, const osq_ext_info *info,
                     const osq_route_table *routes, osq_ext_status *status,
                     char *msg, size_t msglen);
int osq_api_deregister(osq_tconn *c, int64_t uuid, osq_ext_status *status,
                       char *msg, size_t msglen);
int osq_api_query(osq_tconn *c, const char *sql, osq_ext_status *status,
                  const osq_row_handler *rows, char *msg, size_t msglen);
int osq_api_get_query_columns(osq_tconn *c, const char *sql,
                              osq_ext_status *status,
                              const osq_row_handler *rows, char *msg,
                              size_t msglen);

/* ---- server side -------------------------------------------------------- */

/* Builds an ExtensionResponse while rows are produced: rows are encoded
 * straight into Thrift (map<string,string> per row) and the status is
 * written in front of them when the reply is sent. */
typedef struct osq_api_reply {
  osq_twriter rows; /* encoded rows (list body) */
  size_t nrows;
  size_t row_map_count_at; /* offset of the current row's map count */
  int32_t row_cells;
  bool in_row;
  osq_ext_status status;
} osq_api_reply;

void osq_api_reply_init(osq_api_reply *r);
void osq_api_reply_free(osq_api_reply *r);
void osq_api_reply_row_begin(osq_api_reply *r);
void osq_api_reply_cell(osq_api_reply *r, const char *key, size_t klen,
                        const char *val, size_t vlen);
void osq_api_reply_row_end(osq_api_reply *r);
void osq_api_reply_add_strmap(osq_api_reply *r, const osq_strmap *row);
/* Drop the rows (a failed call sends none, as osquery does). */
void osq_api_reply_discard_rows(osq_api_reply *r);

/* Rows encoded into a caller's buffer, for a producer that batches them
 * (the dispatcher: one append per 64 KiB, not one call per cell). The
 * caller reserves OSQ_API_ROW_HEAD bytes for a row's head and
 * osq_api_cell_size() for each cell, patches the row's cell count when
 * it ends, appends finished rows with osq_api_reply_append and counts
 * them in nrows. The bytes are those osq_api_reply_cell writes. */
#define OSQ_API_ROW_HEAD 6 /* map<string,string>: two types and a count */

static inline size_t osq_api_cell_size(size_t klen, size_t vlen) {
  return 8 + klen + vlen; /* two i32 lengths and the bytes */
}

static inline void osq_api_put_be32(char *p, uint32_t v) {
  p[0] = (char)(v >> 24);
  p[1] = (char)(v >> 16);
  p[2] = (char)(v >> 8);
  p[3] = (char)v;
}

/* A row head with its count to be patched by osq_api_row_count. */
static inline void osq_api_row_head(char *dst) {
  dst[0] = OSQ_TT_STRING;
  dst[1] = OSQ_TT_STRING;
}

static inline void osq_api_row_count(char *head, uint32_t ncells) {
  osq_api_put_be32(head + 2, ncells);
}

/* One key/value cell; returns the bytes written (osq_api_cell_size). */
static inline __attribute__((always_inline)) size_t
osq_api_put_cell(char *dst, const char *key, size_t klen, const char *val,
                 size_t vlen) {
  osq_api_put_be32(dst, (uint32_t)klen);
  memcpy(dst + 4, key, klen);
  osq_api_put_be32(dst + 4 + klen, (uint32_t)vlen);
  memcpy(dst + 8 + klen, val, vlen);
  return osq_api_cell_size(klen, vlen);
}

void osq_api_reply_append(osq_api_reply *r, const void *rows, size_t len);

/* What a server implements. A NULL manager method answers
 * TApplicationException UNKNOWN_METHOD ("Invalid method name: 'x'"), so an
 * extension server leaves them NULL. A handler returning non-OSQ_OK makes
 * the reply a TApplicationException(INTERNAL_ERROR). */
typedef struct osq_api_handlers {
  int (*ping)(void *u, osq_ext_status *out);
  int (*call)(void *u, const char *registry, const char *item,
              const osq_strmap *request, osq_api_reply *reply);
  int (*shutdown)(void *u);
  int (*extensions)(void *u, osq_ext_list *out);
  int (*options)(void *u, osq_option_list *out);
  int (*register_extension)(void *u, const osq_ext_info *info,
                            const osq_route_table *routes,
                            osq_ext_status *out);
  int (*deregister_extension)(void *u, int64_t uuid, osq_ext_status *out);
  int (*query)(void *u, const char *sql, osq_api_reply *reply);
  int (*get_query_columns)(void *u, const char *sql, osq_api_reply *reply);
} osq_api_handlers;

/* Read one request from c, dispatch it, send the reply (seqid echoed, field
 * 0 always present). Returns OSQ_OK to keep serving this connection,
 * OSQ_ECLOSED when the peer closed cleanly between messages, or another
 * negative error (malformed input: the caller drops the connection). */
int osq_api_serve_one(osq_tconn *c, const osq_api_handlers *h, void *u);

#endif
