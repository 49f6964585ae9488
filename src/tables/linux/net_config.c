/* arp_cache, routes and dns_resolvers. */
#include "tables/builtin.h"
#include "tables/util.h"
#include "net_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Overridable for tests (net_config.h). */
const char *osq_tables_resolv_path = "/etc/resolv.conf";
const char *osq_tables_proc_net = "/proc/net";

static FILE *open_net(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", osq_tables_proc_net, name);
  return fopen(path, "re");
}

static bool parse_hex_u32(const char *s, uint32_t *out) {
  if (*s == '\0' || strlen(s) > 8)
    return false;
  uint32_t v = 0;
  for (; *s; s++) {
    if (!isxdigit((unsigned char)*s))
      return false;
    v = (v << 4) | (uint32_t)(isdigit((unsigned char)*s)
                                  ? *s - '0'
                                  : tolower((unsigned char)*s) - 'a' + 10);
  }
  *out = v;
  return true;
}

/* ---- arp_cache -------------------------------------------------------- */

static const osq_column arp_columns[] = {
    {"address", OSQ_TYPE_TEXT, 0},
    {"mac", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"interface", OSQ_TYPE_TEXT, 0},
    {"permanent", OSQ_TYPE_TEXT, 0},
};

static int arp_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  FILE *f = open_net("arp");
  if (f == NULL)
    return OSQ_OK;
  char line[512];
  int got, rc = OSQ_OK;
  bool header = true;
  /* "IP address HW type Flags HW address Mask Device" */
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (header) {
      header = false;
      continue;
    }
    if (got < 0)
      continue;
    char *tok[6];
    int n = osq_tbl_tokens(line, " \t", tok, 6);
    uint32_t flags;
    struct in_addr a;
    if (n < 6 || inet_pton(AF_INET, tok[0], &a) != 1 ||
        strncmp(tok[2], "0x", 2) != 0 || !parse_hex_u32(tok[2] + 2, &flags))
      continue;
    osq_rows_cstr(out, 0, tok[0]);
    osq_rows_cstr(out, 1, tok[3]);
    osq_rows_cstr(out, 2, tok[5]);
    osq_rows_cstr(out, 3, (flags & 0x04) ? "1" : "0"); /* ATF_PERM */
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

const osq_table_plugin osq_table_arp_cache = {
    .name = "arp_cache",
    .columns = arp_columns,
    .ncolumns = OSQ_NCOLS(arp_columns),
    .generate = arp_generate,
};

/* ---- routes ----------------------------------------------------------- */

enum {
  R_DESTINATION, R_NETMASK, R_GATEWAY, R_SOURCE, R_FLAGS, R_INTERFACE,
  R_MTU, R_METRIC, R_TYPE, R_HOPCOUNT, R_COUNT
};

static const osq_column route_columns[] = {
    {"destination", OSQ_TYPE_TEXT, 0},
    {"netmask", OSQ_TYPE_INTEGER, 0},
    {"gateway", OSQ_TYPE_TEXT, 0},
    {"source", OSQ_TYPE_TEXT, 0},
    {"flags", OSQ_TYPE_INTEGER, 0},
    {"interface", OSQ_TYPE_TEXT, 0},
    {"mtu", OSQ_TYPE_INTEGER, 0},
    {"metric", OSQ_TYPE_INTEGER, 0},
    {"type", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"hopcount", OSQ_TYPE_INTEGER, 0},
};

_Static_assert(sizeof route_columns / sizeof *route_columns == R_COUNT,
               "cols");

static int popcount32(uint32_t v) {
  int n = 0;
  for (; v; v &= v - 1)
    n++;
  return n;
}

#define RTF_LOCAL_BIT 0x80000000u /* ipv6_route: a local-table route */

