/* osquery's extra SQL functions: strings, regular expressions, hashes,
 * base64, paths, math and sleep. Network functions are in net.c and
 * version comparison in version.c. */
#include "sql_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <regex.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"

int osq_sql_register_version(sqlite3 *db);
int osq_sql_register_net(sqlite3 *db);

#define MAX_SLEEP_SECONDS 3600

/* Text of an argument up to its first NUL, as osquery's std::string
 * copies read it. */
static const char *arg_text(sqlite3_value *v, size_t *len) {
  const char *s = (const char *)sqlite3_value_text(v);
  if (s && len)
    *len = strlen(s);
  return s;
}

static bool any_null(int argc, sqlite3_value **argv) {
  for (int i = 0; i < argc; i++)
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
      return true;
  return false;
}

/* osquery reads the index with sqlite3_value_int and casts to size_t, so a
 * negative index selects nothing. */
static bool arg_index(sqlite3_value *v, size_t *idx) {
  int i = sqlite3_value_int(v);
  if (i < 0)
    return false;
  *idx = (size_t)i;
  return true;
}

/* ---- split ---------------------------------------------------------------- */

/* Split on any character of tokens; empty pieces are dropped, the rest are
 * trimmed of blanks. */
static void split_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  if (any_null(argc, argv))
    return;
  size_t n, tn;
  const char *s = arg_text(argv[0], &n);
  const char *tokens = arg_text(argv[1], &tn);
  if (!s || !tokens) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (tn == 0) {
    sqlite3_result_error(ctx, "Invalid input to split function", -1);
    return;
  }
  size_t want;
  if (!arg_index(argv[2], &want))
    return;
  size_t piece = 0, start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && memchr(tokens, s[i], tn) == NULL)
      continue;
    if (i > start) {
      if (piece == want) {
        size_t a = start, b = i;
        while (a < b && isspace((unsigned char)s[a]))
          a++;
        while (b > a && isspace((unsigned char)s[b - 1]))
          b--;
        sqlite3_result_text(ctx, s + a, (int)(b - a), SQLITE_TRANSIENT);
        return;
      }
      piece++;
    }
    start = i + 1;
  }
}

/* ---- regular expressions (POSIX extended) -------------------------------- */

struct rx {
  regex_t re;
};

static void rx_free(void *p) {
  struct rx *r = p;
  regfree(&r->re);
  free(r);
}

/* The compiled pattern of argument i, cached for the statement with
 * sqlite3_set_auxdata. NULL with an error set on failure. */
static regex_t *rx_get(sqlite3_context *ctx, sqlite3_value **argv, int i,
                       const char *too_big) {
  struct rx *r = sqlite3_get_auxdata(ctx, i);
  if (r)
    return &r->re;
  size_t len;
  const char *pat = arg_text(argv[i], &len);
  if (pat == NULL) {
    sqlite3_result_error_nomem(ctx);
    return NULL;
  }
  if (len > OSQ_SQL_REGEX_MAX) {
    sqlite3_result_error(ctx, too_big, -1);
    return NULL;
  }
  r = malloc(sizeof *r);
  if (r == NULL) {
    sqlite3_result_error_nomem(ctx);
    return NULL;
  }
  int rc = regcomp(&r->re, pat, REG_EXTENDED);
  if (rc != 0) {
    char why[128];
    regerror(rc, &r->re, why, sizeof why);
    free(r);
    OSQ_VLOG("Invalid regex: %s", why);
    sqlite3_result_error(ctx, "Invalid regex", -1);
    return NULL;
  }
  sqlite3_set_auxdata(ctx, i, r, rx_free);
  /* set_auxdata may have freed r at once; ask again. */
  r = sqlite3_get_auxdata(ctx, i);
  if (r)
    return &r->re;
  sqlite3_result_error_nomem(ctx);
  return NULL;
}

#define RX_TOO_BIG "Invalid regex: too big, max size is 256 bytes"

/* Pieces between matches; empty pieces are kept, except that a trailing
 * empty piece after the last match is not a piece (std::regex token
 * iterator with -1). */
