/* The DMI table the SMBIOS tables read (tests point it at a fixture).
 *
 * Threads: set before any query (tests); then read-only from any thread. */
#ifndef OSQ_TABLES_SMBIOS_H
#define OSQ_TABLES_SMBIOS_H

/* default /sys/firmware/dmi/tables/DMI */
extern const char *osq_tables_dmi_path;

#endif
