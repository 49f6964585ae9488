/* The audit publisher's SELinux/AppArmor record helpers, path helpers and
 * process_file_events' descriptor state machine, driven with record text
 * shaped as the kernel writes it (fixtures written here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <linux/audit.h>

#include "core/flags.h"
#include "events/audit_fim.h"
#include "events/evstore.h"
#include "events/parse.h"

static void test_mac_labels(void **state) {
  (void)state;
  assert_string_equal(osq_audit_mac_label(1400), "AVC");
  assert_string_equal(osq_audit_mac_label(1401), "SELINUX_ERR");
  assert_string_equal(osq_audit_mac_label(1415), "MAC_IPSEC_EVENT");
  assert_string_equal(osq_audit_mac_label(1417), "MAC_UNLBL_STCDEL");
  assert_string_equal(osq_audit_mac_label(1107), "USER_AVC");
  assert_null(osq_audit_mac_label(1418));
  assert_null(osq_audit_mac_label(1399));
  assert_null(osq_audit_mac_label(1300));
  assert_null(osq_audit_mac_label(0));
}

static void test_apparmor_fields(void **state) {
  (void)state;
  /* an AppArmor denial as the kernel's AVC record carries it */
  const char *rec = "audit(1711111111.500:77): apparmor=\"DENIED\" "
                    "operation=\"open\" class=\"file\" profile=\"/usr/bin/zz\" "
                    "name=\"/etc/shadow\" pid=4242 comm=\"zz\" "
                    "requested_mask=\"r\" denied_mask=\"r\" fsuid=1000 ouid=0";
  osq_audit_hdr h;
  size_t body;
  assert_true(osq_audit_header(rec, strlen(rec), &h, &body));
  const char *f = rec + body;
  size_t n = strlen(f);
  char v[64];
  assert_true(osq_audit_field(f, n, "apparmor", false, v, sizeof v));
  assert_string_equal(v, "DENIED");
  assert_true(osq_audit_field(f, n, "profile", false, v, sizeof v));
  assert_string_equal(v, "/usr/bin/zz");
  assert_true(osq_audit_field(f, n, "denied_mask", false, v, sizeof v));
  assert_string_equal(v, "r");
  assert_true(osq_audit_field(f, n, "pid", false, v, sizeof v));
  assert_string_equal(v, "4242");
  assert_false(osq_audit_field(f, n, "capname", false, v, sizeof v));
  /* an SELinux AVC has no apparmor field */
  const char *se = "avc:  denied  { read } for  pid=9 comm=\"cat\" "
                   "name=\"x\" scontext=u:r:a:s0 tcontext=u:r:b:s0 "
                   "tclass=file permissive=0";
  assert_false(osq_audit_field(se, strlen(se), "apparmor", false, v,
                               sizeof v));
  assert_true(osq_audit_field(se, strlen(se), "tclass", false, v, sizeof v));
  assert_string_equal(v, "file");
}

static void norm(const char *cwd, const char *path, const char *want) {
  char out[64];
  assert_true(osq_path_normalize(cwd, path, out, sizeof out));
  assert_string_equal(out, want);
}

static void test_path_helpers(void **state) {
  (void)state;
  norm("/home/u", "a.txt", "/home/u/a.txt");
  norm("/home/u", "/etc//passwd", "/etc/passwd");
  norm("/home/u", "./x/../y/./z", "/home/u/y/z");
  norm("/", "../../..", "/");
  norm("/a/b", "..", "/a");
  norm("", "rel", "/rel");
  norm("/d", "", "/d");
  char small[8];
  assert_false(osq_path_normalize("/", "/abcdefgh", small, sizeof small));
  assert_true(osq_path_normalize("/", "/abcdef", small, sizeof small));
  assert_string_equal(small, "/abcdef");
  assert_false(osq_path_normalize("/", "/x", small, 1));

  assert_true(osq_path_pattern_match("/etc/%%", "/etc/a/b/c"));
  assert_true(osq_path_pattern_match("/etc/%", "/etc/passwd"));
  assert_false(osq_path_pattern_match("/etc/%", "/etc/ssh/sshd_config"));
  assert_true(osq_path_pattern_match("/etc/%.conf", "/etc/a.conf"));
  assert_false(osq_path_pattern_match("/etc/%.conf", "/etc/a.confx"));
  assert_true(osq_path_pattern_match("/etc/passwd", "/etc/passwd"));
  assert_false(osq_path_pattern_match("/etc/passwd", "/etc/passwd2"));
  assert_true(osq_path_pattern_match("/home/%/.ssh/%%", "/home/u/.ssh/k"));
  assert_false(osq_path_pattern_match("/home/%/.ssh/%%", "/home/u/v/.ssh/k"));
}

/* ---- the descriptor state machine --------------------------------------- */

typedef struct rows {
  int n;
  char text[8][512];
} rows;

static int on_row(void *u, uint64_t eid, int64_t t, const char *row,
                  size_t len) {
  (void)eid;
  (void)t;
  rows *r = u;
  if (r->n < 8)
    snprintf(r->text[r->n++], sizeof r->text[0], "%.*s", (int)len, row);
  return 0;
}

static int serial = 100;

/* One event: a SYSCALL record of syscall nr (x86_64 numbers) by pid with
 * args and exit, a CWD, then PATH items (names; NULL ends), then EOE. */
