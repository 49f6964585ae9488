/* smbios_tables, platform_info, cpu_info, oem_strings and the memory_*
 * tables: structures of the firmware's SMBIOS table as the kernel exports
 * it in sysfs (root-only there; without it the tables are empty, as in
 * osquery). Which structure and offsets feed which column follow osquery;
 * a structure shorter than the fields a table reads is skipped. */
#include "tables/builtin.h"
#include "tables/util.h"
#include "dmi.h"
#include "smbios.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *osq_tables_dmi_path = "/sys/firmware/dmi/tables/DMI";

/* SMBIOS 3 allows larger tables than any firmware ships. */
#define DMI_TABLE_MAX (4u << 20)

typedef struct dmi_buf {
  uint8_t *data;
  size_t len;
} dmi_buf;

static bool dmi_load(dmi_buf *b) {
  b->data = malloc(DMI_TABLE_MAX);
  b->len = 0;
  if (b->data == NULL)
    return false;
  ssize_t n = osq_tbl_read(osq_tables_dmi_path, (char *)b->data,
                           DMI_TABLE_MAX, NULL);
  if (n <= 0) {
    free(b->data);
    b->data = NULL;
    return false;
  }
  b->len = (size_t)n;
  return true;
}

static void hex16(char out[8], uint16_t v) {
  snprintf(out, 8, "0x%04x", v);
}

/* Name of value v in a table indexed from first; NULL outside it. */
static const char *lookup(const char *const *names, size_t n, size_t first,
                          unsigned v) {
  if (v < first || v - first >= n)
    return NULL;
  return names[v - first];
}
#define LOOKUP(tbl, first, v) lookup(tbl, sizeof tbl / sizeof *tbl, first, v)

typedef int (*dmi_row_fn)(const osq_dmi_struct *s, size_t index,
                          osq_rows *out, void *u);

/* Call fn for each structure of the table (index counts them all). */
static int dmi_walk(osq_rows *out, dmi_row_fn fn, void *u) {
  dmi_buf b;
  if (!dmi_load(&b))
    return OSQ_OK;
  size_t off = 0, index = 0;
  osq_dmi_struct s;
  int rc = OSQ_OK;
  while (rc == OSQ_OK && osq_dmi_next(b.data, b.len, &off, &s))
    rc = fn(&s, index++, out, u);
  free(b.data);
  return rc;
}

/* How one column is read from a structure's formatted area. */
typedef enum dmi_kind {
  DMI_STRING,      /* the string numbered by the byte at offset */
  DMI_HANDLE,      /* a word shown as a handle: "0x%04x" */
  DMI_BYTE,        /* a byte as an integer */
  DMI_WORD,        /* a word as an integer */
  DMI_WORD_UNLESS, /* a word as an integer, NULL when it is .unknown */
  DMI_WORD_KNOWN,  /* a word as an integer, NULL when 0 or .unknown */
  DMI_DWORD_HEX,   /* a dword as 8 hex digits, NULL when it is .unknown */
  DMI_NAME,        /* .names[byte - 1]: SMBIOS enumerations start at 1 */
} dmi_kind;

typedef struct dmi_field {
  uint8_t col;
  uint8_t offset;
  dmi_kind kind;
  uint32_t unknown;
  const char *const *names;
  size_t nnames;
} dmi_field;

#define FIELD(c, o, k) {.col = c, .offset = o, .kind = k}
#define FIELD_UNLESS(c, o, k, u)                                              \
  {.col = c, .offset = o, .kind = k, .unknown = u}
#define FIELD_NAME(c, o, tbl)                                                 \
  {.col = c, .offset = o, .kind = DMI_NAME, .names = tbl,                     \
   .nnames = sizeof tbl / sizeof *tbl}
/* Every structure's own handle is the header's word at 0x02. */
#define OWN_HANDLE(c) FIELD(c, 0x02, DMI_HANDLE)

