/* interface_ipv6, process_namespaces, process_open_pipes and
 * shared_memory, checked against sysctl(8), lsns(8), fstat(2) of the
 * test's own pipes and ipcs(1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tables/builtin.h"
#include "tables_fixture.h"

/* The first line a shell command prints, trimmed; "" if none. */
static void command_line(const char *cmd, char *buf, size_t cap) {
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  buf[0] = '\0';
  if (fgets(buf, (int)cap, p) == NULL)
    buf[0] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  pclose(p);
}

static int64_t sysctl_v6(const char *conf, const char *name) {
  char cmd[256], out[64];
  snprintf(cmd, sizeof cmd, "sysctl -n net.ipv6.conf.%s.%s 2>/dev/null",
           conf, name);
  command_line(cmd, out, sizeof out);
  return out[0] ? atoll(out) : -1;
}

static void test_interface_ipv6(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_interface_ipv6;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  /* one row per interface of /sys/class/net */
  DIR *d = opendir("/sys/class/net");
  assert_non_null(d);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    n++;
    tcell *row = tfind_text(r, tcol(t, "interface"), e->d_name);
    if (row == NULL)
      fail_msg("interface %s has no row", e->d_name);
    if (strchr(e->d_name, '.'))
      continue; /* sysctl spells such names with '/' */
    int64_t fwd = sysctl_v6(e->d_name, "forwarding");
    int64_t redir = sysctl_v6("all", "accept_redirects");
    int64_t if_redir = sysctl_v6(e->d_name, "accept_redirects");
    int64_t ra = sysctl_v6(e->d_name, "accept_ra");
    assert_int_equal(row[tcol(t, "hop_limit")].i,
                     sysctl_v6(e->d_name, "hop_limit"));
    assert_int_equal(row[tcol(t, "forwarding_enabled")].i, fwd);
    assert_int_equal(row[tcol(t, "redirect_accept")].i,
                     fwd ? (redir && if_redir) : (redir || if_redir));
    assert_int_equal(row[tcol(t, "rtadv_accept")].i,
                     ra == 2 ? 1 : (ra && !fwd));
  }
  closedir(d);
  assert_int_equal(r->n, n);
  assert_non_null(tfind_text(r, tcol(t, "interface"), "lo"));
  tfree(r);
}

static void test_process_namespaces(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_process_namespaces;
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  tresult *r = trun_eq(t, "pid", pid);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  assert_int_equal(r->rows[0][tcol(t, "pid")].i, getpid());
  char cmd[128];
  snprintf(cmd, sizeof cmd, "lsns --raw -n -o NS,TYPE -p %s", pid);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char ns[64], type[32];
  int checked = 0;
  while (fscanf(p, "%63s %31s", ns, type) == 2) {
    char col[64];
    snprintf(col, sizeof col, "%s_namespace", type);
    if (osq_column_find(t->columns, t->ncolumns, col) < 0)
      continue; /* "time": osquery has no column for it */
    assert_string_equal(r->rows[0][tcol(t, col)].s, ns);
    checked++;
  }
  pclose(p);
  assert_int_equal(checked, 7);
  tfree(r);

  /* a pid that is not a process, or not a number: no rows, no error */
  r = trun_eq(t, "pid", "2147483646");
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  r = trun_eq(t, "pid", "abc");
  assert_int_equal(r->n, 0);
  tfree(r);
  /* no constraint: every process, this one among them */
  r = trun_all(t);
  assert_true(r->n > 1);
  assert_non_null(tfind_int(r, tcol(t, "pid"), getpid()));
  tfree(r);
}

/* The row of this process's fd (and partner fd, or -1 for none). */
static tcell *pipe_row(tresult *r, const osq_table_plugin *t, int fd,
                       int partner) {
  for (size_t i = 0; i < r->n; i++) {
    tcell *row = r->rows[i];
    if (row[tcol(t, "pid")].i != getpid() || row[tcol(t, "fd")].i != fd)
      continue;
    tcell *pfd = &row[tcol(t, "partner_fd")];
    if (partner < 0 ? pfd->kind == OSQ_VALUE_NULL
                    : (pfd->kind == OSQ_VALUE_INT && pfd->i == partner))
      return row;
  }
  return NULL;
}

