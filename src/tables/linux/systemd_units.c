/* systemd_units: the units systemd's manager has loaded, from its D-Bus
 * API on the system bus (sd-bus from libsystemd, loaded on first use).
 *
 * ListUnits gives the first ten columns; fragment_path, source_path and
 * unit_file_state are properties of org.freedesktop.systemd1.Unit and
 * user one of org.freedesktop.systemd1.Service, read per unit and only
 * when the query uses them. Without a system bus or a manager the table
 * is empty and the reason is logged, as in osquery. The bus is the one
 * sd-bus picks: DBUS_SYSTEM_BUS_ADDRESS, else the system socket. */
#include "core/lazylib.h"
#include "core/log.h"
#include "tables/builtin.h"

#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

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

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_SERVICE "org.freedesktop.systemd1.Service"
/* A manager that does not answer within this must not hang a query. */
#define CALL_TIMEOUT_USEC (10 * 1000 * 1000)

static __typeof__(sd_bus_open_system) *lz_sd_bus_open_system;
static __typeof__(sd_bus_set_method_call_timeout)
    *lz_sd_bus_set_method_call_timeout;
static __typeof__(sd_bus_flush_close_unref) *lz_sd_bus_flush_close_unref;
static __typeof__(sd_bus_call_method) *lz_sd_bus_call_method;
static __typeof__(sd_bus_message_enter_container)
    *lz_sd_bus_message_enter_container;
static __typeof__(sd_bus_message_read) *lz_sd_bus_message_read;
static __typeof__(sd_bus_message_unref) *lz_sd_bus_message_unref;
static __typeof__(sd_bus_get_property_string) *lz_sd_bus_get_property_string;
static __typeof__(sd_bus_error_free) *lz_sd_bus_error_free;

static const osq_lazysym syms[] = {
    OSQ_LAZYSYM(sd_bus_open_system),
    OSQ_LAZYSYM(sd_bus_set_method_call_timeout),
    OSQ_LAZYSYM(sd_bus_flush_close_unref),
    OSQ_LAZYSYM(sd_bus_call_method),
    OSQ_LAZYSYM(sd_bus_message_enter_container),
    OSQ_LAZYSYM(sd_bus_message_read),
    OSQ_LAZYSYM(sd_bus_message_unref),
    OSQ_LAZYSYM(sd_bus_get_property_string),
    OSQ_LAZYSYM(sd_bus_error_free),
};
static osq_lazylib libsystemd = OSQ_LAZYLIB("libsystemd.so.0", syms);

/* One string property as a cell; "" when the unit lacks it (User on a
 * socket unit), as osquery does. */
static void emit_property(const osq_context *ctx, osq_rows *out, size_t col,
                          sd_bus *bus, const char *path, const char *iface,
                          const char *member) {
  if (!osq_context_column_used(ctx, col))
    return;
  sd_bus_error err = SD_BUS_ERROR_NULL;
  char *v = NULL;
  if (lz_sd_bus_get_property_string(bus, SD_DEST, path, iface, member, &err,
                                    &v) >= 0 &&
      v != NULL)
    osq_rows_cstr(out, col, v);
  else
    osq_rows_cstr(out, col, "");
  free(v);
  lz_sd_bus_error_free(&err);
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  if (!osq_lazylib_load(&libsystemd)) {
    OSQ_WARN("systemd_units: %s", osq_lazylib_error(&libsystemd));
    return OSQ_OK;
  }
  sd_bus *bus = NULL;
  int r = lz_sd_bus_open_system(&bus);
  if (r < 0) {
    OSQ_WARN("systemd_units: cannot connect to the system bus: %s",
             strerror(-r));
    return OSQ_OK;
  }
  lz_sd_bus_set_method_call_timeout(bus, CALL_TIMEOUT_USEC);
  sd_bus_error err = SD_BUS_ERROR_NULL;
  sd_bus_message *reply = NULL;
  r = lz_sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "ListUnits",
                            &err, &reply, "");
  if (r < 0) {
    OSQ_WARN("systemd_units: ListUnits failed: %s",
             err.message ? err.message : strerror(-r));
    lz_sd_bus_error_free(&err);
    lz_sd_bus_flush_close_unref(bus);
    return OSQ_OK;
  }
  int rc = OSQ_OK;
  r = lz_sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
  while (r >= 0 && rc == OSQ_OK) {
    const char *id, *desc, *load, *active, *sub, *following, *path, *jtype,
        *jpath;
    uint32_t job_id;
    r = lz_sd_bus_message_read(reply, "(ssssssouso)", &id, &desc, &load,
                               &active, &sub, &following, &path, &job_id,
                               &jtype, &jpath);
    if (r <= 0)
      break;
    osq_rows_cstr(out, C_ID, id);
    osq_rows_cstr(out, C_DESCRIPTION, desc);
    osq_rows_cstr(out, C_LOAD_STATE, load);
    osq_rows_cstr(out, C_ACTIVE_STATE, active);
    osq_rows_cstr(out, C_SUB_STATE, sub);
    osq_rows_cstr(out, C_FOLLOWING, following);
    osq_rows_cstr(out, C_OBJECT_PATH, path);
    osq_rows_int(out, C_JOB_ID, job_id);
    osq_rows_cstr(out, C_JOB_TYPE, jtype);
    osq_rows_cstr(out, C_JOB_PATH, jpath);
    emit_property(ctx, out, C_UNIT_FILE_STATE, bus, path, SD_UNIT,
                  "UnitFileState");
    emit_property(ctx, out, C_FRAGMENT_PATH, bus, path, SD_UNIT,
                  "FragmentPath");
    emit_property(ctx, out, C_SOURCE_PATH, bus, path, SD_UNIT, "SourcePath");
    emit_property(ctx, out, C_USER, bus, path, SD_SERVICE, "User");
    rc = osq_rows_end(out);
  }
  if (r < 0 && rc == OSQ_OK)
    OSQ_WARN("systemd_units: malformed ListUnits reply: %s", strerror(-r));
  lz_sd_bus_message_unref(reply);
  lz_sd_bus_flush_close_unref(bus);
  return rc;
}

const osq_table_plugin osq_table_systemd_units = {
    .name = "systemd_units",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .generate = generate,
};
