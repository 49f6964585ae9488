#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmp.h>

#include "tables/builtin.h"
#include "tables/linux/host_config.h"
#include "tables/linux/net_config.h"
#include "tables/linux/system_extra.h"
#include "tables/linux/users.h"
#include "tables_fixture.h"

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-host");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tfx_remove_dir();
  return 0;
}

static void test_arp_routes(void **state) {
  (void)state;
  tfx_put(
      "net/arp",
      "IP address       HW type     Flags       HW address            Mask     Device\n"
      "10.0.0.1         0x1         0x2         52:54:00:12:34:56     *        eth0\n"
      "10.0.0.9         0x1         0x6         52:54:00:aa:bb:cc     *        eth0\n"
      "not-an-ip 0x1 0x2 x * eth0\n");
  tfx_put(
      "net/route",
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
      "eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t1500\t0\t0\n"
      "eth0\tZZZZ\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
  tfx_put(
      "net/ipv6_route",
      "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n"
      "00000000000000000000000000000001 80 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 00000000 00000002 00000000 80200001 lo\n");
  char net[512];
  snprintf(net, sizeof net, "%s/net", tfx_dir);
  osq_tables_proc_net = net;
  const osq_table_plugin *t = &osq_table_arp_cache;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *a = tfind_text(r, 0, "10.0.0.1");
  assert_string_equal(a[1].s, "52:54:00:12:34:56");
  assert_string_equal(a[2].s, "eth0");
  assert_string_equal(a[3].s, "0");
  assert_string_equal(tfind_text(r, 0, "10.0.0.9")[3].s, "1");
  tfree(r);

  t = &osq_table_routes;
  r = trun_all(t);
  assert_int_equal(r->n, 4);
  tcell *def = tfind_text(r, tcol(t, "destination"), "0.0.0.0");
  assert_string_equal(def[tcol(t, "gateway")].s, "10.0.0.1");
  assert_int_equal(def[tcol(t, "netmask")].i, 0);
  assert_int_equal(def[tcol(t, "metric")].i, 100);
  tcell *net10 = tfind_text(r, tcol(t, "destination"), "10.0.0.0");
  assert_int_equal(net10[tcol(t, "netmask")].i, 24);
  assert_int_equal(net10[tcol(t, "mtu")].i, 1500);
  tcell *ll = tfind_text(r, tcol(t, "destination"), "fe80::");
  assert_int_equal(ll[tcol(t, "netmask")].i, 64);
  assert_int_equal(ll[tcol(t, "metric")].i, 256);
  assert_string_equal(ll[tcol(t, "type")].s, "gateway");
  tcell *lo = tfind_text(r, tcol(t, "destination"), "::1");
  assert_string_equal(lo[tcol(t, "type")].s, "local");
  tfree(r);
  osq_tables_proc_net = "/proc/net";
  r = trun_all(t); /* the real tables parse too */
  assert_int_equal(r->rc, OSQ_OK);
  tfree(r);
}

static void test_dns(void **state) {
  (void)state;
  osq_tables_resolv_path =
      tfx_put("resolv.conf", "# comment\nnameserver 10.0.0.2\n"
                             "nameserver 2001:db8::1\n"
                             "search a.example b.example\n"
                             "sortlist 130.155.160.0/255.255.240.0\n"
                             "options ndots:2\n");
  const osq_table_plugin *t = &osq_table_dns_resolvers;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 5);
  tcell *ns = tfind_text(r, tcol(t, "address"), "10.0.0.2");
  assert_string_equal(ns[tcol(t, "type")].s, "nameserver");
  assert_int_equal(ns[tcol(t, "id")].i, 0);
  assert_string_equal(ns[tcol(t, "netmask")].s, "32");
  assert_string_equal(
      tfind_text(r, tcol(t, "address"), "2001:db8::1")[tcol(t, "netmask")].s,
      "128");
  tcell *s = tfind_text(r, tcol(t, "address"), "b.example");
  assert_string_equal(s[tcol(t, "type")].s, "search");
  assert_int_equal(s[tcol(t, "id")].i, 1);
  tcell *sl = tfind_text(r, tcol(t, "type"), "sortlist");
  assert_string_equal(sl[tcol(t, "netmask")].s, "255.255.240.0");
  tfree(r);
  osq_tables_resolv_path = "/etc/resolv.conf";
}

