/* hash: md5, sha1 and sha256 of files named by "path" or "directory".
 *
 * Files larger than --read_max are skipped with a warning. Digests are
 * kept in a process-wide LRU of --hash_cache_max entries, keyed by path,
 * inode, size, mtime and ctime, so a changed file is hashed again. */
#include "core/flags.h"
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/linux/hash.h"
#include "tables/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
  C_PATH, C_DIRECTORY, C_MD5, C_SHA1, C_SHA256, C_PID_WITH_NAMESPACE,
  C_MOUNT_NAMESPACE_ID, C_COUNT
};

static const osq_column columns[] = {
    {"path", OSQ_TYPE_TEXT,
     OSQ_COL_INDEX | OSQ_COL_OPTIMIZED | OSQ_COL_REQUIRED},
    {"directory", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED | OSQ_COL_OPTIMIZED},
    {"md5", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"sha1", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"sha256", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"mount_namespace_id", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
};

_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "columns");

enum { D_MD5 = 1, D_SHA1 = 2, D_SHA256 = 4 };

typedef struct digests {
  unsigned have; /* D_* bits of the digests computed */
  char md5[33], sha1[41], sha256[65];
} digests;

/* ---- the LRU --------------------------------------------------------- */

typedef struct entry {
  char *path;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
  digests d;
  struct entry *prev, *next; /* most recent first */
} entry;

static pthread_mutex_t lru_lock = PTHREAD_MUTEX_INITIALIZER;
static entry *lru_head, *lru_tail;
static size_t lru_count;
static unsigned long lru_hits, lru_misses;

static bool same_file(const entry *e, const char *path, const struct stat *st) {
  return e->ino == st->st_ino && e->dev == st->st_dev &&
         e->size == st->st_size &&
         e->mtime.tv_sec == st->st_mtim.tv_sec &&
         e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
         e->ctime.tv_sec == st->st_ctim.tv_sec &&
         e->ctime.tv_nsec == st->st_ctim.tv_nsec && strcmp(e->path, path) == 0;
}

static void unlink_entry(entry *e) {
  if (e->prev)
    e->prev->next = e->next;
  else
    lru_head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    lru_tail = e->prev;
  e->prev = e->next = NULL;
}

static void push_front(entry *e) {
  e->next = lru_head;
  e->prev = NULL;
  if (lru_head)
    lru_head->prev = e;
  lru_head = e;
  if (lru_tail == NULL)
    lru_tail = e;
}

/* A linear walk: with the default 500 entries this costs far less than one
 * read() of the file it saves. Returns true if an entry for this very
 * file exists (*d then holds what it has, maybe fewer digests than want);
 * it counts as a hit only when it has every wanted digest. */
static bool cache_get(const char *path, const struct stat *st, unsigned want,
                      digests *d) {
  bool found = false;
  pthread_mutex_lock(&lru_lock);
  for (entry *e = lru_head; e; e = e->next) {
    if (same_file(e, path, st)) {
      *d = e->d;
      unlink_entry(e);
      push_front(e);
      found = true;
      break;
    }
  }
  if (found && (d->have & want) == want)
    lru_hits++;
  else
    lru_misses++;
  pthread_mutex_unlock(&lru_lock);
  return found;
}

static void evict_to(size_t max) {
  while (lru_count > max && lru_tail) {
    entry *e = lru_tail;
    unlink_entry(e);
    free(e->path);
    free(e);
    lru_count--;
  }
}

static void cache_put(const char *path, const struct stat *st,
                      const digests *d, size_t max) {
  if (max == 0)
    return;
  entry *n = calloc(1, sizeof *n);
  char *p = strdup(path);
  if (n == NULL || p == NULL) {
    free(n);
    free(p);
    return;
  }
  n->path = p;
  n->dev = st->st_dev;
  n->ino = st->st_ino;
  n->size = st->st_size;
  n->mtime = st->st_mtim;
  n->ctime = st->st_ctim;
  n->d = *d;
  pthread_mutex_lock(&lru_lock);
  /* drop an older version of the same path */
  for (entry *e = lru_head; e; e = e->next) {
    if (strcmp(e->path, path) == 0) {
      unlink_entry(e);
      free(e->path);
      free(e);
      lru_count--;
      break;
    }
  }
  push_front(n);
  lru_count++;
  evict_to(max);
  pthread_mutex_unlock(&lru_lock);
}

void osq_hash_cache_stats(unsigned long *hits, unsigned long *misses,
                          size_t *entries) {
  pthread_mutex_lock(&lru_lock);
  *hits = lru_hits;
  *misses = lru_misses;
  *entries = lru_count;
  pthread_mutex_unlock(&lru_lock);
}

void osq_hash_cache_clear(void) {
  pthread_mutex_lock(&lru_lock);
  evict_to(0);
  lru_hits = lru_misses = 0;
  pthread_mutex_unlock(&lru_lock);
}

/* ---- hashing ---------------------------------------------------------- */

