/* Every parser of a file from /etc or /var gets hostile input: random
 * bytes, huge lines, NULs, separators only. The tables must return OK
 * with whatever rows make sense, and never crash (ASan/UBSan watch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tables/builtin.h"
#include "tables/linux/host_config.h"
#include "tables/linux/misc.h"
#include "tables/linux/net_config.h"
#include "tables/linux/netdb.h"
#include "tables/linux/repo_sources.h"
#include "tables/linux/resources.h"
#include "tables/linux/security.h"
#include "tables/linux/ssh_files.h"
#include "tables/linux/startup_items.h"
#include "tables/linux/system_extra.h"
#include "tables/linux/system.h"
#include "tables/linux/users.h"
#include "test_tables_sink.h"

static char dir[256], file[512], dpkg[512];

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)rng;
}

/* Random content biased towards the separators parsers look for. */
static void write_garbage(const char *path, size_t len, int flavour) {
  static const char seps[] = ":\n=# \t,\"'\\\0()[]%_-0123456789";
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  for (size_t i = 0; i < len; i++) {
    uint32_t r = next();
    int c;
    switch (flavour) {
    case 0: c = (int)(r & 0xff); break;                        /* bytes */
    case 1: c = seps[r % (sizeof seps - 1)]; break;            /* separators */
    case 2: c = (r % 50 == 0) ? '\n' : 'a' + (int)(r % 26); break;
    default: c = (r % 9000 == 0) ? '\n' : ':'; break;          /* long lines */
    }
    fputc(c, f);
  }
  fclose(f);
}

static void run_ok(const osq_table_plugin *t, const char *col,
                   const char *eq) {
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  if (col)
    osq_context_add(ctx, tcol(t, col), OSQ_OP_EQ, eq, strlen(eq));
  tresult *r = trun(t, ctx);
  assert_int_equal(r->rc, OSQ_OK);
  /* every emitted text cell is a valid C string within its row */
  for (size_t i = 0; i < r->n; i++)
    for (size_t c = 0; c < t->ncolumns; c++)
      if (r->rows[i][c].kind == OSQ_VALUE_TEXT)
        assert_non_null(r->rows[i][c].s);
  tfree(r);
  osq_context_free(ctx);
}

static void test_garbage_files(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/osq-tables-garbage.XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(file, sizeof file, "%s/input", dir);
  snprintf(dpkg, sizeof dpkg, "%s/status", dir);
  osq_tables_passwd_path = file;
  osq_tables_group_path = file;
  osq_tables_hosts_path = file;
  osq_tables_mounts_path = file;
  osq_tables_os_release_path = file;
  static const size_t sizes[] = {0, 1, 7, 100, 4095, 4096, 4097, 70000};
  for (int flavour = 0; flavour < 4; flavour++) {
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
      for (int round = 0; round < 3; round++) {
        write_garbage(file, sizes[s], flavour);
        run_ok(&osq_table_users, NULL, NULL);
        run_ok(&osq_table_users, "uid", "0");
        run_ok(&osq_table_groups, NULL, NULL);
        run_ok(&osq_table_user_groups, NULL, NULL);
        run_ok(&osq_table_etc_hosts, NULL, NULL);
        run_ok(&osq_table_mounts, NULL, NULL);
        run_ok(&osq_table_os_version, NULL, NULL);
        write_garbage(dpkg, sizes[s], flavour);
        run_ok(&osq_table_deb_packages, "admindir", dir);
      }
    }
  }
  osq_tables_passwd_path = "/etc/passwd";
  osq_tables_group_path = "/etc/group";
  osq_tables_hosts_path = "/etc/hosts";
  osq_tables_mounts_path = "/proc/mounts";
  osq_tables_os_release_path = "/etc/os-release";
  unlink(file);
  unlink(dpkg);
  rmdir(dir);
}

/* Net, resolver, cron, utmp and per-user files, all from the same
 * garbage. */