static void dmi_field_cell(const osq_dmi_struct *s, const dmi_field *f,
                           osq_rows *out) {
  char v[256];
  uint16_t w = osq_dmi_u16(s, f->offset);
  uint32_t d;
  switch (f->kind) {
  case DMI_STRING:
    osq_rows_cstr(out, f->col,
                  osq_dmi_string(s, osq_dmi_u8(s, f->offset), v, sizeof v));
    break;
  case DMI_HANDLE:
    hex16(v, w);
    osq_rows_cstr(out, f->col, v);
    break;
  case DMI_BYTE:
    osq_rows_int(out, f->col, osq_dmi_u8(s, f->offset));
    break;
  case DMI_WORD:
    osq_rows_int(out, f->col, w);
    break;
  case DMI_WORD_UNLESS:
    if (w != f->unknown)
      osq_rows_int(out, f->col, w);
    break;
  case DMI_WORD_KNOWN:
    if (w != 0 && w != f->unknown)
      osq_rows_int(out, f->col, w);
    break;
  case DMI_DWORD_HEX:
    d = osq_dmi_u32(s, f->offset);
    if (d != f->unknown) {
      snprintf(v, sizeof v, "0x%08" PRIx32, d);
      osq_rows_cstr(out, f->col, v);
    }
    break;
  case DMI_NAME:
    osq_rows_cstr(out, f->col,
                  lookup(f->names, f->nnames, 1, osq_dmi_u8(s, f->offset)));
    break;
  }
}

static void dmi_fields(const osq_dmi_struct *s, const dmi_field *fields,
                       size_t n, osq_rows *out) {
  for (size_t i = 0; i < n; i++)
    dmi_field_cell(s, &fields[i], out);
}

/* A table with a row per structure of one type: the columns fields name,
 * and those only code can compute (more, may be NULL). */
typedef struct dmi_table {
  uint8_t type;
  uint8_t min_length;
  const dmi_field *fields;
  size_t nfields;
  void (*more)(const osq_dmi_struct *s, osq_rows *out);
} dmi_table;

static int table_row(const osq_dmi_struct *s, size_t index, osq_rows *out,
                     void *u) {
  (void)index;
  const dmi_table *t = u;
  if (s->type != t->type || s->length < t->min_length)
    return OSQ_OK;
  dmi_fields(s, t->fields, t->nfields, out);
  if (t->more != NULL)
    t->more(s, out);
  return osq_rows_end(out);
}

/* The plugin's udata is its dmi_table, only ever read. */
static int table_generate(const osq_context *ctx, osq_rows *out,
                          void *udata) {
  (void)ctx;
  return dmi_walk(out, table_row, udata);
}

/* ---- smbios_tables ---------------------------------------------------- */

