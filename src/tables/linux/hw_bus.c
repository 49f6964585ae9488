/* pci_devices and usb_devices: the kernel's device attributes in sysfs
 * (the uevent properties libudev would hand over) named from the hwdata
 * pci.ids / usb.ids files, as udev's hwdb and osquery name them. Reading
 * sysfs directly needs no libudev, so the shell loads nothing for it. */
#include "tables/builtin.h"
#include "tables/util.h"
#include "hw_bus.h"
#include "hw_ids.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

const char *osq_tables_sysfs_root = "/sys";
const char *osq_tables_pci_ids = NULL;
const char *osq_tables_usb_ids = NULL;

/* No bus has more devices than this; a larger listing is cut there. */
#define HW_DEVICES_MAX 4096

static const char *const pci_ids_paths[] = {
    "/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids",
    "/usr/share/pci.ids", NULL};
static const char *const usb_ids_paths[] = {
    "/usr/share/misc/usb.ids", "/usr/share/hwdata/usb.ids",
    "/usr/share/usb.ids", NULL};

/* The value of KEY= in a uevent text, copied into out; false if absent. */
static bool uevent_get(const char *text, const char *key, char *out,
                       size_t cap) {
  size_t kl = strlen(key);
  for (const char *p = text; *p;) {
    const char *eol = strchr(p, '\n');
    size_t ll = eol ? (size_t)(eol - p) : strlen(p);
    if (ll > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
      size_t vl = ll - kl - 1;
      if (vl >= cap)
        vl = cap - 1;
      memcpy(out, p + kl + 1, vl);
      out[vl] = '\0';
      return true;
    }
    p += ll + (eol != NULL);
  }
  return false;
}

/* A sysfs attribute of one device, trimmed; "" if unreadable. */
static void attr_get(const char *dev, const char *attr, char *out,
                     size_t cap) {
  char path[1024];
  int pl = snprintf(path, sizeof path, "%s/%s", dev, attr);
  if (pl < 0 || (size_t)pl >= sizeof path ||
      osq_tbl_read(path, out, cap, NULL) < 0)
    out[0] = '\0';
  osq_tbl_trim(out);
}

static void lower(char *s) {
  for (; *s; s++)
    *s = (char)tolower((unsigned char)*s);
}

/* "8086:0D57" into two lowercase 4-digit ids; false unless that shape. */
static bool split_ids(const char *s, char a[5], char b[5]) {
  if (strlen(s) != 9 || s[4] != ':')
    return false;
  for (int i = 0; i < 9; i++)
    if (i != 4 && !isxdigit((unsigned char)s[i]))
      return false;
  memcpy(a, s, 4);
  a[4] = '\0';
  memcpy(b, s + 5, 4);
  b[4] = '\0';
  lower(a);
  lower(b);
  return true;
}

/* The sorted entry names of a sysfs bus directory (malloc'd array of
 * malloc'd names; *n of them). */