static void test_garbage_more(void **state) {
  (void)state;
  char d[256], p[512], passwd[600];
  snprintf(d, sizeof d, "/tmp/osq-tables-garbage2.XXXXXX");
  assert_non_null(mkdtemp(d));
  snprintf(p, sizeof p, "%s/.ssh", d);
  mkdir(p, 0700);
  snprintf(passwd, sizeof passwd, "%s/passwd", d);
  FILE *f = fopen(passwd, "w");
  fprintf(f, "g:x:1:1::%s:/bin/sh\n", d);
  fclose(f);
  static const char *const names[] = {
      "arp", "route", "ipv6_route", "resolv", "crontab", "utmp",
      ".ssh/authorized_keys", ".bash_history", ".zsh_history", "modules",
      "wtmp", "sudoers"};
  char paths[12][600];
  for (size_t i = 0; i < 12; i++)
    snprintf(paths[i], sizeof paths[i], "%s/%s", d, names[i]);
  osq_tables_proc_net = d;
  osq_tables_resolv_path = paths[3];
  const char *cf = osq_tables_cron_files[0], *cd = osq_tables_cron_dirs[0];
  osq_tables_cron_files[0] = paths[4];
  osq_tables_cron_dirs[0] = NULL;
  osq_tables_utmp_path = paths[5];
  osq_tables_passwd_path = passwd;
  osq_tables_modules_path = paths[9];
  osq_tables_wtmp_path = paths[10];
  osq_tables_sudoers_path = paths[11];
  static const size_t sizes[] = {0, 1, 100, 383, 384, 385, 5000, 40000};
  for (int flavour = 0; flavour < 4; flavour++)
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
      for (size_t i = 0; i < 12; i++)
        write_garbage(paths[i], sizes[s], flavour);
      run_ok(&osq_table_arp_cache, NULL, NULL);
      run_ok(&osq_table_routes, NULL, NULL);
      run_ok(&osq_table_dns_resolvers, NULL, NULL);
      run_ok(&osq_table_crontab, NULL, NULL);
      run_ok(&osq_table_logged_in_users, NULL, NULL);
      run_ok(&osq_table_authorized_keys, NULL, NULL);
      run_ok(&osq_table_shell_history, NULL, NULL);
      run_ok(&osq_table_kernel_modules, NULL, NULL);
      run_ok(&osq_table_last, NULL, NULL);
      run_ok(&osq_table_sudoers, NULL, NULL);
    }
  osq_tables_proc_net = "/proc/net";
  osq_tables_resolv_path = "/etc/resolv.conf";
  osq_tables_cron_files[0] = cf;
  osq_tables_cron_dirs[0] = cd;
  osq_tables_utmp_path = "/var/run/utmp";
  osq_tables_passwd_path = "/etc/passwd";
  osq_tables_modules_path = "/proc/modules";
  osq_tables_wtmp_path = "/var/log/wtmp";
  osq_tables_sudoers_path = "/etc/sudoers";
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
  assert_int_equal(system(cmd), 0);
}

/* The netdb, /proc, shadow, ssh, startup and repository parsers, each fed
 * the same garbage as its file. */
static void test_garbage_tables_one(void **state) {
  (void)state;
  char d[256], passwd[600], cmd[2600];
  snprintf(d, sizeof d, "/tmp/osq-tables-garbage3.XXXXXX");
  assert_non_null(mkdtemp(d));
  snprintf(cmd, sizeof cmd,
           "mkdir -p %s/.ssh %s/.config/autostart %s/.config/autostart-scripts "
           "%s/etc/apt/sources.list.d %s/var/lib/apt/lists %s/etc/yum.repos.d "
           "%s/etc/init.d %s/etc/xdg/autostart",
           d, d, d, d, d, d, d, d);
  assert_int_equal(system(cmd), 0);
  snprintf(passwd, sizeof passwd, "%s/passwd", d);
  FILE *f = fopen(passwd, "w");
  fprintf(f, "g:x:1:1::%s:/bin/sh\n", d);
  fclose(f);
  static const char *const names[] = {
      "services", "protocols", "iomem", "keys", "shadow", "ssh_config",
      ".ssh/config", ".ssh/id_rsa", ".config/autostart/a.desktop",
      "etc/apt/sources.list", "etc/apt/sources.list.d/x.sources",
      "var/lib/apt/lists/h_dists_s_Release", "etc/yum.conf",
      "etc/yum.repos.d/x.repo", "etc/xdg/autostart/b.desktop"};
  enum { N = sizeof names / sizeof *names };
  char paths[N][600];
  for (size_t i = 0; i < N; i++)
    snprintf(paths[i], sizeof paths[i], "%s/%s", d, names[i]);
  osq_tables_services_path = paths[0];
  osq_tables_protocols_path = paths[1];
  osq_tables_iomem_path = paths[2];
  osq_tables_keys_path = paths[3];
  osq_tables_shadow_path = paths[4];
  osq_tables_ssh_config_path = paths[5];
  osq_tables_passwd_path = passwd;
  osq_tables_sources_root = d;
  osq_tables_startup_root = d;
  static const size_t sizes[] = {0, 1, 100, 4095, 4097, 40000};
  for (int flavour = 0; flavour < 4; flavour++)
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
      for (size_t i = 0; i < N; i++)
        write_garbage(paths[i], sizes[s], flavour);
      run_ok(&osq_table_etc_services, NULL, NULL);
      run_ok(&osq_table_etc_protocols, NULL, NULL);
      run_ok(&osq_table_memory_map, NULL, NULL);
      run_ok(&osq_table_kernel_keys, NULL, NULL);
      run_ok(&osq_table_shadow, NULL, NULL);
      run_ok(&osq_table_shadow, "username", "g");
      run_ok(&osq_table_ssh_configs, NULL, NULL);
      run_ok(&osq_table_user_ssh_keys, NULL, NULL);
      run_ok(&osq_table_startup_items, NULL, NULL);
      run_ok(&osq_table_apt_sources, NULL, NULL);
      run_ok(&osq_table_yum_sources, NULL, NULL);
    }
  osq_tables_services_path = "/etc/services";
  osq_tables_protocols_path = "/etc/protocols";
  osq_tables_iomem_path = "/proc/iomem";
  osq_tables_keys_path = "/proc/keys";
  osq_tables_shadow_path = "/etc/shadow";
  osq_tables_ssh_config_path = "/etc/ssh/ssh_config";
  osq_tables_passwd_path = "/etc/passwd";
  osq_tables_sources_root = "/";
  osq_tables_startup_root = "";
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
  assert_int_equal(system(cmd), 0);
}

