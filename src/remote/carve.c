#include "remote/carve.h"

#include "core/flags.h"
#include "core/lazylib.h"
#include "core/log.h"
#include "remote/node.h"
#include "tables/fsglob.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

/* ---- tar ------------------------------------------------------------- */

static int put_octal(char *field, size_t width, unsigned long long v) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%0*llo", (int)width - 1, v);
  if (n < 0 || (size_t)n >= width)
    return -1;
  memcpy(field, tmp, (size_t)n + 1);
  return 0;
}

static int append(unsigned char **buf, size_t *len, const void *p, size_t n,
                  char *err, size_t errlen) {
  if (*len + n > OSQ_CARVE_MAX_BYTES) {
    snprintf(err, errlen, "the archive would exceed %u bytes",
             OSQ_CARVE_MAX_BYTES);
    return -1;
  }
  unsigned char *b = realloc(*buf, *len + n);
  if (b == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  memcpy(b + *len, p, n);
  *buf = b;
  *len += n;
  return 0;
}

/* The name in a ustar header: the path, or prefix '/' name when longer
 * than 100 bytes. */
static int put_name(char *hdr, const char *name) {
  size_t n = strlen(name);
  if (n <= 100) {
    memcpy(hdr, name, n);
    return 0;
  }
  for (size_t i = n - 1; i > 0; i--) {
    if (name[i] == '/' && i <= 155 && n - i - 1 <= 100 && n - i - 1 > 0) {
      memcpy(hdr + 345, name, i);
      memcpy(hdr, name + i + 1, n - i - 1);
      return 0;
    }
  }
  return -1;
}

static int tar_file(const char *path, unsigned char **buf, size_t *len,
                    char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s: %s", path,
             fd < 0 ? strerror(errno) : "not a regular file");
    if (fd >= 0)
      close(fd);
    return -1;
  }
  char hdr[512] = {0};
  const char *name = path;
  while (*name == '/')
    name++;
  if (put_name(hdr, name) != 0) {
    snprintf(err, errlen, "%s: the path is too long for a tar entry", path);
    close(fd);
    return -1;
  }
  put_octal(hdr + 100, 8, st.st_mode & 07777);
  put_octal(hdr + 108, 8, st.st_uid & 07777777);
  put_octal(hdr + 116, 8, st.st_gid & 07777777);
  put_octal(hdr + 124, 12, (unsigned long long)st.st_size);
  put_octal(hdr + 136, 12, (unsigned long long)st.st_mtime);
  hdr[156] = '0';
  memcpy(hdr + 257, "ustar", 6);
  memcpy(hdr + 263, "00", 2);
  memset(hdr + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < sizeof hdr; i++)
    sum += (unsigned char)hdr[i];
  snprintf(hdr + 148, 8, "%06o", sum);
  int rc = append(buf, len, hdr, sizeof hdr, err, errlen);
  /* the size in the header is what is written: a file that shrinks is
   * padded with zeros, one that grows is cut */
  unsigned long long left = (unsigned long long)st.st_size;
  char chunk[65536];
  while (rc == 0 && left > 0) {
    size_t want = left < sizeof chunk ? (size_t)left : sizeof chunk;
    ssize_t got = read(fd, chunk, want);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      snprintf(err, errlen, "%s: %s", path, strerror(errno));
      rc = -1;
      break;
    }
    if (got == 0) {
      memset(chunk, 0, want);
      got = (ssize_t)want;
    }
    rc = append(buf, len, chunk, (size_t)got, err, errlen);
    left -= (unsigned long long)got;
  }
  close(fd);
  size_t pad = (512 - (size_t)(st.st_size % 512)) % 512;
  static const char zeros[1024];
  if (rc == 0 && pad)
    rc = append(buf, len, zeros, pad, err, errlen);
  return rc;
}

int osq_carve_tar(const char *const *paths, size_t n, unsigned char **buf,
                  size_t *len, char *err, size_t errlen) {
  for (size_t i = 0; i < n; i++)
    if (tar_file(paths[i], buf, len, err, errlen) != 0)
      return -1;
  static const char end[1024];
  return append(buf, len, end, sizeof end, err, errlen);
}

/* ---- zstd (loaded on first use) --------------------------------------- */