static void regex_split_fn(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv) {
  if (any_null(argc, argv))
    return;
  size_t n, pn;
  const char *s = arg_text(argv[0], &n);
  if (s == NULL || arg_text(argv[1], &pn) == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (pn == 0) {
    sqlite3_result_error(ctx, "Invalid input to split function", -1);
    return;
  }
  regex_t *re = rx_get(ctx, argv, 1, "Invalid regex");
  if (re == NULL)
    return;
  size_t want;
  if (!arg_index(argv[2], &want))
    return;
  size_t piece = 0, pos = 0, scan = 0;
  bool matched = false;
  while (scan <= n) {
    regmatch_t m;
    m.rm_so = (regoff_t)scan;
    m.rm_eo = (regoff_t)n;
    if (regexec(re, s, 1, &m, REG_STARTEND | (scan > 0 ? REG_NOTBOL : 0)) != 0)
      break;
    if (m.rm_eo == m.rm_so) { /* an empty match splits nothing */
      scan = (size_t)m.rm_so + 1;
      continue;
    }
    matched = true;
    if (piece == want) {
      sqlite3_result_text(ctx, s + pos, (int)((size_t)m.rm_so - pos),
                          SQLITE_TRANSIENT);
      return;
    }
    piece++;
    pos = scan = (size_t)m.rm_eo;
  }
  if ((!matched || pos < n) && piece == want)
    sqlite3_result_text(ctx, s + pos, (int)(n - pos), SQLITE_TRANSIENT);
}

static void regex_match_fn(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv) {
  if (any_null(argc, argv))
    return;
  size_t n;
  const char *s = arg_text(argv[0], &n);
  if (s == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  regex_t *re = rx_get(ctx, argv, 1, RX_TOO_BIG);
  if (re == NULL)
    return;
  size_t want;
  if (!arg_index(argv[2], &want))
    return;
  regmatch_t m[10];
  size_t groups = re->re_nsub + 1 < 10 ? re->re_nsub + 1 : 10;
  if (regexec(re, s, groups, m, 0) != 0 || want >= groups)
    return;
  if (m[want].rm_so < 0) {
    sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
    return;
  }
  sqlite3_result_text(ctx, s + m[want].rm_so,
                      (int)(m[want].rm_eo - m[want].rm_so), SQLITE_TRANSIENT);
}

/* "x REGEXP y" calls regexp(y, x); it lets REGEXP constraints reach
 * tables (osq addition). */
static void regexp_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  if (any_null(argc, argv))
    return;
  const char *s = arg_text(argv[1], NULL);
  if (s == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  regex_t *re = rx_get(ctx, argv, 0, RX_TOO_BIG);
  if (re == NULL)
    return;
  sqlite3_result_int(ctx, regexec(re, s, 0, NULL, 0) == 0);
}

/* ---- concat --------------------------------------------------------------- */

static void concat_impl(sqlite3_context *ctx, const char *sep, int first,
                        int argc, sqlite3_value **argv) {
  if (argc - first == 0)
    return;
  sqlite3_str *out = sqlite3_str_new(NULL);
  for (int i = first; i < argc; i++) {
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
      continue;
    const char *t = arg_text(argv[i], NULL);
    if (t)
      sqlite3_str_appendall(out, t);
    /* osquery quirk: the separator follows every non-NULL argument but
     * the last, even when only NULLs follow. */
    if (*sep && i + 1 < argc)
      sqlite3_str_appendall(out, sep);
  }
  int err = sqlite3_str_errcode(out);
  int len = sqlite3_str_length(out);
  char *s = sqlite3_str_finish(out);
  if (err == SQLITE_TOOBIG)
    sqlite3_result_error(ctx, "Too much data for concat_ws", -1);
  else if (err != SQLITE_OK)
    sqlite3_result_error_nomem(ctx);
  else
    sqlite3_result_text(ctx, s ? s : "", len, SQLITE_TRANSIENT);
  sqlite3_free(s);
}

static void concat_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  concat_impl(ctx, "", 0, argc, argv);
}

static void concat_ws_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  if (argc == 0) {
    sqlite3_result_error(ctx, "Missing separator to concat_ws", -1);
    return;
  }
  const char *sep = sqlite3_value_type(argv[0]) == SQLITE_NULL
                        ? ""
                        : arg_text(argv[0], NULL);
  concat_impl(ctx, sep ? sep : "", 1, argc, argv);
}

