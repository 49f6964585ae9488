/* Thrift binary protocol over a buffered UNIX stream socket (thrift.h).
 *
 * Reading: one 64 KiB buffer per connection, refilled with as few recv
 * calls as the peer allows; values are decoded in place and strings handed
 * out as views into it. Every read is charged to the current message's
 * byte budget before any memory is committed to it, so a peer that claims
 * a huge string or container costs nothing until the bytes really come.
 *
 * Writing: encoders append to an osq_twriter; a message goes out with one
 * sendmsg of its buffers (never one syscall per field).
 *
 * Deadlines are absolute CLOCK_MONOTONIC times. Reads and writes block in
 * recv/sendmsg with the kernel's SO_RCVTIMEO/SO_SNDTIMEO set to no more
 * than what is left (re-armed about once a second), so a
 * read costs one syscall even when the peer is slow; when one returns
 * EAGAIN (the kernel timeout, or a descriptor the caller made
 * non-blocking), poll() waits for what is left or reports the deadline.
 * Past the deadline a call is still tried once without blocking, so the
 * result never depends on how fast the caller got there: a closed peer is
 * reported as closed, and a timeout means the kernel had to wait. */
#include "thrift.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../core/grow.h"

#define RBUF_SIZE (64 * 1024)

struct osq_tconn {
  int fd;            /* -1 for a memory connection */
  bool mem;          /* reads come from a caller's buffer */
  uint8_t *rbuf;     /* read buffer (memory: the caller's bytes) */
  size_t rpos, rlen, rcap;
  int64_t deadline;  /* CLOCK_MONOTONIC ms, 0 = none */
  int64_t rcv_kto, snd_kto; /* kernel timeouts now set, ms (0 = none) */
  int request_timeout; /* ms, server side */
  int64_t saved_deadline; /* the deadline outside a request */
  bool in_request;
  size_t max_message, string_limit;
  int32_t seqid;
  osq_twriter out;      /* request / reply heads */
  osq_twriter *mem_out; /* memory connection: where writes go */
  osq_twriter *tap_in, *tap_out; /* wire captures */
  /* a memory stream: reads come through the buffer like a socket's */
  const uint8_t *src;
  size_t srclen, srcpos, maxread, rbuf_size;
  char err[256];
};

__attribute__((format(printf, 3, 4))) static int cerr(osq_tconn *c, int code,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, sizeof c->err, fmt, ap);
  va_end(ap);
  return code;
}

/* ---- connections ---------------------------------------------------------- */

static osq_tconn *tconn_new(int fd) {
  osq_tconn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->fd = fd;
  c->max_message = OSQ_THRIFT_DEFAULT_MAX_MESSAGE;
  osq_tw_init(&c->out);
  return c;
}

