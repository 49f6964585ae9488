/* The SMBIOS tables on a DMI table built here, structure by structure:
 * values checked against the fields written and against dmidecode(8)
 * reading the same table (as a --from-dump file); the walk's bounds on
 * malformed tables; and, where the machine exports DMI, the live table
 * against dmidecode. */
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
#include "tables/linux/dmi.h"
#include "tables/linux/smbios.h"
#include "tables_fixture.h"

/* ---- building a table ------------------------------------------------- */

typedef struct blob {
  uint8_t b[8192];
  size_t n;
} blob;

static uint8_t *put_struct(blob *t, uint8_t type, uint8_t len,
                           uint16_t handle) {
  assert_true(t->n + len < sizeof t->b);
  uint8_t *p = t->b + t->n;
  memset(p, 0, len);
  p[0] = type;
  p[1] = len;
  p[2] = (uint8_t)handle;
  p[3] = (uint8_t)(handle >> 8);
  t->n += len;
  return p;
}

/* The strings after the last structure: NULL-terminated list. */
static void put_strings(blob *t, const char *const *s) {
  if (s == NULL || s[0] == NULL) {
    t->b[t->n++] = 0;
    t->b[t->n++] = 0;
    return;
  }
  for (; *s; s++) {
    size_t l = strlen(*s) + 1;
    memcpy(t->b + t->n, *s, l);
    t->n += l;
  }
  t->b[t->n++] = 0;
}

static void w16(uint8_t *p, size_t off, uint16_t v) {
  p[off] = (uint8_t)v;
  p[off + 1] = (uint8_t)(v >> 8);
}
static void w32(uint8_t *p, size_t off, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[off + i] = (uint8_t)(v >> (8 * i));
}
static void w64(uint8_t *p, size_t off, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[off + i] = (uint8_t)(v >> (8 * i));
}

static blob fixture;
static size_t mdev_off, mdev_end; /* the first memory device's bytes */

