/* osquery's extensions API over the codec: golden bytes of the messages,
 * client/server round trips on a socketpair, defaults for missing fields,
 * unknown fields and methods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "thrift/api.h"

/* ---- helpers -------------------------------------------------------------- */

static int handler_calls;

static int h_ping(void *u, osq_ext_status *out) {
  (void)u;
  handler_calls++;
  osq_ext_status_set(out, 0, "pong", 7);
  return OSQ_OK;
}

static int h_call(void *u, const char *registry, const char *item,
                  const osq_strmap *req, osq_api_reply *rep) {
  (void)u;
  handler_calls++;
  if (strcmp(registry, "fail") == 0)
    return OSQ_ERROR;
  const char *rows = osq_strmap_get(req, "rows");
  int n = rows ? atoi(rows) : 1;
  for (int i = 0; i < n; i++) {
    char v[32];
    int len = snprintf(v, sizeof v, "%d", i);
    osq_api_reply_row_begin(rep);
    osq_api_reply_cell(rep, "item", 4, item, strlen(item));
    osq_api_reply_cell(rep, "i", 1, v, (size_t)len);
    osq_api_reply_row_end(rep);
  }
  osq_ext_status_set(&rep->status, 0, "OK", 0);
  return OSQ_OK;
}

static int shutdowns;
static int h_shutdown(void *u) {
  (void)u;
  shutdowns++;
  return OSQ_OK;
}

static int h_extensions(void *u, osq_ext_list *out) {
  (void)u;
  out->items = calloc(1, sizeof *out->items);
  out->n = 1;
  out->items[0].uuid = 42;
  out->items[0].info.name = strdup("ext");
  out->items[0].info.version = strdup("1.0");
  out->items[0].info.sdk_version = strdup("5.12.1");
  out->items[0].info.min_sdk_version = strdup("0.0.0");
  return OSQ_OK;
}

static int h_options(void *u, osq_option_list *out) {
  (void)u;
  out->items = calloc(1, sizeof *out->items);
  out->n = 1;
  out->items[0].name = strdup("logger_plugin");
  out->items[0].value = strdup("filesystem");
  out->items[0].default_value = strdup("filesystem");
  out->items[0].type = strdup("string");
  return OSQ_OK;
}

static osq_route_table got_routes;
static osq_ext_info got_info;

static int h_register(void *u, const osq_ext_info *info,
                      const osq_route_table *routes, osq_ext_status *out) {
  (void)u;
  got_info.name = strdup(info->name);
  got_info.version = strdup(info->version);
  got_info.sdk_version = strdup(info->sdk_version);
  got_info.min_sdk_version = strdup(info->min_sdk_version);
  /* keep a deep copy of what matters for the assertions */
  got_routes.n = routes->n;
  got_routes.routes = calloc(routes->n ? routes->n : 1, sizeof(osq_route));
  for (size_t i = 0; i < routes->n; i++) {
    got_routes.routes[i].registry = strdup(routes->routes[i].registry);
    got_routes.routes[i].item = strdup(routes->routes[i].item);
    osq_plist_init(&got_routes.routes[i].info);
    for (size_t j = 0; j < routes->routes[i].info.n; j++) {
      osq_strmap *row = osq_plist_add(&got_routes.routes[i].info);
      const osq_strmap *src = &routes->routes[i].info.rows[j];
      for (size_t k = 0; k < osq_strmap_count(src); k++) {
        size_t len;
        const char *v = osq_strmap_val(src, k, &len);
        osq_strmap_set(row, osq_strmap_key(src, k), v, len);
      }
    }
  }
  got_routes.nempty = routes->nempty;
  got_routes.empty_registries = calloc(routes->nempty + 1, sizeof(char *));
  for (size_t i = 0; i < routes->nempty; i++)
    got_routes.empty_registries[i] = strdup(routes->empty_registries[i]);
  osq_ext_status_set(out, 0, "OK", 1234);
  return OSQ_OK;
}

