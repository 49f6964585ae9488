/* md_devices, md_drives and md_personalities: Linux software RAID as
 * /proc/mdstat and the md driver describe it. The mdstat grammar and the
 * column semantics are osquery's: the device line ("md0 : active raid1
 * sdb1[1] sda1[0]"), its configuration line ("N blocks … [2/2] [UU]"),
 * then any recovery/resync/reshape/check and bitmap lines. */
#include "tables/builtin.h"
#include "tables/util.h"
#include "md.h"

#include <fcntl.h>
#include <linux/major.h>
#include <linux/raid/md_p.h>
#include <linux/raid/md_u.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

const char *osq_tables_mdstat_path = "/proc/mdstat";

/* ---- the md driver ---------------------------------------------------- */

static bool md_name_ok(const char *name) {
  /* "md0", "md127", "md_d0": no path separators or dots */
  return name[0] != '\0' && strlen(name) < 64 && strchr(name, '/') == NULL &&
         strstr(name, "..") == NULL;
}

static int md_open(const char *name) {
  if (!md_name_ok(name))
    return -1;
  char path[96];
  snprintf(path, sizeof path, "/dev/%s", name);
  return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
}

static bool drv_array_info(const char *name, osq_md_array *out) {
  int fd = md_open(name);
  if (fd < 0)
    return false;
  mdu_array_info_t a;
  memset(&a, 0, sizeof a);
  bool ok = ioctl(fd, GET_ARRAY_INFO, &a) == 0;
  close(fd);
  if (!ok)
    return false;
  *out = (osq_md_array){.level = a.level,
                        .raid_disks = a.raid_disks,
                        .nr_disks = a.nr_disks,
                        .active = a.active_disks,
                        .working = a.working_disks,
                        .failed = a.failed_disks,
                        .spare = a.spare_disks,
                        .state = a.state,
                        .chunk_size = a.chunk_size,
                        .utime = a.utime};
  return true;
}

static bool drv_disk_info(const char *name, osq_md_disk *d) {
  int fd = md_open(name);
  if (fd < 0)
    return false;
  mdu_disk_info_t di;
  memset(&di, 0, sizeof di);
  di.number = d->number;
  bool ok = ioctl(fd, GET_DISK_INFO, &di) == 0;
  close(fd);
  if (!ok)
    return false;
  d->major = di.major;
  d->minor = di.minor;
  d->raid_disk = di.raid_disk;
  d->state = di.state;
  return true;
}

static void drv_dev_name(int major, int minor, char *out, size_t cap) {
  char link[64], target[256];
  snprintf(link, sizeof link, "/sys/dev/block/%d:%d", major, minor);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) {
    snprintf(out, cap, "unknown");
    return;
  }
  target[n] = '\0';
  const char *base = strrchr(target, '/');
  snprintf(out, cap, "/dev/%s", base ? base + 1 : target);
}

static void drv_sb_version(const char *name, char *out, size_t cap) {
  out[0] = '\0';
  if (!md_name_ok(name) || cap == 0)
    return;
  char path[128];
  snprintf(path, sizeof path, "/sys/block/%s/md/metadata_version", name);
  char buf[64];
  if (osq_tbl_read(path, buf, sizeof buf, NULL) <= 0)
    return;
  osq_tbl_trim(buf);
  /* sysfs says "1.2" or "external:imsm"; udev's MD_METADATA has the
   * same text, except "none" for arrays without a superblock */
  snprintf(out, cap, "%s", buf);
}

static const osq_md_ops driver_ops = {drv_array_info, drv_disk_info,
                                      drv_dev_name, drv_sb_version};
const osq_md_ops *osq_tables_md_ops = &driver_ops;

/* ---- /proc/mdstat ----------------------------------------------------- */

#define MD_DEVICES_MAX 256
#define MD_PERSONALITIES_MAX 32
#define MD_FIELD 128

typedef struct md_action {
  char progress[MD_FIELD], finish[MD_FIELD], speed[MD_FIELD];
} md_action;

typedef struct md_device {
  char name[64], status[32], other[MD_FIELD];
  int64_t size;
  md_action recovery, resync, reshape, check;
  char bitmap_mem[MD_FIELD], bitmap_chunk[MD_FIELD], bitmap_file[MD_FIELD];
  bool have_bitmap;
} md_device;

