/* What the publishers and event tables in src/events/ share. */
#ifndef OSQ_EVENTS_INTERNAL_H
#define OSQ_EVENTS_INTERNAL_H

#include "events/events.h"

/* A publisher: one kernel source, one thread. cfg is the merged events
 * part of the config: {"file_paths": {category: [pattern...]},
 * "exclude_paths": {...}, "file_accesses": [category...],
 * "yara_file_paths": {category: [signature group...]}}. */
typedef struct osq_ev_publisher {
  const char *name;
  const char *const *tables; /* the event tables it feeds, NULL-ended */
  osq_ev_stats *stats;
  /* Do the flags and cfg ask for this publisher? */
  bool (*wanted)(const json_t *cfg);
  /* Start the thread; 0, or -1 with err. */
  int (*start)(const json_t *cfg, char *err, size_t errlen);
  /* Running: take new subscriptions from cfg (NULL: nothing to do). */
  void (*reconfigure)(const json_t *cfg);
  /* Stop and join the thread. */
  void (*stop)(void);
} osq_ev_publisher;

extern const osq_ev_publisher osq_ev_proc_connector;
extern const osq_ev_publisher osq_ev_inotify;
extern const osq_ev_publisher osq_ev_audit;
extern const osq_ev_publisher osq_ev_syslog;
extern const osq_ev_publisher osq_ev_udev;

extern const osq_table_plugin osq_table_process_events;
extern const osq_table_plugin osq_table_file_events;
extern const osq_table_plugin osq_table_socket_events;
extern const osq_table_plugin osq_table_syslog_events;
extern const osq_table_plugin osq_table_hardware_events;
extern const osq_table_plugin osq_table_user_events;
extern const osq_table_plugin osq_table_seccomp_events;
extern const osq_table_plugin osq_table_process_file_events;
extern const osq_table_plugin osq_table_selinux_events;
extern const osq_table_plugin osq_table_apparmor_events;

extern const osq_table_plugin osq_table_yara_events;

/* yara_events (yara_events.c), a subscriber of the inotify publisher.
 * configure: take cfg's "yara_file_paths" (category -> [signature
 * group]); from the config thread. file: the publisher hands it each
 * change it stores in file_events; scans and stores a row when a rule
 * matched (publisher thread). shutdown: forget the config. */
void osq_ev_yara_configure(const json_t *cfg);
void osq_ev_yara_file(const char *path, const char *category,
                      const char *action);
void osq_ev_yara_shutdown(void);

/* A row under construction: the stored JSON array's values, written as
 * they are set (a column set twice keeps the last). new: NULL when out of
 * memory; the setters then do nothing, and osq_ev_add(NULL) drops. free:
 * a row not handed to osq_ev_add. Columns the table lacks are ignored. */
osq_ev_row *osq_ev_row_new(const osq_table_plugin *table);
void osq_ev_row_free(osq_ev_row *row);
void osq_ev_row_int(osq_ev_row *row, const osq_table_plugin *table,
                    const char *col, int64_t v);
void osq_ev_row_str(osq_ev_row *row, const osq_table_plugin *table,
                    const char *col, const char *s);
void osq_ev_row_strn(osq_ev_row *row, const osq_table_plugin *table,
                     const char *col, const char *s, size_t len);

/* After a read burst: commit if the last commit is COMMIT_EVERY_MS old
 * (batching commits under load; a query commits before it reads anyway).
 * Returns how long the caller may wait before calling again, -1 if
 * nothing is left uncommitted. */
int osq_ev_commit_due(void);

/* A stop pipe for a publisher's poll loop. */
typedef struct osq_ev_waker {
  int rd, wr;
} osq_ev_waker;
int osq_ev_waker_open(osq_ev_waker *w);
void osq_ev_waker_wake(osq_ev_waker *w);
void osq_ev_waker_close(osq_ev_waker *w);

/* Unix time now, in seconds. */
int64_t osq_ev_now(void);

#endif
