/* The Thrift codec on bad and awkward input: truncation at every byte,
 * absurd lengths and counts, nesting, size limits, sparse and unknown
 * fields; and the socket transport: partial writes, big strings across
 * buffer refills, deadlines, EINTR, stale pooled connections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "thrift/api.h"

/* ---- helpers -------------------------------------------------------------- */

static int h_ping(void *u, osq_ext_status *out) {
  (void)u;
  osq_ext_status_set(out, 0, "pong", 0);
  return OSQ_OK;
}

static char last_registry[64], last_item[64];
static size_t last_request_n;
static char last_value[64];

static int h_call(void *u, const char *registry, const char *item,
                  const osq_strmap *req, osq_api_reply *rep) {
  (void)u;
  snprintf(last_registry, sizeof last_registry, "%s", registry);
  snprintf(last_item, sizeof last_item, "%s", item);
  last_request_n = osq_strmap_count(req);
  const char *v = osq_strmap_get(req, "k");
  snprintf(last_value, sizeof last_value, "%s", v ? v : "(none)");
  /* echo every request entry as one row */
  for (size_t i = 0; i < osq_strmap_count(req); i++) {
    size_t len;
    const char *val = osq_strmap_val(req, i, &len);
    const char *key = osq_strmap_key(req, i);
    osq_api_reply_cell(rep, key, strlen(key), val, len);
  }
  osq_api_reply_row_end(rep);
  osq_ext_status_set(&rep->status, 0, "OK", 0);
  return OSQ_OK;
}

static const osq_api_handlers handlers = {.ping = h_ping, .call = h_call};

/* Serve one request from memory. err gets the connection's error text. */
static int serve_mem(const void *in, size_t n, size_t max_message,
                     osq_twriter *out, char *err, size_t errlen) {
  osq_tconn *c = osq_tconn_memory(in, n, out);
  if (max_message)
    osq_tconn_set_max_message(c, max_message);
  int rc = osq_api_serve_one(c, &handlers, NULL);
  snprintf(err, errlen, "%s", osq_tconn_error(c));
  osq_tconn_close(c);
  return rc;
}

/* A call request with a request map of the given entries. */
static void build_call(osq_twriter *w, int n, const char *const *kv) {
  osq_tw_message_begin(w, "call", OSQ_TM_CALL, 0);
  osq_tw_field(w, OSQ_TT_STRING, 1);
  osq_tw_cstr(w, "table");
  osq_tw_field(w, OSQ_TT_STRING, 2);
  osq_tw_cstr(w, "t");
  osq_tw_field(w, OSQ_TT_MAP, 3);
  osq_tw_map_begin(w, OSQ_TT_STRING, OSQ_TT_STRING, n);
  for (int i = 0; i < n; i++) {
    osq_tw_cstr(w, kv[2 * i]);
    osq_tw_cstr(w, kv[2 * i + 1]);
  }
  osq_tw_stop(w);
}

/* The strict header of a call to method, and an args struct starts. */
static void call_head(osq_twriter *w, const char *method) {
  osq_tw_message_begin(w, method, OSQ_TM_CALL, 0);
}

static int collect_cell(void *u, const char *k, size_t kl, const char *v,
                        size_t vl) {
  char *buf = u;
  size_t n = strlen(buf);
  snprintf(buf + n, 4096 - n, "%.*s=%.*s,", (int)kl, k, (int)(vl > 40 ? 40 : vl), v);
  return OSQ_OK;
}
static int collect_row_end(void *u) {
  char *buf = u;
  size_t n = strlen(buf);
  snprintf(buf + n, 4096 - n, ";");
  return OSQ_OK;
}

/* Decode reply bytes as the answer to a call from memory. */
static int client_mem(const void *in, size_t n, osq_ext_status *st, char *rows,
                      char *msg, size_t msglen) {
  osq_tconn *c = osq_tconn_memory(in, n, NULL);
  rows[0] = '\0';
  osq_row_handler h = {collect_cell, collect_row_end, rows};
  int rc = osq_api_call(c, "table", "t", NULL, st, &h, msg, msglen);
  osq_tconn_close(c);
  return rc;
}

/* ---- sparse and unknown fields ---------------------------------------------- */