typedef struct md_stat {
  char personalities[MD_PERSONALITIES_MAX][32];
  size_t npers;
  md_device *dev;
  size_t ndev;
  char unused[MD_FIELD];
} md_stat;

static void copy(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%s", src);
}

/* "12.6% (1234/5678) finish=0.3min speed=1234K/sec" */
static void parse_action(char *text, md_action *a) {
  char *tok[5];
  if (osq_tbl_tokens(text, " \t", tok, 5) != 4)
    return;
  snprintf(a->progress, sizeof a->progress, "%s %s", tok[0], tok[1]);
  const char *f = tok[2], *s = tok[3];
  if (strncmp(f, "finish=", 7) == 0)
    f += 7;
  if (strncmp(s, "speed=", 6) == 0)
    s += 6;
  copy(a->finish, sizeof a->finish, f);
  copy(a->speed, sizeof a->speed, s);
}

/* "0/1 pages [0KB], 65536KB chunk[, file: /path]" */
static void parse_bitmap(char *text, md_device *d) {
  char *parts[3] = {0};
  int n = 0;
  for (char *save = NULL, *p = strtok_r(text, ",", &save); p && n < 3;
       p = strtok_r(NULL, ",", &save))
    parts[n++] = osq_tbl_trim(p);
  if (n < 2)
    return;
  d->have_bitmap = true;
  copy(d->bitmap_mem, sizeof d->bitmap_mem, parts[0]);
  copy(d->bitmap_chunk, sizeof d->bitmap_chunk, parts[1]);
  if (n > 2 && strstr(parts[2], "file:") != NULL)
    copy(d->bitmap_file, sizeof d->bitmap_file,
         osq_tbl_trim(strstr(parts[2], "file:") + 5));
}

/* The text after key in line, trimmed; NULL if key is absent or nothing
 * follows it. */
static char *after(char *line, const char *key) {
  char *p = strstr(line, key);
  if (p == NULL || p[strlen(key)] == '\0')
    return NULL;
  return osq_tbl_trim(p + strlen(key));
}

/* A status line under a device: true if it was one. */
static bool status_line(char *line, md_device *d) {
  char *t;
  if ((t = after(line, "recovery =")) != NULL)
    parse_action(t, &d->recovery);
  else if ((t = after(line, "resync =")) != NULL)
    parse_action(t, &d->resync);
  else if ((t = after(line, "resync=")) != NULL) /* "resync=DELAYED" */
    copy(d->resync.progress, sizeof d->resync.progress, t);
  else if ((t = after(line, "reshape =")) != NULL)
    parse_action(t, &d->reshape);
  else if ((t = after(line, "check =")) != NULL)
    parse_action(t, &d->check);
  else if ((t = after(line, "bitmap:")) != NULL)
    parse_bitmap(t, d);
  else
    return false;
  return true;
}

/* "102336 blocks super 1.2 [2/2] [UU]" */
static void config_line(char *line, md_device *d) {
  char *tok[32];
  int n = osq_tbl_tokens(line, " \t", tok, 32);
  if (n < 4)
    return;
  if (strcmp(tok[1], "blocks") == 0)
    osq_tbl_parse_i64(tok[0], &d->size);
  d->other[0] = '\0';
  for (int i = 2; i < n - 2; i++) {
    size_t l = strlen(d->other);
    snprintf(d->other + l, sizeof d->other - l, "%s%s", l ? " " : "", tok[i]);
  }
}

static void md_stat_free(md_stat *m) { free(m->dev); }

/* Parse the mdstat file; false only when memory runs out. A missing file
 * is an empty result. */
