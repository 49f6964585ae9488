/* osquery_flags: every flag with its type, default and current value.
 * osquery's columns, plus a hidden one (not in SELECT *) saying whether osq
 * acts on the flag or only accepts it. */
#include "core/flags.h"
#include "tables/builtin.h"

#include <stdlib.h>
#include <string.h>

enum {
  C_NAME,
  C_TYPE,
  C_DESCRIPTION,
  C_DEFAULT,
  C_VALUE,
  C_SHELL_ONLY,
  C_OSQ_IMPLEMENTED
};

static const osq_column columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},          {"type", OSQ_TYPE_TEXT, 0},
    {"description", OSQ_TYPE_TEXT, 0},   {"default_value", OSQ_TYPE_TEXT, 0},
    {"value", OSQ_TYPE_TEXT, 0},         {"shell_only", OSQ_TYPE_INTEGER, 0},
    {"osq_implemented", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
};

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  osq_flag_info *flags = NULL;
  size_t n = osq_flags_list(&flags);
  int rc = OSQ_OK;
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    const osq_flag_info *f = &flags[i];
    /* osquery hides the one- and two-letter switches (-S, -D, ...). */
    if (f->name == NULL || strlen(f->name) <= 2)
      continue;
    osq_rows_cstr(out, C_NAME, f->name);
    osq_rows_cstr(out, C_TYPE, f->type);
    osq_rows_cstr(out, C_DESCRIPTION, f->description ? f->description : "");
    osq_rows_cstr(out, C_DEFAULT, f->default_value ? f->default_value : "");
    osq_rows_cstr(out, C_VALUE, f->value ? f->value : "");
    osq_rows_int(out, C_SHELL_ONLY, (f->kind & OSQ_FK_SHELL) ? 1 : 0);
    osq_rows_int(out, C_OSQ_IMPLEMENTED, f->unimplemented ? 0 : 1);
    rc = osq_rows_end(out);
  }
  free(flags);
  return rc;
}

const osq_table_plugin osq_table_osquery_flags = {
    .name = "osquery_flags",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_UTILITY,
    .generate = generate,
};