static __typeof__(ZSTD_compress) *lz_ZSTD_compress;
static __typeof__(ZSTD_compressBound) *lz_ZSTD_compressBound;
static __typeof__(ZSTD_isError) *lz_ZSTD_isError;
static __typeof__(ZSTD_getErrorName) *lz_ZSTD_getErrorName;
static const osq_lazysym zstd_syms[] = {
    OSQ_LAZYSYM(ZSTD_compress), OSQ_LAZYSYM(ZSTD_compressBound),
    OSQ_LAZYSYM(ZSTD_isError), OSQ_LAZYSYM(ZSTD_getErrorName)};
static osq_lazylib zstd_lib = OSQ_LAZYLIB("libzstd.so.1", zstd_syms);

static int compress(unsigned char **buf, size_t *len, char *err,
                    size_t errlen) {
  if (!osq_lazylib_load(&zstd_lib)) {
    snprintf(err, errlen, "--carver_compression needs libzstd: %s",
             osq_lazylib_error(&zstd_lib));
    return -1;
  }
  size_t cap = lz_ZSTD_compressBound(*len);
  unsigned char *out = malloc(cap ? cap : 1);
  if (out == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  size_t n = lz_ZSTD_compress(out, cap, *buf, *len, 3);
  if (lz_ZSTD_isError(n)) {
    snprintf(err, errlen, "zstd: %s", lz_ZSTD_getErrorName(n));
    free(out);
    return -1;
  }
  free(*buf);
  *buf = out;
  *len = n;
  return 0;
}

/* ---- state ------------------------------------------------------------ */

static const char *kSchema =
    "CREATE TABLE IF NOT EXISTS carves("
    " carve_guid TEXT PRIMARY KEY, time INTEGER NOT NULL,"
    " sha256 TEXT NOT NULL, size INTEGER NOT NULL, path TEXT NOT NULL,"
    " status TEXT NOT NULL, request_id TEXT NOT NULL,"
    " ended INTEGER)";

/* The table, and carves a previous run left PENDING marked FAILED: no
 * carve of this process has started before its first use of the state.
 * Under the state lock. */
static int ensure_schema(sqlite3 *db) {
  static bool swept;
  if (sqlite3_exec(db, kSchema, NULL, NULL, NULL) != SQLITE_OK)
    return -1;
  if (!swept) {
    char sql[160];
    snprintf(sql, sizeof sql,
             "UPDATE carves SET status='FAILED', ended=%lld"
             " WHERE status='PENDING'",
             (long long)time(NULL));
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
      return -1;
    swept = true;
  }
  return 0;
}

/* Run sql with up to 6 text/int binds; ints are given as "#<n>". */
static int state_exec(const char *sql, const char *const *binds, int n) {
  sqlite3 *db = osq_node_lock();
  int rc = -1;
  sqlite3_stmt *st = NULL;
  if (db && ensure_schema(db) == 0 &&
      sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    for (int i = 0; i < n; i++) {
      if (binds[i][0] == '#')
        sqlite3_bind_int64(st, i + 1, strtoll(binds[i] + 1, NULL, 10));
      else
        sqlite3_bind_text(st, i + 1, binds[i], -1, SQLITE_TRANSIENT);
    }
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
  }
  if (rc != 0)
    OSQ_WARN("Cannot record carve state: %s",
             db ? sqlite3_errmsg(db) : "no state connection");
  sqlite3_finalize(st);
  osq_node_unlock();
  return rc;
}

static void set_status(const char *guid, const char *status,
                       const char *sha256, size_t size) {
  char sz[32], now[32];
  snprintf(sz, sizeof sz, "#%zu", size);
  snprintf(now, sizeof now, "#%lld", (long long)time(NULL));
  const char *b[] = {status, sha256, sz, now, guid};
  state_exec("UPDATE carves SET status=?, sha256=?, size=?, ended=?"
             " WHERE carve_guid=?",
             b, 5);
}

/* ---- upload ----------------------------------------------------------- */

static atomic_bool stopping;
static atomic_int running;
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t run_done = PTHREAD_COND_INITIALIZER;

typedef struct carve_job {
  char guid[40];
  char *request_id;
  char **paths;
  size_t npaths;
} carve_job;

static void job_free(carve_job *j) {
  for (size_t i = 0; i < j->npaths; i++)
    free(j->paths[i]);
  free(j->paths);
  free(j->request_id);
  free(j);
}

static int upload(osq_http *h, const carve_job *j, const unsigned char *data,
                  size_t len, char *err, size_t errlen) {
  size_t block = OSQ_FLAG_UINT(carver_block_size);
  if (block == 0 || block > 64u * 1024 * 1024) {
    snprintf(err, errlen,
             "--carver_block_size must be between 1 and 67108864, not %zu",
             block);
    return -1;
  }
  size_t count = (len + block - 1) / block;
  json_t *body = json_pack("{s:I, s:I, s:I, s:s, s:s}", "block_count",
                           (json_int_t)count, "block_size", (json_int_t)block,
                           "carve_size", (json_int_t)len, "carve_id",
                           j->guid, "request_id", j->request_id);
  json_t *reply = NULL;
  int rc = osq_node_request(h, OSQ_FLAG_STR(carver_start_endpoint), body, 3,
                            false, &reply, err, errlen);
  json_decref(body);
  if (rc != 0)
    return -1;
  const char *session = json_string_value(json_object_get(reply, "session_id"));
  if (session == NULL || *session == '\0') {
    snprintf(err, errlen, "%s gave no session_id",
             OSQ_FLAG_STR(carver_start_endpoint));
    json_decref(reply);
    return -1;
  }
  char *sid = strdup(session);
  json_decref(reply);
  char *b64 = malloc(4 * ((block + 2) / 3) + 1);
  if (sid == NULL || b64 == NULL) {
    snprintf(err, errlen, "out of memory");
    rc = -1;
  }
  for (size_t i = 0; rc == 0 && i < count; i++) {
    if (atomic_load(&stopping)) {
      snprintf(err, errlen, "osqd is stopping");
      rc = -1;
      break;
    }
    size_t off = i * block, n = len - off < block ? len - off : block;
    EVP_EncodeBlock((unsigned char *)b64, data + off, (int)n);
    body = json_pack("{s:I, s:s, s:s, s:s}", "block_id", (json_int_t)i,
                     "session_id", sid, "request_id", j->request_id, "data",
                     b64);
    reply = NULL;
    rc = osq_node_request(h, OSQ_FLAG_STR(carver_continue_endpoint), body,
                          3, false, &reply, err, errlen);
    json_decref(body);
    json_decref(reply);
  }
  free(b64);
  free(sid);
  return rc;
}

static void hex(const unsigned char *d, size_t n, char *out) {
  for (size_t i = 0; i < n; i++)
    sprintf(out + 2 * i, "%02x", d[i]);
  out[2 * n] = '\0';
}

static void run_job(carve_job *j) {
  char err[1024] = "";
  unsigned char *buf = NULL;
  size_t len = 0;
  osq_http *h = NULL;
  int rc = osq_carve_tar((const char *const *)j->paths, j->npaths, &buf,
                         &len, err, sizeof err);
  if (rc == 0 && OSQ_FLAG_BOOL(carver_compression))
    rc = compress(&buf, &len, err, sizeof err);
  char sha[2 * EVP_MAX_MD_SIZE + 1] = "";
  if (rc == 0) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
      snprintf(err, sizeof err, "cannot compute sha256 (libcrypto)");
      rc = -1;
    } else {
      hex(md, mdlen, sha);
    }
  }
  if (rc == 0) {
    osq_http_opts o = osq_http_opts_from_flags();
    h = osq_http_new(&o, err, sizeof err);
    rc = h ? 0 : -1;
  }
  if (rc == 0) {
    osq_http_set_cancel(h, &stopping);
    rc = upload(h, j, buf, len, err, sizeof err);
  }
  if (rc == 0) {
    OSQ_INFO("Carve %s: %zu bytes uploaded", j->guid, len);
    set_status(j->guid, "SUCCESS", sha, len);
  } else {
    OSQ_WARN("Carve %s failed: %s", j->guid, err);
    set_status(j->guid, "FAILED", "", 0);
  }
  osq_http_free(h);
  free(buf);
}