static void test_user_files(void **state) {
  (void)state;
  char home[512], passwd[1024];
  snprintf(home, sizeof home, "%s/home/u", tfx_dir);
  snprintf(passwd, sizeof passwd,
           "u:x:4242:4242::%s:/bin/sh\nnohome:x:4243:1::/nonexistent:/bin/sh\n",
           home);
  osq_tables_passwd_path = tfx_put("passwd", passwd);
  tfx_put("home/u/.ssh/authorized_keys",
          "# comment\n"
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK user@host\n"
          "from=\"10.0.0.1,10.0.0.2\",command=\"echo a b\" ssh-rsa AAAAB3Nza\n"
          "garbage line without key\n");
  tfx_put("home/u/.bash_history",
          "#1700000000\nls -la\ncd /tmp\n#notanumber\n");
  tfx_put("home/u/.zsh_history", ": 1700000100:0;echo zsh\nplain\n");
  const osq_table_plugin *t = &osq_table_authorized_keys;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *k = tfind_text(r, tcol(t, "algorithm"), "ssh-ed25519");
  assert_int_equal(k[tcol(t, "uid")].i, 4242);
  assert_string_equal(k[tcol(t, "key")].s, "AAAAC3NzaC1lZDI1NTE5AAAAIK");
  assert_string_equal(k[tcol(t, "comment")].s, "user@host");
  assert_string_equal(k[tcol(t, "options")].s, "");
  k = tfind_text(r, tcol(t, "algorithm"), "ssh-rsa");
  assert_string_equal(k[tcol(t, "options")].s,
                      "from=\"10.0.0.1,10.0.0.2\",command=\"echo a b\"");
  assert_string_equal(k[tcol(t, "comment")].s, "");
  tfree(r);
  r = trun_eq(t, "uid", "1");
  assert_int_equal(r->n, 0);
  tfree(r);

  t = &osq_table_shell_history;
  r = trun_eq(t, "uid", "4242");
  assert_int_equal(r->n, 5);
  tcell *h = tfind_text(r, tcol(t, "command"), "ls -la");
  assert_int_equal(h[tcol(t, "time")].i, 1700000000);
  assert_int_equal(tfind_text(r, tcol(t, "command"), "cd /tmp")[tcol(t, "time")].i, 0);
  h = tfind_text(r, tcol(t, "command"), "echo zsh");
  assert_int_equal(h[tcol(t, "time")].i, 1700000100);
  assert_non_null(tfind_text(r, tcol(t, "command"), "#notanumber"));
  tfree(r);

  /* a symlinked history file is not followed */
  char link[600], target[600];
  snprintf(link, sizeof link, "%s/.history", home);
  snprintf(target, sizeof target, "%s/passwd", tfx_dir);
  assert_int_equal(symlink(target, link), 0);
  r = trun_eq(t, "uid", "4242");
  assert_int_equal(r->n, 5);
  tfree(r);
  osq_tables_passwd_path = "/etc/passwd";
}

/* Two accounts with one uid and home (root and toor): shell_history reads
 * the home once, the key tables report it for each account. */
static void test_user_files_shared_home(void **state) {
  (void)state;
  char home[512], passwd[1200];
  snprintf(home, sizeof home, "%s/home/shared", tfx_dir);
  snprintf(passwd, sizeof passwd,
           "root:x:0:0::%s:/bin/sh\ntoor:x:0:0::%s:/bin/sh\n", home, home);
  osq_tables_passwd_path = tfx_put("passwd-shared", passwd);
  tfx_put("home/shared/.bash_history", "ls\n");
  tfx_put("home/shared/.ssh/authorized_keys", "ssh-ed25519 AAAA k\n");
  tfx_put("home/shared/.ssh/known_hosts", "host ssh-ed25519 AAAA\n");
  tresult *r = trun_all(&osq_table_shell_history);
  assert_int_equal(r->n, 1);
  tfree(r);
  r = trun_all(&osq_table_authorized_keys);
  assert_int_equal(r->n, 2);
  tfree(r);
  r = trun_all(&osq_table_known_hosts);
  assert_int_equal(r->n, 2);
  tfree(r);
  osq_tables_passwd_path = "/etc/passwd";
}