static char **list_dir(const char *dir, size_t *n) {
  *n = 0;
  DIR *d = opendir(dir);
  if (d == NULL)
    return NULL;
  char **names = NULL;
  size_t cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && *n < HW_DEVICES_MAX) {
    if (e->d_name[0] == '.')
      continue;
    if (*n == cap) {
      size_t nc = cap ? cap * 2 : 32;
      char **nn = realloc(names, nc * sizeof *nn);
      if (nn == NULL)
        break;
      names = nn;
      cap = nc;
    }
    char *dup = strdup(e->d_name);
    if (dup == NULL)
      break;
    names[(*n)++] = dup;
  }
  closedir(d);
  return names;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(char **names, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

static void cell_name(osq_rows *out, size_t col, const char *s) {
  osq_rows_cstr(out, col, s ? s : "");
}

/* The devices of a sysfs bus, sorted by name, each with an id-lookup
 * slot (q) and a table's own record (recs). */
typedef struct bus_scan {
  char dir[512];
  char **names;
  size_t n;
  osq_hwid *q;
  void *recs;
} bus_scan;

/* false when there is nothing to scan: *rc is OSQ_OK (no devices) or
 * OSQ_ENOMEM. */
static bool bus_open(bus_scan *b, const char *bus, size_t rec_size,
                     int *rc) {
  snprintf(b->dir, sizeof b->dir, "%s/bus/%s/devices", osq_tables_sysfs_root,
           bus);
  *rc = OSQ_OK;
  b->names = list_dir(b->dir, &b->n);
  if (b->n == 0) {
    free(b->names);
    return false;
  }
  qsort(b->names, b->n, sizeof *b->names, cmp_names);
  b->q = calloc(b->n, sizeof *b->q);
  b->recs = calloc(b->n, rec_size);
  if (b->q == NULL || b->recs == NULL) {
    free(b->q);
    free(b->recs);
    free_list(b->names, b->n);
    *rc = OSQ_ENOMEM;
    return false;
  }
  return true;
}

/* nlooked: how many of q went through osq_hwids_lookup. */
static void bus_close(bus_scan *b, size_t nlooked) {
  osq_hwids_free(b->q, nlooked);
  free(b->q);
  free(b->recs);
  free_list(b->names, b->n);
}

/* ---- pci_devices ------------------------------------------------------ */

static const osq_column pci_columns[] = {
    {"pci_slot", OSQ_TYPE_TEXT, 0},
    {"pci_class", OSQ_TYPE_TEXT, 0},
    {"driver", OSQ_TYPE_TEXT, 0},
    {"vendor", OSQ_TYPE_TEXT, 0},
    {"vendor_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"model", OSQ_TYPE_TEXT, 0},
    {"model_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"pci_class_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"pci_subclass_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"pci_subclass", OSQ_TYPE_TEXT, 0},
    {"subsystem_vendor_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"subsystem_vendor", OSQ_TYPE_TEXT, 0},
    {"subsystem_model_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"subsystem_model", OSQ_TYPE_TEXT, 0},
};
enum {
  PCI_SLOT, PCI_CLASS, PCI_DRIVER, PCI_VENDOR, PCI_VENDOR_ID, PCI_MODEL,
  PCI_MODEL_ID, PCI_CLASS_ID, PCI_SUBCLASS_ID, PCI_SUBCLASS, PCI_SUBVEN_ID,
  PCI_SUBVEN, PCI_SUBMODEL_ID, PCI_SUBMODEL
};

typedef struct pci_dev {
  char slot[64], driver[128];
  bool have_ids;
  bool have_class;
} pci_dev;

/* PCI_CLASS is the 24-bit class code in hex without leading zeros:
 * "60000" is class 06, subclass 00. */
static bool parse_class(const char *s, int *cls, int *sub) {
  size_t l = strlen(s);
  if (l != 5 && l != 6)
    return false;
  for (size_t i = 0; i < l; i++)
    if (!isxdigit((unsigned char)s[i]))
      return false;
  unsigned long v = strtoul(s, NULL, 16);
  *cls = (int)(v >> 16) & 0xff;
  *sub = (int)(v >> 8) & 0xff;
  return true;
}

static int pci_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  bus_scan b;
  int rc;
  if (!bus_open(&b, "pci", sizeof(pci_dev), &rc))
    return rc;
  size_t n = b.n;
  osq_hwid *q = b.q;
  pci_dev *d = b.recs;
  for (size_t i = 0; i < n; i++) {
    char path[768], uevent[4096], v[64];
    snprintf(path, sizeof path, "%s/%s/uevent", b.dir, b.names[i]);
    q[i].cls = q[i].subcls = -1;
    if (osq_tbl_read(path, uevent, sizeof uevent, NULL) < 0)
      uevent[0] = '\0';
    if (!uevent_get(uevent, "PCI_SLOT_NAME", d[i].slot, sizeof d[i].slot))
      d[i].slot[0] = '\0';
    if (!uevent_get(uevent, "DRIVER", d[i].driver, sizeof d[i].driver))
      d[i].driver[0] = '\0';
    if (uevent_get(uevent, "PCI_ID", v, sizeof v) &&
        split_ids(v, q[i].vendor, q[i].device)) {
      d[i].have_ids = true;
      if (!uevent_get(uevent, "PCI_SUBSYS_ID", v, sizeof v) ||
          !split_ids(v, q[i].subvendor, q[i].subdevice))
        q[i].subvendor[0] = q[i].subdevice[0] = '\0';
    }
    if (uevent_get(uevent, "PCI_CLASS", v, sizeof v))
      d[i].have_class = parse_class(v, &q[i].cls, &q[i].subcls);
  }
  osq_hwids_lookup(osq_tables_pci_ids ? osq_tables_pci_ids
                                      : osq_hwids_path(pci_ids_paths),
                   q, n);
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    char id[16];
    osq_rows_cstr(out, PCI_SLOT, d[i].slot);
    osq_rows_cstr(out, PCI_DRIVER, d[i].driver);
    cell_name(out, PCI_CLASS, q[i].class_name);
    cell_name(out, PCI_SUBCLASS, q[i].subclass_name);
    cell_name(out, PCI_VENDOR, q[i].vendor_name);
    cell_name(out, PCI_MODEL, q[i].device_name);
    if (d[i].have_ids) {
      snprintf(id, sizeof id, "0x%s", q[i].vendor);
      osq_rows_cstr(out, PCI_VENDOR_ID, id);
      snprintf(id, sizeof id, "0x%s", q[i].device);
      osq_rows_cstr(out, PCI_MODEL_ID, id);
      if (q[i].subvendor[0]) {
        snprintf(id, sizeof id, "0x%s", q[i].subvendor);
        osq_rows_cstr(out, PCI_SUBVEN_ID, id);
        snprintf(id, sizeof id, "0x%s", q[i].subdevice);
        osq_rows_cstr(out, PCI_SUBMODEL_ID, id);
        cell_name(out, PCI_SUBVEN, q[i].subvendor_name);
        cell_name(out, PCI_SUBMODEL, q[i].subsystem_name);
      }
    } else {
      /* osquery's value for a device whose ids do not parse */
      osq_rows_cstr(out, PCI_VENDOR_ID, "0");
      osq_rows_cstr(out, PCI_MODEL_ID, "0");
    }
    if (d[i].have_class) {
      snprintf(id, sizeof id, "0x%02x", q[i].cls);
      osq_rows_cstr(out, PCI_CLASS_ID, id);
      snprintf(id, sizeof id, "0x%02x", q[i].subcls);
      osq_rows_cstr(out, PCI_SUBCLASS_ID, id);
    }
    rc = osq_rows_end(out);
  }
  bus_close(&b, n);
  return rc;
}

const osq_table_plugin osq_table_pci_devices = {
    .name = "pci_devices",
    .columns = pci_columns,
    .ncolumns = OSQ_NCOLS(pci_columns),
    .generate = pci_generate,
};

/* ---- usb_devices ------------------------------------------------------ */

static const osq_column usb_columns[] = {
    {"usb_address", OSQ_TYPE_INTEGER, 0},
    {"usb_port", OSQ_TYPE_INTEGER, 0},
    {"vendor", OSQ_TYPE_TEXT, 0},
    {"vendor_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"model", OSQ_TYPE_TEXT, 0},
    {"model_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"serial", OSQ_TYPE_TEXT, 0},
    {"class", OSQ_TYPE_TEXT, 0},
    {"subclass", OSQ_TYPE_TEXT, 0},
    {"protocol", OSQ_TYPE_TEXT, 0},
    {"removable", OSQ_TYPE_INTEGER, 0},
};
enum {
  USB_ADDRESS, USB_PORT, USB_VENDOR, USB_VENDOR_ID, USB_VERSION, USB_MODEL,
  USB_MODEL_ID, USB_SERIAL, USB_CLASS, USB_SUBCLASS, USB_PROTOCOL,
  USB_REMOVABLE
};

typedef struct usb_dev {
  int64_t bus, dev;
  char version[16], product[256], serial[256], type[32];
  char removable[32];
} usb_dev;

static bool is_hex4(const char *s) {
  if (strlen(s) != 4)
    return false;
  for (int i = 0; i < 4; i++)
    if (!isxdigit((unsigned char)s[i]))
      return false;
  return true;
}

/* udev's ID_MODEL / ID_SERIAL_SHORT: printable ASCII, blanks as '_'. */
static void udev_safe(char *s) {
  for (; *s; s++)
    if (*s == ' ' || !isgraph((unsigned char)*s))
      *s = '_';
}

static int usb_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  bus_scan b;
  int rc;
  if (!bus_open(&b, "usb", sizeof(usb_dev), &rc))
    return rc;
  osq_hwid *q = b.q;
  usb_dev *d = b.recs;
  size_t m = 0; /* devices (interfaces have no BUSNUM/DEVNUM) */
  for (size_t i = 0; i < b.n; i++) {
    char dev[768], uevent[4096], v[64];
    snprintf(dev, sizeof dev, "%s/%s", b.dir, b.names[i]);
    char path[800];
    snprintf(path, sizeof path, "%s/uevent", dev);
    if (osq_tbl_read(path, uevent, sizeof uevent, NULL) < 0)
      continue;
    usb_dev *u = &d[m];
    if (!uevent_get(uevent, "BUSNUM", v, sizeof v) ||
        !osq_tbl_parse_i64(v, &u->bus) ||
        !uevent_get(uevent, "DEVNUM", v, sizeof v) ||
        !osq_tbl_parse_i64(v, &u->dev))
      continue;
    if (!uevent_get(uevent, "TYPE", u->type, sizeof u->type))
      u->type[0] = '\0';
    q[m].cls = q[m].subcls = -1;
    char vid[16], pid[16];
    attr_get(dev, "idVendor", vid, sizeof vid);
    attr_get(dev, "idProduct", pid, sizeof pid);
    if (is_hex4(vid) && is_hex4(pid)) {
      memcpy(q[m].vendor, vid, 5);
      memcpy(q[m].device, pid, 5);
      lower(q[m].vendor);
      lower(q[m].device);
    }
    attr_get(dev, "bcdDevice", u->version, sizeof u->version);
    attr_get(dev, "product", u->product, sizeof u->product);
    attr_get(dev, "serial", u->serial, sizeof u->serial);
    attr_get(dev, "removable", u->removable, sizeof u->removable);
    udev_safe(u->product);
    udev_safe(u->serial);
    m++;
  }
  osq_hwids_lookup(osq_tables_usb_ids ? osq_tables_usb_ids
                                      : osq_hwids_path(usb_ids_paths),
                   q, m);
  for (size_t i = 0; i < m && rc == OSQ_OK; i++) {
    usb_dev *u = &d[i];
    osq_rows_int(out, USB_ADDRESS, u->bus);
    osq_rows_int(out, USB_PORT, u->dev);
    cell_name(out, USB_VENDOR, q[i].vendor_name);
    osq_rows_cstr(out, USB_VENDOR_ID, q[i].vendor);
    osq_rows_cstr(out, USB_VERSION, u->version);
    osq_rows_cstr(out, USB_MODEL,
                  q[i].device_name ? q[i].device_name : u->product);
    osq_rows_cstr(out, USB_MODEL_ID, q[i].device);
    osq_rows_cstr(out, USB_SERIAL, u->serial);
    /* TYPE is "class/subclass/protocol" in decimal */
    char *parts[4] = {0};
    int k = osq_tbl_tokens(u->type, "/", parts, 4);
    osq_rows_cstr(out, USB_CLASS, k == 3 ? parts[0] : "");
    osq_rows_cstr(out, USB_SUBCLASS, k == 3 ? parts[1] : "");
    osq_rows_cstr(out, USB_PROTOCOL, k == 3 ? parts[2] : "");
    /* osquery: "unknown" is -1, anything else (fixed, removable) 1 */
    osq_rows_int(out, USB_REMOVABLE,
                 strcmp(u->removable, "unknown") == 0 ? -1 : 1);
    rc = osq_rows_end(out);
  }
  bus_close(&b, m);
  return rc;
}

const osq_table_plugin osq_table_usb_devices = {
    .name = "usb_devices",
    .columns = usb_columns,
    .ncolumns = OSQ_NCOLS(usb_columns),
    .generate = usb_generate,
};
