/* interface_addresses, interface_details and interface_ipv6, from
 * getifaddrs(3), /sys/class/net and /proc/sys/net/ipv6. */
#include "tables/builtin.h"
#include "tables/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* "fe80::1%eth0" for scoped IPv6 addresses, as osquery prints them. */
static bool addr_text(const struct sockaddr *sa, const char *ifname,
                      char *out, size_t cap) {
  if (sa == NULL)
    return false;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    return inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)cap) != NULL;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    if (inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)cap) == NULL)
      return false;
    if (in6->sin6_scope_id != 0 && ifname) {
      size_t n = strlen(out);
      snprintf(out + n, cap - n, "%%%s", ifname);
    }
    return true;
  }
  return false;
}

/* ---- interface_addresses ---------------------------------------------- */

enum { A_INTERFACE, A_ADDRESS, A_MASK, A_BROADCAST, A_P2P, A_TYPE,
       A_FRIENDLY_NAME };

static const osq_column addr_columns[] = {
    {"interface", OSQ_TYPE_TEXT, 0},
    {"address", OSQ_TYPE_TEXT, 0},
    {"mask", OSQ_TYPE_TEXT, 0},
    {"broadcast", OSQ_TYPE_TEXT, 0},
    {"point_to_point", OSQ_TYPE_TEXT, 0},
    {"type", OSQ_TYPE_TEXT, 0},
    {"friendly_name", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN}, /* Windows */
};

static int addr_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)ctx;
  (void)udata;
  struct ifaddrs *ifs;
  if (getifaddrs(&ifs) != 0) {
    osq_rows_error(out, "interface_addresses: getifaddrs: %s",
                   strerror(errno));
    return OSQ_ERROR;
  }
  int rc = OSQ_OK;
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  for (struct ifaddrs *i = ifs; i && rc == OSQ_OK; i = i->ifa_next) {
    if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET &&
                                i->ifa_addr->sa_family != AF_INET6))
      continue;
    if (!addr_text(i->ifa_addr, i->ifa_name, buf, sizeof buf))
      continue;
    osq_rows_cstr(out, A_INTERFACE, i->ifa_name);
    osq_rows_cstr(out, A_ADDRESS, buf);
    osq_rows_cstr(out, A_MASK,
                  addr_text(i->ifa_netmask, NULL, buf, sizeof buf) ? buf
                                                                   : "");
    bool bcast = (i->ifa_flags & IFF_BROADCAST) &&
                 addr_text(i->ifa_broadaddr, NULL, buf, sizeof buf);
    osq_rows_cstr(out, A_BROADCAST, bcast ? buf : "");
    bool p2p = (i->ifa_flags & IFF_POINTOPOINT) &&
               addr_text(i->ifa_dstaddr, NULL, buf, sizeof buf);
    osq_rows_cstr(out, A_P2P, p2p ? buf : "");
    osq_rows_cstr(out, A_TYPE, "unknown");
    rc = osq_rows_end(out);
  }
  freeifaddrs(ifs);
  return rc;
}

