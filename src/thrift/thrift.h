/* Thrift binary protocol over a buffered UNIX stream socket, unframed, as
 * osquery speaks it (docs/protocol.md §2). Decoding is bounded: a maximum
 * message size, container counts checked against the bytes that may still
 * come, a recursion limit. Writes strict headers; reads both forms.
 *
 * Errors are negative OSQ_E* codes (include/osq/plugin.h); the reader and
 * the connection keep a message naming what was wrong.
 *
 * Thread-safe: any thread; a connection is used by one thread at a time. */
#ifndef OSQ_THRIFT_H
#define OSQ_THRIFT_H

#include <osq/plugin.h>
#include "../core/clock.h" /* deadlines are osq_now_ms() times */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum osq_ttype {
  OSQ_TT_STOP = 0,
  OSQ_TT_BOOL = 2,
  OSQ_TT_BYTE = 3,
  OSQ_TT_DOUBLE = 4,
  OSQ_TT_I16 = 6,
  OSQ_TT_I32 = 8,
  OSQ_TT_I64 = 10,
  OSQ_TT_STRING = 11,
  OSQ_TT_STRUCT = 12,
  OSQ_TT_MAP = 13,
  OSQ_TT_SET = 14,
  OSQ_TT_LIST = 15,
};

enum osq_tmsg { OSQ_TM_CALL = 1, OSQ_TM_REPLY = 2, OSQ_TM_EXCEPTION = 3,
                OSQ_TM_ONEWAY = 4 };

/* TApplicationException types */
enum osq_tapp_error {
  OSQ_TAPP_UNKNOWN = 0,
  OSQ_TAPP_UNKNOWN_METHOD = 1,
  OSQ_TAPP_INVALID_MESSAGE_TYPE = 2,
  OSQ_TAPP_WRONG_METHOD_NAME = 3,
  OSQ_TAPP_BAD_SEQUENCE_ID = 4,
  OSQ_TAPP_MISSING_RESULT = 5,
  OSQ_TAPP_INTERNAL_ERROR = 6,
  OSQ_TAPP_PROTOCOL_ERROR = 7,
};

#define OSQ_THRIFT_DEFAULT_MAX_MESSAGE (100u * 1024 * 1024) /* Thrift's */
#define OSQ_THRIFT_MAX_DEPTH 64
#define OSQ_THRIFT_MAX_NAME 256 /* method names */

/* ---- connections ---------------------------------------------------------- */

typedef struct osq_tconn osq_tconn;
struct osq_twriter;

/* Connect to a UNIX socket path within timeout_ms (retrying nothing;
 * timeout_ms <= 0: no limit). */
osq_tconn *osq_tconn_connect(const char *path, int timeout_ms, int *err);
/* The same, with the reason for a failure in msg (e.g. "connect to
 * /var/osq/osq.em: No such file or directory"). */
osq_tconn *osq_tconn_open(const char *path, int timeout_ms, int *err,
                          char *msg, size_t msglen);
/* A connection over memory (tests, fuzzing): reads come from in[0..len)
 * (which must outlive the connection), then end of stream; writes are
 * appended to out (NULL: dropped). */
osq_tconn *osq_tconn_memory(const void *in, size_t len, struct osq_twriter *out);
/* The same, but the bytes go through a bufsize-byte read buffer in reads
 * of at most maxread bytes, as from a socket: tests and fuzzing of the
 * refill paths (strings longer than the buffer, entries split between
 * reads). */
osq_tconn *osq_tconn_memory_stream(const void *in, size_t len,
                                   struct osq_twriter *out, size_t bufsize,
                                   size_t maxread);
/* Take ownership of an accepted descriptor. */
osq_tconn *osq_tconn_wrap(int fd);
void osq_tconn_close(osq_tconn *c); /* closes the fd, frees */
int osq_tconn_fd(const osq_tconn *c);
/* Absolute CLOCK_MONOTONIC deadline in ms for every read and write until
 * changed; 0 = none. A read or write past it fails with OSQ_ETIMEDOUT. */
void osq_tconn_set_deadline(osq_tconn *c, int64_t deadline_ms);
/* Largest message this connection will read (default
 * OSQ_THRIFT_DEFAULT_MAX_MESSAGE). */
void osq_tconn_set_max_message(osq_tconn *c, size_t bytes);
/* Longest string this connection will read (thrift_string_size_limit);
 * 0 = only the message size bounds it. */
void osq_tconn_set_string_limit(osq_tconn *c, size_t bytes);
/* Server side: once the first byte of a request has arrived, the rest of
 * it and the reply must be through within ms (0, the default: no limit).
 * Idle time between requests is never limited (osquery's clients keep
 * connections open). osq_api_serve_one applies it. */
