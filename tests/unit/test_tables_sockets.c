#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tables/builtin.h"
#include "test_tables_sink.h"

static uint64_t sock_inode(int fd) {
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  return (uint64_t)st.st_ino;
}

static int bound(int type, int *port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  socklen_t len = sizeof sa;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  *port = ntohs(sa.sin_port);
  return fd;
}

static tcell *find_socket(tresult *r, const osq_table_plugin *t, int fd) {
  return tfind_int(r, tcol(t, "socket"), (int64_t)sock_inode(fd));
}

static void test_listening_ports(void **state) {
  (void)state;
  int tport, uport;
  int tl = bound(SOCK_STREAM, &tport);
  assert_int_equal(listen(tl, 4), 0);
  int ul = bound(SOCK_DGRAM, &uport);
  char upath[108];
  snprintf(upath, sizeof upath, "/tmp/osq-tables-lp.%d", getpid());
  unlink(upath);
  int xl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  memcpy(sun.sun_path, upath, strlen(upath) + 1);
  assert_int_equal(bind(xl, (struct sockaddr *)&sun, sizeof sun), 0);
  assert_int_equal(listen(xl, 4), 0);
  /* a connected TCP client is not listening */
  int cport;
  int cl = bound(SOCK_STREAM, &cport);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(tport)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(cl, (struct sockaddr *)&to, sizeof to), 0);

  const osq_table_plugin *t = &osq_table_listening_ports;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  tcell *row = find_socket(r, t, tl);
  assert_non_null(row);
  assert_int_equal(row[tcol(t, "pid")].i, getpid());
  assert_int_equal(row[tcol(t, "fd")].i, tl);
  assert_int_equal(row[tcol(t, "port")].i, tport);
  assert_int_equal(row[tcol(t, "protocol")].i, 6);
  assert_int_equal(row[tcol(t, "family")].i, 2);
  assert_string_equal(row[tcol(t, "address")].s, "127.0.0.1");
  row = find_socket(r, t, ul);
  assert_non_null(row);
  assert_int_equal(row[tcol(t, "port")].i, uport);
  assert_int_equal(row[tcol(t, "protocol")].i, 17);
  row = find_socket(r, t, xl);
  assert_non_null(row);
  assert_int_equal(row[tcol(t, "family")].i, 1);
  assert_string_equal(row[tcol(t, "path")].s, upath);
  assert_null(find_socket(r, t, cl));
  tfree(r);

  /* process_open_sockets for our pid: the established pair and its state */
  t = &osq_table_process_open_sockets;
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  char pid[32];
  snprintf(pid, sizeof pid, "%d", getpid());
  osq_context_add(ctx, tcol(t, "pid"), OSQ_OP_EQ, pid, strlen(pid));
  r = trun(t, ctx);
  osq_context_free(ctx);
  assert_int_equal(r->rc, OSQ_OK);
  row = find_socket(r, t, cl);
  assert_non_null(row);
  assert_int_equal(row[tcol(t, "fd")].i, cl);
  assert_string_equal(row[tcol(t, "state")].s, "ESTABLISHED");
  assert_int_equal(row[tcol(t, "local_port")].i, cport);
  assert_int_equal(row[tcol(t, "remote_port")].i, tport);
  assert_string_equal(row[tcol(t, "remote_address")].s, "127.0.0.1");
  assert_true(strlen(row[tcol(t, "net_namespace")].s) > 0);
  row = find_socket(r, t, tl);
  assert_string_equal(row[tcol(t, "state")].s, "LISTEN");
  for (size_t i = 0; i < r->n; i++)
    assert_int_equal(r->rows[i][tcol(t, "pid")].i, getpid());
  tfree(r);

  close(cl);
  close(tl);
  close(ul);
  close(xl);
  unlink(upath);
}

static void test_ipv6(void **state) {
  (void)state;
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    if (fd >= 0)
      close(fd);
    skip(); /* no IPv6 here */
  }
  assert_int_equal(listen(fd, 1), 0);
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &len);
  const osq_table_plugin *t = &osq_table_listening_ports;
  tresult *r = trun_all(t);
  tcell *row = find_socket(r, t, fd);
  assert_non_null(row);
  assert_int_equal(row[tcol(t, "family")].i, 10);
  assert_string_equal(row[tcol(t, "address")].s, "::1");
  assert_int_equal(row[tcol(t, "port")].i, ntohs(sa.sin6_port));
  tfree(r);
  close(fd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_listening_ports),
      cmocka_unit_test(test_ipv6),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