static int routes_v4(osq_rows *out) {
  FILE *f = open_net("route");
  if (f == NULL)
    return OSQ_OK;
  char line[512];
  int got, rc = OSQ_OK;
  bool header = true;
  /* Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT,
   * addresses as host-order hex words */
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (header) {
      header = false;
      continue;
    }
    if (got < 0)
      continue;
    char *tok[11];
    int n = osq_tbl_tokens(line, " \t", tok, 11);
    uint32_t dst, gw, flags, mask;
    int64_t metric, mtu;
    if (n < 11 || !parse_hex_u32(tok[1], &dst) ||
        !parse_hex_u32(tok[2], &gw) || !parse_hex_u32(tok[3], &flags) ||
        !osq_tbl_parse_i64(tok[6], &metric) || !parse_hex_u32(tok[7], &mask) ||
        !osq_tbl_parse_i64(tok[8], &mtu))
      continue;
    char d[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
    struct in_addr a;
    a.s_addr = dst;
    inet_ntop(AF_INET, &a, d, sizeof d);
    a.s_addr = gw;
    inet_ntop(AF_INET, &a, g, sizeof g);
    osq_rows_cstr(out, R_DESTINATION, d);
    osq_rows_int(out, R_NETMASK, popcount32(mask));
    osq_rows_cstr(out, R_GATEWAY, g);
    osq_rows_cstr(out, R_SOURCE, "");
    osq_rows_int(out, R_FLAGS, flags);
    osq_rows_cstr(out, R_INTERFACE, tok[0]);
    osq_rows_int(out, R_MTU, mtu);
    osq_rows_int(out, R_METRIC, metric);
    /* /proc/net/route is the main table: unicast routes, which osquery
     * calls "gateway" */
    osq_rows_cstr(out, R_TYPE, "gateway");
    osq_rows_int(out, R_HOPCOUNT, 0);
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

/* 32 hex characters -> an IPv6 address in text (network byte order). */
static bool hex_v6(const char *s, char *out, size_t cap) {
  if (strlen(s) != 32)
    return false;
  unsigned char b[16];
  for (int i = 0; i < 16; i++) {
    char pair[3] = {s[2 * i], s[2 * i + 1], 0};
    uint32_t v;
    if (!parse_hex_u32(pair, &v))
      return false;
    b[i] = (unsigned char)v;
  }
  return inet_ntop(AF_INET6, b, out, (socklen_t)cap) != NULL;
}

static int routes_v6(osq_rows *out) {
  FILE *f = open_net("ipv6_route");
  if (f == NULL)
    return OSQ_OK;
  char line[512];
  int got, rc = OSQ_OK;
  /* dst dst_len src src_len next_hop metric refcnt use flags iface */
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0)
      continue;
    char *tok[10];
    int n = osq_tbl_tokens(line, " \t", tok, 10);
    char d[INET6_ADDRSTRLEN], src[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
    uint32_t dlen, metric, flags;
    if (n < 10 || !hex_v6(tok[0], d, sizeof d) ||
        !parse_hex_u32(tok[1], &dlen) || dlen > 128 ||
        !hex_v6(tok[2], src, sizeof src) || !hex_v6(tok[4], g, sizeof g) ||
        !parse_hex_u32(tok[5], &metric) || !parse_hex_u32(tok[8], &flags))
      continue;
    osq_rows_cstr(out, R_DESTINATION, d);
    osq_rows_int(out, R_NETMASK, dlen);
    osq_rows_cstr(out, R_GATEWAY, g);
    osq_rows_cstr(out, R_SOURCE, strcmp(src, "::") == 0 ? "" : src);
    osq_rows_int(out, R_FLAGS, flags);
    osq_rows_cstr(out, R_INTERFACE, tok[9]);
    osq_rows_int(out, R_MTU, 0);
    osq_rows_int(out, R_METRIC, metric);
    osq_rows_cstr(out, R_TYPE, (flags & RTF_LOCAL_BIT) ? "local" : "gateway");
    osq_rows_int(out, R_HOPCOUNT, 0);
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

static int routes_generate(const osq_context *ctx, osq_rows *out,
                           void *udata) {
  (void)ctx;
  (void)udata;
  int rc = routes_v4(out);
  return rc == OSQ_OK ? routes_v6(out) : rc;
}

const osq_table_plugin osq_table_routes = {
    .name = "routes",
    .columns = route_columns,
    .ncolumns = OSQ_NCOLS(route_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = routes_generate,
};

/* ---- dns_resolvers ---------------------------------------------------- */

enum { D_ID, D_TYPE, D_ADDRESS, D_NETMASK, D_OPTIONS, D_PID_WITH_NAMESPACE };

static const osq_column dns_columns[] = {
    {"id", OSQ_TYPE_INTEGER, 0},
    {"type", OSQ_TYPE_TEXT, 0},
    {"address", OSQ_TYPE_TEXT, 0},
    {"netmask", OSQ_TYPE_TEXT, 0},
    {"options", OSQ_TYPE_BIGINT, 0},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};

static int dns_row(osq_rows *out, int64_t id, const char *type,
                   const char *addr, const char *mask, int64_t options,
                   int64_t ns_pid) {
  osq_rows_int(out, D_ID, id);
  osq_rows_cstr(out, D_TYPE, type);
  osq_rows_cstr(out, D_ADDRESS, addr);
  osq_rows_cstr(out, D_NETMASK, mask);
  if (ns_pid > 0)
    osq_rows_int(out, D_PID_WITH_NAMESPACE, ns_pid);
  else /* libc's bits describe our own resolver configuration only */
    osq_rows_int(out, D_OPTIONS, options);
  return osq_rows_end(out);
}

static int dns_file(osq_rows *out, int64_t ns_pid) {
  /* the resolver's option bits as libc computes them (RES_* flags) */
  int64_t options = 0;
  struct __res_state rs;
  memset(&rs, 0, sizeof rs);
  if (res_ninit(&rs) == 0) {
    options = (int64_t)rs.options;
    res_nclose(&rs);
  }
  FILE *f = osq_tbl_fopen_in(ns_pid, osq_tables_resolv_path);
  if (f == NULL)
    return OSQ_OK;
  char line[OSQ_TBL_LINE_MAX];
  int got, rc = OSQ_OK;
  int64_t ns = 0, search = 0, sort = 0;
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0 || line[0] == '#' || line[0] == ';')
      continue;
    char *save = NULL;
    char *key = strtok_r(line, " \t", &save);
    if (key == NULL)
      continue;
    if (strcmp(key, "nameserver") == 0) {
      char *addr = strtok_r(NULL, " \t", &save);
      if (addr)
        rc = dns_row(out, ns++, "nameserver", addr,
                     strchr(addr, ':') ? "128" : "32", options, ns_pid);
    } else if (strcmp(key, "search") == 0 || strcmp(key, "domain") == 0) {
      /* a later search/domain line replaces the earlier ones in libc;
       * osquery lists what the file says */
      for (char *d = strtok_r(NULL, " \t", &save); d && rc == OSQ_OK;
           d = strtok_r(NULL, " \t", &save))
        rc = dns_row(out, search++, "search", d, "", options, ns_pid);
    } else if (strcmp(key, "sortlist") == 0) {
      for (char *p = strtok_r(NULL, " \t", &save); p && rc == OSQ_OK;
           p = strtok_r(NULL, " \t", &save)) {
        char *slash = strchr(p, '/');
        if (slash)
          *slash++ = '\0';
        rc = dns_row(out, sort++, "sortlist", p, slash ? slash : "", options,
                     ns_pid);
      }
    }
  }
  fclose(f);
  return rc;
}

static int dns_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  int64_t pids[OSQ_TBL_NS_PIDS_MAX];
  size_t np = osq_tbl_ns_pids(ctx, D_PID_WITH_NAMESPACE, pids,
                              OSQ_TBL_NS_PIDS_MAX);
  if (np == 0)
    return dns_file(out, 0);
  int rc = OSQ_OK;
  for (size_t i = 0; i < np && rc == OSQ_OK; i++)
    rc = dns_file(out, pids[i]);
  return rc;
}

const osq_table_plugin osq_table_dns_resolvers = {
    .name = "dns_resolvers",
    .columns = dns_columns,
    .ncolumns = OSQ_NCOLS(dns_columns),
    .generate = dns_generate,
};