static const osq_column smbios_columns[] = {
    {"number", OSQ_TYPE_INTEGER, 0},
    {"type", OSQ_TYPE_INTEGER, 0},
    {"description", OSQ_TYPE_TEXT, 0},
    {"handle", OSQ_TYPE_INTEGER, 0},
    {"header_size", OSQ_TYPE_INTEGER, 0},
    {"size", OSQ_TYPE_INTEGER, 0},
    {"md5", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
};

static int smbios_row(const osq_dmi_struct *s, size_t index, osq_rows *out,
                      void *u) {
  const osq_context *ctx = u;
  osq_rows_int(out, 0, (int64_t)index);
  osq_rows_int(out, 1, s->type);
  osq_rows_cstr(out, 2, osq_dmi_type_name(s->type));
  osq_rows_int(out, 3, s->handle);
  osq_rows_int(out, 4, s->length);
  osq_rows_int(out, 5, (int64_t)s->size);
  if (osq_tbl_used(ctx, 6)) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdl = 0;
    if (EVP_Digest(s->p, s->size, md, &mdl, EVP_md5(), NULL) == 1) {
      char hex[2 * EVP_MAX_MD_SIZE + 1];
      for (unsigned i = 0; i < mdl; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
      osq_rows_cstr(out, 6, hex);
    }
  }
  return osq_rows_end(out);
}

static int smbios_generate(const osq_context *ctx, osq_rows *out,
                           void *udata) {
  (void)udata;
  return dmi_walk(out, smbios_row, (void *)ctx);
}

const osq_table_plugin osq_table_smbios_tables = {
    .name = "smbios_tables",
    .columns = smbios_columns,
    .ncolumns = OSQ_NCOLS(smbios_columns),
    .generate = smbios_generate,
};

/* ---- platform_info (type 0, BIOS) ------------------------------------- */

static const osq_column platform_columns[] = {
    {"vendor", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"date", OSQ_TYPE_TEXT, 0},
    {"revision", OSQ_TYPE_TEXT, 0},
    {"extra", OSQ_TYPE_TEXT, 0},
    {"firmware_type", OSQ_TYPE_TEXT, 0},
    {"address", OSQ_TYPE_TEXT, 0},
    {"size", OSQ_TYPE_TEXT, 0},
    {"volume_size", OSQ_TYPE_INTEGER, 0},
};

static const dmi_field platform_fields[] = {
    FIELD(0, 0x04, DMI_STRING),
    FIELD(1, 0x05, DMI_STRING),
    FIELD(2, 0x08, DMI_STRING),
};

static void platform_more(const osq_dmi_struct *s, osq_rows *out) {
  char v[32];
  snprintf(v, sizeof v, "%u.%u", osq_dmi_u8(s, 0x14), osq_dmi_u8(s, 0x15));
  osq_rows_cstr(out, 3, v);
  osq_rows_cstr(out, 4, "");
  /* the segment the BIOS loads at, and its ROM size in 64 KiB blocks */
  hex16(v, osq_dmi_u16(s, 0x06));
  osq_rows_cstr(out, 6, v);
  snprintf(v, sizeof v, "%u", ((unsigned)osq_dmi_u8(s, 0x09) + 1) * 65536u);
  osq_rows_cstr(out, 7, v);
  osq_rows_int(out, 8, 0);
}

static const dmi_table platform_table = {
    0, 0x16, platform_fields, OSQ_NCOLS(platform_fields), platform_more};

const osq_table_plugin osq_table_platform_info = {
    .name = "platform_info",
    .columns = platform_columns,
    .ncolumns = OSQ_NCOLS(platform_columns),
    .generate = table_generate,
    .udata = (void *)&platform_table,
};

/* ---- cpu_info (type 4, processor) ------------------------------------- */

static const osq_column cpu_columns[] = {
    {"device_id", OSQ_TYPE_TEXT, 0},
    {"model", OSQ_TYPE_TEXT, 0},
    {"manufacturer", OSQ_TYPE_TEXT, 0},
    {"processor_type", OSQ_TYPE_TEXT, 0},
    {"cpu_status", OSQ_TYPE_INTEGER, 0},
    {"number_of_cores", OSQ_TYPE_TEXT, 0},
    {"logical_processors", OSQ_TYPE_INTEGER, 0},
    {"address_width", OSQ_TYPE_TEXT, 0},
    {"current_clock_speed", OSQ_TYPE_INTEGER, 0},
    {"max_clock_speed", OSQ_TYPE_INTEGER, 0},
    {"socket_designation", OSQ_TYPE_TEXT, 0},
    {"availability", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"load_percentage", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"number_of_efficiency_cores", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"number_of_performance_cores", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
};

static const dmi_field cpu_fields[] = {
    FIELD(1, 0x10, DMI_STRING),  FIELD(2, 0x07, DMI_STRING),
    FIELD(4, 0x18, DMI_BYTE),    FIELD(6, 0x25, DMI_BYTE),
    FIELD(8, 0x16, DMI_WORD),    FIELD(9, 0x14, DMI_WORD),
    FIELD(10, 0x04, DMI_STRING),
};

static int cpu_row(const osq_dmi_struct *s, size_t index, osq_rows *out,
                   void *u) {
  (void)index;
  unsigned *device = u;
  if (s->type != 4 || s->length < 0x28)
    return OSQ_OK;
  char v[32];
  uint8_t ptype = osq_dmi_u8(s, 0x05);
  /* processor types 3-6 (central, math, DSP, video) are numbered in
   * order of appearance, as osquery's device_id */
  static const char *const kinds[] = {"CPU", "MATH", "DSP", "GPU"};
  if (ptype >= 3 && ptype <= 6) {
    snprintf(v, sizeof v, "%s%u", kinds[ptype - 3], (*device)++ & 0xff);
    osq_rows_cstr(out, 0, v);
  }
  dmi_fields(s, cpu_fields, OSQ_NCOLS(cpu_fields), out);
  snprintf(v, sizeof v, "%u", ptype);
  osq_rows_cstr(out, 3, v);
  snprintf(v, sizeof v, "%u", osq_dmi_u8(s, 0x23));
  osq_rows_cstr(out, 5, v);
  /* processor characteristics bit 2: 64-bit capable */
  osq_rows_cstr(out, 7, (osq_dmi_u16(s, 0x26) & 4) ? "64" : "32");
  return osq_rows_end(out);
}

static int cpu_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  unsigned device = 0;
  return dmi_walk(out, cpu_row, &device);
}

const osq_table_plugin osq_table_cpu_info = {
    .name = "cpu_info",
    .columns = cpu_columns,
    .ncolumns = OSQ_NCOLS(cpu_columns),
    .generate = cpu_generate,
};

/* ---- oem_strings (type 11) -------------------------------------------- */

static const osq_column oem_columns[] = {
    {"handle", OSQ_TYPE_TEXT, 0},
    {"number", OSQ_TYPE_INTEGER, 0},
    {"value", OSQ_TYPE_TEXT, 0},
};

static int oem_row(const osq_dmi_struct *s, size_t index, osq_rows *out,
                   void *u) {
  (void)index;
  (void)u;
  if (s->type != 11 || s->length < 5)
    return OSQ_OK;
  char handle[8], str[256];
  hex16(handle, s->handle);
  int rc = OSQ_OK;
  unsigned count = osq_dmi_u8(s, 0x04);
  for (unsigned i = 1; i <= count && rc == OSQ_OK; i++) {
    osq_rows_cstr(out, 0, handle);
    osq_rows_int(out, 1, i);
    osq_rows_cstr(out, 2, osq_dmi_string(s, (uint8_t)i, str, sizeof str));
    rc = osq_rows_end(out);
  }
  return rc;
}

static int oem_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  return dmi_walk(out, oem_row, NULL);
}

