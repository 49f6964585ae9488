#include "fsglob.h"

#include "core/cancel.h"
#include "core/log.h"
#include "osq/plugin.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

size_t osq_glob_max_dirs = OSQ_GLOB_MAX_DIRS;

void osq_pathlist_free(osq_pathlist *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->n = l->cap = 0;
}

int osq_pathlist_add(osq_pathlist *l, const char *path) {
  if (l->n >= OSQ_GLOB_MAX_RESULTS) {
    l->truncated = true;
    return OSQ_ERANGE;
  }
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    char **items = realloc(l->items, cap * sizeof *items);
    if (items == NULL)
      return OSQ_ENOMEM;
    l->items = items;
    l->cap = cap;
  }
  char *copy = strdup(path);
  if (copy == NULL)
    return OSQ_ENOMEM;
  l->items[l->n++] = copy;
  return OSQ_OK;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void osq_pathlist_unique(osq_pathlist *l) {
  if (l->n < 2)
    return;
  qsort(l->items, l->n, sizeof *l->items, cmp_str);
  size_t w = 1;
  for (size_t r = 1; r < l->n; r++) {
    if (strcmp(l->items[r], l->items[w - 1]) == 0)
      free(l->items[r]);
    else
      l->items[w++] = l->items[r];
  }
  l->n = w;
}

bool osq_pathlist_readdir(osq_pathlist *l, const char *dir,
                          bool (*keep)(const char *name)) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return false;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
        (keep != NULL && !keep(e->d_name)))
      continue;
    if (osq_pathlist_add(l, e->d_name) != OSQ_OK)
      break;
  }
  closedir(d);
  osq_pathlist_unique(l);
  return true;
}

bool osq_name_not_hidden(const char *name) { return name[0] != '.'; }

bool osq_glob_has_wildcard(const char *p) {
  return strpbrk(p, "%_") != NULL;
}

bool osq_glob_match(const char *p, size_t plen, const char *s) {
  /* iterative matcher with one backtrack point: linear in practice and
   * never recursive, so hostile patterns cannot blow the stack */
  size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;
  size_t slen = strlen(s);
  while (si < slen) {
    if (pi < plen && p[pi] == '%') {
      star_p = ++pi;
      star_s = si;
    } else if (pi < plen &&
               (p[pi] == '_' || tolower((unsigned char)p[pi]) ==
                                    tolower((unsigned char)s[si]))) {
      pi++;
      si++;
    } else if (star_p != (size_t)-1) {
      pi = star_p;
      si = ++star_s;
    } else {
      return false;
    }
  }
  while (pi < plen && p[pi] == '%')
    pi++;
  return pi == plen;
}

/* Why an expansion stopped early; the warning names it. */
typedef enum stop_reason {
  STOP_NONE,
  STOP_RESULTS,
  STOP_DIRS,
  STOP_INTERRUPTED,
} stop_reason;

typedef struct dir_id {
  dev_t dev;
  ino_t ino;
} dir_id;

typedef struct walk {
  unsigned flags;
  osq_pathlist *out;
  int rc;
  stop_reason stop;
  bool too_deep;  /* the depth limit cut a branch */
  size_t dirs;    /* directories opened so far */
  size_t loops;   /* directories skipped as loops */
  /* the directories open on the current path, outermost first */
  dir_id path[OSQ_GLOB_MAX_DEPTH + 2];
  size_t depth;
} walk;

static bool walking(const walk *w) {
  return w->rc == OSQ_OK && w->stop == STOP_NONE;
}

/* Open a directory of the walk, counting it against OSQ_GLOB_MAX_DIRS and
 * refusing one already open on the current path (a symlink loop). NULL if
 * it cannot or must not be read; else close it with leave_dir. */
static DIR *enter_dir(walk *w, const char *path) {
  if (!walking(w))
    return NULL;
  if (w->dirs >= osq_glob_max_dirs) {
    w->stop = STOP_DIRS;
    return NULL;
  }
  if (w->dirs % OSQ_GLOB_CANCEL_EVERY == 0 && osq_cancelled()) {
    w->stop = STOP_INTERRUPTED;
    return NULL;
  }
  if (w->depth >= sizeof w->path / sizeof *w->path) {
    w->too_deep = true;
    return NULL;
  }
  DIR *d = opendir(path);
  if (d == NULL)
    return NULL;
  w->dirs++;
  struct stat st;
  if (fstat(dirfd(d), &st) != 0) {
    closedir(d);
    return NULL;
  }
  for (size_t i = 0; i < w->depth; i++) {
    if (w->path[i].dev == st.st_dev && w->path[i].ino == st.st_ino) {
      w->loops++;
      closedir(d);
      return NULL;
    }
  }
  w->path[w->depth++] = (dir_id){st.st_dev, st.st_ino};
  return d;
}

