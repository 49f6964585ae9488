/* A tiny extension for the loading benchmark: its extension and table name
 * come from its file name (bench_ext_042.ext serves table bench_ext_042),
 * so many copies can register side by side. */
#include <osq/extension.h>

#include <stdio.h>
#include <string.h>

static const osq_column columns[] = {{"n", OSQ_TYPE_INTEGER, 0}};

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  osq_rows_int(out, 0, 1);
  return osq_rows_end(out);
}

int main(int argc, char **argv) {
  static char name[64];
  const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
  base = base ? base + 1 : (argc > 0 ? argv[0] : "bench_ext");
  snprintf(name, sizeof name, "%s", base);
  char *dot = strchr(name, '.');
  if (dot)
    *dot = '\0';
  osq_table_plugin table = {
      .name = name, .columns = columns, .ncolumns = 1, .generate = generate};
  osq_extension *ext = osq_extension_new(name, "1.0.0");
  osq_extension_add_table(ext, &table);
  int code = osq_extension_run(ext, argc, argv);
  osq_extension_free(ext);
  return code;
}