const osq_table_plugin osq_table_oem_strings = {
    .name = "oem_strings",
    .columns = oem_columns,
    .ncolumns = OSQ_NCOLS(oem_columns),
    .generate = oem_generate,
};

/* ---- memory_arrays (type 16) ------------------------------------------ */

static const osq_column marray_columns[] = {
    {"handle", OSQ_TYPE_TEXT, 0},
    {"location", OSQ_TYPE_TEXT, 0},
    {"use", OSQ_TYPE_TEXT, 0},
    {"memory_error_correction", OSQ_TYPE_TEXT, 0},
    {"max_capacity", OSQ_TYPE_INTEGER, 0},
    {"memory_error_info_handle", OSQ_TYPE_TEXT, 0},
    {"number_memory_devices", OSQ_TYPE_INTEGER, 0},
};

static const char *const array_locations[] = {
    "Other", "Unknown", "System board or motherboard", "ISA add-on card",
    "EISA add-on card", "PCI add-on card", "MCA add-on card",
    "PCMCIA add-on card", "Proprietary add-on card", "NuBus"};
static const char *const array_locations_pc98[] = {
    "PC-98/C20 add-on card", "PC-98/C24 add-on card", "PC-98/E add-on card",
    "PC-98/Local bus add-on card"};
static const char *const array_uses[] = {
    "Other", "Unknown", "System memory", "Video memory", "Flash memory",
    "Non-volatile RAM", "Cache memory"};
static const char *const array_ecc[] = {
    "Other", "Unknown", "none", "Parity", "Single-bit ECC", "Multi-bit ECC",
    "CRC"};

static const dmi_field marray_fields[] = {
    OWN_HANDLE(0),
    FIELD_NAME(2, 0x05, array_uses),
    FIELD_NAME(3, 0x06, array_ecc),
    FIELD(6, 0x0D, DMI_WORD),
};

