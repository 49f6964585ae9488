/* A complete table extension: SELECT * FROM loadavg; */
#include <osq/extension.h>
#include <stdio.h>

static const osq_column columns[] = {
    {"period", OSQ_TYPE_TEXT, 0},
    {"average", OSQ_TYPE_DOUBLE, 0},
};

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx, (void)udata;
  double avg[3];
  FILE *f = fopen("/proc/loadavg", "re");
  if (f == NULL || fscanf(f, "%lf %lf %lf", &avg[0], &avg[1], &avg[2]) != 3) {
    if (f) fclose(f);
    osq_error("cannot read /proc/loadavg");
    return OSQ_ERROR;
  }
  fclose(f);
  static const char *const period[] = {"1m", "5m", "15m"};
  int rc = OSQ_OK;
  for (int i = 0; i < 3 && rc == OSQ_OK; i++) {
    rc = osq_rows_cstr(out, 0, period[i]);
    if (rc == OSQ_OK) rc = osq_rows_double(out, 1, avg[i]);
    if (rc == OSQ_OK) rc = osq_rows_end(out);
  }
  return rc; /* a sink that failed already knows why */
}

static const osq_table_plugin table = {
    .name = "loadavg", .columns = columns, .ncolumns = 2,
    .generate = generate};

int main(int argc, char **argv) {
  osq_extension *ext = osq_extension_new("load_average", "1.0.0");
  if (ext == NULL || osq_extension_add_table(ext, &table) != OSQ_OK) {
    fprintf(stderr, "load_average: %s\n", osq_last_error());
    return 1;
  }
  int code = osq_extension_run(ext, argc, argv);
  osq_extension_free(ext);
  return code;
}