/* ---- hashes ---------------------------------------------------------------- */

static void digest_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
    return;
  size_t n;
  const char *s = arg_text(argv[0], &n);
  if (s == NULL)
    return;
  const EVP_MD *md = sqlite3_user_data(ctx);
  unsigned char h[EVP_MAX_MD_SIZE];
  unsigned int hl = 0;
  if (EVP_Digest(s, n, h, &hl, md, NULL) != 1) {
    sqlite3_result_error(ctx, "hash computation failed", -1);
    return;
  }
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned i = 0; i < hl; i++)
    snprintf(hex + 2 * i, 3, "%02x", h[i]);
  sqlite3_result_text(ctx, hex, (int)(2 * hl), SQLITE_TRANSIENT);
}

/* ---- base64 ---------------------------------------------------------------- */

enum { B64_ENCODE, B64_DECODE, B64_CONDITIONAL };

static bool printable(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
      return false;
  return true;
}

static void b64_encode(sqlite3_context *ctx, const char *s, size_t n) {
  if (n > (size_t)INT32_MAX / 2) {
    sqlite3_result_error_toobig(ctx);
    return;
  }
  char *out = sqlite3_malloc64(4 * ((n + 2) / 3) + 1);
  if (out == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  int len = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s,
                            (int)n);
  sqlite3_result_text(ctx, out, len, sqlite3_free);
}

static int b64_val(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Invalid input decodes to "" (osquery). Padding is optional. */
static void b64_decode(sqlite3_context *ctx, const char *s, size_t n) {
  while (n > 0 && s[n - 1] == '=')
    n--;
  unsigned char *out = sqlite3_malloc64(n * 3 / 4 + 3);
  if (out == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64_val((unsigned char)s[i]);
    if (v < 0) {
      sqlite3_free(out);
      sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
      return;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits);
    }
  }
  if (n % 4 == 1) { /* a lone sextet cannot encode a byte */
    sqlite3_free(out);
    sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
    return;
  }
  sqlite3_result_text(ctx, (char *)out, (int)o, sqlite3_free);
}

static void base64_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
    return;
  size_t n;
  const char *s = arg_text(argv[0], &n);
  if (s == NULL)
    return;
  int mode = (int)(intptr_t)sqlite3_user_data(ctx);
  if (mode == B64_DECODE)
    b64_decode(ctx, s, n);
  else if (mode == B64_CONDITIONAL && printable(s, n))
    sqlite3_result_text(ctx, s, (int)n, SQLITE_TRANSIENT);
  else
    b64_encode(ctx, s, n);
}

/* ---- paths ------------------------------------------------------------------ */

static void parent_directory_fn(sqlite3_context *ctx, int argc,
                                sqlite3_value **argv) {
  (void)argc;
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    sqlite3_result_error(
        ctx, "Invalid inputs to parent_directory, TEXT was expected", -1);
    return;
  }
  size_t n;
  const char *s = arg_text(argv[0], &n);
  if (s == NULL)
    return;
  const char *slash = memrchr(s, '/', n);
  if (slash == NULL)
    return;
  sqlite3_result_text(ctx, s, (int)(slash - s), SQLITE_TRANSIENT);
}

