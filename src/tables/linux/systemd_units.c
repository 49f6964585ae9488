/* systemd_units: the units systemd's manager has loaded, from its D-Bus
 * API on the system bus (systemd_bus.h).
 *
 * ListUnits gives the first ten columns; fragment_path, source_path and
 * unit_file_state are properties of org.freedesktop.systemd1.Unit and
 * user one of org.freedesktop.systemd1.Service, read per unit and only
 * when the query uses them. Without a system bus or a manager the table
 * is empty and the reason is logged, as in osquery. */
#include "systemd_bus.h"
#include "tables/builtin.h"

#include <stdlib.h>

enum {
  C_ID, C_DESCRIPTION, C_LOAD_STATE, C_ACTIVE_STATE, C_SUB_STATE,
  C_UNIT_FILE_STATE, C_FOLLOWING, C_OBJECT_PATH, C_JOB_ID, C_JOB_TYPE,
  C_JOB_PATH, C_FRAGMENT_PATH, C_USER, C_SOURCE_PATH, C_COUNT
};

static const osq_column columns[] = {
    {"id", OSQ_TYPE_TEXT, 0},
    {"description", OSQ_TYPE_TEXT, 0},
    {"load_state", OSQ_TYPE_TEXT, 0},
    {"active_state", OSQ_TYPE_TEXT, 0},
    {"sub_state", OSQ_TYPE_TEXT, 0},
    {"unit_file_state", OSQ_TYPE_TEXT, 0},
    {"following", OSQ_TYPE_TEXT, 0},
    {"object_path", OSQ_TYPE_TEXT, 0},
    {"job_id", OSQ_TYPE_BIGINT, 0},
    {"job_type", OSQ_TYPE_TEXT, 0},
    {"job_path", OSQ_TYPE_TEXT, 0},
    {"fragment_path", OSQ_TYPE_TEXT, 0},
    {"user", OSQ_TYPE_TEXT, 0},
    {"source_path", OSQ_TYPE_TEXT, 0},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

typedef struct gen {
  const osq_context *ctx;
  osq_rows *out;
} gen;

static int unit_row(sd_bus *bus, const osq_sd_unit *u, void *udata) {
  gen *g = udata;
  osq_rows *out = g->out;
  osq_rows_cstr(out, C_ID, u->id);
  osq_rows_cstr(out, C_DESCRIPTION, u->description);
  osq_rows_cstr(out, C_LOAD_STATE, u->load_state);
  osq_rows_cstr(out, C_ACTIVE_STATE, u->active_state);
  osq_rows_cstr(out, C_SUB_STATE, u->sub_state);
  osq_rows_cstr(out, C_FOLLOWING, u->following);
  osq_rows_cstr(out, C_OBJECT_PATH, u->object_path);
  osq_rows_int(out, C_JOB_ID, u->job_id);
  osq_rows_cstr(out, C_JOB_TYPE, u->job_type);
  osq_rows_cstr(out, C_JOB_PATH, u->job_path);
  const char *path = u->object_path;
  osq_sd_property_cell(g->ctx, out, C_UNIT_FILE_STATE, bus, path, OSQ_SD_UNIT_IFACE,
                "UnitFileState");
  osq_sd_property_cell(g->ctx, out, C_FRAGMENT_PATH, bus, path, OSQ_SD_UNIT_IFACE,
                "FragmentPath");
  osq_sd_property_cell(g->ctx, out, C_SOURCE_PATH, bus, path, OSQ_SD_UNIT_IFACE,
                "SourcePath");
  osq_sd_property_cell(g->ctx, out, C_USER, bus, path, OSQ_SD_SERVICE_IFACE, "User");
  return osq_rows_end(out);
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  gen g = {ctx, out};
  return osq_sd_each_unit("systemd_units", false, unit_row, &g);
}

const osq_table_plugin osq_table_systemd_units = {
    .name = "systemd_units",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .generate = generate,
};
