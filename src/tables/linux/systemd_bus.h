/* systemd's manager over D-Bus, shared by systemd_units and startup_items:
 * its ListUnits and the units' string properties, through sd-bus from
 * libsystemd (loaded on first use). The bus is the one sd-bus picks:
 * DBUS_SYSTEM_BUS_ADDRESS, else the system socket. Any thread that runs a
 * query may call these; each call opens its own connection. */
#ifndef OSQ_TABLES_SYSTEMD_BUS_H
#define OSQ_TABLES_SYSTEMD_BUS_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "osq/plugin.h"

#define OSQ_SD_UNIT_IFACE "org.freedesktop.systemd1.Unit"
#define OSQ_SD_SERVICE_IFACE "org.freedesktop.systemd1.Service"

/* One entry of ListUnits' reply; the strings live until the callback
 * returns. */
typedef struct osq_sd_unit {
  const char *id, *description, *load_state, *active_state, *sub_state,
      *following, *object_path, *job_type, *job_path;
  uint32_t job_id;
} osq_sd_unit;

/* Returns OSQ_OK to go on; anything else stops the walk and is returned. */
typedef int (*osq_sd_unit_fn)(sd_bus *bus, const osq_sd_unit *u,
                              void *udata);

/* fn for every unit the manager has loaded. Without libsystemd, a system
 * bus or a manager there is no call: the reason is logged, prefixed by
 * table (a warning, or with --verbose only when quiet), and the result is
 * OSQ_OK. */
int osq_sd_each_unit(const char *table, bool quiet, osq_sd_unit_fn fn,
                     void *udata);

/* The string property iface.member of the unit at object_path, to free();
 * NULL when the unit has no such property (User of a socket unit). */
char *osq_sd_unit_property(sd_bus *bus, const char *object_path,
                           const char *iface, const char *member);

/* The property as cell col of the row being built, read only when the
 * query uses the column; "" when the unit lacks it, as osquery reports
 * it. */
void osq_sd_property_cell(const osq_context *ctx, osq_rows *out, size_t col,
                          sd_bus *bus, const char *object_path,
                          const char *iface, const char *member);

#endif
