/* The anchor extension (../shared/anchor/README.md, "the contract for
 * --server") built with libosqext: `osq_anchor_ext SOCKET ROWS` serves
 * ping, call("table", "anchor", {"action":"generate"[, "rows": N]}) and
 * shutdown on SOCKET, with the same rows (so the same bytes) as the C++
 * and Python anchor servers. */
#include <osq/extension.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kName[8] = {"systemd-journald", "sshd", "postgres",
                                     "nginx", "python3", "containerd",
                                     "chrome", "bash"};
static const char *const kPath[8] = {
    "/usr/lib/systemd/systemd-journald", "/usr/sbin/sshd",
    "/usr/lib/postgresql/15/bin/postgres", "/usr/sbin/nginx",
    "/usr/bin/python3.11", "/usr/bin/containerd", "/opt/google/chrome/chrome",
    "/usr/bin/bash"};
static const char *const kArgs[8] = {
    "--no-daemon",         "-D -o LogLevel=INFO",    "-D /var/lib/pg/main",
    "-g daemon off;",      "-m http.server 8080",    "--config /etc/ctr.toml",
    "--type=renderer",     "--login -i"};
static const char *const kState[4] = {"S (sleeping)", "R (running)",
                                      "I (idle)", "D (disk sleep)"};

static const osq_column columns[] = {
    {"cmdline", OSQ_TYPE_TEXT, 0}, {"name", OSQ_TYPE_TEXT, 0},
    {"path", OSQ_TYPE_TEXT, 0},    {"pid", OSQ_TYPE_BIGINT, 0},
    {"state", OSQ_TYPE_TEXT, 0},
};

static uint32_t default_rows;
static char cmdline[8][96];
static size_t cmdline_len[8], name_len[8], path_len[8], state_len[4];

/* 1-10 digits, <= 10,000,000, as the contract says. */
static bool parse_rows(const char *s, uint32_t *out) {
  size_t n = strlen(s);
  if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
    return false;
  unsigned long long v = strtoull(s, NULL, 10);
  if (v > 10000000ULL)
    return false;
  *out = (uint32_t)v;
  return true;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  uint32_t n = default_rows;
  const osq_strmap *req = osq_extension_request();
  const char *rows = req ? osq_strmap_get(req, "rows") : NULL;
  if (rows && !parse_rows(rows, &n)) {
    osq_rows_error(out, "bad rows value");
    return OSQ_ERROR;
  }
  for (uint32_t i = 0; i < n; i++) {
    unsigned k = i % 8;
    osq_rows_text(out, 0, cmdline[k], cmdline_len[k]);
    osq_rows_text(out, 1, kName[k], name_len[k]);
    osq_rows_text(out, 2, kPath[k], path_len[k]);
    osq_rows_int(out, 3, 1000 + (int64_t)i);
    osq_rows_text(out, 4, kState[i % 4], state_len[i % 4]);
    if (osq_rows_end(out) != OSQ_OK)
      return OSQ_ERROR;
  }
  return OSQ_OK;
}

static const osq_table_plugin anchor = {
    .name = "anchor", .columns = columns, .ncolumns = 5,
    .generate = generate};

int main(int argc, char **argv) {
  if (argc != 3 || !parse_rows(argv[2], &default_rows)) {
    fprintf(stderr, "usage: %s SOCKET ROWS (ROWS <= 10000000)\n", argv[0]);
    return 2;
  }
  for (int k = 0; k < 8; k++) {
    snprintf(cmdline[k], sizeof cmdline[k], "%s %s", kName[k], kArgs[k]);
    cmdline_len[k] = strlen(cmdline[k]);
    name_len[k] = strlen(kName[k]);
    path_len[k] = strlen(kPath[k]);
  }
  for (int k = 0; k < 4; k++)
    state_len[k] = strlen(kState[k]);
  osq_extension *ext = osq_extension_new("anchor", "1.0.0");
  if (ext == NULL || osq_extension_add_table(ext, &anchor) != OSQ_OK)
    return 1;
  int code = osq_extension_serve(ext, argv[1]);
  osq_extension_free(ext);
  return code;
}
