/* Helpers shared by the built-in tables: bounded file reads, constraint
 * lookups and small parsers. Everything read from /proc, /sys or /etc is
 * outside input: lengths are bounded and formats are checked.
 *
 * Thread-safe: any thread. */
#ifndef OSQ_TABLES_UTIL_H
#define OSQ_TABLES_UTIL_H

#include <osq/plugin.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The largest line any table parser accepts from /etc or /proc. */
#define OSQ_TBL_LINE_MAX 4096

/* Read at most cap-1 bytes of path into buf and NUL-terminate it. Returns
 * the number of bytes read, or -errno. A file longer than the buffer is
 * truncated (*truncated set if non-NULL). */
ssize_t osq_tbl_read(const char *path, char *buf, size_t cap,
                     bool *truncated);
/* Same, relative to a directory descriptor. */
ssize_t osq_tbl_readat(int dirfd, const char *path, char *buf, size_t cap,
                       bool *truncated);
/* fd as a stdio stream if it is a regular file of at most max bytes;
 * otherwise (or if fdopen fails) fd is closed and the result is NULL. A
 * FIFO or device named like a config file must not block a scan. */
FILE *osq_tbl_fdopen_regular(int fd, uint64_t max);
/* readlink into buf (NUL-terminated); returns length or -errno. */
ssize_t osq_tbl_readlinkat(int dirfd, const char *path, char *buf,
                           size_t cap);
/* The name under /dev/disk/by-<kind> ("uuid", "label", ...) that links to
 * /dev/<dev>, or "" (truncated to cap). */
void osq_tbl_disk_link(const char *kind, const char *dev, char *out,
                       size_t cap);

/* The next line of f into buf (cap bytes: up to cap - 1 bytes of text),
 * without its '\n'. A line that does not fit is read to its end and
 * dropped, so its tail is never taken for a line of its own. A NUL byte
 * reads as '?'. Returns 1 for a line (the last one may lack a '\n'), 0 at
 * end of file or on a read error, -1 for a dropped line. */
int osq_tbl_getline(FILE *f, char *buf, size_t cap);
/* Same, and a "\r\n" ending loses its '\r' too. */
int osq_tbl_getline_crlf(FILE *f, char *buf, size_t cap);

/* Strip leading/trailing ASCII whitespace in place; returns s. */
char *osq_tbl_trim(char *s);

/* Strict decimal parsers: the whole string must be a number in range. */
bool osq_tbl_parse_i64(const char *s, int64_t *out);
bool osq_tbl_parse_u64(const char *s, uint64_t *out);
/* A uid or gid: decimal, 0 to UINT32_MAX. */
bool osq_tbl_parse_u32(const char *s, uint32_t *out);

/* Split line in place at runs of the characters in delims (strtok_r);
 * stores at most max tokens in tok and returns how many it stored. */
int osq_tbl_tokens(char *line, const char *delims, char **tok, int max);

/* Split a passwd/group style line in place at each ':' into exactly want
 * fields (f has room for want); false if it has more or fewer. */
bool osq_tbl_split_colons(char *line, char **f, int want);

/* How many constraints with operator op the column has. */
size_t osq_tbl_count_op(const osq_context *ctx, size_t col, int op);
/* Does v pass the column's "=" constraints: true if one of them is the
 * integer v, or if there are none. */
bool osq_tbl_eq_int_ok(const osq_context *ctx, size_t col, int64_t v);

/* Emit a cell only when the column is used. */
static inline bool osq_tbl_used(const osq_context *ctx, size_t col) {
  return osq_context_column_used(ctx, col);
}

/* Seconds since the epoch at boot (btime from /proc/stat), or -1. */
int64_t osq_tbl_boot_time(void);

/* Is s a UUID in text form: 36 characters, hex digits (either case) with
 * dashes at 8, 13, 18 and 23? */
bool osq_tbl_is_uuid(const char *s);

/* The host UUID: /sys/class/dmi/id/product_uuid unless it is a known
 * placeholder, else /etc/machine-id formatted as a UUID, else a random
 * UUID kept for the process. Always 36 characters + NUL. */
void osq_tbl_host_uuid(char out[37]);
/* A random version-4 UUID. */
void osq_tbl_random_uuid(char out[37]);

/* key=value parsing of os-release style files: copies the unquoted value
 * of key into out. Returns true if found. */
bool osq_tbl_os_release(const char *text, const char *key, char *out,
                        size_t cap);

/* ---- /proc walks ----------------------------------------------------- */

/* Called with an O_DIRECTORY descriptor of /proc and one pid; a process
 * that is gone must not be an error (return OSQ_OK). */
typedef int (*osq_tbl_pid_fn)(int procfd, int64_t pid, osq_rows *out,
                              void *u);
/* Call fn for each pid the "=" constraints of column col name, or for
 * every process in /proc when there are none. table names the table in
 * error messages. Stops at the first result other than OSQ_OK. */
int osq_tbl_for_pids(const osq_context *ctx, size_t col, osq_rows *out,
                     osq_tbl_pid_fn fn, void *u, const char *table);

/* ---- pid_with_namespace: files as another process sees them ---------- */

/* At most this many pid_with_namespace values per query. */
#define OSQ_TBL_NS_PIDS_MAX 64

/* The distinct positive pid_with_namespace "=" values of column col, in
 * ascending order; 0 if there are none. */
size_t osq_tbl_ns_pids(const osq_context *ctx, size_t col, int64_t *out,
                       size_t max);
/* The distinct "=" values of column col that are pids (1 to INT32_MAX),
 * ascending, in a malloc'd array of *n; NULL (and *n = 0) when col has no
 * "=" constraint or memory runs out. */
int64_t *osq_tbl_eq_pids(const osq_context *ctx, size_t col, size_t *n);
/* Open path (absolute) as process pid sees it: relative to its root
 * directory (/proc/<pid>/root), with every symlink and ".." confined to
 * that root (openat2 RESOLVE_IN_ROOT), so a container's files cannot
 * point the table at the host's. pid <= 0 opens normally. Returns an fd
 * (O_RDONLY|O_CLOEXEC) or -errno. */
int osq_tbl_open_in(int64_t pid, const char *path);
FILE *osq_tbl_fopen_in(int64_t pid, const char *path);
/* The root directory of pid as an O_PATH descriptor, or -errno. */
int osq_tbl_root_of(int64_t pid);
/* openat2(rootfd, path, flags, RESOLVE_IN_ROOT): path is taken relative
 * to rootfd whatever its leading '/', and cannot leave it. */
int osq_tbl_open_beneath(int rootfd, const char *path, int flags);
ssize_t osq_tbl_read_in(int64_t pid, const char *path, char *buf,
                        size_t cap);
/* The mount namespace id of pid ("4026531840"), false if unreadable. */
bool osq_tbl_mnt_ns(int64_t pid, char *out, size_t cap);

#endif
