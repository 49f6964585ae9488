/* osq_extension_run in-process against a small manager built on osq's own
 * Thrift server (the Python fake core covers the interop side): register,
 * query() back into the core from a plugin, shutdown, deregister. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/flags.h"
#include "sdk/sdk.h"

#define UUID 42

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool registered, deregistered;
  char name[64], sdk[32], min_sdk[32];
  size_t nroutes;
  char route_item[64];
  int listen_fd, stop[2];
} mgr = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static int m_ping(void *u, osq_ext_status *out) {
  (void)u;
  osq_ext_status_set(out, 0, "pong", 0);
  return OSQ_OK;
}

static int m_register(void *u, const osq_ext_info *info,
                      const osq_route_table *routes, osq_ext_status *out) {
  (void)u;
  pthread_mutex_lock(&mgr.lock);
  snprintf(mgr.name, sizeof mgr.name, "%s", info->name);
  snprintf(mgr.sdk, sizeof mgr.sdk, "%s", info->sdk_version);
  snprintf(mgr.min_sdk, sizeof mgr.min_sdk, "%s", info->min_sdk_version);
  mgr.nroutes = routes->n;
  if (routes->n)
    snprintf(mgr.route_item, sizeof mgr.route_item, "%s/%s",
             routes->routes[0].registry, routes->routes[0].item);
  mgr.registered = true;
  pthread_cond_broadcast(&mgr.cond);
  pthread_mutex_unlock(&mgr.lock);
  osq_ext_status_set(out, 0, "OK", UUID);
  return OSQ_OK;
}

static int m_deregister(void *u, int64_t uuid, osq_ext_status *out) {
  (void)u;
  pthread_mutex_lock(&mgr.lock);
  mgr.deregistered = uuid == UUID;
  pthread_cond_broadcast(&mgr.cond);
  pthread_mutex_unlock(&mgr.lock);
  osq_ext_status_set(out, 0, "OK", 0);
  return OSQ_OK;
}

static int m_extensions(void *u, osq_ext_list *out) {
  (void)u;
  out->items = calloc(1, sizeof *out->items);
  out->n = 1;
  out->items[0].uuid = UUID;
  out->items[0].info.name = strdup("t");
  out->items[0].info.version = strdup("1");
  out->items[0].info.sdk_version = strdup("0.0.0");
  out->items[0].info.min_sdk_version = strdup("0.0.0");
  return OSQ_OK;
}

static int m_options(void *u, osq_option_list *out) {
  (void)u;
  out->items = calloc(1, sizeof *out->items);
  out->n = 1;
  out->items[0].name = strdup("logger_plugin");
  out->items[0].value = strdup("tlog");
  out->items[0].default_value = strdup("filesystem");
  out->items[0].type = strdup("string");
  return OSQ_OK;
}

static int m_query(void *u, const char *sql, osq_api_reply *reply) {
  (void)u;
  if (strcmp(sql, "select 1 as a") != 0) {
    osq_ext_status_set(&reply->status, 1, "no such table: x", 0);
    return OSQ_OK;
  }
  osq_api_reply_row_begin(reply);
  osq_api_reply_cell(reply, "a", 1, "1", 1);
  osq_api_reply_row_end(reply);
  osq_ext_status_set(&reply->status, 0, "OK", 0);
  return OSQ_OK;
}

static int m_columns(void *u, const char *sql, osq_api_reply *reply) {
  (void)u;
  (void)sql;
  osq_api_reply_row_begin(reply);
  osq_api_reply_cell(reply, "a", 1, "BIGINT", 6);
  osq_api_reply_row_end(reply);
  osq_ext_status_set(&reply->status, 0, "OK", 0);
  return OSQ_OK;
}

static const osq_api_handlers mgr_handlers = {
    .ping = m_ping, .register_extension = m_register,
    .deregister_extension = m_deregister, .extensions = m_extensions,
    .options = m_options, .query = m_query, .get_query_columns = m_columns};

static void *mgr_conn(void *arg) {
  osq_tconn *c = osq_tconn_wrap((int)(intptr_t)arg);
  while (osq_api_serve_one(c, &mgr_handlers, NULL) == OSQ_OK)
    ;
  osq_tconn_close(c);
  return NULL;
}

static void *mgr_main(void *arg) {
  (void)arg;
  for (;;) {
    struct pollfd p[2] = {{mgr.listen_fd, POLLIN, 0}, {mgr.stop[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR)
      break;
    if (p[1].revents)
      break;
    if (p[0].revents) {
      int fd = accept4(mgr.listen_fd, NULL, NULL, SOCK_CLOEXEC);
      pthread_t t;
      if (fd >= 0 && pthread_create(&t, NULL, mgr_conn,
                                    (void *)(intptr_t)fd) == 0)
        pthread_detach(t);
    }
  }
  return NULL;
}

/* ---- the extension ----------------------------------------------------- */

static osq_extension *ext;

static int copy(const osq_strmap *row, void *u) {
  const char *a = osq_strmap_get(row, "a");
  return osq_strmap_set(u, "a", a, strlen(a));
}

static int copy_type(const osq_strmap *row, void *u) {
  size_t n;
  const char *v = osq_strmap_val(row, 0, &n);
  return osq_strmap_set(u, osq_strmap_key(row, 0), v, n);
}

