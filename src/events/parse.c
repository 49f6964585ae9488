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
