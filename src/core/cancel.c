#include "core/cancel.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

static _Thread_local osq_cancel_scope *innermost;

void osq_cancel_enter(osq_cancel_scope *scope, osq_cancel_probe probe,
                      void *arg) {
  scope->probe = probe;
  scope->arg = arg;
  scope->outer = innermost;
  innermost = scope;
}

void osq_cancel_leave(osq_cancel_scope *scope) {
  if (innermost == scope)
    innermost = scope->outer;
}

bool osq_cancelled(void) {
  for (osq_cancel_scope *s = innermost; s; s = s->outer)
    if (s->probe && s->probe(s->arg))
      return true;
  return false;
}

bool osq_cancel_peer_gone(void *arg) {
  int fd = (int)(intptr_t)arg;
  if (fd < 0)
    return false;
  /* POLLRDHUP: the peer shut down its side; a synchronous Thrift client
   * that still wants the reply never does that while it waits. */
  struct pollfd p = {.fd = fd, .events = POLLRDHUP};
  int n;
  do
    n = poll(&p, 1, 0);
  while (n < 0 && errno == EINTR);
  return n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}