static void test_crontab(void **state) {
  (void)state;
  static const char *files[2];
  files[0] = tfx_put(
      "crontab", "SHELL=/bin/sh\n"
                 "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
                 "@reboot root /usr/bin/boot-job\n"
                 "# comment\n"
                 "1 2 3\n");
  files[1] = NULL;
  tfx_put("cron.d/job", "*/5 1-3 * jan mon user /bin/true arg\n");
  static const char *dirs[2];
  static char d[512];
  snprintf(d, sizeof d, "%s/cron.d", tfx_dir);
  dirs[0] = d;
  dirs[1] = NULL;
  const char *saved_f = osq_tables_cron_files[0], *saved_d0 = osq_tables_cron_dirs[0];
  const char *saved_d1 = osq_tables_cron_dirs[1];
  osq_tables_cron_files[0] = files[0];
  osq_tables_cron_dirs[0] = dirs[0];
  osq_tables_cron_dirs[1] = NULL;
  const osq_table_plugin *t = &osq_table_crontab;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 3);
  tcell *c = tfind_text(r, tcol(t, "minute"), "17");
  assert_string_equal(c[tcol(t, "hour")].s, "*");
  assert_string_equal(c[tcol(t, "command")].s,
                      "root cd / && run-parts --report /etc/cron.hourly");
  assert_string_equal(c[tcol(t, "event")].s, "");
  c = tfind_text(r, tcol(t, "event"), "@reboot");
  assert_string_equal(c[tcol(t, "command")].s, "root /usr/bin/boot-job");
  c = tfind_text(r, tcol(t, "minute"), "*/5");
  assert_string_equal(c[tcol(t, "month")].s, "jan");
  assert_string_equal(c[tcol(t, "day_of_week")].s, "mon");
  assert_non_null(strstr(c[tcol(t, "path")].s, "cron.d/job"));
  tfree(r);
  osq_tables_cron_files[0] = saved_f;
  osq_tables_cron_dirs[0] = saved_d0;
  osq_tables_cron_dirs[1] = saved_d1;
}

static void test_suid_sysctl(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_suid_bin;
  struct stat st;
  if (stat("/usr/bin/passwd", &st) == 0 && (st.st_mode & S_ISUID)) {
    tresult *r = trun_all(t);
    tcell *p = tfind_text(r, 0, "/usr/bin/passwd");
    assert_non_null(p);
    assert_string_equal(p[1].s, "root");
    assert_string_equal(p[3].s, (st.st_mode & S_ISGID) ? "SG" : "S");
    tfree(r);
  }
  t = &osq_table_system_controls;
  char host[256] = "";
  FILE *f = fopen("/proc/sys/kernel/hostname", "r");
  assert_non_null(f);
  assert_non_null(fgets(host, sizeof host, f));
  fclose(f);
  host[strcspn(host, "\n")] = '\0';
  tresult *r = trun_eq(t, "name", "kernel.hostname");
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "current_value")].s, host);
  assert_string_equal(r->rows[0][tcol(t, "subsystem")].s, "kernel");
  tfree(r);
  r = trun_eq(t, "name", "..kernel");
  assert_int_equal(r->n, 0);
  tfree(r);
  /* a fake tree: names are dotted paths, tabs become spaces */
  tfx_put("sys/net/ipv4/ip_forward", "1\n");
  tfx_put("sys/kernel/printk", "4\t4\t1\t7\n");
  char sys[512];
  snprintf(sys, sizeof sys, "%s/sys", tfx_dir);
  osq_tables_proc_sys = sys;
  r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *p = tfind_text(r, 0, "kernel.printk");
  assert_string_equal(p[tcol(t, "current_value")].s, "4 4 1 7");
  assert_string_equal(tfind_text(r, 0, "net.ipv4.ip_forward")[tcol(t, "subsystem")].s, "net");
  tfree(r);
  osq_tables_proc_sys = "/proc/sys";
}

