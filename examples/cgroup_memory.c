/* cgroup_memory: memory use, limits and OOM kills of every cgroup.
 *
 * Answers "which service or container is close to its memory limit, or has
 * had processes OOM-killed?":
 *
 *   SELECT path, memory_current, memory_limit, limit_used_percent, oom_kills
 *   FROM cgroup_memory WHERE limit_used_percent > 80 OR oom_kills > 0;
 *
 * Works with cgroup v2 (/sys/fs/cgroup) and v1's memory controller
 * (/sys/fs/cgroup/memory), inside containers too (there the root is the
 * container's own cgroup). $OSQ_CGROUP_ROOT points it at another tree.
 *
 * Uses the query context: `path = '...'` reads just those cgroups,
 * `depth <= N` stops the walk early, and files are only read for the
 * columns the query uses. */
#include <osq/extension.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 32        /* cgroup trees are shallow; bounds the walk */
#define MAX_CGROUPS 100000  /* rows per query */
#define MAX_FILE 65536      /* bytes read of one cgroup file */
#define PATH_BUF 4096       /* longest cgroup path walked */

enum { C_PATH, C_DEPTH, C_VERSION, C_CURRENT, C_LIMIT, C_PERCENT, C_ANON,
       C_FILE, C_OOM, C_PROCS, NCOLS };

static const osq_column columns[NCOLS] = {
    [C_PATH] = {"path", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    [C_DEPTH] = {"depth", OSQ_TYPE_INTEGER, OSQ_COL_ADDITIONAL},
    [C_VERSION] = {"version", OSQ_TYPE_INTEGER, 0},
    [C_CURRENT] = {"memory_current", OSQ_TYPE_BIGINT, 0},
    [C_LIMIT] = {"memory_limit", OSQ_TYPE_BIGINT, 0},
    [C_PERCENT] = {"limit_used_percent", OSQ_TYPE_DOUBLE, 0},
    [C_ANON] = {"anon", OSQ_TYPE_BIGINT, 0},
    [C_FILE] = {"file", OSQ_TYPE_BIGINT, 0},
    [C_OOM] = {"oom_kills", OSQ_TYPE_BIGINT, 0},
    [C_PROCS] = {"processes", OSQ_TYPE_INTEGER, 0},
};

struct walk {
  const osq_context *ctx;
  osq_rows *out;
  char root[700];
  int version; /* 1 or 2 */
  int max_depth;
  size_t rows;
  int rc; /* the row sink's first failure: the walk stops */
};

/* Read a small file; NUL-terminated; false if unreadable. */
static bool slurp(const char *dir, const char *name, char *buf, size_t cap) {
  char p[4096];
  if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
    return false;
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  size_t len = 0;
  while (len + 1 < cap) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  return true;
}

/* Lines of a file of any size (cgroup.procs of a busy root), or -1. */
static int64_t count_lines(const char *dir, const char *name) {
  char p[4096], buf[8192];
  if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
    return -1;
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int64_t lines = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n; i++)
      lines += buf[i] == '\n';
  }
  close(fd);
  return lines;
}

static bool number(const char *s, int64_t *v) {
  char *end;
  errno = 0;
  unsigned long long u = strtoull(s, &end, 10);
  if (end == s || errno == ERANGE || u > INT64_MAX)
    return false;
  *v = (int64_t)u;
  return true;
}

/* "key value" lines (memory.stat, memory.events, memory.oom_control) */
static bool keyed(const char *text, const char *key, int64_t *v) {
  size_t kl = strlen(key);
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (strncmp(l, key, kl) == 0 && l[kl] == ' ')
      return number(l + kl + 1, v);
  return false;
}

static bool used(const struct walk *w, int col) {
  return osq_context_column_used(w->ctx, (size_t)col);
}

/* Cells through the sink, keeping its first failure (out of memory, a
 * reply past the size the core reads). */
static void put_int(struct walk *w, int col, int64_t v) {
  if (w->rc == OSQ_OK)
    w->rc = osq_rows_int(w->out, (size_t)col, v);
}

static void put_double(struct walk *w, int col, double v) {
  if (w->rc == OSQ_OK)
    w->rc = osq_rows_double(w->out, (size_t)col, v);
}

static void emit(struct walk *w, const char *dir, const char *rel, int depth) {
  static __thread char buf[MAX_FILE];
  bool v2 = w->version == 2;
  int64_t cur = -1, lim = -1, v;
  if (w->rc == OSQ_OK)
    w->rc = osq_rows_cstr(w->out, C_PATH, *rel ? rel : "/");
  put_int(w, C_DEPTH, depth);
  put_int(w, C_VERSION, w->version);
  if (slurp(dir, v2 ? "memory.current" : "memory.usage_in_bytes", buf,
            sizeof buf) && number(buf, &cur))
    put_int(w, C_CURRENT, cur);
  /* "max" (v2) or a page-rounded INT64_MAX (v1) mean no limit: NULL */
  if (slurp(dir, v2 ? "memory.max" : "memory.limit_in_bytes", buf,
            sizeof buf) && number(buf, &lim) && lim < (INT64_C(1) << 62))
    put_int(w, C_LIMIT, lim);
  else
    lim = -1;
  if (cur >= 0 && lim > 0)
    put_double(w, C_PERCENT, (double)cur * 100.0 / (double)lim);
  if ((used(w, C_ANON) || used(w, C_FILE)) &&
      slurp(dir, "memory.stat", buf, sizeof buf)) {
    if (keyed(buf, v2 ? "anon" : "rss", &v))
      put_int(w, C_ANON, v);
    if (keyed(buf, v2 ? "file" : "cache", &v))
      put_int(w, C_FILE, v);
  }
  if (used(w, C_OOM) &&
      slurp(dir, v2 ? "memory.events" : "memory.oom_control", buf,
            sizeof buf) && keyed(buf, "oom_kill", &v))
    put_int(w, C_OOM, v);
  int64_t procs;
  if (used(w, C_PROCS) && (procs = count_lines(dir, "cgroup.procs")) >= 0)
    put_int(w, C_PROCS, procs);
  if (w->rc == OSQ_OK)
    w->rc = osq_rows_end(w->out);
  w->rows++;
}