const osq_table_plugin osq_table_interface_addresses = {
    .name = "interface_addresses",
    .columns = addr_columns,
    .ncolumns = OSQ_NCOLS(addr_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = addr_generate,
};

/* ---- interface_details ------------------------------------------------ */

enum {
  D_INTERFACE, D_MAC, D_TYPE, D_MTU, D_METRIC, D_FLAGS, D_IPACKETS,
  D_OPACKETS, D_IBYTES, D_OBYTES, D_IERRORS, D_OERRORS, D_IDROPS, D_ODROPS,
  D_COLLISIONS, D_LAST_CHANGE, D_LINK_SPEED, D_PCI_SLOT,
  /* osquery declares 17 Windows columns here: hidden, NULL */
  D_WINDOWS_FIRST, D_COUNT = D_WINDOWS_FIRST + 17
};

static const osq_column detail_columns[] = {
    {"interface", OSQ_TYPE_TEXT, 0},  {"mac", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"type", OSQ_TYPE_INTEGER, 0},    {"mtu", OSQ_TYPE_INTEGER, 0},
    {"metric", OSQ_TYPE_INTEGER, 0},  {"flags", OSQ_TYPE_INTEGER, 0},
    {"ipackets", OSQ_TYPE_BIGINT, 0}, {"opackets", OSQ_TYPE_BIGINT, 0},
    {"ibytes", OSQ_TYPE_BIGINT, 0},   {"obytes", OSQ_TYPE_BIGINT, 0},
    {"ierrors", OSQ_TYPE_BIGINT, 0},  {"oerrors", OSQ_TYPE_BIGINT, 0},
    {"idrops", OSQ_TYPE_BIGINT, 0},   {"odrops", OSQ_TYPE_BIGINT, 0},
    {"collisions", OSQ_TYPE_BIGINT, 0},
    {"last_change", OSQ_TYPE_BIGINT, 0},
    {"link_speed", OSQ_TYPE_BIGINT, 0},
    {"pci_slot", OSQ_TYPE_TEXT, 0},
    {"friendly_name", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"description", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"manufacturer", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"connection_id", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"connection_status", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"enabled", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"physical_adapter", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"speed", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"service", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"dhcp_enabled", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"dhcp_lease_expires", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"dhcp_lease_obtained", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"dhcp_server", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"dns_domain", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"dns_domain_suffix_search_order", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"dns_host_name", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"dns_server_search_order", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
};

_Static_assert(sizeof detail_columns / sizeof *detail_columns == D_COUNT,
               "cols");

/* A decimal number from /sys/class/net/<if>/<name>; false if absent. */
static bool sys_num(const char *ifname, const char *name, int64_t *v) {
  char path[256], buf[64];
  snprintf(path, sizeof path, "/sys/class/net/%s/%s", ifname, name);
  if (osq_tbl_read(path, buf, sizeof buf, NULL) <= 0)
    return false;
  return osq_tbl_parse_i64(osq_tbl_trim(buf), v);
}

static int detail_generate(const osq_context *ctx, osq_rows *out,
                           void *udata) {
  (void)ctx;
  (void)udata;
  static const struct {
    size_t col;
    const char *file;
  } stats[] = {
      {D_IPACKETS, "statistics/rx_packets"}, {D_OPACKETS, "statistics/tx_packets"},
      {D_IBYTES, "statistics/rx_bytes"},     {D_OBYTES, "statistics/tx_bytes"},
      {D_IERRORS, "statistics/rx_errors"},   {D_OERRORS, "statistics/tx_errors"},
      {D_IDROPS, "statistics/rx_dropped"},   {D_ODROPS, "statistics/tx_dropped"},
      {D_COLLISIONS, "statistics/collisions"}, {D_MTU, "mtu"},
      {D_TYPE, "type"},
  };
  struct ifaddrs *ifs;
  if (getifaddrs(&ifs) != 0) {
    osq_rows_error(out, "interface_details: getifaddrs: %s", strerror(errno));
    return OSQ_ERROR;
  }
  int rc = OSQ_OK;
  /* AF_PACKET entries: one per link, carrying the MAC address */
  for (struct ifaddrs *i = ifs; i && rc == OSQ_OK; i = i->ifa_next) {
    if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_PACKET ||
        strchr(i->ifa_name, '/') || strstr(i->ifa_name, ".."))
      continue;
    const struct sockaddr_ll *ll = (const struct sockaddr_ll *)i->ifa_addr;
    char mac[3 * 8 + 1] = "";
    size_t n = 0;
    for (int b = 0; b < ll->sll_halen && b < 8; b++)
      n += (size_t)snprintf(mac + n, sizeof mac - n, b ? ":%02x" : "%02x",
                            ll->sll_addr[b]);
    osq_rows_cstr(out, D_INTERFACE, i->ifa_name);
    osq_rows_cstr(out, D_MAC, n ? mac : "00:00:00:00:00:00");
    osq_rows_int(out, D_FLAGS, i->ifa_flags);
    osq_rows_int(out, D_METRIC, 0);
    int64_t v;
    for (size_t s = 0; s < sizeof stats / sizeof *stats; s++)
      if (sys_num(i->ifa_name, stats[s].file, &v))
        osq_rows_int(out, stats[s].col, v);
    osq_rows_int(out, D_LAST_CHANGE, -1);
    /* "speed" is -1 or unreadable (EINVAL) for links without a speed */
    if (sys_num(i->ifa_name, "speed", &v) && v > 0)
      osq_rows_int(out, D_LINK_SPEED, v);
    /* PCI_SLOT_NAME of the device (absent for virtual links) */
    char path[256], uevent[4096], slot[64] = "";
    snprintf(path, sizeof path, "/sys/class/net/%s/device/uevent",
             i->ifa_name);
    if (osq_tbl_read(path, uevent, sizeof uevent, NULL) > 0) {
      char *p = strstr(uevent, "PCI_SLOT_NAME=");
      if (p && (p == uevent || p[-1] == '\n')) {
        p += 14;
        size_t n = strcspn(p, "\n");
        if (n < sizeof slot) {
          memcpy(slot, p, n);
          slot[n] = '\0';
        }
      }
    }
    osq_rows_cstr(out, D_PCI_SLOT, slot);
    rc = osq_rows_end(out);
  }
  freeifaddrs(ifs);
  return rc;
}

const osq_table_plugin osq_table_interface_details = {
    .name = "interface_details",
    .columns = detail_columns,
    .ncolumns = OSQ_NCOLS(detail_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = detail_generate,
};

/* ---- interface_ipv6 --------------------------------------------------- */

enum { V6_INTERFACE, V6_HOP_LIMIT, V6_FORWARDING, V6_REDIRECT, V6_RTADV };

static const osq_column ipv6_columns[] = {
    {"interface", OSQ_TYPE_TEXT, 0},
    {"hop_limit", OSQ_TYPE_INTEGER, 0},
    {"forwarding_enabled", OSQ_TYPE_INTEGER, 0},
    {"redirect_accept", OSQ_TYPE_INTEGER, 0},
    {"rtadv_accept", OSQ_TYPE_INTEGER, 0},
};


/* /proc/sys/net/ipv6/conf/<conf>/<name> as a number; -1 when it cannot be
 * read (IPv6 disabled, an interface gone), as osquery reports it. */
static int64_t ipv6_conf(const char *conf, const char *name) {
  char path[512], buf[64];
  int64_t v;
  snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/%s", conf, name);
  if (osq_tbl_read(path, buf, sizeof buf, NULL) <= 0 ||
      !osq_tbl_parse_i64(osq_tbl_trim(buf), &v) || v < INT32_MIN ||
      v > INT32_MAX)
    return -1;
  return v;
}

static int ipv6_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)ctx;
  (void)udata;
  struct if_nameindex *ifs = if_nameindex();
  if (ifs == NULL)
    return OSQ_OK;
  int rc = OSQ_OK;
  for (struct if_nameindex *i = ifs; i->if_name && rc == OSQ_OK; i++) {
    const char *ifn = i->if_name;
    int64_t forwarding = ipv6_conf(ifn, "forwarding");
    int64_t redirect = ipv6_conf("all", "accept_redirects");
    int64_t if_redirect = ipv6_conf(ifn, "accept_redirects");
    int64_t rtadv = ipv6_conf(ifn, "accept_ra");
    /* The effective values combine the interface's and the global
     * setting as the kernel does (ip-sysctl.txt): redirects are accepted
     * if both allow them on a router, if either does on a host; router
     * advertisements are accepted on a host, or always with accept_ra=2.
     * osquery computes the same, with -1 (unreadable) counting as set. */
    osq_rows_cstr(out, V6_INTERFACE, ifn);
    osq_rows_int(out, V6_HOP_LIMIT, ipv6_conf(ifn, "hop_limit"));
    osq_rows_int(out, V6_FORWARDING, forwarding);
    osq_rows_int(out, V6_REDIRECT,
                 forwarding ? (redirect && if_redirect)
                            : (redirect || if_redirect));
    osq_rows_int(out, V6_RTADV, rtadv == 2 ? 1 : (rtadv && !forwarding));
    rc = osq_rows_end(out);
  }
  if_freenameindex(ifs);
  return rc;
}

const osq_table_plugin osq_table_interface_ipv6 = {
    .name = "interface_ipv6",
    .columns = ipv6_columns,
    .ncolumns = OSQ_NCOLS(ipv6_columns),
    .generate = ipv6_generate,
};