static int gen(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  char err[128];
  int rc = osq_extension_query(ext, "select 1 as a", NULL, NULL, err,
                               sizeof err);
  assert_int_equal(rc, OSQ_OK);
  osq_strmap got;
  osq_strmap_init(&got);
  rc = osq_extension_query(ext, "select 1 as a", copy, &got, err,
                           sizeof err);
  osq_rows_cstr(out, 0, rc == OSQ_OK ? osq_strmap_get(&got, "a") : err);
  osq_strmap_clear(&got);
  osq_strmap_init(&got);
  assert_int_equal(osq_extension_query_columns(ext, "select 1 as a", copy_type,
                                               &got, err, sizeof err),
                   OSQ_OK);
  assert_string_equal(osq_strmap_get(&got, "a"), "BIGINT");
  osq_strmap_clear(&got);
  rc = osq_extension_query(ext, "select x", NULL, NULL, err, sizeof err);
  osq_rows_cstr(out, 1, rc == OSQ_ERROR ? err : "?");
  const osq_strmap *req = osq_extension_request();
  osq_rows_cstr(out, 2, req ? osq_strmap_get(req, "extra") : NULL);
  osq_rows_end(out);
  return OSQ_OK;
}

static int logged;
static int log_fn(osq_log_kind k, const char *t, size_t n, void *u) {
  (void)k, (void)t, (void)n, (void)u;
  logged++;
  return OSQ_OK;
}

static const osq_column cols[] = {{"from_core", OSQ_TYPE_TEXT, 0},
                                  {"error", OSQ_TYPE_TEXT, 0},
                                  {"extra", OSQ_TYPE_TEXT, 0}};
static const osq_table_plugin table = {
    .name = "t1", .columns = cols, .ncolumns = 3, .generate = gen};
static const osq_logger_plugin logger = {.name = "tlog", .log = log_fn};

struct run_args {
  char *argv[8];
  int code;
};

static void *ext_main(void *arg) {
  struct run_args *a = arg;
  a->code = osq_extension_run(ext, 7, a->argv);
  return NULL;
}

static void test_run(void **state) {
  (void)state;
  char dir[] = "/tmp/osqsdkXXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128], ext_path[160];
  snprintf(path, sizeof path, "%s/m.em", dir);
  snprintf(ext_path, sizeof ext_path, "%s.%d", path, UUID);

  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", path);
  mgr.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(bind(mgr.listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(mgr.listen_fd, 16), 0);
  assert_int_equal(pipe2(mgr.stop, O_CLOEXEC), 0);
  pthread_t mt, et;
  pthread_create(&mt, NULL, mgr_main, NULL);

  ext = osq_extension_new("t", "1.2.3");
  assert_int_equal(osq_extension_add_table(ext, &table), OSQ_OK);
  assert_int_equal(osq_extension_add_logger(ext, &logger), OSQ_OK);
  struct run_args a = {{"t", "--socket", path, "--interval", "0.2",
                        "--timeout", "60"}, -1};
  pthread_create(&et, NULL, ext_main, &a);

  pthread_mutex_lock(&mgr.lock);
  while (!mgr.registered)
    pthread_cond_wait(&mgr.cond, &mgr.lock);
  pthread_mutex_unlock(&mgr.lock);
  assert_string_equal(mgr.name, "t");
  assert_string_equal(mgr.sdk, OSQ_SDK_VERSION);
  assert_string_equal(mgr.min_sdk, "0.0.0");
  assert_int_equal(mgr.nroutes, 2); /* logger/tlog, table/t1 */
  assert_string_equal(mgr.route_item, "logger/tlog");

  /* the extension socket appears once it listens (a minute's budget for a
   * loaded machine; it is there in milliseconds otherwise) */
  osq_tconn *c = NULL;
  for (int64_t end = osq_now_ms() + 60000; c == NULL && osq_now_ms() < end;) {
    int err = 0;
    c = osq_tconn_connect(ext_path, 1000, &err);
    if (c == NULL)
      usleep(10000);
  }
  assert_non_null(c);
  assert_int_equal(osq_extension_uuid(ext), UUID);
  assert_string_equal(osq_extension_option(ext, "logger_plugin"), "tlog");

  osq_strmap req;
  osq_strmap_init(&req);
  osq_strmap_set(&req, "action", "generate", 8);
  osq_strmap_set(&req, "extra", "x1", 2);
  osq_plist rows;
  osq_plist_init(&rows);
  osq_row_handler h = osq_plist_handler(&rows);
  osq_ext_status st = {0};
  char msg[256];
  assert_int_equal(osq_api_call(c, "table", "t1", &req, &st, &h, msg,
                                sizeof msg),
                   OSQ_OK);
  assert_int_equal(st.code, 0);
  assert_int_equal(st.uuid, UUID);
  assert_int_equal(rows.n, 1);
  assert_string_equal(osq_strmap_get(&rows.rows[0], "from_core"), "1");
  assert_string_equal(osq_strmap_get(&rows.rows[0], "error"),
                      "no such table: x");
  assert_string_equal(osq_strmap_get(&rows.rows[0], "extra"), "x1");
  osq_plist_clear(&rows);
  osq_strmap_clear(&req);

  /* empty item: the active logger from options() */
  osq_strmap_set(&req, "snapshot", "{}", 2);
  assert_int_equal(osq_api_call(c, "logger", "", &req, &st, NULL, msg,
                                sizeof msg),
                   OSQ_OK);
  assert_int_equal(st.code, 0);
  assert_int_equal(logged, 1);
  osq_strmap_clear(&req);

  assert_int_equal(osq_api_shutdown(c, msg, sizeof msg), OSQ_OK);
  osq_ext_status_clear(&st);
  osq_tconn_close(c);
  pthread_join(et, NULL);
  assert_int_equal(a.code, 0);
  assert_true(mgr.deregistered);
  struct stat sb;
  assert_int_not_equal(stat(ext_path, &sb), 0); /* removed */
  osq_extension_free(ext);

  assert_int_equal(write(mgr.stop[1], "x", 1), 1);
  pthread_join(mt, NULL);
  close(mgr.listen_fd);
  close(mgr.stop[0]);
  close(mgr.stop[1]);
  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_run)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