static void marray_more(const osq_dmi_struct *s, osq_rows *out) {
  uint8_t loc = osq_dmi_u8(s, 0x04);
  const char *name = LOOKUP(array_locations, 1, loc);
  osq_rows_cstr(out, 1, name ? name : LOOKUP(array_locations_pc98, 0xA0, loc));
  /* KiB, or 0x80000000 and the extended size in bytes; shown in GiB */
  uint32_t cap = osq_dmi_u32(s, 0x07);
  osq_rows_int(out, 4,
               cap >= 0x80000000u
                   ? (int64_t)(osq_dmi_u64(s, 0x0F) / 1073741824u)
                   : (int64_t)(cap / 1048576u));
  uint16_t err = osq_dmi_u16(s, 0x0B);
  if (err != 0xFFFE && err != 0xFFFF) {
    char h[8];
    hex16(h, err);
    osq_rows_cstr(out, 5, h);
  }
}

static const dmi_table marray_table = {
    16, 0x17, marray_fields, OSQ_NCOLS(marray_fields), marray_more};

const osq_table_plugin osq_table_memory_arrays = {
    .name = "memory_arrays",
    .columns = marray_columns,
    .ncolumns = OSQ_NCOLS(marray_columns),
    .generate = table_generate,
    .udata = (void *)&marray_table,
};

/* ---- memory_devices (type 17) ----------------------------------------- */

static const osq_column mdev_columns[] = {
    {"handle", OSQ_TYPE_TEXT, 0},
    {"array_handle", OSQ_TYPE_TEXT, 0},
    {"form_factor", OSQ_TYPE_TEXT, 0},
    {"total_width", OSQ_TYPE_INTEGER, 0},
    {"data_width", OSQ_TYPE_INTEGER, 0},
    {"size", OSQ_TYPE_INTEGER, 0},
    {"set", OSQ_TYPE_INTEGER, 0},
    {"device_locator", OSQ_TYPE_TEXT, 0},
    {"bank_locator", OSQ_TYPE_TEXT, 0},
    {"memory_type", OSQ_TYPE_TEXT, 0},
    {"memory_type_details", OSQ_TYPE_TEXT, 0},
    {"max_speed", OSQ_TYPE_INTEGER, 0},
    {"configured_clock_speed", OSQ_TYPE_INTEGER, 0},
    {"manufacturer", OSQ_TYPE_TEXT, 0},
    {"serial_number", OSQ_TYPE_TEXT, 0},
    {"asset_tag", OSQ_TYPE_TEXT, 0},
    {"part_number", OSQ_TYPE_TEXT, 0},
    {"min_voltage", OSQ_TYPE_INTEGER, 0},
    {"max_voltage", OSQ_TYPE_INTEGER, 0},
    {"configured_voltage", OSQ_TYPE_INTEGER, 0},
};

static const char *const form_factors[] = {
    "Other", "Unknown", "SIMM", "SIP", "Chip", "DIP", "ZIP",
    "Proprietary Card", "DIMM", "TSOP", "Row of chips", "RIMM", "SODIMM",
    "SRIMM", "FB-DIMM"};
static const char *const memory_types[] = {
    "Other", "Unknown", "DRAM", "EDRAM", "VRAM", "SRAM", "RAM", "ROM",
    "FLASH", "EEPROM", "FEPROM", "EPROM", "CDRAM", "3DRAM", "SDRAM",
    "SGRAM", "RDRAM", "DDR", "DDR2", "DDR2 FB-DIMM", "RESERVED", "RESERVED",
    "RESERVED", "DDR3", "FBD2", "DDR4", "LPDDR", "LPDDR2", "LPDDR3",
    "LPDDR4"};
static const char *const type_details[16] = {
    "Reserved", "Other", "Unknown", "Fast-paged", "Static column",
    "Pseudo-static", "RAMBUS", "Synchronous", "CMOS", "EDO", "Window DRAM",
    "Cache DRAM", "Non-volatile", "Registered (Buffered)",
    "Unbuffered (Unregistered)", "LRDIMM"};

