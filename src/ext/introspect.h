/* What the introspection tables (osquery_extensions, osquery_info) need
 * from the extension manager, without the tables depending on it: the
 * manager installs a provider when it starts. It sits beside the three
 * rooms (manager/, loader/, client/) because both the manager (which
 * provides) and the loader (whose table reads it) use it; it includes
 * nothing of theirs.
 *
 * Threads: any thread (a lock guards the provider and the path). */
#ifndef OSQ_INTROSPECT_H
#define OSQ_INTROSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct osq_ext_view {
  int64_t uuid;
  char *name, *version, *sdk_version, *min_sdk_version;
  char *path; /* the extension's socket */
  /* supervision, when osq launched it (else pid 0) */
  int64_t pid;
  int64_t restarts;
  int64_t rss_bytes;
  double cpu_percent;
} osq_ext_view;

typedef size_t (*osq_ext_provider)(osq_ext_view **out);

/* The manager's socket path (NULL: no manager running) and its list. */
void osq_introspect_set_manager(const char *socket_path,
                                osq_ext_provider provider);
/* Copy of the socket path or NULL; caller frees. */
char *osq_introspect_socket(void);
/* Registered extensions (not the core); free with osq_introspect_free. */
size_t osq_introspect_extensions(osq_ext_view **out);
void osq_introspect_free(osq_ext_view *v, size_t n);

#endif
