/* The event publishers' kernel-record decoders and the event store:
 * well-formed records decode; truncated, oversized and foreign ones are
 * counted and skipped without reading past the buffer; overruns count as
 * loss; the store keeps eid order, honours ranges, trims to events_max
 * (counting the drops) and remembers what a scheduled query has seen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "events/evstore.h"
#include "events/parse.h"

typedef struct seen_cn {
  osq_cn_event ev[8];
  size_t n;
} seen_cn;

static void on_cn(void *u, const osq_cn_event *ev) {
  seen_cn *s = u;
  if (s->n < 8)
    s->ev[s->n++] = *ev;
}

/* One connector datagram carrying a proc_event of cn_len bytes. */
static size_t cn_msg_of(unsigned char *buf, const struct proc_event *pe,
                        uint32_t cn_len, uint32_t idx) {
  size_t total = NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof *pe);
  memset(buf, 0, NLMSG_SPACE(sizeof(struct cn_msg) + sizeof *pe));
  struct nlmsghdr nh = {.nlmsg_len = (uint32_t)total, .nlmsg_type = NLMSG_DONE};
  memcpy(buf, &nh, sizeof nh);
  struct cn_msg cn = {.id = {.idx = idx, .val = CN_VAL_PROC}, .len = (uint16_t)cn_len};
  memcpy(buf + NLMSG_HDRLEN, &cn, sizeof cn);
  memcpy(buf + NLMSG_HDRLEN + sizeof cn, pe, sizeof *pe);
  return NLMSG_ALIGN(total);
}

static void test_connector_records(void **state) {
  (void)state;
  unsigned char buf[1024];
  struct proc_event pe = {0};
  pe.what = PROC_EVENT_EXEC;
  pe.timestamp_ns = 5000000000ull;
  pe.event_data.exec.process_pid = 42;
  pe.event_data.exec.process_tgid = 42;
  size_t n = cn_msg_of(buf, &pe, sizeof pe, CN_IDX_PROC);
  memset(&pe, 0, sizeof pe);
  pe.what = PROC_EVENT_FORK;
  pe.event_data.fork.parent_tgid = 42;
  pe.event_data.fork.child_pid = 44;
  pe.event_data.fork.child_tgid = 43; /* a thread of 43 */
  n += cn_msg_of(buf + n, &pe, sizeof pe, CN_IDX_PROC);
  seen_cn s = {0};
  osq_parse_counts c = {0};
  osq_cn_parse(buf, n, on_cn, &s, &c);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.ev[0].kind, OSQ_CN_EXEC);
  assert_int_equal(s.ev[0].pid, 42);
  assert_int_equal(s.ev[0].timestamp_ns, 5000000000ull);
  assert_int_equal(s.ev[1].kind, OSQ_CN_FORK);
  assert_int_equal(s.ev[1].pid, 43);
  assert_int_equal(s.ev[1].parent, 42);
  assert_true(s.ev[1].thread);
  assert_int_equal(c.records, 2);
  assert_int_equal(c.malformed, 0);
}

