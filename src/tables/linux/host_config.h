/* Inputs of crontab, system_controls and logged_in_users (tests point them
 * elsewhere). NULL-terminated lists.
 *
 * Threads: set before any query (tests); then read-only from any thread. */
#ifndef OSQ_TABLES_HOST_CONFIG_H
#define OSQ_TABLES_HOST_CONFIG_H

extern const char *osq_tables_cron_files[]; /* /etc/crontab */
extern const char *osq_tables_cron_dirs[];  /* /etc/cron.d, spools */
extern const char *osq_tables_utmp_path;    /* /var/run/utmp */
extern const char *osq_tables_proc_sys;     /* /proc/sys */

#endif
