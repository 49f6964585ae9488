/* pci_devices and usb_devices: every device lspci(8) lists, with the same
 * ids and names, and a fixture sysfs tree and ids files for what the
 * machine lacks (USB, unknown ids, odd uevent values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tables/builtin.h"
#include "tables/linux/hw_bus.h"
#include "tables_fixture.h"

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-hwbus");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tfx_remove_dir();
  return 0;
}

/* lspci -mm quotes its fields: split a line into the slot, the quoted
 * fields and the -r/-p options dropped. Returns the number of fields. */
static int lspci_fields(char *line, char **f, int max) {
  int n = 0;
  char *p = line;
  f[n++] = p;
  p = strchr(p, ' ');
  if (p == NULL)
    return 0;
  *p++ = '\0';
  while (*p && n < max) {
    if (*p == '"') {
      char *end = strchr(p + 1, '"');
      if (end == NULL)
        break;
      *end = '\0';
      f[n++] = p + 1;
      p = end + 1;
    } else {
      p++;
    }
  }
  return n;
}

static const char *cell(tcell *row, const osq_table_plugin *t,
                        const char *col) {
  tcell *c = &row[tcol(t, col)];
  return c->kind == OSQ_VALUE_NULL ? "(null)" : c->s;
}

static bool have_lspci(void) {
  return system("lspci -mm -n >/dev/null 2>&1") == 0;
}

/* Every device lspci lists is a row: ids from -n, names without it. */
static void test_pci_matches_lspci(void **state) {
  (void)state;
  if (!have_lspci()) {
    print_message("lspci (pciutils) missing or fails: skipped\n");
    skip();
  }
  const osq_table_plugin *t = &osq_table_pci_devices;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  FILE *p = popen("lspci -mm -n -D", "r");
  assert_non_null(p);
  char line[1024];
  size_t seen = 0;
  while (fgets(line, sizeof line, p)) {
    line[strcspn(line, "\n")] = '\0';
    char *f[8];
    int n = lspci_fields(line, f, 8);
    assert_true(n >= 4);
    tcell *row = tfind_text(r, tcol(t, "pci_slot"), f[0]);
    assert_non_null(row);
    char want[16];
    snprintf(want, sizeof want, "0x%.2s", f[1]);
    assert_string_equal(cell(row, t, "pci_class_id"), want);
    snprintf(want, sizeof want, "0x%.2s", f[1] + 2);
    assert_string_equal(cell(row, t, "pci_subclass_id"), want);
    snprintf(want, sizeof want, "0x%s", f[2]);
    assert_string_equal(cell(row, t, "vendor_id"), want);
    snprintf(want, sizeof want, "0x%s", f[3]);
    assert_string_equal(cell(row, t, "model_id"), want);
    if (n >= 6 && f[4][0]) {
      snprintf(want, sizeof want, "0x%s", f[4]);
      assert_string_equal(cell(row, t, "subsystem_vendor_id"), want);
      snprintf(want, sizeof want, "0x%s", f[5]);
      assert_string_equal(cell(row, t, "subsystem_model_id"), want);
    }
    seen++;
  }
  pclose(p);
  assert_int_equal(r->n, seen);

  p = popen("lspci -mm -D", "r");
  assert_non_null(p);
  while (fgets(line, sizeof line, p)) {
    line[strcspn(line, "\n")] = '\0';
    char *f[8];
    int n = lspci_fields(line, f, 8);
    assert_true(n >= 4);
    tcell *row = tfind_text(r, tcol(t, "pci_slot"), f[0]);
    assert_non_null(row);
    /* lspci names an unknown class "… [ffff]", an unknown device
     * "Device 0d57"; the table leaves those empty */
    if (strchr(f[1], '[') == NULL) {
      const char *sub = cell(row, t, "pci_subclass");
      assert_string_equal(sub[0] ? sub : cell(row, t, "pci_class"), f[1]);
    }
    if (strncmp(f[2], "Vendor ", 7) != 0)
      assert_string_equal(cell(row, t, "vendor"), f[2]);
    if (strncmp(f[3], "Device ", 7) == 0)
      assert_string_equal(cell(row, t, "model"), "");
    else
      assert_string_equal(cell(row, t, "model"), f[3]);
    if (n >= 5 && f[4][0] && strncmp(f[4], "Vendor ", 7) != 0)
      assert_string_equal(cell(row, t, "subsystem_vendor"), f[4]);
  }
  pclose(p);
  tfree(r);
}

static const char fixture_pci_ids[] =
    "# comment\n"
    "1234  Acme Corp\n"
    "\t5678  Widget Controller\n"
    "\t\t1234 0001  Widget Pro\n"
    "\t9abc  Other\n"
    "abcd  Subsys Maker # trailing text stays\n"
    "ffff  Illegal Vendor ID\n"
    "C 02  Network controller\n"
    "\t00  Ethernet controller\n"
    "\t\t00  prog-if\n"
    "C 06  Bridge\n";