osq_tconn *osq_tconn_open(const char *path, int timeout_ms, int *err,
                          char *msg, size_t msglen) {
  int dummy;
  if (err == NULL)
    err = &dummy;
  char tmp[8];
  if (msg == NULL || msglen == 0) {
    msg = tmp;
    msglen = sizeof tmp;
  }
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t plen = path ? strlen(path) : 0;
  if (plen == 0 || plen >= sizeof sa.sun_path) {
    *err = OSQ_EINVAL;
    snprintf(msg, msglen, "socket path '%s' is %s (%zu bytes, at most %zu)",
             path ? path : "", plen ? "too long" : "empty", plen,
             sizeof sa.sun_path - 1);
    return NULL;
  }
  memcpy(sa.sun_path, path, plen + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = OSQ_EIO;
    snprintf(msg, msglen, "socket: %s", strerror(errno));
    return NULL;
  }
  /* connect() on a UNIX socket blocks only while the listener's backlog is
   * full; SO_SNDTIMEO bounds that wait. */
  if (timeout_ms > 0) {
    struct timeval tv = {.tv_sec = timeout_ms / 1000,
                         .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  int rc;
  do {
    rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno == EISCONN)
    rc = 0; /* completed after an interrupted attempt */
  if (rc < 0) {
    int e = errno;
    *err = (e == EAGAIN || e == EWOULDBLOCK || e == EINPROGRESS)
               ? OSQ_ETIMEDOUT
           : (e == ENOENT || e == ECONNREFUSED) ? OSQ_ENOTFOUND
                                                : OSQ_EIO;
    snprintf(msg, msglen, "connect to %s: %s", path,
             *err == OSQ_ETIMEDOUT ? "timed out (listener backlog full)"
                                   : strerror(e));
    close(fd);
    return NULL;
  }
  if (timeout_ms > 0) {
    struct timeval tv = {0, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  osq_tconn *c = tconn_new(fd);
  if (c == NULL) {
    close(fd);
    *err = OSQ_ENOMEM;
    snprintf(msg, msglen, "out of memory");
    return NULL;
  }
  *err = OSQ_OK;
  return c;
}

osq_tconn *osq_tconn_connect(const char *path, int timeout_ms, int *err) {
  return osq_tconn_open(path, timeout_ms, err, NULL, 0);
}

osq_tconn *osq_tconn_wrap(int fd) {
  if (fd < 0)
    return NULL;
  int fl = fcntl(fd, F_GETFD);
  if (fl >= 0 && !(fl & FD_CLOEXEC))
    fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
  return tconn_new(fd);
}

osq_tconn *osq_tconn_memory_stream(const void *in, size_t len,
                                   osq_twriter *out, size_t bufsize,
                                   size_t maxread) {
  osq_tconn *c = tconn_new(-1);
  if (c == NULL)
    return NULL;
  c->src = in;
  c->srclen = in ? len : 0;
  c->maxread = maxread ? maxread : 1;
  c->rbuf_size = bufsize < 16 ? 16 : bufsize;
  c->mem_out = out;
  return c;
}

osq_tconn *osq_tconn_memory(const void *in, size_t len, osq_twriter *out) {
  osq_tconn *c = tconn_new(-1);
  if (c == NULL)
    return NULL;
  c->mem = true;
  c->rbuf = (uint8_t *)(uintptr_t)in; /* never written: fill() does not
                                         compact a memory connection */
  c->rlen = c->rcap = in ? len : 0;
  c->mem_out = out;
  return c;
}

void osq_tconn_close(osq_tconn *c) {
  if (c == NULL)
    return;
  if (c->fd >= 0)
    close(c->fd);
  if (!c->mem)
    free(c->rbuf);
  osq_tw_free(&c->out);
  free(c);
}

int osq_tconn_fd(const osq_tconn *c) { return c->fd; }

void osq_tconn_set_deadline(osq_tconn *c, int64_t deadline_ms) {
  c->deadline = deadline_ms;
}

void osq_tconn_set_max_message(osq_tconn *c, size_t bytes) {
  c->max_message = bytes ? bytes : OSQ_THRIFT_DEFAULT_MAX_MESSAGE;
}

void osq_tconn_set_string_limit(osq_tconn *c, size_t bytes) {
  c->string_limit = bytes;
}

osq_twriter *osq_tconn_writer(osq_tconn *c) {
  osq_tw_reset(&c->out);
  return &c->out;
}

void osq_tconn_set_request_timeout(osq_tconn *c, int ms) {
  c->request_timeout = ms > 0 ? ms : 0;
}

static int fill(osq_tconn *c, size_t need);

int osq_tconn_begin_request(osq_tconn *c) {
  int rc = fill(c, 1);
  if (rc != OSQ_OK)
    return rc;
  if (c->request_timeout && !c->in_request) {
    c->saved_deadline = c->deadline;
    int64_t d = osq_now_ms() + c->request_timeout;
    if (c->deadline == 0 || d < c->deadline)
      c->deadline = d;
    c->in_request = true;
  }
  return OSQ_OK;
}

void osq_tconn_end_request(osq_tconn *c) {
  if (c->in_request) {
    c->deadline = c->saved_deadline;
    c->in_request = false;
  }
}

void osq_tconn_tap(osq_tconn *c, osq_twriter *in, osq_twriter *out) {
  c->tap_in = in;
  c->tap_out = out;
}

int32_t osq_tconn_next_seqid(osq_tconn *c) {
  int32_t s = c->seqid;
  c->seqid = s == INT32_MAX ? 0 : s + 1;
  return s;
}

const char *osq_tconn_error(const osq_tconn *c) { return c->err; }

int osq_tconn_flush(osq_tconn *c) {
  (void)c; /* osq_tconn_send writes everything before it returns */
  return OSQ_OK;
}

bool osq_tconn_stale(osq_tconn *c) {
  if (c->rlen > c->rpos)
    return true; /* bytes nobody asked for: the stream is out of step */
  if (c->mem)
    return false;
  if (c->fd < 0)
    return c->srcpos < c->srclen;
  char b;
  ssize_t n;
  do {
    n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return false;
  return true; /* closed (0), unexpected bytes (>0) or a socket error */
}

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(osq_tconn *c, short events) {
  for (;;) {
    int timeout = -1;
    if (c->deadline) {
      int64_t left = c->deadline - osq_now_ms();
      if (left <= 0)
        return cerr(c, OSQ_ETIMEDOUT, "timed out waiting for the peer to %s",
                    events == POLLIN ? "send" : "receive");
      timeout = left > INT_MAX ? INT_MAX : (int)left;
    }
    struct pollfd p = {.fd = c->fd, .events = events};
    int n = poll(&p, 1, timeout);
    if (n > 0)
      return OSQ_OK; /* readiness, hang-up or error: the next call tells */
    if (n < 0 && errno != EINTR)
      return cerr(c, OSQ_EIO, "poll: %s", strerror(errno));
  }
}

/* Keep the kernel's blocking timeout opt within the deadline. Once the
 * deadline has passed, *dontwait asks for one more try that does not block:
 * what the kernel can answer at once (bytes already received, room in the
 * send buffer, a peer that hung up) is reported as it is, and a timeout only
 * when the call would have to wait. A slow caller (a loaded machine) then
 * never turns a closed peer into a timeout. */
static void arm(osq_tconn *c, int opt, int64_t *kto, bool *dontwait) {
  *dontwait = false;
  int64_t want = 0;
  if (c->deadline) {
    want = c->deadline - osq_now_ms();
    if (want <= 0) {
      *dontwait = true;
      return;
    }
    if (*kto != 0 && *kto <= want)
      return; /* the kernel gives up no later than the deadline */
    /* Leave room so that a long deadline is re-armed about once a second,
     * not once per elapsed millisecond; an early kernel timeout just
     * re-arms and retries. */
    int64_t room = want / 2 < 1000 ? want / 2 : 1000;
    want -= room;
  } else if (*kto == 0) {
    return;
  }
  struct timeval tv = {.tv_sec = (time_t)(want / 1000),
                       .tv_usec = (suseconds_t)(want % 1000) * 1000};
  if (setsockopt(c->fd, SOL_SOCKET, opt, &tv, sizeof tv) == 0)
    *kto = want;
  /* if it failed, poll() still enforces the deadline */
}

static ssize_t recv_some(osq_tconn *c, uint8_t *dst, size_t cap) {
  if (c->fd < 0) { /* a memory stream */
    size_t n = c->srclen - c->srcpos;
    if (n == 0)
      return cerr(c, OSQ_ECLOSED, "end of input");
    if (n > cap)
      n = cap;
    if (n > c->maxread)
      n = c->maxread;
    memcpy(dst, c->src + c->srcpos, n);
    c->srcpos += n;
    return (ssize_t)n;
  }
  for (;;) {
    bool dontwait;
    arm(c, SO_RCVTIMEO, &c->rcv_kto, &dontwait);
    ssize_t n = recv(c->fd, dst, cap, dontwait ? MSG_DONTWAIT : 0);
    if (n > 0)
      return n;
    if (n == 0)
      return cerr(c, OSQ_ECLOSED, "peer closed the connection");
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int rc = wait_fd(c, POLLIN);
      if (rc != OSQ_OK)
        return rc;
      continue;
    }
    if (errno == ECONNRESET)
      return cerr(c, OSQ_ECLOSED, "peer reset the connection");
    return cerr(c, OSQ_EIO, "read: %s", strerror(errno));
  }
}

/* Make at least need (<= rcap) bytes available from rpos. */
static int fill(osq_tconn *c, size_t need) {
  size_t have = c->rlen - c->rpos;
  if (have >= need)
    return OSQ_OK;
  if (c->mem)
    return cerr(c, OSQ_ECLOSED, "end of input");
  if (c->rbuf == NULL) {
    size_t size = c->rbuf_size ? c->rbuf_size : RBUF_SIZE;
    c->rbuf = malloc(size);
    if (c->rbuf == NULL)
      return cerr(c, OSQ_ENOMEM, "out of memory for the read buffer");
    c->rcap = size;
  }
  if (need > c->rcap) {
    /* only a buffer smaller than a method name (memory streams) */
    uint8_t *p = realloc(c->rbuf, need);
    if (p == NULL)
      return cerr(c, OSQ_ENOMEM, "out of memory for the read buffer");
    c->rbuf = p;
    c->rcap = need;
  }
  if (c->rpos + need > c->rcap) {
    memmove(c->rbuf, c->rbuf + c->rpos, have);
    c->rpos = 0;
    c->rlen = have;
  } else if (have == 0) {
    c->rpos = c->rlen = 0;
  }
  while (c->rlen - c->rpos < need) {
    ssize_t n = recv_some(c, c->rbuf + c->rlen, c->rcap - c->rlen);
    if (n < 0)
      return (int)n;
    if (c->tap_in)
      osq_tw_bytes(c->tap_in, c->rbuf + c->rlen, (size_t)n);
    c->rlen += (size_t)n;
  }
  return OSQ_OK;
}

int osq_tconn_send(osq_tconn *c, const osq_twriter *a, const osq_twriter *b) {
  if ((a && a->failed) || (b && b->failed))
    return cerr(c, OSQ_ENOMEM, "out of memory while encoding a message");
  struct iovec iov[2];
  int n = 0;
  if (a && a->len)
    iov[n++] = (struct iovec){a->buf, a->len};
  if (b && b->len)
    iov[n++] = (struct iovec){b->buf, b->len};
  for (int i = 0; c->tap_out && i < n; i++)
    osq_tw_bytes(c->tap_out, iov[i].iov_base, iov[i].iov_len);
  if (c->mem || c->fd < 0) {
    for (int i = 0; c->mem_out && i < n; i++)
      osq_tw_bytes(c->mem_out, iov[i].iov_base, iov[i].iov_len);
    return OSQ_OK;
  }
  struct iovec *v = iov;
  while (n > 0) {
    struct msghdr mh = {.msg_iov = v, .msg_iovlen = (size_t)n};
    bool dontwait;
    arm(c, SO_SNDTIMEO, &c->snd_kto, &dontwait);
    ssize_t k = sendmsg(c->fd, &mh, MSG_NOSIGNAL | (dontwait ? MSG_DONTWAIT : 0));
    if (k < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        int rc = wait_fd(c, POLLOUT);
        if (rc != OSQ_OK)
          return rc;
        continue;
      }
      if (errno == EPIPE || errno == ECONNRESET)
        return cerr(c, OSQ_ECLOSED, "peer closed the connection while we wrote");
      return cerr(c, OSQ_EIO, "write: %s", strerror(errno));
    }
    size_t done = (size_t)k;
    while (n > 0 && done >= v->iov_len) {
      done -= v->iov_len;
      v++;
      n--;
    }
    if (n > 0) {
      v->iov_base = (uint8_t *)v->iov_base + done;
      v->iov_len -= done;
    }
  }
  return OSQ_OK;
}

/* ---- writing -------------------------------------------------------------- */

void osq_tw_init(osq_twriter *w) { memset(w, 0, sizeof *w); }

void osq_tw_free(osq_twriter *w) {
  free(w->buf);
  osq_tw_init(w);
}

void osq_tw_reset(osq_twriter *w) {
  w->len = 0;
  w->failed = false;
}

/* Room for n more bytes, or NULL (sticky failure). */
static inline uint8_t *tw_room(osq_twriter *w, size_t n) {
  if (w->cap - w->len >= n)
    return w->buf + w->len;
  if (w->failed)
    return NULL;
  if (n > SIZE_MAX - w->len ||
      osq_grow(&w->buf, &w->cap, w->len + n, 1, 256, 0) != OSQ_OK) {
    w->failed = true;
    return NULL;
  }
  return w->buf + w->len;
}

static inline void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

void osq_tw_bytes(osq_twriter *w, const void *p, size_t n) {
  uint8_t *d = tw_room(w, n);
  if (d == NULL)
    return;
  if (n)
    memcpy(d, p, n);
  w->len += n;
}

void osq_tw_i8(osq_twriter *w, int8_t v) {
  uint8_t *d = tw_room(w, 1);
  if (d == NULL)
    return;
  d[0] = (uint8_t)v;
  w->len++;
}

void osq_tw_i32(osq_twriter *w, int32_t v) {
  uint8_t *d = tw_room(w, 4);
  if (d == NULL)
    return;
  put32(d, (uint32_t)v);
  w->len += 4;
}

void osq_tw_i64(osq_twriter *w, int64_t v) {
  uint8_t *d = tw_room(w, 8);
  if (d == NULL)
    return;
  put32(d, (uint32_t)((uint64_t)v >> 32));
  put32(d + 4, (uint32_t)(uint64_t)v);
  w->len += 8;
}

void osq_tw_double(osq_twriter *w, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  osq_tw_i64(w, (int64_t)u);
}

void osq_tw_string(osq_twriter *w, const char *s, size_t len) {
  if (len > INT32_MAX) {
    w->failed = true; /* not representable in the binary protocol */
    return;
  }
  uint8_t *d = tw_room(w, 4 + len);
  if (d == NULL)
    return;
  put32(d, (uint32_t)len);
  if (len)
    memcpy(d + 4, s, len);
  w->len += 4 + len;
}

void osq_tw_cstr(osq_twriter *w, const char *s) {
  osq_tw_string(w, s ? s : "", s ? strlen(s) : 0);
}

void osq_tw_message_begin(osq_twriter *w, const char *name, int type,
                          int32_t seqid) {
  osq_tw_i32(w, (int32_t)(0x80010000u | (uint32_t)(type & 0xff)));
  osq_tw_cstr(w, name);
  osq_tw_i32(w, seqid);
}

void osq_tw_field(osq_twriter *w, int type, int16_t id) {
  uint8_t *d = tw_room(w, 3);
  if (d == NULL)
    return;
  d[0] = (uint8_t)type;
  d[1] = (uint8_t)((uint16_t)id >> 8);
  d[2] = (uint8_t)id;
  w->len += 3;
}

void osq_tw_stop(osq_twriter *w) { osq_tw_i8(w, OSQ_TT_STOP); }

void osq_tw_map_begin(osq_twriter *w, int ktype, int vtype, int32_t count) {
  uint8_t *d = tw_room(w, 6);
  if (d == NULL)
    return;
  d[0] = (uint8_t)ktype;
  d[1] = (uint8_t)vtype;
  put32(d + 2, (uint32_t)count);
  w->len += 6;
}

void osq_tw_list_begin(osq_twriter *w, int etype, int32_t count) {
  uint8_t *d = tw_room(w, 5);
  if (d == NULL)
    return;
  d[0] = (uint8_t)etype;
  put32(d + 1, (uint32_t)count);
  w->len += 5;
}

size_t osq_tw_reserve_i32(osq_twriter *w) {
  size_t at = w->len;
  osq_tw_i32(w, 0);
  return at;
}

void osq_tw_patch_i32(osq_twriter *w, size_t offset, int32_t v) {
  if (!w->failed && offset + 4 <= w->len)
    put32(w->buf + offset, (uint32_t)v);
}

/* ---- reading -------------------------------------------------------------- */

void osq_tr_init_conn(osq_treader *r, osq_tconn *c) {
  memset(r, 0, sizeof *r);
  r->conn = c;
  r->limit = c->max_message;
  r->string_limit = c->string_limit;
}

void osq_tr_init_mem(osq_treader *r, const void *p, size_t n, size_t limit) {
  memset(r, 0, sizeof *r);
  r->mem = p;
  r->memlen = p ? n : 0;
  r->limit = limit ? limit : OSQ_THRIFT_DEFAULT_MAX_MESSAGE;
}

void osq_tr_free(osq_treader *r) {
  free(r->scratch);
  free(r->scratch2);
  r->scratch = r->scratch2 = NULL;
  r->scratch_cap = r->scratch2_cap = 0;
}

int osq_tr_fail(osq_treader *r, int code, const char *fmt, ...) {
  if (r->err)
    return r->err;
  r->err = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->msg, sizeof r->msg, fmt, ap);
  va_end(ap);
  return code;
}

int osq_tr_error(const osq_treader *r) { return r->err; }
const char *osq_tr_message(const osq_treader *r) {
  return r->err ? r->msg : "";
}
size_t osq_tr_consumed(const osq_treader *r) { return r->consumed; }

static size_t budget(const osq_treader *r) {
  return r->limit > r->consumed ? r->limit - r->consumed : 0;
}

static int over_budget(osq_treader *r, size_t n) {
  (void)n;
  return osq_tr_fail(r, OSQ_ERANGE,
                     "message exceeds the maximum size of %zu bytes", r->limit);
}

/* Turn a transport failure into the reader's error. */
static int io_fail(osq_treader *r, int rc) {
  osq_tconn *c = r->conn;
  if (rc == OSQ_ECLOSED) {
    size_t got = r->consumed + (c->rlen - c->rpos);
    if (got == 0)
      return osq_tr_fail(r, OSQ_ECLOSED, "%s", c->mem ? "end of input" : "connection closed");
    return osq_tr_fail(r, OSQ_EPROTO,
                       "message truncated: %s after %zu bytes",
                       c->mem ? "input ended" : "connection closed", got);
  }
  return osq_tr_fail(r, rc, "%s", c->err);
}

/* n contiguous bytes at the read position, not consumed. */
static inline const uint8_t *peek(osq_treader *r, size_t n) {
  if (r->err)
    return NULL;
  if (n > budget(r)) {
    over_budget(r, n);
    return NULL;
  }
  if (r->conn) {
    osq_tconn *c = r->conn;
    if (c->rlen - c->rpos < n) {
      int rc = fill(c, n);
      if (rc != OSQ_OK) {
        io_fail(r, rc);
        return NULL;
      }
    }
    return c->rbuf + c->rpos;
  }
  if (r->memlen - r->pos < n) {
    if (r->consumed == 0 && r->memlen == r->pos)
      osq_tr_fail(r, OSQ_ECLOSED, "end of input");
    else
      osq_tr_fail(r, OSQ_EPROTO, "message truncated: input ended after %zu bytes",
                  r->memlen);
    return NULL;
  }
  return r->mem + r->pos;
}

static inline void advance(osq_treader *r, size_t n) {
  if (r->conn)
    r->conn->rpos += n;
  else
    r->pos += n;
  r->consumed += n;
}

static inline const uint8_t *take(osq_treader *r, size_t n) {
  const uint8_t *p = peek(r, n);
  if (p)
    advance(r, n);
  return p;
}

static inline uint32_t get32(const uint8_t *p) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint32_t v; /* one load and a bswap, whatever the compiler sees */
  memcpy(&v, p, 4);
  return __builtin_bswap32(v);
#else
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
#endif
}

/* Largest run of bytes the reader can present contiguously. */
static size_t window(const osq_treader *r) {
  if (r->conn == NULL || r->conn->mem)
    return SIZE_MAX;
  if (r->conn->rcap)
    return r->conn->rcap;
  return r->conn->rbuf_size ? r->conn->rbuf_size : RBUF_SIZE;
}

int osq_tr_i8(osq_treader *r, int8_t *v) {
  const uint8_t *p = take(r, 1);
  if (p == NULL)
    return r->err;
  *v = (int8_t)p[0];
  return OSQ_OK;
}

int osq_tr_i16(osq_treader *r, int16_t *v) {
  const uint8_t *p = take(r, 2);
  if (p == NULL)
    return r->err;
  *v = (int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]);
  return OSQ_OK;
}

