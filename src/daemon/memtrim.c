#include "daemon/memtrim.h"

#include "core/flags.h"
#include "core/log.h"

#include <malloc.h>

uint64_t osq_watchdog_memory_mb(void) {
  if (OSQ_FLAG_UINT(watchdog_memory_limit) > 0)
    return OSQ_FLAG_UINT(watchdog_memory_limit);
  switch (OSQ_FLAG_INT(watchdog_level)) {
  case 1:
    return 100;
  case -1:
    return 10000;
  default:
    return 200;
  }
}

uint64_t osq_trim_threshold_mb(bool flag_set, uint64_t flag_mb,
                               bool watchdog, uint64_t watchdog_mb) {
  if (flag_set)
    return flag_mb;
  if (watchdog)
    return watchdog_mb * 80 / 100;
  return 200;
}

bool osq_trim_due(uint64_t rss_bytes, uint64_t threshold_mb) {
  return threshold_mb > 0 && rss_bytes / 1000000 > threshold_mb;
}

bool osq_release_retained_memory(uint64_t rss_bytes) {
  uint64_t mb = osq_trim_threshold_mb(
      OSQ_FLAG_WAS_SET(malloc_trim_threshold),
      OSQ_FLAG_UINT(malloc_trim_threshold), !OSQ_FLAG_BOOL(disable_watchdog),
      osq_watchdog_memory_mb());
  if (!osq_trim_due(rss_bytes, mb))
    return false;
  OSQ_VLOG("Resident memory %llu MB is past --malloc_trim_threshold %llu MB:"
           " releasing freed memory",
           (unsigned long long)(rss_bytes / 1000000), (unsigned long long)mb);
  malloc_trim(0);
  return true;
}