static bool md_stat_read(md_stat *m) {
  memset(m, 0, sizeof *m);
  FILE *f = fopen(osq_tables_mdstat_path, "re");
  if (f == NULL)
    return true;
  m->dev = calloc(MD_DEVICES_MAX, sizeof *m->dev);
  if (m->dev == NULL) {
    fclose(f);
    return false;
  }
  char line[OSQ_TBL_LINE_MAX];
  int got;
  md_device *cur = NULL;
  enum { NONE, CONFIG, STATUS } expect = NONE;
  bool first = true;
  while ((got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0)
      continue;
    char *l = osq_tbl_trim(line);
    if (first) {
      first = false;
      char *p = after(l, "Personalities :");
      if (p != NULL) {
        char *tok[MD_PERSONALITIES_MAX];
        int n = osq_tbl_tokens(p, " \t", tok, MD_PERSONALITIES_MAX);
        for (int i = 0; i < n; i++) {
          size_t tl = strlen(tok[i]);
          if (tl > 2 && tl - 2 < sizeof m->personalities[0]) {
            memcpy(m->personalities[m->npers], tok[i] + 1, tl - 2);
            m->personalities[m->npers++][tl - 2] = '\0';
          }
        }
        continue;
      }
    }
    if (expect == CONFIG && cur != NULL) {
      config_line(l, cur);
      expect = STATUS;
      continue;
    }
    if (expect == STATUS && cur != NULL && l[0] && status_line(l, cur))
      continue;
    expect = NONE;
    if (strlen(l) < 2)
      continue;
    if (strncmp(l, "md", 2) == 0 && strchr(l, ':') != NULL) {
      if (m->ndev == MD_DEVICES_MAX)
        continue;
      char *colon = strchr(l, ':');
      *colon = '\0';
      cur = &m->dev[m->ndev];
      copy(cur->name, sizeof cur->name, osq_tbl_trim(l));
      char *tok[3];
      if (osq_tbl_tokens(colon + 1, " \t", tok, 3) >= 2)
        copy(cur->status, sizeof cur->status, tok[0]);
      m->ndev++;
      expect = CONFIG;
    } else if (strncmp(l, "unused devices:", 15) == 0) {
      copy(m->unused, sizeof m->unused, osq_tbl_trim(l + 15));
    }
  }
  fclose(f);
  return true;
}

/* Names of the bits set in state, in bit order, space-separated. */
static void bit_names(int state, const int *bits, const char *const *names,
                      size_t n, char *out, size_t cap) {
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (!(state & (1 << bits[i])))
      continue;
    size_t l = strlen(out);
    snprintf(out + l, cap - l, "%s%s", l ? " " : "", names[i]);
  }
}

static void sb_state(int state, char *out, size_t cap) {
  static const int bits[] = {MD_SB_CLEAN, MD_SB_ERRORS, MD_SB_CLUSTERED,
                             MD_SB_BITMAP_PRESENT};
  static const char *const names[] = {"clean", "errors", "clustered",
                                      "bitmap_present"};
  if (state == 0)
    snprintf(out, cap, "unknown");
  else
    bit_names(state, bits, names, 4, out, cap);
}

static void disk_state(int state, char *out, size_t cap) {
  static const int bits[] = {MD_DISK_FAULTY,      MD_DISK_ACTIVE,
                             MD_DISK_SYNC,        MD_DISK_REMOVED,
                             MD_DISK_CLUSTER_ADD, MD_DISK_CANDIDATE,
                             MD_DISK_WRITEMOSTLY, MD_DISK_FAILFAST,
                             MD_DISK_JOURNAL};
  static const char *const names[] = {"faulty",     "active",  "sync",
                                      "removed",    "clusteradd", "spare",
                                      "writemostly", "failfast", "journal"};
  /* osquery: a disk with no state bits is being recovered onto */
  if (state == 0)
    snprintf(out, cap, "recovering");
  else
    bit_names(state, bits, names, 9, out, cap);
}

/* ---- md_devices ------------------------------------------------------- */

static const osq_column mddev_columns[] = {
    {"device_name", OSQ_TYPE_TEXT, 0},
    {"status", OSQ_TYPE_TEXT, 0},
    {"raid_level", OSQ_TYPE_INTEGER, 0},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"chunk_size", OSQ_TYPE_BIGINT, 0},
    {"raid_disks", OSQ_TYPE_INTEGER, 0},
    {"nr_raid_disks", OSQ_TYPE_INTEGER, 0},
    {"working_disks", OSQ_TYPE_INTEGER, 0},
    {"active_disks", OSQ_TYPE_INTEGER, 0},
    {"failed_disks", OSQ_TYPE_INTEGER, 0},
    {"spare_disks", OSQ_TYPE_INTEGER, 0},
    {"superblock_state", OSQ_TYPE_TEXT, 0},
    {"superblock_version", OSQ_TYPE_TEXT, 0},
    {"superblock_update_time", OSQ_TYPE_BIGINT, 0},
    {"bitmap_on_mem", OSQ_TYPE_TEXT, 0},
    {"bitmap_chunk_size", OSQ_TYPE_TEXT, 0},
    {"bitmap_external_file", OSQ_TYPE_TEXT, 0},
    {"recovery_progress", OSQ_TYPE_TEXT, 0},
    {"recovery_finish", OSQ_TYPE_TEXT, 0},
    {"recovery_speed", OSQ_TYPE_TEXT, 0},
    {"resync_progress", OSQ_TYPE_TEXT, 0},
    {"resync_finish", OSQ_TYPE_TEXT, 0},
    {"resync_speed", OSQ_TYPE_TEXT, 0},
    {"reshape_progress", OSQ_TYPE_TEXT, 0},
    {"reshape_finish", OSQ_TYPE_TEXT, 0},
    {"reshape_speed", OSQ_TYPE_TEXT, 0},
    {"check_array_progress", OSQ_TYPE_TEXT, 0},
    {"check_array_finish", OSQ_TYPE_TEXT, 0},
    {"check_array_speed", OSQ_TYPE_TEXT, 0},
    {"unused_devices", OSQ_TYPE_TEXT, 0},
    {"other", OSQ_TYPE_TEXT, 0},
};