static void test_missing_fields_defaulted(void **state) {
  (void)state;
  /* Python's ping reply: code and message, no uuid */
  osq_twriter w;
  osq_tw_init(&w);
  osq_tw_message_begin(&w, "ping", OSQ_TM_REPLY, 0);
  osq_tw_field(&w, OSQ_TT_STRUCT, 0);
  osq_tw_field(&w, OSQ_TT_I32, 1);
  osq_tw_i32(&w, 0);
  osq_tw_field(&w, OSQ_TT_STRING, 2);
  osq_tw_cstr(&w, "OK");
  osq_tw_stop(&w);
  osq_tw_stop(&w);
  osq_tconn *c = osq_tconn_memory(w.buf, w.len, NULL);
  osq_ext_status st = {0};
  char msg[256];
  assert_int_equal(osq_api_ping(c, &st, msg, sizeof msg), OSQ_OK);
  assert_int_equal(st.code, 0);
  assert_string_equal(st.message, "OK");
  assert_int_equal(st.uuid, 0);
  osq_tconn_close(c);

  /* an ExtensionResponse with an empty status and no rows */
  osq_tw_reset(&w);
  osq_tw_message_begin(&w, "call", OSQ_TM_REPLY, 0);
  osq_tw_field(&w, OSQ_TT_STRUCT, 0);
  osq_tw_field(&w, OSQ_TT_STRUCT, 1);
  osq_tw_stop(&w);
  osq_tw_stop(&w);
  osq_tw_stop(&w);
  char rows[4096];
  assert_int_equal(client_mem(w.buf, w.len, &st, rows, msg, sizeof msg), OSQ_OK);
  assert_int_equal(st.code, 0);
  assert_string_equal(st.message, "");
  assert_string_equal(rows, "");

  /* a call request without item and request: defaults "" and {} */
  osq_tw_reset(&w);
  call_head(&w, "call");
  osq_tw_field(&w, OSQ_TT_STRING, 1);
  osq_tw_cstr(&w, "config");
  osq_tw_stop(&w);
  osq_twriter out;
  osq_tw_init(&out);
  char err[256];
  assert_int_equal(serve_mem(w.buf, w.len, 0, &out, err, sizeof err), OSQ_OK);
  assert_string_equal(last_registry, "config");
  assert_string_equal(last_item, "");
  assert_int_equal(last_request_n, 0);

  /* a reply without field 0: MISSING_RESULT as Thrift words it */
  osq_tw_reset(&w);
  osq_tw_message_begin(&w, "ping", OSQ_TM_REPLY, 0);
  osq_tw_stop(&w);
  c = osq_tconn_memory(w.buf, w.len, NULL);
  assert_int_equal(osq_api_ping(c, &st, msg, sizeof msg), OSQ_EPROTO);
  assert_string_equal(msg, "ping reply: ping failed: unknown result");
  osq_tconn_close(c);
  osq_ext_status_clear(&st);
  osq_tw_free(&w);
  osq_tw_free(&out);
}

static void test_unknown_fields_skipped(void **state) {
  (void)state;
  osq_twriter w;
  osq_tw_init(&w);
  call_head(&w, "call");
  /* unknown fields of every shape before and between the known ones */
  osq_tw_field(&w, OSQ_TT_LIST, 9);
  osq_tw_list_begin(&w, OSQ_TT_STRUCT, 2);
  osq_tw_field(&w, OSQ_TT_DOUBLE, 1);
  osq_tw_double(&w, 1.5);
  osq_tw_stop(&w);
  osq_tw_field(&w, OSQ_TT_BOOL, 1);
  osq_tw_i8(&w, 1);
  osq_tw_stop(&w);
  osq_tw_field(&w, OSQ_TT_STRING, 1);
  osq_tw_cstr(&w, "table");
  osq_tw_field(&w, OSQ_TT_I32, 2); /* item with the wrong type: skipped */
  osq_tw_i32(&w, 7);
  osq_tw_field(&w, OSQ_TT_MAP, 12);
  osq_tw_map_begin(&w, OSQ_TT_I16, OSQ_TT_SET, 1);
  osq_tw_bytes(&w, "\x00\x01", 2);
  osq_tw_list_begin(&w, OSQ_TT_I64, 1);
  osq_tw_i64(&w, 3);
  osq_tw_field(&w, OSQ_TT_MAP, 3);
  osq_tw_map_begin(&w, OSQ_TT_STRING, OSQ_TT_STRING, 1);
  osq_tw_cstr(&w, "k");
  osq_tw_cstr(&w, "v");
  osq_tw_field(&w, OSQ_TT_BYTE, 4);
  osq_tw_i8(&w, 1);
  osq_tw_stop(&w);
  osq_twriter out;
  osq_tw_init(&out);
  char err[256];
  assert_int_equal(serve_mem(w.buf, w.len, 0, &out, err, sizeof err), OSQ_OK);
  assert_string_equal(last_registry, "table");
  assert_string_equal(last_item, "");
  assert_string_equal(last_value, "v");

  /* the reply decodes, also with unknown fields in the status */
  osq_ext_status st = {0};
  char rows[4096], msg[256];
  assert_int_equal(client_mem(out.buf, out.len, &st, rows, msg, sizeof msg), OSQ_OK);
  assert_string_equal(rows, "k=v,;");

  osq_tw_reset(&w);
  osq_tw_message_begin(&w, "call", OSQ_TM_REPLY, 0);
  osq_tw_field(&w, OSQ_TT_STRUCT, 0);
  osq_tw_field(&w, OSQ_TT_STRUCT, 1);
  osq_tw_field(&w, OSQ_TT_STRING, 7);
  osq_tw_cstr(&w, "future");
  osq_tw_field(&w, OSQ_TT_I32, 1);
  osq_tw_i32(&w, 2);
  osq_tw_stop(&w);
  osq_tw_field(&w, OSQ_TT_LIST, 2);
  osq_tw_list_begin(&w, OSQ_TT_MAP, 1);
  osq_tw_map_begin(&w, OSQ_TT_STRING, OSQ_TT_STRING, 0);
  osq_tw_stop(&w);
  osq_tw_field(&w, OSQ_TT_I64, 5);
  osq_tw_i64(&w, 1);
  osq_tw_stop(&w);
  assert_int_equal(client_mem(w.buf, w.len, &st, rows, msg, sizeof msg), OSQ_OK);
  assert_int_equal(st.code, 2);
  assert_string_equal(rows, ";"); /* one empty row */
  osq_ext_status_clear(&st);
  osq_tw_free(&w);
  osq_tw_free(&out);
}