int osq_tr_i32(osq_treader *r, int32_t *v) {
  const uint8_t *p = take(r, 4);
  if (p == NULL)
    return r->err;
  *v = (int32_t)get32(p);
  return OSQ_OK;
}

int osq_tr_i64(osq_treader *r, int64_t *v) {
  const uint8_t *p = take(r, 8);
  if (p == NULL)
    return r->err;
  *v = (int64_t)((uint64_t)get32(p) << 32 | get32(p + 4));
  return OSQ_OK;
}

int osq_tr_double(osq_treader *r, double *v) {
  int64_t i;
  int rc = osq_tr_i64(r, &i);
  if (rc == OSQ_OK)
    memcpy(v, &i, sizeof *v);
  return rc;
}

/* Check a string length that follows `after` more bytes of the message. */
static int check_strlen(osq_treader *r, uint32_t n, size_t after) {
  size_t left = budget(r) > after ? budget(r) - after : 0;
  if (n > left)
    return osq_tr_fail(r, OSQ_ERANGE,
                       "string length %u exceeds remaining message budget %zu",
                       n, left);
  if (n > INT32_MAX)
    return osq_tr_fail(r, OSQ_EPROTO, "negative string length %d",
                       (int32_t)n);
  if (r->string_limit && n > r->string_limit)
    return osq_tr_fail(r, OSQ_ERANGE,
                       "string length %u exceeds thrift_string_size_limit %zu",
                       n, r->string_limit);
  return OSQ_OK;
}

