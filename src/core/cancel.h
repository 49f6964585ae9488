/* Cooperative cancellation of long work done for one request.
 *
 * Whoever runs a request on a thread (the extension manager serving
 * query(), the SQL bridge calling a table's generate()) enters a scope with
 * a probe that says whether the request's result is still wanted: the
 * client is still connected, the statement was not interrupted. Long loops
 * below them (a file-search walk) ask osq_cancelled() now and then and
 * stop early. Scopes nest per thread; every probe of every enclosing scope
 * is asked. Any thread may use it; the state is thread-local. */
#ifndef OSQ_CORE_CANCEL_H
#define OSQ_CORE_CANCEL_H

#include <stdbool.h>

typedef bool (*osq_cancel_probe)(void *arg);

typedef struct osq_cancel_scope {
  osq_cancel_probe probe;
  void *arg;
  struct osq_cancel_scope *outer;
} osq_cancel_scope;

/* Push scope (storage owned by the caller, usually on its stack) with
 * probe(arg). Leave scopes in the reverse order. */
void osq_cancel_enter(osq_cancel_scope *scope, osq_cancel_probe probe,
                      void *arg);
void osq_cancel_leave(osq_cancel_scope *scope);
/* True if some probe of this thread's scopes says the work is no longer
 * wanted. Costs one call per scope (a poll(2) or a SQLite step). */
bool osq_cancelled(void);

/* A probe for a connected socket: true once the peer has closed it or it
 * failed (arg is the descriptor as (void *)(intptr_t)fd). */
bool osq_cancel_peer_gone(void *fd);

#endif
