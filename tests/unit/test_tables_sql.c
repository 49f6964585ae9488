/* The built-in tables through the SQL engine: what osqi users run. */
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

#include "core/flags.h"
#include "registry/registry.h"
#include "sql/sql.h"
#include "tables/tables.h"
#include "tables/linux/users.h"

static osq_db *db;
static char root[256];

typedef struct collected {
  char cells[64][256];
  int ncols;
  int nrows;
} collected;

static int on_row(void *u, sqlite3_stmt *st) {
  collected *c = u;
  int n = sqlite3_column_count(st);
  for (int i = 0; i < n && c->nrows * n + i < 64; i++) {
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(c->cells[c->nrows * n + i], sizeof c->cells[0], "%s",
             t ? (const char *)t : "<NULL>");
  }
  c->ncols = n;
  c->nrows++;
  return 0;
}

/* Run sql; returns the SQLite code, rows in *c, the error (if any) in err. */
static int run(const char *sql, collected *c, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  osq_sql_sink sink = {.row = on_row, .u = c};
  char *msg = NULL;
  int rc = osq_db_exec(db, sql, &sink, &msg);
  if (err)
    snprintf(err, errlen, "%s", msg ? msg : "");
  free(msg);
  return rc;
}

/* Run sql and fail with SQLite's message unless it succeeds. */
static void run_ok(const char *sql, collected *c) {
  char err[512];
  int rc = run(sql, c, err, sizeof err);
  if (rc != SQLITE_OK)
    fail_msg("%s\n  -> rc=%d: %s", sql, rc, err);
}

static const char *cell(collected *c, int row, int col) {
  return c->cells[row * c->ncols + col];
}

static int setup(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  osq_registry_reset();
  assert_int_equal(osq_tables_register_builtin(), OSQ_OK);
  char err[256];
  db = osq_db_open(err, sizeof err);
  if (db == NULL)
    fail_msg("osq_db_open: %s", err);
  snprintf(root, sizeof root, "/tmp/osq-tables-sql.XXXXXX");
  assert_non_null(mkdtemp(root));
  char p[512];
  snprintf(p, sizeof p, "%s/a.txt", root);
  FILE *f = fopen(p, "w");
  fputs("abc", f);
  fclose(f);
  chmod(p, 0640);
  snprintf(p, sizeof p, "%s/d", root);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/d/b.txt", root);
  f = fopen(p, "w");
  fclose(f);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  osq_db_close(db);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  assert_int_equal(system(cmd), 0);
  osq_registry_reset();
  osq_flags_shutdown();
  return 0;
}

static void test_processes_sql(void **state) {
  (void)state;
  collected c;
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT pid, parent, uid FROM processes WHERE pid = %d", getpid());
  unsigned long before = osq_sql_generate_count("processes");
  run_ok(sql, &c);
  assert_int_equal(c.nrows, 1);
  char want[32];
  snprintf(want, sizeof want, "%d", getppid());
  assert_string_equal(cell(&c, 0, 1), want);
  snprintf(want, sizeof want, "%d", getuid());
  assert_string_equal(cell(&c, 0, 2), want);
  assert_int_equal(osq_sql_generate_count("processes"), before + 1);

  run_ok("SELECT count(*) > 1 FROM processes", &c);
  assert_string_equal(cell(&c, 0, 0), "1");
}

static void test_introspection_sql(void **state) {
  (void)state;
  collected c;

  run_ok("SELECT type, default_value FROM osquery_flags WHERE "
                       "name = 'verbose'", &c);
  assert_int_equal(c.nrows, 1);
  assert_string_equal(cell(&c, 0, 0), "bool");
  assert_string_equal(cell(&c, 0, 1), "false");
  run_ok("SELECT count(*) FROM osquery_registry WHERE registry "
                       "= 'table' AND name IN ('processes', 'file', 'hash', "
                       "'time', 'users', 'osquery_info') AND active = 1", &c);
  assert_string_equal(cell(&c, 0, 0), "6");
  char sql[128];
  snprintf(sql, sizeof sql,
           "SELECT pid = %d, platform_mask, version, osq_version FROM "
           "osquery_info",
           getpid());
  run_ok(sql, &c);
  assert_string_equal(cell(&c, 0, 0), "1");
  assert_string_equal(cell(&c, 0, 1), "9");
  /* version is the osquery version osq behaves as; osq's own is apart */
  assert_string_equal(cell(&c, 0, 2), OSQ_SDK_VERSION);
  assert_string_equal(cell(&c, 0, 3), OSQ_VERSION);
  run_ok("SELECT count(*) FROM pragma_table_info('osquery_info') WHERE "
         "name = 'osq_version'", &c);
  assert_string_equal(cell(&c, 0, 0), "0"); /* SELECT * stays osquery's */
  run_ok("SELECT timezone, datetime = iso_8601 FROM time", &c);
  assert_string_equal(cell(&c, 0, 0), "UTC");
  assert_string_equal(cell(&c, 0, 1), "1");
  run_ok("SELECT username FROM users WHERE uid = 0", &c);
  assert_string_equal(cell(&c, 0, 0), "root");
}