/* ---- truncation ----------------------------------------------------------------- */

static void test_truncated_everywhere(void **state) {
  (void)state;
  static const char *const kv[] = {"action", "generate", "k", "value"};
  osq_twriter req;
  osq_tw_init(&req);
  build_call(&req, 2, kv);
  osq_twriter reply;
  osq_tw_init(&reply);
  char err[256], want[256];
  assert_int_equal(serve_mem(req.buf, req.len, 0, &reply, err, sizeof err), OSQ_OK);

  for (size_t k = 0; k < req.len; k++) {
    osq_twriter out;
    osq_tw_init(&out);
    int rc = serve_mem(req.buf, k, 0, &out, err, sizeof err);
    if (k == 0) {
      assert_int_equal(rc, OSQ_ECLOSED);
    } else {
      assert_int_equal(rc, OSQ_EPROTO);
      snprintf(want, sizeof want, "message truncated: input ended after %zu bytes", k);
      assert_non_null(strstr(err, want));
    }
    assert_int_equal(out.len, 0); /* nothing answered */
    osq_tw_free(&out);
  }

  osq_ext_status st = {0};
  char rows[4096], msg[256];
  assert_int_equal(client_mem(reply.buf, reply.len, &st, rows, msg, sizeof msg), OSQ_OK);
  for (size_t k = 0; k < reply.len; k++) {
    int rc = client_mem(reply.buf, k, &st, rows, msg, sizeof msg);
    if (k == 0) {
      assert_int_equal(rc, OSQ_ECLOSED);
      assert_string_equal(msg, "call reply: end of input");
    } else {
      assert_int_equal(rc, OSQ_EPROTO);
      snprintf(want, sizeof want,
               "call reply: message truncated: input ended after %zu bytes", k);
      assert_string_equal(msg, want);
    }
  }
  osq_ext_status_clear(&st);
  osq_tw_free(&req);
  osq_tw_free(&reply);
}

/* The refill paths, as from a socket: small read buffers (strings longer
 * than the buffer, entries split between reads) and short reads. The
 * results must equal decoding from one contiguous buffer. */
