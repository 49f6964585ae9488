/* osquery_extensions: the core and every registered extension. */
#include "core/flags.h"
#include "ext/introspect.h"
#include "tables/builtin.h"

#include <stdlib.h>

enum { C_UUID, C_NAME, C_VERSION, C_SDK_VERSION, C_PATH, C_TYPE };

static const osq_column columns[] = {
    {"uuid", OSQ_TYPE_BIGINT, 0},
    {"name", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"sdk_version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"path", OSQ_TYPE_TEXT, 0},
    {"type", OSQ_TYPE_TEXT, 0},
};

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  char *socket = osq_introspect_socket();
  if (socket == NULL)
    return OSQ_OK; /* no manager: osquery shows nothing */
  /* osquery's getExtensions() swaps sdk_version and min_sdk_version, so
   * the core shows "0.0.0" and each extension its min_sdk_version; tools
   * that parse this table expect exactly that. */
  osq_rows_int(out, C_UUID, 0);
  osq_rows_cstr(out, C_NAME, "core");
  osq_rows_cstr(out, C_VERSION, OSQ_VERSION);
  osq_rows_cstr(out, C_SDK_VERSION, "0.0.0");
  osq_rows_cstr(out, C_PATH, socket);
  osq_rows_cstr(out, C_TYPE, "core");
  int rc = osq_rows_end(out);
  free(socket);
  osq_ext_view *v = NULL;
  size_t n = osq_introspect_extensions(&v);
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    osq_rows_int(out, C_UUID, v[i].uuid);
    osq_rows_cstr(out, C_NAME, v[i].name ? v[i].name : "");
    osq_rows_cstr(out, C_VERSION, v[i].version ? v[i].version : "");
    osq_rows_cstr(out, C_SDK_VERSION,
                  v[i].min_sdk_version ? v[i].min_sdk_version : "");
    osq_rows_cstr(out, C_PATH, v[i].path ? v[i].path : "");
    osq_rows_cstr(out, C_TYPE, "extension");
    rc = osq_rows_end(out);
  }
  osq_introspect_free(v, n);
  return rc;
}

const osq_table_plugin osq_table_osquery_extensions = {
    .name = "osquery_extensions",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_UTILITY,
    .generate = generate,
};