/* Free the calling thread's OpenSSL state (its random generators, made by
 * libcurl's TLS) now rather than in a key destructor after the thread's
 * waiters were woken: osqi exits right after osq_carve_wait. libcrypto is
 * only looked up if already loaded (it is dlopen'ed, sql/crypto_lazy.c);
 * if it is not, this thread has no such state. */
static void free_thread_crypto(void) {
  void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_NOLOAD);
  if (lib == NULL)
    return;
  void (*stop)(void) = (void (*)(void))dlsym(lib, "OPENSSL_thread_stop");
  if (stop)
    stop();
  dlclose(lib);
}

static void *carve_thread(void *arg) {
  carve_job *j = arg;
  run_job(j);
  job_free(j);
  free_thread_crypto();
  pthread_mutex_lock(&run_lock);
  atomic_fetch_sub(&running, 1);
  pthread_cond_broadcast(&run_done);
  pthread_mutex_unlock(&run_lock);
  return NULL;
}

void osq_carve_wait(void) {
  pthread_mutex_lock(&run_lock);
  while (atomic_load(&running) > 0)
    pthread_cond_wait(&run_done, &run_lock);
  pthread_mutex_unlock(&run_lock);
}

void osq_carve_shutdown(void) {
  atomic_store(&stopping, true);
  pthread_mutex_lock(&run_lock);
  while (atomic_load(&running) > 0)
    pthread_cond_wait(&run_done, &run_lock);
  pthread_mutex_unlock(&run_lock);
  atomic_store(&stopping, false);
}

