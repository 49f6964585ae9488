#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t osq_ext_seconds_arg_ms(const char *text) {
  int64_t ms = (int64_t)atoi(text ? text : "") * 1000;
  return ms < OSQ_EXT_MIN_PERIOD_MS ? OSQ_EXT_MIN_PERIOD_MS : ms;
}

/* osquery's kWatchdogLimits for level 0, as the flags' defaults give. */
void osq_ext_settings_defaults(osq_ext_settings *s) {
  *s = (osq_ext_settings){
      .thrift = {.call_timeout_ms = 300000, .max_message = 104857600},
      .timeout_arg = "3",
      .interval_arg = "3",
      .timeout_ms = 3000,
      .interval_ms = 3000,
      .socket_mode = "0600",
      .max_connections = 1024,
      .request_deadline_ms = OSQ_EXT_DEFAULT_REQUEST_DEADLINE_MS,
      .ping_deadline_ms = OSQ_EXT_DEFAULT_PING_DEADLINE_MS,
      .limits = {.enabled = true,
                 .memory_bytes = 200ull << 20,
                 .utilization = 10,
                 .latency_s = 12,
                 .delay_ms = 60000,
                 .forced_shutdown_ms = 4000,
                 .max_delay_ms = 600000},
  };
}
