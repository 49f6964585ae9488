/* A prefix for the system directories startup_items reads (tests point it
 * at a fixture root; with one set, systemd's units are not asked for). */
#ifndef OSQ_TABLES_STARTUP_ITEMS_H
#define OSQ_TABLES_STARTUP_ITEMS_H

extern const char *osq_tables_startup_root; /* default "" */

#endif
