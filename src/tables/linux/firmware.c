/* acpi_tables, msr and intel_me_info: what the firmware and the processor
 * expose through sysfs and device nodes. Each is empty when its source is
 * absent or refused (not root, no msr module, no Intel ME). */
#include "tables/builtin.h"
#include "tables/util.h"
#include "firmware.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mei.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

const char *osq_tables_acpi_path = "/sys/firmware/acpi/tables";
const char *osq_tables_cpu_dev = "/dev/cpu";
const char *osq_tables_mei_path = "/dev/mei0";

/* ---- acpi_tables ------------------------------------------------------ */

static const osq_column acpi_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"size", OSQ_TYPE_INTEGER, 0},
    {"md5", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
};

/* ACPI tables are kilobytes; the largest DSDTs a few MiB. */
#define ACPI_TABLE_MAX (64u << 20)
/* sysfs nests categories one level (dynamic/, data/); allow a little more */
#define ACPI_DEPTH_MAX 4

/* md5 of the file, streamed; its size in *size. False if unreadable or
 * larger than ACPI_TABLE_MAX. */
static bool md5_file(int fd, char hex[33], int64_t *size) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (c == NULL || EVP_DigestInit_ex(c, EVP_md5(), NULL) != 1) {
    EVP_MD_CTX_free(c);
    return false;
  }
  unsigned char buf[16384];
  uint64_t total = 0;
  bool ok = true;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 || (total += (uint64_t)(n > 0 ? n : 0)) > ACPI_TABLE_MAX) {
      ok = false;
      break;
    }
    if (n == 0)
      break;
    EVP_DigestUpdate(c, buf, (size_t)n);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdl = 0;
  if (ok && EVP_DigestFinal_ex(c, md, &mdl) == 1 && mdl == 16) {
    for (unsigned i = 0; i < 16; i++)
      snprintf(hex + 2 * i, 3, "%02x", md[i]);
    *size = (int64_t)total;
  } else {
    ok = false;
  }
  EVP_MD_CTX_free(c);
  return ok;
}

static int name_cmp(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dot(const struct dirent *e) { return e->d_name[0] != '.'; }

static int acpi_dir(const char *dir, int depth, osq_rows *out) {
  struct dirent **ents = NULL;
  int n = scandir(dir, &ents, not_dot, name_cmp);
  if (n < 0)
    return OSQ_OK;
  int rc = OSQ_OK;
  for (int i = 0; i < n; i++) {
    char path[1024];
    int pl = snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
    struct stat st;
    if (rc != OSQ_OK || pl < 0 || (size_t)pl >= sizeof path ||
        lstat(path, &st) != 0) {
      free(ents[i]);
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (depth < ACPI_DEPTH_MAX)
        rc = acpi_dir(path, depth + 1, out);
    } else if (S_ISREG(st.st_mode)) {
      /* as osquery: an unreadable table is a row of size -1, no md5 */
      char hex[33];
      int64_t size = -1;
      int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
      bool ok = fd >= 0 && md5_file(fd, hex, &size);
      if (fd >= 0)
        close(fd);
      osq_rows_cstr(out, 0, ents[i]->d_name);
      osq_rows_int(out, 1, ok ? size : -1);
      if (ok)
        osq_rows_cstr(out, 2, hex);
      rc = osq_rows_end(out);
    }
    free(ents[i]);
  }
  free(ents);
  return rc;
}

static int acpi_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)ctx;
  (void)udata;
  return acpi_dir(osq_tables_acpi_path, 0, out);
}

const osq_table_plugin osq_table_acpi_tables = {
    .name = "acpi_tables",
    .columns = acpi_columns,
    .ncolumns = OSQ_NCOLS(acpi_columns),
    .generate = acpi_generate,
};

/* ---- msr -------------------------------------------------------------- */

static const osq_column msr_columns[] = {
    {"processor_number", OSQ_TYPE_BIGINT, 0},
    {"turbo_disabled", OSQ_TYPE_BIGINT, 0},
    {"turbo_ratio_limit", OSQ_TYPE_BIGINT, 0},
    {"platform_info", OSQ_TYPE_BIGINT, 0},
    {"perf_ctl", OSQ_TYPE_BIGINT, 0},
    {"perf_status", OSQ_TYPE_BIGINT, 0},
    {"feature_control", OSQ_TYPE_BIGINT, 0},
    {"rapl_power_limit", OSQ_TYPE_BIGINT, 0},
    {"rapl_energy_status", OSQ_TYPE_BIGINT, 0},
    {"rapl_power_units", OSQ_TYPE_BIGINT, 0},
};

