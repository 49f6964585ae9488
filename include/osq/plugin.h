/*
 * osq plugin interface: tables, config sources, loggers and distributed
 * query sources.
 *
 * The same structs serve plugins compiled into osq and plugins compiled
 * into an extension with libosqext. The core never learns which home a
 * plugin has: a table that lives in another process is registered as an
 * osq_table_plugin whose generate() makes the Thrift call.
 *
 * Conventions: every public name starts with osq_/OSQ_; strings are UTF-8
 * and, unless a length is given, NUL-terminated.
 *
 * Errors, one convention for functions and callbacks alike: the return
 * value is OSQ_OK (0) or a negative OSQ_E* code, and the reason, when
 * there is more to say than the code, is a message set with osq_error()
 * on the calling thread. A callback that fails calls osq_error() before it
 * returns its code; the core reports that message (osquery's status
 * message). A libosqext function that fails sets the message its caller
 * reads with osq_last_error(). osq_rows_error(), osq_strmap_error() and
 * osq_write.message are API 1's spellings of the same thing; they still
 * work.
 *
 * Versions: OSQ_API_VERSION is the layout of the structs below. A struct
 * may gain fields at its end in a later version, never lose or move one.
 * libosqext learns the version and struct size an extension was compiled
 * with when a plugin is added (osq_extension_add_* are macros that pass
 * them) and reads only the fields that version has: fields the extension
 * does not know read as zero/NULL. osq_api_version() is the library's.
 *
 * Threads: callbacks run on any thread, concurrently; rows/context: caller's.
 */
#ifndef OSQ_PLUGIN_H
#define OSQ_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1: the first layout. 2: osq_table_plugin.description. */
#define OSQ_API_VERSION 2

/* The OSQ_API_VERSION of the library (or core) running this code. */
int osq_api_version(void);

/* Result codes: every one is zero or negative. A write callback returns
 * OSQ_OK or one of OSQ_READONLY, OSQ_CONSTRAINT, OSQ_ERROR. */
enum {
  OSQ_OK = 0,
  OSQ_ERROR = -1,      /* generic failure; a message says why */
  OSQ_ENOMEM = -2,
  OSQ_EINVAL = -3,     /* bad argument or malformed input */
  OSQ_ERANGE = -4,     /* a bound was exceeded */
  OSQ_ETIMEDOUT = -5,
  OSQ_EIO = -6,        /* socket or file failure */
  OSQ_ENOTFOUND = -7,
  OSQ_EEXIST = -8,
  OSQ_EPROTO = -9,     /* peer broke the protocol */
  OSQ_ECLOSED = -10,   /* peer closed the connection */
  OSQ_EVERSION = -11,  /* built for an API version this library lacks */
  /* write-action outcomes (osquery's "status" values) */
  OSQ_READONLY = -20,
  OSQ_CONSTRAINT = -21,
};

const char *osq_strerror(int code);

/* Say why the current call fails (printf format; at most 511 bytes are
 * kept). The first message since the call began wins. For callbacks, the
 * core reports it; any thread. */
void osq_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The message of the last failure on this thread: one set with
 * osq_error() or by a libosqext function that returned an error; "" when
 * there is none. Meaningful right after a call failed; valid until the
 * next osq_* call on the thread. */
const char *osq_last_error(void);

/* ---- columns -------------------------------------------------------- */

typedef enum osq_type {
  OSQ_TYPE_UNKNOWN = 0,
  OSQ_TYPE_TEXT,
  OSQ_TYPE_INTEGER,
  OSQ_TYPE_BIGINT,
  OSQ_TYPE_UNSIGNED_BIGINT,
  OSQ_TYPE_DOUBLE,
  OSQ_TYPE_BLOB,
} osq_type;

/* "TEXT", "INTEGER", "BIGINT", "UNSIGNED BIGINT", "DOUBLE", "BLOB", "UNKNOWN" */
const char *osq_type_name(osq_type type);
/* Any other string is OSQ_TYPE_UNKNOWN, as in osquery. */
osq_type osq_type_from_name(const char *name);

/* Column option bits: the values extensions send as "op" in route info. */
enum {
  OSQ_COL_DEFAULT = 0,
  OSQ_COL_INDEX = 1,
  OSQ_COL_REQUIRED = 2,
  OSQ_COL_ADDITIONAL = 4,
  OSQ_COL_OPTIMIZED = 8,
  OSQ_COL_HIDDEN = 16,
  OSQ_COL_COLLATE_BINARY = 32,
  OSQ_COL_COLLATE_NOCASE = 64,
  OSQ_COL_COLLATE_RTRIM = 128,
  OSQ_COL_COLLATE_VERSION = 256,
  OSQ_COL_COLLATE_VERSION_ARCH = 512,
  OSQ_COL_COLLATE_VERSION_DPKG = 1024,
  OSQ_COL_COLLATE_VERSION_RHEL = 2048,
};

