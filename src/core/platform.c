#include "core/platform.h"

#include <string.h>

bool osq_platform_matches(const char *p) {
  if (p == NULL || *p == '\0' || strcmp(p, "null") == 0)
    return true;
  return strstr(p, "any") || strstr(p, "all") || strstr(p, "linux") ||
         strstr(p, "ubuntu") || strstr(p, "centos") || strstr(p, "posix");
}
