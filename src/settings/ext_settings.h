/* src/settings/: bindings from flags to the settings structs the lower
 * layers take as parameters.
 *
 * Filling the extension system's settings from osquery's flags: the one
 * place the shell and the daemon turn extensions_*, thrift_* and
 * watchdog_* flags into the struct src/ext/ receives.
 *
 * Threads: call at start-up, before the manager or loader starts. */
#ifndef OSQ_SETTINGS_EXT_SETTINGS_H
#define OSQ_SETTINGS_EXT_SETTINGS_H

#include "ext/settings.h"

void osq_ext_settings_from_flags(osq_ext_settings *s);
/* Only the watchdog part (osquery's level table and override flags). */
void osq_wd_limits_from_flags(osq_wd_limits *l);

#endif
