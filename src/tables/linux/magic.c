/* magic: what libmagic (loaded on first use) says of each file named by
 * `path = …`: its description (`file -b`), MIME type (`file -b
 * --mime-type`) and MIME encoding (`file -b --mime-encoding`).
 *
 * As osquery: `magic_db_files = …` picks the database (several "="
 * values are joined with ':'); without it the compiled databases at
 * osquery's two default places are used, those of them that exist and
 * are not the same file. A
 * path libmagic cannot read still gets a row, with libmagic's message
 * as its description. A column the query does not read costs no pass
 * over the file. */
#include "core/lazylib.h"
#include "core/log.h"
#include "tables/builtin.h"

#include <magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { C_PATH, C_DB_FILES, C_DATA, C_MIME_TYPE, C_MIME_ENCODING, C_COUNT };

static const osq_column columns[] = {
    {"path", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_REQUIRED},
    {"magic_db_files", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"data", OSQ_TYPE_TEXT, 0},
    {"mime_type", OSQ_TYPE_TEXT, 0},
    {"mime_encoding", OSQ_TYPE_TEXT, 0},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

static const char *const default_dbs[] = {
    "/usr/share/file/magic.mgc",
    "/usr/share/misc/magic.mgc",
};
/* The longest database list accepted from a query. */
#define DB_LIST_MAX 4096

static __typeof__(magic_open) *lz_magic_open;
static __typeof__(magic_close) *lz_magic_close;
static __typeof__(magic_load) *lz_magic_load;
static __typeof__(magic_file) *lz_magic_file;
static __typeof__(magic_setflags) *lz_magic_setflags;
static __typeof__(magic_error) *lz_magic_error;

static const osq_lazysym syms[] = {
    OSQ_LAZYSYM(magic_open), OSQ_LAZYSYM(magic_close),
    OSQ_LAZYSYM(magic_load), OSQ_LAZYSYM(magic_file),
    OSQ_LAZYSYM(magic_setflags), OSQ_LAZYSYM(magic_error),
};
static osq_lazylib libmagic = OSQ_LAZYLIB("libmagic.so.1", syms);

/* The defaults that exist, ':'-joined, into buf (it fits). */
static void default_list(char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = '\0';
  dev_t seen_dev = 0;
  ino_t seen_ino = 0;
  for (size_t i = 0; i < sizeof default_dbs / sizeof *default_dbs; i++) {
    struct stat st;
    if (access(default_dbs[i], R_OK) != 0 || stat(default_dbs[i], &st) != 0)
      continue;
    /* Debian links both names to one file: loading it twice doubles
     * every match's work for nothing */
    if (used > 0 && st.st_dev == seen_dev && st.st_ino == seen_ino)
      continue;
    seen_dev = st.st_dev;
    seen_ino = st.st_ino;
    int w = snprintf(buf + used, cap - used, "%s%s", used ? ":" : "",
                     default_dbs[i]);
    if (w > 0 && (size_t)w < cap - used)
      used += (size_t)w;
  }
}

/* The default list as last looked up, and when (CLOCK_MONOTONIC s). SQLite
 * calls generate once per value of `path IN (…)`: looking the defaults up
 * again for each file would cost four system calls a file. Under
 * cookie_mu. */
#define DEFAULTS_TTL_S 1
static char defaults[128]; /* fits both default_dbs */
static time_t defaults_at;
static bool defaults_known;

/* The ':'-joined database list into buf; false if it does not fit. Under
 * cookie_mu. */
static bool db_list(const osq_context *ctx, char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = '\0';
  size_t n = osq_context_nconstraints(ctx, C_DB_FILES);
  for (size_t i = 0; i < n; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_DB_FILES, i);
    if (c->op != OSQ_OP_EQ || c->len == 0 || strlen(c->expr) != c->len)
      continue;
    int w = snprintf(buf + used, cap - used, "%s%s", used ? ":" : "", c->expr);
    if (w < 0 || (size_t)w >= cap - used)
      return false;
    used += (size_t)w;
  }
  if (used > 0)
    return true;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (!defaults_known || now.tv_sec - defaults_at >= DEFAULTS_TTL_S) {
    default_list(defaults, sizeof defaults);
    defaults_at = now.tv_sec;
    defaults_known = true;
  }
  int w = snprintf(buf, cap, "%s", defaults);
  return w >= 0 && (size_t)w < cap; /* "" : libmagic's own default */
}

