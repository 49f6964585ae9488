/* libFuzzer target: the parsers of /proc and /etc text behind the tables
 * and the extension watchdog. Byte 0 picks the parser; the rest is the
 * file. Parsers with a buffer entry point get the bytes directly; tables
 * that read a path get it through their path variable pointed at a file
 * in a private temporary directory (per-user files through a passwd that
 * names that directory as the home). Every table must return OSQ_OK or
 * fail with a message, and every cell must be readable and in range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/log.h"
#include "ext/loader/loader.h"
#include "plugin/plugin_impl.h"
#include "tables/builtin.h"
#include "tables/linux/host_config.h"
#include "tables/linux/misc.h"
#include "tables/linux/net_config.h"
#include "tables/linux/system.h"
#include "tables/linux/system_extra.h"
#include "tables/linux/users.h"
#include "tables/util.h"

static char dir[256], input[320], home_passwd[320], home[300];
static volatile unsigned sink;

static void touch(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    sink += b[i];
}

typedef struct counter {
  size_t ncols, rows;
} counter;

static int c_cell(void *self, size_t col, const osq_value *v) {
  counter *c = self;
  if (col >= c->ncols)
    abort();
  if (v->kind == OSQ_VALUE_TEXT || v->kind == OSQ_VALUE_BLOB)
    touch(v->u.s.p, v->u.s.n);
  return OSQ_OK;
}

static int c_end(void *self) {
  ((counter *)self)->rows++;
  return OSQ_OK;
}

static const struct osq_rows_ops c_ops = {c_cell, NULL, c_end};

static void run(const osq_table_plugin *t, const char *col, const char *eq) {
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  if (ctx == NULL)
    return;
  if (col != NULL) {
    int i = osq_column_find(t->columns, t->ncolumns, col);
    if (i < 0)
      abort();
    osq_context_add(ctx, (size_t)i, OSQ_OP_EQ, eq, strlen(eq));
  }
  counter c = {t->ncolumns, 0};
  osq_rows rows;
  osq_rows_init(&rows, &c_ops, &c, t->ncolumns);
  int rc = t->generate(ctx, &rows, t->udata);
  if (rc != OSQ_OK && osq_rows_message(&rows) == NULL) {
    fprintf(stderr, "table %s failed without a message\n", t->name);
    abort();
  }
  osq_context_free(ctx);
}

static void put(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "we");
  if (f == NULL)
    abort();
  if (size && fwrite(data, 1, size, f) != size)
    abort();
  fclose(f);
}

/* Leave no litter in /tmp when the run ends. */
static void cleanup(void) {
  static const char *const names[] = {
      "input", "passwd", "arp", "route", "ipv6_route", "status",
      "home/.ssh/authorized_keys", "home/.ssh/known_hosts",
      "home/.bash_history", "home/.zsh_history", "home/.ssh", "home", ""};
  char p[400];
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    if (remove(p) != 0 && names[i][0] == '\0')
      rmdir(dir);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  char err[256];
  OSQ_FLAG_SET(logger_stderr, "false", err, sizeof err);
  osq_log_configure();
  snprintf(dir, sizeof dir, "/tmp/osq-fuzz-proc.XXXXXX");
  if (mkdtemp(dir) == NULL)
    abort();
  atexit(cleanup);
  snprintf(input, sizeof input, "%s/input", dir);
  snprintf(home, sizeof home, "%s/home", dir);
  mkdir(home, 0700);
  char ssh[320];
  snprintf(ssh, sizeof ssh, "%s/.ssh", home);
  mkdir(ssh, 0700);
  snprintf(home_passwd, sizeof home_passwd, "%s/passwd", dir);
  FILE *f = fopen(home_passwd, "we");
  fprintf(f, "fuzz:x:%u:%u::%s:/bin/sh\n", (unsigned)getuid(),
          (unsigned)getgid(), home);
  fclose(f);
  /* the tables only ever read the files named here */
  osq_tables_proc_net = dir;
  osq_tables_cron_files[0] = input;
  osq_tables_cron_dirs[0] = NULL;
  osq_tables_utmp_path = input;
  osq_tables_modules_path = input;
  osq_tables_wtmp_path = input;
  osq_tables_sudoers_path = input;
  osq_tables_resolv_path = input;
  osq_tables_hosts_path = input;
  osq_tables_mounts_path = input;
  osq_tables_os_release_path = input;
  osq_tables_group_path = input;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  char path[400];
  osq_tables_passwd_path = input;
  switch (data[0] % 20) {
  case 0: {
    uint64_t ticks = 0;
    pid_t ppid = 0;
    osq_proc_parse_stat(text, len, &ticks, &ppid);
    break;
  }
  case 1: {
    char *s = strndup(text, len);
    static const char *const keys[] = {"NAME", "VERSION_ID", "ID",
                                       "PRETTY_NAME", "VERSION_CODENAME", ""};
    char out[256];
    for (size_t k = 0; s && k < sizeof keys / sizeof *keys; k++)
      if (osq_tbl_os_release(s, keys[k], out, sizeof out) &&
          strnlen(out, sizeof out) == sizeof out)
        abort();
    free(s);
    break;
  }
  case 2: {
    char *s = strndup(text, len);
    if (s) {
      int64_t i;
      uint64_t u;
      osq_tbl_parse_i64(s, &i);
      osq_tbl_parse_u64(s, &u);
      touch(osq_tbl_trim(s), 0);
    }
    free(s);
    break;
  }
  case 3:
    put(input, data + 1, len);
    run(&osq_table_users, NULL, NULL);
    run(&osq_table_users, "uid", "0");
    break;
  case 4:
    put(input, data + 1, len);
    run(&osq_table_groups, NULL, NULL);
    run(&osq_table_user_groups, NULL, NULL);
    break;
  case 5:
    put(input, data + 1, len);
    run(&osq_table_etc_hosts, NULL, NULL);
    break;
  case 6:
    put(input, data + 1, len);
    run(&osq_table_mounts, NULL, NULL);
    break;
  case 7:
    put(input, data + 1, len);
    run(&osq_table_os_version, NULL, NULL);
    break;
  case 8:
    snprintf(path, sizeof path, "%s/arp", dir);
    put(path, data + 1, len);
    run(&osq_table_arp_cache, NULL, NULL);
    break;
  case 9:
    snprintf(path, sizeof path, "%s/route", dir);
    put(path, data + 1, len);
    snprintf(path, sizeof path, "%s/ipv6_route", dir);
    put(path, data + 1, len);
    run(&osq_table_routes, NULL, NULL);
    break;
  case 10:
    put(input, data + 1, len);
    run(&osq_table_dns_resolvers, NULL, NULL);
    break;
  case 11:
    put(input, data + 1, len);
    run(&osq_table_crontab, NULL, NULL);
    break;
  case 12:
    put(input, data + 1, len);
    run(&osq_table_logged_in_users, NULL, NULL);
    break;
  case 13:
    put(input, data + 1, len);
    run(&osq_table_kernel_modules, NULL, NULL);
    break;
  case 14:
    put(input, data + 1, len);
    run(&osq_table_last, NULL, NULL);
    break;
  case 15:
    put(input, data + 1, len);
    run(&osq_table_sudoers, NULL, NULL);
    break;
  case 16:
    snprintf(path, sizeof path, "%s/status", dir);
    put(path, data + 1, len);
    run(&osq_table_deb_packages, "admindir", dir);
    break;
  case 17:
    osq_tables_passwd_path = home_passwd;
    snprintf(path, sizeof path, "%s/.ssh/authorized_keys", home);
    put(path, data + 1, len);
    run(&osq_table_authorized_keys, NULL, NULL);
    break;
  case 18:
    osq_tables_passwd_path = home_passwd;
    snprintf(path, sizeof path, "%s/.bash_history", home);
    put(path, data + 1, len);
    snprintf(path, sizeof path, "%s/.zsh_history", home);
    put(path, data + 1, len);
    run(&osq_table_shell_history, NULL, NULL);
    break;
  default:
    osq_tables_passwd_path = home_passwd;
    snprintf(path, sizeof path, "%s/.ssh/known_hosts", home);
    put(path, data + 1, len);
    run(&osq_table_known_hosts, NULL, NULL);
    break;
  }
  return 0;
}