static int grow(uint8_t **buf, size_t *cap, size_t need) {
  if (*cap >= need)
    return OSQ_OK;
  size_t c = *cap ? *cap : 256;
  while (c < need)
    c = c > SIZE_MAX / 2 ? need : c * 2;
  uint8_t *p = realloc(*buf, c);
  if (p == NULL)
    return OSQ_ENOMEM;
  *buf = p;
  *cap = c;
  return OSQ_OK;
}

/* A string longer than the read buffer: copied into scratch as its bytes
 * arrive, so memory grows with what the peer really sends. Budget and
 * length were checked by the caller. */
static int big_string(osq_treader *r, size_t n, const char **s) {
  osq_tconn *c = r->conn;
  size_t have = 0;
  while (have < n) {
    if (c->rlen == c->rpos) {
      int rc = fill(c, 1);
      if (rc != OSQ_OK)
        return io_fail(r, rc);
    }
    size_t chunk = c->rlen - c->rpos;
    if (chunk > n - have)
      chunk = n - have;
    size_t want = have + chunk;
    if (r->scratch_cap < want) {
      size_t target = r->scratch_cap * 2 > want ? r->scratch_cap * 2 : want;
      if (target > n)
        target = n;
      if (grow(&r->scratch, &r->scratch_cap, target) != OSQ_OK)
        return osq_tr_fail(r, OSQ_ENOMEM, "out of memory for a %zu-byte string", n);
    }
    memcpy(r->scratch + have, c->rbuf + c->rpos, chunk);
    c->rpos += chunk;
    r->consumed += chunk;
    have += chunk;
  }
  *s = (const char *)r->scratch;
  return OSQ_OK;
}

int osq_tr_string_view(osq_treader *r, const char **s, size_t *len) {
  const uint8_t *p = take(r, 4);
  if (p == NULL)
    return r->err;
  uint32_t n = get32(p);
  if (check_strlen(r, n, 0) != OSQ_OK)
    return r->err;
  *len = n;
  if (n == 0) {
    *s = "";
    return OSQ_OK;
  }
  if (n > window(r))
    return big_string(r, n, s);
  p = take(r, n);
  if (p == NULL)
    return r->err;
  *s = (const char *)p;
  return OSQ_OK;
}

int osq_tr_string_pair_view(osq_treader *r, const char **k, size_t *klen,
                            const char **v, size_t *vlen) {
  const uint8_t *p = peek(r, 4);
  if (p == NULL)
    return r->err;
  uint32_t n1 = get32(p);
  if (check_strlen(r, n1, 4) != OSQ_OK)
    return r->err;
  size_t win = window(r);
  if ((size_t)n1 + 8 <= win) {
    p = peek(r, (size_t)n1 + 8);
    if (p == NULL)
      return r->err;
    uint32_t n2 = get32(p + 4 + n1);
    if (check_strlen(r, n2, (size_t)n1 + 8) != OSQ_OK)
      return r->err;
    size_t total = (size_t)n1 + 8 + n2;
    if (total <= win) {
      p = take(r, total);
      if (p == NULL)
        return r->err;
      *k = (const char *)p + 4;
      *klen = n1;
      *v = (const char *)p + 8 + n1;
      *vlen = n2;
      return OSQ_OK;
    }
  }
  /* Too long for the buffer: keep a copy of the key aside. */
  const char *ks;
  size_t kl;
  if (osq_tr_string_view(r, &ks, &kl) != OSQ_OK)
    return r->err;
  if (grow(&r->scratch2, &r->scratch2_cap, kl + 1) != OSQ_OK)
    return osq_tr_fail(r, OSQ_ENOMEM, "out of memory for a %zu-byte string", kl);
  if (kl)
    memcpy(r->scratch2, ks, kl);
  if (osq_tr_string_view(r, v, vlen) != OSQ_OK)
    return r->err;
  *k = (const char *)r->scratch2;
  *klen = kl;
  return OSQ_OK;
}