static void test_process_open_pipes(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_process_open_pipes;
  int p[2];
  assert_int_equal(pipe(p), 0);
  tfx_make_dir("osq-tables-pipes");
  char fifo[300];
  snprintf(fifo, sizeof fifo, "%s/fifo", tfx_dir);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  int lone = open(fifo, O_RDWR | O_CLOEXEC); /* a FIFO alone: no partner */
  assert_true(lone >= 0);
  struct stat pst, fst;
  assert_int_equal(fstat(p[0], &pst), 0);
  assert_int_equal(fstat(lone, &fst), 0);

  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  tcell *rd = pipe_row(r, t, p[0], p[1]);
  assert_non_null(rd);
  assert_string_equal(rd[tcol(t, "mode")].s, "r");
  assert_string_equal(rd[tcol(t, "type")].s, "anonymous");
  assert_int_equal(rd[tcol(t, "inode")].i, (int64_t)pst.st_ino);
  assert_int_equal(rd[tcol(t, "partner_pid")].i, getpid());
  assert_string_equal(rd[tcol(t, "partner_mode")].s, "w");
  tcell *wr = pipe_row(r, t, p[1], p[0]);
  assert_non_null(wr);
  assert_string_equal(wr[tcol(t, "mode")].s, "w");
  tcell *named = pipe_row(r, t, lone, -1);
  assert_non_null(named);
  assert_string_equal(named[tcol(t, "type")].s, "named");
  assert_string_equal(named[tcol(t, "mode")].s, "rw");
  assert_int_equal(named[tcol(t, "inode")].i, (int64_t)fst.st_ino);
  tfree(r);

  /* a second reader of the FIFO: the "rw" end pairs with it */
  int reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  assert_true(reader >= 0);
  r = trun_all(t);
  assert_non_null(pipe_row(r, t, lone, reader));
  assert_non_null(pipe_row(r, t, reader, lone));
  assert_null(pipe_row(r, t, lone, -1));
  tfree(r);
  close(reader);
  close(lone);
  close(p[0]);
  close(p[1]);
  tfx_remove_dir();
}

/* ipcs -m columns: key shmid owner perms bytes nattch [status] */
static bool ipcs_segment(int shmid, char *perms, long *bytes, long *nattch,
                         char *status) {
  FILE *p = popen("ipcs -m", "r");
  assert_non_null(p);
  char line[512];
  bool found = false;
  while (!found && fgets(line, sizeof line, p)) {
    char key[32], owner[64];
    int id;
    status[0] = '\0';
    int got = sscanf(line, "%31s %d %63s %15s %ld %ld %15s", key, &id, owner,
                     perms, bytes, nattch, status);
    found = got >= 6 && id == shmid;
  }
  pclose(p);
  return found;
}

static void test_shared_memory(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_shared_memory;
  int id = shmget(IPC_PRIVATE, 12345, IPC_CREAT | 0640);
  assert_true(id >= 0);
  void *at = shmat(id, NULL, 0);
  assert_true(at != (void *)-1);

  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  tcell *row = tfind_int(r, tcol(t, "shmid"), id);
  assert_non_null(row);
  char perms[16], status[16];
  long bytes, nattch;
  assert_true(ipcs_segment(id, perms, &bytes, &nattch, status));
  assert_int_equal(row[tcol(t, "size")].i, bytes);
  assert_int_equal(row[tcol(t, "attached")].i, nattch);
  assert_int_equal(row[tcol(t, "attached")].i, 1);
  /* ipcs prints the permission bits in octal without a leading zero */
  assert_string_equal(row[tcol(t, "permissions")].s + 1, perms);
  assert_string_equal(row[tcol(t, "permissions")].s, "0640");
  assert_int_equal(row[tcol(t, "creator_pid")].i, getpid());
  assert_int_equal(row[tcol(t, "pid")].i, getpid());
  assert_int_equal(row[tcol(t, "owner_uid")].i, getuid()); /* root: in passwd */
  assert_string_equal(row[tcol(t, "status")].s, "");
  assert_int_equal(row[tcol(t, "locked")].i, 0);
  assert_true(row[tcol(t, "atime")].i > 0);
  tfree(r);

  /* removed while attached: "dest", and the mode shows SHM_DEST */
  assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
  r = trun_all(t);
  row = tfind_int(r, tcol(t, "shmid"), id);
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "status")].s, "dest");
  assert_true(ipcs_segment(id, perms, &bytes, &nattch, status));
  assert_string_equal(status, "dest");
  tfree(r);
  shmdt(at);
  r = trun_all(t);
  assert_null(tfind_int(r, tcol(t, "shmid"), id));
  tfree(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_interface_ipv6),
      cmocka_unit_test(test_process_namespaces),
      cmocka_unit_test(test_process_open_pipes),
      cmocka_unit_test(test_shared_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