static void test_connector_malformed(void **state) {
  (void)state;
  unsigned char buf[512];
  struct proc_event pe = {0};
  pe.what = PROC_EVENT_EXEC;
  pe.event_data.exec.process_tgid = 7;
  seen_cn s = {0};
  osq_parse_counts c = {0};
  /* cn.len shorter than an exec event */
  size_t n = cn_msg_of(buf, &pe, offsetof(struct proc_event, event_data) + 2,
                       CN_IDX_PROC);
  osq_cn_parse(buf, n, on_cn, &s, &c);
  assert_int_equal(s.n, 0);
  assert_int_equal(c.malformed, 1);
  /* cn.len longer than the datagram */
  memset(&c, 0, sizeof c);
  n = cn_msg_of(buf, &pe, 400, CN_IDX_PROC);
  osq_cn_parse(buf, n, on_cn, &s, &c);
  assert_int_equal(s.n, 0);
  assert_int_equal(c.malformed, 1);
  /* nlmsg_len past the end: cut the buffer short */
  memset(&c, 0, sizeof c);
  n = cn_msg_of(buf, &pe, sizeof pe, CN_IDX_PROC);
  unsigned char *cut = malloc(n - 8);
  memcpy(cut, buf, n - 8);
  osq_cn_parse(cut, n - 8, on_cn, &s, &c);
  free(cut);
  assert_int_equal(s.n, 0);
  assert_int_equal(c.malformed, 1);
  /* another connector index is not ours: ignored, not malformed */
  memset(&c, 0, sizeof c);
  n = cn_msg_of(buf, &pe, sizeof pe, CN_IDX_PROC + 1);
  osq_cn_parse(buf, n, on_cn, &s, &c);
  assert_int_equal(s.n, 0);
  assert_int_equal(c.malformed, 0);
  /* an overrun is loss */
  memset(&c, 0, sizeof c);
  struct nlmsghdr nh = {.nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = NLMSG_OVERRUN};
  osq_cn_parse(&nh, sizeof nh, on_cn, &s, &c);
  assert_int_equal(c.overruns, 1);
  /* a few stray bytes */
  memset(&c, 0, sizeof c);
  osq_cn_parse("abc", 3, on_cn, &s, &c);
  assert_int_equal(c.malformed, 1);
}

typedef struct seen_in {
  char names[4][32];
  uint32_t masks[4];
  size_t n;
} seen_in;

static void on_in(void *u, const osq_in_event *ev) {
  seen_in *s = u;
  if (s->n < 4) {
    snprintf(s->names[s->n], 32, "%.*s", (int)ev->nlen, ev->name);
    s->masks[s->n++] = ev->mask;
  }
}

static size_t in_rec(unsigned char *buf, int wd, uint32_t mask,
                     const char *name, uint32_t len) {
  struct inotify_event ev = {.wd = wd, .mask = mask, .len = len};
  memcpy(buf, &ev, sizeof ev);
  memset(buf + sizeof ev, 0, len);
  if (name)
    memcpy(buf + sizeof ev, name, strlen(name));
  return sizeof ev + len;
}

static void test_inotify_records(void **state) {
  (void)state;
  unsigned char buf[256];
  size_t n = in_rec(buf, 1, IN_CREATE, "a.txt", 16);
  n += in_rec(buf + n, -1, IN_Q_OVERFLOW, NULL, 0);
  n += in_rec(buf + n, 1, IN_CLOSE_WRITE, "0123456789abcdef", 16); /* no NUL */
  seen_in s = {0};
  osq_parse_counts c = {0};
  osq_in_parse(buf, n, on_in, &s, &c);
  assert_int_equal(s.n, 3);
  assert_string_equal(s.names[0], "a.txt");
  assert_int_equal(s.masks[1], IN_Q_OVERFLOW);
  assert_string_equal(s.names[2], "0123456789abcdef");
  assert_int_equal(c.overruns, 1);
  assert_int_equal(c.malformed, 0);
  /* a name length past the end */
  memset(&s, 0, sizeof s);
  memset(&c, 0, sizeof c);
  n = in_rec(buf, 1, IN_CREATE, "x", 16);
  osq_in_parse(buf, n - 4, on_in, &s, &c);
  assert_int_equal(s.n, 0);
  assert_int_equal(c.malformed, 1);
}

typedef struct scanned {
  uint64_t eids[16];
  size_t n;
} scanned;

static int on_row(void *u, uint64_t eid, int64_t t, const char *row,
                  size_t len) {
  (void)t;
  (void)row;
  (void)len;
  scanned *s = u;
  if (s->n < 16)
    s->eids[s->n++] = eid;
  return 0;
}