/* The rows fn makes from /proc/mdstat, which is read for each query. */
typedef int (*mdstat_rows_fn)(const md_stat *m, osq_rows *out);

static int with_mdstat(mdstat_rows_fn fn, osq_rows *out) {
  md_stat m;
  if (!md_stat_read(&m))
    return OSQ_ENOMEM;
  int rc = fn(&m, out);
  md_stat_free(&m);
  return rc;
}

static void action_cells(osq_rows *out, size_t col, const md_action *a) {
  if (a->progress[0] == '\0')
    return;
  osq_rows_cstr(out, col, a->progress);
  osq_rows_cstr(out, col + 1, a->finish);
  osq_rows_cstr(out, col + 2, a->speed);
}

static int mddev_rows(const md_stat *m, osq_rows *out) {
  int rc = OSQ_OK;
  for (size_t i = 0; i < m->ndev && rc == OSQ_OK; i++) {
    const md_device *d = &m->dev[i];
    osq_md_array a;
    /* the driver does not know the array (stopped, or a stale mdstat):
     * no row, as osquery */
    if (!osq_tables_md_ops->array_info(d->name, &a))
      continue;
    char s[MD_FIELD];
    osq_rows_cstr(out, 0, d->name);
    osq_rows_cstr(out, 1, d->status);
    osq_rows_int(out, 2, a.level);
    osq_rows_int(out, 3, d->size);
    osq_rows_int(out, 4, a.chunk_size);
    osq_rows_int(out, 5, a.raid_disks);
    osq_rows_int(out, 6, a.nr_disks);
    osq_rows_int(out, 7, a.working);
    osq_rows_int(out, 8, a.active);
    osq_rows_int(out, 9, a.failed);
    osq_rows_int(out, 10, a.spare);
    sb_state(a.state, s, sizeof s);
    osq_rows_cstr(out, 11, s);
    osq_tables_md_ops->sb_version(d->name, s, sizeof s);
    osq_rows_cstr(out, 12, s);
    osq_rows_int(out, 13, a.utime);
    if (d->have_bitmap) {
      osq_rows_cstr(out, 14, d->bitmap_mem);
      osq_rows_cstr(out, 15, d->bitmap_chunk);
      osq_rows_cstr(out, 16, d->bitmap_file);
    }
    action_cells(out, 17, &d->recovery);
    action_cells(out, 20, &d->resync);
    action_cells(out, 23, &d->reshape);
    action_cells(out, 26, &d->check);
    osq_rows_cstr(out, 29, m->unused);
    osq_rows_cstr(out, 30, d->other);
    rc = osq_rows_end(out);
  }
  return rc;
}

static int mddev_generate(const osq_context *ctx, osq_rows *out,
                          void *udata) {
  (void)ctx;
  (void)udata;
  return with_mdstat(mddev_rows, out);
}

const osq_table_plugin osq_table_md_devices = {
    .name = "md_devices",
    .columns = mddev_columns,
    .ncolumns = OSQ_NCOLS(mddev_columns),
    .generate = mddev_generate,
};

/* ---- md_drives -------------------------------------------------------- */

static const osq_column mddrive_columns[] = {
    {"md_device_name", OSQ_TYPE_TEXT, 0},
    {"drive_name", OSQ_TYPE_TEXT, 0},
    {"slot", OSQ_TYPE_INTEGER, 0},
    {"state", OSQ_TYPE_TEXT, 0},
};

