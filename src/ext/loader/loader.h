/* Extension loading: the permission check, the autoload file, launching
 * extension processes and supervising them (restart with back-off, crash
 * loop give-up, memory/CPU limits, no orphans). Implemented in
 * src/ext/loader/.
 *
 * Room dependencies (one way): loader -> core, registry (its one table)
 * and ext/introspect.h (the manager's view of registered extensions, read
 * through a provider). It includes neither the manager nor the client.
 *
 * Threads: set-up (new, add_path, read_autoload, set_exit_hook, options)
 * before osq_loader_start, from one thread; start, stop and free from that
 * thread. The queries (count, pids, info, find_pid, each) and
 * osq_loader_restart_pid from any thread. One supervisor thread per loader
 * launches, reaps and restarts; the exit hook runs on it.
 *
 * The loader does not depend on the extension manager: the caller connects
 * the two (osq_loader_set_exit_hook -> osq_manager_remove_pid, and
 * osq_loader_pids -> osq_manager_wait_pid). Typical use:
 *
 *   osq_loader *l = osq_loader_new(osq_manager_socket(m), &settings);
 *   osq_loader_set_exit_hook(l, on_exit, m);
 *   osq_loader_read_autoload(l, OSQ_FLAG_STR(extensions_autoload), ...);
 *   osq_loader_add_path(l, OSQ_FLAG_STR(extension), false, ...);
 *   osq_loader_start(l);            // launches, returns once all forked
 *   ... osq_manager_wait_pid(m, pid, deadline) for each osq_loader_pids ...
 *   osq_loader_stop(l);             // before osq_manager_stop
 *   osq_loader_free(l);
 *
 * Threads: new/start/stop/free on one thread; info/pids/find: any thread.
 */
#ifndef OSQ_LOADER_H
#define OSQ_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ext/settings.h"

/* Bounds on outside input. */
#define OSQ_LOADER_MAX_EXTENSIONS 1024 /* paths one loader supervises */
#define OSQ_LOADER_MAX_LINE 4096       /* bytes in one autoload line */
#define OSQ_LOADER_MAX_LINES 4096      /* lines in an autoload file */
#define OSQ_LOADER_MAX_FILE (1 << 20)  /* bytes in an autoload file */

/* osqd's exit code when an --extensions_require name did not register
 * in time (osqi exits 1). Distinct from osquery's 78 (EXIT_CATASTROPHIC)
 * so supervisors can tell "extension missing" from "config broken". */
#define OSQ_EXIT_EXTENSION_REQUIRED 79

/* ---- permission check (perms.c) ---------------------------------------- */

enum {
  OSQ_PERM_AUTOLOAD = 1,     /* require the .ext suffix */
  OSQ_PERM_ALLOW_UNSAFE = 2, /* skip every rule (--allow_unsafe) */
};

/* Which rule refused a file (each has its own message). */
typedef enum osq_perm_rule {
  OSQ_PERM_OK = 0,
  OSQ_PERM_SUFFIX,        /* autoloaded path without .ext */
  OSQ_PERM_MISSING,       /* cannot be opened / does not exist */
  OSQ_PERM_SYMLINK,       /* the path itself is a symbolic link */
  OSQ_PERM_NOT_REGULAR,   /* directory, device, fifo ... */
  OSQ_PERM_OWNER,         /* not owned by root or the running user */
  OSQ_PERM_NOT_EXEC,      /* owner execute bit clear */
  OSQ_PERM_GROUP_WRITE,   /* file writable by group */
  OSQ_PERM_OTHER_WRITE,   /* file writable by others */
  OSQ_PERM_DIR_STICKY,    /* a parent directory is sticky (/tmp-like) */
  OSQ_PERM_DIR_WRITE,     /* a parent directory is group/other writable */
  OSQ_PERM_DIR_OWNER,     /* a parent directory owned by someone else */
  OSQ_PERM_DIR_ERROR,     /* a parent directory cannot be examined */
} osq_perm_rule;

