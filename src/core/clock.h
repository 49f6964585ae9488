/* The monotonic clock every deadline in osq is measured on. Any thread. */
#ifndef OSQ_CLOCK_H
#define OSQ_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and intervals, never for
 * wall-clock times. */
int64_t osq_now_ms(void);

#endif