static void build_fixture(blob *t) {
  t->n = 0;
  uint8_t *p = put_struct(t, 0, 0x18, 0x0000);
  p[0x04] = 1;
  p[0x05] = 2;
  w16(p, 0x06, 0xE800);
  p[0x08] = 3;
  p[0x09] = 0x0F; /* (15 + 1) * 64 KiB */
  p[0x14] = 2;
  p[0x15] = 7;
  put_strings(t, (const char *[]){"Acme BIOS  ", "1.2.3", "01/02/2023", 0});

  p = put_struct(t, 4, 0x30, 0x0400);
  p[0x04] = 1;
  p[0x05] = 3;
  p[0x06] = 0xB3;
  p[0x07] = 2;
  p[0x10] = 3;
  w16(p, 0x14, 3000);
  w16(p, 0x16, 2000);
  p[0x18] = 0x41;
  p[0x23] = 4;
  p[0x25] = 8;
  w16(p, 0x26, 0x0004);
  put_strings(t, (const char *[]){"CPU 0", "GenuineIntel",
                                  "Fake CPU @ 2.00GHz", 0});

  p = put_struct(t, 11, 0x05, 0x0B00);
  p[0x04] = 2;
  put_strings(t, (const char *[]){"oem one", "oem two", 0});

  p = put_struct(t, 16, 0x17, 0x1000);
  p[0x04] = 3;
  p[0x05] = 3;
  p[0x06] = 3;
  w32(p, 0x07, 16u * 1024 * 1024); /* KiB */
  w16(p, 0x0B, 0xFFFE);
  w16(p, 0x0D, 2);
  put_strings(t, NULL);

  mdev_off = t->n;
  p = put_struct(t, 17, 0x28, 0x1100);
  w16(p, 0x04, 0x1000);
  w16(p, 0x06, 0xFFFE);
  w16(p, 0x08, 72);
  w16(p, 0x0A, 64);
  w16(p, 0x0C, 16384);
  p[0x0E] = 9;
  p[0x0F] = 0;
  p[0x10] = 1;
  p[0x11] = 2;
  p[0x12] = 0x1A;
  w16(p, 0x13, 0x2080);
  w16(p, 0x15, 2666);
  p[0x17] = 3;
  p[0x18] = 4;
  p[0x19] = 5;
  p[0x1A] = 6;
  w16(p, 0x20, 2400);
  w16(p, 0x22, 1200);
  w16(p, 0x24, 1350);
  w16(p, 0x26, 1250);
  put_strings(t, (const char *[]){"DIMM 0", "BANK 0", "Samsung", "12345678",
                                  "Tag0", "M393A2K40BB1   ", 0});
  mdev_end = t->n;

  p = put_struct(t, 17, 0x28, 0x1101); /* extended size, mostly unknown */
  w16(p, 0x04, 0x1000);
  w16(p, 0x08, 0xFFFF);
  w16(p, 0x0A, 0xFFFF);
  w16(p, 0x0C, 0x7FFF);
  w32(p, 0x1C, 65536);
  p[0x0E] = 0x7F; /* not a form factor */
  p[0x0F] = 0xFF;
  p[0x10] = 9; /* no such string */
  put_strings(t, (const char *[]){"only", 0});

  p = put_struct(t, 18, 0x17, 0x1200);
  p[0x04] = 3;
  p[0x05] = 2;
  p[0x06] = 2;
  w32(p, 0x0B, 0x80000000u);
  w32(p, 0x0F, 0x80000000u);
  w32(p, 0x13, 0x12345678u);
  put_strings(t, NULL);

  p = put_struct(t, 19, 0x1F, 0x1300);
  w32(p, 0x04, 0);
  w32(p, 0x08, 0x00FFFFFF);
  w16(p, 0x0C, 0x1000);
  p[0x0E] = 2;
  put_strings(t, NULL);

  p = put_struct(t, 19, 0x1F, 0x1301);
  w32(p, 0x04, 0xFFFFFFFFu);
  w32(p, 0x08, 0xFFFFFFFFu);
  w16(p, 0x0C, 0x1000);
  p[0x0E] = 1;
  w64(p, 0x0F, 0x100000000ull);
  w64(p, 0x17, 0x47FFFFFFFull);
  put_strings(t, NULL);

  p = put_struct(t, 20, 0x23, 0x1400);
  w32(p, 0x04, 0);
  w32(p, 0x08, 0x00FFFFFF);
  w16(p, 0x0C, 0x1100);
  w16(p, 0x0E, 0x1300);
  p[0x10] = 0xFF;
  p[0x11] = 1;
  p[0x12] = 2;
  put_strings(t, NULL);

  p = put_struct(t, 200, 0x06, 0x2000); /* an OEM type */
  put_strings(t, (const char *[]){"x", 0});

  put_struct(t, 127, 0x04, 0xFEFF);
  put_strings(t, NULL);
  /* after the end-of-table structure: never read */
  put_struct(t, 1, 0x1B, 0x0100);
  put_strings(t, NULL);
}

static char dmi_path[512];
static char dump_path[512];

/* dmidecode's --dump-bin layout: a 64-bit entry point at 0 naming the
 * table at offset 32. */
static void write_dump(const blob *t, const char *path) {
  uint8_t ep[32] = {0};
  memcpy(ep, "_SM3_", 5);
  ep[6] = 0x18;
  ep[7] = 3;
  ep[8] = 2;
  ep[10] = 1;
  w32(ep, 12, (uint32_t)t->n);
  w64(ep, 16, 32);
  uint8_t sum = 0;
  for (int i = 0; i < 0x18; i++)
    sum = (uint8_t)(sum + ep[i]);
  ep[5] = (uint8_t)(0x100 - sum);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(ep, 1, sizeof ep, f), sizeof ep);
  assert_int_equal(fwrite(t->b, 1, t->n, f), t->n);
  fclose(f);
}

static void write_blob(const uint8_t *b, size_t n, const char *path) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (n)
    assert_int_equal(fwrite(b, 1, n, f), n);
  fclose(f);
}

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-smbios");
  build_fixture(&fixture);
  snprintf(dmi_path, sizeof dmi_path, "%s/DMI", tfx_dir);
  snprintf(dump_path, sizeof dump_path, "%s/dump.bin", tfx_dir);
  write_blob(fixture.b, fixture.n, dmi_path);
  write_dump(&fixture, dump_path);
  osq_tables_dmi_path = dmi_path;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  osq_tables_dmi_path = "/sys/firmware/dmi/tables/DMI";
  tfx_remove_dir();
  return 0;
}