static void hex(const unsigned char *b, unsigned n, char *out) {
  static const char x[] = "0123456789abcdef";
  for (unsigned i = 0; i < n; i++) {
    out[2 * i] = x[b[i] >> 4];
    out[2 * i + 1] = x[b[i] & 15];
  }
  out[2 * n] = '\0';
}

/* Hash an open file in one pass, computing only the digests in want;
 * false on a read error or if the file grew past limit while we read. */
static bool hash_fd(int fd, uint64_t limit, unsigned want, digests *d) {
  const EVP_MD *mds[3] = {EVP_md5(), EVP_sha1(), EVP_sha256()};
  char *outs[3] = {d->md5, d->sha1, d->sha256};
  EVP_MD_CTX *c[3] = {NULL, NULL, NULL};
  bool ok = true;
  for (int i = 0; ok && i < 3; i++) {
    if (!(want & (1u << i)))
      continue;
    c[i] = EVP_MD_CTX_new();
    ok = c[i] && EVP_DigestInit_ex(c[i], mds[i], NULL) == 1;
  }
  unsigned char *buf = ok ? malloc(1 << 16) : NULL;
  ok = ok && buf;
  uint64_t total = 0;
  while (ok) {
    ssize_t n = read(fd, buf, 1 << 16);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ok = false;
      break;
    }
    if (n == 0)
      break;
    total += (uint64_t)n;
    if (total > limit) {
      ok = false;
      break;
    }
    for (int i = 0; ok && i < 3; i++)
      if (c[i])
        ok = EVP_DigestUpdate(c[i], buf, (size_t)n) == 1;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len;
  for (int i = 0; ok && i < 3; i++) {
    if (!c[i])
      continue;
    ok = EVP_DigestFinal_ex(c[i], md, &len) == 1;
    if (ok)
      hex(md, len, outs[i]);
  }
  for (int i = 0; i < 3; i++)
    EVP_MD_CTX_free(c[i]);
  free(buf);
  if (ok)
    d->have = want;
  return ok;
}

bool osq_hash_fd_all(int fd, uint64_t limit, char md5[33], char sha1[41],
                     char sha256[65]) {
  digests d = {0};
  if (!hash_fd(fd, limit, D_MD5 | D_SHA1 | D_SHA256, &d))
    return false;
  memcpy(md5, d.md5, sizeof d.md5);
  memcpy(sha1, d.sha1, sizeof d.sha1);
  memcpy(sha256, d.sha256, sizeof d.sha256);
  return true;
}

typedef struct gen {
  const osq_context *ctx;
  osq_rows *out;
  unsigned want; /* D_* digests the query reads */
  int rootfd;    /* -1: the host; else the root of pid_with_namespace */
  int64_t ns_pid;
  char mnt[32];
  bool use_cache;
  size_t cache_max;
  uint64_t read_max;
} gen;

static int hash_row(gen *g, const char *path, const char *dir) {
  struct stat pre, st;
  /* Only regular files are opened: opening a device node can have side
   * effects (a watchdog starts counting, a tape rewinds). */
  int fd;
  if (g->rootfd < 0) {
    if (stat(path, &pre) != 0 || !S_ISREG(pre.st_mode))
      return OSQ_OK; /* missing or not a file: no row, as osquery */
    do
      fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    while (fd < 0 && errno == EINTR);
  } else {
    int pfd = osq_tbl_open_beneath(g->rootfd, path, O_PATH);
    if (pfd < 0)
      return OSQ_OK;
    bool reg = fstat(pfd, &pre) == 0 && S_ISREG(pre.st_mode);
    close(pfd);
    if (!reg)
      return OSQ_OK;
    fd = osq_tbl_open_beneath(g->rootfd, path,
                              O_RDONLY | O_NOCTTY | O_NONBLOCK);
  }
  if (fd < 0)
    return OSQ_OK;
  /* the file we opened must be the one we checked */
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_ino != pre.st_ino || st.st_dev != pre.st_dev) {
    close(fd);
    return OSQ_OK;
  }
  digests d;
  memset(&d, 0, sizeof d);
  if (g->want) {
    if ((uint64_t)st.st_size > g->read_max) {
      OSQ_WARN("Cannot hash %s: size %lld exceeds --read_max=%llu", path,
               (long long)st.st_size, (unsigned long long)g->read_max);
      close(fd);
      return OSQ_OK;
    }
    bool cached = g->use_cache && cache_get(path, &st, g->want, &d);
    if ((d.have & g->want) != g->want) {
      /* one read computes what is missing plus what the cache had, so
       * the entry ends up with the union */
      unsigned need = g->want | (cached ? d.have : 0);
      if (!hash_fd(fd, g->read_max, need, &d))
        d.have = 0;
      else if (g->use_cache)
        cache_put(path, &st, &d, g->cache_max);
    }
  }
  close(fd);
  osq_rows_cstr(g->out, C_PATH, path);
  if (dir) {
    osq_rows_cstr(g->out, C_DIRECTORY, dir);
  } else {
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
      osq_rows_cstr(g->out, C_DIRECTORY, ".");
    else if (slash == path)
      osq_rows_cstr(g->out, C_DIRECTORY, "/");
    else
      osq_rows_text(g->out, C_DIRECTORY, path, (size_t)(slash - path));
  }
  if (d.have & D_MD5)
    osq_rows_cstr(g->out, C_MD5, d.md5);
  if (d.have & D_SHA1)
    osq_rows_cstr(g->out, C_SHA1, d.sha1);
  if (d.have & D_SHA256)
    osq_rows_cstr(g->out, C_SHA256, d.sha256);
  if (g->ns_pid > 0) {
    osq_rows_int(g->out, C_PID_WITH_NAMESPACE, g->ns_pid);
    if (g->mnt[0])
      osq_rows_cstr(g->out, C_MOUNT_NAMESPACE_ID, g->mnt);
  }
  return osq_rows_end(g->out);
}

