/* file_events from inotify, as the config's file_paths, exclude_paths and
 * file_accesses ask (docs/events.md). Patterns follow osquery: a trailing
 * "/%" watches a directory's entries, a trailing "/%%" everything below it
 * (new subdirectories are watched as they appear), '%' elsewhere matches
 * within one path component.
 *
 * A config change builds a new inotify instance with the new watches and
 * swaps it in: no restart, and no event is attributed to an old category
 * after the swap. */
#include "events/events_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/flags.h"
#include "core/log.h"
#include "events/parse.h"
#include "tables/fsglob.h"
#include "tables/linux/hash.h"

#define MAX_WATCHES 65536
#define MAX_DEPTH 32
#define READ_BUF 65536

#define BASE_MASK                                                              \
  (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |      \
   IN_ATTRIB | IN_DELETE_SELF | IN_EXCL_UNLINK)
#define ACCESS_MASK (IN_ACCESS | IN_OPEN)

typedef struct watch {
  char *path;     /* NULL: slot unused */
  size_t sub;     /* index of the subscription that asked for it */
  bool recursive; /* add watches under new subdirectories */
} watch;

typedef struct subscription {
  char *category;
  char *pattern;
  bool accesses;
} subscription;

typedef struct state {
  int fd;
  watch *w; /* indexed by wd */
  size_t nw;
  size_t count;
  bool warned_full;
  subscription *subs;
  size_t nsubs;
  json_t *excludes; /* category -> [pattern] */
  json_t *cfg;      /* what it was built from */
} state;

static osq_ev_stats stats;
static const char *const tables[] = {"file_events", "yara_events", NULL};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static state *cur;
static osq_ev_waker waker = {-1, -1};
static pthread_t thread;
static atomic_bool stopping;

static bool wanted(const json_t *cfg) {
  return OSQ_FLAG_BOOL(enable_file_events) &&
         json_object_size(json_object_get(cfg, "file_paths")) > 0;
}

static void state_free(state *s) {
  if (s == NULL)
    return;
  if (s->fd >= 0)
    close(s->fd);
  for (size_t i = 0; i < s->nw; i++)
    free(s->w[i].path);
  free(s->w);
  for (size_t i = 0; i < s->nsubs; i++) {
    free(s->subs[i].category);
    free(s->subs[i].pattern);
  }
  free(s->subs);
  json_decref(s->excludes);
  json_decref(s->cfg);
  free(s);
}

static bool excluded(const state *s, const char *category, const char *path) {
  const json_t *list = json_object_get(s->excludes, category);
  size_t i;
  json_t *p;
  json_array_foreach(list, i, p) {
    if (osq_path_pattern_match(json_string_value(p), path))
      return true;
  }
  return false;
}

static int add_watch(state *s, const char *path, size_t sub, bool recursive,
                     int depth);

/* Watch every directory below dir (bounded by depth and MAX_WATCHES). */
static void add_below(state *s, const char *dir, size_t sub, int depth) {
  if (depth >= MAX_DEPTH)
    return;
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && s->count < MAX_WATCHES) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
      continue;
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", strcmp(dir, "/") ? dir : "",
                 e->d_name) >= (int)sizeof p)
      continue;
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
      add_watch(s, p, sub, true, depth + 1);
  }
  closedir(d);
}

static int add_watch(state *s, const char *path, size_t sub, bool recursive,
                     int depth) {
  if (s->count >= MAX_WATCHES) {
    if (!s->warned_full)
      OSQ_WARN("file_events: more than %d watches; %s and later paths are "
               "not watched",
               MAX_WATCHES, path);
    s->warned_full = true;
    return -1;
  }
  uint32_t mask = BASE_MASK | (s->subs[sub].accesses ? ACCESS_MASK : 0);
  int wd = inotify_add_watch(s->fd, path, mask);
  if (wd < 0) {
    OSQ_VLOG("file_events: cannot watch %s: %s", path, strerror(errno));
    return -1;
  }
  if ((size_t)wd >= s->nw) {
    size_t n = (size_t)wd * 2 + 16;
    watch *w = realloc(s->w, n * sizeof *w);
    if (w == NULL)
      return -1;
    memset(w + s->nw, 0, (n - s->nw) * sizeof *w);
    s->w = w;
    s->nw = n;
  }
  if (s->w[wd].path == NULL) {
    s->w[wd].path = strdup(path);
    s->w[wd].sub = sub;
    s->w[wd].recursive = recursive;
    s->count++;
  }
  if (recursive)
    add_below(s, path, sub, depth);
  return 0;
}

