/* iptables: the IPv4 packet filter rules of every table the kernel has
 * loaded (/proc/net/ip_tables_names), read through libip4tc (loaded on
 * first use): what `iptables-legacy -S` shows. Rules of the nftables
 * back end (`iptables-nft`) are not visible to libip4tc, as in osquery.
 *
 * One row per rule; a chain without rules still gets one row (its
 * policy, no rule fields), so the policies of empty built-in chains can
 * be queried. Addresses and masks are dotted quads; the interface masks
 * are the mask bytes in hex; ports come from the tcp/udp matches as
 * "min:max" ("!" first when inverted); packets and bytes are the rule's
 * counters (a built-in chain's for its rule-less row). */
#include "core/lazylib.h"
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libiptc/libiptc.h>

#define TABLE_NAMES "/proc/net/ip_tables_names"

enum {
  C_FILTER, C_CHAIN, C_POLICY, C_TARGET, C_PROTOCOL, C_SRC_PORT, C_DST_PORT,
  C_SRC_IP, C_SRC_MASK, C_INIFACE, C_INIFACE_MASK, C_DST_IP, C_DST_MASK,
  C_OUTIFACE, C_OUTIFACE_MASK, C_MATCH, C_PACKETS, C_BYTES, C_COUNT
};

static const osq_column columns[] = {
    {"filter_name", OSQ_TYPE_TEXT, 0},   {"chain", OSQ_TYPE_TEXT, 0},
    {"policy", OSQ_TYPE_TEXT, 0},        {"target", OSQ_TYPE_TEXT, 0},
    {"protocol", OSQ_TYPE_INTEGER, 0},   {"src_port", OSQ_TYPE_TEXT, 0},
    {"dst_port", OSQ_TYPE_TEXT, 0},      {"src_ip", OSQ_TYPE_TEXT, 0},
    {"src_mask", OSQ_TYPE_TEXT, 0},      {"iniface", OSQ_TYPE_TEXT, 0},
    {"iniface_mask", OSQ_TYPE_TEXT, 0},  {"dst_ip", OSQ_TYPE_TEXT, 0},
    {"dst_mask", OSQ_TYPE_TEXT, 0},      {"outiface", OSQ_TYPE_TEXT, 0},
    {"outiface_mask", OSQ_TYPE_TEXT, 0}, {"match", OSQ_TYPE_TEXT, 0},
    {"packets", OSQ_TYPE_INTEGER, 0},    {"bytes", OSQ_TYPE_INTEGER, 0},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

static __typeof__(iptc_init) *lz_iptc_init;
static __typeof__(iptc_free) *lz_iptc_free;
static __typeof__(iptc_first_chain) *lz_iptc_first_chain;
static __typeof__(iptc_next_chain) *lz_iptc_next_chain;
static __typeof__(iptc_get_policy) *lz_iptc_get_policy;
static __typeof__(iptc_first_rule) *lz_iptc_first_rule;
static __typeof__(iptc_next_rule) *lz_iptc_next_rule;
static __typeof__(iptc_get_target) *lz_iptc_get_target;
static __typeof__(iptc_strerror) *lz_iptc_strerror;

static const osq_lazysym syms[] = {
    OSQ_LAZYSYM(iptc_init),       OSQ_LAZYSYM(iptc_free),
    OSQ_LAZYSYM(iptc_first_chain), OSQ_LAZYSYM(iptc_next_chain),
    OSQ_LAZYSYM(iptc_get_policy), OSQ_LAZYSYM(iptc_first_rule),
    OSQ_LAZYSYM(iptc_next_rule),  OSQ_LAZYSYM(iptc_get_target),
    OSQ_LAZYSYM(iptc_strerror),
};
static osq_lazylib libip4tc = OSQ_LAZYLIB("libip4tc.so.2", syms);

static void cell_addr(osq_rows *out, size_t col, struct in_addr a) {
  char buf[INET_ADDRSTRLEN];
  osq_rows_cstr(out, col, inet_ntop(AF_INET, &a, buf, sizeof buf));
}

/* The interface mask bytes in hex, up to the first zero byte. */
static void cell_ifmask(osq_rows *out, size_t col, const unsigned char *m) {
  char buf[2 * IFNAMSIZ + 1];
  size_t n = 0;
  for (size_t i = 0; i < IFNAMSIZ && m[i]; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%02X", m[i]);
  osq_rows_text(out, col, buf, n);
}

static void cell_iface(osq_rows *out, size_t col, const char *name) {
  size_t n = strnlen(name, IFNAMSIZ);
  if (n == 0)
    osq_rows_cstr(out, col, "all");
  else
    osq_rows_text(out, col, name, n);
}

static void cell_ports(osq_rows *out, size_t col, const uint16_t pts[2],
                       bool inverted) {
  char buf[24];
  snprintf(buf, sizeof buf, "%s%u:%u", inverted ? "!" : "", pts[0], pts[1]);
  osq_rows_cstr(out, col, buf);
}

/* Ports from the rule's tcp/udp matches, walking the matches between the
 * entry and its target, each bounded by the entry's own offsets. */
static bool rule_ports(osq_rows *out, const struct ipt_entry *e) {
  bool any = false;
  size_t off = sizeof *e;
  while (off + sizeof(struct xt_entry_match) <= e->target_offset) {
    const struct xt_entry_match *m =
        (const struct xt_entry_match *)((const char *)e + off);
    size_t size = m->u.match_size;
    if (size < sizeof *m || off + size > e->target_offset)
      break; /* malformed: stop */
    any = true;
    const char *name = m->u.user.name;
    size_t data = size - sizeof *m;
    if (strcmp(name, "tcp") == 0 && data >= sizeof(struct ipt_tcp)) {
      const struct ipt_tcp *t = (const struct ipt_tcp *)m->data;
      cell_ports(out, C_SRC_PORT, t->spts, t->invflags & IPT_TCP_INV_SRCPT);
      cell_ports(out, C_DST_PORT, t->dpts, t->invflags & IPT_TCP_INV_DSTPT);
    } else if (strcmp(name, "udp") == 0 && data >= sizeof(struct ipt_udp)) {
      const struct ipt_udp *u = (const struct ipt_udp *)m->data;
      cell_ports(out, C_SRC_PORT, u->spts, u->invflags & IPT_UDP_INV_SRCPT);
      cell_ports(out, C_DST_PORT, u->dpts, u->invflags & IPT_UDP_INV_DSTPT);
    }
    off += size;
  }
  return any;
}

static void chain_cells(osq_rows *out, const char *filter, const char *chain,
                        const char *policy) {
  osq_rows_cstr(out, C_FILTER, filter);
  osq_rows_cstr(out, C_CHAIN, chain);
  osq_rows_cstr(out, C_POLICY, policy ? policy : "");
}

static int gen_table(osq_rows *out, const char *filter) {
  struct xtc_handle *h = lz_iptc_init(filter);
  if (h == NULL) {
    OSQ_WARN("iptables: cannot read table %s: %s", filter,
             lz_iptc_strerror(errno));
    return OSQ_OK;
  }
  int rc = OSQ_OK;
  for (const char *chain = lz_iptc_first_chain(h); chain && rc == OSQ_OK;
       chain = lz_iptc_next_chain(h)) {
    struct xt_counters cc = {0};
    const char *policy = lz_iptc_get_policy(chain, &cc, h);
    const struct ipt_entry *e = lz_iptc_first_rule(chain, h);
    if (e == NULL) {
      chain_cells(out, filter, chain, policy);
      osq_rows_int(out, C_PACKETS, (int64_t)cc.pcnt);
      osq_rows_int(out, C_BYTES, (int64_t)cc.bcnt);
      rc = osq_rows_end(out);
      continue;
    }
    for (; e && rc == OSQ_OK; e = lz_iptc_next_rule(e, h)) {
      chain_cells(out, filter, chain, policy);
      const char *target = lz_iptc_get_target(e, h);
      osq_rows_cstr(out, C_TARGET, target ? target : "");
      osq_rows_int(out, C_PROTOCOL, e->ip.proto);
      osq_rows_cstr(out, C_SRC_PORT, "");
      osq_rows_cstr(out, C_DST_PORT, "");
      bool matches = rule_ports(out, e);
      osq_rows_cstr(out, C_MATCH, matches ? "yes" : "no");
      cell_addr(out, C_SRC_IP, e->ip.src);
      cell_addr(out, C_SRC_MASK, e->ip.smsk);
      cell_addr(out, C_DST_IP, e->ip.dst);
      cell_addr(out, C_DST_MASK, e->ip.dmsk);
      cell_iface(out, C_INIFACE, e->ip.iniface);
      cell_ifmask(out, C_INIFACE_MASK, e->ip.iniface_mask);
      cell_iface(out, C_OUTIFACE, e->ip.outiface);
      cell_ifmask(out, C_OUTIFACE_MASK, e->ip.outiface_mask);
      osq_rows_int(out, C_PACKETS, (int64_t)e->counters.pcnt);
      osq_rows_int(out, C_BYTES, (int64_t)e->counters.bcnt);
      rc = osq_rows_end(out);
    }
  }
  lz_iptc_free(h);
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx, (void)udata;
  FILE *f = fopen(TABLE_NAMES, "re");
  if (f == NULL) {
    /* no ip_tables module, or not allowed: no rules to show */
    OSQ_VLOG("iptables: cannot read %s: %s", TABLE_NAMES, strerror(errno));
    return OSQ_OK;
  }
  if (!osq_lazylib_load(&libip4tc)) {
    fclose(f);
    osq_rows_error(out, "iptables: %s", osq_lazylib_error(&libip4tc));
    return OSQ_ERROR;
  }
  char line[64]; /* table names are at most XT_TABLE_MAXNAMELEN */
  int r, rc = OSQ_OK;
  while (rc == OSQ_OK && (r = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (r > 0 && osq_tbl_trim(line)[0] != '\0')
      rc = gen_table(out, osq_tbl_trim(line));
  }
  fclose(f);
  return rc;
}

const osq_table_plugin osq_table_iptables = {
    .name = "iptables",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .generate = generate,
};
