/* Internals of the extension manager shared by manager.c (socket, threads,
 * lifecycle, waits), registration.c (the ExtensionManager methods) and
 * health.c (the watcher).
 *
 * Threads: the manager's threads; fields of osq_manager under its `lock`. */
#ifndef OSQ_MANAGER_IMPL_H
#define OSQ_MANAGER_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "thrift/api.h"
#include "manager.h"
#include "ext/client/remote.h"

#define OSQ_MANAGER_SDK_MIN "1.7.7" /* kSDKVersionChanges */
/* How long a released uuid stays unusable: long enough for an old
 * extension (its watcher pings every --interval, default 1-5 s) to notice
 * that it is gone before a newcomer could listen on the same path. */
#define OSQ_MANAGER_UUID_QUARANTINE_MS 60000
#define OSQ_MANAGER_HEALTH_MIN_MS 200
#define OSQ_MANAGER_SHUTDOWN_RPC_MS 2000
#define OSQ_MANAGER_REFUSE_LOG_MS 10000

struct osq_ext_rec {
  int64_t uuid;
  osq_ext_info info; /* owned copies */
  char *path;        /* <manager>.<uuid> */
  pid_t pid;         /* registering peer (SO_PEERCRED) */
  uid_t uid;
  osq_remote_ext *remote;
  bool pending; /* reserved while its routes are being added */
  bool checked; /* passed a health check (its socket grace is over) */
  int64_t registered_ms;
  struct osq_ext_rec *next;
};

struct osq_conn_rec {
  struct osq_manager *m;
  osq_tconn *conn; /* set by its thread before serving */
  int fd;
  pid_t pid;
  uid_t uid;
  gid_t gid;
  struct osq_conn_rec *next;
};

struct osq_manager {
  char *path;
  osq_ext_settings set;
  int listen_fd;
  int wake[2]; /* wakes the accept loop at stop */
  pthread_t accept_th, health_th;
  bool health_started, accept_started;
  pthread_mutex_t lock;
  pthread_cond_t changed; /* CLOCK_MONOTONIC: registrations, stop */
  struct osq_ext_rec *exts;
  struct osq_conn_rec *conns;
  size_t nconns;
  pthread_cond_t conns_done;
  /* refused-connection warnings: at most one per OSQ_MANAGER_REFUSE_LOG_MS
   * (an attacker must not flood the log), with a count of the rest */
  int64_t refuse_logged_ms;
  unsigned refused_quiet;
  _Atomic bool stopping; /* read without the lock by the threads */
  bool has_group;
  gid_t group;
  uint32_t next_uuid;
  osq_manager_unhealthy_hook on_unhealthy; /* under lock */
  void *on_unhealthy_udata;
  unsigned hook_calls; /* in progress; replacing the hook waits for 0 */
  /* per uuid: CLOCK_MONOTONIC ms until which it may not be handed out
   * (calloc'd: untouched pages cost nothing) */
  int64_t *quarantine;
};

/* registration.c */
extern const osq_api_handlers osq_manager_handlers; /* u: osq_conn_rec */
bool osq_version_at_least(const char *required, const char *actual);
/* Remove under no lock; returns false if the uuid is unknown. cut: also
 * cut its calls in flight (it is dead), else let them finish. */
bool osq_manager_drop(struct osq_manager *m, int64_t uuid, const char *why,
                      bool cut);
void osq_ext_rec_free(struct osq_ext_rec *r);

/* health.c */
void *osq_manager_health_main(void *m);

/* manager.c */
/* The state letter ('R', 'S', 'T' ...) and parent of a process, from
 * /proc/<pid>/stat (bounded read). false if it cannot be read. */
bool osq_manager_proc_stat(pid_t pid, char *state, pid_t *ppid);
/* Deadlines around a handler: the request has been read (its deadline
 * ends, the handler itself may take long), and the reply must then be
 * written within the reply deadline. */
void osq_manager_request_read(struct osq_conn_rec *cr);
void osq_manager_reply_due(struct osq_conn_rec *cr);
/* Wait on m->changed until deadline (0: none); caller holds m->lock.
 * false once the deadline has passed. */
bool osq_manager_timedwait(struct osq_manager *m, int64_t deadline_ms);

#endif