static void test_file_hash_sql(void **state) {
  (void)state;
  collected c;
  char sql[512], err[512];
  snprintf(sql, sizeof sql,
           "SELECT filename, mode, size, type FROM file WHERE path LIKE "
           "'%s/%%' ORDER BY filename",
           root);
  run_ok(sql, &c);
  assert_int_equal(c.nrows, 2);
  assert_string_equal(cell(&c, 0, 0), "a.txt");
  assert_string_equal(cell(&c, 0, 1), "0640");
  assert_string_equal(cell(&c, 0, 2), "3");
  assert_string_equal(cell(&c, 0, 3), "regular");
  assert_string_equal(cell(&c, 1, 0), "d");
  assert_string_equal(cell(&c, 1, 3), "directory");

  snprintf(sql, sizeof sql,
           "SELECT f.filename, h.md5 FROM file f JOIN hash h USING (path) "
           "WHERE f.path LIKE '%s/%%%%' AND f.type = 'regular' "
           "ORDER BY f.filename",
           root);
  run_ok(sql, &c);
  assert_int_equal(c.nrows, 2);
  assert_string_equal(cell(&c, 0, 1), "900150983cd24fb0d6963f7d28e17f72");
  assert_string_equal(cell(&c, 1, 0), "b.txt");
  assert_string_equal(cell(&c, 1, 1), "d41d8cd98f00b204e9800998ecf8427e");

  /* path or directory is required */
  int rc = run("SELECT * FROM file", &c, err, sizeof err);
  assert_int_not_equal(rc, SQLITE_OK);
  assert_true(strlen(err) > 0);
}

static void test_namespace_join_sql(void **state) {
  (void)state;
  collected c;
  char sql[256];
  /* our own root is "/": the same os_version, tagged with our pid */
  snprintf(sql, sizeof sql,
           "SELECT p.pid, o.pid_with_namespace = p.pid, o.name = (SELECT name "
           "FROM os_version) FROM processes p JOIN os_version o ON "
           "o.pid_with_namespace = p.pid WHERE p.pid = %d",
           getpid());
  run_ok(sql, &c);
  assert_int_equal(c.nrows, 1);
  assert_string_equal(cell(&c, 0, 1), "1");
  assert_string_equal(cell(&c, 0, 2), "1");
}

/* extended_attributes: what setfattr(1) set, as getfattr(1) reports it
 * (base64 for a binary value); path or directory is required. */