static bool is_file(const char *path) {
  struct stat st;
  return path[0] && stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* The prefix of cmd (cut at unquoted blanks) that names an existing
 * non-directory: the shortest or the longest. Returns a malloc'd string
 * ("" when none), or NULL on bad input. */
static char *program_path(int argc, sqlite3_value **argv, bool shortest) {
  if (argc == 0 || any_null(argc, argv))
    return NULL;
  const char *cmd = arg_text(argv[0], NULL);
  if (cmd == NULL)
    return NULL;
  bool quoting = argc > 1 && sqlite3_value_int(argv[1]) != 0;
  char esc = '\\';
  if (argc > 2) {
    size_t el;
    const char *e = arg_text(argv[2], &el);
    if (e == NULL || el != 1)
      return NULL;
    esc = e[0];
  }
  size_t n = strlen(cmd);
  char *cur = malloc(n + 1), *best = calloc(1, n + 1);
  if (!cur || !best) {
    free(cur), free(best);
    return NULL;
  }
  size_t cl = 0;
  bool quoted = false, escaped = false, found = false;
  size_t i = 0;
  while (i < n && isspace((unsigned char)cmd[i]))
    i++;
  for (; i < n; i++) {
    char c = cmd[i];
    if (escaped) {
      cur[cl++] = c;
      escaped = false;
      continue;
    }
    if (quoting && c == '"') {
      quoted = !quoted;
      continue;
    }
    if (c == esc) {
      escaped = true;
      continue;
    }
    if (!quoted && isspace((unsigned char)c)) {
      cur[cl] = '\0';
      if (is_file(cur)) {
        memcpy(best, cur, cl + 1);
        found = true;
        if (shortest)
          break;
      }
    }
    cur[cl++] = c;
  }
  cur[cl] = '\0';
  if ((!found || !shortest) && is_file(cur))
    memcpy(best, cur, cl + 1);
  free(cur);
  return best;
}

static void find_file_path_fn(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv) {
  char *p = program_path(argc, argv, true);
  if (p == NULL) {
    sqlite3_result_error(ctx, "Invalid inputs to find_binary_path_from_cmd",
                         -1);
    return;
  }
  sqlite3_result_text(ctx, p, -1, free);
}

static void is_path_deterministic_fn(sqlite3_context *ctx, int argc,
                                     sqlite3_value **argv) {
  char *s = program_path(argc, argv, true);
  if (s == NULL) {
    sqlite3_result_error(ctx, "Invalid inputs to is_path_deterministic", -1);
    return;
  }
  size_t sl = strlen(s);
  const char *cmd = arg_text(argv[0], NULL);
  if (sl == 0 || (cmd && sl == strlen(cmd))) {
    free(s);
    sqlite3_result_int(ctx, 1);
    return;
  }
  char *l = program_path(argc, argv, false);
  if (l == NULL) {
    free(s);
    sqlite3_result_error(ctx, "Invalid inputs to is_path_deterministic", -1);
    return;
  }
  sqlite3_result_int(ctx, strlen(l) == sl);
  free(s);
  free(l);
}

/* ---- math ------------------------------------------------------------------- */

/* SQLite 3.40 has the others; osquery's log is the natural logarithm
 * (SQLite's is base 10), its ceil/floor return integers, and cot is
 * missing. Domain errors are SQL errors, as in osquery. */
static void math1(sqlite3_context *ctx, double (*f)(double), sqlite3_value *v) {
  if (sqlite3_value_type(v) == SQLITE_NULL)
    return;
  errno = 0;
  double r = f(sqlite3_value_double(v));
  if (errno != 0) {
    sqlite3_result_error(ctx, strerror(errno), -1);
    return;
  }
  sqlite3_result_double(ctx, r);
}

static double cot(double x) { return 1.0 / tan(x); }

static void cot_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  math1(ctx, cot, argv[0]);
}

static void log_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  math1(ctx, log, argv[0]);
}

static void rounding_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  bool up = sqlite3_user_data(ctx) != NULL;
  switch (sqlite3_value_type(argv[0])) {
  case SQLITE_NULL: return;
  case SQLITE_INTEGER:
    sqlite3_result_int64(ctx, sqlite3_value_int64(argv[0]));
    return;
  default: {
    double d = up ? ceil(sqlite3_value_double(argv[0]))
                  : floor(sqlite3_value_double(argv[0]));
    if (!isfinite(d) || d >= 9.2233720368547758e18 || d < -9.2233720368547758e18)
      sqlite3_result_double(ctx, d);
    else
      sqlite3_result_int64(ctx, (sqlite3_int64)d);
  }
  }
}