static const char *cell(tcell *row, const osq_table_plugin *t,
                        const char *col) {
  tcell *c = &row[tcol(t, col)];
  return c->kind == OSQ_VALUE_NULL ? "(null)" : c->s;
}
static int64_t ival(tcell *row, const osq_table_plugin *t, const char *col) {
  tcell *c = &row[tcol(t, col)];
  return c->kind == OSQ_VALUE_NULL ? -999 : c->i;
}

/* The value dmidecode prints for "key:" in section -t type of the dump
 * (the first one, or the nth with skip). */
static bool dmidecode_value(const char *type, const char *key, int skip,
                            char *out, size_t cap) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "dmidecode -q --from-dump '%s' -t %s 2>/dev/null",
           dump_path, type);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char line[512];
  bool found = false;
  size_t kl = strlen(key);
  while (fgets(line, sizeof line, p)) {
    char *s = line + strspn(line, " \t");
    if (strncmp(s, key, kl) == 0 && s[kl] == ':' && skip-- == 0) {
      s += kl + 1;
      s += strspn(s, " ");
      s[strcspn(s, "\n")] = '\0';
      snprintf(out, cap, "%s", s);
      found = true;
      break;
    }
  }
  pclose(p);
  return found;
}

static bool have_dmidecode(void) {
  return system("dmidecode --version >/dev/null 2>&1") == 0;
}

static void expect_dmidecode(const char *type, const char *key, int skip,
                             const char *want) {
  char got[256];
  assert_true(dmidecode_value(type, key, skip, got, sizeof got));
  assert_string_equal(got, want);
}

/* ---- tests ------------------------------------------------------------ */

static void test_smbios_tables(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_smbios_tables;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 12); /* up to and with the end-of-table */
  tcell *row = tfind_int(r, tcol(t, "type"), 17);
  assert_int_equal(ival(row, t, "number"), 4);
  assert_string_equal(cell(row, t, "description"), "Memory Device");
  assert_int_equal(ival(row, t, "handle"), 0x1100);
  assert_int_equal(ival(row, t, "header_size"), 0x28);
  size_t strings = 7 + 7 + 8 + 9 + 5 + 16 + 1;
  assert_int_equal(ival(row, t, "size"), 0x28 + strings);
  /* md5 of the structure's bytes, strings included, by md5sum */
  char cmd[700], want[64] = "";
  assert_int_equal(mdev_end - mdev_off, 0x28 + strings);
  snprintf(cmd, sizeof cmd,
           "tail -c +%zu '%s' | head -c %zu | md5sum | cut -c1-32",
           mdev_off + 1, dmi_path, mdev_end - mdev_off);
  FILE *p = popen(cmd, "r");
  assert_non_null(fgets(want, sizeof want, p));
  pclose(p);
  want[strcspn(want, "\n")] = '\0';
  assert_string_equal(cell(row, t, "md5"), want);
  row = tfind_int(r, tcol(t, "type"), 200);
  assert_string_equal(cell(row, t, "description"), "Unknown");
  row = tfind_int(r, tcol(t, "type"), 127);
  assert_string_equal(cell(row, t, "description"), "End-of-Table");
  assert_null(tfind_int(r, tcol(t, "type"), 1));
  tfree(r);
}

static void test_platform_info(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_platform_info;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 1);
  tcell *row = r->rows[0];
  assert_string_equal(cell(row, t, "vendor"), "Acme BIOS");
  assert_string_equal(cell(row, t, "version"), "1.2.3");
  assert_string_equal(cell(row, t, "date"), "01/02/2023");
  assert_string_equal(cell(row, t, "revision"), "2.7");
  assert_string_equal(cell(row, t, "address"), "0xe800");
  assert_string_equal(cell(row, t, "size"), "1048576");
  assert_string_equal(cell(row, t, "extra"), "");
  assert_string_equal(cell(row, t, "firmware_type"), "(null)");
  assert_int_equal(ival(row, t, "volume_size"), 0);
  if (have_dmidecode()) {
    /* dmidecode keeps the blanks osquery trims */
    expect_dmidecode("0", "Vendor", 0, "Acme BIOS  ");
    expect_dmidecode("0", "Version", 0, "1.2.3");
    expect_dmidecode("0", "Release Date", 0, "01/02/2023");
    expect_dmidecode("0", "BIOS Revision", 0, "2.7");
    expect_dmidecode("0", "ROM Size", 0, "1 MB");
    expect_dmidecode("0", "Address", 0, "0xE8000");
  }
  tfree(r);
}