static void test_stream_refills(void **state) {
  (void)state;
  static const char *const kv[] = {
      "action", "generate",
      "a-key-longer-than-sixteen-bytes", "a value that is longer than the buffer, too",
      "", "", "k", "v"};
  osq_twriter req, want, got;
  osq_tw_init(&req);
  osq_tw_init(&want);
  osq_tw_init(&got);
  build_call(&req, 4, kv);
  char err[256], wrows[4096], grows[4096], msg[256], expect[256];
  assert_int_equal(serve_mem(req.buf, req.len, 0, &want, err, sizeof err), OSQ_OK);
  osq_ext_status st = {0};
  assert_int_equal(client_mem(want.buf, want.len, &st, wrows, msg, sizeof msg), OSQ_OK);
  static const size_t bufs[] = {16, 24, 64};
  static const size_t reads[] = {1, 3, 7, 1000};
  for (size_t b = 0; b < 3; b++) {
    for (size_t m = 0; m < 4; m++) {
      osq_tw_reset(&got);
      osq_tconn *c = osq_tconn_memory_stream(req.buf, req.len, &got, bufs[b], reads[m]);
      assert_int_equal(osq_api_serve_one(c, &handlers, NULL), OSQ_OK);
      assert_int_equal(osq_api_serve_one(c, &handlers, NULL), OSQ_ECLOSED);
      osq_tconn_close(c);
      assert_int_equal(got.len, want.len);
      assert_memory_equal(got.buf, want.buf, want.len);

      c = osq_tconn_memory_stream(want.buf, want.len, NULL, bufs[b], reads[m]);
      grows[0] = '\0';
      osq_row_handler h = {collect_cell, collect_row_end, grows};
      assert_int_equal(osq_api_call(c, "table", "t", NULL, &st, &h, msg, sizeof msg),
                       OSQ_OK);
      assert_false(osq_tconn_stale(c));
      osq_tconn_close(c);
      assert_string_equal(grows, wrows);

      /* truncated at every offset, through the same paths */
      for (size_t k = 0; k < req.len; k++) {
        c = osq_tconn_memory_stream(req.buf, k, NULL, bufs[b], reads[m]);
        int rc = osq_api_serve_one(c, &handlers, NULL);
        if (k == 0) {
          assert_int_equal(rc, OSQ_ECLOSED);
        } else {
          assert_int_equal(rc, OSQ_EPROTO);
          snprintf(expect, sizeof expect,
                   "message truncated: connection closed after %zu bytes", k);
          if (strstr(osq_tconn_error(c), expect) == NULL)
            fail_msg("'%s' lacks '%s'", osq_tconn_error(c), expect);
        }
        osq_tconn_close(c);
      }
    }
  }
  /* a method name longer than the buffer (found by the fuzzer: this
   * once looped forever) */
  osq_tw_reset(&req);
  call_head(&req, "aMethodNameLongerThanSixteenBytesByFar");
  osq_tw_stop(&req);
  osq_tw_reset(&got);
  osq_tconn *c = osq_tconn_memory_stream(req.buf, req.len, &got, 16, 5);
  assert_int_equal(osq_api_serve_one(c, &handlers, NULL), OSQ_OK);
  osq_tconn_close(c);
  c = osq_tconn_memory(got.buf, got.len, NULL);
  osq_ext_list el;
  /* the client sees the exception for the method it called */
  assert_int_equal(osq_api_extensions(c, &el, msg, sizeof msg), OSQ_EPROTO);
  osq_tconn_close(c);
  osq_ext_status_clear(&st);
  osq_tw_free(&req);
  osq_tw_free(&want);
  osq_tw_free(&got);
}

/* ---- absurd lengths, counts, nesting, sizes -------------------------------------- */

static void expect_serve_error(const osq_twriter *w, size_t max, int code,
                               const char *text) {
  osq_twriter out;
  osq_tw_init(&out);
  char err[256];
  assert_int_equal(serve_mem(w->buf, w->len, max, &out, err, sizeof err), code);
  if (strstr(err, text) == NULL)
    fail_msg("error '%s' does not contain '%s'", err, text);
  assert_int_equal(out.len, 0);
  osq_tw_free(&out);
}

static void test_absurd_lengths(void **state) {
  (void)state;
  osq_twriter w;
  osq_tw_init(&w);
  /* registry string claims 4 GiB - 1 */
  call_head(&w, "call");
  osq_tw_field(&w, OSQ_TT_STRING, 1);
  osq_tw_i32(&w, -1);
  osq_tw_bytes(&w, "abcdefghijkl", 12);
  expect_serve_error(&w, 0, OSQ_ERANGE,
                     "string length 4294967295 exceeds remaining message budget");
  /* ... and with a small budget the figure is exact */
  expect_serve_error(&w, w.len - 12, OSQ_ERANGE,
                     "call request: string length 4294967295 exceeds remaining "
                     "message budget 0");
  expect_serve_error(&w, w.len, OSQ_ERANGE,
                     "string length 4294967295 exceeds remaining message budget 12");

  /* a string longer than what may still come */
  osq_tw_reset(&w);
  call_head(&w, "call");
  osq_tw_field(&w, OSQ_TT_STRING, 1);
  osq_tw_i32(&w, 1000);
  osq_tw_bytes(&w, "abc", 3);
  expect_serve_error(&w, 100, OSQ_ERANGE,
                     "string length 1000 exceeds remaining message budget 77");
  /* negative when the budget allows 2^31+ (can't, so it reads as huge) */

  /* a map count far beyond the message */
  osq_tw_reset(&w);
  call_head(&w, "call");
  osq_tw_field(&w, OSQ_TT_MAP, 3);
  osq_tw_map_begin(&w, OSQ_TT_STRING, OSQ_TT_STRING, INT32_MAX);
  expect_serve_error(&w, 0, OSQ_ERANGE,
                     "map count 2147483647 needs at least 17179869176 bytes");
  /* negative counts */
  osq_tw_reset(&w);
  call_head(&w, "call");
  osq_tw_field(&w, OSQ_TT_LIST, 9);
  osq_tw_list_begin(&w, OSQ_TT_I32, -1);
  expect_serve_error(&w, 0, OSQ_EPROTO, "negative list count -1");
  osq_tw_reset(&w);
  call_head(&w, "call");
  osq_tw_field(&w, OSQ_TT_MAP, 3);
  osq_tw_map_begin(&w, OSQ_TT_STRING, OSQ_TT_STRING, -5);
  expect_serve_error(&w, 0, OSQ_EPROTO, "negative map count -5");
  /* a list of a type that does not exist */
  osq_tw_reset(&w);
  call_head(&w, "call");
  osq_tw_field(&w, OSQ_TT_LIST, 9);
  osq_tw_list_begin(&w, 17, 1);
  expect_serve_error(&w, 0, OSQ_EPROTO, "invalid list element type 17");
  osq_tw_reset(&w);
  call_head(&w, "call");
  osq_tw_field(&w, 5, 9);
  expect_serve_error(&w, 0, OSQ_EPROTO, "invalid field type 5");
  /* request maps bounded */
  osq_tw_reset(&w);
  call_head(&w, "call");
  osq_tw_field(&w, OSQ_TT_MAP, 3);
  osq_tw_map_begin(&w, OSQ_TT_STRING, OSQ_TT_STRING, 5000);
  for (int i = 0; i < 5000; i++) {
    osq_tw_i32(&w, 0);
    osq_tw_i32(&w, 0);
  }
  expect_serve_error(&w, 0, OSQ_ERANGE, "call request has 5000 entries, more than 4096");
  osq_tw_free(&w);
}