/* ---- sleep ------------------------------------------------------------------- */

static void sleep_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
    return;
  double secs = sqlite3_value_double(argv[0]);
  if (!(secs <= MAX_SLEEP_SECONDS)) {
    sqlite3_result_error(ctx, "sleep: at most 3600 seconds", -1);
    return;
  }
  if (secs > 0) {
    struct timespec ts = {(time_t)secs,
                          (long)((secs - (double)(time_t)secs) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
      ;
  }
  sqlite3_result_value(ctx, argv[0]);
}

/* ---- registration ------------------------------------------------------------ */

struct fdef {
  const char *name;
  int nargs;
  void (*fn)(sqlite3_context *, int, sqlite3_value **);
  void *udata;
  bool nondeterministic;
};

#define MAX_FUNCTION_HOOKS 8
static _Atomic(osq_sql_functions_fn) hooks[MAX_FUNCTION_HOOKS];

int osq_sql_add_functions(osq_sql_functions_fn fn) {
  for (size_t i = 0; i < MAX_FUNCTION_HOOKS; i++) {
    osq_sql_functions_fn none = NULL;
    if (atomic_load(&hooks[i]) == fn ||
        atomic_compare_exchange_strong(&hooks[i], &none, fn))
      return SQLITE_OK;
  }
  return SQLITE_FULL;
}

int osq_sql_register_functions(sqlite3 *db, char *err, size_t errlen) {
  const struct fdef defs[] = {
      {"split", 3, split_fn, NULL, false},
      {"regex_split", 3, regex_split_fn, NULL, false},
      {"regex_match", 3, regex_match_fn, NULL, false},
      {"regexp", 2, regexp_fn, NULL, false},
      {"concat", -1, concat_fn, NULL, false},
      {"concat_ws", -1, concat_ws_fn, NULL, false},
      {"md5", 1, digest_fn, (void *)EVP_md5(), false},
      {"sha1", 1, digest_fn, (void *)EVP_sha1(), false},
      {"sha256", 1, digest_fn, (void *)EVP_sha256(), false},
      {"to_base64", 1, base64_fn, (void *)(intptr_t)B64_ENCODE, false},
      {"from_base64", 1, base64_fn, (void *)(intptr_t)B64_DECODE, false},
      {"conditional_to_base64", 1, base64_fn,
       (void *)(intptr_t)B64_CONDITIONAL, false},
      {"parent_directory", 1, parent_directory_fn, NULL, false},
      {"find_file_path_in_cmd", -1, find_file_path_fn, NULL, true},
      {"is_path_deterministic", -1, is_path_deterministic_fn, NULL, true},
      {"cot", 1, cot_fn, NULL, false},
      {"log", 1, log_fn, NULL, false},
      {"ceil", 1, rounding_fn, (void *)1, false},
      {"floor", 1, rounding_fn, NULL, false},
      {"sleep", 1, sleep_fn, NULL, true},
  };
  for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
    int flags = SQLITE_UTF8 | (defs[i].nondeterministic ? 0 : SQLITE_DETERMINISTIC);
    int rc = sqlite3_create_function(db, defs[i].name, defs[i].nargs, flags,
                                     defs[i].udata, defs[i].fn, NULL, NULL);
    if (rc != SQLITE_OK) {
      snprintf(err, errlen, "cannot register SQL function %s: %s",
               defs[i].name, sqlite3_errmsg(db));
      return rc;
    }
  }
  if (osq_sql_register_version(db) != SQLITE_OK ||
      osq_sql_register_net(db) != SQLITE_OK) {
    snprintf(err, errlen, "cannot register SQL functions: %s",
             sqlite3_errmsg(db));
    return SQLITE_ERROR;
  }
  for (size_t i = 0; i < MAX_FUNCTION_HOOKS; i++) {
    osq_sql_functions_fn fn = atomic_load(&hooks[i]);
    int rc = fn ? fn(db, err, errlen) : SQLITE_OK;
    if (rc != SQLITE_OK)
      return rc;
  }
  return SQLITE_OK;
}
