/* hardware_events from the kernel's uevents (netlink
 * NETLINK_KOBJECT_UEVENT, the kernel's own group): no udevd needed, so
 * vendor and model names come only from what the kernel sends (USB's
 * PRODUCT ids) or udev's ID_* keys when present. Types listed in
 * --hardware_disabled_types are skipped. */
#include "events/events_internal.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/log.h"
#include "events/parse.h"

#define RECV_BUF 16384
#define VAL_MAX 256

static osq_ev_stats stats;
static const char *const tables[] = {"hardware_events", NULL};
static int sock = -1;
static osq_ev_waker waker = {-1, -1};
static pthread_t thread;

static bool wanted(const json_t *cfg) {
  (void)cfg;
  return true; /* whenever events are on, as osquery's udev publisher */
}

typedef struct uevent {
  char action[32], devname[VAL_MAX], devtype[64], driver[VAL_MAX];
  char vendor[VAL_MAX], vendor_id[16], model[VAL_MAX], model_id[16];
  char serial[VAL_MAX], revision[32], product[64];
} uevent;

static void copy(char *dst, size_t cap, const char *v, size_t n) {
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, v, n);
  dst[n] = '\0';
}

#define KEY(k) (klen == sizeof k - 1 && memcmp(key, k, klen) == 0)

static void on_kv(void *u, const char *key, size_t klen, const char *val,
                  size_t vlen) {
  uevent *e = u;
  if (KEY("ACTION"))
    copy(e->action, sizeof e->action, val, vlen);
  else if (KEY("DEVNAME"))
    copy(e->devname, sizeof e->devname, val, vlen);
  else if (KEY("DEVTYPE"))
    copy(e->devtype, sizeof e->devtype, val, vlen);
  else if (KEY("DRIVER"))
    copy(e->driver, sizeof e->driver, val, vlen);
  else if (KEY("ID_VENDOR_FROM_DATABASE") || (KEY("ID_VENDOR") && !e->vendor[0]))
    copy(e->vendor, sizeof e->vendor, val, vlen);
  else if (KEY("ID_VENDOR_ID"))
    copy(e->vendor_id, sizeof e->vendor_id, val, vlen);
  else if (KEY("ID_MODEL_FROM_DATABASE") || (KEY("ID_MODEL") && !e->model[0]))
    copy(e->model, sizeof e->model, val, vlen);
  else if (KEY("ID_MODEL_ID"))
    copy(e->model_id, sizeof e->model_id, val, vlen);
  else if (KEY("ID_SERIAL_SHORT"))
    copy(e->serial, sizeof e->serial, val, vlen);
  else if (KEY("ID_REVISION"))
    copy(e->revision, sizeof e->revision, val, vlen);
  else if (KEY("PRODUCT"))
    copy(e->product, sizeof e->product, val, vlen);
}

/* Is type in the comma-separated --hardware_disabled_types? */
static bool disabled(const char *type) {
  const char *list = OSQ_FLAG_STR(hardware_disabled_types);
  size_t n = strlen(type);
  for (const char *p = list; *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && n > 0 && memcmp(p, type, n) == 0)
      return true;
    p += len + (end ? 1 : 0);
  }
  return false;
}

static void handle(const char *buf, size_t len) {
  uevent e;
  memset(&e, 0, sizeof e);
  if (!osq_uevent_parse(buf, len, on_kv, &e)) {
    atomic_fetch_add(&stats.errors, 1);
    return;
  }
  atomic_fetch_add(&stats.events, 1);
  if (!e.action[0] || disabled(e.devtype))
    return;
  /* USB: PRODUCT=vendor/product/bcdDevice in hex */
  unsigned v, m, r;
  if (e.product[0] && sscanf(e.product, "%x/%x/%x", &v, &m, &r) == 3 &&
      v <= 0xffff && m <= 0xffff) {
    if (!e.vendor_id[0])
      snprintf(e.vendor_id, sizeof e.vendor_id, "%04x", v);
    if (!e.model_id[0])
      snprintf(e.model_id, sizeof e.model_id, "%04x", m);
    if (!e.revision[0])
      snprintf(e.revision, sizeof e.revision, "%04x", r & 0xffff);
  }
  const osq_table_plugin *t = &osq_table_hardware_events;
  osq_ev_row *row = osq_ev_row_new(t);
  if (row == NULL)
    return;
  char path[VAL_MAX + 8] = "";
  if (e.devname[0])
    snprintf(path, sizeof path, "%s%s", e.devname[0] == '/' ? "" : "/dev/",
             e.devname);
  osq_ev_row_str(row, t, "action", e.action);
  osq_ev_row_str(row, t, "path", path);
  osq_ev_row_str(row, t, "type", e.devtype);
  osq_ev_row_str(row, t, "driver", e.driver);
  osq_ev_row_str(row, t, "vendor", e.vendor);
  osq_ev_row_str(row, t, "vendor_id", e.vendor_id);
  osq_ev_row_str(row, t, "model", e.model);
  osq_ev_row_str(row, t, "model_id", e.model_id);
  osq_ev_row_str(row, t, "serial", e.serial);
  osq_ev_row_str(row, t, "revision", e.revision);
  osq_ev_add("hardware_events", osq_ev_now(), row);
}

static void *run(void *arg) {
  (void)arg;
  char *buf = malloc(RECV_BUF);
  int wait = -1;
  while (buf) {
    struct pollfd p[2] = {{sock, POLLIN, 0}, {waker.rd, POLLIN, 0}};
    int rc = poll(p, 2, wait);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc < 0 || (p[1].revents & POLLIN))
      break;
    for (;;) {
      ssize_t n = recv(sock, buf, RECV_BUF, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == ENOBUFS) {
        osq_ev_note_loss("udev", &stats, 1,
                         "the uevent socket buffer overflowed (ENOBUFS)");
        continue;
      }
      if (n <= 0)
        break;
      handle(buf, (size_t)n);
    }
    wait = osq_ev_commit_due();
  }
  free(buf);
  osq_ev_commit();
  return NULL;
}

static int start(const json_t *cfg, char *err, size_t errlen) {
  (void)cfg;
  sock = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
                NETLINK_KOBJECT_UEVENT);
  if (sock < 0) {
    snprintf(err, errlen, "uevent netlink socket: %s", strerror(errno));
    return -1;
  }
  int sz = 1024 * 1024;
  if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
  if (bind(sock, (struct sockaddr *)&sa, sizeof sa) != 0) {
    snprintf(err, errlen, "uevent netlink bind: %s", strerror(errno));
    close(sock);
    sock = -1;
    return -1;
  }
  if (osq_ev_waker_open(&waker) != 0 ||
      pthread_create(&thread, NULL, run, NULL) != 0) {
    snprintf(err, errlen, "cannot start the publisher thread");
    osq_ev_waker_close(&waker);
    close(sock);
    sock = -1;
    return -1;
  }
  atomic_store(&stats.subscriptions, 1);
  return 0;
}

static void stop(void) {
  osq_ev_waker_wake(&waker);
  pthread_join(thread, NULL);
  osq_ev_waker_close(&waker);
  close(sock);
  sock = -1;
  atomic_store(&stats.subscriptions, 0);
}

const osq_ev_publisher osq_ev_udev = {
    .name = "udev",
    .tables = tables,
    .stats = &stats,
    .wanted = wanted,
    .start = start,
    .reconfigure = NULL,
    .stop = stop,
};
