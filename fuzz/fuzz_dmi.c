/* libFuzzer target: the SMBIOS/DMI structure reader and the tables built
 * on it. The input is a DMI table as /sys/firmware/dmi/tables/DMI holds
 * one: every structure the walk returns must lie inside the input, every
 * field and string read must stay in it, and every table must return
 * OSQ_OK on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/log.h"
#include "plugin/plugin_impl.h"
#include "tables/builtin.h"
#include "tables/linux/dmi.h"
#include "tables/linux/smbios.h"

static char dir[256], input[320];
static volatile unsigned sink;

static int c_cell(void *self, size_t col, const osq_value *v) {
  size_t ncols = *(size_t *)self;
  if (col >= ncols)
    abort();
  if (v->kind == OSQ_VALUE_TEXT)
    for (size_t i = 0; i < v->u.s.n; i++)
      sink += (unsigned char)v->u.s.p[i];
  return OSQ_OK;
}

static int c_end(void *self) {
  (void)self;
  return OSQ_OK;
}

static const struct osq_rows_ops c_ops = {c_cell, NULL, c_end};

static void run(const osq_table_plugin *t) {
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  if (ctx == NULL)
    return;
  size_t ncols = t->ncolumns;
  osq_rows rows;
  osq_rows_init(&rows, &c_ops, &ncols, t->ncolumns);
  if (t->generate(ctx, &rows, t->udata) != OSQ_OK)
    abort();
  osq_context_free(ctx);
}

static void cleanup(void) {
  remove(input);
  rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  char err[256];
  OSQ_FLAG_SET(logger_stderr, "false", err, sizeof err);
  osq_log_configure();
  snprintf(dir, sizeof dir, "/tmp/osq-fuzz-dmi.XXXXXX");
  if (mkdtemp(dir) == NULL)
    abort();
  atexit(cleanup);
  snprintf(input, sizeof input, "%s/DMI", dir);
  osq_tables_dmi_path = input;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a private copy of exactly size bytes, so ASan sees any overread */
  uint8_t *buf = malloc(size ? size : 1);
  if (buf == NULL)
    return 0;
  memcpy(buf, data, size);
  size_t off = 0;
  osq_dmi_struct s;
  char str[256];
  while (osq_dmi_next(buf, size, &off, &s)) {
    if (s.p < buf || s.size > size || s.p + s.size > buf + size)
      abort();
    for (unsigned i = 0; i < 8; i++)
      sink += (unsigned)strlen(osq_dmi_string(&s, (uint8_t)i, str,
                                              sizeof str));
    for (size_t o = 0; o <= 0x40; o++)
      sink += (unsigned)osq_dmi_u64(&s, o) + osq_dmi_u8(&s, o);
  }
  free(buf);

  FILE *f = fopen(input, "we");
  if (f == NULL)
    abort();
  if (size && fwrite(data, 1, size, f) != size)
    abort();
  fclose(f);
  const osq_table_plugin *tables[] = {
      &osq_table_smbios_tables, &osq_table_platform_info,
      &osq_table_cpu_info, &osq_table_oem_strings,
      &osq_table_memory_arrays, &osq_table_memory_devices,
      &osq_table_memory_array_mapped_addresses,
      &osq_table_memory_device_mapped_addresses,
      &osq_table_memory_error_info};
  for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
    run(tables[i]);
  return 0;
}