static void put_pci(const char *slot, const char *uevent) {
  char rel[256];
  snprintf(rel, sizeof rel, "sys/bus/pci/devices/%s/uevent", slot);
  tfx_put(rel, uevent);
}

static void test_pci_fixture(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_pci_devices;
  put_pci("0000:00:01.0", "DRIVER=acme\nPCI_CLASS=20000\nPCI_ID=1234:5678\n"
                          "PCI_SUBSYS_ID=1234:0001\n"
                          "PCI_SLOT_NAME=0000:00:01.0\n");
  put_pci("0000:00:02.0", "PCI_CLASS=60400\nPCI_ID=1234:9ABC\n"
                          "PCI_SUBSYS_ID=ABCD:0002\n"
                          "PCI_SLOT_NAME=0000:00:02.0\n");
  /* unknown vendor, bad class, ids that do not parse */
  put_pci("0000:00:03.0", "PCI_CLASS=zz\nPCI_ID=12345678\n"
                          "PCI_SLOT_NAME=0000:00:03.0\n");
  put_pci("0000:00:04.0", "PCI_CLASS=C0300\nPCI_ID=FFFF:0001\n"
                          "PCI_SLOT_NAME=0000:00:04.0\n");
  char root[300];
  snprintf(root, sizeof root, "%s/sys", tfx_dir);
  osq_tables_sysfs_root = root;
  osq_tables_pci_ids = tfx_put("pci.ids", fixture_pci_ids);
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 4);

  tcell *row = tfind_text(r, tcol(t, "pci_slot"), "0000:00:01.0");
  assert_non_null(row);
  assert_string_equal(cell(row, t, "driver"), "acme");
  assert_string_equal(cell(row, t, "vendor"), "Acme Corp");
  assert_string_equal(cell(row, t, "vendor_id"), "0x1234");
  assert_string_equal(cell(row, t, "model"), "Widget Controller");
  assert_string_equal(cell(row, t, "model_id"), "0x5678");
  assert_string_equal(cell(row, t, "pci_class"), "Network controller");
  assert_string_equal(cell(row, t, "pci_class_id"), "0x02");
  assert_string_equal(cell(row, t, "pci_subclass"), "Ethernet controller");
  assert_string_equal(cell(row, t, "pci_subclass_id"), "0x00");
  assert_string_equal(cell(row, t, "subsystem_vendor"), "Acme Corp");
  assert_string_equal(cell(row, t, "subsystem_model"), "Widget Pro");
  assert_string_equal(cell(row, t, "subsystem_model_id"), "0x0001");

  row = tfind_text(r, tcol(t, "pci_slot"), "0000:00:02.0");
  assert_string_equal(cell(row, t, "driver"), "");
  assert_string_equal(cell(row, t, "model"), "Other");
  assert_string_equal(cell(row, t, "model_id"), "0x9abc");
  assert_string_equal(cell(row, t, "pci_class"), "Bridge");
  assert_string_equal(cell(row, t, "pci_subclass"), "");
  assert_string_equal(cell(row, t, "pci_subclass_id"), "0x04");
  assert_string_equal(cell(row, t, "subsystem_vendor"),
                      "Subsys Maker # trailing text stays");
  assert_string_equal(cell(row, t, "subsystem_model"), "");

  row = tfind_text(r, tcol(t, "pci_slot"), "0000:00:03.0");
  assert_string_equal(cell(row, t, "vendor_id"), "0");
  assert_string_equal(cell(row, t, "model_id"), "0");
  assert_string_equal(cell(row, t, "pci_class_id"), "(null)");
  assert_string_equal(cell(row, t, "subsystem_vendor_id"), "(null)");

  row = tfind_text(r, tcol(t, "pci_slot"), "0000:00:04.0");
  assert_string_equal(cell(row, t, "vendor"), "Illegal Vendor ID");
  assert_string_equal(cell(row, t, "pci_class_id"), "0x0c");
  assert_string_equal(cell(row, t, "pci_class"), "");
  tfree(r);

  /* no ids database: ids, no names */
  osq_tables_pci_ids = "/nonexistent/pci.ids";
  r = trun_all(t);
  assert_int_equal(r->n, 4);
  row = tfind_text(r, tcol(t, "pci_slot"), "0000:00:01.0");
  assert_string_equal(cell(row, t, "vendor"), "");
  assert_string_equal(cell(row, t, "vendor_id"), "0x1234");
  tfree(r);
  osq_tables_pci_ids = NULL;
  osq_tables_sysfs_root = "/sys";
}

static const char fixture_usb_ids[] =
    "1d6b  Linux Foundation\n"
    "\t0002  2.0 root hub\n"
    "046d  Logitech, Inc.\n"
    "C 09  Hub\n"
    "\t00  Unused\n"
    "AT 0100  USB Undefined\n"
    "\t046d  not a device of Logitech\n"
    "L 0409  English\n";