static void test_depth_limit(void **state) {
  (void)state;
  osq_twriter w;
  osq_tw_init(&w);
  call_head(&w, "ping");
  for (int i = 0; i < 70; i++)
    osq_tw_field(&w, OSQ_TT_STRUCT, 1);
  for (int i = 0; i < 71; i++)
    osq_tw_stop(&w);
  expect_serve_error(&w, 0, OSQ_ERANGE, "nesting depth exceeds 64");
  /* 63 levels under the args struct are fine */
  osq_tw_reset(&w);
  call_head(&w, "ping");
  for (int i = 0; i < 63; i++)
    osq_tw_field(&w, OSQ_TT_STRUCT, 1);
  for (int i = 0; i < 64; i++)
    osq_tw_stop(&w);
  osq_twriter out;
  osq_tw_init(&out);
  char err[256];
  assert_int_equal(serve_mem(w.buf, w.len, 0, &out, err, sizeof err), OSQ_OK);
  /* lists of lists count too */
  osq_tw_reset(&w);
  call_head(&w, "ping");
  osq_tw_field(&w, OSQ_TT_LIST, 1);
  for (int i = 0; i < 100; i++)
    osq_tw_list_begin(&w, OSQ_TT_LIST, 1);
  expect_serve_error(&w, 0, OSQ_ERANGE, "nesting depth exceeds 64");
  osq_tw_free(&w);
  osq_tw_free(&out);
}

static void test_max_message_size(void **state) {
  (void)state;
  static const char *const kv[] = {"k", "0123456789012345678901234567890123456789"};
  osq_twriter w;
  osq_tw_init(&w);
  build_call(&w, 1, kv);
  /* the whole message fits exactly */
  osq_twriter out;
  osq_tw_init(&out);
  char err[256];
  assert_int_equal(serve_mem(w.buf, w.len, w.len, &out, err, sizeof err), OSQ_OK);
  /* one byte less: the final STOP is past the limit */
  expect_serve_error(&w, w.len - 1, OSQ_ERANGE,
                     "message exceeds the maximum size of 94 bytes");
  /* two less: the value string no longer fits the budget */
  expect_serve_error(&w, w.len - 2, OSQ_ERANGE,
                     "string length 40 exceeds remaining message budget 39");
  /* fixed-width reads past the limit */
  osq_tw_reset(&w);
  call_head(&w, "ping");
  for (int i = 0; i < 40; i++) {
    osq_tw_field(&w, OSQ_TT_I64, (int16_t)(10 + i));
    osq_tw_i64(&w, i);
  }
  osq_tw_stop(&w);
  expect_serve_error(&w, 100, OSQ_ERANGE,
                     "message exceeds the maximum size of 100 bytes");
  /* the string limit (thrift_string_size_limit) */
  osq_tw_reset(&w);
  build_call(&w, 1, kv);
  osq_tconn *c = osq_tconn_memory(w.buf, w.len, NULL);
  osq_tconn_set_string_limit(c, 39);
  assert_int_equal(osq_api_serve_one(c, &handlers, NULL), OSQ_ERANGE);
  assert_non_null(strstr(osq_tconn_error(c),
                         "string length 40 exceeds thrift_string_size_limit 39"));
  osq_tconn_close(c);
  osq_tw_free(&w);
  osq_tw_free(&out);
}

