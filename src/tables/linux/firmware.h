/* Where acpi_tables, msr and intel_me_info look (tests point them at
 * fixtures).
 *
 * Threads: set before any query (tests); then read-only from any thread. */
#ifndef OSQ_TABLES_FIRMWARE_H
#define OSQ_TABLES_FIRMWARE_H

extern const char *osq_tables_acpi_path; /* /sys/firmware/acpi/tables */
extern const char *osq_tables_cpu_dev;   /* /dev/cpu */
extern const char *osq_tables_mei_path;  /* /dev/mei0 */

#endif
