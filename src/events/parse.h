/* Bounded decoders of what the kernel sends the event publishers: the
 * process connector's netlink datagrams and inotify's records. Each checks
 * every length before it reads; a malformed record is counted and skipped,
 * never read past. No state, no allocation: fuzzed in fuzz/fuzz_events.c.
 *
 * Thread-safe: any thread. */
#ifndef OSQ_EVENTS_PARSE_H
#define OSQ_EVENTS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct osq_parse_counts {
  uint64_t records;   /* well-formed records passed on */
  uint64_t malformed; /* records skipped as malformed */
  uint64_t overruns;  /* the source said it dropped records */
} osq_parse_counts;

/* ---- process connector ---- */

typedef enum osq_cn_kind {
  OSQ_CN_EXEC = 1,
  OSQ_CN_FORK = 2,
  OSQ_CN_EXIT = 3,
} osq_cn_kind;

typedef struct osq_cn_event {
  osq_cn_kind kind;
  int64_t pid;    /* EXEC/EXIT: the process (tgid); FORK: the child tgid */
  int64_t parent; /* FORK: the parent tgid; else -1 */
  bool thread;    /* FORK: a new thread, not a new process */
  uint64_t timestamp_ns; /* the kernel's monotonic clock */
} osq_cn_event;

typedef void (*osq_cn_fn)(void *u, const osq_cn_event *ev);

/* Decode one datagram read from a NETLINK_CONNECTOR socket. */
void osq_cn_parse(const void *buf, size_t len, osq_cn_fn fn, void *u,
                  osq_parse_counts *counts);

/* ---- inotify ---- */

typedef struct osq_in_event {
  int32_t wd;
  uint32_t mask;
  uint32_t cookie;
  const char *name; /* not NUL-terminated; nlen bytes (0: none) */
  size_t nlen;
} osq_in_event;

typedef void (*osq_in_fn)(void *u, const osq_in_event *ev);

/* Decode one read() of an inotify descriptor. IN_Q_OVERFLOW is counted in
 * overruns and passed on too. */
void osq_in_parse(const void *buf, size_t len, osq_in_fn fn, void *u,
                  osq_parse_counts *counts);

/* ---- audit (netlink NETLINK_AUDIT) ---- */

/* The netlink messages of one datagram read from an audit socket:
 * fn(u, type, text, len) per message; text is the record's body, not
 * NUL-terminated. */
typedef void (*osq_audit_msg_fn)(void *u, uint16_t type, const char *text,
                                 size_t len);
void osq_audit_parse_nl(const void *buf, size_t len, osq_audit_msg_fn fn,
                        void *u, osq_parse_counts *counts);

/* "audit(1700000000.123:456): ..." -> time, serial and where the fields
 * start. False if the header is not there. */
typedef struct osq_audit_hdr {
  int64_t sec;
  int64_t msec;
  uint64_t serial;
} osq_audit_hdr;
bool osq_audit_header(const char *text, size_t len, osq_audit_hdr *h,
                      size_t *body);

/* The value of field key in a record's fields ("k1=v1 k2="v 2" ..."),
 * NUL-terminated into out (truncated to cap - 1 bytes). A value quoted
 * in double or single quotes is taken as is; an unquoted one is hex-decoded when hex is true and it is
 * even-length hex (audit's encoding of strings with special bytes; NUL
 * bytes become spaces). False if the field is absent. */
bool osq_audit_field(const char *text, size_t len, const char *key, bool hex,
                     char *out, size_t cap);

/* A record's fields found once, for records asked for many of them: the
 * first OSQ_AUDIT_MAX_FIELDS key=value words (offsets into text, which
 * must outlive the index). get answers as osq_audit_field on the same
 * text would. */
#define OSQ_AUDIT_MAX_FIELDS 64
typedef struct osq_audit_span {
  uint32_t ks, kl, vs, ve; /* key start and length, value start and end */
  bool quoted;
} osq_audit_span;
typedef struct osq_audit_fields {
  const char *text;
  size_t len, n;
  bool complete; /* false: more fields follow the indexed ones */
  osq_audit_span f[OSQ_AUDIT_MAX_FIELDS];
} osq_audit_fields;
void osq_audit_fields_index(osq_audit_fields *fs, const char *text,
                            size_t len);
bool osq_audit_fields_get(const osq_audit_fields *fs, const char *key,
                          bool hex, char *out, size_t cap);

/* ---- syslog (rsyslog's CSV template through a named pipe) ---- */

/* Split one line (without its newline) into at most nmax CSV fields as
 * rsyslog's csv property writes them: a field is either bare or in
 * double quotes with inner quotes doubled. Each field is decoded into out
 * (NUL-separated, within cap bytes) and fields[i] points at it. Returns
 * the number of fields, or -1 if the line is malformed or does not fit. */
int osq_syslog_csv(const char *line, size_t len, char *out, size_t cap,
                   const char **fields, int nmax);

/* ---- kernel uevents (NETLINK_KOBJECT_UEVENT, group 1) ---- */

/* One uevent datagram: "action@devpath\0KEY=VALUE\0...". fn gets the
 * action and devpath first (key "@", value "action@devpath"), then each
 * KEY=VALUE; false if the datagram is not a kernel uevent. */
typedef void (*osq_uevent_fn)(void *u, const char *key, size_t klen,
                              const char *val, size_t vlen);
bool osq_uevent_parse(const void *buf, size_t len, osq_uevent_fn fn, void *u);

/* ---- audit: SELinux/AppArmor records and file paths ---- */

/* osquery's name for an audit record type of its SELinux set (AVC,
 * SELINUX_ERR, the MAC_* records 1400-1417, USER_AVC), NULL for any
 * other type. */
const char *osq_audit_mac_label(uint16_t type);

/* path made absolute against cwd (when relative) and normalised without
 * touching the file system: "." and empty components dropped, ".." takes
 * one back (never above "/"). Written NUL-terminated into out; false if
 * it does not fit in cap bytes. */
bool osq_path_normalize(const char *cwd, const char *path, char *out,
                        size_t cap);

/* osquery's file_paths pattern match: "%%" at the end matches the rest,
 * '%' any run within one component; other bytes match themselves. */
bool osq_path_pattern_match(const char *pattern, const char *path);

#endif