static void test_cpu_info(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_cpu_info;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 1);
  tcell *row = r->rows[0];
  assert_string_equal(cell(row, t, "device_id"), "CPU0");
  assert_string_equal(cell(row, t, "model"), "Fake CPU @ 2.00GHz");
  assert_string_equal(cell(row, t, "manufacturer"), "GenuineIntel");
  assert_string_equal(cell(row, t, "processor_type"), "3");
  assert_int_equal(ival(row, t, "cpu_status"), 0x41);
  assert_string_equal(cell(row, t, "number_of_cores"), "4");
  assert_int_equal(ival(row, t, "logical_processors"), 8);
  assert_string_equal(cell(row, t, "address_width"), "64");
  assert_int_equal(ival(row, t, "current_clock_speed"), 2000);
  assert_int_equal(ival(row, t, "max_clock_speed"), 3000);
  assert_string_equal(cell(row, t, "socket_designation"), "CPU 0");
  assert_string_equal(cell(row, t, "availability"), "(null)");
  if (have_dmidecode()) {
    expect_dmidecode("4", "Socket Designation", 0, "CPU 0");
    expect_dmidecode("4", "Manufacturer", 0, "GenuineIntel");
    expect_dmidecode("4", "Version", 0, "Fake CPU @ 2.00GHz");
    expect_dmidecode("4", "Max Speed", 0, "3000 MHz");
    expect_dmidecode("4", "Current Speed", 0, "2000 MHz");
    expect_dmidecode("4", "Core Count", 0, "4");
    expect_dmidecode("4", "Thread Count", 0, "8");
  }
  tfree(r);
}

static void test_oem_strings(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_oem_strings;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *row = tfind_int(r, tcol(t, "number"), 2);
  assert_string_equal(cell(row, t, "handle"), "0x0b00");
  assert_string_equal(cell(row, t, "value"), "oem two");
  if (have_dmidecode()) {
    expect_dmidecode("11", "String 1", 0, "oem one");
    expect_dmidecode("11", "String 2", 0, "oem two");
  }
  tfree(r);
}

static void test_memory_arrays(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_memory_arrays;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 1);
  tcell *row = r->rows[0];
  assert_string_equal(cell(row, t, "handle"), "0x1000");
  assert_string_equal(cell(row, t, "location"), "System board or motherboard");
  assert_string_equal(cell(row, t, "use"), "System memory");
  assert_string_equal(cell(row, t, "memory_error_correction"), "none");
  assert_int_equal(ival(row, t, "max_capacity"), 16);
  assert_string_equal(cell(row, t, "memory_error_info_handle"), "(null)");
  assert_int_equal(ival(row, t, "number_memory_devices"), 2);
  if (have_dmidecode()) {
    expect_dmidecode("16", "Location", 0, "System Board Or Motherboard");
    expect_dmidecode("16", "Maximum Capacity", 0, "16 GB");
    expect_dmidecode("16", "Number Of Devices", 0, "2");
  }
  tfree(r);
}

