/* Which platform strings of osquery's configs (a query's, a pack's, an ATC
 * table's "platform") include this machine.
 *
 * Thread-safe: any thread. */
#ifndef OSQ_CORE_PLATFORM_H
#define OSQ_CORE_PLATFORM_H

#include <stdbool.h>

/* True when platform is empty, "null", or names any, all, linux, ubuntu,
 * centos or posix (osquery matches these as substrings, so "darwin,linux"
 * counts). */
bool osq_platform_matches(const char *platform);

#endif