/* A cookie with its database loaded is kept for the next query: SQLite
 * calls generate once per value of `path IN (…)`, and loading the
 * database each time would cost more than the matching. One cookie, one
 * user at a time (libmagic cookies are not thread-safe). */
static pthread_mutex_t cookie_mu = PTHREAD_MUTEX_INITIALIZER;
static magic_t cookie;                 /* under cookie_mu */
static char cookie_dbs[DB_LIST_MAX];   /* what cookie has loaded */

/* Under cookie_mu: a cookie with dbs loaded, or NULL (logged). */
static magic_t cookie_for(const char *dbs) {
  if (cookie && strcmp(cookie_dbs, dbs) == 0)
    return cookie;
  if (cookie) {
    lz_magic_close(cookie);
    cookie = NULL;
  }
  magic_t m = lz_magic_open(MAGIC_NONE);
  if (m == NULL) {
    OSQ_WARN("magic: cannot initialise libmagic");
    return NULL;
  }
  if (lz_magic_load(m, dbs[0] ? dbs : NULL) != 0) {
    OSQ_WARN("magic: cannot load the magic database %s: %s",
             dbs[0] ? dbs : "(default)", lz_magic_error(m));
    lz_magic_close(m);
    return NULL;
  }
  snprintf(cookie_dbs, sizeof cookie_dbs, "%s", dbs);
  return cookie = m;
}

/* One libmagic answer as a cell; NULL when libmagic has none. */
static void cell(const osq_context *ctx, osq_rows *out, size_t col,
                 magic_t m, int flags, const char *path) {
  if (!osq_context_column_used(ctx, col))
    return;
  lz_magic_setflags(m, flags);
  const char *v = lz_magic_file(m, path);
  if (v)
    osq_rows_cstr(out, col, v);
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  if (!osq_lazylib_load(&libmagic)) {
    osq_rows_error(out, "magic: %s", osq_lazylib_error(&libmagic));
    return OSQ_ERROR;
  }
  char dbs[DB_LIST_MAX];
  pthread_mutex_lock(&cookie_mu);
  if (!db_list(ctx, dbs, sizeof dbs)) {
    pthread_mutex_unlock(&cookie_mu);
    osq_rows_error(out, "magic: magic_db_files longer than %d bytes",
                   DB_LIST_MAX);
    return OSQ_ERROR;
  }
  magic_t m = cookie_for(dbs);
  if (m == NULL) {
    pthread_mutex_unlock(&cookie_mu);
    return OSQ_OK; /* osquery: a database that does not load gives no rows */
  }
  int rc = OSQ_OK;
  size_t n = osq_context_nconstraints(ctx, C_PATH);
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_PATH, i);
    if (c->op != OSQ_OP_EQ || c->len == 0 || strlen(c->expr) != c->len)
      continue;
    osq_rows_cstr(out, C_PATH, c->expr);
    osq_rows_cstr(out, C_DB_FILES, dbs);
    cell(ctx, out, C_DATA, m, MAGIC_NONE, c->expr);
    cell(ctx, out, C_MIME_TYPE, m, MAGIC_MIME_TYPE, c->expr);
    cell(ctx, out, C_MIME_ENCODING, m, MAGIC_MIME_ENCODING, c->expr);
    rc = osq_rows_end(out);
  }
  pthread_mutex_unlock(&cookie_mu);
  return rc;
}

const osq_table_plugin osq_table_magic = {
    .name = "magic",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .generate = generate,
};