/* Add the watches one file_paths pattern asks for. */
static void subscribe(state *s, size_t sub) {
  const char *pat = s->subs[sub].pattern;
  size_t len = strlen(pat);
  bool recursive = len >= 3 && strcmp(pat + len - 3, "/%%") == 0;
  bool entries = !recursive && len >= 2 && strcmp(pat + len - 2, "/%") == 0;
  char base[PATH_MAX];
  size_t blen = recursive ? len - 3 : entries ? len - 2 : len;
  if (blen >= sizeof base)
    return;
  memcpy(base, pat, blen);
  base[blen] = '\0';
  if (blen == 0)
    strcpy(base, "/");
  if (strchr(base, '%') == NULL) {
    add_watch(s, base, sub, recursive, 0);
    return;
  }
  osq_pathlist l = {0};
  osq_glob_expand(base, recursive || entries ? OSQ_GLOB_DIRS
                                             : OSQ_GLOB_DIRS | OSQ_GLOB_FILES,
                  &l);
  for (size_t i = 0; i < l.n; i++)
    add_watch(s, l.items[i], sub, recursive, 0);
  osq_pathlist_free(&l);
}

static state *build(const json_t *cfg) {
  state *s = calloc(1, sizeof *s);
  if (s == NULL)
    return NULL;
  s->cfg = json_deep_copy(cfg);
  s->excludes = json_deep_copy(json_object_get(cfg, "exclude_paths"));
  s->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (s->fd < 0) {
    OSQ_WARN("file_events: inotify_init1: %s", strerror(errno));
    state_free(s);
    return NULL;
  }
  const json_t *paths = json_object_get(cfg, "file_paths");
  const json_t *acc = json_object_get(cfg, "file_accesses");
  const char *cat;
  json_t *list;
  size_t total = 0;
  json_object_foreach((json_t *)paths, cat, list) total += json_array_size(list);
  s->subs = calloc(total ? total : 1, sizeof *s->subs);
  if (s->subs == NULL) {
    state_free(s);
    return NULL;
  }
  json_object_foreach((json_t *)paths, cat, list) {
    bool accesses = false;
    size_t i;
    json_t *c;
    json_array_foreach(acc, i, c) {
      if (strcmp(json_string_value(c), cat) == 0)
        accesses = true;
    }
    json_t *p;
    json_array_foreach(list, i, p) {
      const char *pat = json_string_value(p);
      if (pat == NULL || pat[0] != '/') {
        OSQ_WARN("file_events: file_paths.%s: '%s' is not an absolute path; "
                 "ignored",
                 cat, pat ? pat : "");
        continue;
      }
      subscription *sub = &s->subs[s->nsubs];
      sub->category = strdup(cat);
      sub->pattern = strdup(pat);
      sub->accesses = accesses;
      if (sub->category == NULL || sub->pattern == NULL) {
        free(sub->category);
        free(sub->pattern);
        continue;
      }
      s->nsubs++;
      subscribe(s, s->nsubs - 1);
    }
  }
  return s;
}

static const char *action_of(uint32_t mask) {
  if (mask & IN_CREATE)
    return "CREATED";
  if (mask & (IN_DELETE | IN_DELETE_SELF))
    return "DELETED";
  if (mask & IN_MOVED_FROM)
    return "MOVED_FROM";
  if (mask & IN_MOVED_TO)
    return "MOVED_TO";
  if (mask & IN_CLOSE_WRITE)
    return "UPDATED";
  if (mask & IN_ATTRIB)
    return "ATTRIBUTES_MODIFIED";
  if (mask & IN_ACCESS)
    return "ACCESSED";
  if (mask & IN_OPEN)
    return "OPENED";
  return NULL;
}

