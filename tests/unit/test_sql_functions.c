/* osquery's extra SQL functions and collations, with their error texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/flags.h"
#include "registry/registry.h"
#include "sql/sql.h"

static osq_db *db;
static char out[8192];

static int on_row(void *u, sqlite3_stmt *st) {
  (void)u;
  char buf[128];
  size_t n = strlen(out);
  for (int i = 0; i < sqlite3_column_count(st); i++) {
    const char *s;
    size_t len;
    osq_sql_cell_text(st, i, buf, sizeof buf, &s, &len);
    n += (size_t)snprintf(out + n, sizeof out - n, "%s%.*s", i ? "|" : "",
                          (int)len, s);
  }
  snprintf(out + n, sizeof out - n, "\n");
  return 0;
}

static const char *q(const char *sql) {
  out[0] = '\0';
  osq_sql_sink sink = {NULL, on_row, NULL};
  char *err = NULL;
  int rc = osq_db_exec(db, sql, &sink, &err);
  if (rc != SQLITE_OK)
    snprintf(out, sizeof out, "ERR %d: %s", rc, err ? err : "");
  free(err);
  return out;
}

struct ex {
  const char *sql, *want;
};

static void check(const struct ex *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *got = q(e[i].sql);
    if (strcmp(got, e[i].want) != 0)
      fail_msg("%s\n  got:  %s\n  want: %s", e[i].sql, got, e[i].want);
  }
}

#define CHECK(arr) check(arr, sizeof arr / sizeof arr[0])

static int setup(void **state) {
  (void)state;
  osq_registry_reset();
  char err[256];
  db = osq_db_open(err, sizeof err);
  assert_non_null(db);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  osq_db_close(db);
  return 0;
}

static void test_split(void **state) {
  (void)state;
  static const struct ex e[] = {
      {"select split('a, b,,c', ',', 0)", "a\n"},
      {"select split('a, b,,c', ',', 1)", "b\n"},
      {"select split('a, b,,c', ',', 2)", "c\n"},
      {"select split('a, b,,c', ',', 3) is null", "1\n"},
      {"select split('192.168.0.1', '.0', 1)", "168\n"},
      {"select split('x', ',', -1) is null", "1\n"},
      {"select split(null, ',', 0) is null", "1\n"},
      {"select split('x', '', 0)", "ERR 1: Invalid input to split function"},
  };
  CHECK(e);
}

static void test_regex(void **state) {
  (void)state;
  static char big[400];
  static const struct ex e[] = {
      {"select regex_split('a1b22c', '[0-9]+', 0)", "a\n"},
      {"select regex_split('a1b22c', '[0-9]+', 2)", "c\n"},
      {"select regex_split('1a', '[0-9]', 0)", "\n"},
      {"select regex_split('a1', '[0-9]', 1) is null", "1\n"},
      {"select regex_split('abc', 'x', 0)", "abc\n"},
      {"select regex_split('abc', '(', 0)", "ERR 1: Invalid regex"},
      {"select regex_match('hello world', 'w(or)ld', 0)", "world\n"},
      {"select regex_match('hello world', 'w(or)ld', 1)", "or\n"},
      {"select regex_match('hello world', 'w(or)ld', 2) is null", "1\n"},
      {"select regex_match('hello', 'x', 0) is null", "1\n"},
      {"select regex_match('hello', '[', 0)", "ERR 1: Invalid regex"},
      {"select regex_match(null, 'x', 0) is null", "1\n"},
      {"select 'abc' regexp '^a.c$', 'abd' regexp 'c'", "1|0\n"},
  };
  CHECK(e);
  memset(big, 'a', 300);
  char sql[600];
  snprintf(sql, sizeof sql, "select regex_match('a', '%.257s', 0)", big);
  assert_string_equal(q(sql),
                      "ERR 1: Invalid regex: too big, max size is 256 bytes");
  snprintf(sql, sizeof sql, "select regex_match('a', '%.256s', 0) is null", big);
  assert_string_equal(q(sql), "1\n");
  snprintf(sql, sizeof sql, "select regex_split('a', '%.257s', 0)", big);
  assert_string_equal(q(sql), "ERR 1: Invalid regex");
}

static void test_concat(void **state) {
  (void)state;
  static const struct ex e[] = {
      {"select concat('a', null, 'b', 1)", "ab1\n"},
      {"select concat(null) = ''", "1\n"},
      {"select concat() is null", "1\n"},
      {"select concat_ws('-', 'a', 'b', 'c')", "a-b-c\n"},
      {"select concat_ws('-', 'a', null, 'c')", "a-c\n"},
      {"select concat_ws('-', 'a', 'b', null)", "a-b-\n"},
      {"select concat_ws(null, 'a', 'b')", "ab\n"},
      {"select concat_ws()", "ERR 1: Missing separator to concat_ws"},
  };
  CHECK(e);
}

static void test_hashes_and_base64(void **state) {
  (void)state;
  static const struct ex e[] = {
      {"select md5('abc')", "900150983cd24fb0d6963f7d28e17f72\n"},
      {"select sha1('abc')", "a9993e364706816aba3e25717850c26c9cd0d89d\n"},
      {"select sha256('')",
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"},
      {"select md5(null) is null", "1\n"},
      {"select md5(123) = md5('123')", "1\n"},
      {"select to_base64('hello')", "aGVsbG8=\n"},
      {"select from_base64('aGVsbG8=')", "hello\n"},
      {"select from_base64('aGVsbG8')", "hello\n"},
      {"select from_base64('!!!') = ''", "1\n"},
      {"select conditional_to_base64('plain text')", "plain text\n"},
      {"select conditional_to_base64('tab' || char(9))", "dGFiCQ==\n"},
      {"select to_base64(null) is null", "1\n"},
  };
  CHECK(e);
}

static void test_paths(void **state) {
  (void)state;
  static const struct ex e[] = {
      {"select parent_directory('/usr/bin/ls')", "/usr/bin\n"},
      {"select parent_directory('/ls') = ''", "1\n"},
      {"select parent_directory('ls') is null", "1\n"},
      {"select parent_directory(5)",
       "ERR 1: Invalid inputs to parent_directory, TEXT was expected"},
      {"select find_file_path_in_cmd('/bin/sh -c true')", "/bin/sh\n"},
      {"select find_file_path_in_cmd('  /bin/sh')", "/bin/sh\n"},
      {"select find_file_path_in_cmd('/nonexistent/x y') = ''", "1\n"},
      {"select find_file_path_in_cmd(null)",
       "ERR 1: Invalid inputs to find_binary_path_from_cmd"},
      {"select find_file_path_in_cmd('/bin/sh', 0, 'ab')",
       "ERR 1: Invalid inputs to find_binary_path_from_cmd"},
      {"select is_path_deterministic('/bin/sh -c x')", "1\n"},
      {"select is_path_deterministic(null)",
       "ERR 1: Invalid inputs to is_path_deterministic"},
  };
  CHECK(e);
  /* "dir/a" and "dir/a b" both exist: the command is ambiguous. */
  char dir[] = "/tmp/osq_sqlfn_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char a[64], ab[64], sql[700];
  snprintf(a, sizeof a, "%s/a", dir);
  snprintf(ab, sizeof ab, "%s/a b", dir);
  fclose(fopen(a, "w"));
  fclose(fopen(ab, "w"));
  snprintf(sql, sizeof sql,
           "select find_file_path_in_cmd('%s b'), "
           "is_path_deterministic('%s b c'), "
           "find_file_path_in_cmd('\"%s b\" c', 1), "
           "find_file_path_in_cmd('%s\\ b c')",
           a, a, a, a);
  char want[400];
  snprintf(want, sizeof want, "%s|0|%s|%s\n", a, ab, ab);
  assert_string_equal(q(sql), want);
  unlink(a);
  unlink(ab);
  rmdir(dir);
}