static int h_deregister(void *u, int64_t uuid, osq_ext_status *out) {
  (void)u;
  osq_ext_status_set(out, uuid == 1234 ? 0 : 1, uuid == 1234 ? "OK" : "no", 0);
  return OSQ_OK;
}

static int h_query(void *u, const char *sql, osq_api_reply *rep) {
  (void)u;
  osq_api_reply_cell(rep, "sql", 3, sql, strlen(sql));
  osq_api_reply_row_end(rep);
  osq_ext_status_set(&rep->status, 0, "OK", 0);
  return OSQ_OK;
}

static int h_columns(void *u, const char *sql, osq_api_reply *rep) {
  (void)u;
  (void)sql;
  osq_api_reply_cell(rep, "a", 1, "TEXT", 4);
  osq_api_reply_row_end(rep);
  osq_ext_status_set(&rep->status, 1, "no such table: x", 0);
  osq_api_reply_discard_rows(rep);
  return OSQ_OK;
}

static const osq_api_handlers ext_handlers = {
    .ping = h_ping, .call = h_call, .shutdown = h_shutdown};
static const osq_api_handlers mgr_handlers = {
    .ping = h_ping,
    .call = h_call,
    .shutdown = h_shutdown,
    .extensions = h_extensions,
    .options = h_options,
    .register_extension = h_register,
    .deregister_extension = h_deregister,
    .query = h_query,
    .get_query_columns = h_columns};

typedef struct server {
  pthread_t th;
  osq_tconn *c;
  const osq_api_handlers *h;
  int last_rc;
  char last_err[256];
} server;

static void *serve_loop(void *p) {
  server *s = p;
  int rc;
  while ((rc = osq_api_serve_one(s->c, s->h, NULL)) == OSQ_OK)
    ;
  s->last_rc = rc;
  snprintf(s->last_err, sizeof s->last_err, "%s", osq_tconn_error(s->c));
  return NULL;
}

/* A server thread on one end of a socketpair; returns the client end. */
static osq_tconn *start(server *s, const osq_api_handlers *h) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  s->c = osq_tconn_wrap(sv[0]);
  s->h = h;
  assert_int_equal(pthread_create(&s->th, NULL, serve_loop, s), 0);
  osq_tconn *c = osq_tconn_wrap(sv[1]);
  osq_tconn_set_deadline(c, osq_now_ms() + 60000);
  return c;
}

static void stop(server *s, osq_tconn *client) {
  osq_tconn_close(client);
  pthread_join(s->th, NULL);
  osq_tconn_close(s->c);
}

/* Serve raw request bytes from memory; return the reply bytes. */
static int serve_bytes(const osq_api_handlers *h, const void *in, size_t n,
                       osq_twriter *out, char *err, size_t errlen) {
  osq_tconn *c = osq_tconn_memory(in, n, out);
  int rc = osq_api_serve_one(c, h, NULL);
  if (err)
    snprintf(err, errlen, "%s", osq_tconn_error(c));
  osq_tconn_close(c);
  return rc;
}

/* ---- golden bytes ------------------------------------------------------------ */

static const uint8_t ping_call[] = {0x80, 0x01, 0x00, 0x01, 0, 0, 0, 4,
                                    'p',  'i',  'n',  'g',  0, 0, 0, 0, 0};

