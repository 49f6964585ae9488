/* Bounded decoders of kernel event records (see parse.h). */
#include "events/parse.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/inotify.h>

void osq_cn_parse(const void *buf, size_t len, osq_cn_fn fn, void *u,
                  osq_parse_counts *counts) {
  const unsigned char *p = buf;
  size_t off = 0;
  while (len - off >= sizeof(struct nlmsghdr)) {
    struct nlmsghdr nh;
    memcpy(&nh, p + off, sizeof nh);
    if (nh.nlmsg_len < sizeof nh || nh.nlmsg_len > len - off) {
      counts->malformed++;
      return; /* the rest of the datagram cannot be framed */
    }
    const unsigned char *data = p + off + NLMSG_HDRLEN;
    size_t payload =
        nh.nlmsg_len >= NLMSG_HDRLEN ? nh.nlmsg_len - NLMSG_HDRLEN : 0;
    size_t step = NLMSG_ALIGN(nh.nlmsg_len);
    off = step > len - off ? len : off + step;
    if (nh.nlmsg_type == NLMSG_NOOP)
      continue;
    if (nh.nlmsg_type == NLMSG_ERROR || nh.nlmsg_type == NLMSG_OVERRUN) {
      counts->overruns++;
      continue;
    }
    struct cn_msg cn;
    if (payload < sizeof cn) {
      counts->malformed++;
      continue;
    }
    memcpy(&cn, data, sizeof cn);
    if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC)
      continue;
    size_t head = offsetof(struct proc_event, event_data);
    if (cn.len > payload - sizeof cn || cn.len < head) {
      counts->malformed++;
      continue;
    }
    struct proc_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(&ev, data + sizeof cn, cn.len < sizeof ev ? cn.len : sizeof ev);
    size_t have = cn.len - head;
    osq_cn_event out = {.parent = -1, .timestamp_ns = ev.timestamp_ns};
    switch (ev.what) {
    case PROC_EVENT_EXEC:
      if (have < sizeof ev.event_data.exec) {
        counts->malformed++;
        continue;
      }
      out.kind = OSQ_CN_EXEC;
      out.pid = ev.event_data.exec.process_tgid;
      break;
    case PROC_EVENT_FORK:
      if (have < sizeof ev.event_data.fork) {
        counts->malformed++;
        continue;
      }
      out.kind = OSQ_CN_FORK;
      out.pid = ev.event_data.fork.child_tgid;
      out.parent = ev.event_data.fork.parent_tgid;
      out.thread = ev.event_data.fork.child_pid != ev.event_data.fork.child_tgid;
      break;
    case PROC_EVENT_EXIT:
      if (have < sizeof ev.event_data.exit) {
        counts->malformed++;
        continue;
      }
      out.kind = OSQ_CN_EXIT;
      out.pid = ev.event_data.exit.process_tgid;
      break;
    default:
      counts->records++;
      continue; /* id changes, comm, ptrace: nothing process_events shows */
    }
    counts->records++;
    fn(u, &out);
  }
  if (off < len)
    counts->malformed++; /* trailing bytes shorter than a header */
}

void osq_in_parse(const void *buf, size_t len, osq_in_fn fn, void *u,
                  osq_parse_counts *counts) {
  const unsigned char *p = buf;
  size_t off = 0;
  while (len - off >= sizeof(struct inotify_event)) {
    struct inotify_event ev;
    memcpy(&ev, p + off, sizeof ev);
    if (ev.len > len - off - sizeof ev) {
      counts->malformed++;
      return;
    }
    const char *name = (const char *)p + off + sizeof ev;
    off += sizeof ev + ev.len;
    osq_in_event out = {.wd = ev.wd,
                        .mask = ev.mask,
                        .cookie = ev.cookie,
                        .name = name,
                        .nlen = strnlen(name, ev.len)};
    if (ev.mask & IN_Q_OVERFLOW)
      counts->overruns++;
    counts->records++;
    fn(u, &out);
  }
  if (off < len)
    counts->malformed++;
}

/* ---- audit ---------------------------------------------------------------- */

void osq_audit_parse_nl(const void *buf, size_t len, osq_audit_msg_fn fn,
                        void *u, osq_parse_counts *counts) {
  const unsigned char *p = buf;
  size_t off = 0;
  while (len - off >= sizeof(struct nlmsghdr)) {
    struct nlmsghdr nh;
    memcpy(&nh, p + off, sizeof nh);
    /* The kernel's audit records (one per datagram) carry the length of
     * their text without the header; its replies to requests (status,
     * acks) carry the full length. */
    size_t avail = len - off - NLMSG_HDRLEN, tlen;
    if (nh.nlmsg_type >= 1100 && nh.nlmsg_len <= avail && off == 0 &&
        NLMSG_ALIGN(nh.nlmsg_len) >= avail)
      tlen = nh.nlmsg_len;
    else if (nh.nlmsg_len >= NLMSG_HDRLEN && nh.nlmsg_len <= len - off)
      tlen = nh.nlmsg_len - NLMSG_HDRLEN;
    else {
      counts->malformed++;
      return;
    }
    const char *text = (const char *)p + off + NLMSG_HDRLEN;
    size_t step = NLMSG_ALIGN(NLMSG_HDRLEN + tlen);
    off = step > len - off ? len : off + step;
    if (nh.nlmsg_type == NLMSG_OVERRUN) {
      counts->overruns++;
      continue;
    }
    if (nh.nlmsg_type == NLMSG_NOOP || nh.nlmsg_type == NLMSG_DONE)
      continue;
    /* a text record may end in NULs */
    while (tlen > 0 && text[tlen - 1] == '\0')
      tlen--;
    counts->records++;
    fn(u, nh.nlmsg_type, text, tlen);
  }
  if (off < len)
    counts->malformed++;
}

