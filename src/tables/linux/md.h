/* Software RAID (md) tables: /proc/mdstat, and the array and disk details
 * the md driver answers by ioctl. Tests swap both for fixtures.
 *
 * Threads: set before any query (tests); then read-only from any thread. */
#ifndef OSQ_TABLES_MD_H
#define OSQ_TABLES_MD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct osq_md_array {
  int level, raid_disks, nr_disks, active, working, failed, spare, state;
  int64_t chunk_size, utime;
} osq_md_array;

typedef struct osq_md_disk {
  int number; /* in: which of the array's disk slots (0-26) */
  int major, minor, raid_disk, state;
} osq_md_disk;

typedef struct osq_md_ops {
  /* GET_ARRAY_INFO / GET_DISK_INFO on the array named (e.g. "md0") */
  bool (*array_info)(const char *name, osq_md_array *out);
  bool (*disk_info)(const char *name, osq_md_disk *inout);
  /* "/dev/<name>" of a block device number, else "unknown" */
  void (*dev_name)(int major, int minor, char *out, size_t cap);
  /* the array's metadata version ("1.2"), "" if unknown */
  void (*sb_version)(const char *name, char *out, size_t cap);
} osq_md_ops;

extern const char *osq_tables_mdstat_path; /* default /proc/mdstat */
extern const osq_md_ops *osq_tables_md_ops; /* default: the md driver */

#endif
