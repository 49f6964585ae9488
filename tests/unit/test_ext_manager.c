/* The extension manager in-process: version rule, uuid allocation under
 * register/deregister churn, the waits, socket replacement rules, and the
 * client pool against a one-connection-at-a-time server (osquery-python's
 * TSimpleServer). */
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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/flags.h"
#include "ext/client/client_pool.h"
#include "ext/manager/manager_impl.h"
#include "ext/client/remote.h"
#include "registry/registry.h"
#include "thrift/api.h"
#include "settings/ext_settings.h"

/* The settings the shell would pass, from the flags this test set. */
static const osq_ext_settings *settings_from_flags(void) {
  static osq_ext_settings s;
  osq_ext_settings_from_flags(&s);
  return &s;
}

static char dir[64];
static char sock[80];

static void make_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/osqt-unit-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(sock, sizeof sock, "%s/m.em", dir);
}

static osq_tconn *client(void) {
  int e = 0;
  char msg[256];
  osq_tconn *c = osq_tconn_open(sock, 5000, &e, msg, sizeof msg);
  assert_non_null(c);
  return c;
}

static int64_t do_register(osq_tconn *c, const char *name, const char *sdk,
                           osq_route_table *routes, char *msg,
                           size_t msglen) {
  osq_ext_info info = {(char *)name, "1", (char *)sdk, "0.0.0"};
  osq_route_table empty = {0};
  osq_ext_status st = {0};
  char err[256];
  assert_int_equal(osq_api_register(c, &info, routes ? routes : &empty, &st,
                                    err, sizeof err),
                   OSQ_OK);
  snprintf(msg, msglen, "%s", st.message ? st.message : "");
  int64_t uuid = st.code == 0 ? st.uuid : -st.code;
  osq_ext_status_clear(&st);
  return uuid;
}

static void test_version_rule(void **state) {
  (void)state;
  const char *req = OSQ_MANAGER_SDK_MIN;
  assert_true(osq_version_at_least(req, ""));      /* Go sends nothing */
  assert_true(osq_version_at_least(req, "0.0.0"));
  assert_true(osq_version_at_least(req, "1.7.7"));
  assert_true(osq_version_at_least(req, "1.8.0"));
  assert_true(osq_version_at_least(req, "3.0.7")); /* osquery-python */
  assert_true(osq_version_at_least(req, "5.12.1"));
  assert_true(osq_version_at_least(req, "1.8"));
  assert_true(osq_version_at_least(req, "2"));
  assert_true(osq_version_at_least(req, "1.7.7.1"));
  assert_true(osq_version_at_least(req, "1..7.8")); /* empty parts dropped */
  assert_false(osq_version_at_least(req, "1.7.6"));
  assert_false(osq_version_at_least(req, "1.6"));
  assert_false(osq_version_at_least(req, "0.9.9"));
  assert_false(osq_version_at_least(req, "1.7.5-rc1"));
  assert_false(osq_version_at_least(req, "1.7.6-rc1"));
  assert_true(osq_version_at_least(req, "1.7.7-rc1")); /* numeric prefix */
  assert_false(osq_version_at_least("1.a", "1.0")); /* "0" < "a" as text */
}

