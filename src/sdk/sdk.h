/* libosqext internals: the extension handle and its parts (flags, the
 * server, the watcher).
 *
 * Threads: run, connection and watcher threads; shared fields: ext->lock. */
#ifndef OSQ_SDK_H
#define OSQ_SDK_H

#include <osq/extension.h>

#include <pthread.h>
#include <stdatomic.h>

#include "thrift/dispatch.h"

#define OSQ_SDK_KINDS OSQ_REGISTRY_COUNT
#define OSQ_SDK_POOL 4                  /* idle manager connections kept */
#define OSQ_SDK_CONNECT_MS 10000        /* like osquery's pre-ping */
#define OSQ_SDK_RPC_MS 300000           /* osquery's --thrift_timeout */
#define OSQ_SDK_POLL_MS 20              /* waiting for the core */
#define OSQ_SDK_MAX_SECONDS 86400.0     /* --timeout / --interval bound */
#define OSQ_SDK_JOIN_MS 5000            /* at exit, for a busy plugin */
#define OSQ_SDK_STACK (1024 * 1024)     /* per connection thread: plugins
                                           run on it */
#define OSQ_SDK_IDLE 4                  /* connection threads kept waiting */

/* Parsed command line (see args.c). */
typedef struct osq_sdk_args {
  char *socket;    /* manager socket */
  double timeout;  /* seconds to wait for the core */
  double interval; /* seconds between checks of the core */
  bool verbose;
  bool help;
} osq_sdk_args;

/* Returns OSQ_OK, or OSQ_EINVAL with the flag and the rule in err. */
int osq_sdk_args_parse(osq_sdk_args *a, int argc, char **argv,
                       const char *default_socket, char *err, size_t errlen);
void osq_sdk_args_free(osq_sdk_args *a);

/* A connection thread's slot; fields guarded by ext->lock. */
struct osq_sdk_conn {
  osq_extension *ext;
  pthread_t thread;
  pthread_cond_t cond; /* an idle thread waits here for its next fd */
  int fd;              /* being served or handed over; -1 when none */
  bool used;           /* a thread owns the slot */
  bool idle;           /* waiting for a connection */
  bool done;           /* the thread has finished; join it */
  bool shutdown_asked; /* this connection asked for shutdown() */
};

struct osq_extension {
  char *name, *version;
  struct {
    const void **items; /* osq_table_plugin * etc. */
    size_t n, cap;
  } plugins[OSQ_SDK_KINDS];
  size_t nplugins;
  struct {
    void **items; /* current-layout copies of older extensions' structs */
    size_t n, cap;
  } copies;

  /* set by run */
  osq_sdk_args args;
  char *socket_path;
  atomic_int_fast64_t uuid;
  osq_option_list options;
  bool running;

  pthread_mutex_t lock; /* guards conns, pool, stop fields */
  struct osq_sdk_conn conns[OSQ_EXT_MAX_CONNECTIONS];
  size_t nidle;  /* connection threads waiting for work */
  bool quitting; /* connection threads end instead of waiting */
  osq_tconn *pool[OSQ_SDK_POOL];
  size_t npool;
  int wake[2]; /* self-pipe: signals, shutdown(), the watcher */
  bool stop_set;
  int stop_code;
  bool stop_deregister;
  char stop_reason[512];

  atomic_int busy_at_exit; /* threads left running: the handle is kept */
  pthread_t watcher;
  bool watcher_started;
  pthread_cond_t watcher_cond;
  bool watcher_quit;
};

/* Record why the extension stops (first reason wins) and wake run(). */
void osq_sdk_request_stop(osq_extension *ext, int code, bool deregister,
                          const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The plugin of a registry kind by name, or NULL. */
const void *osq_sdk_find(const osq_extension *ext, int kind, const char *name);
/* -1 if not one of the four */
static inline int osq_sdk_kind(const char *registry) {
  return osq_registry_from_name(registry);
}

/* server.c: the Extension service on the listening socket. Returns the
 * listening descriptor, or a negative OSQ_E* code with the reason in
 * err: OSQ_EINVAL (path too long), OSQ_EEXIST (a non-socket is in the
 * way), OSQ_EIO. */
int osq_sdk_listen(osq_extension *ext, char *err, size_t errlen);
/* Accept one pending connection and start its thread. OSQ_EIO when the
 * process is out of descriptors or memory (the caller backs off). */
int osq_sdk_accept(osq_extension *ext, int listen_fd);
/* Join finished connection threads; with all=true close and join every
 * connection (bounded wait). */
void osq_sdk_reap(osq_extension *ext, bool all);

/* watch.c */
int osq_sdk_watch_start(osq_extension *ext);
void osq_sdk_watch_stop(osq_extension *ext);

/* A manager connection from the pool (or a new one); give it back with
 * osq_sdk_put_conn(ext, c, ok) — a connection that failed is closed. */
osq_tconn *osq_sdk_get_conn(osq_extension *ext, int *err);
void osq_sdk_put_conn(osq_extension *ext, osq_tconn *c, bool ok);

#endif