static void test_store(void **state) {
  (void)state;
  char err[256];
  assert_int_equal(osq_evstore_open(NULL, err, sizeof err), 0);
  for (int i = 0; i < 6; i++)
    assert_int_equal(osq_evstore_add("t", 100 + i, "[1]", 3), 0);
  assert_int_equal(osq_evstore_add("u", 100, "[2]", 3), 0);
  osq_evstore_commit(0, 0);
  assert_int_equal(osq_evstore_count("t"), 6);
  scanned s = {0};
  uint64_t last = 0;
  osq_ev_range all = {0, UINT64_MAX, INT64_MIN, INT64_MAX};
  assert_int_equal(osq_evstore_scan("t", &all, on_row, &s, &last), 0);
  assert_int_equal(s.n, 6);
  assert_int_equal(s.eids[0], 1);
  assert_int_equal(last, 6);
  /* time range 102..103 */
  memset(&s, 0, sizeof s);
  osq_ev_range r = {0, UINT64_MAX, 102, 103};
  osq_evstore_scan("t", &r, on_row, &s, &last);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.eids[0], 3);
  /* events_max=4: the two oldest are dropped and counted */
  assert_int_equal(osq_evstore_add("t", 106, "[1]", 3), 0);
  osq_evstore_commit(4, 0);
  assert_int_equal(osq_evstore_count("t"), 4);
  assert_int_equal(osq_evstore_dropped("t"), 3);
  memset(&s, 0, sizeof s);
  osq_evstore_scan("t", &all, on_row, &s, &last);
  assert_int_equal(s.n, 4);
  assert_int_equal(s.eids[0], 4);
  assert_int_equal(osq_evstore_count("u"), 1);
  /* what a query has seen */
  assert_int_equal(osq_evstore_seen("q1", "t"), 0);
  osq_evstore_set_seen("q1", "t", 5);
  assert_int_equal(osq_evstore_seen("q1", "t"), 5);
  assert_int_equal(osq_evstore_seen("q2", "t"), 0);
  osq_evstore_close();
}

static void test_audit_header_and_fields(void **state) {
  (void)state;
  const char *rec = "audit(1700000000.123:456): arch=c000003e syscall=59 "
                    "success=yes exit=0 a0=55d0 pid=12 exe=\"/usr/bin/ls\" "
                    "a1=2D6C61 a10=\"ten\" name=2F746D70 odd=ABC";
  osq_audit_hdr h;
  size_t body;
  assert_true(osq_audit_header(rec, strlen(rec), &h, &body));
  assert_int_equal(h.sec, 1700000000);
  assert_int_equal(h.msec, 123);
  assert_int_equal(h.serial, 456);
  const char *f = rec + body;
  size_t n = strlen(f);
  char v[64];
  assert_true(osq_audit_field(f, n, "syscall", false, v, sizeof v));
  assert_string_equal(v, "59");
  assert_true(osq_audit_field(f, n, "exe", true, v, sizeof v));
  assert_string_equal(v, "/usr/bin/ls");
  /* a1 is hex-encoded; a10 is another field, not a1's continuation */
  assert_true(osq_audit_field(f, n, "a1", true, v, sizeof v));
  assert_string_equal(v, "-la");
  assert_true(osq_audit_field(f, n, "a10", true, v, sizeof v));
  assert_string_equal(v, "ten");
  assert_true(osq_audit_field(f, n, "name", true, v, sizeof v));
  assert_string_equal(v, "/tmp");
  /* odd-length hex stays as is; hex=false keeps the digits */
  assert_true(osq_audit_field(f, n, "odd", true, v, sizeof v));
  assert_string_equal(v, "ABC");
  assert_true(osq_audit_field(f, n, "a0", false, v, sizeof v));
  assert_string_equal(v, "55d0");
  assert_false(osq_audit_field(f, n, "missing", true, v, sizeof v));
  /* truncated to the buffer */
  assert_true(osq_audit_field(f, n, "exe", true, v, 5));
  assert_string_equal(v, "/usr");
  /* an unterminated quote ends at the end of the record */
  const char *bad = "exe=\"/bin/sh";
  assert_true(osq_audit_field(bad, strlen(bad), "exe", true, v, sizeof v));
  assert_string_equal(v, "/bin/sh");
  /* a user-space message's msg is in single quotes */
  const char *um = "pid=1 uid=0 msg='op=login exe=\"/bin/login\" res=ok' x=1";
  assert_true(osq_audit_field(um, strlen(um), "msg", false, v, sizeof v));
  assert_string_equal(v, "op=login exe=\"/bin/login\" res=ok");
  assert_true(osq_audit_field(um, strlen(um), "x", false, v, sizeof v));
  assert_string_equal(v, "1");
  /* no header, a bad header */
  assert_false(osq_audit_header("type=1300", 9, &h, &body));
  assert_false(osq_audit_header("audit(12.3:)", 12, &h, &body));
  assert_false(osq_audit_header("audit(12", 8, &h, &body));
}