static void test_registration_and_uuids(void **state) {
  (void)state;
  make_dir();
  char err[512], msg[256];
  osq_manager *m = osq_manager_start(sock, settings_from_flags(), err, sizeof err);
  assert_non_null(m);
  struct stat st;
  assert_int_equal(stat(sock, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0600);

  /* a second manager on a live socket is refused, naming the path */
  osq_manager *m2 = osq_manager_start(sock, settings_from_flags(), err, sizeof err);
  assert_null(m2);
  assert_non_null(strstr(err, sock));
  assert_non_null(strstr(err, "Another extension manager is serving"));

  osq_tconn *c = client();
  int64_t first = do_register(c, "one", "3.0.7", NULL, msg, sizeof msg);
  assert_true(first >= 1 && first <= 65535);
  assert_int_equal(do_register(c, "one", "3.0.7", NULL, msg, sizeof msg), -1);
  assert_string_equal(msg, "Duplicate extension registered");
  assert_int_equal(do_register(c, "two", "1.0.0", NULL, msg, sizeof msg), -1);
  assert_string_equal(msg, "Incompatible extension SDK version");

  /* waits: by name (one shared deadline), by pid, by plugin */
  const char *names[] = {"one"};
  assert_int_equal(osq_manager_wait_names(m, names, 1, osq_now_ms() + 60000,
                                          err, sizeof err),
                   0);
  const char *missing[] = {"one", "nope", "nada"};
  assert_int_equal(osq_manager_wait_names(m, missing, 3, osq_now_ms() + 50,
                                          err, sizeof err),
                   -1);
  assert_string_equal(err, "nope, nada");
  assert_int_equal(osq_manager_wait_pid(m, getpid(), osq_now_ms() + 60000),
                   first);
  /* "or a child of it": we descend from our parent */
  assert_int_equal(osq_manager_wait_pid(m, getppid(), osq_now_ms() + 60000),
                   first);
  assert_int_equal(osq_manager_wait_pid(m, 999999, osq_now_ms() + 50), 0);

  osq_route_table rt = {0};
  osq_route r = {"config", "unit_cfg", {0}};
  osq_plist_add(&r.info);
  rt.routes = &r;
  rt.n = 1;
  int64_t cfg = do_register(c, "cfg", "", &rt, msg, sizeof msg);
  osq_plist_clear(&r.info);
  assert_true(cfg > 0);
  assert_true(osq_manager_wait_plugin(m, "config", "unit_cfg",
                                      osq_now_ms() + 60000));
  assert_false(osq_manager_wait_plugin(m, "config", "absent",
                                       osq_now_ms() + 50));
  int64_t cfg_released = osq_now_ms();
  osq_manager_remove(m, cfg);
  assert_false(osq_registry_exists(OSQ_REGISTRY_CONFIG, "unit_cfg"));

  /* churn: a released uuid never comes back within the quarantine. Each
   * uuid's release time is taken before the call that releases it, so a
   * reuse is only flagged when it surely fell inside the manager's window,
   * however slowly the machine runs the 20000 cycles. */
  static int64_t released[65536];
  for (size_t i = 0; i < 65536; i++)
    released[i] = -1;
  released[first] = INT64_MAX; /* still registered */
  released[cfg] = cfg_released;
  int64_t t0 = osq_now_ms();
  for (int i = 0; i < 20000; i++) {
    int64_t u = do_register(c, "churn", "", NULL, msg, sizeof msg);
    assert_true(u > 0);
    if (released[u] >= 0 &&
        (released[u] == INT64_MAX ||
         osq_now_ms() < released[u] + OSQ_MANAGER_UUID_QUARANTINE_MS))
      fail_msg("uuid %lld handed out twice within the quarantine",
               (long long)u);
    released[u] = osq_now_ms();
    osq_ext_status dst = {0};
    assert_int_equal(osq_api_deregister(c, u, &dst, err, sizeof err), OSQ_OK);
    assert_int_equal(dst.code, 0);
    assert_int_equal(dst.uuid, 0);
    osq_ext_status_clear(&dst);
  }
  printf("20000 register/deregister cycles: %lld ms\n",
         (long long)(osq_now_ms() - t0));

  osq_manager_remove_pid(m, getpid());
  osq_ext_list l = {0};
  assert_int_equal(osq_api_extensions(c, &l, err, sizeof err), OSQ_OK);
  assert_int_equal(l.n, 0);
  osq_ext_list_clear(&l);
  osq_tconn_close(c);
  osq_manager_stop(m);
  assert_int_equal(access(sock, F_OK), -1);

  /* a stale socket (nobody listening) is replaced */
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  assert_true(snprintf(a.sun_path, sizeof a.sun_path, "%s", sock) <
              (int)sizeof a.sun_path);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  close(fd);
  m = osq_manager_start(sock, settings_from_flags(), err, sizeof err);
  assert_non_null(m);
  osq_manager_stop(m);
  rmdir(dir);
}

/* ---- the pool against a one-connection server ------------------------- */

static int s_ping(void *u, osq_ext_status *out) {
  (void)u;
  osq_ext_status_set(out, 0, "OK", 0);
  return OSQ_OK;
}

static int s_call(void *u, const char *registry, const char *item,
                  const osq_strmap *req, osq_api_reply *rep) {
  (void)u, (void)registry, (void)req;
  osq_api_reply_row_begin(rep);
  osq_api_reply_cell(rep, "item", 4, item, strlen(item));
  osq_api_reply_row_end(rep);
  osq_ext_status_set(&rep->status, 0, "OK", 0);
  return OSQ_OK;
}

static const osq_api_handlers simple_handlers = {.ping = s_ping,
                                                 .call = s_call};
static int simple_listen_fd;

/* Serves one connection until it closes, then accepts the next: what
 * osquery-python does. */
static void *simple_server(void *arg) {
  (void)arg;
  for (;;) {
    int fd = accept(simple_listen_fd, NULL, NULL);
    if (fd < 0)
      return NULL;
    osq_tconn *c = osq_tconn_wrap(fd);
    while (osq_api_serve_one(c, &simple_handlers, NULL) == OSQ_OK)
      ;
    osq_tconn_close(c);
  }
}

static osq_remote_ext *pool_ext;

static void *caller(void *arg) {
  (void)arg;
  for (int i = 0; i < 50; i++) {
    osq_ext_status st = {0};
    osq_plist rows;
    osq_plist_init(&rows);
    osq_row_handler h = osq_plist_handler(&rows);
    char err[512];
    osq_strmap req;
    osq_strmap_init(&req);
    int rc = osq_remote_call(pool_ext, "table", "t", &req, &st, &h,
                             osq_now_ms() + 60000, err, sizeof err);
    if (rc != OSQ_OK)
      fail_msg("call failed: %s", err);
    assert_int_equal(rows.n, 1);
    osq_plist_clear(&rows);
    osq_ext_status_clear(&st);
  }
  return NULL;
}

static void test_pool_one_connection_server(void **state) {
  (void)state;
  make_dir();
  simple_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  assert_true(snprintf(a.sun_path, sizeof a.sun_path, "%s.7", sock) <
              (int)sizeof a.sun_path);
  assert_int_equal(bind(simple_listen_fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(simple_listen_fd, 16), 0);
  pthread_t srv;
  pthread_create(&srv, NULL, simple_server, NULL);
  pool_ext = osq_remote_ext_new(7, "simple", a.sun_path,
                                &settings_from_flags()->thrift);

  /* sequential calls share one connection */
  caller(NULL);
  char err[256];
  assert_int_equal(osq_remote_ping(pool_ext, osq_now_ms() + 60000, err,
                                   sizeof err),
                   OSQ_OK);
  osq_pool_stats s;
  osq_remote_ext_stats(pool_ext, &s);
  assert_int_equal(s.connects, 1);
  assert_int_equal(s.reuses, 50);

  /* concurrent callers never wait behind an idle pooled connection */
  pthread_t th[8];
  for (int i = 0; i < 8; i++)
    pthread_create(&th[i], NULL, caller, NULL);
  for (int i = 0; i < 8; i++)
    pthread_join(th[i], NULL);

  /* a closed extension: calls fail at once and its idle connection goes,
   * which lets the server thread finish */
  osq_ext_status st = {0};
  osq_strmap req;
  osq_strmap_init(&req);
  char msg[512];
  osq_remote_ext_close(pool_ext);
  int rc = osq_remote_call(pool_ext, "table", "t", &req, &st, NULL, 0, msg,
                           sizeof msg);
  assert_int_equal(rc, OSQ_ECLOSED);
  assert_non_null(strstr(msg, "no longer registered"));
  shutdown(simple_listen_fd, SHUT_RDWR);
  pthread_join(srv, NULL);
  close(simple_listen_fd);
  unlink(a.sun_path);

  /* nobody listening: the call fails, naming the reason */
  osq_remote_ext *dead = osq_remote_ext_new(
      8, "dead", a.sun_path, &settings_from_flags()->thrift);
  rc = osq_remote_call(dead, "table", "t", &req, &st, NULL,
                       osq_now_ms() + 60000, msg, sizeof msg);
  assert_int_not_equal(rc, OSQ_OK);
  assert_non_null(strstr(msg, "Extension call failed"));
  osq_remote_ext_unref(dead);
  osq_remote_ext_unref(pool_ext);
  rmdir(dir);
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version_rule),
      cmocka_unit_test(test_registration_and_uuids),
      cmocka_unit_test(test_pool_one_connection_server),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  osq_registry_reset();
  osq_flags_shutdown();
  return rc;
}