static void test_ping_golden(void **state) {
  (void)state;
  /* What the client sends: docs/protocol.md §2.2 byte for byte. */
  osq_twriter out;
  osq_tw_init(&out);
  osq_tconn *c = osq_tconn_memory(NULL, 0, &out);
  osq_ext_status st = {0};
  char msg[256];
  assert_int_equal(osq_api_ping(c, &st, msg, sizeof msg), OSQ_ECLOSED);
  assert_int_equal(out.len, sizeof ping_call);
  assert_memory_equal(out.buf, ping_call, sizeof ping_call);
  osq_tconn_close(c);
  osq_ext_status_clear(&st);

  /* What the server answers. */
  osq_tw_reset(&out);
  assert_int_equal(serve_bytes(&ext_handlers, ping_call, sizeof ping_call, &out,
                               NULL, 0),
                   OSQ_OK);
  static const uint8_t reply[] = {
      0x80, 0x01, 0x00, 0x02, 0, 0, 0, 4, 'p', 'i', 'n', 'g', 0, 0, 0, 0,
      0x0c, 0x00, 0x00,                   /* field 0: struct */
      0x08, 0x00, 0x01, 0, 0, 0, 0,       /* code 0 */
      0x0b, 0x00, 0x02, 0, 0, 0, 4, 'p', 'o', 'n', 'g',
      0x0a, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 7, /* uuid 7 */
      0x00, 0x00};
  assert_int_equal(out.len, sizeof reply);
  assert_memory_equal(out.buf, reply, sizeof reply);
  osq_tw_free(&out);
}

static void test_seqid_echoed_and_old_header(void **state) {
  (void)state;
  /* old unversioned header: name length, name, type byte, seqid 0x01020304 */
  static const uint8_t old[] = {0, 0, 0, 4, 'p', 'i', 'n', 'g', 1,
                                1, 2, 3, 4, 0};
  osq_twriter out;
  osq_tw_init(&out);
  assert_int_equal(serve_bytes(&ext_handlers, old, sizeof old, &out, NULL, 0),
                   OSQ_OK);
  /* the reply uses the strict header and echoes the seqid */
  static const uint8_t head[] = {0x80, 0x01, 0x00, 0x02, 0, 0, 0, 4,
                                 'p',  'i',  'n',  'g',  1, 2, 3, 4};
  assert_true(out.len > sizeof head);
  assert_memory_equal(out.buf, head, sizeof head);
  osq_tw_free(&out);
}

static void test_unknown_method(void **state) {
  (void)state;
  /* "extensions" on an extension socket, with an args struct holding a
   * field that must be skipped */
  osq_twriter in;
  osq_tw_init(&in);
  osq_tw_message_begin(&in, "streamEvents", OSQ_TM_CALL, 9);
  osq_tw_field(&in, OSQ_TT_LIST, 1);
  osq_tw_list_begin(&in, OSQ_TT_STRING, 2);
  osq_tw_cstr(&in, "a");
  osq_tw_cstr(&in, "b");
  osq_tw_stop(&in);
  osq_twriter out;
  osq_tw_init(&out);
  assert_int_equal(serve_bytes(&ext_handlers, in.buf, in.len, &out, NULL, 0),
                   OSQ_OK);
  static const char text[] = "Invalid method name: 'streamEvents'";
  osq_twriter want;
  osq_tw_init(&want);
  static const uint8_t hdr[] = {0x80, 0x01, 0x00, 0x03, 0, 0, 0, 12};
  osq_tw_bytes(&want, hdr, sizeof hdr);
  osq_tw_bytes(&want, "streamEvents", 12);
  osq_tw_i32(&want, 9);
  static const uint8_t f1[] = {0x0b, 0x00, 0x01, 0, 0, 0, sizeof text - 1};
  osq_tw_bytes(&want, f1, sizeof f1);
  osq_tw_bytes(&want, text, sizeof text - 1);
  static const uint8_t f2[] = {0x08, 0x00, 0x02, 0, 0, 0, 1, 0};
  osq_tw_bytes(&want, f2, sizeof f2);
  assert_int_equal(out.len, want.len);
  assert_memory_equal(out.buf, want.buf, want.len);

  /* a manager method on an extension server is unknown too; the client
   * reports the exception's text */
  server s;
  osq_tconn *c = start(&s, &ext_handlers);
  osq_ext_list l;
  char msg[256];
  assert_int_equal(osq_api_extensions(c, &l, msg, sizeof msg), OSQ_EPROTO);
  assert_string_equal(msg, "Invalid method name: 'extensions'");
  assert_int_equal(l.n, 0);
  /* and the connection still serves */
  osq_ext_status st = {0};
  assert_int_equal(osq_api_ping(c, &st, msg, sizeof msg), OSQ_OK);
  assert_string_equal(st.message, "pong");
  osq_ext_status_clear(&st);
  stop(&s, c);
  assert_int_equal(s.last_rc, OSQ_ECLOSED);
  osq_tw_free(&in);
  osq_tw_free(&out);
  osq_tw_free(&want);
}