static void test_memory_devices(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_memory_devices;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *row = tfind_text(r, tcol(t, "handle"), "0x1100");
  assert_non_null(row);
  assert_string_equal(cell(row, t, "array_handle"), "0x1000");
  assert_string_equal(cell(row, t, "form_factor"), "DIMM");
  assert_int_equal(ival(row, t, "total_width"), 72);
  assert_int_equal(ival(row, t, "data_width"), 64);
  assert_int_equal(ival(row, t, "size"), 16384);
  assert_int_equal(ival(row, t, "set"), 0);
  assert_string_equal(cell(row, t, "device_locator"), "DIMM 0");
  assert_string_equal(cell(row, t, "bank_locator"), "BANK 0");
  assert_string_equal(cell(row, t, "memory_type"), "DDR4");
  assert_string_equal(cell(row, t, "memory_type_details"),
                      "Synchronous Registered (Buffered)");
  assert_int_equal(ival(row, t, "max_speed"), 2666);
  assert_int_equal(ival(row, t, "configured_clock_speed"), 2400);
  assert_string_equal(cell(row, t, "manufacturer"), "Samsung");
  assert_string_equal(cell(row, t, "serial_number"), "12345678");
  assert_string_equal(cell(row, t, "asset_tag"), "Tag0");
  assert_string_equal(cell(row, t, "part_number"), "M393A2K40BB1");
  assert_int_equal(ival(row, t, "min_voltage"), 1200);
  assert_int_equal(ival(row, t, "max_voltage"), 1350);
  assert_int_equal(ival(row, t, "configured_voltage"), 1250);

  row = tfind_text(r, tcol(t, "handle"), "0x1101");
  assert_non_null(row);
  assert_int_equal(ival(row, t, "size"), 65536);
  assert_int_equal(ival(row, t, "total_width"), -999);
  assert_int_equal(ival(row, t, "set"), -999);
  assert_string_equal(cell(row, t, "form_factor"), "(null)");
  assert_string_equal(cell(row, t, "device_locator"), "");
  assert_int_equal(ival(row, t, "max_speed"), -999);
  assert_int_equal(ival(row, t, "min_voltage"), -999);
  if (have_dmidecode()) {
    expect_dmidecode("17", "Size", 0, "16 GB");
    expect_dmidecode("17", "Locator", 0, "DIMM 0");
    expect_dmidecode("17", "Bank Locator", 0, "BANK 0");
    expect_dmidecode("17", "Type", 0, "DDR4");
    expect_dmidecode("17", "Type Detail", 0, "Synchronous Registered (Buffered)");
    expect_dmidecode("17", "Speed", 0, "2666 MT/s");
    expect_dmidecode("17", "Manufacturer", 0, "Samsung");
    expect_dmidecode("17", "Part Number", 0, "M393A2K40BB1   ");
    expect_dmidecode("17", "Minimum Voltage", 0, "1.2 V");
    expect_dmidecode("17", "Size", 1, "64 GB");
  }
  tfree(r);
}

static void test_mapped_addresses(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_memory_array_mapped_addresses;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *row = tfind_text(r, tcol(t, "handle"), "0x1300");
  assert_string_equal(cell(row, t, "memory_array_handle"), "0x1000");
  assert_string_equal(cell(row, t, "starting_address"), "0x00000000");
  assert_string_equal(cell(row, t, "ending_address"), "0x00ffffff");
  assert_int_equal(ival(row, t, "partition_width"), 2);
  row = tfind_text(r, tcol(t, "handle"), "0x1301");
  assert_string_equal(cell(row, t, "starting_address"), "0x000100000000");
  assert_string_equal(cell(row, t, "ending_address"), "0x00047fffffff");
  tfree(r);

  t = &osq_table_memory_device_mapped_addresses;
  r = trun_all(t);
  assert_int_equal(r->n, 1);
  row = r->rows[0];
  assert_string_equal(cell(row, t, "handle"), "0x1400");
  assert_string_equal(cell(row, t, "memory_device_handle"), "0x1100");
  assert_string_equal(cell(row, t, "memory_array_mapped_address_handle"),
                      "0x1300");
  assert_string_equal(cell(row, t, "ending_address"), "0x00ffffff");
  assert_int_equal(ival(row, t, "partition_row_position"), 255);
  assert_int_equal(ival(row, t, "interleave_position"), 1);
  assert_int_equal(ival(row, t, "interleave_data_depth"), 2);
  tfree(r);
  if (have_dmidecode()) {
    /* the dword is KiB: dmidecode prints byte addresses */
    expect_dmidecode("19", "Ending Address", 0, "0x003FFFFFFFF");
    expect_dmidecode("20", "Ending Address", 0, "0x003FFFFFFFF");
    expect_dmidecode("20", "Partition Row Position", 0, "Unknown");
    expect_dmidecode("20", "Interleave Position", 0, "1");
    expect_dmidecode("20", "Interleaved Data Depth", 0, "2");
  }
}

static void test_memory_error_info(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_memory_error_info;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 1);
  tcell *row = r->rows[0];
  assert_string_equal(cell(row, t, "handle"), "0x1200");
  assert_string_equal(cell(row, t, "error_type"), "OK");
  assert_string_equal(cell(row, t, "error_granularity"), "Unknown");
  assert_string_equal(cell(row, t, "error_operation"), "Unknown");
  assert_string_equal(cell(row, t, "vendor_syndrome"), "(null)");
  assert_string_equal(cell(row, t, "memory_array_error_address"), "(null)");
  assert_string_equal(cell(row, t, "error_resolution"), "0x12345678");
  if (have_dmidecode())
    expect_dmidecode("18", "Type", 0, "OK");
  tfree(r);
}