static void test_bad_headers(void **state) {
  (void)state;
  osq_twriter w;
  osq_tw_init(&w);
  osq_tw_bytes(&w, "GET / HTTP/1.1\r\n\r\n", 18);
  expect_serve_error(&w, 0, OSQ_EPROTO,
                     "method name length 1195725856 exceeds 255 bytes");
  osq_tw_reset(&w);
  osq_tw_i32(&w, (int32_t)0x80020001u);
  osq_tw_cstr(&w, "ping");
  osq_tw_i32(&w, 0);
  osq_tw_stop(&w);
  expect_serve_error(&w, 0, OSQ_EPROTO, "bad protocol version 0x80020001");
  osq_tw_reset(&w);
  osq_tw_message_begin(&w, "ping", 7, 0);
  osq_tw_stop(&w);
  expect_serve_error(&w, 0, OSQ_EPROTO, "invalid message type 7");
  osq_tw_reset(&w);
  osq_tw_message_begin(&w, "ping", OSQ_TM_REPLY, 0);
  osq_tw_stop(&w);
  expect_serve_error(&w, 0, OSQ_EPROTO, "expected a call, got message type 2");
  /* a strict header whose name is too long */
  osq_tw_reset(&w);
  osq_tw_i32(&w, (int32_t)0x80010001u);
  osq_tw_i32(&w, 300);
  expect_serve_error(&w, 0, OSQ_EPROTO, "method name length 300 exceeds 255 bytes");

  /* the reader's error is sticky and the first one wins */
  osq_treader r;
  static const uint8_t bytes[] = {0x0b, 0xff, 0xff, 0xff, 0xff};
  osq_tr_init_mem(&r, bytes, sizeof bytes, 0);
  int8_t t;
  assert_int_equal(osq_tr_i8(&r, &t), OSQ_OK);
  const char *s;
  size_t n;
  assert_int_equal(osq_tr_string_view(&r, &s, &n), OSQ_ERANGE);
  assert_int_equal(osq_tr_i8(&r, &t), OSQ_ERANGE);
  assert_string_equal(osq_tr_message(&r),
                      "string length 4294967295 exceeds remaining message "
                      "budget 104857595");
  osq_tr_free(&r);
  osq_tw_free(&w);
}

/* ---- the socket transport ---------------------------------------------------------- */

typedef struct peer {
  pthread_t th;
  osq_tconn *c;
  int rc;
  char err[256];
} peer;

static void *serve_loop(void *p) {
  peer *s = p;
  while ((s->rc = osq_api_serve_one(s->c, &handlers, NULL)) == OSQ_OK)
    ;
  snprintf(s->err, sizeof s->err, "%s", osq_tconn_error(s->c));
  return NULL;
}

static osq_tconn *start_peer(peer *s) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  /* small buffers force partial writes and many refills */
  int small = 4096;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  /* the server's descriptor is non-blocking: sendmsg returns partial
   * counts and EAGAIN, and the codec waits in poll() */
  fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  s->c = osq_tconn_wrap(sv[0]);
  assert_int_equal(pthread_create(&s->th, NULL, serve_loop, s), 0);
  return osq_tconn_wrap(sv[1]);
}

static void stop_peer(peer *s, osq_tconn *c) {
  osq_tconn_close(c);
  pthread_join(s->th, NULL);
  osq_tconn_close(s->c);
}

static int big_cell(void *u, const char *k, size_t kl, const char *v,
                    size_t vl) {
  size_t *sizes = u;
  sizes[0] += kl;
  sizes[1] += vl;
  for (size_t i = 0; i < vl; i++)
    if (v[i] != (char)('a' + i % 26))
      return OSQ_EINVAL;
  for (size_t i = 0; i < kl; i++)
    if (k[i] != (char)('A' + i % 26))
      return OSQ_EINVAL;
  return OSQ_OK;
}
static int big_row_end(void *u) {
  ((size_t *)u)[2]++;
  return OSQ_OK;
}

static void test_big_values_partial_writes(void **state) {
  (void)state;
  peer s;
  osq_tconn *c = start_peer(&s);
  osq_tconn_set_deadline(c, osq_now_ms() + 120000);
  /* values and keys larger than the 64 KiB read buffer, and many small
   * entries, both ways through 4 KiB socket buffers */
  size_t big = 300 * 1000, bigkey = 100 * 1000;
  char *v = malloc(big + 1), *k = malloc(bigkey + 1);
  for (size_t i = 0; i < big; i++)
    v[i] = (char)('a' + i % 26);
  for (size_t i = 0; i < bigkey; i++)
    k[i] = (char)('A' + i % 26);
  v[big] = k[bigkey] = '\0';
  osq_strmap req;
  osq_strmap_init(&req);
  osq_strmap_set(&req, k, v, big);
  osq_strmap_set(&req, "A", v, 70000);
  osq_strmap_set(&req, "ABCDEFG", "abcdefg", 7);
  size_t sizes[3] = {0, 0, 0};
  osq_row_handler h = {big_cell, big_row_end, sizes};
  osq_ext_status st = {0};
  char msg[256];
  for (int round = 0; round < 3; round++) {
    memset(sizes, 0, sizeof sizes);
    assert_int_equal(osq_api_call(c, "table", "t", &req, &st, &h, msg, sizeof msg),
                     OSQ_OK);
    assert_int_equal(sizes[2], 1);
    assert_int_equal(sizes[0], bigkey + 1 + 7);
    assert_int_equal(sizes[1], big + 70000 + 7);
  }
  assert_false(osq_tconn_stale(c));
  osq_strmap_clear(&req);
  osq_ext_status_clear(&st);
  free(v);
  free(k);
  stop_peer(&s, c);
  assert_int_equal(s.rc, OSQ_ECLOSED);
}