/* ---- the table -------------------------------------------------------- */

static _Thread_local const char *current_request_id;

void osq_carve_set_request_id(const char *id) { current_request_id = id; }

static int make_guid(char out[40]) {
  unsigned char r[16];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  close(fd);
  r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
  r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
  snprintf(out, 40,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
           "%02x%02x%02x%02x%02x%02x",
           r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
           r[11], r[12], r[13], r[14], r[15]);
  return 0;
}

enum { C_TIME, C_SHA256, C_SIZE, C_PATH, C_STATUS, C_GUID, C_REQUEST, C_CARVE };

static const osq_column columns[] = {
    {"time", OSQ_TYPE_BIGINT, 0},
    {"sha256", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"path", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"status", OSQ_TYPE_TEXT, 0},
    {"carve_guid", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_NOCASE},
    {"request_id", OSQ_TYPE_TEXT, 0},
    {"carve", OSQ_TYPE_INTEGER, OSQ_COL_ADDITIONAL},
};

static bool wants_carve(const osq_context *ctx) {
  for (size_t i = 0; i < osq_context_nconstraints(ctx, C_CARVE); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_CARVE, i);
    if (c->op == OSQ_OP_EQ && strcmp(c->expr, "1") == 0)
      return true;
  }
  return false;
}

/* Record a carve of paths (taken over, freed) and start it; its guid in
 * guid. 0, or -1 (logged). */
static int start_paths(osq_pathlist *paths, char guid[40]) {
  if (OSQ_FLAG_BOOL(disable_carver)) {
    OSQ_WARN("A carve was asked for, but the carver is disabled "
             "(--disable_carver)");
    osq_pathlist_free(paths);
    return -1;
  }
  if (paths->n == 0) {
    OSQ_WARN("A carve was asked for without a path that exists");
    osq_pathlist_free(paths);
    return -1;
  }
  carve_job *j = calloc(1, sizeof *j);
  size_t joined_len = 1;
  for (size_t i = 0; i < paths->n; i++)
    joined_len += strlen(paths->items[i]) + 1;
  char *joined = malloc(joined_len);
  if (j == NULL || joined == NULL || make_guid(j->guid) != 0) {
    OSQ_WARN("Cannot start a carve: out of memory or no /dev/urandom");
    free(j);
    free(joined);
    osq_pathlist_free(paths);
    return -1;
  }
  joined[0] = '\0';
  for (size_t i = 0; i < paths->n; i++) {
    if (i)
      strcat(joined, ",");
    strcat(joined, paths->items[i]);
  }
  j->paths = paths->items;
  j->npaths = paths->n;
  memset(paths, 0, sizeof *paths);
  memcpy(guid, j->guid, sizeof j->guid);
  j->request_id = strdup(current_request_id ? current_request_id : "");
  char now[32];
  snprintf(now, sizeof now, "#%lld", (long long)time(NULL));
  const char *b[] = {j->guid, now, joined, j->request_id ? j->request_id : ""};
  int rc = j->request_id ? state_exec(
                               "INSERT INTO carves(carve_guid, time, sha256,"
                               " size, path, status, request_id)"
                               " VALUES(?, ?, '', -1, ?, 'PENDING', ?)",
                               b, 4)
                         : -1;
  free(joined);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  atomic_fetch_add(&running, 1);
  if (rc != 0 || pthread_create(&t, &attr, carve_thread, j) != 0) {
    atomic_fetch_sub(&running, 1);
    if (rc == 0)
      set_status(j->guid, "FAILED", "", 0);
    job_free(j);
    rc = -1;
  }
  pthread_attr_destroy(&attr);
  return rc;
}

/* Start a carve of the paths the constraints name. */
static void start_carve(const osq_context *ctx) {
  osq_pathlist paths = {0};
  char guid[40];
  if (osq_glob_collect(ctx, C_PATH, OSQ_GLOB_FILES, &paths) != 0) {
    OSQ_WARN("Cannot start a carve: out of memory");
    osq_pathlist_free(&paths);
    return;
  }
  start_paths(&paths, guid);
}

