/* Growing a heap array by doubling: the one place that computes the new
 * capacity and checks it against a bound. Any thread (the caller owns the
 * array). */
#ifndef OSQ_GROW_H
#define OSQ_GROW_H

#include <osq/plugin.h> /* OSQ_OK, OSQ_E* */
#include <stddef.h>

/* Make the array at *arrp (a T **: capacity *cap elements of elem bytes)
 * hold at least need elements. The capacity doubles from *cap, or from
 * first when it is 0, and is clamped to max (0: only SIZE_MAX bounds it).
 * OSQ_OK (the array may have moved; *cap updated); OSQ_ERANGE when need >
 * max; OSQ_ENOMEM. On failure the array and *cap are unchanged and still
 * the caller's. */
int osq_grow_to(void *arrp, size_t *cap, size_t need, size_t elem,
                size_t first, size_t max);

/* Inline, so a caller that appends per cell pays a comparison, not a call,
 * while its buffer has room. */
static inline int osq_grow(void *arrp, size_t *cap, size_t need, size_t elem,
                           size_t first, size_t max) {
  return need <= *cap ? OSQ_OK
                      : osq_grow_to(arrp, cap, need, elem, first, max);
}

#endif