static void leave_dir(walk *w, DIR *d) {
  w->depth--;
  closedir(d);
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Add path if its kind is wanted. d_type is readdir's hint (DT_UNKNOWN
 * when there is none): a directory entry that is not a symlink needs no
 * stat at all. */
static void emit(walk *w, const char *path, unsigned char d_type) {
  if (!walking(w))
    return;
  bool dir;
  if (d_type == DT_DIR) {
    dir = true;
  } else if (d_type != DT_UNKNOWN && d_type != DT_LNK) {
    dir = false;
  } else {
    struct stat st;
    dir = is_dir(path);
    if (!dir && lstat(path, &st) != 0)
      return; /* does not exist */
  }
  if ((dir && (w->flags & OSQ_GLOB_DIRS)) ||
      (!dir && (w->flags & OSQ_GLOB_FILES))) {
    int rc = osq_pathlist_add(w->out, path);
    if (rc == OSQ_ERANGE)
      w->stop = STOP_RESULTS;
    else if (rc != OSQ_OK)
      w->rc = rc;
  }
}

/* A real directory (not a symlink to one), from d_type or lstat. */
static bool is_real_dir(const char *path, unsigned char d_type) {
  if (d_type != DT_UNKNOWN)
    return d_type == DT_DIR;
  struct stat st;
  return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static size_t join(char *buf, size_t cap, const char *dir, const char *name) {
  size_t dl = strlen(dir);
  bool slash = dl > 0 && dir[dl - 1] == '/';
  int n = snprintf(buf, cap, "%s%s%s", dir, (slash || dl == 0) ? "" : "/",
                   name);
  return (n < 0 || (size_t)n >= cap) ? 0 : (size_t)n;
}

/* Everything below dir, depth first; symlinks are not followed so loops
 * cannot trap the walk. */
static void recurse(walk *w, const char *dir, int depth) {
  if (depth > OSQ_GLOB_MAX_DEPTH) {
    w->too_deep = true;
    return;
  }
  DIR *d = enter_dir(w, dir);
  if (d == NULL)
    return;
  struct dirent *e;
  char path[PATH_MAX];
  while (walking(w) && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (join(path, sizeof path, dir, e->d_name) == 0)
      continue;
    emit(w, path, e->d_type);
    if (is_real_dir(path, e->d_type))
      recurse(w, path, depth + 1);
  }
  leave_dir(w, d);
}

/* Match the components of rest below base. Literal components are joined
 * in a loop, so only wildcard components recurse (at most
 * OSQ_GLOB_MAX_DEPTH deep, whatever the pattern's length). */
static void expand(walk *w, const char *base, const char *rest, int depth) {
  if (!walking(w))
    return;
  char cur[PATH_MAX], comp[NAME_MAX + 3];
  size_t clen;
  bool last, recursive;
  const char *next;
  if (snprintf(cur, sizeof cur, "%s", base) >= (int)sizeof cur)
    return;
  for (;;) {
    while (*rest == '/')
      rest++;
    if (*rest == '\0') {
      emit(w, cur, DT_UNKNOWN);
      return;
    }
    const char *slash = strchr(rest, '/');
    clen = slash ? (size_t)(slash - rest) : strlen(rest);
    next = slash ? slash : rest + clen;
    last = true;
    for (const char *q = next; *q; q++)
      if (*q != '/')
        last = false;
    if (clen >= sizeof comp)
      return; /* no name on Linux is that long */
    memcpy(comp, rest, clen);
    comp[clen] = '\0';
    recursive = last && clen >= 2 && strcmp(comp + clen - 2, "%%") == 0;
    if (recursive)
      comp[--clen] = '\0'; /* "x%%" matches like "x%", then descends */
    if (osq_glob_has_wildcard(comp))
      break;
    char joined[PATH_MAX];
    if (join(joined, sizeof joined, cur, comp) == 0)
      return;
    memcpy(cur, joined, strlen(joined) + 1);
    rest = next;
  }
  if (depth > OSQ_GLOB_MAX_DEPTH) {
    w->too_deep = true;
    return;
  }
  DIR *d = enter_dir(w, *cur ? cur : ".");
  if (d == NULL)
    return;
  struct dirent *e;
  char path[PATH_MAX];
  while (walking(w) && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (!osq_glob_match(comp, clen, e->d_name))
      continue;
    if (join(path, sizeof path, cur, e->d_name) == 0)
      continue;
    if (last) {
      emit(w, path, e->d_type);
      if (recursive && is_real_dir(path, e->d_type))
        recurse(w, path, depth + 1);
    } else if (e->d_type == DT_DIR ||
               ((e->d_type == DT_LNK || e->d_type == DT_UNKNOWN) &&
                is_dir(path))) {
      expand(w, path, next, depth + 1);
    }
  }
  leave_dir(w, d);
}

static void warn_stopped(const char *pattern, const walk *w) {
  switch (w->stop) {
  case STOP_RESULTS:
    OSQ_WARN("Pattern %s: search stopped at the limit of %d results",
             pattern, OSQ_GLOB_MAX_RESULTS);
    break;
  case STOP_DIRS:
    OSQ_WARN("Pattern %s: search stopped at the limit of %zu directories "
             "read (%zu results so far)",
             pattern, osq_glob_max_dirs, w->out->n);
    break;
  case STOP_INTERRUPTED:
    OSQ_WARN("Pattern %s: search stopped because the query was interrupted "
             "or its client went away (%zu directories read)",
             pattern, w->dirs);
    break;
  case STOP_NONE:
    if (w->too_deep)
      OSQ_WARN("Pattern %s: paths deeper than the limit of %d directories "
               "were not searched",
               pattern, OSQ_GLOB_MAX_DEPTH);
    break;
  }
}

int osq_glob_expand(const char *pattern, unsigned flags, osq_pathlist *out) {
  walk w = {.flags = flags, .out = out, .rc = OSQ_OK};
  if (pattern == NULL || *pattern == '\0' || strlen(pattern) >= PATH_MAX)
    return OSQ_OK;
  expand(&w, pattern[0] == '/' ? "/" : "", pattern, 0);
  warn_stopped(pattern, &w);
  if (w.stop != STOP_NONE || w.too_deep)
    out->truncated = true;
  if (w.stop == STOP_INTERRUPTED)
    out->cancelled = true;
  return w.rc;
}

int osq_glob_collect(const osq_context *ctx, size_t col, unsigned like_flags,
                     osq_pathlist *out) {
  size_t n = osq_context_nconstraints(ctx, col);
  for (size_t i = 0; i < n && !out->cancelled; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, col, i);
    int rc = OSQ_OK;
    if (c->len == 0 || strlen(c->expr) != c->len)
      continue; /* empty, or an embedded NUL: no such path */
    if (c->op == OSQ_OP_EQ)
      rc = osq_pathlist_add(out, c->expr);
    else if (c->op == OSQ_OP_LIKE)
      rc = osq_glob_has_wildcard(c->expr)
               ? osq_glob_expand(c->expr, like_flags, out)
               : osq_pathlist_add(out, c->expr);
    if (rc == OSQ_ENOMEM)
      return rc;
  }
  osq_pathlist_unique(out);
  return OSQ_OK;
}

int osq_glob_collect_literal(const osq_context *ctx, size_t col,
                             osq_pathlist *out) {
  size_t n = osq_context_nconstraints(ctx, col);
  for (size_t i = 0; i < n; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, col, i);
    if (c->len == 0 || strlen(c->expr) != c->len)
      continue;
    if ((c->op == OSQ_OP_EQ ||
         (c->op == OSQ_OP_LIKE && !osq_glob_has_wildcard(c->expr))) &&
        osq_pathlist_add(out, c->expr) == OSQ_ENOMEM)
      return OSQ_ENOMEM;
  }
  osq_pathlist_unique(out);
  return OSQ_OK;
}

bool osq_glob_constrained(const osq_context *ctx, size_t col) {
  for (size_t i = 0; i < osq_context_nconstraints(ctx, col); i++) {
    int op = osq_context_constraint(ctx, col, i)->op;
    if (op == OSQ_OP_EQ || op == OSQ_OP_LIKE)
      return true;
  }
  return false;
}