/* carve(path): an aggregate collecting the paths of its rows; at the end
 * one carve of them all starts and the result is its carve_guid. */
static void carve_step(sqlite3_context *c, int argc, sqlite3_value **argv) {
  osq_pathlist **l = sqlite3_aggregate_context(c, sizeof *l);
  if (l == NULL) {
    sqlite3_result_error_nomem(c);
    return;
  }
  if (*l == NULL && (*l = calloc(1, sizeof **l)) == NULL) {
    sqlite3_result_error_nomem(c);
    return;
  }
  const char *p = argc == 1 ? (const char *)sqlite3_value_text(argv[0]) : NULL;
  if (p && *p && osq_pathlist_add(*l, p) != 0)
    sqlite3_result_error_nomem(c);
}

static void carve_final(sqlite3_context *c) {
  osq_pathlist **l = sqlite3_aggregate_context(c, 0);
  osq_pathlist *paths = l ? *l : NULL;
  if (OSQ_FLAG_BOOL(carver_disable_function)) {
    sqlite3_result_error(c,
                         "carve(): the function is disabled "
                         "(--carver_disable_function)",
                         -1);
  } else if (paths == NULL || paths->n == 0) {
    sqlite3_result_null(c);
  } else {
    char guid[40];
    osq_pathlist_unique(paths);
    if (start_paths(paths, guid) == 0)
      sqlite3_result_text(c, guid, -1, SQLITE_TRANSIENT);
    else
      sqlite3_result_error(c, "carve(): the carve could not start (see the "
                              "status log)", -1);
  }
  if (paths) {
    osq_pathlist_free(paths);
    free(paths);
  }
}

int osq_carve_register_function(sqlite3 *db, char *err, size_t errlen) {
  int rc = sqlite3_create_function(db, "carve", 1, SQLITE_UTF8, NULL, NULL,
                                    carve_step, carve_final);
  if (rc != SQLITE_OK)
    snprintf(err, errlen, "cannot register SQL function carve: %s",
             sqlite3_errmsg(db));
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  if (wants_carve(ctx))
    start_carve(ctx);
  char cutoff[32];
  snprintf(cutoff, sizeof cutoff, "#%lld",
           (long long)time(NULL) - (long long)OSQ_FLAG_UINT(carver_expiry));
  const char *b[] = {cutoff};
  state_exec("DELETE FROM carves WHERE ended IS NOT NULL AND ended < ?", b,
             1);
  sqlite3 *db = osq_node_lock();
  sqlite3_stmt *st = NULL;
  int rc = OSQ_OK;
  if (db == NULL || ensure_schema(db) != 0 ||
      sqlite3_prepare_v2(db,
                         "SELECT time, sha256, size, path, status, carve_guid,"
                         " request_id FROM carves ORDER BY time",
                         -1, &st, NULL) != SQLITE_OK) {
    osq_rows_error(out, "carves: cannot read the carve state: %s",
                   db ? sqlite3_errmsg(db) : "no state connection");
    rc = OSQ_ERROR;
  }
  while (rc == OSQ_OK && sqlite3_step(st) == SQLITE_ROW) {
    osq_rows_int(out, C_TIME, sqlite3_column_int64(st, 0));
    osq_rows_cstr(out, C_SHA256, (const char *)sqlite3_column_text(st, 1));
    osq_rows_int(out, C_SIZE, sqlite3_column_int64(st, 2));
    osq_rows_cstr(out, C_PATH, (const char *)sqlite3_column_text(st, 3));
    osq_rows_cstr(out, C_STATUS, (const char *)sqlite3_column_text(st, 4));
    osq_rows_cstr(out, C_GUID, (const char *)sqlite3_column_text(st, 5));
    osq_rows_cstr(out, C_REQUEST, (const char *)sqlite3_column_text(st, 6));
    /* osquery answers with the carve column as asked, so that SQLite's
     * re-check of carve=1 keeps the rows */
    osq_rows_int(out, C_CARVE, wants_carve(ctx) ? 1 : 0);
    osq_rows_end(out);
  }
  sqlite3_finalize(st);
  osq_node_unlock();
  return rc;
}

const osq_table_plugin osq_remote_carves_table = {
    .name = "carves",
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
    .generate = generate,
    .description = "Carves of files started through this table (carve=1)",
};