static bool digits(const char *s, size_t len, size_t *i, uint64_t *v) {
  size_t start = *i;
  uint64_t x = 0;
  while (*i < len && s[*i] >= '0' && s[*i] <= '9' && *i - start < 19)
    x = x * 10 + (uint64_t)(s[(*i)++] - '0');
  *v = x;
  return *i > start;
}

bool osq_audit_header(const char *text, size_t len, osq_audit_hdr *h,
                      size_t *body) {
  static const char pre[] = "audit(";
  size_t n = sizeof pre - 1;
  if (len < n || memcmp(text, pre, n) != 0)
    return false;
  size_t i = n;
  uint64_t sec, msec, serial;
  if (!digits(text, len, &i, &sec) || i >= len || text[i++] != '.' ||
      !digits(text, len, &i, &msec) || i >= len || text[i++] != ':' ||
      !digits(text, len, &i, &serial) || i + 1 >= len || text[i] != ')' ||
      text[i + 1] != ':')
    return false;
  i += 2;
  while (i < len && text[i] == ' ')
    i++;
  h->sec = (int64_t)sec;
  h->msec = (int64_t)msec;
  h->serial = serial;
  *body = i;
  return true;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* The next key=value word at *i: false when none is left. Words without
 * a value are passed over. */
static bool next_field(const char *text, size_t len, size_t *i,
                       osq_audit_span *f) {
  while (*i < len) {
    while (*i < len && text[*i] == ' ')
      (*i)++;
    size_t ks = *i;
    while (*i < len && text[*i] != '=' && text[*i] != ' ')
      (*i)++;
    if (*i >= len || text[*i] != '=')
      continue; /* a word without a value */
    f->ks = (uint32_t)ks;
    f->kl = (uint32_t)(*i - ks);
    (*i)++; /* '=' */
    /* user-space messages quote their msg='...' in single quotes */
    char q = *i < len && (text[*i] == '"' || text[*i] == '\'') ? text[*i] : 0;
    f->quoted = q != 0;
    if (q) {
      f->vs = (uint32_t)++(*i);
      while (*i < len && text[*i] != q)
        (*i)++;
      f->ve = (uint32_t)*i;
      if (*i < len)
        (*i)++;
    } else {
      f->vs = (uint32_t)*i;
      while (*i < len && text[*i] != ' ')
        (*i)++;
      f->ve = (uint32_t)*i;
    }
    return true;
  }
  return false;
}

static void field_value(const char *text, const osq_audit_span *f, bool hex,
                        char *out, size_t cap) {
  size_t vs = f->vs, ve = f->ve, n = ve - vs, o = 0;
  bool is_hex = hex && !f->quoted && n % 2 == 0 && n > 0;
  for (size_t k = vs; is_hex && k < ve; k++)
    if (hexval(text[k]) < 0)
      is_hex = false;
  if (is_hex) {
    for (size_t k = vs; k + 1 < ve && o + 1 < cap; k += 2) {
      char c = (char)(hexval(text[k]) << 4 | hexval(text[k + 1]));
      out[o++] = c == '\0' ? ' ' : c;
    }
  } else {
    for (size_t k = vs; k < ve && o + 1 < cap; k++)
      out[o++] = text[k];
  }
  out[o] = '\0';
}

bool osq_audit_field(const char *text, size_t len, const char *key, bool hex,
                     char *out, size_t cap) {
  size_t klen = strlen(key), i = 0;
  osq_audit_span f;
  if (cap == 0 || len > UINT32_MAX)
    return false;
  while (next_field(text, len, &i, &f))
    if (f.kl == klen && memcmp(text + f.ks, key, klen) == 0) {
      field_value(text, &f, hex, out, cap);
      return true;
    }
  return false;
}

void osq_audit_fields_index(osq_audit_fields *fs, const char *text,
                            size_t len) {
  size_t i = 0;
  fs->text = text;
  fs->len = len;
  fs->n = 0;
  fs->complete = len <= UINT32_MAX;
  while (fs->complete && next_field(text, len, &i, &fs->f[fs->n]))
    if (++fs->n == OSQ_AUDIT_MAX_FIELDS) {
      osq_audit_span rest;
      fs->complete = !next_field(text, len, &i, &rest);
    }
}

bool osq_audit_fields_get(const osq_audit_fields *fs, const char *key,
                          bool hex, char *out, size_t cap) {
  size_t klen = strlen(key);
  if (cap == 0)
    return false;
  for (size_t k = 0; k < fs->n; k++) {
    const osq_audit_span *f = &fs->f[k];
    if (f->kl == klen && memcmp(fs->text + f->ks, key, klen) == 0) {
      field_value(fs->text, f, hex, out, cap);
      return true;
    }
  }
  /* more fields than the index holds: the rest by a scan */
  return !fs->complete &&
         osq_audit_field(fs->text, fs->len, key, hex, out, cap);
}

/* ---- syslog ---------------------------------------------------------------- */

int osq_syslog_csv(const char *line, size_t len, char *out, size_t cap,
                   const char **fields, int nmax) {
  size_t i = 0, o = 0;
  int n = 0;
  for (;;) {
    if (n == nmax || o >= cap)
      return -1;
    fields[n++] = out + o;
    if (i < len && line[i] == '"') {
      i++;
      for (;;) {
        if (i >= len)
          return -1; /* unterminated quote */
        if (line[i] == '"') {
          if (i + 1 < len && line[i + 1] == '"') {
            if (o + 1 >= cap)
              return -1;
            out[o++] = '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (o + 1 >= cap)
          return -1;
        out[o++] = line[i++];
      }
    } else {
      while (i < len && line[i] != ',') {
        if (o + 1 >= cap)
          return -1;
        out[o++] = line[i++];
      }
    }
    out[o++] = '\0';
    if (i >= len)
      return n;
    if (line[i] != ',')
      return -1; /* text after a closing quote */
    i++;
  }
}

/* ---- uevents --------------------------------------------------------------- */

bool osq_uevent_parse(const void *buf, size_t len, osq_uevent_fn fn, void *u) {
  const char *p = buf;
  size_t first = strnlen(p, len);
  const char *at = memchr(p, '@', first);
  if (first == 0 || first == len || at == NULL || at == p)
    return false; /* also udevd's "libudev" messages */
  fn(u, "@", 1, p, first);
  size_t off = first + 1;
  while (off < len) {
    const char *s = p + off;
    size_t n = strnlen(s, len - off);
    const char *eq = memchr(s, '=', n);
    if (eq && eq != s)
      fn(u, s, (size_t)(eq - s), eq + 1, n - (size_t)(eq - s) - 1);
    off += n + 1;
  }
  return true;
}

/* ---- audit: SELinux/AppArmor records and file paths ----------------------- */

const char *osq_audit_mac_label(uint16_t type) {
  static const char *const mac[] = {
      "AVC",             "SELINUX_ERR",      "AVC_PATH",
      "MAC_POLICY_LOAD", "MAC_STATUS",       "MAC_CONFIG_CHANGE",
      "MAC_UNLBL_ALLOW", "MAC_CIPSOV4_ADD",  "MAC_CIPSOV4_DEL",
      "MAC_MAP_ADD",     "MAC_MAP_DEL",      "MAC_IPSEC_ADDSA",
      "MAC_IPSEC_DELSA", "MAC_IPSEC_ADDSPD", "MAC_IPSEC_DELSPD",
      "MAC_IPSEC_EVENT", "MAC_UNLBL_STCADD", "MAC_UNLBL_STCDEL",
  };
  if (type == 1107)
    return "USER_AVC";
  if (type >= 1400 && type - 1400u < sizeof mac / sizeof *mac)
    return mac[type - 1400];
  return NULL;
}

bool osq_path_normalize(const char *cwd, const char *path, char *out,
                        size_t cap) {
  if (cap < 2)
    return false;
  size_t o = 0;
  out[o++] = '/';
  const char *parts[2] = {path[0] == '/' ? "" : cwd, path};
  for (int k = 0; k < 2; k++) {
    const char *s = parts[k];
    while (*s) {
      while (*s == '/')
        s++;
      const char *e = s;
      while (*e && *e != '/')
        e++;
      size_t n = (size_t)(e - s);
      if (n == 2 && s[0] == '.' && s[1] == '.') {
        while (o > 1 && out[o - 1] != '/')
          o--; /* the last component */
        if (o > 1)
          o--; /* and its slash */
      } else if (n > 0 && !(n == 1 && s[0] == '.')) {
        if (o > 1) {
          if (o + 1 >= cap)
            return false;
          out[o++] = '/';
        }
        if (o + n >= cap)
          return false;
        memcpy(out + o, s, n);
        o += n;
      }
      s = e;
    }
  }
  out[o] = '\0';
  return true;
}

bool osq_path_pattern_match(const char *p, const char *s) {
  for (;;) {
    if (p[0] == '%' && p[1] == '%' && p[2] == '\0')
      return true;
    if (*p == '%') {
      while (*p == '%')
        p++; /* a run of '%' mid-pattern is one wildcard */
      for (;;) {
        if (osq_path_pattern_match(p, s))
          return true;
        if (*s == '\0' || *s == '/')
          return false;
        s++;
      }
    }
    if (*p == '\0')
      return *s == '\0';
    if (*p != *s)
      return false;
    p++;
    s++;
  }
}