static int hash_dir(gen *g, const char *dir) {
  DIR *dp = NULL;
  if (g->rootfd < 0) {
    dp = opendir(dir);
  } else {
    int fd = osq_tbl_open_beneath(g->rootfd, dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0 && (dp = fdopendir(fd)) == NULL)
      close(fd);
  }
  if (dp == NULL)
    return OSQ_OK;
  osq_pathlist names = {0};
  struct dirent *e;
  while ((e = readdir(dp)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (osq_pathlist_add(&names, e->d_name) != OSQ_OK)
      break;
  }
  closedir(dp);
  osq_pathlist_unique(&names);
  size_t dl = strlen(dir);
  bool slash = dl > 0 && dir[dl - 1] == '/';
  char path[PATH_MAX];
  int rc = OSQ_OK;
  for (size_t i = 0; i < names.n && rc == OSQ_OK; i++) {
    int n = snprintf(path, sizeof path, "%s%s%s", dir, slash ? "" : "/",
                     names.items[i]);
    if (n > 0 && (size_t)n < sizeof path)
      rc = hash_row(g, path, dir);
  }
  osq_pathlist_free(&names);
  return rc;
}

static int gen_where(gen *g) {
  osq_pathlist paths = {0}, dirs = {0};
  int rc;
  if (g->rootfd < 0) {
    rc = osq_glob_collect(g->ctx, C_PATH, OSQ_GLOB_FILES, &paths);
    if (rc == OSQ_OK && !osq_glob_constrained(g->ctx, C_PATH))
      rc = osq_glob_collect(g->ctx, C_DIRECTORY, OSQ_GLOB_DIRS, &dirs);
  } else {
    rc = osq_glob_collect_literal(g->ctx, C_PATH, &paths);
    if (rc == OSQ_OK && !osq_glob_constrained(g->ctx, C_PATH))
      rc = osq_glob_collect_literal(g->ctx, C_DIRECTORY, &dirs);
  }
  if (rc != OSQ_OK) {
    osq_rows_error(g->out, "hash: out of memory expanding paths");
    rc = OSQ_ERROR;
  }
  /* Interrupted, or the client went away: nobody wants the rows. SQLite
   * reports the interrupt itself. */
  bool wanted = !paths.cancelled && !dirs.cancelled;
  for (size_t i = 0; wanted && i < paths.n && rc == OSQ_OK; i++)
    rc = hash_row(g, paths.items[i], NULL);
  for (size_t i = 0; wanted && i < dirs.n && rc == OSQ_OK; i++)
    rc = hash_dir(g, dirs.items[i]);
  osq_pathlist_free(&paths);
  osq_pathlist_free(&dirs);
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  gen g = {.ctx = ctx, .out = out, .rootfd = -1};
  g.want = (osq_context_column_used(ctx, C_MD5) ? D_MD5 : 0) |
           (osq_context_column_used(ctx, C_SHA1) ? D_SHA1 : 0) |
           (osq_context_column_used(ctx, C_SHA256) ? D_SHA256 : 0);
  g.cache_max = (size_t)OSQ_FLAG_UINT(hash_cache_max);
  g.use_cache = !OSQ_FLAG_BOOL(disable_hash_cache) && g.cache_max > 0;
  g.read_max = OSQ_FLAG_UINT(read_max);
  if (g.read_max == 0)
    g.read_max = 52428800; /* flags not initialised: osquery's default */
  int64_t pids[OSQ_TBL_NS_PIDS_MAX];
  size_t np = osq_tbl_ns_pids(ctx, C_PID_WITH_NAMESPACE, pids,
                              OSQ_TBL_NS_PIDS_MAX);
  if (np == 0)
    return gen_where(&g);
  int rc = OSQ_OK;
  for (size_t i = 0; i < np && rc == OSQ_OK; i++) {
    g.rootfd = osq_tbl_root_of(pids[i]);
    if (g.rootfd < 0)
      continue;
    g.ns_pid = pids[i];
    if (!osq_tbl_mnt_ns(pids[i], g.mnt, sizeof g.mnt))
      g.mnt[0] = '\0';
    rc = gen_where(&g);
    close(g.rootfd);
  }
  return rc;
}

const osq_table_plugin osq_table_hash = {
    .name = "hash",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .generate = generate,
};