/* ---- round trips -------------------------------------------------------------- */

static int collect_cell(void *u, const char *k, size_t kl, const char *v,
                        size_t vl) {
  char *buf = u;
  size_t n = strlen(buf);
  snprintf(buf + n, 4096 - n, "%.*s=%.*s,", (int)kl, k, (int)vl, v);
  return OSQ_OK;
}
static int collect_row_end(void *u) {
  char *buf = u;
  size_t n = strlen(buf);
  snprintf(buf + n, 4096 - n, ";");
  return OSQ_OK;
}

static int fail_second_row(void *u, const char *k, size_t kl, const char *v,
                           size_t vl) {
  (void)k, (void)kl, (void)vl;
  int *cells = u;
  return ++*cells > 2 && v[0] == '1' ? OSQ_ENOMEM : OSQ_OK;
}

static void test_call_round_trip(void **state) {
  (void)state;
  server s;
  osq_tconn *c = start(&s, &ext_handlers);
  osq_strmap req;
  osq_strmap_init(&req);
  osq_strmap_set(&req, "action", "generate", 8);
  osq_strmap_set(&req, "rows", "3", 1);
  osq_ext_status st = {0};
  char buf[4096] = "";
  osq_row_handler h = {collect_cell, collect_row_end, buf};
  char msg[256];
  for (int round = 0; round < 3; round++) { /* one reused connection */
    buf[0] = '\0';
    assert_int_equal(
        osq_api_call(c, "table", "t1", &req, &st, &h, msg, sizeof msg),
        OSQ_OK);
    assert_int_equal(st.code, 0);
    assert_string_equal(st.message, "OK");
    assert_string_equal(buf, "item=t1,i=0,;item=t1,i=1,;item=t1,i=2,;");
  }
  /* collect into a plist */
  osq_plist l;
  osq_plist_init(&l);
  osq_row_handler ph = osq_plist_handler(&l);
  assert_int_equal(osq_api_call(c, "table", "t2", &req, &st, &ph, msg, sizeof msg),
                   OSQ_OK);
  assert_int_equal(l.n, 3);
  assert_string_equal(osq_strmap_get(&l.rows[2], "i"), "2");
  assert_string_equal(osq_strmap_get(&l.rows[0], "item"), "t2");
  osq_plist_clear(&l);

  /* a row handler that gives up: the error names the row and entry */
  int cells = 0;
  osq_row_handler fh = {fail_second_row, NULL, &cells};
  assert_int_equal(osq_api_call(c, "table", "t3", &req, &st, &fh, msg, sizeof msg),
                   OSQ_ENOMEM);
  assert_string_equal(msg, "call reply: response row 1: handler failed at entry 1");
  /* the connection is out of step now: a new one */
  stop(&s, c);
  c = start(&s, &ext_handlers);

  /* a failing handler: TApplicationException INTERNAL_ERROR */
  assert_int_equal(osq_api_call(c, "fail", "x", &req, &st, &h, msg, sizeof msg),
                   OSQ_EPROTO);
  assert_string_equal(msg, "Internal error");
  /* shutdown: a void reply */
  assert_int_equal(osq_api_shutdown(c, msg, sizeof msg), OSQ_OK);
  assert_int_equal(shutdowns, 1);
  osq_ext_status_clear(&st);
  osq_strmap_clear(&req);
  stop(&s, c);
}

