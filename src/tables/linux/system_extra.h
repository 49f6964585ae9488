/* Inputs of kernel_modules, last, block_devices and sudoers (tests point
 * them elsewhere).
 *
 * Threads: set before any query (tests); then read-only from any thread. */
#ifndef OSQ_TABLES_SYSTEM_EXTRA_H
#define OSQ_TABLES_SYSTEM_EXTRA_H

extern const char *osq_tables_modules_path; /* /proc/modules */
extern const char *osq_tables_wtmp_path;    /* /var/log/wtmp */
extern const char *osq_tables_sys_block;    /* /sys/block */
extern const char *osq_tables_sudoers_path; /* /etc/sudoers */

#endif
