/* process_file_events (--audit_allow_fim_events): the audit publisher's
 * file syscalls turned into osquery's rows. The publisher hands over each
 * file syscall event record by record (SYSCALL first, then CWD, PATH,
 * MMAP, then end-of-event); this module keeps what it learnt about each
 * process's open descriptors so that a write through a descriptor names
 * the file it was opened on.
 *
 * Threads: osq_fim_configure from the configuring thread; everything else
 * from the audit publisher's thread only. */
#ifndef OSQ_EVENTS_AUDIT_FIM_H
#define OSQ_EVENTS_AUDIT_FIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/parse.h"

typedef struct osq_fim_call osq_fim_call;

/* Does osq know the file syscalls of this architecture (x86_64 only)? */
bool osq_fim_available(void);
/* Is nr one of the file syscalls osquery audits for this table? False on
 * architectures other than x86_64. */
bool osq_fim_syscall(int nr);
/* Set the bits of those syscalls in an audit rule's syscall mask. */
void osq_fim_rule_mask(uint32_t *mask, size_t words);

/* Take the config's file_paths patterns (every category). */
void osq_fim_configure(const json_t *cfg);

/* A SYSCALL record (its fields, indexed once by the publisher) of syscall
 * nr; NULL when the event shows nothing (a failed call). */
osq_fim_call *osq_fim_begin(int nr, const osq_audit_fields *r);
/* A CWD, PATH or MMAP record of that event. */
void osq_fim_record(osq_fim_call *c, uint16_t type,
                    const osq_audit_fields *r);
/* The end of the event: update the descriptor state, store the row if
 * it shows one, free c. */
void osq_fim_finish(osq_fim_call *c, int64_t sec);
/* An event whose end never came. */
void osq_fim_drop(osq_fim_call *c);
/* Forget every process's descriptors (the publisher stopped). */
void osq_fim_reset(void);

#endif
