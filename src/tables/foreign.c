/* osquery's tables of other platforms, registered empty when
 * --enable_foreign is on: a query or pack written for macOS or Windows
 * then parses and returns no rows instead of failing on an unknown table.
 * As in osquery, such a table has its spec's columns (options included)
 * and table aliases, and no attributes. */
#include "tables/foreign.h"

#include "core/log.h"
#include "registry/registry.h"

typedef struct foreign_table {
  const char *name;
  const osq_column *columns;
  size_t ncolumns;
  const char *const *aliases; /* NULL-terminated, or NULL */
} foreign_table;

#include "tables/foreign_tables.inc"

enum { NFOREIGN = sizeof foreign_tables / sizeof *foreign_tables };

static int generate_nothing(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx, (void)out, (void)udata;
  return OSQ_OK;
}

/* The registry keeps pointers to the plugins: they live as long as the
 * process. */
static osq_table_plugin plugins[NFOREIGN];

size_t osq_tables_foreign_count(void) { return NFOREIGN; }

const char *osq_tables_foreign_name(size_t i) {
  return i < NFOREIGN ? foreign_tables[i].name : NULL;
}

int osq_tables_register_foreign(void) {
  osq_plugin_spec specs[NFOREIGN];
  size_t n = 0;
  for (size_t i = 0; i < NFOREIGN; i++) {
    /* A table of this name is already there (a second call, or an
     * extension's): it wins, as a real table would. */
    if (osq_registry_exists(OSQ_REGISTRY_TABLE, foreign_tables[i].name))
      continue;
    plugins[i] = (osq_table_plugin){.name = foreign_tables[i].name,
                                    .columns = foreign_tables[i].columns,
                                    .ncolumns = foreign_tables[i].ncolumns,
                                    .aliases = foreign_tables[i].aliases,
                                    .generate = generate_nothing};
    specs[n++] = (osq_plugin_spec){.kind = OSQ_REGISTRY_TABLE,
                                   .plugin = &plugins[i],
                                   .owner = OSQ_CORE_UUID,
                                   .internal = false};
  }
  if (n == 0)
    return OSQ_OK;
  char err[256];
  int rc = osq_registry_add_all(specs, n, err, sizeof err);
  if (rc != OSQ_OK)
    OSQ_ERR("Cannot register the foreign tables: %s", err);
  return rc;
}
