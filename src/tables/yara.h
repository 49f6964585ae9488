/* The yara_file (yara) and yara_process tables and the config's "yara"
 * section they read signature groups from:
 *
 *   "yara": {"signatures": {"<group>": ["/path/rules.yar", "rel.yar"]}}
 *
 * (relative rule paths are under /var/osq/yara/, osquery's
 * <home>/yara/). */
#ifndef OSQ_TABLES_YARA_H
#define OSQ_TABLES_YARA_H

#include <jansson.h>

/* Take the "yara" section of a new config (NULL: none). Compiled groups
 * of the previous config are dropped. Any thread. */
void osq_yara_apply(const json_t *section);

#endif