void osq_tconn_set_request_timeout(osq_tconn *c, int ms);
/* Wait (within the connection's deadline, if any) until a request's first
 * byte is buffered: OSQ_OK, then the request timeout is armed until
 * osq_tconn_end_request; OSQ_ECLOSED if the peer closed first. */
int osq_tconn_begin_request(osq_tconn *c);
void osq_tconn_end_request(osq_tconn *c);
/* The connection's reusable output buffer, emptied (for building one
 * request or reply head; valid until the next call on c). */
struct osq_twriter *osq_tconn_writer(osq_tconn *c);
/* Keep a copy of every byte received into in and sent into out (either
 * may be NULL): wire captures for debugging and benchmarks. */
void osq_tconn_tap(osq_tconn *c, struct osq_twriter *in,
                   struct osq_twriter *out);
/* Sequence ids for requests on this connection: 0, 1, 2, ... */
int32_t osq_tconn_next_seqid(osq_tconn *c);
/* Flush buffered output. */
int osq_tconn_flush(osq_tconn *c);
/* True if the peer has closed or sent unexpected bytes while idle (for
 * pooled connections: check before reuse, without blocking; one
 * non-blocking recv(MSG_PEEK)). */
bool osq_tconn_stale(osq_tconn *c);
const char *osq_tconn_error(const osq_tconn *c);
/* Record why the connection failed (for layers above the codec). */
void osq_tconn_set_error(osq_tconn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- writing -------------------------------------------------------------- */

/* A growable output buffer. Encoders append to it; osq_tconn_send writes
 * it out. Allocation failure is sticky: check w->failed once at the end. */
typedef struct osq_twriter {
  uint8_t *buf;
  size_t len, cap;
  bool failed;
} osq_twriter;

void osq_tw_init(osq_twriter *w);
void osq_tw_free(osq_twriter *w);
void osq_tw_reset(osq_twriter *w); /* len = 0, keeps the memory */
void osq_tw_message_begin(osq_twriter *w, const char *name, int type,
                          int32_t seqid); /* strict header */
void osq_tw_field(osq_twriter *w, int type, int16_t id);
void osq_tw_stop(osq_twriter *w);
void osq_tw_i8(osq_twriter *w, int8_t v);
void osq_tw_i32(osq_twriter *w, int32_t v);
void osq_tw_i64(osq_twriter *w, int64_t v);
void osq_tw_double(osq_twriter *w, double v);
void osq_tw_string(osq_twriter *w, const char *s, size_t len);
void osq_tw_cstr(osq_twriter *w, const char *s);
void osq_tw_map_begin(osq_twriter *w, int ktype, int vtype, int32_t count);
void osq_tw_list_begin(osq_twriter *w, int etype, int32_t count);
/* Reserve an i32 to fill in later (container counts not known up front);
 * returns its offset. */
size_t osq_tw_reserve_i32(osq_twriter *w);
void osq_tw_patch_i32(osq_twriter *w, size_t offset, int32_t v);
void osq_tw_bytes(osq_twriter *w, const void *p, size_t n);

/* Write bufs in order (writev) and flush; each may be NULL. */
int osq_tconn_send(osq_tconn *c, const osq_twriter *a, const osq_twriter *b);

/* ---- reading -------------------------------------------------------------- */

/* A bounded pull decoder over a connection or a memory buffer. */
typedef struct osq_treader {
  osq_tconn *conn;     /* NULL: memory */
  const uint8_t *mem;  /* memory source */
  size_t memlen, pos;
  size_t consumed;     /* bytes of the current message */
  size_t limit;        /* max bytes of a message */
  int depth;
  int err;             /* sticky first error */
  char msg[160];
  uint8_t *scratch;    /* for strings that straddle buffer refills */
  size_t scratch_cap;
  uint8_t *scratch2;   /* the key of a pair that did not fit the buffer */
  size_t scratch2_cap;
  size_t string_limit; /* 0: none */
} osq_treader;

void osq_tr_init_conn(osq_treader *r, osq_tconn *c);
void osq_tr_init_mem(osq_treader *r, const void *p, size_t n, size_t limit);
void osq_tr_free(osq_treader *r); /* frees scratch */
/* Starts a message: resets the byte budget. name gets the method. */
int osq_tr_message_begin(osq_treader *r, char name[OSQ_THRIFT_MAX_NAME],
                         int *type, int32_t *seqid);
/* Field header: *type == OSQ_TT_STOP ends the struct. */
int osq_tr_field(osq_treader *r, int *type, int16_t *id);
int osq_tr_struct_enter(osq_treader *r); /* depth accounting */
void osq_tr_struct_leave(osq_treader *r);
int osq_tr_i8(osq_treader *r, int8_t *v);
int osq_tr_i16(osq_treader *r, int16_t *v);
int osq_tr_i32(osq_treader *r, int32_t *v);
int osq_tr_i64(osq_treader *r, int64_t *v);
int osq_tr_double(osq_treader *r, double *v);
/* A string as a view valid until the next read call on r. */
int osq_tr_string_view(osq_treader *r, const char **s, size_t *len);
/* Two consecutive strings (a map<string,string> entry) as views, both
 * valid until the next read call on r; zero-copy when they fit the
 * connection's buffer. */
int osq_tr_string_pair_view(osq_treader *r, const char **k, size_t *klen,
                            const char **v, size_t *vlen);
/* The count entries of a map<string,string> whose header was just read,
 * each handed to fn as two views valid during the call; stops at fn's
 * first non-OSQ_OK return (recorded as the reader's error with the text
 * "<what>: handler failed at entry N") and at malformed input. The bulk
 * path for rows: entries already buffered are decoded without refills. */
int osq_tr_strmap_each(osq_treader *r, int32_t count, const char *what,
                       int (*fn)(void *u, const char *k, size_t klen,
                                 const char *v, size_t vlen),
                       void *u);
/* The count elements of a list<map<string,string>> whose header was just
 * read: row_begin (may be NULL), each entry through fn, row_end (may be
 * NULL) per map. Same rules as osq_tr_strmap_each. */
int osq_tr_strmap_list_each(osq_treader *r, int32_t count, const char *what,
                            int (*row_begin)(void *u),
                            int (*fn)(void *u, const char *k, size_t klen,
                                      const char *v, size_t vlen),
                            int (*row_end)(void *u), void *u);
/* A sink that keeps the cells of a list<map<string,string>> in flat
 * arrays the caller owns: every value's bytes back to back in vals, per
 * cell the offset in vals where its value ends (it starts where the cell
 * before ended), per row the index in ends where its cells end. The
 * decoder compares each cell's key with names[col] (the column names the
 * caller expects, e.g. the row before's) and calls name() only when it
 * differs or col >= nnames; room() when vals has less than vbytes free,
 * ends or row_ends is full (vcap must stay within UINT32_MAX); row_end()
 * (may be NULL) only after a row that had a name() call or a cell count
 * other than nnames, the row being the last of row_ends. col is the
 * current row's cell count so far. A callback's non-OSQ_OK return stops
 * the decode as a handler failure. The decoder may write anywhere in
 * vals[vlen, vcap) and ends[nends, ecap) (it copies short values as
 * whole 16- or 32-byte blocks and gives up a row it cannot take whole):
 * only what vlen, nends and nrows count is kept. */
typedef struct osq_tr_cells {
  char *vals;
  size_t vlen, vcap;
  uint32_t *ends;
  size_t nends, ecap;
  uint32_t *row_ends;
  size_t nrows, rcap;
  const char *const *names;
  const uint32_t *name_len;
  size_t nnames, col;
  bool named; /* name() was called in this row */
  int (*name)(struct osq_tr_cells *t, size_t col, const char *k, size_t kl);
  int (*room)(struct osq_tr_cells *t, size_t vbytes);
  int (*row_end)(struct osq_tr_cells *t, size_t ncells);
  void *u;
} osq_tr_cells;
/* One cell into t (u is an osq_tr_cells), and a row's end: what
 * osq_tr_strmap_list_cells does, as an osq_row_handler's two calls. */
int osq_tr_cells_put(void *u, const char *k, size_t klen, const char *v,
                     size_t vlen);
int osq_tr_cells_row_end(void *u);
/* osq_tr_strmap_list_each into t, without a call per cell in the common
 * case (key as expected, room left). Same checks and limits. */
int osq_tr_strmap_list_cells(osq_treader *r, int32_t count, const char *what,
                             osq_tr_cells *t);
/* A malloc'd NUL-terminated copy. */
int osq_tr_string(osq_treader *r, char **s, size_t *len);
int osq_tr_map_begin(osq_treader *r, int *ktype, int *vtype, int32_t *count);
int osq_tr_list_begin(osq_treader *r, int *etype, int32_t *count);
/* Bytes of the current message read so far. */
size_t osq_tr_consumed(const osq_treader *r);
/* Record an error found by the caller (first error wins); returns code. */
int osq_tr_fail(osq_treader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Skip a value of any type (bounded by depth and budget). */
int osq_tr_skip(osq_treader *r, int type);
/* The sticky error, with its message. */
int osq_tr_error(const osq_treader *r);
const char *osq_tr_message(const osq_treader *r);

#endif