static void test_logged_in_users(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/utmp", tfx_dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  struct utmp u;
  memset(&u, 0, sizeof u);
  u.ut_type = BOOT_TIME;
  memcpy(u.ut_user, "reboot", 6);
  u.ut_tv.tv_sec = 1700000000;
  assert_int_equal(write(fd, &u, sizeof u), (ssize_t)sizeof u);
  memset(&u, 0, sizeof u);
  u.ut_type = USER_PROCESS;
  u.ut_pid = 1234;
  memset(u.ut_user, 'x', sizeof u.ut_user); /* no NUL: full width */
  memcpy(u.ut_line, "pts/0", 5);
  memcpy(u.ut_host, "10.1.2.3", 8);
  u.ut_tv.tv_sec = 1700000500;
  assert_int_equal(write(fd, &u, sizeof u), (ssize_t)sizeof u);
  assert_int_equal(write(fd, "torn", 4), 4); /* a partial record */
  close(fd);
  osq_tables_utmp_path = path;
  const osq_table_plugin *t = &osq_table_logged_in_users;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *b = tfind_text(r, 0, "boot_time");
  assert_string_equal(b[tcol(t, "user")].s, "reboot");
  assert_int_equal(b[tcol(t, "time")].i, 1700000000);
  tcell *s = tfind_text(r, 0, "user");
  assert_int_equal(strlen(s[tcol(t, "user")].s), sizeof u.ut_user);
  assert_string_equal(s[tcol(t, "tty")].s, "pts/0");
  assert_string_equal(s[tcol(t, "host")].s, "10.1.2.3");
  assert_int_equal(s[tcol(t, "pid")].i, 1234);
  tfree(r);
  osq_tables_utmp_path = "/nonexistent/utmp";
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_tables_utmp_path = "/var/run/utmp";
}

static void test_modules_last(void **state) {
  (void)state;
  osq_tables_modules_path = tfx_put(
      "modules", "nf_tables 245760 1 nft_chain_nat, Live 0xffffffffc0a00000\n"
                 "short 1\n"
                 "loop 32768 0 - Live 0x0000000000000000\n");
  const osq_table_plugin *t = &osq_table_kernel_modules;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *m = tfind_text(r, 0, "nf_tables");
  assert_int_equal(m[1].i, 245760);
  assert_string_equal(m[2].s, "nft_chain_nat,");
  assert_string_equal(m[3].s, "Live");
  assert_string_equal(m[4].s, "0xffffffffc0a00000");
  tfree(r);
  osq_tables_modules_path = "/proc/modules";
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  tfree(r);

  char path[512];
  snprintf(path, sizeof path, "%s/wtmp", tfx_dir);
  FILE *f = fopen(path, "wb");
  struct utmp u;
  memset(&u, 0, sizeof u);
  u.ut_type = BOOT_TIME; /* not a login: skipped */
  fwrite(&u, sizeof u, 1, f);
  u.ut_type = USER_PROCESS;
  u.ut_pid = 77;
  memcpy(u.ut_user, "alice", 5);
  memcpy(u.ut_line, "pts/1", 5);
  memcpy(u.ut_host, "example.org", 11);
  u.ut_tv.tv_sec = 1700001000;
  fwrite(&u, sizeof u, 1, f);
  u.ut_type = DEAD_PROCESS;
  u.ut_tv.tv_sec = 1700002000;
  fwrite(&u, sizeof u, 1, f);
  fclose(f);
  osq_tables_wtmp_path = path;
  t = &osq_table_last;
  r = trun_all(t);
  assert_int_equal(r->n, 2);
  assert_string_equal(r->rows[0][tcol(t, "username")].s, "alice");
  assert_int_equal(r->rows[0][tcol(t, "type")].i, USER_PROCESS);
  assert_string_equal(r->rows[0][tcol(t, "type_name")].s, "user-process");
  assert_int_equal(r->rows[1][tcol(t, "time")].i, 1700002000);
  assert_string_equal(r->rows[1][tcol(t, "host")].s, "example.org");
  tfree(r);
  osq_tables_wtmp_path = "/var/log/wtmp";
}