/* Table attribute bits (osquery's TableAttributes). */
enum {
  OSQ_TABLE_UTILITY = 1,
  OSQ_TABLE_CACHEABLE = 2,
  OSQ_TABLE_EVENT_BASED = 4,
  OSQ_TABLE_USER_BASED = 8,
  OSQ_TABLE_KERNEL_REQUIRED = 16,
  OSQ_TABLE_PENDING = 32,
};

typedef struct osq_column {
  const char *name;
  osq_type type;
  uint32_t options; /* OSQ_COL_* bits */
} osq_column;

/* ---- query context: what the query asks of a table -------------------- */

/* Constraint operators: SQLite's SQLITE_INDEX_CONSTRAINT_* values, which
 * osquery passes to extensions unchanged. */
enum {
  OSQ_OP_EQ = 2,
  OSQ_OP_GT = 4,
  OSQ_OP_LE = 8,
  OSQ_OP_LT = 16,
  OSQ_OP_GE = 32,
  OSQ_OP_MATCH = 64,
  OSQ_OP_LIKE = 65,
  OSQ_OP_GLOB = 66,
  OSQ_OP_REGEXP = 67,
  OSQ_OP_NE = 68,
  OSQ_OP_ISNOT = 69,
  OSQ_OP_ISNOTNULL = 70,
  OSQ_OP_ISNULL = 71,
  OSQ_OP_IS = 72,
};

typedef struct osq_constraint {
  int op;           /* OSQ_OP_* */
  const char *expr; /* the value as text, NUL-terminated; never NULL */
  size_t len;       /* bytes in expr, without the NUL */
} osq_constraint;

typedef struct osq_context osq_context; /* opaque; valid during one call */

size_t osq_context_ncolumns(const osq_context *ctx);
const osq_column *osq_context_column(const osq_context *ctx, size_t col);
/* Index of a column by name, or -1. */
int osq_context_column_index(const osq_context *ctx, const char *name);
size_t osq_context_nconstraints(const osq_context *ctx, size_t col);
const osq_constraint *osq_context_constraint(const osq_context *ctx,
                                             size_t col, size_t i);
/* True if the query reads the column (SQLite's colUsed). When the
 * information is absent every column counts as used. */
bool osq_context_column_used(const osq_context *ctx, size_t col);
/* bit i = column i; bit 63 = some column >= 63 is used */
uint64_t osq_context_cols_used_bitset(const osq_context *ctx);

/* ---- values and rows -------------------------------------------------- */

typedef enum osq_value_kind {
  OSQ_VALUE_NULL = 0,
  OSQ_VALUE_INT,
  OSQ_VALUE_DOUBLE,
  OSQ_VALUE_TEXT,
  OSQ_VALUE_BLOB,
} osq_value_kind;

typedef struct osq_value {
  osq_value_kind kind;
  union {
    int64_t i;
    double d;
    struct {
      const char *p;
      size_t n;
    } s; /* TEXT and BLOB */
  } u;
} osq_value;

/* A row sink. generate() emits cells of the current row in any order,
 * then ends the row; cells not given are NULL. The sink copies what it
 * needs, so the caller's buffers may be reused at once. */
typedef struct osq_rows osq_rows; /* opaque */

int osq_rows_text(osq_rows *out, size_t col, const char *s, size_t len);
int osq_rows_cstr(osq_rows *out, size_t col, const char *s); /* NULL s: NULL */
int osq_rows_int(osq_rows *out, size_t col, int64_t v);
int osq_rows_double(osq_rows *out, size_t col, double v);
int osq_rows_blob(osq_rows *out, size_t col, const void *p, size_t len);
int osq_rows_value(osq_rows *out, size_t col, const osq_value *v);
/* Optional rowid for writable tables. */
int osq_rows_rowid(osq_rows *out, int64_t rowid);
int osq_rows_end(osq_rows *out);
/* API 1's osq_error() for generate: record why generate failed; generate
 * then returns OSQ_ERROR. The first message wins. */