typedef struct seen_audit {
  uint16_t types[4];
  char texts[4][64];
  size_t n;
} seen_audit;

static void on_audit(void *u, uint16_t type, const char *text, size_t len) {
  seen_audit *s = u;
  if (s->n < 4) {
    s->types[s->n] = type;
    snprintf(s->texts[s->n++], 64, "%.*s", (int)len, text);
  }
}

static void test_audit_netlink(void **state) {
  (void)state;
  unsigned char buf[256] = {0};
  const char *text = "audit(1.2:3): pid=1";
  size_t tl = strlen(text);
  /* the kernel's records: nlmsg_len is the text's length alone */
  struct nlmsghdr nh = {.nlmsg_len = (uint32_t)tl, .nlmsg_type = 1300};
  memcpy(buf, &nh, sizeof nh);
  memcpy(buf + NLMSG_HDRLEN, text, tl);
  seen_audit s = {0};
  osq_parse_counts c = {0};
  osq_audit_parse_nl(buf, NLMSG_HDRLEN + tl, on_audit, &s, &c);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.types[0], 1300);
  assert_string_equal(s.texts[0], text);
  /* a reply with the full length */
  memset(&s, 0, sizeof s);
  nh.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + 8);
  nh.nlmsg_type = 1000;
  memcpy(buf, &nh, sizeof nh);
  memcpy(buf + NLMSG_HDRLEN, "abcdefgh", 8);
  osq_audit_parse_nl(buf, NLMSG_HDRLEN + 8, on_audit, &s, &c);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.texts[0], "abcdefgh");
  /* a length past the datagram */
  memset(&s, 0, sizeof s);
  memset(&c, 0, sizeof c);
  nh.nlmsg_len = 200;
  nh.nlmsg_type = 1300;
  memcpy(buf, &nh, sizeof nh);
  osq_audit_parse_nl(buf, NLMSG_HDRLEN + 8, on_audit, &s, &c);
  assert_int_equal(s.n, 0);
  assert_int_equal(c.malformed, 1);
}

static void test_syslog_csv(void **state) {
  (void)state;
  char out[128];
  const char *f[6];
  const char *line = "2026-12-02T07:30:00+00:00,vm,6,daemon,\"t[1]:\","
                     "\"a \"\"b\"\", c\"";
  assert_int_equal(osq_syslog_csv(line, strlen(line), out, sizeof out, f, 6),
                   6);
  assert_string_equal(f[1], "vm");
  assert_string_equal(f[4], "t[1]:");
  assert_string_equal(f[5], "a \"b\", c");
  /* empty fields, too many fields, an open quote, text after a quote */
  assert_int_equal(osq_syslog_csv(",,", 2, out, sizeof out, f, 6), 3);
  assert_string_equal(f[2], "");
  assert_int_equal(osq_syslog_csv("1,2,3,4,5,6,7", 13, out, sizeof out, f, 6),
                   -1);
  assert_int_equal(osq_syslog_csv("\"abc", 4, out, sizeof out, f, 6), -1);
  assert_int_equal(osq_syslog_csv("\"a\"b", 4, out, sizeof out, f, 6), -1);
  /* the output buffer bounds the decoded text */
  assert_int_equal(osq_syslog_csv("abcdef", 6, out, 4, f, 6), -1);
}

typedef struct seen_kv {
  char text[256];
} seen_kv;