/* One path buffer for the whole walk (root + relative path), so the
 * recursion costs a few bytes of stack per level, not a path. */
static void walk(struct walk *w, char *path, size_t len, size_t rootlen,
                 int depth) {
  if (w->rows >= MAX_CGROUPS || w->rc != OSQ_OK)
    return;
  emit(w, path, path + rootlen, depth);
  if (depth >= w->max_depth)
    return;
  DIR *d = opendir(path);
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && w->rows < MAX_CGROUPS &&
         w->rc == OSQ_OK) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.')
      continue;
    size_t n = strlen(e->d_name);
    if (len + 1 + n >= PATH_BUF)
      continue;
    path[len] = '/';
    memcpy(path + len + 1, e->d_name, n + 1);
    walk(w, path, len + 1 + n, rootlen, depth + 1);
    path[len] = '\0';
  }
  closedir(d);
}

static bool find_root(struct walk *w) {
  const char *env = getenv("OSQ_CGROUP_ROOT");
  const char *base = env && *env ? env : "/sys/fs/cgroup";
  char probe[600];
  struct stat st;
  snprintf(probe, sizeof probe, "%s/memory.current", base);
  bool v2_root = stat(probe, &st) == 0;
  snprintf(probe, sizeof probe, "%s/cgroup.controllers", base);
  if (v2_root || stat(probe, &st) == 0) {
    snprintf(w->root, sizeof w->root, "%s", base);
    w->version = 2;
    return true;
  }
  snprintf(probe, sizeof probe, "%s/memory", base);
  if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode)) {
    snprintf(w->root, sizeof w->root, "%s", probe);
    w->version = 1;
    return true;
  }
  return false;
}

/* A cgroup path from a constraint: absolute, no "..", no "//". */
static bool safe_path(const char *p) {
  return p[0] == '/' && strstr(p, "/..") == NULL && strstr(p, "//") == NULL &&
         strlen(p) < 2048;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  struct walk w = {.ctx = ctx, .out = out, .max_depth = MAX_DEPTH};
  if (!find_root(&w)) {
    osq_error("cgroup_memory: no cgroup memory controller under %s",
              getenv("OSQ_CGROUP_ROOT") ? getenv("OSQ_CGROUP_ROOT")
                                        : "/sys/fs/cgroup");
    return OSQ_ERROR;
  }
  /* depth = N, depth < N, depth <= N: no need to walk deeper than N. */
  for (size_t i = 0; i < osq_context_nconstraints(ctx, C_DEPTH); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_DEPTH, i);
    int n = atoi(c->expr);
    if (c->op == OSQ_OP_LT)
      n--;
    if ((c->op == OSQ_OP_EQ || c->op == OSQ_OP_LT || c->op == OSQ_OP_LE) &&
        n < w.max_depth)
      w.max_depth = n < 0 ? -1 : n;
  }
  if (w.max_depth < 0)
    return OSQ_OK;
  /* path = '/a/b' (or IN): just those cgroups, SQLite checks the rest. */
  size_t neq = 0;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, C_PATH); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_PATH, i);
    if (c->op != OSQ_OP_EQ)
      continue;
    neq++;
    if (!safe_path(c->expr))
      continue;
    char dir[2600];
    struct stat st;
    int dn = snprintf(dir, sizeof dir, "%s%s", w.root,
                      strcmp(c->expr, "/") == 0 ? "" : c->expr);
    if (dn < 0 || (size_t)dn >= sizeof dir) /* too long: no such cgroup */
      continue;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
      continue;
    int depth = 0;
    for (const char *p = c->expr + 1; *p; p++)
      depth += *p == '/';
    depth += strcmp(c->expr, "/") != 0;
    emit(&w, dir, strcmp(c->expr, "/") == 0 ? "" : c->expr, depth);
    if (w.rc != OSQ_OK)
      return w.rc;
  }
  if (neq == 0) {
    char *path = malloc(PATH_BUF);
    if (path == NULL) {
      osq_error("cgroup_memory: out of memory");
      return OSQ_ERROR;
    }
    size_t rootlen = strlen(w.root);
    memcpy(path, w.root, rootlen + 1);
    walk(&w, path, rootlen, rootlen, 0);
    free(path);
  }
  return w.rc;
}

static const osq_table_plugin table = {
    .name = "cgroup_memory",
    .columns = columns,
    .ncolumns = NCOLS,
    .generate = generate,
};

int main(int argc, char **argv) {
  osq_extension *ext = osq_extension_new("cgroup_memory", "1.0.0");
  if (ext == NULL || osq_extension_add_table(ext, &table) != OSQ_OK) {
    fprintf(stderr, "cgroup_memory: cannot set up the extension: %s\n",
            ext ? osq_last_error() : "out of memory");
    return 1;
  }
  int code = osq_extension_run(ext, argc, argv);
  osq_extension_free(ext);
  return code;
}