static void test_deadline_silent_peer(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  osq_tconn *c = osq_tconn_wrap(sv[1]);
  osq_tconn_set_deadline(c, osq_now_ms() + 50);
  osq_ext_status st = {0};
  char msg[256];
  /* the peer reads nothing and answers nothing */
  assert_int_equal(osq_api_ping(c, &st, msg, sizeof msg), OSQ_ETIMEDOUT);
  assert_string_equal(msg, "ping reply: timed out waiting for the peer to send");
  assert_string_equal(osq_tconn_error(c), msg);
  osq_tconn_close(c);

  /* The message is built before any deadline starts: building 8 MiB can
   * take longer than 50 ms on a loaded machine or a fresh VM. */
  osq_twriter w;
  osq_tw_init(&w);
  char *blob = calloc(1, 8 << 20);
  assert_non_null(blob);
  osq_tw_string(&w, blob, 8 << 20);

  /* A closed peer is reported as closed (the kernel says EPIPE at once on
   * every Linux), whether or not the deadline has passed by then. */
  c = osq_tconn_wrap(sv[0]); /* sv[1] is closed */
  osq_tconn_set_deadline(c, osq_now_ms() + 60000);
  assert_int_equal(osq_tconn_send(c, &w, NULL), OSQ_ECLOSED);
  osq_tconn_set_deadline(c, osq_now_ms() - 1);
  assert_int_equal(osq_tconn_send(c, &w, NULL), OSQ_ECLOSED);
  osq_tconn_close(c);

  /* a peer that never reads: the write side times out too. A small send
   * buffer makes sure 8 MiB can never fit, whatever the kernel's defaults. */
  int sv2[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv2), 0);
  int sndbuf = 65536;
  assert_int_equal(setsockopt(sv2[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
  c = osq_tconn_wrap(sv2[0]);
  osq_tconn_set_deadline(c, osq_now_ms() + 50);
  assert_int_equal(osq_tconn_send(c, &w, NULL), OSQ_ETIMEDOUT);
  assert_string_equal(osq_tconn_error(c), "timed out waiting for the peer to receive");
  osq_tconn_close(c);
  close(sv2[1]);
  free(blob);
  osq_tw_free(&w);
}

/* Past the deadline a call is still tried once without blocking: what the
 * kernel has at once is used, and only a wait is a timeout. */
static void test_expired_deadline_tries_once(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  osq_twriter w;
  osq_tw_init(&w);
  osq_tw_message_begin(&w, "ping", OSQ_TM_REPLY, 0);
  osq_tw_field(&w, OSQ_TT_STRUCT, 0);
  osq_tw_stop(&w);
  osq_tw_stop(&w);
  assert_int_equal(write(sv[0], w.buf, w.len), (ssize_t)w.len);
  osq_tw_free(&w);
  osq_tconn *c = osq_tconn_wrap(sv[1]);
  osq_tconn_set_deadline(c, osq_now_ms() - 1);
  osq_ext_status st = {0};
  char msg[256];
  /* the request fits in the send buffer, the reply is already there */
  assert_int_equal(osq_api_ping(c, &st, msg, sizeof msg), OSQ_OK);
  osq_ext_status_clear(&st);
  /* nothing more to read: a timeout */
  assert_int_equal(osq_api_ping(c, &st, msg, sizeof msg), OSQ_ETIMEDOUT);
  assert_string_equal(msg, "ping reply: timed out waiting for the peer to send");
  osq_tconn_close(c);
  close(sv[0]);
}

static void test_request_timeout(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  osq_tconn *c = osq_tconn_wrap(sv[0]);
  osq_tconn_set_request_timeout(c, 50);
  /* a peer that starts a request and stalls costs one connection */
  assert_int_equal(write(sv[1], "\x80\x01\x00", 3), 3);
  assert_int_equal(osq_api_serve_one(c, &handlers, NULL), OSQ_ETIMEDOUT);
  assert_string_equal(osq_tconn_error(c), "timed out waiting for the peer to send");
  osq_tconn_close(c);
  close(sv[1]);
}

static void test_peer_gone(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  osq_tconn *c = osq_tconn_wrap(sv[1]);
  assert_false(osq_tconn_stale(c));
  /* bytes nobody asked for make a pooled connection stale */
  assert_int_equal(write(sv[0], "x", 1), 1);
  assert_true(osq_tconn_stale(c));
  osq_tconn_close(c);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  c = osq_tconn_wrap(sv[1]);
  close(sv[0]);
  assert_true(osq_tconn_stale(c));
  /* writing to a closed peer is an error, never SIGPIPE */
  osq_ext_status st = {0};
  char msg[256];
  assert_int_equal(osq_api_ping(c, &st, msg, sizeof msg), OSQ_ECLOSED);
  assert_string_equal(msg, "ping: peer closed the connection while we wrote");
  osq_tconn_close(c);

  /* a peer that hangs up in the middle of a reply */
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  c = osq_tconn_wrap(sv[1]);
  static const uint8_t part[] = {0x80, 0x01, 0x00, 0x02, 0, 0, 0, 4, 'p', 'i'};
  assert_int_equal(write(sv[0], part, sizeof part), (ssize_t)sizeof part);
  shutdown(sv[0], SHUT_WR);
  assert_int_equal(osq_api_ping(c, &st, msg, sizeof msg), OSQ_EPROTO);
  assert_string_equal(msg, "ping reply: message truncated: connection closed after 10 bytes");
  osq_tconn_close(c);
  close(sv[0]);

  /* connecting to nothing names the path */
  int err;
  c = osq_tconn_open("/nonexistent/osq-test.em", 1000, &err, msg, sizeof msg);
  assert_null(c);
  assert_int_equal(err, OSQ_ENOTFOUND);
  assert_string_equal(msg, "connect to /nonexistent/osq-test.em: No such file or directory");
  char longpath[200];
  memset(longpath, 'a', sizeof longpath - 1);
  longpath[sizeof longpath - 1] = '\0';
  assert_null(osq_tconn_open(longpath, 0, &err, msg, sizeof msg));
  assert_int_equal(err, OSQ_EINVAL);
  assert_non_null(strstr(msg, "is too long (199 bytes, at most 107)"));
  osq_ext_status_clear(&st);
}

static volatile sig_atomic_t signals;
static void on_signal(int sig) {
  (void)sig;
  signals++;
}

typedef struct late {
  int fd;
  pthread_t target;
} late;

/* Interrupt the reader many times, then answer its ping. */
static void *late_answer(void *p) {
  late *l = p;
  uint8_t buf[64];
  ssize_t n = read(l->fd, buf, sizeof buf); /* the request */
  assert_true(n > 0);
  for (int i = 0; i < 50; i++) {
    pthread_kill(l->target, SIGUSR1);
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
  }
  osq_twriter w;
  osq_tw_init(&w);
  osq_tw_message_begin(&w, "ping", OSQ_TM_REPLY, 0);
  osq_tw_field(&w, OSQ_TT_STRUCT, 0);
  osq_tw_stop(&w);
  osq_tw_stop(&w);
  assert_int_equal(write(l->fd, w.buf, w.len), (ssize_t)w.len);
  osq_tw_free(&w);
  return NULL;
}

static void test_eintr_retried(void **state) {
  (void)state;
  struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
  sigemptyset(&sa.sa_mask);
  struct sigaction old;
  sigaction(SIGUSR1, &sa, &old);
  for (int with_deadline = 0; with_deadline < 2; with_deadline++) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    osq_tconn *c = osq_tconn_wrap(sv[1]);
    if (with_deadline)
      osq_tconn_set_deadline(c, osq_now_ms() + 120000);
    late l = {sv[0], pthread_self()};
    pthread_t th;
    signals = 0;
    assert_int_equal(pthread_create(&th, NULL, late_answer, &l), 0);
    osq_ext_status st = {0};
    char msg[256];
    assert_int_equal(osq_api_ping(c, &st, msg, sizeof msg), OSQ_OK);
    assert_int_equal(st.code, 0);
    assert_string_equal(st.message, "");
    pthread_join(th, NULL);
    assert_true(signals > 0);
    osq_ext_status_clear(&st);
    osq_tconn_close(c);
    close(sv[0]);
  }
  sigaction(SIGUSR1, &old, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_missing_fields_defaulted),
      cmocka_unit_test(test_unknown_fields_skipped),
      cmocka_unit_test(test_truncated_everywhere),
      cmocka_unit_test(test_stream_refills),
      cmocka_unit_test(test_absurd_lengths),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_max_message_size),
      cmocka_unit_test(test_bad_headers),
      cmocka_unit_test(test_big_values_partial_writes),
      cmocka_unit_test(test_deadline_silent_peer),
      cmocka_unit_test(test_expired_deadline_tries_once),
      cmocka_unit_test(test_request_timeout),
      cmocka_unit_test(test_peer_gone),
      cmocka_unit_test(test_eintr_retried),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