/* Check path and open it. On success returns OSQ_PERM_OK and *fd is an
 * O_RDONLY|O_CLOEXEC descriptor of the very inode checked (execute it with
 * osq_launch so nothing can be swapped in between). On failure returns
 * the rule and err holds "refusing PATH: WHAT (FOUND); FIX". */
osq_perm_rule osq_perm_check(const char *path, unsigned flags, int *fd,
                             char *err, size_t errlen);
const char *osq_perm_rule_name(osq_perm_rule r);

/* ---- launching one process (launch.c) ----------------------------------- */

typedef struct osq_launch_args {
  int exec_fd;              /* from osq_perm_check */
  const char *path;         /* argv[0] */
  const char *socket;       /* --socket */
  const char *timeout;      /* --timeout */
  const char *interval;     /* --interval */
  bool verbose;             /* pass --verbose */
} osq_launch_args;

/* fork + execveat(exec_fd): the child gets default signal handlers and an
 * empty mask, its own process group, PR_SET_PDEATHSIG=SIGKILL, stdin from
 * /dev/null, stdout onto stderr, no other descriptors, and the env
 * OSQUERY_EXTENSION=<its pid>. Returns the pid once exec succeeded, or -1
 * with the reason in err (the failed child has been reaped). Call it from
 * a thread that lives as long as the child should (PDEATHSIG follows the
 * forking thread). */
pid_t osq_launch(const osq_launch_args *a, char *err, size_t errlen);

/* ---- resource limits (watchdog_limits.c) --------------------------------- */

/* The limits themselves: osq_wd_limits in ext/settings.h. */

typedef struct osq_proc_sample {
  uint64_t cpu_ms; /* utime + stime */
  uint64_t rss_bytes;
  pid_t ppid;
  char state; /* 'R', 'S', 'T' (stopped) ... */
} osq_proc_sample;

/* Read /proc/<pid>/stat and statm (bounded). 0, or -errno. */
int osq_proc_sample_read(pid_t pid, osq_proc_sample *s);
/* Parse the text of /proc/<pid>/stat (exposed for tests). */
int osq_proc_parse_stat(const char *text, size_t len, uint64_t *ticks,
                        pid_t *ppid);

/* ---- the loader (supervise.c, autoload.c) -------------------------------- */

typedef struct osq_loader osq_loader;

/* Tunables; osq_loader_new fills them from the settings. Tests shorten
 * them. */
typedef struct osq_loader_opts {
  int64_t backoff_base_ms;   /* first restart delay (1000) */
  int64_t backoff_max_ms;    /* cap (watchdog_max_delay s) */
  int64_t stable_ms;         /* a run this long resets back-off (60000) */
  unsigned giveup_deaths;    /* this many deaths ... (5) */
  int64_t giveup_window_ms;  /* ... within this window: give up (120000) */
  int64_t check_interval_ms; /* resource check period (3000) */
  int64_t stop_timeout_ms;   /* osq_loader_stop: SIGTERM -> SIGKILL */
  osq_wd_limits limits;
} osq_loader_opts;

/* manager_socket: passed to each extension as --socket. settings (copied;
 * NULL: osquery's defaults) give the extensions' --timeout/--interval,
 * --verbose, --allow_unsafe and the resource limits. */
osq_loader *osq_loader_new(const char *manager_socket,
                           const osq_ext_settings *settings);
osq_loader_opts *osq_loader_options(osq_loader *l); /* before start */
/* Stops (if needed) and frees. */
void osq_loader_free(osq_loader *l);

/* Called from the supervisor thread, with no lock held, after a child
 * has exited and been reaped (e.g. osq_manager_remove_pid). */
typedef void (*osq_loader_exit_hook)(pid_t pid, const char *path,
                                     void *udata);
void osq_loader_set_exit_hook(osq_loader *l, osq_loader_exit_hook fn,
                              void *udata);

/* Check path now (osq_perm_check; settings' allow_unsafe honoured) and keep the
 * descriptor for the first launch. from_autoload requires .ext. The same
 * file (device+inode) added twice is kept once (returns 0, not an error).
 * 0, or -1 with the message in err. */
int osq_loader_add_path(osq_loader *l, const char *path, bool from_autoload,
                        char *err, size_t errlen);