static void test_hostile_constraints(void **state) {
  (void)state;
  /* values a query may carry: huge, negative, non-numeric, patterns */
  static const char *const values[] = {
      "", "-1", "0", "18446744073709551616", "9223372036854775807", "abc",
      "1e3", " 1", "%", "%%", "/%%/%%", "_", "/proc/self/%", "//", "/.."};
  const osq_table_plugin *tables[] = {
      &osq_table_processes, &osq_table_process_envs,
      &osq_table_process_open_files, &osq_table_process_open_sockets,
      &osq_table_user_groups, &osq_table_users, &osq_table_groups,
      &osq_table_system_controls, &osq_table_authorized_keys,
      &osq_table_shell_history, &osq_table_deb_packages,
      &osq_table_process_namespaces, &osq_table_shadow,
      &osq_table_user_ssh_keys, &osq_table_ssh_configs};
  for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
    for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
      const char *col = tables[t]->columns[0].name; /* pid/uid/gid */
      run_ok(tables[t], col, values[v]);
    }
  /* path patterns that must stay bounded and safe */
  static const char *const paths[] = {"%", "/%", "/proc/self/fd/%",
                                      "/nonexistent/%%", "relative%",
                                      "/tmp/%/%/%/%/%", "/etc/%%%%%%"};
  for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
    osq_context *ctx = osq_context_new(osq_table_file.columns,
                                       osq_table_file.ncolumns);
    osq_context_add(ctx, 0, OSQ_OP_LIKE, paths[p], strlen(paths[p]));
    tresult *r = trun(&osq_table_file, ctx);
    assert_int_equal(r->rc, OSQ_OK);
    tfree(r);
    osq_context_free(ctx);
  }
  /* a pattern of thousands of literal components ends in a wildcard:
   * bounded stack, no crash */
  char deep[PATH_MAX];
  size_t n = 0;
  while (n + 3 < sizeof deep - 3) {
    memcpy(deep + n, "/a", 2);
    n += 2;
  }
  memcpy(deep + n, "/%", 3);
  osq_context *dctx = osq_context_new(osq_table_file.columns,
                                      osq_table_file.ncolumns);
  osq_context_add(dctx, 0, OSQ_OP_LIKE, deep, strlen(deep));
  tresult *dr = trun(&osq_table_file, dctx);
  assert_int_equal(dr->rc, OSQ_OK);
  assert_int_equal(dr->n, 0);
  tfree(dr);
  osq_context_free(dctx);
  /* an embedded NUL in a path value names no file */
  osq_context *ctx = osq_context_new(osq_table_file.columns,
                                     osq_table_file.ncolumns);
  osq_context_add(ctx, 0, OSQ_OP_EQ, "/etc/passwd\0/x", 14);
  tresult *r = trun(&osq_table_file, ctx);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_garbage_files),
      cmocka_unit_test(test_garbage_more),
      cmocka_unit_test(test_garbage_tables_one),
      cmocka_unit_test(test_hostile_constraints),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