static int handler_failed(osq_treader *r, int rc, const char *what,
                          int32_t row, int32_t entry) {
  if (row >= 0)
    return osq_tr_fail(r, rc, "%s %d: handler failed at entry %d", what, row,
                       entry);
  return osq_tr_fail(r, rc, "%s: handler failed at entry %d", what, entry);
}

/* row >= 0: the map is that element of a list (for error messages). */
static int strmap_each(osq_treader *r, int32_t count, const char *what,
                       int32_t row, int32_t first,
                       int (*fn)(void *u, const char *k, size_t klen,
                                 const char *v, size_t vlen),
                       void *u) {
  for (int32_t i = 0; i < count;) {
    if (r->err)
      return r->err;
    /* What is buffered and within budget, decoded in place. */
    const uint8_t *p, *end;
    if (r->conn) {
      p = r->conn->rbuf + r->conn->rpos;
      end = r->conn->rbuf + r->conn->rlen;
    } else {
      p = r->mem + r->pos;
      end = r->mem + r->memlen;
    }
    if ((size_t)(end - p) > budget(r))
      end = p + budget(r);
    const uint8_t *start = p;
    size_t slimit = r->string_limit ? r->string_limit : INT32_MAX;
    int rc = OSQ_OK;
    while (i < count && end - p >= 8) {
      uint32_t n1 = get32(p);
      if (n1 > slimit || (size_t)(end - p) - 8 < n1)
        break;
      uint32_t n2 = get32(p + 4 + n1);
      if (n2 > slimit || (size_t)(end - p) - 8 - n1 < n2)
        break;
      rc = fn(u, (const char *)p + 4, n1, (const char *)p + 8 + n1, n2);
      p += 8 + (size_t)n1 + n2;
      i++;
      if (rc != OSQ_OK)
        break;
    }
    advance(r, (size_t)(p - start));
    if (rc != OSQ_OK)
      return handler_failed(r, rc, what, row, first + i - 1);
    if (i == count)
      break;
    /* An entry that straddles the buffer's end (or is malformed): the
     * checked path refills and names the problem. */
    const char *k, *v;
    size_t kl, vl;
    if (osq_tr_string_pair_view(r, &k, &kl, &v, &vl) != OSQ_OK)
      return r->err;
    rc = fn(u, k, kl, v, vl);
    i++;
    if (rc != OSQ_OK)
      return handler_failed(r, rc, what, row, first + i - 1);
  }
  return r->err;
}

int osq_tr_strmap_each(osq_treader *r, int32_t count, const char *what,
                       int (*fn)(void *u, const char *k, size_t klen,
                                 const char *v, size_t vlen),
                       void *u) {
  return strmap_each(r, count, what, -1, 0, fn, u);
}

/* Columns whose key length the row loop remembers. */
#define KEY_LEN_SEEN 32

/* The reader's buffered bytes, straight from its buffer: the start, and in
 * *avail how many there are (not yet capped by the budget). */
static inline const uint8_t *buffered(const osq_treader *r, size_t *avail) {
  if (r->conn) {
    *avail = r->conn->rlen - r->conn->rpos;
    return r->conn->rbuf + r->conn->rpos;
  }
  *avail = r->memlen - r->pos;
  return r->mem + r->pos;
}

/* Row i's map<string,string> header into *cells: taken from the buffer at
 * p when all 6 bytes are there and plausible, else through the checked
 * osq_tr_map_begin. OSQ_OK, or the reader's error. */
static inline int row_map_begin(osq_treader *r, const uint8_t *p,
                                size_t avail, const char *what, int32_t i,
                                int32_t *cells) {
  if (avail >= 6 && budget(r) >= 6 && p[0] == OSQ_TT_STRING &&
      p[1] == OSQ_TT_STRING && (*cells = (int32_t)get32(p + 2)) >= 0 &&
      (uint64_t)*cells * 8 <= budget(r) - 6) {
    advance(r, 6);
    return OSQ_OK;
  }
  int kt, vt;
  if (osq_tr_map_begin(r, &kt, &vt, cells) != OSQ_OK)
    return r->err;
  if (*cells > 0 && (kt != OSQ_TT_STRING || vt != OSQ_TT_STRING))
    return osq_tr_fail(r, OSQ_EPROTO,
                       "%s %d: expected map<string,string>, got key type "
                       "%d and value type %d",
                       what, i, kt, vt);
  return OSQ_OK;
}

int osq_tr_strmap_list_each(osq_treader *r, int32_t count, const char *what,
                            int (*row_begin)(void *u),
                            int (*fn)(void *u, const char *k, size_t klen,
                                      const char *v, size_t vlen),
                            int (*row_end)(void *u), void *u) {
  uint32_t seen[KEY_LEN_SEEN] = {0}; /* key lengths of the row before */
  for (int32_t i = 0; i < count; i++) {
    if (r->err)
      return r->err;
    int32_t cells;
    /* the map header straight from the buffer when it is there */
    size_t avail;
    const uint8_t *p = buffered(r, &avail);
    if (row_map_begin(r, p, avail, what, i, &cells) != OSQ_OK)
      return r->err;
    int rc = row_begin ? row_begin(u) : OSQ_OK;
    if (rc != OSQ_OK)
      return osq_tr_fail(r, rc, "%s %d: handler failed", what, i);
    /* The row's entries that are buffered, here without a call per row;
     * strmap_each takes over at the buffer's end (it rechecks all). */
    int32_t j = 0;
    if (cells > 0) {
      p = buffered(r, &avail);
      if (avail > budget(r))
        avail = budget(r);
      const uint8_t *start = p, *end = p + avail;
      size_t slimit = r->string_limit ? r->string_limit : INT32_MAX;
      while (j < cells && end - p >= 8) {
        uint32_t n1 = get32(p);
        if (n1 > slimit || (size_t)(end - p) - 8 < n1)
          break;
        /* Where the value's length is depends on the key's length, so
         * every entry would wait on two loads in a row. Column names
         * repeat from row to row: with the length the key had in the row
         * before (checked equal, so the checks above hold for it), the
         * value's length is read without waiting for the key's. */
        uint32_t k = j < KEY_LEN_SEEN ? seen[j] : n1;
        /* k opaque and the load made before k is compared with n1: told
         * k == n1 first, the compiler addressed the load with n1 */
        __asm__("" : "+r"(k));
        if (__builtin_expect((size_t)(end - p) - 8 < k, 0))
          k = n1; /* the load stays within what is checked */
        const uint8_t *pv = p + 4 + k;
        uint32_t n2 = get32(pv);
        if (__builtin_expect(k != n1, 0)) {
          if (j < KEY_LEN_SEEN)
            seen[j] = n1;
          pv = p + 4 + n1;
          n2 = get32(pv);
        }
        if (n2 > slimit || (size_t)(end - p) - 8 - n1 < n2)
          break;
        rc = fn(u, (const char *)p + 4, n1, (const char *)pv + 4, n2);
        p = pv + 4 + n2;
        j++;
        if (rc != OSQ_OK)
          break;
      }
      advance(r, (size_t)(p - start));
      if (rc != OSQ_OK)
        return handler_failed(r, rc, what, i, j - 1);
    }
    if (j < cells && strmap_each(r, cells - j, what, i, j, fn, u) != OSQ_OK)
      return r->err;
    rc = row_end ? row_end(u) : OSQ_OK;
    if (rc != OSQ_OK)
      return osq_tr_fail(r, rc, "%s %d: handler failed", what, i);
  }
  return r->err;
}

