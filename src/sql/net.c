/* Network SQL functions: inet_aton, in_cidr_block, community_id_v1. */
#include "sql_internal.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct ipaddr {
  int family; /* AF_INET or AF_INET6 */
  unsigned char b[16];
  size_t len; /* 4 or 16 */
};

static bool parse_ip(const char *s, struct ipaddr *a) {
  if (s == NULL || strlen(s) >= INET6_ADDRSTRLEN + 16)
    return false;
  if (inet_pton(AF_INET, s, a->b) == 1) {
    a->family = AF_INET;
    a->len = 4;
    return true;
  }
  if (inet_pton(AF_INET6, s, a->b) == 1) {
    a->family = AF_INET6;
    a->len = 16;
    return true;
  }
  return false;
}

static void inet_aton_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
    return;
  const char *s = (const char *)sqlite3_value_text(argv[0]);
  struct in_addr in;
  if (s == NULL || strchr(s, ':') || inet_pton(AF_INET, s, &in) != 1)
    return; /* IPv6 and junk are NULL */
  sqlite3_result_int64(ctx, (sqlite3_int64)ntohl(in.s_addr));
}

/* "addr/prefix" for the family of ip. */
static bool parse_cidr(const char *s, int family, struct ipaddr *net,
                       unsigned *prefix) {
  const char *slash = strchr(s, '/');
  char addr[64];
  if (slash == NULL || (size_t)(slash - s) >= sizeof addr)
    return false;
  memcpy(addr, s, (size_t)(slash - s));
  addr[slash - s] = '\0';
  char *end;
  unsigned long p = strtoul(slash + 1, &end, 10);
  if (end == slash + 1 || *end != '\0')
    return false;
  if (inet_pton(family, addr, net->b) != 1)
    return false;
  net->family = family;
  net->len = family == AF_INET ? 4 : 16;
  if (p > net->len * 8)
    return false;
  *prefix = (unsigned)p;
  return true;
}

static bool prefix_match(const unsigned char *a, const unsigned char *b,
                         unsigned bits) {
  size_t full = bits / 8;
  if (memcmp(a, b, full) != 0)
    return false;
  unsigned rest = bits % 8;
  if (rest == 0)
    return true;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

/* As osquery (Boost's network hosts()): an IPv4 network's hosts exclude
 * the network and broadcast addresses unless the prefix is /32. */
static void in_cidr_block_fn(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv) {
  (void)argc;
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    sqlite3_result_error(ctx, "CIDR must be a string", -1);
    return;
  }
  if (sqlite3_value_type(argv[1]) != SQLITE_TEXT) {
    sqlite3_result_error(ctx, "IP address must be a string", -1);
    return;
  }
  struct ipaddr ip, net;
  unsigned prefix;
  if (!parse_ip((const char *)sqlite3_value_text(argv[1]), &ip)) {
    sqlite3_result_error(ctx, "IP address cannot be parsed", -1);
    return;
  }
  if (!parse_cidr((const char *)sqlite3_value_text(argv[0]), ip.family, &net,
                  &prefix)) {
    sqlite3_result_error(ctx,
                         ip.family == AF_INET
                             ? "CIDR for IP address v4 cannot be parsed"
                             : "CIDR for IP address v6 cannot be parsed",
                         -1);
    return;
  }
  bool in = prefix_match(ip.b, net.b, prefix);
  if (in && ip.family == AF_INET && prefix < 32) {
    uint32_t a = ((uint32_t)ip.b[0] << 24) | ((uint32_t)ip.b[1] << 16) |
                 ((uint32_t)ip.b[2] << 8) | ip.b[3];
    uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;
    uint32_t host = a & ~mask;
    in = host != 0 && host != ~mask;
  }
  sqlite3_result_int(ctx, in);
}

/* ---- community id ------------------------------------------------------- */

static int ip_cmp(const struct ipaddr *a, const struct ipaddr *b) {
  if (a->family != b->family)
    return a->family == AF_INET ? -1 : 1;
  return memcmp(a->b, b->b, a->len);
}

/* Corelight's Community ID v1: base64(sha1(seed . saddr . daddr . proto .
 * 0 . sport . dport)) with the endpoints in order, all big-endian. */
