#include "ext_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/flags.h"
#include "thrift/api.h"

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

/* The manager's `options` answer: every flag, as osquery lists them. */
static int list_flags(osq_option_list *out) {
  osq_flag_info *flags = NULL;
  size_t n = osq_flags_list(&flags);
  out->items = calloc(n ? n : 1, sizeof *out->items);
  out->n = 0;
  int rc = out->items ? OSQ_OK : OSQ_ENOMEM;
  for (size_t i = 0; rc == OSQ_OK && i < n; i++) {
    osq_option *o = &out->items[out->n++];
    o->name = strdup(flags[i].name);
    o->value = dup_or_empty(flags[i].value);
    o->default_value = dup_or_empty(flags[i].default_value);
    o->type = dup_or_empty(flags[i].type);
    if (!o->name || !o->value || !o->default_value || !o->type)
      rc = OSQ_ENOMEM;
  }
  free(flags);
  return rc;
}

/* osquery's kWatchdogLimits: level 0 (normal), 1 (restrictive), -1. */
static const struct {
  uint64_t memory_mb, utilization, latency_s;
} levels[] = {
    {200, 10, 12},     /* 0 */
    {100, 5, 6},       /* 1 */
    {10000, 100, 1000} /* -1 */
};

/* Seconds from a flag to ms, bounded so nothing overflows later. */
static int64_t flag_ms(const char *name) {
  uint64_t s = osq_flag_uint_by_name(name);
  const uint64_t cap = 10ull * 365 * 24 * 3600;
  return (int64_t)(s > cap ? cap : s) * 1000;
}

void osq_wd_limits_from_flags(osq_wd_limits *l) {
  int64_t level = OSQ_FLAG_INT(watchdog_level);
  size_t i = level == 1 ? 1 : level == -1 ? 2 : 0;
  l->enabled = OSQ_FLAG_BOOL(enable_extensions_watchdog);
  uint64_t mem = OSQ_FLAG_UINT(watchdog_memory_limit);
  if (mem == 0)
    mem = levels[i].memory_mb;
  if (mem > (UINT64_MAX >> 20))
    mem = UINT64_MAX >> 20;
  l->memory_bytes = mem << 20;
  uint64_t util = OSQ_FLAG_UINT(watchdog_utilization_limit);
  l->utilization = util ? (util > 100 ? 100 : util) : levels[i].utilization;
  uint64_t lat = OSQ_FLAG_UINT(watchdog_latency_limit);
  l->latency_s = lat ? (lat > 1000000 ? 1000000 : lat) : levels[i].latency_s;
  l->delay_ms = flag_ms("watchdog_delay");
  l->forced_shutdown_ms = flag_ms("watchdog_forced_shutdown_delay");
  l->max_delay_ms = flag_ms("watchdog_max_delay");
}

static void copy_arg(char *dst, size_t cap, const char *flag) {
  const char *v = osq_flag_str_by_name(flag);
  snprintf(dst, cap, "%s", v && *v ? v : "3");
}

void osq_ext_settings_from_flags(osq_ext_settings *s) {
  osq_ext_settings_defaults(s);
  s->list_options = list_flags;
  uint64_t tt = OSQ_FLAG_UINT(thrift_timeout);
  if (tt > 86400ull * 365)
    tt = 86400ull * 365;
  s->thrift.call_timeout_ms = (int64_t)tt * 1000;
  s->thrift.max_message = (size_t)OSQ_FLAG_UINT(thrift_max_message_size);
  s->thrift.string_limit = (size_t)OSQ_FLAG_UINT(thrift_string_size_limit);
  copy_arg(s->timeout_arg, sizeof s->timeout_arg, "extensions_timeout");
  copy_arg(s->interval_arg, sizeof s->interval_arg, "extensions_interval");
  s->timeout_ms = osq_ext_seconds_arg_ms(OSQ_FLAG_STR(extensions_timeout));
  s->interval_ms = osq_ext_seconds_arg_ms(OSQ_FLAG_STR(extensions_interval));
  snprintf(s->socket_mode, sizeof s->socket_mode, "%s",
           OSQ_FLAG_STR(extensions_socket_mode));
  snprintf(s->socket_group, sizeof s->socket_group, "%s",
           OSQ_FLAG_STR(extensions_socket_group));
  s->max_connections = (uint32_t)OSQ_FLAG_UINT(extensions_max_connections);
  s->verbose = OSQ_FLAG_BOOL(verbose);
  s->allow_unsafe = OSQ_FLAG_BOOL(allow_unsafe);
  s->watchdog_debug = OSQ_FLAG_BOOL(enable_watchdog_debug);
  osq_wd_limits_from_flags(&s->limits);
}