void osq_rows_error(osq_rows *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- table plugins ---------------------------------------------------- */

typedef enum osq_write_action {
  OSQ_WRITE_INSERT = 1,
  OSQ_WRITE_UPDATE = 2,
  OSQ_WRITE_DELETE = 3,
} osq_write_action;

typedef struct osq_write {
  osq_write_action action;
  const osq_context *ctx;
  int64_t rowid;      /* DELETE, UPDATE: the row; INSERT: given rowid */
  bool has_rowid;     /* INSERT: the SQL gave a rowid (auto_rowid) */
  int64_t new_rowid;  /* UPDATE: the rowid after the update */
  bool rowid_changes; /* UPDATE: new_rowid differs */
  const osq_value *values; /* INSERT/UPDATE: one per column */
  size_t nvalues;
  /* out */
  int64_t assigned_rowid; /* INSERT without a rowid: the new row's id */
  char message[256];      /* API 1's osq_error(): read when it is set */
} osq_write;

typedef struct osq_table_plugin {
  const char *name;
  const osq_column *columns;
  size_t ncolumns;
  uint32_t attributes;        /* OSQ_TABLE_* */
  const char *const *aliases; /* NULL-terminated view names, or NULL */
  /* Emit the rows that may match ctx; SQLite re-checks every
   * constraint, so a table may ignore them. Return OSQ_OK or OSQ_ERROR
   * (with osq_error()). */
  int (*generate)(const osq_context *ctx, osq_rows *out, void *udata);
  /* NULL: read-only. Returns OSQ_OK or a negative code: OSQ_READONLY,
   * OSQ_CONSTRAINT, or OSQ_ERROR (with osq_error()). */
  int (*write)(osq_write *w, void *udata);
  void *udata;
  /* Called once the registry no longer references the plugin. */
  void (*destroy)(void *udata);
  /* ---- since API 2 ---- */
  /* One line on what the table holds (optional; NULL: none). */
  const char *description;
} osq_table_plugin;

/* ---- string maps: config sources, plugin requests --------------------- */

typedef struct osq_strmap osq_strmap; /* opaque, ordered by insertion */

int osq_strmap_set(osq_strmap *m, const char *key, const char *val,
                   size_t len);
const char *osq_strmap_get(const osq_strmap *m, const char *key);
size_t osq_strmap_count(const osq_strmap *m);
const char *osq_strmap_key(const osq_strmap *m, size_t i);
const char *osq_strmap_val(const osq_strmap *m, size_t i, size_t *len);
/* API 1's osq_error() for config and distributed callbacks. */
void osq_strmap_error(osq_strmap *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- config plugins --------------------------------------------------- */

typedef struct osq_config_plugin {
  const char *name;
  /* Fill out with source name -> config JSON text. Callbacks of config,
   * logger and distributed plugins return OSQ_OK or a negative code, with
   * osq_error() saying why. */
  int (*generate)(osq_strmap *out, void *udata);
  /* Optional: a pack given as a string in the config; out gets
   * name -> pack JSON text. */
  int (*gen_pack)(const char *name, const char *value, osq_strmap *out,
                  void *udata);
  void *udata;
  void (*destroy)(void *udata);
} osq_config_plugin;

/* ---- logger plugins --------------------------------------------------- */

typedef enum osq_log_kind {
  OSQ_LOG_RESULT = 0, /* a result line (differential or batch): "string" */
  OSQ_LOG_SNAPSHOT,   /* a snapshot result line: "snapshot" */
  OSQ_LOG_STATUS,     /* a JSON array of status lines: "status" + "log" */
  OSQ_LOG_INIT,       /* the binary's name: "init" */
  OSQ_LOG_EVENT,      /* an event: "event" */
} osq_log_kind;

enum { OSQ_LOGGER_FEATURE_STATUS = 1, OSQ_LOGGER_FEATURE_EVENT = 2 };

typedef struct osq_logger_plugin {
  const char *name;
  uint32_t features; /* OSQ_LOGGER_FEATURE_* */
  int (*log)(osq_log_kind kind, const char *text, size_t len, void *udata);
  void *udata;
  void (*destroy)(void *udata);
} osq_logger_plugin;

/* ---- distributed plugins ---------------------------------------------- */

typedef struct osq_distributed_plugin {
  const char *name;
  /* Put the queries JSON text ({"queries":{...},"discovery":{...}}) in out
   * under the key "results". */
  int (*get_queries)(osq_strmap *out, void *udata);
  int (*write_results)(const char *json, size_t len, void *udata);
  void *udata;
  void (*destroy)(void *udata);
} osq_distributed_plugin;

#ifdef __cplusplus
}
#endif
#endif
