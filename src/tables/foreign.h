/* osquery's tables of other platforms as empty tables (--enable_foreign).
 *
 * Threads: register on the main thread at start-up. */
#ifndef OSQ_TABLES_FOREIGN_H
#define OSQ_TABLES_FOREIGN_H

#include <stddef.h>

/* Register every foreign table not already registered, each returning no
 * rows. Returns 0 or a negative OSQ_E* code. */
int osq_tables_register_foreign(void);

/* The foreign tables osq knows, in name order (tests, docs). */
size_t osq_tables_foreign_count(void);
const char *osq_tables_foreign_name(size_t i);

#endif
