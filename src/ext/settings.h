/* Settings of the extension system (manager, loader, client), passed in at
 * start. Code in src/ext/ never reads global flags: the shell and the
 * daemon fill this struct from osquery's flags
 * (osq_ext_settings_from_flags in src/settings/ext_settings.h) and hand it to
 * osq_manager_start and osq_loader_new, which keep a copy. Tests fill it
 * directly.
 *
 * Threads: a plain value; each user copies it before starting threads. */
#ifndef OSQ_EXT_SETTINGS_H
#define OSQ_EXT_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Resource limits for supervised extensions (osquery's watchdog levels
 * and override flags). */
typedef struct osq_wd_limits {
  bool enabled;            /* enable_extensions_watchdog and level != -1 */
  uint64_t memory_bytes;   /* absolute RSS limit */
  uint64_t utilization;    /* percent of all CPUs */
  uint64_t latency_s;      /* seconds of sustained over-use */
  int64_t delay_ms;        /* grace after each start (watchdog_delay) */
  int64_t forced_shutdown_ms; /* SIGTERM -> SIGKILL */
  int64_t max_delay_ms;    /* back-off cap (watchdog_max_delay) */
} osq_wd_limits;

/* Calls to extensions and the decoding of what arrives (client and
 * manager connections alike). */
typedef struct osq_thrift_settings {
  int64_t call_timeout_ms; /* --thrift_timeout; 0: no deadline */
  size_t max_message;      /* --thrift_max_message_size; 0: codec default */
  size_t string_limit;     /* --thrift_string_size_limit; 0: none */
} osq_thrift_settings;

struct osq_option_list; /* thrift/api.h */
/* Fills the answer to the manager's `options` call (osquery: every flag
 * with its value, default and type). OSQ_OK or OSQ_ENOMEM. */
typedef int (*osq_ext_options_fn)(struct osq_option_list *out);

typedef struct osq_ext_settings {
  osq_thrift_settings thrift;
  osq_ext_options_fn list_options; /* NULL: an empty list */

  /* --extensions_timeout / --extensions_interval as given (osquery reads
   * them with atoi); passed on to launched extensions unchanged. */
  char timeout_arg[32], interval_arg[32];
  int64_t timeout_ms;  /* registration grace, >= OSQ_EXT_MIN_PERIOD_MS */
  int64_t interval_ms; /* health check period, >= OSQ_EXT_MIN_PERIOD_MS */

  /* the manager's socket */
  /* --extensions_socket_mode and _group as given; osq_manager_start
   * checks them and refuses to start on a bad one. */
  char socket_mode[64];   /* octal, e.g. "0600" */
  char socket_group[256]; /* name, gid or "" */
  uint32_t max_connections; /* --extensions_max_connections; 0: no cap */
  /* Connections one peer process may hold; 0: half of max_connections
   * (all of a cap below 8; 512 without a cap), so no single peer takes
   * every slot. */
  uint32_t max_connections_per_peer;
  /* A request must arrive whole within this long of its first byte (and
   * a new connection must start one within idle_ms); 0: defaults. */
  int64_t request_deadline_ms;
  /* How long an extension has to answer a health ping. A hung extension
   * (stopped, deadlocked) is removed after one missed ping. */
  int64_t ping_deadline_ms;

  /* the loader */
  bool verbose;        /* pass --verbose to extensions */
  bool allow_unsafe;   /* --allow_unsafe: skip the permission rules */
  bool watchdog_debug; /* --enable_watchdog_debug */
  osq_wd_limits limits;
} osq_ext_settings;

#define OSQ_EXT_MIN_PERIOD_MS 200
#define OSQ_EXT_DEFAULT_REQUEST_DEADLINE_MS 10000
#define OSQ_EXT_DEFAULT_PING_DEADLINE_MS 5000

/* osquery's defaults (as if no flag was given). */
void osq_ext_settings_defaults(osq_ext_settings *s);
/* Seconds as osquery reads --extensions_timeout/interval (atoi) to ms,
 * at least OSQ_EXT_MIN_PERIOD_MS. */
int64_t osq_ext_seconds_arg_ms(const char *text);

#endif