static void put_usb(const char *name, const char *attr, const char *v) {
  char rel[256];
  snprintf(rel, sizeof rel, "sys/bus/usb/devices/%s/%s", name, attr);
  tfx_put(rel, v);
}

/* A root hub, a device with no name in usb.ids, and an interface (no
 * BUSNUM/DEVNUM: not a row). */
static void test_usb_fixture(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_usb_devices;
  put_usb("usb1", "uevent", "DEVTYPE=usb_device\nBUSNUM=001\nDEVNUM=001\n"
                            "TYPE=9/0/1\n");
  put_usb("usb1", "idVendor", "1d6b\n");
  put_usb("usb1", "idProduct", "0002\n");
  put_usb("usb1", "bcdDevice", "0515\n");
  put_usb("usb1", "product", "EHCI Host Controller\n");
  put_usb("usb1", "serial", "0000:00:1d.0\n");
  put_usb("usb1", "removable", "unknown\n");
  put_usb("1-1", "uevent", "DEVTYPE=usb_device\nBUSNUM=001\nDEVNUM=004\n"
                           "TYPE=0/0/0\n");
  put_usb("1-1", "idVendor", "046d\n");
  put_usb("1-1", "idProduct", "c52B\n");
  put_usb("1-1", "bcdDevice", "1211\n");
  put_usb("1-1", "product", "USB Receiver\n");
  put_usb("1-1", "removable", "removable\n");
  put_usb("1-1:1.0", "uevent", "DEVTYPE=usb_interface\nINTERFACE=3/1/1\n");
  char root[300];
  snprintf(root, sizeof root, "%s/sys", tfx_dir);
  osq_tables_sysfs_root = root;
  osq_tables_usb_ids = tfx_put("usb.ids", fixture_usb_ids);
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 2);
  tcell *row = tfind_int(r, tcol(t, "usb_port"), 1);
  assert_non_null(row);
  assert_int_equal(row[tcol(t, "usb_address")].i, 1);
  assert_string_equal(cell(row, t, "vendor"), "Linux Foundation");
  assert_string_equal(cell(row, t, "vendor_id"), "1d6b");
  assert_string_equal(cell(row, t, "model"), "2.0 root hub");
  assert_string_equal(cell(row, t, "model_id"), "0002");
  assert_string_equal(cell(row, t, "version"), "0515");
  assert_string_equal(cell(row, t, "serial"), "0000:00:1d.0");
  assert_string_equal(cell(row, t, "class"), "9");
  assert_string_equal(cell(row, t, "subclass"), "0");
  assert_string_equal(cell(row, t, "protocol"), "1");
  assert_int_equal(row[tcol(t, "removable")].i, -1);
  row = tfind_int(r, tcol(t, "usb_port"), 4);
  assert_non_null(row);
  assert_string_equal(cell(row, t, "vendor"), "Logitech, Inc.");
  assert_string_equal(cell(row, t, "model_id"), "c52b");
  /* not in usb.ids: the device's own name, as udev's ID_MODEL */
  assert_string_equal(cell(row, t, "model"), "USB_Receiver");
  assert_string_equal(cell(row, t, "serial"), "");
  assert_int_equal(row[tcol(t, "removable")].i, 1);
  tfree(r);
  osq_tables_usb_ids = NULL;
  osq_tables_sysfs_root = "/sys";
}

/* Where the machine has USB devices, lsusb lists the same bus/device
 * numbers and ids. */
static void test_usb_matches_lsusb(void **state) {
  (void)state;
  if (access("/sys/bus/usb/devices", F_OK) != 0 ||
      system("lsusb >/dev/null 2>&1") != 0) {
    print_message("no USB bus or no lsusb (usbutils): skipped\n");
    skip();
  }
  const osq_table_plugin *t = &osq_table_usb_devices;
  tresult *r = trun_all(t);
  FILE *p = popen("lsusb", "r");
  assert_non_null(p);
  char line[1024];
  size_t seen = 0;
  int bus, dev;
  char ids[16];
  while (fgets(line, sizeof line, p)) {
    if (sscanf(line, "Bus %d Device %d: ID %9s", &bus, &dev, ids) != 3)
      continue;
    bool found = false;
    for (size_t i = 0; i < r->n; i++) {
      tcell *row = r->rows[i];
      if (row[tcol(t, "usb_address")].i != bus ||
          row[tcol(t, "usb_port")].i != dev)
        continue;
      char want[16];
      snprintf(want, sizeof want, "%s:%s", cell(row, t, "vendor_id"),
               cell(row, t, "model_id"));
      assert_string_equal(want, ids);
      found = true;
    }
    assert_true(found);
    seen++;
  }
  pclose(p);
  assert_int_equal(r->n, seen);
  tfree(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pci_matches_lspci),
      cmocka_unit_test(test_pci_fixture),
      cmocka_unit_test(test_usb_fixture),
      cmocka_unit_test(test_usb_matches_lsusb),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