static void event(int nr, int pid, const char *args, long exit_code,
                  const char *const *names) {
  char sc[512];
  snprintf(sc, sizeof sc,
           "arch=c000003e syscall=%d success=yes exit=%ld %s items=0 "
           "ppid=1 pid=%d auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 "
           "fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=1 "
           "comm=\"t\" exe=\"/usr/bin/t\" key=(null)",
           nr, exit_code, args, pid);
  osq_audit_fields r;
  osq_audit_fields_index(&r, sc, strlen(sc));
  osq_fim_call *c = osq_fim_begin(nr, &r);
  if (c == NULL)
    return;
  const char *cwd = "cwd=\"/w\"";
  osq_audit_fields_index(&r, cwd, strlen(cwd));
  osq_fim_record(c, AUDIT_CWD, &r);
  for (int i = 0; names && names[i]; i++) {
    char p[256];
    snprintf(p, sizeof p,
             "item=%d name=%s inode=%d dev=08:01 mode=0100644 ouid=0 ogid=0 "
             "rdev=00:00 nametype=NORMAL",
             i, names[i], 1000 + i);
    osq_audit_fields_index(&r, p, strlen(p));
    osq_fim_record(c, AUDIT_PATH, &r);
  }
  osq_fim_finish(c, 1700000000 + serial++);
}

static rows stored(void) {
  osq_evstore_commit(0, 0);
  rows r = {0};
  uint64_t last = 0;
  osq_ev_range all = {0, UINT64_MAX, INT64_MIN, INT64_MAX};
  osq_evstore_scan("process_file_events", &all, on_row, &r, &last);
  return r;
}

static void test_fim_sequence(void **state) {
  (void)state;
  char err[256];
  assert_int_equal(osq_evstore_open(NULL, err, sizeof err), 0);
  json_t *cfg = json_pack("{s:{s:[s]}}", "file_paths", "w", "/w/watched/%%");
  osq_fim_configure(cfg);
  json_decref(cfg);
  const char *watched[] = {"\"watched/a\"", NULL};
  const char *outside[] = {"\"/w/other\"", NULL};
  /* openat(AT_FDCWD, "watched/a", O_WRONLY|O_CREAT|O_TRUNC) = 3 */
  event(257, 50, "a0=ffffff9c a1=7ffd a2=241 a3=1b6", 3, watched);
  event(33, 50, "a0=3 a1=1 a2=0 a3=0", 1, NULL);  /* dup2(3, 1) = 1 */
  event(3, 50, "a0=3 a1=0 a2=0 a3=0", 0, NULL);   /* close(3): access */
  event(1, 50, "a0=1 a1=1 a2=3 a3=0", 3, NULL);   /* write(1): a row */
  event(1, 50, "a0=1 a1=1 a2=3 a3=0", 3, NULL);   /* again: no row */
  /* a file outside file_paths: opened and written, no rows */
  event(257, 50, "a0=ffffff9c a1=7ffd a2=241 a3=1b6", 4, outside);
  event(1, 50, "a0=4 a1=1 a2=3 a3=0", 3, NULL);
  /* a read-only open: an access, not shown by default */
  event(257, 51, "a0=ffffff9c a1=7ffd a2=0 a3=0", 3, watched);
  event(0, 51, "a0=3 a1=1 a2=3 a3=0", 3, NULL);
  /* a write through a descriptor osq never saw opened: nothing */
  event(1, 52, "a0=7 a1=1 a2=3 a3=0", 3, NULL);
  /* rename(watched/a, watched/b): parents, source, destination */
  const char *ren[] = {"\"watched/\"", "\"watched/\"", "\"watched/a\"",
                       "\"watched/b\"", NULL};
  event(82, 50, "a0=1 a1=2 a2=0 a3=0", 0, ren);
  /* unlink(/w/watched/b): the parent, then the file */
  const char *unl[] = {"\"/w/watched/\"", "\"/w/watched/b\"", NULL};
  event(87, 50, "a0=1 a1=0 a2=0 a3=0", 0, unl);
  /* an unlink whose records do not add up: partial, not shown */
  const char *one[] = {"\"/w/watched/c\"", NULL};
  event(87, 50, "a0=1 a1=0 a2=0 a3=0", 0, one);
  rows r = stored();
  assert_int_equal(r.n, 4);
  const char *want[] = {"open+truncate", "write", "rename", "unlink"};
  const char *path[] = {"/w/watched/a", "/w/watched/a", "/w/watched/a",
                        "/w/watched/b"};
  for (int i = 0; i < 4; i++) {
    json_t *row = json_loads(r.text[i], 0, NULL);
    assert_non_null(row);
    /* columns: operation, pid, ppid, time, executable, partial, cwd,
     * path, dest_path, uid ... */
    assert_string_equal(json_string_value(json_array_get(row, 0)), want[i]);
    assert_string_equal(json_string_value(json_array_get(row, 7)), path[i]);
    assert_int_equal(json_integer_value(json_array_get(row, 1)), 50);
    assert_string_equal(json_string_value(json_array_get(row, 4)),
                        "/usr/bin/t");
    assert_string_equal(json_string_value(json_array_get(row, 5)), "false");
    assert_string_equal(json_string_value(json_array_get(row, 6)), "/w");
    assert_string_equal(json_string_value(json_array_get(row, 9)), "1000");
    if (i == 2)
      assert_string_equal(json_string_value(json_array_get(row, 8)),
                          "/w/watched/b");
    else
      assert_true(json_is_null(json_array_get(row, 8)));
    json_decref(row);
  }
  osq_fim_reset();
  osq_evstore_close();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mac_labels),
      cmocka_unit_test(test_apparmor_fields),
      cmocka_unit_test(test_path_helpers),
      cmocka_unit_test(test_fim_sequence),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
