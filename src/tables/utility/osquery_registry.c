/* osquery_registry: every plugin of every registry, core plugins first. */
#include "core/flags.h"
#include "registry/registry.h"
#include "tables/builtin.h"

#include <string.h>

enum { C_REGISTRY, C_NAME, C_OWNER_UUID, C_INTERNAL, C_ACTIVE };

static const osq_column columns[] = {
    {"registry", OSQ_TYPE_TEXT, 0},      {"name", OSQ_TYPE_TEXT, 0},
    {"owner_uuid", OSQ_TYPE_INTEGER, 0}, {"internal", OSQ_TYPE_INTEGER, 0},
    {"active", OSQ_TYPE_INTEGER, 0},
};

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  int rc = OSQ_OK;
  bool no_logging = OSQ_FLAG_BOOL(disable_logging);
  bool no_events = OSQ_FLAG_BOOL(disable_events);
  for (int k = 0; k < OSQ_REGISTRY_COUNT && rc == OSQ_OK; k++) {
    const char *reg = osq_registry_name((osq_registry_kind)k);
    const osq_plugin **list = NULL;
    size_t n = osq_registry_list((osq_registry_kind)k, &list);
    /* osquery lists a registry's own plugins, then extension routes. */
    for (int pass = 0; pass < 2 && rc == OSQ_OK; pass++) {
      for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
        const osq_plugin *p = list[i];
        bool core = p->owner == OSQ_CORE_UUID;
        if (core != (pass == 0))
          continue;
        bool active = osq_registry_is_active((osq_registry_kind)k, p->name);
        if (k == OSQ_REGISTRY_LOGGER && no_logging)
          active = false;
        if (strstr(reg, "event") != NULL && no_events)
          active = false;
        osq_rows_cstr(out, C_REGISTRY, reg);
        osq_rows_cstr(out, C_NAME, p->name);
        osq_rows_int(out, C_OWNER_UUID, (int64_t)p->owner);
        osq_rows_int(out, C_INTERNAL, p->internal ? 1 : 0);
        osq_rows_int(out, C_ACTIVE, active ? 1 : 0);
        rc = osq_rows_end(out);
      }
    }
    osq_registry_list_free(list, n);
  }
  return rc;
}

const osq_table_plugin osq_table_osquery_registry = {
    .name = "osquery_registry",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_UTILITY,
    .generate = generate,
};