typedef struct drive_row {
  char name[128], state[MD_FIELD];
  int slot; /* -1: not yet known */
} drive_row;

/* One md_drives row; a slot below 0 is not known. */
static int drive_cells(osq_rows *out, const char *md, const char *drive,
                       int slot, const char *state) {
  osq_rows_cstr(out, 0, md);
  osq_rows_cstr(out, 1, drive);
  if (slot >= 0)
    osq_rows_int(out, 2, slot);
  osq_rows_cstr(out, 3, state);
  return osq_rows_end(out);
}

/* osquery's slot rules: a disk in a raid slot has it; a disk out of one
 * whose number is below raid_disks keeps that number as its slot; the
 * others take the slots nobody holds, in order, and any slot still free
 * is a "removed" row of drive "unknown". */
static int drives_of(const char *name, osq_rows *out) {
  osq_md_array a;
  if (!osq_tables_md_ops->array_info(name, &a))
    return OSQ_OK;
  int raid_disks = a.raid_disks;
  if (raid_disks < 0)
    raid_disks = 0;
  if (raid_disks > 4096)
    raid_disks = 4096;
  bool *held = calloc((size_t)raid_disks + 1, sizeof *held);
  drive_row rows[MD_SB_DISKS];
  size_t n = 0;
  if (held == NULL)
    return OSQ_ENOMEM;
  for (int i = 0; i < MD_SB_DISKS; i++) {
    osq_md_disk d = {.number = i};
    if (!osq_tables_md_ops->disk_info(name, &d) || d.major <= 0)
      continue;
    drive_row *r = &rows[n++];
    osq_tables_md_ops->dev_name(d.major, d.minor, r->name, sizeof r->name);
    disk_state(d.state, r->state, sizeof r->state);
    r->slot = -1;
    if (d.raid_disk >= 0)
      r->slot = d.raid_disk;
    else if (d.number < raid_disks)
      r->slot = d.number;
    if (r->slot >= 0 && r->slot < raid_disks)
      held[r->slot] = true;
  }
  int rc = OSQ_OK;
  size_t next_removed = 0;
  for (int s = 0; s < raid_disks; s++) {
    if (held[s])
      continue;
    while (next_removed < n && rows[next_removed].slot >= 0)
      next_removed++;
    if (next_removed < n) {
      rows[next_removed].slot = s;
      held[s] = true;
    }
  }
  for (size_t i = 0; i < n && rc == OSQ_OK; i++)
    rc = drive_cells(out, name, rows[i].name, rows[i].slot, rows[i].state);
  for (int s = 0; s < raid_disks && rc == OSQ_OK; s++)
    if (!held[s])
      rc = drive_cells(out, name, "unknown", s, "removed");
  free(held);
  return rc;
}

static int mddrive_rows(const md_stat *m, osq_rows *out) {
  int rc = OSQ_OK;
  for (size_t i = 0; i < m->ndev && rc == OSQ_OK; i++)
    rc = drives_of(m->dev[i].name, out);
  return rc;
}

static int mddrive_generate(const osq_context *ctx, osq_rows *out,
                            void *udata) {
  (void)ctx;
  (void)udata;
  return with_mdstat(mddrive_rows, out);
}

const osq_table_plugin osq_table_md_drives = {
    .name = "md_drives",
    .columns = mddrive_columns,
    .ncolumns = OSQ_NCOLS(mddrive_columns),
    .generate = mddrive_generate,
};

/* ---- md_personalities ------------------------------------------------- */

static const osq_column mdpers_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
};

static int mdpers_rows(const md_stat *m, osq_rows *out) {
  int rc = OSQ_OK;
  for (size_t i = 0; i < m->npers && rc == OSQ_OK; i++) {
    osq_rows_cstr(out, 0, m->personalities[i]);
    rc = osq_rows_end(out);
  }
  return rc;
}

static int mdpers_generate(const osq_context *ctx, osq_rows *out,
                           void *udata) {
  (void)ctx;
  (void)udata;
  return with_mdstat(mdpers_rows, out);
}

const osq_table_plugin osq_table_md_personalities = {
    .name = "md_personalities",
    .columns = mdpers_columns,
    .ncolumns = OSQ_NCOLS(mdpers_columns),
    .generate = mdpers_generate,
};