/* Widths, speeds and voltages of 0 (and some of 0xFFFF) are unknown. */
static const dmi_field mdev_fields[] = {
    OWN_HANDLE(0),
    FIELD(1, 0x04, DMI_HANDLE),
    FIELD_NAME(2, 0x0E, form_factors),
    FIELD_UNLESS(3, 0x08, DMI_WORD_UNLESS, 0xFFFF),
    FIELD_UNLESS(4, 0x0A, DMI_WORD_UNLESS, 0xFFFF),
    FIELD(7, 0x10, DMI_STRING),
    FIELD(8, 0x11, DMI_STRING),
    FIELD_NAME(9, 0x12, memory_types),
    FIELD_UNLESS(11, 0x15, DMI_WORD_KNOWN, 0xFFFF),
    FIELD_UNLESS(12, 0x20, DMI_WORD_KNOWN, 0xFFFF),
    FIELD(13, 0x17, DMI_STRING),
    FIELD(14, 0x18, DMI_STRING),
    FIELD(15, 0x19, DMI_STRING),
    FIELD(16, 0x1A, DMI_STRING),
    FIELD(17, 0x22, DMI_WORD_KNOWN),
    FIELD(18, 0x24, DMI_WORD_KNOWN),
    FIELD(19, 0x26, DMI_WORD_KNOWN),
};

static void mdev_more(const osq_dmi_struct *s, osq_rows *out) {
  /* MiB; 0x7FFF says the size is the extended dword at 0x1C */
  uint16_t size = osq_dmi_u16(s, 0x0C);
  if (size != 0xFFFF)
    osq_rows_int(out, 5, size == 0x7FFF ? osq_dmi_u32(s, 0x1C) : size);
  uint8_t set = osq_dmi_u8(s, 0x0F);
  if (set != 0xFF)
    osq_rows_int(out, 6, set);
  uint16_t bits = osq_dmi_u16(s, 0x13);
  char details[256] = "";
  for (int b = 0; b < 16; b++) {
    if (!(bits & (1u << b)))
      continue;
    if (details[0])
      strcat(details, " ");
    strcat(details, type_details[b]);
  }
  osq_rows_cstr(out, 10, details);
}

static const dmi_table mdev_table = {
    17, 0x28, mdev_fields, OSQ_NCOLS(mdev_fields), mdev_more};

const osq_table_plugin osq_table_memory_devices = {
    .name = "memory_devices",
    .columns = mdev_columns,
    .ncolumns = OSQ_NCOLS(mdev_columns),
    .generate = table_generate,
    .udata = (void *)&mdev_table,
};

/* ---- memory_array_mapped_addresses (19), memory_device_mapped_addresses
 * (20) ------------------------------------------------------------------ */

/* A 32-bit KiB range, or (start 0xFFFFFFFF) the 64-bit extended one at
 * ext and ext + 8: printed as osquery does, 8 or 12 hex digits. */
static void mapped_range(const osq_dmi_struct *s, size_t ext, osq_rows *out,
                         size_t col_start, size_t col_end) {
  char v[32];
  uint32_t start = osq_dmi_u32(s, 0x04);
  if (start != 0xFFFFFFFFu) {
    snprintf(v, sizeof v, "0x%08" PRIx32, start);
    osq_rows_cstr(out, col_start, v);
    snprintf(v, sizeof v, "0x%08" PRIx32, osq_dmi_u32(s, 0x08));
    osq_rows_cstr(out, col_end, v);
  } else {
    snprintf(v, sizeof v, "0x%012" PRIx64, osq_dmi_u64(s, ext));
    osq_rows_cstr(out, col_start, v);
    snprintf(v, sizeof v, "0x%012" PRIx64, osq_dmi_u64(s, ext + 8));
    osq_rows_cstr(out, col_end, v);
  }
}

static const osq_column amap_columns[] = {
    {"handle", OSQ_TYPE_TEXT, 0},
    {"memory_array_handle", OSQ_TYPE_TEXT, 0},
    {"starting_address", OSQ_TYPE_TEXT, 0},
    {"ending_address", OSQ_TYPE_TEXT, 0},
    {"partition_width", OSQ_TYPE_INTEGER, 0},
};

static const dmi_field amap_fields[] = {
    OWN_HANDLE(0),
    FIELD(1, 0x0C, DMI_HANDLE),
    FIELD(4, 0x0E, DMI_BYTE),
};

static void amap_more(const osq_dmi_struct *s, osq_rows *out) {
  mapped_range(s, 0x0F, out, 2, 3);
}

static const dmi_table amap_table = {
    19, 0x1F, amap_fields, OSQ_NCOLS(amap_fields), amap_more};