static void publish(const char *path, const char *category, const char *action,
                    uint32_t cookie) {
  const osq_table_plugin *t = &osq_table_file_events;
  osq_ev_row *row = osq_ev_row_new(t);
  if (row == NULL)
    return;
  osq_ev_row_str(row, t, "target_path", path);
  osq_ev_row_str(row, t, "category", category);
  osq_ev_row_str(row, t, "action", action);
  osq_ev_row_int(row, t, "transaction_id", cookie);
  int hashed = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0) {
    char mode[16];
    snprintf(mode, sizeof mode, "%04o", (unsigned)(st.st_mode & 07777));
    osq_ev_row_int(row, t, "inode", (int64_t)st.st_ino);
    osq_ev_row_int(row, t, "uid", st.st_uid);
    osq_ev_row_int(row, t, "gid", st.st_gid);
    osq_ev_row_str(row, t, "mode", mode);
    osq_ev_row_int(row, t, "size", st.st_size);
    osq_ev_row_int(row, t, "atime", st.st_atime);
    osq_ev_row_int(row, t, "mtime", st.st_mtime);
    osq_ev_row_int(row, t, "ctime", st.st_ctime);
    bool want_hash = strcmp(action, "CREATED") == 0 ||
                     strcmp(action, "UPDATED") == 0;
    if (want_hash && S_ISREG(st.st_mode)) {
      char md5[33], sha1[41], sha256[65];
      uint64_t max = OSQ_FLAG_UINT(read_max);
      if ((uint64_t)st.st_size <= max &&
          osq_hash_fd_all(fd, max, md5, sha1, sha256)) {
        osq_ev_row_str(row, t, "md5", md5);
        osq_ev_row_str(row, t, "sha1", sha1);
        osq_ev_row_str(row, t, "sha256", sha256);
        hashed = 1;
      } else {
        hashed = -1;
      }
    }
  }
  if (fd >= 0)
    close(fd);
  osq_ev_row_int(row, t, "hashed", hashed);
  osq_ev_add("file_events", osq_ev_now(), row);
}

static void on_record(void *u, const osq_in_event *ev) {
  state *s = u;
  atomic_fetch_add(&stats.events, 1);
  if (ev->mask & IN_Q_OVERFLOW) {
    osq_ev_note_loss("inotify", &stats, 1,
                     "the inotify queue overflowed (IN_Q_OVERFLOW; see "
                     "/proc/sys/fs/inotify/max_queued_events)");
    return;
  }
  if (ev->wd < 0 || (size_t)ev->wd >= s->nw || s->w[ev->wd].path == NULL)
    return;
  watch *w = &s->w[ev->wd];
  if (ev->mask & IN_IGNORED) {
    free(w->path);
    w->path = NULL;
    s->count--;
    return;
  }
  char path[PATH_MAX];
  int n = ev->nlen ? snprintf(path, sizeof path, "%s/%.*s",
                              strcmp(w->path, "/") ? w->path : "",
                              (int)ev->nlen, ev->name)
                   : snprintf(path, sizeof path, "%s", w->path);
  if (n < 0 || n >= (int)sizeof path)
    return;
  size_t sub = w->sub;
  bool recursive = w->recursive;
  if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && (ev->mask & IN_ISDIR) &&
      recursive)
    add_watch(s, path, sub, true, 0); /* may move s->w */
  /* a directory's own IN_DELETE_SELF repeats its parent's IN_DELETE */
  if ((ev->mask & IN_DELETE_SELF) && ev->nlen == 0 && recursive)
    return;
  const char *action = action_of(ev->mask);
  const char *category = s->subs[sub].category;
  if (action == NULL || excluded(s, category, path))
    return;
  publish(path, category, action, ev->cookie);
  osq_ev_yara_file(path, category, action);
}

static void handle(state *s, const char *buf, size_t len) {
  osq_parse_counts c = {0};
  osq_in_parse(buf, len, on_record, s, &c);
  atomic_fetch_add(&stats.errors, c.malformed);
}

