/* osquery's extra SQL functions and collations. */
#include "sql_internal.h"

int osq_sql_register_functions(sqlite3 *db, char *err, size_t errlen) {
  (void)db, (void)err, (void)errlen;
  return SQLITE_OK;
}