static void test_manager_round_trip(void **state) {
  (void)state;
  server s;
  osq_tconn *c = start(&s, &mgr_handlers);
  char msg[256];
  osq_ext_list el;
  assert_int_equal(osq_api_extensions(c, &el, msg, sizeof msg), OSQ_OK);
  assert_int_equal(el.n, 1);
  assert_int_equal(el.items[0].uuid, 42);
  assert_string_equal(el.items[0].info.sdk_version, "5.12.1");
  osq_ext_list_clear(&el);

  osq_option_list ol;
  assert_int_equal(osq_api_options(c, &ol, msg, sizeof msg), OSQ_OK);
  assert_int_equal(ol.n, 1);
  assert_string_equal(ol.items[0].name, "logger_plugin");
  assert_string_equal(ol.items[0].type, "string");
  osq_option_list_clear(&ol);

  /* registerExtension: a table with two columns, an empty registry */
  osq_route rt = {.registry = "table", .item = "mytable"};
  osq_plist_init(&rt.info);
  osq_strmap *row = osq_plist_add(&rt.info);
  osq_strmap_set(row, "id", "column", 6);
  osq_strmap_set(row, "name", "a", 1);
  row = osq_plist_add(&rt.info);
  osq_strmap_set(row, "id", "column", 6);
  osq_strmap_set(row, "name", "b", 1);
  char *empty[] = {"config"};
  osq_route_table t = {.routes = &rt, .n = 1, .empty_registries = empty, .nempty = 1};
  osq_ext_info info = {"myext", "1.0", "5.12.1", "0.0.0"};
  osq_ext_status st = {0};
  assert_int_equal(osq_api_register(c, &info, &t, &st, msg, sizeof msg), OSQ_OK);
  assert_int_equal(st.uuid, 1234);
  assert_string_equal(got_info.name, "myext");
  assert_string_equal(got_info.min_sdk_version, "0.0.0");
  assert_int_equal(got_routes.n, 1);
  assert_string_equal(got_routes.routes[0].registry, "table");
  assert_string_equal(got_routes.routes[0].item, "mytable");
  assert_int_equal(got_routes.routes[0].info.n, 2);
  assert_string_equal(osq_strmap_get(&got_routes.routes[0].info.rows[1], "name"), "b");
  assert_int_equal(got_routes.nempty, 1);
  assert_string_equal(got_routes.empty_registries[0], "config");
  osq_plist_clear(&rt.info);
  osq_route_table_clear(&got_routes);
  osq_ext_info_clear(&got_info);

  assert_int_equal(osq_api_deregister(c, 1234, &st, msg, sizeof msg), OSQ_OK);
  assert_int_equal(st.code, 0);
  assert_int_equal(osq_api_deregister(c, 1, &st, msg, sizeof msg), OSQ_OK);
  assert_int_equal(st.code, 1);

  char buf[4096] = "";
  osq_row_handler h = {collect_cell, collect_row_end, buf};
  assert_int_equal(osq_api_query(c, "select 1", &st, &h, msg, sizeof msg), OSQ_OK);
  assert_string_equal(buf, "sql=select 1,;");
  buf[0] = '\0';
  assert_int_equal(osq_api_get_query_columns(c, "x", &st, &h, msg, sizeof msg),
                   OSQ_OK);
  assert_int_equal(st.code, 1);
  assert_string_equal(st.message, "no such table: x");
  assert_string_equal(buf, "");
  osq_ext_status_clear(&st);
  stop(&s, c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ping_golden),
      cmocka_unit_test(test_seqid_echoed_and_old_header),
      cmocka_unit_test(test_unknown_method),
      cmocka_unit_test(test_call_round_trip),
      cmocka_unit_test(test_manager_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