static void on_kv(void *u, const char *key, size_t klen, const char *val,
                  size_t vlen) {
  seen_kv *s = u;
  size_t used = strlen(s->text);
  snprintf(s->text + used, sizeof s->text - used, "%.*s=%.*s;", (int)klen,
           key, (int)vlen, val);
}

static void test_uevent(void **state) {
  (void)state;
  static const char ev[] = "change@/devices/virtual/mem/null\0ACTION=change"
                           "\0DEVNAME=null\0NOEQUALS\0=novalue\0EMPTY=";
  seen_kv s = {{0}};
  assert_true(osq_uevent_parse(ev, sizeof ev - 1, on_kv, &s));
  assert_string_equal(s.text, "@=change@/devices/virtual/mem/null;"
                              "ACTION=change;DEVNAME=null;EMPTY=;");
  /* an unterminated last pair ends at the datagram's end */
  memset(&s, 0, sizeof s);
  static const char cut[] = "add@/x\0A=b";
  assert_true(osq_uevent_parse(cut, sizeof cut - 1, on_kv, &s));
  assert_string_equal(s.text, "@=add@/x;A=b;");
  /* udevd's messages and junk are not kernel uevents */
  assert_false(osq_uevent_parse("libudev\0xyz", 11, on_kv, &s));
  assert_false(osq_uevent_parse("no-at-sign", 10, on_kv, &s));
  assert_false(osq_uevent_parse("", 0, on_kv, &s));
}

/* The field index answers as osq_audit_field does: first match wins,
 * words without a value are passed over, hex and quotes alike, and past
 * OSQ_AUDIT_MAX_FIELDS fields it falls back to a scan. */
static void test_audit_fields_index(void **state) {
  (void)state;
  char rec[4096];
  int o = snprintf(rec, sizeof rec,
                   "argc=3 lone a0=\"ls\" a1=2D6C a0=dup msg='op=x id=5' ");
  for (int i = 0; i < 80; i++)
    o += snprintf(rec + o, sizeof rec - (size_t)o, "k%d=%d ", i, i * 7);
  snprintf(rec + o, sizeof rec - (size_t)o, "last=4142");
  osq_audit_fields fs;
  osq_audit_fields_index(&fs, rec, strlen(rec));
  assert_false(fs.complete);
  static const char *const keys[] = {"argc", "lone", "a0", "a1", "msg",
                                     "k0", "k57", "k79", "last", "none", ""};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    for (int hex = 0; hex < 2; hex++) {
      char a[64], b[64];
      bool x = osq_audit_field(rec, strlen(rec), keys[i], hex, a, sizeof a);
      bool y = osq_audit_fields_get(&fs, keys[i], hex, b, sizeof b);
      assert_int_equal(x, y);
      if (x)
        assert_string_equal(a, b);
    }
  char v[16];
  assert_true(osq_audit_fields_get(&fs, "a0", false, v, sizeof v));
  assert_string_equal(v, "ls");
  assert_true(osq_audit_fields_get(&fs, "a1", true, v, sizeof v));
  assert_string_equal(v, "-l");
  assert_true(osq_audit_fields_get(&fs, "k79", false, v, sizeof v));
  assert_string_equal(v, "553");
  assert_true(osq_audit_fields_get(&fs, "last", true, v, sizeof v));
  assert_string_equal(v, "AB");
  assert_false(osq_audit_fields_get(&fs, "lone", false, v, sizeof v));
  osq_audit_fields_index(&fs, "a=1 b=2", 7);
  assert_true(fs.complete);
  assert_int_equal(fs.n, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connector_records),
      cmocka_unit_test(test_connector_malformed),
      cmocka_unit_test(test_inotify_records),
      cmocka_unit_test(test_store),
      cmocka_unit_test(test_audit_header_and_fields),
      cmocka_unit_test(test_audit_netlink),
      cmocka_unit_test(test_audit_fields_index),
      cmocka_unit_test(test_syslog_csv),
      cmocka_unit_test(test_uevent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