static const char *community_id(sqlite3_context *ctx, int argc,
                                sqlite3_value **argv) {
  int64_t seed = 0;
  if (argc == 6) {
    if (sqlite3_value_type(argv[5]) != SQLITE_INTEGER)
      return "Community ID seed must be an integer";
    seed = sqlite3_value_int64(argv[5]);
    if (seed < INT16_MIN || seed > INT16_MAX)
      return "Community ID seed must fit in 2 bytes";
  }
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT ||
      sqlite3_value_type(argv[1]) != SQLITE_TEXT)
    return "Community ID IPs must be strings";
  struct ipaddr s, d;
  if (!parse_ip((const char *)sqlite3_value_text(argv[0]), &s))
    return "Community ID saddr cannot be parsed as IP";
  if (!parse_ip((const char *)sqlite3_value_text(argv[1]), &d))
    return "Community ID daddr cannot be parsed as IP";
  if (sqlite3_value_type(argv[2]) != SQLITE_INTEGER ||
      sqlite3_value_type(argv[3]) != SQLITE_INTEGER)
    return "Community ID ports must be integers";
  int64_t sp = sqlite3_value_int64(argv[2]), dp = sqlite3_value_int64(argv[3]);
  if (sp < 0 || sp > UINT16_MAX || dp < 0 || dp > UINT16_MAX)
    return "Community ID ports must fit in 2 bytes";
  if (sqlite3_value_type(argv[4]) != SQLITE_INTEGER)
    return "Community ID protocol must be an integer";
  int64_t proto = sqlite3_value_int64(argv[4]);
  if (proto < 0 || proto > UINT8_MAX)
    return "Community ID protocol must fit in 1 byte";
  int c = ip_cmp(&s, &d);
  if (!(c < 0 || (c == 0 && sp < dp))) {
    struct ipaddr t = s;
    s = d, d = t;
    int64_t tp = sp;
    sp = dp, dp = tp;
  }
  unsigned char buf[2 + 16 + 16 + 2 + 4], *p = buf;
  uint16_t useed = (uint16_t)(int16_t)seed;
  *p++ = (unsigned char)(useed >> 8), *p++ = (unsigned char)useed;
  memcpy(p, s.b, s.len), p += s.len;
  memcpy(p, d.b, d.len), p += d.len;
  *p++ = (unsigned char)proto;
  *p++ = 0;
  *p++ = (unsigned char)(sp >> 8), *p++ = (unsigned char)sp;
  *p++ = (unsigned char)(dp >> 8), *p++ = (unsigned char)dp;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (EVP_Digest(buf, (size_t)(p - buf), md, &mdlen, EVP_sha1(), NULL) != 1)
    return "Community ID: SHA1 failed";
  char out[2 + 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1] = "1:";
  int n = EVP_EncodeBlock((unsigned char *)out + 2, md, (int)mdlen);
  sqlite3_result_text(ctx, out, n + 2, SQLITE_TRANSIENT);
  return NULL;
}

static void community_id_fn(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv) {
  const char *err = community_id(ctx, argc, argv);
  if (err) {
    OSQ_WARN("%s", err);
    sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
  }
}

static void community_id_strict_fn(sqlite3_context *ctx, int argc,
                                   sqlite3_value **argv) {
  const char *err = community_id(ctx, argc, argv);
  if (err)
    sqlite3_result_error(ctx, err, -1);
}

int osq_sql_register_net(sqlite3 *db) {
  const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
  int rc = sqlite3_create_function(db, "inet_aton", 1, flags, NULL,
                                   inet_aton_fn, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "in_cidr_block", 2, flags, NULL,
                                 in_cidr_block_fn, NULL, NULL);
  for (int n = 5; n <= 6 && rc == SQLITE_OK; n++) {
    rc = sqlite3_create_function(db, "community_id_v1", n, flags, NULL,
                                 community_id_fn, NULL, NULL);
    if (rc == SQLITE_OK)
      rc = sqlite3_create_function(db, "community_id_v1_strict", n, flags,
                                   NULL, community_id_strict_fn, NULL, NULL);
  }
  return rc;
}