static void test_math(void **state) {
  (void)state;
  static const struct ex e[] = {
      {"select sqrt(16), log(exp(2)), log10(1000), power(2, 10)",
       "4.0|2.0|3.0|1024.0\n"},
      {"select ceil(1.2), floor(-1.5), ceil(7), typeof(ceil(1.5))",
       "2|-2|7|integer\n"},
      {"select round(cot(1), 6), round(pi(), 5), degrees(pi()), radians(180) "
       "= pi()",
       "0.642093|3.14159|180.0|1\n"},
      {"select round(sin(0), 1), cos(0), round(tan(0), 1), asin(0), acos(1), "
       "atan(0)",
       "0.0|1.0|0.0|0.0|0.0|0.0\n"},
      {"select log(null) is null, cot(null) is null", "1|1\n"},
      {"select log(-1)", "ERR 1: Numerical argument out of domain"},
  };
  CHECK(e);
}

static void test_network(void **state) {
  (void)state;
  static const struct ex e[] = {
      {"select inet_aton('1.2.3.4')", "16909060\n"},
      {"select inet_aton('::1') is null, inet_aton('junk') is null", "1|1\n"},
      {"select in_cidr_block('10.0.0.0/24', '10.0.0.5')", "1\n"},
      {"select in_cidr_block('10.0.0.0/24', '10.0.1.5')", "0\n"},
      {"select in_cidr_block('10.0.0.0/24', '10.0.0.0')", "0\n"},
      {"select in_cidr_block('10.0.0.7/32', '10.0.0.7')", "1\n"},
      {"select in_cidr_block('fe80::/10', 'fe80::1')", "1\n"},
      {"select in_cidr_block('fe80::/10', '::1')", "0\n"},
      {"select in_cidr_block(1, '1.1.1.1')", "ERR 1: CIDR must be a string"},
      {"select in_cidr_block('1.0.0.0/8', 1)",
       "ERR 1: IP address must be a string"},
      {"select in_cidr_block('1.0.0.0/8', 'x')",
       "ERR 1: IP address cannot be parsed"},
      {"select in_cidr_block('1.0.0.0/99', '1.1.1.1')",
       "ERR 1: CIDR for IP address v4 cannot be parsed"},
      {"select in_cidr_block('1.0.0.0/8', '::1')",
       "ERR 1: CIDR for IP address v6 cannot be parsed"},
      /* The Community ID spec's own example. */
      {"select community_id_v1('128.232.110.120', '66.35.250.204', 34855, 80, "
       "6)",
       "1:LQU9qZlK+B5F3KDmev6m5PMibrg=\n"},
      {"select community_id_v1('66.35.250.204', '128.232.110.120', 80, 34855, "
       "6)",
       "1:LQU9qZlK+B5F3KDmev6m5PMibrg=\n"},
      {"select community_id_v1('x', '1.1.1.1', 1, 2, 6) = ''", "1\n"},
      {"select community_id_v1_strict('x', '1.1.1.1', 1, 2, 6)",
       "ERR 1: Community ID saddr cannot be parsed as IP"},
      {"select community_id_v1_strict('1.1.1.1', 'y', 1, 2, 6)",
       "ERR 1: Community ID daddr cannot be parsed as IP"},
      {"select community_id_v1_strict('1.1.1.1', '2.2.2.2', 1, 70000, 6)",
       "ERR 1: Community ID ports must fit in 2 bytes"},
      {"select community_id_v1_strict('1.1.1.1', '2.2.2.2', '1', 2, 6)",
       "ERR 1: Community ID ports must be integers"},
      {"select community_id_v1_strict('1.1.1.1', '2.2.2.2', 1, 2, 256)",
       "ERR 1: Community ID protocol must fit in 1 byte"},
      {"select community_id_v1_strict('1.1.1.1', '2.2.2.2', 1, 2, 6, 'x')",
       "ERR 1: Community ID seed must be an integer"},
      {"select community_id_v1_strict('1.1.1.1', '2.2.2.2', 1, 2, 6, 40000)",
       "ERR 1: Community ID seed must fit in 2 bytes"},
      {"select community_id_v1_strict(1, '2.2.2.2', 1, 2, 6)",
       "ERR 1: Community ID IPs must be strings"},
  };
  CHECK(e);
}

