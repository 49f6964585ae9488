/* systemd's manager over D-Bus (systemd_bus.h). A manager that does not
 * answer within CALL_TIMEOUT_USEC must not hang a query. */
#include "systemd_bus.h"

#include "core/lazylib.h"
#include "core/log.h"
#include "tables/builtin.h"

#include <stdlib.h>
#include <string.h>

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
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

#define SD_LOG(quiet, ...)                                                     \
  do {                                                                         \
    if (quiet)                                                                 \
      OSQ_VLOG(__VA_ARGS__);                                                   \
    else                                                                       \
      OSQ_WARN(__VA_ARGS__);                                                   \
  } while (0)

/* Walks the array of a ListUnits reply. */
static int each_in_reply(const char *table, bool quiet, sd_bus *bus,
                         sd_bus_message *reply, osq_sd_unit_fn fn,
                         void *udata) {
  int rc = OSQ_OK;
  int r = lz_sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
  while (r >= 0 && rc == OSQ_OK) {
    osq_sd_unit u;
    r = lz_sd_bus_message_read(reply, "(ssssssouso)", &u.id, &u.description,
                               &u.load_state, &u.active_state, &u.sub_state,
                               &u.following, &u.object_path, &u.job_id,
                               &u.job_type, &u.job_path);
    if (r <= 0)
      break;
    rc = fn(bus, &u, udata);
  }
  if (r < 0 && rc == OSQ_OK)
    SD_LOG(quiet, "%s: malformed ListUnits reply: %s", table, strerror(-r));
  return rc;
}

int osq_sd_each_unit(const char *table, bool quiet, osq_sd_unit_fn fn,
                     void *udata) {
  if (!osq_lazylib_load(&libsystemd)) {
    SD_LOG(quiet, "%s: %s", table, osq_lazylib_error(&libsystemd));
    return OSQ_OK;
  }
  sd_bus *bus = NULL;
  int r = lz_sd_bus_open_system(&bus);
  if (r < 0) {
    SD_LOG(quiet, "%s: cannot connect to the system bus: %s", table,
           strerror(-r));
    return OSQ_OK;
  }
  lz_sd_bus_set_method_call_timeout(bus, CALL_TIMEOUT_USEC);
  sd_bus_error err = SD_BUS_ERROR_NULL;
  sd_bus_message *reply = NULL;
  r = lz_sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "ListUnits",
                            &err, &reply, "");
  int rc = OSQ_OK;
  if (r < 0)
    SD_LOG(quiet, "%s: ListUnits failed: %s", table,
           err.message ? err.message : strerror(-r));
  else
    rc = each_in_reply(table, quiet, bus, reply, fn, udata);
  lz_sd_bus_error_free(&err);
  if (reply != NULL)
    lz_sd_bus_message_unref(reply);
  lz_sd_bus_flush_close_unref(bus);
  return rc;
}

char *osq_sd_unit_property(sd_bus *bus, const char *object_path,
                           const char *iface, const char *member) {
  sd_bus_error err = SD_BUS_ERROR_NULL;
  char *v = NULL;
  if (lz_sd_bus_get_property_string(bus, SD_DEST, object_path, iface, member,
                                    &err, &v) < 0) {
    free(v);
    v = NULL;
  }
  lz_sd_bus_error_free(&err);
  return v;
}

void osq_sd_property_cell(const osq_context *ctx, osq_rows *out, size_t col,
                          sd_bus *bus, const char *object_path,
                          const char *iface, const char *member) {
  if (!osq_context_column_used(ctx, col))
    return;
  char *v = osq_sd_unit_property(bus, object_path, iface, member);
  osq_rows_cstr(out, col, v != NULL ? v : "");
  free(v);
}
