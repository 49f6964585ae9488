/* Result and snapshot lines on their way to the loggers. A logger that
 * does not take a line (a full disk, an extension that is gone) gets that
 * line and every later one queued in the results store, in arrival order;
 * the queue is offered to it again before each scheduler step until it
 * takes it. A logger's lines are thus neither lost nor reordered, and one
 * failing logger does not hold back the others.
 *
 * Scheduler thread only (it shares the store's connection). */
#ifndef OSQ_DAEMON_OUTBOX_H
#define OSQ_DAEMON_OUTBOX_H

#include "daemon/store.h"

#include <osq/plugin.h>

#include <stddef.h>

/* Lines kept waiting at most, over all loggers: past it a line is not
 * queued and the caller keeps its previous results, so the next run logs
 * the change again. */
#define OSQ_OUTBOX_MAX_WAITING 100000

/* Deliver line to every active logger. 0 when each took it or has it
 * queued; -1 when it could not be queued for some logger (the store failed
 * or the queue is full). */
int osq_outbox_send(osq_store *s, osq_log_kind kind, const char *line,
                    size_t len);

/* Offer the waiting lines again, oldest first. 0, or -1 if the store
 * failed. */
int osq_outbox_retry(osq_store *s);

#endif