static inline bool same_bytes(const uint8_t *a, const char *b, size_t n) {
  if (n >= 4 && n <= 8) {
    uint32_t a0, a1, b0, b1;
    memcpy(&a0, a, 4);
    memcpy(&a1, a + n - 4, 4);
    memcpy(&b0, b, 4);
    memcpy(&b1, b + n - 4, 4);
    return a0 == b0 && a1 == b1;
  }
  if (n >= 1 && n < 4) /* first, middle and last cover 1..3 bytes */
    return a[0] == (uint8_t)b[0] && a[n / 2] == (uint8_t)b[n / 2] &&
           a[n - 1] == (uint8_t)b[n - 1];
  if (n > 8 && n <= 16) {
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8);
    memcpy(&a1, a + n - 8, 8);
    memcpy(&b0, b, 8);
    memcpy(&b1, b + n - 8, 8);
    return a0 == b0 && a1 == b1;
  }
  return n == 0 || memcmp(a, b, n) == 0;
}

/* n bytes without a call for the short values rows mostly hold: 16-byte
 * blocks, the last ending exactly at n (it may overlap the one before). */
static inline void copy_bytes(char *d, const uint8_t *v, size_t n) {
  if (n >= 16 && n <= 64) {
    char t[16];
    for (size_t i = 0; i + 16 < n; i += 16) {
      memcpy(t, v + i, 16);
      memcpy(d + i, t, 16);
    }
    memcpy(t, v + n - 16, 16);
    memcpy(d + n - 16, t, 16);
  } else if (n >= 8 && n < 16) {
    uint64_t a, b;
    memcpy(&a, v, 8);
    memcpy(&b, v + n - 8, 8);
    memcpy(d, &a, 8);
    memcpy(d + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    memcpy(&a, v, 4);
    memcpy(&b, v + n - 4, 4);
    memcpy(d, &a, 4);
    memcpy(d + n - 4, &b, 4);
  } else if (n < 4) {
    for (size_t i = 0; i < n; i++)
      d[i] = (char)v[i];
  } else {
    memcpy(d, v, n);
  }
}

/* room() for vl more value bytes, one more end and one more row, checked */
static int cells_room(osq_tr_cells *t, size_t vl) {
  if (t->vcap - t->vlen < vl || t->nends == t->ecap || t->nrows == t->rcap) {
    int rc = t->room(t, vl);
    if (rc != OSQ_OK)
      return rc;
    if (t->vcap - t->vlen < vl || t->nends >= t->ecap ||
        t->nrows >= t->rcap || t->vlen > t->vcap)
      return OSQ_ENOMEM;
  }
  return t->vcap > UINT32_MAX ? OSQ_ERANGE : OSQ_OK;
}

int osq_tr_cells_row_end(void *u) {
  osq_tr_cells *t = u;
  size_t n = t->col;
  bool named = t->named;
  t->col = 0;
  t->named = false;
  int rc = cells_room(t, 0);
  if (rc != OSQ_OK)
    return rc;
  t->row_ends[t->nrows++] = (uint32_t)t->nends;
  if ((named || n != t->nnames) && t->row_end)
    return t->row_end(t, n);
  return OSQ_OK;
}

int osq_tr_cells_put(void *u, const char *k, size_t kl, const char *v,
                     size_t vl) {
  osq_tr_cells *t = u;
  size_t col = t->col;
  if (col >= t->nnames || t->name_len[col] != kl ||
      !same_bytes((const uint8_t *)k, t->names[col], kl)) {
    t->named = true;
    int rc = t->name(t, col, k, kl);
    if (rc != OSQ_OK)
      return rc;
  }
  int rc = cells_room(t, vl);
  if (rc != OSQ_OK)
    return rc;
  copy_bytes(t->vals + t->vlen, (const uint8_t *)v, vl);
  t->vlen += vl;
  t->ends[t->nends++] = (uint32_t)t->vlen;
  t->col = col + 1;
  return OSQ_OK;
}

/* Values copied in whole blocks of this many bytes while there is this
 * much input and room left beyond them. */
#define FAST_COPY 32

/* One row of nnames cells whose keys are t's expected names, decoded from
 * p (end: the last byte the budget and the buffer allow) into t's arrays
 * at *vlen / *nends. The next entry's place depends on the value's length
 * only: the key's length is taken from the name it must equal (k, made
 * opaque so that the compiler does not use the key's loaded length
 * instead) and checked after. Every value is copied as FAST_COPY bytes
 * (or exactly, when longer), so the room past vlen is written over.
 * Returns the row's end, or NULL where any check fails or fewer than
 * FAST_COPY + 8 + k bytes of input are left: nothing of the row is then
 * kept (the caller restores *vlen and *nends). */
/* t's arrays and names, held in locals: a value's bytes stored through
 * char * could otherwise alias them and force reloads per cell */
typedef struct fast_cells {
  char *vals;
  uint32_t *ends;
  const char *const *names;
  const uint32_t *name_len;
  size_t vcap, nnames, slimit;
} fast_cells;

static inline const uint8_t *fast_row(const uint8_t *p, const uint8_t *end,
                                      const fast_cells *f, size_t *vlenp,
                                      size_t *nendsp) {
  size_t vlen = *vlenp, nends = *nendsp;
  for (size_t j = 0; j < f->nnames; j++) {
    uint32_t k = f->name_len[j];
    __asm__("" : "+r"(k));
    size_t left = (size_t)(end - p);
    if (left < FAST_COPY + 8 + (size_t)k)
      return NULL;
    const uint8_t *v = p + 8 + k;
    uint32_t n2 = get32(v - 4);
    if (get32(p) != k || k > f->slimit || n2 > f->slimit ||
        n2 > left - 8 - k || f->vcap - vlen < (size_t)n2 + FAST_COPY ||
        !same_bytes(p + 4, f->names[j], k))
      return NULL;
    char *d = f->vals + vlen;
    if (n2 <= 16) {
      memcpy(d, v, 16); /* distinct buffers */
    } else if (n2 <= FAST_COPY) {
      memcpy(d, v, FAST_COPY); /* distinct buffers */
    } else {
      copy_bytes(d, v, n2);
    }
    vlen += n2;
    f->ends[nends++] = (uint32_t)vlen;
    p = v + n2;
  }
  *vlenp = vlen;
  *nendsp = nends;
  return p;
}

/* Whole rows shaped exactly as t expects (map header of strings, nnames
 * cells, every key its expected name), up to maxrows, from p; the read
 * position stays in a register across rows. Stops before the first row it
 * cannot take whole, which the careful path then decodes (and checks):
 * the output of a row given up is discarded. Returns the bytes used and
 * the rows taken in *rows. */
static size_t cells_fast_rows(const uint8_t *p, const uint8_t *end,
                              size_t maxrows, osq_tr_cells *t, size_t slimit,
                              size_t *rows) {
  *rows = 0;
  if (t->nnames == 0 || t->nnames > INT32_MAX)
    return 0;
  const fast_cells f = {t->vals,     t->ends,   t->names, t->name_len,
                        t->vcap,     t->nnames, slimit};
  const uint8_t *start = p;
  const uint32_t want = (uint32_t)t->nnames;
  size_t done = 0, vlen = t->vlen, nends = t->nends, nrows = t->nrows;
  size_t rcap = t->rcap, ecap = t->ecap;
  uint32_t *row_ends = t->row_ends;
  while (done < maxrows && end - p >= 6 && p[0] == OSQ_TT_STRING &&
         p[1] == OSQ_TT_STRING && get32(p + 2) == want && nrows < rcap &&
         ecap - nends >= want) {
    size_t vl = vlen, ne = nends;
    const uint8_t *q = fast_row(p + 6, end, &f, &vl, &ne);
    if (q == NULL)
      break; /* the row is the careful path's */
    vlen = vl, nends = ne;
    row_ends[nrows++] = (uint32_t)nends;
    p = q;
    done++;
  }
  t->vlen = vlen, t->nends = nends, t->nrows = nrows;
  *rows = done;
  return (size_t)(p - start);
}

int osq_tr_strmap_list_cells(osq_treader *r, int32_t count, const char *what,
                             osq_tr_cells *t) {
  if (t->vlen > t->vcap || t->nends > t->ecap || t->nrows > t->rcap ||
      t->vcap > UINT32_MAX)
    return osq_tr_fail(r, OSQ_EINVAL, "%s: bad cell arrays", what);
  size_t slimit = r->string_limit ? r->string_limit : INT32_MAX;
  for (int32_t i = 0; i < count; i++) {
    if (r->err)
      return r->err;
    int32_t cells;
    size_t avail;
    const uint8_t *p = buffered(r, &avail);
    {
      size_t rows, used = cells_fast_rows(p, p + (avail < budget(r) ? avail : budget(r)),
                                          (size_t)(count - i), t, slimit, &rows);
      if (rows > 0) {
        advance(r, used);
        i += (int32_t)rows;
        if (i == count)
          break;
        p += used;
        avail -= used;
      }
    }
    if (row_map_begin(r, p, avail, what, i, &cells) != OSQ_OK)
      return r->err;
    t->col = 0;
    t->named = false;
    int32_t j = 0;
    int rc = OSQ_OK;
    if (cells > 0) {
      p = buffered(r, &avail);
      if (avail > budget(r))
        avail = budget(r);
      const uint8_t *start = p, *end = p + avail;
      /* the arrays in registers; written back before any callback */
      char *vals = t->vals;
      size_t vlen = t->vlen, vcap = t->vcap, nends = t->nends, ecap = t->ecap;
      uint32_t *ends = t->ends;
      while (j < cells && end - p >= 8) {
        uint32_t n1 = get32(p);
        if (n1 > slimit || (size_t)(end - p) - 8 < n1)
          break;
        /* as in osq_tr_strmap_list_each: the expected key's length in the
         * address, so the value's length need not wait for the key's */
        uint32_t k = (size_t)j < t->nnames ? t->name_len[j] : n1;
        if (__builtin_expect(k == n1, 1))
          __asm__("" : "+r"(k));
        else
          k = n1;
        const uint8_t *pv = p + 4 + k;
        uint32_t n2 = get32(pv);
        if (n2 > slimit || (size_t)(end - p) - 8 - n1 < n2)
          break;
        if (__builtin_expect((size_t)j >= t->nnames || t->name_len[j] != n1 ||
                                 !same_bytes(p + 4, t->names[j], n1) ||
                                 vcap - vlen < n2 || nends == ecap,
                             0)) {
          t->vlen = vlen, t->nends = nends, t->col = (size_t)j;
          rc = osq_tr_cells_put(t, (const char *)p + 4, n1,
                                (const char *)pv + 4, n2);
          vals = t->vals, vlen = t->vlen, vcap = t->vcap;
          ends = t->ends, nends = t->nends, ecap = t->ecap;
          if (rc != OSQ_OK) {
            j++;
            break;
          }
        } else {
          copy_bytes(vals + vlen, pv + 4, n2);
          vlen += n2;
          ends[nends++] = (uint32_t)vlen;
        }
        p = pv + 4 + n2;
        j++;
      }
      t->vlen = vlen, t->nends = nends, t->col = (size_t)j;
      advance(r, (size_t)(p - start));
      if (rc != OSQ_OK)
        return handler_failed(r, rc, what, i, j - 1);
    }
    if (j < cells &&
        strmap_each(r, cells - j, what, i, j, osq_tr_cells_put, t) != OSQ_OK)
      return r->err;
    rc = osq_tr_cells_row_end(t);
    if (rc != OSQ_OK)
      return osq_tr_fail(r, rc, "%s %d: handler failed", what, i);
  }
  return r->err;
}

int osq_tr_string(osq_treader *r, char **s, size_t *len) {
  const char *v;
  size_t n;
  if (osq_tr_string_view(r, &v, &n) != OSQ_OK)
    return r->err;
  char *d = malloc(n + 1);
  if (d == NULL)
    return osq_tr_fail(r, OSQ_ENOMEM, "out of memory for a %zu-byte string", n);
  if (n)
    memcpy(d, v, n);
  d[n] = '\0';
  *s = d;
  if (len)
    *len = n;
  return OSQ_OK;
}

/* Fewest bytes a value of type t occupies on the wire. */
static size_t min_size(int t) {
  switch (t) {
  case OSQ_TT_BOOL:
  case OSQ_TT_BYTE:
  case OSQ_TT_STRUCT: return 1;
  case OSQ_TT_I16: return 2;
  case OSQ_TT_I32:
  case OSQ_TT_STRING: return 4;
  case OSQ_TT_DOUBLE:
  case OSQ_TT_I64: return 8;
  case OSQ_TT_MAP: return 6;
  case OSQ_TT_SET:
  case OSQ_TT_LIST: return 5;
  default: return 1;
  }
}

/* Bit t set: t is a value type of the binary protocol. */
#define VALUE_TYPES                                                          \
  (1u << OSQ_TT_BOOL | 1u << OSQ_TT_BYTE | 1u << OSQ_TT_DOUBLE |             \
   1u << OSQ_TT_I16 | 1u << OSQ_TT_I32 | 1u << OSQ_TT_I64 |                  \
   1u << OSQ_TT_STRING | 1u << OSQ_TT_STRUCT | 1u << OSQ_TT_MAP |            \
   1u << OSQ_TT_SET | 1u << OSQ_TT_LIST)

static inline int check_type(osq_treader *r, int t, const char *where) {
  if (t < 0 || t > 15 || !(VALUE_TYPES >> t & 1))
    return osq_tr_fail(r, OSQ_EPROTO, "invalid %s type %d", where, t);
  return OSQ_OK;
}

/* A container of count elements of elem bytes at least must fit in what
 * the message may still hold. */
static int check_count(osq_treader *r, const char *what, int32_t count,
                       size_t elem) {
  if (count < 0)
    return osq_tr_fail(r, OSQ_EPROTO, "negative %s count %d", what, count);
  unsigned long long need = (unsigned long long)count * elem;
  if (need > budget(r))
    return osq_tr_fail(r, OSQ_ERANGE,
                       "%s count %d needs at least %llu bytes, more than the "
                       "remaining message budget %zu",
                       what, count, need, budget(r));
  return OSQ_OK;
}

int osq_tr_map_begin(osq_treader *r, int *ktype, int *vtype, int32_t *count) {
  const uint8_t *p = take(r, 6);
  if (p == NULL)
    return r->err;
  *ktype = p[0];
  *vtype = p[1];
  *count = (int32_t)get32(p + 2);
  if (*count < 0)
    return check_count(r, "map", *count, 1);
  if (*count > 0 && (check_type(r, *ktype, "map key") != OSQ_OK ||
                     check_type(r, *vtype, "map value") != OSQ_OK))
    return r->err;
  return check_count(r, "map", *count, min_size(*ktype) + min_size(*vtype));
}

int osq_tr_list_begin(osq_treader *r, int *etype, int32_t *count) {
  const uint8_t *p = take(r, 5);
  if (p == NULL)
    return r->err;
  *etype = p[0];
  *count = (int32_t)get32(p + 1);
  if (*count < 0)
    return check_count(r, "list", *count, 1);
  if (*count > 0 && check_type(r, *etype, "list element") != OSQ_OK)
    return r->err;
  return check_count(r, "list", *count, min_size(*etype));
}

int osq_tr_field(osq_treader *r, int *type, int16_t *id) {
  const uint8_t *p = take(r, 1);
  if (p == NULL)
    return r->err;
  *type = p[0];
  *id = 0;
  if (*type == OSQ_TT_STOP)
    return OSQ_OK;
  if (*type > 15 || !(VALUE_TYPES >> *type & 1))
    return osq_tr_fail(r, OSQ_EPROTO, "invalid field type %d", *type);
  return osq_tr_i16(r, id);
}

int osq_tr_struct_enter(osq_treader *r) {
  if (r->err)
    return r->err;
  if (r->depth >= OSQ_THRIFT_MAX_DEPTH)
    return osq_tr_fail(r, OSQ_ERANGE, "nesting depth exceeds %d",
                       OSQ_THRIFT_MAX_DEPTH);
  r->depth++;
  return OSQ_OK;
}

void osq_tr_struct_leave(osq_treader *r) {
  if (r->depth > 0)
    r->depth--;
}

static int skip_bytes(osq_treader *r, size_t n) {
  if (n > budget(r))
    return over_budget(r, n);
  if (r->conn && !r->conn->mem) {
    osq_tconn *c = r->conn;
    while (n > 0) {
      if (c->rlen == c->rpos) {
        int rc = fill(c, 1);
        if (rc != OSQ_OK)
          return io_fail(r, rc);
      }
      size_t chunk = c->rlen - c->rpos;
      if (chunk > n)
        chunk = n;
      c->rpos += chunk;
      r->consumed += chunk;
      n -= chunk;
    }
    return OSQ_OK;
  }
  return take(r, n) ? OSQ_OK : r->err;
}

int osq_tr_skip(osq_treader *r, int type) {
  if (r->err)
    return r->err;
  switch (type) {
  case OSQ_TT_BOOL:
  case OSQ_TT_BYTE: return take(r, 1) ? OSQ_OK : r->err;
  case OSQ_TT_I16: return take(r, 2) ? OSQ_OK : r->err;
  case OSQ_TT_I32: return take(r, 4) ? OSQ_OK : r->err;
  case OSQ_TT_DOUBLE:
  case OSQ_TT_I64: return take(r, 8) ? OSQ_OK : r->err;
  case OSQ_TT_STRING: {
    const uint8_t *p = take(r, 4);
    if (p == NULL)
      return r->err;
    uint32_t n = get32(p);
    if (check_strlen(r, n, 0) != OSQ_OK)
      return r->err;
    return skip_bytes(r, n);
  }
  case OSQ_TT_STRUCT: {
    if (osq_tr_struct_enter(r) != OSQ_OK)
      return r->err;
    for (;;) {
      int ft;
      int16_t id;
      if (osq_tr_field(r, &ft, &id) != OSQ_OK)
        return r->err;
      if (ft == OSQ_TT_STOP)
        break;
      if (osq_tr_skip(r, ft) != OSQ_OK)
        return r->err;
    }
    osq_tr_struct_leave(r);
    return OSQ_OK;
  }
  case OSQ_TT_MAP: {
    int kt, vt;
    int32_t n;
    if (osq_tr_map_begin(r, &kt, &vt, &n) != OSQ_OK ||
        osq_tr_struct_enter(r) != OSQ_OK)
      return r->err;
    for (int32_t i = 0; i < n; i++)
      if (osq_tr_skip(r, kt) != OSQ_OK || osq_tr_skip(r, vt) != OSQ_OK)
        return r->err;
    osq_tr_struct_leave(r);
    return OSQ_OK;
  }
  case OSQ_TT_SET:
  case OSQ_TT_LIST: {
    int et;
    int32_t n;
    if (osq_tr_list_begin(r, &et, &n) != OSQ_OK ||
        osq_tr_struct_enter(r) != OSQ_OK)
      return r->err;
    for (int32_t i = 0; i < n; i++)
      if (osq_tr_skip(r, et) != OSQ_OK)
        return r->err;
    osq_tr_struct_leave(r);
    return OSQ_OK;
  }
  default:
    return osq_tr_fail(r, OSQ_EPROTO, "cannot skip a value of unknown type %d",
                       type);
  }
}

int osq_tr_message_begin(osq_treader *r, char name[OSQ_THRIFT_MAX_NAME],
                         int *type, int32_t *seqid) {
  r->consumed = 0;
  r->depth = 0;
  name[0] = '\0';
  int32_t word;
  if (osq_tr_i32(r, &word) != OSQ_OK)
    return r->err;
  uint32_t n;
  int t;
  if (word < 0) {
    if (((uint32_t)word & 0xffff0000u) != 0x80010000u)
      return osq_tr_fail(r, OSQ_EPROTO,
                         "bad protocol version 0x%08x (want 0x8001 in the top "
                         "16 bits)",
                         (uint32_t)word);
    t = (int)((uint32_t)word & 0xff);
    int32_t len;
    if (osq_tr_i32(r, &len) != OSQ_OK)
      return r->err;
    n = (uint32_t)len;
  } else {
    n = (uint32_t)word; /* the old header: name length first */
    t = -1;
  }
  if (n > OSQ_THRIFT_MAX_NAME - 1)
    return osq_tr_fail(r, OSQ_EPROTO,
                       "method name length %d exceeds %d bytes (not a Thrift "
                       "binary message?)",
                       (int32_t)n, OSQ_THRIFT_MAX_NAME - 1);
  const uint8_t *p = take(r, n);
  if (p == NULL)
    return r->err;
  memcpy(name, p, n);
  name[n] = '\0';
  if (t < 0) {
    int8_t b = 0;
    if (osq_tr_i8(r, &b) != OSQ_OK)
      return r->err;
    t = b;
  }
  if (osq_tr_i32(r, seqid) != OSQ_OK)
    return r->err;
  if (t < OSQ_TM_CALL || t > OSQ_TM_ONEWAY)
    return osq_tr_fail(r, OSQ_EPROTO, "invalid message type %d", t);
  *type = t;
  return OSQ_OK;
}

void osq_tconn_set_error(osq_tconn *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, sizeof c->err, fmt, ap);
  va_end(ap);
}