static void test_block_devices(void **state) {
  (void)state;
  tfx_put("block/vda/size", "41943040\n");
  tfx_put("block/vda/queue/logical_block_size", "512\n");
  tfx_put("block/vda/device/vendor", "0x1af4   \n");
  tfx_put("block/vda/device/model", "VirtIO disk\n");
  tfx_put("block/vda/serial", "abc123\n");
  tfx_put("block/vda/vda1/partition", "1\n");
  tfx_put("block/vda/vda1/size", "2048\n");
  tfx_put("block/vda/notapart/size", "1\n");
  char dir[512];
  snprintf(dir, sizeof dir, "%s/block", tfx_dir);
  osq_tables_sys_block = dir;
  const osq_table_plugin *t = &osq_table_block_devices;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *d = tfind_text(r, 0, "/dev/vda");
  assert_string_equal(d[tcol(t, "parent")].s, "");
  assert_string_equal(d[tcol(t, "vendor")].s, "0x1af4");
  assert_string_equal(d[tcol(t, "model")].s, "VirtIO disk");
  assert_string_equal(d[tcol(t, "serial")].s, "abc123");
  assert_int_equal(d[tcol(t, "size")].i, 41943040);
  assert_int_equal(d[tcol(t, "block_size")].i, 512);
  tcell *p = tfind_text(r, 0, "/dev/vda1");
  assert_string_equal(p[tcol(t, "parent")].s, "/dev/vda");
  assert_int_equal(p[tcol(t, "size")].i, 2048);
  tfree(r);
  osq_tables_sys_block = "/sys/block";
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  tfree(r);
}

static void test_sudoers(void **state) {
  (void)state;
  tfx_put("sudoers.d/extra",
          "alice ALL=(ALL) NOPASSWD: \\\n    /usr/bin/apt\n");
  tfx_put("sudoers.d/ignored.bak", "mallory ALL=(ALL) ALL\n");
  char loop[600];
  snprintf(loop, sizeof loop, "#include %s/sudoers\n", tfx_dir);
  tfx_put("sudoers.d/loop", loop);
  char main_file[1024];
  snprintf(main_file, sizeof main_file,
           "# comment\n"
           "Defaults\tenv_reset\n"
           "root ALL=(ALL:ALL) ALL\n"
           "\n"
           "#includedir %s/sudoers.d\n",
           tfx_dir);
  osq_tables_sudoers_path = tfx_put("sudoers", main_file);
  const osq_table_plugin *t = &osq_table_sudoers;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  tcell *d = tfind_text(r, 1, "Defaults");
  assert_string_equal(d[2].s, "env_reset");
  tcell *root = tfind_text(r, 1, "root");
  assert_string_equal(root[2].s, "ALL=(ALL:ALL) ALL");
  assert_non_null(tfind_text(r, 1, "#includedir"));
  tcell *a = tfind_text(r, 1, "alice");
  assert_non_null(a);
  assert_string_equal(a[2].s, "ALL=(ALL) NOPASSWD:     /usr/bin/apt");
  assert_non_null(strstr(a[0].s, "sudoers.d/extra"));
  assert_null(tfind_text(r, 1, "mallory")); /* names with '.' are skipped */
  /* the include loop (sudoers.d/loop includes sudoers) ends at the depth
   * bound: each level adds the same 5 rows */
  assert_true(r->n > 10 && r->n < 200);
  tfree(r);
  osq_tables_sudoers_path = "/etc/sudoers";
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arp_routes),
      cmocka_unit_test(test_dns),
      cmocka_unit_test(test_user_files),
      cmocka_unit_test(test_user_files_shared_home),
      cmocka_unit_test(test_crontab),
      cmocka_unit_test(test_suid_sysctl),
      cmocka_unit_test(test_logged_in_users),
      cmocka_unit_test(test_modules_last),
      cmocka_unit_test(test_block_devices),
      cmocka_unit_test(test_sudoers),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