/* Read an autoload file: one path a line, '#'/';' comments, blank lines
 * skipped, a directory adds its regular files (sorted, not recursive).
 * Each refused line or file is logged as a warning naming file:line and
 * the rule, and skipped. Returns how many paths were added; a missing
 * file adds none (0); -1 (err set) if the file is unreadable or
 * exceeds the bounds. */
int osq_loader_read_autoload(osq_loader *l, const char *file, char *err,
                             size_t errlen);

/* Parse autoload text (exposed for tests); calls add for each candidate
 * path with its line number. Returns candidates found or -1. */
typedef void (*osq_autoload_fn)(const char *path, unsigned line,
                                void *udata);
int osq_autoload_parse(const char *text, size_t len, const char *file,
                       osq_autoload_fn fn, void *udata, char *err,
                       size_t errlen);

/* Sets OSQUERY_EXTENSIONS=true in this process's environment (osquery's
 * "managed extensions exist" signal, inherited by a worker), starts the
 * supervisor thread and returns once every extension has been launched
 * (or failed to). Returns how many are running. */
int osq_loader_start(osq_loader *l);
/* SIGTERM every child (and its process group), wait up to
 * stop_timeout_ms, SIGKILL the rest, reap all, join the thread. Stop the
 * loader before the manager the exit hook refers to. */
void osq_loader_stop(osq_loader *l);

/* A supervised extension is hung (e.g. it failed the manager's health
 * check): kill it (its process group, SIGKILL) and restart it as after a
 * crash, with back-off. pid is the registering peer: the child itself or
 * a descendant of it. Any thread; the supervisor thread does the work.
 * false if no running child matches. */
bool osq_loader_restart_pid(osq_loader *l, pid_t pid, const char *why);

size_t osq_loader_count(const osq_loader *l);
/* Pids of running children; returns how many (at most cap written). */
size_t osq_loader_pids(osq_loader *l, pid_t *out, size_t cap);

typedef enum osq_ext_state {
  OSQ_EXT_PENDING = 0, /* not launched yet */
  OSQ_EXT_RUNNING,
  OSQ_EXT_STOPPING,    /* over a limit: SIGTERM sent */
  OSQ_EXT_BACKOFF,     /* dead, restart scheduled */
  OSQ_EXT_FAILED,      /* gave up (crash loop or unsafe on relaunch) */
  OSQ_EXT_STOPPED,     /* loader stopped */
} osq_ext_state;
const char *osq_ext_state_name(osq_ext_state s);

typedef struct osq_ext_proc_info {
  char path[OSQ_LOADER_MAX_LINE];
  pid_t pid;            /* 0 when not running */
  osq_ext_state state;
  bool from_autoload;
  unsigned restarts;
  int64_t started_unix; /* last start, seconds */
  int64_t last_backoff_ms; /* delay before the latest restart */
  uint64_t rss_bytes;   /* last sample */
  double cpu_percent;   /* of one CPU over the last check */
  char last_exit[256];  /* "exited with 1", "killed by signal 9", ... */
} osq_ext_proc_info;

/* Snapshot of child i (< osq_loader_count). false if out of range. */
bool osq_loader_info(osq_loader *l, size_t i, osq_ext_proc_info *out);
/* Find a supervised process by pid in any live loader (for the
 * manager's osquery_extensions view). */
bool osq_loader_find_pid(pid_t pid, osq_ext_proc_info *out);

/* After registration: wait until the extension's own socket
 * (<manager_socket>.<uuid>) accepts connections, as SDKs register first and
 * listen second. Polls connect() (1 ms, doubling to 16 ms) until deadline_ms
 * (CLOCK_MONOTONIC ms). */
bool osq_loader_wait_ext_socket(const char *manager_socket, int64_t uuid,
                                int64_t deadline_ms);

/* Visit a snapshot of every supervised process of every live loader. */
void osq_loader_each(void (*fn)(const osq_ext_proc_info *, void *),
                     void *udata);

/* Register the osq_extension_processes table (idempotent;
 * osq_loader_start calls it). */
void osq_loader_register_table(void);

#endif