static void test_versions(void **state) {
  (void)state;
  static const struct ex e[] = {
      {"select version_compare('1.2.3', '1.2.10')", "-1\n"},
      {"select version_compare('1.10', '1.9')", "1\n"},
      {"select version_compare('2.0', '2.0')", "0\n"},
      {"select version_compare('1:1.0', '2.0', 'dpkg')", "1\n"},
      {"select version_compare('1.0~rc1', '1.0', 'RHEL')", "-1\n"},
      {"select version_compare('1.0^git1', '1.0', 'RHEL')", "1\n"},
      {"select version_compare('1.0-1', '1.0', 'ARCH')", "0\n"},
      {"select version_compare('1', '2', 'debian')",
       "ERR 1: version_compare: unknown flavor 'debian'; use ARCH, DPKG or "
       "RHEL"},
      {"select version_compare(1, '2')",
       "ERR 1: version_compare: every argument must be text"},
      {"select version_compare('1')",
       "ERR 1: version_compare takes two versions and an optional flavor "
       "(ARCH, DPKG or RHEL)"},
      {"select '1.10' > '1.9' collate version, '1.10' > '1.9'", "1|0\n"},
      {"select '1:1' > '2' collate version_dpkg, '9' < '10' collate version",
       "1|1\n"},
      {"select '2:1' > '10:1' collate version_dpkg, '1.0-2' < '1.0.1' collate "
       "version_dpkg",
       "0|1\n"},
      {"select '1~a' < '1' collate version_rhel, '1' < '2' collate "
       "version_arch",
       "1|1\n"},
      {"select group_concat(v) from (select v from (select '1.10' v union "
       "select '1.9' union select '1.2') order by v collate version)",
       "1.2,1.9,1.10\n"},
  };
  CHECK(e);
}

static void test_sleep_and_errors(void **state) {
  (void)state;
  static const struct ex e[] = {
      {"select sleep(0)", "0\n"},
      {"select sleep(0.01)", "0.01\n"},
      {"select sleep(3601)", "ERR 1: sleep: at most 3600 seconds"},
      {"selec 1", "ERR 1: near \"selec\": syntax error"},
      {"select nosuchfn(1)", "ERR 1: no such function: nosuchfn"},
  };
  CHECK(e);
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split),
      cmocka_unit_test(test_regex),
      cmocka_unit_test(test_concat),
      cmocka_unit_test(test_hashes_and_base64),
      cmocka_unit_test(test_paths),
      cmocka_unit_test(test_math),
      cmocka_unit_test(test_network),
      cmocka_unit_test(test_versions),
      cmocka_unit_test(test_sleep_and_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
