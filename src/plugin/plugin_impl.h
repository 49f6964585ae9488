/* Internals behind the opaque types of include/osq/plugin.h, shared by the
 * core and libosqext: row sinks, query contexts and string maps.
 *
 * Threads: an object is used by one thread at a time (its owner's). */
#ifndef OSQ_PLUGIN_IMPL_H
#define OSQ_PLUGIN_IMPL_H

#include <osq/plugin.h>

/* A row sink is a small vtable: the SQLite cursor store, the Thrift
 * response encoder and the test collectors each implement it. */
struct osq_rows_ops {
  int (*cell)(void *self, size_t col, const osq_value *v);
  int (*rowid)(void *self, int64_t rowid); /* may be NULL */
  int (*end)(void *self);
};

struct osq_rows {
  const struct osq_rows_ops *ops;
  void *self;
  size_t ncolumns;
  bool failed;
  char error[512];
};

void osq_rows_init(osq_rows *r, const struct osq_rows_ops *ops, void *self,
                   size_t ncolumns);
/* The message recorded by osq_rows_error, or NULL. */
const char *osq_rows_message(const osq_rows *r);

/* ---- errors (error.c) --------------------------------------------------- */

/* Before calling a plugin callback: a mark for osq_error_since. */
uint64_t osq_error_mark(void);
/* What osq_error() said on this thread since mark, or NULL. Read it only
 * when the callback failed: a callback may recover from a failure it was
 * told about and still succeed. */
const char *osq_error_since(uint64_t mark);
/* Why a callback failed: own (its API 1 message: osq_rows_message,
 * osq_strmap_message, osq_write.message) when set, else osq_error()'s
 * since mark, else fallback. */
const char *osq_error_reason(const char *own, uint64_t mark,
                             const char *fallback);

/* ---- query context ------------------------------------------------------ */

#define OSQ_CONTEXT_MAX_CONSTRAINTS 65536 /* per column, from outside input */

struct osq_context_column {
  osq_constraint *items;
  size_t n, cap;
};

struct osq_context {
  const osq_column *columns;
  size_t ncolumns;
  struct osq_context_column *cons;
  uint8_t *used;   /* one flag per column */
  bool used_known; /* false: every column counts as used */
};

osq_context *osq_context_new(const osq_column *columns, size_t ncolumns);
void osq_context_free(osq_context *ctx);
/* Copies expr. */
int osq_context_add(osq_context *ctx, size_t col, int op, const char *expr,
                    size_t len);
void osq_context_set_used(osq_context *ctx, size_t col, bool used);
/* The JSON osquery sends as the "context" of a generate request. Caller
 * frees. */
char *osq_context_to_json(const osq_context *ctx);
/* Parse osquery's context JSON (op as number or string, list as array or
 * ""). Columns not in `columns` are ignored. On failure returns NULL and
 * puts the reason in err. */
osq_context *osq_context_from_json(const char *json, size_t len,
                                   const osq_column *columns, size_t ncolumns,
                                   char *err, size_t errlen);

/* ---- string maps ------------------------------------------------------- */

#define OSQ_STRMAP_MAX_ENTRIES (1u << 20)

struct osq_strmap_entry {
  char *key;
  char *val;
  size_t len;
};

struct osq_strmap {
  struct osq_strmap_entry *e;
  size_t n, cap;
  bool failed;
  char error[512];
};

void osq_strmap_init(osq_strmap *m);
void osq_strmap_clear(osq_strmap *m); /* frees entries, keeps it usable */
const char *osq_strmap_message(const osq_strmap *m);

/* Column-set helpers for table plugins */
int osq_column_find(const osq_column *cols, size_t n, const char *name);



/* ---- plugin responses: osquery's PluginResponse, a list of string maps -- */

typedef struct osq_plist {
  osq_strmap *rows;
  size_t n, cap;
} osq_plist;

void osq_plist_init(osq_plist *l);
void osq_plist_clear(osq_plist *l);
/* Append an empty row and return it (NULL on OOM or past the bound). */
osq_strmap *osq_plist_add(osq_plist *l);
#define OSQ_PLIST_MAX_ROWS (1u << 26)
#endif
