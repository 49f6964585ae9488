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
#include <stddef.h>

/* Take the "yara" section of a new config (NULL: none). Compiled groups
 * of the previous config are dropped. Any thread. */
void osq_yara_apply(const json_t *section);

/* What the rules matched in one file: the matching rules' names, the
 * matched strings as "$id:hexoffset" and the rules' tags, each
 * comma-joined ("" for none), and how many rules matched. */
typedef struct osq_yara_hits {
  char *matches, *strings, *tags;
  long long count;
} osq_yara_hits;

/* yara_events: scan a copy of the regular file at path (read whole, at
 * most --read_max bytes) with the rules of each signature group named in groups (a JSON array
 * of group names of the config's "yara" section); the hits of all groups
 * add up in *hits. A group that is missing or does not compile is
 * skipped. Returns 0 (free *hits with osq_yara_hits_free), or -1 with
 * err when the file was not scanned. Any thread (one scan at a time). */
int osq_yara_scan_groups(const char *path, const json_t *groups,
                         osq_yara_hits *hits, char *err, size_t errlen);
void osq_yara_hits_free(osq_yara_hits *hits);

#endif