const osq_table_plugin osq_table_memory_array_mapped_addresses = {
    .name = "memory_array_mapped_addresses",
    .columns = amap_columns,
    .ncolumns = OSQ_NCOLS(amap_columns),
    .generate = table_generate,
    .udata = (void *)&amap_table,
};

static const osq_column dmap_columns[] = {
    {"handle", OSQ_TYPE_TEXT, 0},
    {"memory_device_handle", OSQ_TYPE_TEXT, 0},
    {"memory_array_mapped_address_handle", OSQ_TYPE_TEXT, 0},
    {"starting_address", OSQ_TYPE_TEXT, 0},
    {"ending_address", OSQ_TYPE_TEXT, 0},
    {"partition_row_position", OSQ_TYPE_INTEGER, 0},
    {"interleave_position", OSQ_TYPE_INTEGER, 0},
    {"interleave_data_depth", OSQ_TYPE_INTEGER, 0},
};

static const dmi_field dmap_fields[] = {
    OWN_HANDLE(0),
    FIELD(1, 0x0C, DMI_HANDLE),
    FIELD(2, 0x0E, DMI_HANDLE),
    FIELD(5, 0x10, DMI_BYTE),
    FIELD(6, 0x11, DMI_BYTE),
    FIELD(7, 0x12, DMI_BYTE),
};

static void dmap_more(const osq_dmi_struct *s, osq_rows *out) {
  mapped_range(s, 0x13, out, 3, 4);
}

static const dmi_table dmap_table = {
    20, 0x23, dmap_fields, OSQ_NCOLS(dmap_fields), dmap_more};

const osq_table_plugin osq_table_memory_device_mapped_addresses = {
    .name = "memory_device_mapped_addresses",
    .columns = dmap_columns,
    .ncolumns = OSQ_NCOLS(dmap_columns),
    .generate = table_generate,
    .udata = (void *)&dmap_table,
};

/* ---- memory_error_info (type 18) -------------------------------------- */

static const osq_column merr_columns[] = {
    {"handle", OSQ_TYPE_TEXT, 0},
    {"error_type", OSQ_TYPE_TEXT, 0},
    {"error_granularity", OSQ_TYPE_TEXT, 0},
    {"error_operation", OSQ_TYPE_TEXT, 0},
    {"vendor_syndrome", OSQ_TYPE_TEXT, 0},
    {"memory_array_error_address", OSQ_TYPE_TEXT, 0},
    {"device_error_address", OSQ_TYPE_TEXT, 0},
    {"error_resolution", OSQ_TYPE_TEXT, 0},
};

static const char *const error_types[] = {
    "Other", "Unknown", "OK", "Bad read", "Parity error",
    "Single-bit error", "Double-bit error", "Multi-bit error",
    "Nibble error", "Checksum error", "CRC error",
    "Corrected single-bit error", "Corrected error", "Uncorrectable error"};
static const char *const error_granularity[] = {
    "Other", "Unknown", "Device level", "Memory partition level"};
static const char *const error_operations[] = {
    "Other", "Unknown", "Read", "Write", "Partial write"};

/* A syndrome of 0, an address of 0x80000000: unknown. */
static const dmi_field merr_fields[] = {
    OWN_HANDLE(0),
    FIELD_NAME(1, 0x04, error_types),
    FIELD_NAME(2, 0x05, error_granularity),
    FIELD_NAME(3, 0x06, error_operations),
    FIELD_UNLESS(4, 0x07, DMI_DWORD_HEX, 0),
    FIELD_UNLESS(5, 0x0B, DMI_DWORD_HEX, 0x80000000u),
    FIELD_UNLESS(6, 0x0F, DMI_DWORD_HEX, 0x80000000u),
    FIELD_UNLESS(7, 0x13, DMI_DWORD_HEX, 0x80000000u),
};

static const dmi_table merr_table = {18, 0x17, merr_fields,
                                     OSQ_NCOLS(merr_fields), NULL};

const osq_table_plugin osq_table_memory_error_info = {
    .name = "memory_error_info",
    .columns = merr_columns,
    .ncolumns = OSQ_NCOLS(merr_columns),
    .generate = table_generate,
    .udata = (void *)&merr_table,
};