static void *run(void *arg) {
  (void)arg;
  char *buf = aligned_alloc(__alignof__(struct inotify_event), READ_BUF);
  int wait = -1;
  while (buf && !atomic_load(&stopping)) {
    pthread_mutex_lock(&lock);
    int fd = cur ? cur->fd : -1;
    pthread_mutex_unlock(&lock);
    struct pollfd p[2] = {{fd, POLLIN, 0}, {waker.rd, POLLIN, 0}};
    int rc = poll(p, 2, wait);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc < 0)
      break;
    if (p[1].revents & POLLIN) {
      char b[64];
      while (read(waker.rd, b, sizeof b) > 0)
        ;
      continue; /* stop, or a new state to poll */
    }
    pthread_mutex_lock(&lock);
    /* the state is only swapped under the lock: read and handle under it */
    while (cur && cur->fd == fd) {
      ssize_t n = read(fd, buf, READ_BUF);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      handle(cur, buf, (size_t)n);
    }
    pthread_mutex_unlock(&lock);
    wait = osq_ev_commit_due();
  }
  free(buf);
  osq_ev_commit();
  return NULL;
}

static unsigned count_subs(const state *s) { return (unsigned)s->nsubs; }

/* libcrypto initialises itself in the first thread that hashes, and
 * the per-thread state it makes then is never freed when that thread
 * exits: let the long-lived config thread do it, not the publisher. */
static void crypto_warm_up(void) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n;
  EVP_Digest("", 0, md, &n, EVP_md5(), NULL);
}

static int start(const json_t *cfg, char *err, size_t errlen) {
  crypto_warm_up();
  state *s = build(cfg);
  if (s == NULL) {
    snprintf(err, errlen, "cannot set up inotify watches");
    return -1;
  }
  atomic_store(&stopping, false);
  if (osq_ev_waker_open(&waker) != 0) {
    state_free(s);
    snprintf(err, errlen, "cannot create the stop pipe");
    return -1;
  }
  pthread_mutex_lock(&lock);
  cur = s;
  pthread_mutex_unlock(&lock);
  if (pthread_create(&thread, NULL, run, NULL) != 0) {
    pthread_mutex_lock(&lock);
    cur = NULL;
    pthread_mutex_unlock(&lock);
    state_free(s);
    osq_ev_waker_close(&waker);
    snprintf(err, errlen, "cannot start the publisher thread");
    return -1;
  }
  atomic_store(&stats.subscriptions, count_subs(s));
  return 0;
}

/* Do a and b ask for the same watches? (yara_events' part of the config
 * does not change them.) */
static bool same_watches(const json_t *a, const json_t *b) {
  static const char *const keys[] = {"file_paths", "exclude_paths",
                                     "file_accesses"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    json_t *x = json_object_get(a, keys[i]), *y = json_object_get(b, keys[i]);
    if (!(x == NULL && y == NULL) && !json_equal(x, y))
      return false;
  }
  return true;
}

static void reconfigure(const json_t *cfg) {
  pthread_mutex_lock(&lock);
  bool same = cur && same_watches(cur->cfg, cfg);
  pthread_mutex_unlock(&lock);
  if (same)
    return;
  state *s = build(cfg);
  if (s == NULL)
    return; /* keep watching what we watch */
  pthread_mutex_lock(&lock);
  state *old = cur;
  cur = s;
  pthread_mutex_unlock(&lock);
  osq_ev_waker_wake(&waker);
  /* events queued on the old instance belong to the old config: flush
   * them under the old categories before closing it */
  char *buf = aligned_alloc(__alignof__(struct inotify_event), READ_BUF);
  for (ssize_t n; buf && old && (n = read(old->fd, buf, READ_BUF)) > 0;)
    handle(old, buf, (size_t)n);
  free(buf);
  osq_ev_commit();
  state_free(old);
  atomic_store(&stats.subscriptions, count_subs(s));
  atomic_fetch_add(&stats.refreshes, 1);
  OSQ_VLOG("file_events: watching %zu paths for %zu patterns", s->count,
           s->nsubs);
}

static void stop(void) {
  atomic_store(&stopping, true);
  osq_ev_waker_wake(&waker);
  pthread_join(thread, NULL);
  osq_ev_waker_close(&waker);
  pthread_mutex_lock(&lock);
  state_free(cur);
  cur = NULL;
  pthread_mutex_unlock(&lock);
  atomic_store(&stats.subscriptions, 0);
}

const osq_ev_publisher osq_ev_inotify = {
    .name = "inotify",
    .tables = tables,
    .stats = &stats,
    .wanted = wanted,
    .start = start,
    .reconfigure = reconfigure,
    .stop = stop,
};