/* Malformed tables: cut anywhere, a length past the end, a length under
 * the header, strings without their closing NUL. The walk stops at the
 * first bad structure and never reads outside the buffer (ASan build). */
static void test_malformed(void **state) {
  (void)state;
  for (size_t cut = 0; cut < fixture.n; cut++) {
    uint8_t *copy = malloc(cut ? cut : 1);
    memcpy(copy, fixture.b, cut);
    size_t off = 0, n = 0;
    osq_dmi_struct s;
    char str[64];
    while (osq_dmi_next(copy, cut, &off, &s)) {
      assert_true(s.p >= copy && s.p + s.size <= copy + cut);
      for (int i = 0; i < 8; i++)
        osq_dmi_string(&s, (uint8_t)i, str, sizeof str);
      (void)osq_dmi_u64(&s, 0x30);
      n++;
    }
    assert_true(n <= 12);
    free(copy);
  }
  uint8_t bad[] = {17, 0x40, 0, 0, 1, 2, 3};
  size_t off = 0;
  osq_dmi_struct s;
  assert_false(osq_dmi_next(bad, sizeof bad, &off, &s));
  uint8_t shortlen[] = {17, 2, 0, 0, 0, 0};
  off = 0;
  assert_false(osq_dmi_next(shortlen, sizeof shortlen, &off, &s));
  uint8_t nostrend[] = {11, 5, 0, 0, 1, 'a', 'b', 0, 'c'};
  off = 0;
  assert_false(osq_dmi_next(nostrend, sizeof nostrend, &off, &s));
  /* a field past the structure reads as 0; long strings are dropped */
  uint8_t small[] = {11, 5, 1, 0, 1, 'a', 'b', 'c', 0, 0};
  off = 0;
  assert_true(osq_dmi_next(small, sizeof small, &off, &s));
  assert_int_equal(osq_dmi_u32(&s, 4), 0);
  assert_int_equal(osq_dmi_u8(&s, 4), 1);
  char tiny[3];
  assert_string_equal(osq_dmi_string(&s, 1, tiny, sizeof tiny), "");
  assert_string_equal(osq_dmi_type_name(41), "Onboard Devices Extended Info");

  /* the tables on a truncated file: no error, fewer rows */
  char path[600];
  snprintf(path, sizeof path, "%s/DMI.cut", tfx_dir);
  write_blob(fixture.b, 0x18 + 10, path);
  osq_tables_dmi_path = path;
  tresult *r = trun_all(&osq_table_smbios_tables);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_tables_dmi_path = "/nonexistent/DMI";
  r = trun_all(&osq_table_memory_devices);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_tables_dmi_path = dmi_path;
}

/* Where this machine exports its DMI table (root, real or emulated
 * firmware), the table's structures are those dmidecode lists. */
static void test_live_dmi(void **state) {
  (void)state;
  if (access("/sys/firmware/dmi/tables/DMI", R_OK) != 0 ||
      !have_dmidecode()) {
    print_message("no readable /sys/firmware/dmi/tables/DMI or no "
                  "dmidecode: skipped\n");
    skip();
  }
  osq_tables_dmi_path = "/sys/firmware/dmi/tables/DMI";
  tresult *r = trun_all(&osq_table_smbios_tables);
  FILE *p = popen("dmidecode -u | grep -c '^Handle 0x'", "r");
  int count = -1;
  assert_int_equal(fscanf(p, "%d", &count), 1);
  pclose(p);
  assert_int_equal((int)r->n, count);
  tfree(r);
  osq_tables_dmi_path = dmi_path;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_smbios_tables),
      cmocka_unit_test(test_platform_info),
      cmocka_unit_test(test_cpu_info),
      cmocka_unit_test(test_oem_strings),
      cmocka_unit_test(test_memory_arrays),
      cmocka_unit_test(test_memory_devices),
      cmocka_unit_test(test_mapped_addresses),
      cmocka_unit_test(test_memory_error_info),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_live_dmi),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
