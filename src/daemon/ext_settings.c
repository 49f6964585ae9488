#include "ext_settings.h"

#include <stdio.h>

#include "core/flags.h"

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
  uint64_t s = osq_flag_uint(name);
  const uint64_t cap = 10ull * 365 * 24 * 3600;
  return (int64_t)(s > cap ? cap : s) * 1000;
}

void osq_wd_limits_from_flags(osq_wd_limits *l) {
  int64_t level = osq_flag_int("watchdog_level");
  size_t i = level == 1 ? 1 : level == -1 ? 2 : 0;
  l->enabled = osq_flag_bool("enable_extensions_watchdog");
  uint64_t mem = osq_flag_uint("watchdog_memory_limit");
  if (mem == 0)
    mem = levels[i].memory_mb;
  if (mem > (UINT64_MAX >> 20))
    mem = UINT64_MAX >> 20;
  l->memory_bytes = mem << 20;
  uint64_t util = osq_flag_uint("watchdog_utilization_limit");
  l->utilization = util ? (util > 100 ? 100 : util) : levels[i].utilization;
  uint64_t lat = osq_flag_uint("watchdog_latency_limit");
  l->latency_s = lat ? (lat > 1000000 ? 1000000 : lat) : levels[i].latency_s;
  l->delay_ms = flag_ms("watchdog_delay");
  l->forced_shutdown_ms = flag_ms("watchdog_forced_shutdown_delay");
  l->max_delay_ms = flag_ms("watchdog_max_delay");
}

static void copy_arg(char *dst, size_t cap, const char *flag) {
  const char *v = osq_flag_str(flag);
  snprintf(dst, cap, "%s", v && *v ? v : "3");
}

void osq_ext_settings_from_flags(osq_ext_settings *s) {
  osq_ext_settings_defaults(s);
  uint64_t tt = osq_flag_uint("thrift_timeout");
  if (tt > 86400ull * 365)
    tt = 86400ull * 365;
  s->thrift.call_timeout_ms = (int64_t)tt * 1000;
  s->thrift.max_message = (size_t)osq_flag_uint("thrift_max_message_size");
  s->thrift.string_limit = (size_t)osq_flag_uint("thrift_string_size_limit");
  copy_arg(s->timeout_arg, sizeof s->timeout_arg, "extensions_timeout");
  copy_arg(s->interval_arg, sizeof s->interval_arg, "extensions_interval");
  s->timeout_ms = osq_ext_seconds_arg_ms(osq_flag_str("extensions_timeout"));
  s->interval_ms = osq_ext_seconds_arg_ms(osq_flag_str("extensions_interval"));
  snprintf(s->socket_mode, sizeof s->socket_mode, "%s",
           osq_flag_str("extensions_socket_mode"));
  snprintf(s->socket_group, sizeof s->socket_group, "%s",
           osq_flag_str("extensions_socket_group"));
  s->max_connections = (uint32_t)osq_flag_uint("extensions_max_connections");
  s->verbose = osq_flag_bool("verbose");
  s->allow_unsafe = osq_flag_bool("allow_unsafe");
  s->watchdog_debug = osq_flag_bool("enable_watchdog_debug");
  osq_wd_limits_from_flags(&s->limits);
}