/* Register addresses (Intel SDM vol. 4) and what of each osquery shows. */
static const struct {
  size_t col;
  off_t msr;
  uint64_t mask;
  bool flag;
} msr_fields[] = {
    {1, 0x1a0, 1ull << 38, true}, /* IA32_MISC_ENABLE: turbo disable */
    {2, 0x1ad, ~0ull, false},     /* MSR_TURBO_RATIO_LIMIT */
    {3, 0xce, ~0ull, false},      /* MSR_PLATFORM_INFO */
    {4, 0x199, 0xffff, false},    /* IA32_PERF_CTL */
    {5, 0x198, ~0ull, false},     /* IA32_PERF_STATUS */
    {6, 0x3a, ~0ull, false},      /* IA32_FEATURE_CONTROL */
    {7, 0x610, ~0ull, false},     /* MSR_PKG_POWER_LIMIT */
    {8, 0x611, ~0ull, false},     /* MSR_PKG_ENERGY_STATUS */
    {9, 0x606, ~0ull, false},     /* MSR_RAPL_POWER_UNIT */
};

static int only_digits(const struct dirent *e) {
  for (const char *p = e->d_name; *p; p++)
    if (!isdigit((unsigned char)*p))
      return 0;
  return e->d_name[0] != '\0' && strlen(e->d_name) < 10;
}

static int cpu_cmp(const struct dirent **a, const struct dirent **b) {
  long x = atol((*a)->d_name), y = atol((*b)->d_name);
  return (x > y) - (x < y);
}

static int msr_generate(const osq_context *ctx, osq_rows *out,
                        void *udata) {
  (void)ctx;
  (void)udata;
  struct dirent **ents = NULL;
  int n = scandir(osq_tables_cpu_dev, &ents, only_digits, cpu_cmp);
  if (n < 0)
    return OSQ_OK;
  int rc = OSQ_OK;
  for (int i = 0; i < n; i++) {
    char path[512];
    int pl = snprintf(path, sizeof path, "%s/%s/msr", osq_tables_cpu_dev,
                      ents[i]->d_name);
    /* no msr module, or not root: the processor has no row */
    int fd = rc == OSQ_OK && pl > 0 && (size_t)pl < sizeof path
                 ? open(path, O_RDONLY | O_CLOEXEC)
                 : -1;
    if (fd >= 0) {
      osq_rows_int(out, 0, atol(ents[i]->d_name));
      for (size_t k = 0; k < OSQ_NCOLS(msr_fields); k++) {
        uint64_t v;
        /* a register the processor lacks fails the read: NULL */
        if (pread(fd, &v, sizeof v, msr_fields[k].msr) != (ssize_t)sizeof v)
          continue;
        v &= msr_fields[k].mask;
        osq_rows_int(out, msr_fields[k].col,
                     msr_fields[k].flag ? (v != 0) : (int64_t)v);
      }
      close(fd);
      rc = osq_rows_end(out);
    }
    free(ents[i]);
  }
  free(ents);
  return rc;
}

const osq_table_plugin osq_table_msr = {
    .name = "msr",
    .columns = msr_columns,
    .ncolumns = OSQ_NCOLS(msr_columns),
    .generate = msr_generate,
};

/* ---- intel_me_info ---------------------------------------------------- */

static const osq_column me_columns[] = {
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
};

/* The ME firmware-update client's GUID, in the byte order the connect
 * ioctl takes. */
static const uint8_t mei_update_guid[16] = {
    0xe8, 0xcd, 0x9d, 0x30, 0xb1, 0xcc, 0x62, 0x40,
    0x8f, 0x78, 0x60, 0x01, 0x15, 0xa3, 0x43, 0x27};

static int me_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  int fd = open(osq_tables_mei_path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return OSQ_OK;
  struct mei_connect_client_data conn;
  memset(&conn, 0, sizeof conn);
  memcpy(&conn.in_client_uuid, mei_update_guid, sizeof mei_update_guid);
  int rc = OSQ_OK;
  if (ioctl(fd, IOCTL_MEI_CONNECT_CLIENT, &conn) == 0 &&
      conn.out_client_properties.protocol_version == 1) {
    /* command 0: get firmware version; the reply holds 7 dwords, then
     * major, minor, hotfix and build as little-endian words */
    uint8_t cmd[4] = {0};
    uint8_t reply[64];
    if (write(fd, cmd, sizeof cmd) == (ssize_t)sizeof cmd) {
      ssize_t got = read(fd, reply, sizeof reply);
      if (got >= 36) {
        unsigned w[4];
        for (int i = 0; i < 4; i++)
          w[i] = (unsigned)(reply[28 + 2 * i] | (reply[29 + 2 * i] << 8));
        char v[48];
        snprintf(v, sizeof v, "%u.%u.%u.%u", w[0], w[1], w[2], w[3]);
        osq_rows_cstr(out, 0, v);
        rc = osq_rows_end(out);
      }
    }
  }
  close(fd);
  return rc;
}

const osq_table_plugin osq_table_intel_me_info = {
    .name = "intel_me_info",
    .columns = me_columns,
    .ncolumns = OSQ_NCOLS(me_columns),
    .generate = me_generate,
};
