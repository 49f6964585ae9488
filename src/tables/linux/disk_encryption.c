/* disk_encryption: whether each block device is a dm-crypt mapping
 * (LUKS, plain, …), asked of libcryptsetup (loaded on first use).
 *
 * As osquery: root only (otherwise no rows); the devices are those of
 * block_devices (disks of /sys/block, then their partitions), or the
 * `name = …` values (no parent then). An active or busy mapping is "encrypted", with type
 * "<format>-<cipher>-<mode>" (e.g. "LUKS2-aes-xts-plain64"); a device
 * whose parent was found encrypted inherits its status and type; any
 * other device is "not encrypted". */
#include "core/lazylib.h"
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/linux/system_extra.h"
#include "tables/util.h"

#include <dirent.h>
#include <stdlib.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

enum {
  C_NAME, C_UUID, C_ENCRYPTED, C_TYPE, C_STATUS, C_UID, C_USER_UUID,
  C_FILEVAULT_STATUS, C_COUNT
};

static const osq_column columns[] = {
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"uuid", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"encrypted", OSQ_TYPE_INTEGER, 0},
    {"type", OSQ_TYPE_TEXT, 0},
    {"encryption_status", OSQ_TYPE_TEXT, 0},
    {"uid", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"user_uuid", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN | OSQ_COL_COLLATE_NOCASE},
    {"filevault_status", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

static __typeof__(crypt_status) *lz_crypt_status;
static __typeof__(crypt_init_by_name_and_header)
    *lz_crypt_init_by_name_and_header;
static __typeof__(crypt_get_active_device) *lz_crypt_get_active_device;
static __typeof__(crypt_get_type) *lz_crypt_get_type;
static __typeof__(crypt_get_cipher) *lz_crypt_get_cipher;
static __typeof__(crypt_get_cipher_mode) *lz_crypt_get_cipher_mode;
static __typeof__(crypt_free) *lz_crypt_free;
static __typeof__(crypt_set_log_callback) *lz_crypt_set_log_callback;

static const osq_lazysym syms[] = {
    OSQ_LAZYSYM(crypt_status),
    OSQ_LAZYSYM(crypt_init_by_name_and_header),
    OSQ_LAZYSYM(crypt_get_active_device),
    OSQ_LAZYSYM(crypt_get_type),
    OSQ_LAZYSYM(crypt_get_cipher),
    OSQ_LAZYSYM(crypt_get_cipher_mode),
    OSQ_LAZYSYM(crypt_free),
    OSQ_LAZYSYM(crypt_set_log_callback),
};
static osq_lazylib libcryptsetup = OSQ_LAZYLIB("libcryptsetup.so.12", syms);

/* libcryptsetup's messages ("Cannot initialize device-mapper" on a
 * machine without dm) go to osq's verbose log, not to stderr. */
static void on_crypt_log(int level, const char *msg, void *ud) {
  (void)level, (void)ud;
  OSQ_VLOG("libcryptsetup: %.*s", (int)strcspn(msg, "\n"), msg);
}
static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static void set_log(void) { lz_crypt_set_log_callback(NULL, on_crypt_log, NULL); }

/* Encrypted devices seen so far in this scan, for their partitions. */
#define SEEN_MAX 256
typedef struct seen {
  char name[SEEN_MAX][96];
  char type[SEEN_MAX][128];
  size_t n;
} seen;

static void crypt_type(const char *name, char *type, size_t cap) {
  struct crypt_device *cd = NULL;
  type[0] = '\0';
  if (lz_crypt_init_by_name_and_header(&cd, name, NULL) < 0)
    return;
  struct crypt_active_device cad;
  if (lz_crypt_get_active_device(cd, name, &cad) >= 0) {
    const char *parts[3] = {lz_crypt_get_type(cd), lz_crypt_get_cipher(cd),
                            lz_crypt_get_cipher_mode(cd)};
    size_t n = 0;
    for (int i = 0; i < 3; i++)
      if (parts[i] && n < cap)
        n += (size_t)snprintf(type + n, cap - n, "%s%s", n ? "-" : "",
                              parts[i]);
  }
  lz_crypt_free(cd);
}

static int device_row(osq_rows *out, const char *name, const char *uuid,
                      const char *parent, seen *s) {
  osq_rows_cstr(out, C_NAME, name);
  osq_rows_cstr(out, C_UUID, uuid);
  crypt_status_info ci = lz_crypt_status(NULL, name);
  if (ci == CRYPT_ACTIVE || ci == CRYPT_BUSY) {
    char type[128];
    crypt_type(name, type, sizeof type);
    osq_rows_int(out, C_ENCRYPTED, 1);
    osq_rows_cstr(out, C_STATUS, "encrypted");
    osq_rows_cstr(out, C_TYPE, type);
    if (s->n < SEEN_MAX) {
      snprintf(s->name[s->n], sizeof s->name[0], "%s", name);
      snprintf(s->type[s->n], sizeof s->type[0], "%s", type);
      s->n++;
    }
    return osq_rows_end(out);
  }
  for (size_t i = 0; parent && i < s->n; i++)
    if (strcmp(s->name[i], parent) == 0) {
      osq_rows_int(out, C_ENCRYPTED, 1);
      osq_rows_cstr(out, C_STATUS, "encrypted");
      osq_rows_cstr(out, C_TYPE, s->type[i]);
      return osq_rows_end(out);
    }
  osq_rows_int(out, C_ENCRYPTED, 0);
  osq_rows_cstr(out, C_STATUS, "not encrypted");
  return osq_rows_end(out);
}

static int scan_sys_block(osq_rows *out, seen *s) {
  osq_pathlist disks = {0};
  if (!osq_pathlist_readdir(&disks, osq_tables_sys_block, osq_name_not_hidden))
    return OSQ_OK;
  int rc = OSQ_OK;
  for (size_t i = 0; i < disks.n && rc == OSQ_OK; i++) {
    const char *disk = disks.items[i];
    char name[96], uuid[128], dir[PATH_MAX];
    snprintf(name, sizeof name, "/dev/%.80s", disk);
    osq_tbl_disk_link("uuid", disk, uuid, sizeof uuid);
    rc = device_row(out, name, uuid, NULL, s);
    if (snprintf(dir, sizeof dir, "%s/%s", osq_tables_sys_block, disk) >= (int)sizeof dir)
      continue;
    osq_pathlist parts = {0};
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
      char pf[PATH_MAX];
      struct stat st;
      if (strncmp(e->d_name, disk, strlen(disk)) == 0 &&
          snprintf(pf, sizeof pf, "%s/%s/partition", dir, e->d_name) <
              (int)sizeof pf &&
          stat(pf, &st) == 0)
        osq_pathlist_add(&parts, e->d_name);
    }
    if (d)
      closedir(d);
    osq_pathlist_unique(&parts);
    for (size_t k = 0; k < parts.n && rc == OSQ_OK; k++) {
      char pname[96];
      snprintf(pname, sizeof pname, "/dev/%.80s", parts.items[k]);
      osq_tbl_disk_link("uuid", parts.items[k], uuid, sizeof uuid);
      rc = device_row(out, pname, uuid, name, s);
    }
    osq_pathlist_free(&parts);
  }
  osq_pathlist_free(&disks);
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  if (getuid() != 0 || geteuid() != 0) {
    OSQ_VLOG("disk_encryption: not running as root: no status");
    return OSQ_OK;
  }
  if (!osq_lazylib_load(&libcryptsetup)) {
    osq_rows_error(out, "disk_encryption: %s",
                   osq_lazylib_error(&libcryptsetup));
    return OSQ_ERROR;
  }
  pthread_once(&log_once, set_log);
  seen *s = calloc(1, sizeof *s);
  if (s == NULL) {
    osq_rows_error(out, "disk_encryption: out of memory");
    return OSQ_ERROR;
  }
  int rc = OSQ_OK;
  bool by_name = false;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, C_NAME) && rc == OSQ_OK;
       i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_NAME, i);
    if (c->op != OSQ_OP_EQ || c->len == 0 || c->len >= 96 ||
        strlen(c->expr) != c->len)
      continue;
    by_name = true;
    rc = device_row(out, c->expr, "", NULL, s);
  }
  if (!by_name && rc == OSQ_OK)
    rc = scan_sys_block(out, s);
  free(s);
  return rc;
}

const osq_table_plugin osq_table_disk_encryption = {
    .name = "disk_encryption",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .generate = generate,
};