static void test_extended_attributes_sql(void **state) {
  (void)state;
  collected c;
  char sql[768], err[512], cmd[1024];
  snprintf(cmd, sizeof cmd, "setfattr -x user.none %s/a.txt 2>&1 | "
           "grep -q 'not supported'", root);
  if (system(cmd) == 0) {
    /* tmpfs has user.* attributes only since Linux 6.6 */
    fprintf(stderr, "skipping: no user xattrs on %s\n", root);
    skip();
  }
  snprintf(cmd, sizeof cmd,
           "setfattr -n user.osq_text -v 'plain text' %s/a.txt && "
           "setfattr -n user.osq_bin -v 0x00ff10 %s/a.txt && "
           "setfattr -n user.osq_dir -v yes %s/d",
           root, root, root);
  assert_int_equal(system(cmd), 0);
  snprintf(sql, sizeof sql,
           "SELECT key, value, base64, directory FROM extended_attributes "
           "WHERE path = '%s/a.txt' AND key LIKE 'user.osq%%' ORDER BY key",
           root);
  run_ok(sql, &c);
  assert_int_equal(c.nrows, 2);
  assert_string_equal(cell(&c, 0, 0), "user.osq_bin");
  assert_string_equal(cell(&c, 0, 2), "1");
  assert_string_equal(cell(&c, 0, 3), root);
  assert_string_equal(cell(&c, 1, 1), "plain text");
  assert_string_equal(cell(&c, 1, 2), "0");
  /* getfattr's base64 ("0s" prefix) is the table's */
  snprintf(cmd, sizeof cmd,
           "getfattr --absolute-names -e base64 -n user.osq_bin %s/a.txt | "
           "sed -n 's/^user.osq_bin=//p'",
           root);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char b64[128] = "";
  assert_non_null(fgets(b64, sizeof b64, p));
  pclose(p);
  b64[strcspn(b64, "\n")] = '\0';
  assert_string_equal(b64, "0sAP8Q");
  assert_string_equal(cell(&c, 0, 1), b64 + 2);

  /* a directory's files (not the directory itself, not recursive) */
  snprintf(sql, sizeof sql,
           "SELECT path FROM extended_attributes WHERE directory = '%s' "
           "AND key LIKE 'user.osq%%' GROUP BY path",
           root);
  run_ok(sql, &c);
  assert_int_equal(c.nrows, 1);
  /* a directory named by path has attributes too; LIKE is expanded */
  snprintf(sql, sizeof sql,
           "SELECT value FROM extended_attributes WHERE path LIKE '%s/%%' "
           "AND key = 'user.osq_dir'",
           root);
  run_ok(sql, &c);
  assert_int_equal(c.nrows, 1);
  assert_string_equal(cell(&c, 0, 0), "yes");
  /* file capabilities read as getcap(8) prints them */
  snprintf(cmd, sizeof cmd, "cp /bin/true %s/capped && "
           "setcap cap_net_raw,cap_net_admin+ep %s/capped", root, root);
  assert_int_equal(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "getcap %s/capped | sed 's/^[^ ]* //'", root);
  p = popen(cmd, "r");
  assert_non_null(p);
  char caps[128] = "";
  assert_non_null(fgets(caps, sizeof caps, p));
  pclose(p);
  caps[strcspn(caps, "\n")] = '\0';
  snprintf(sql, sizeof sql,
           "SELECT value, base64 FROM extended_attributes WHERE path = "
           "'%s/capped' AND key = 'security.capability'",
           root);
  run_ok(sql, &c);
  assert_int_equal(c.nrows, 1);
  assert_string_equal(cell(&c, 0, 0), caps);
  assert_string_equal(cell(&c, 0, 0), "cap_net_admin,cap_net_raw=ep");
  assert_string_equal(cell(&c, 0, 1), "0");
  /* a missing file is no rows */
  run_ok("SELECT * FROM extended_attributes WHERE path = '/nonexistent/x'",
         &c);
  assert_int_equal(c.nrows, 0);
  int rc = run("SELECT * FROM extended_attributes", &c, err, sizeof err);
  assert_int_not_equal(rc, SQLITE_OK);
  assert_non_null(strstr(err, "required column"));
}

/* User-based tables follow a JOIN against users: one uid per outer row. */
static void test_user_tables_join_sql(void **state) {
  (void)state;
  collected c;
  char p[512], text[2048];
  snprintf(p, sizeof p, "%s/passwd", root);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fprintf(f,
          "alice:x:1000:1000::%s/alice:/bin/sh\n"
          "bob:x:1001:1001::%s/bob:/bin/sh\n",
          root, root);
  fclose(f);
  snprintf(text, sizeof text,
           "mkdir -p %s/alice/.ssh %s/bob/.ssh && "
           "printf 'Host a\\n  User alice\\n' > %s/alice/.ssh/config && "
           "printf 'User bob\\n' > %s/bob/.ssh/config && "
           "ssh-keygen -q -t ed25519 -N '' -f %s/bob/.ssh/id_ed25519",
           root, root, root, root, root);
  assert_int_equal(system(text), 0);
  osq_tables_passwd_path = p;
  run_ok("SELECT u.username, c.block, c.option FROM users u JOIN ssh_configs "
         "c USING (uid) WHERE u.username = 'alice'",
         &c);
  assert_int_equal(c.nrows, 1);
  assert_string_equal(cell(&c, 0, 0), "alice");
  assert_string_equal(cell(&c, 0, 1), "host a");
  assert_string_equal(cell(&c, 0, 2), "user alice");
  run_ok("SELECT u.username, k.key_type, k.encrypted FROM users u JOIN "
         "user_ssh_keys k USING (uid) ORDER BY u.username",
         &c);
  assert_int_equal(c.nrows, 1);
  assert_string_equal(cell(&c, 0, 0), "bob");
  assert_string_equal(cell(&c, 0, 1), "ed25519");
  assert_string_equal(cell(&c, 0, 2), "0");
  osq_tables_passwd_path = "/etc/passwd";
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_processes_sql),
      cmocka_unit_test(test_introspection_sql),
      cmocka_unit_test(test_file_hash_sql),
      cmocka_unit_test(test_namespace_join_sql),
      cmocka_unit_test(test_extended_attributes_sql),
      cmocka_unit_test(test_user_tables_join_sql),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
