#include "grow.h"

#include <osq/plugin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int osq_grow_to(void *arrp, size_t *cap, size_t need, size_t elem,
                size_t first, size_t max) {
  if (need <= *cap)
    return OSQ_OK;
  size_t bound = SIZE_MAX / (elem ? elem : 1);
  if (max == 0 || max > bound)
    max = bound;
  if (need > max)
    return OSQ_ERANGE;
  size_t n = *cap ? *cap : (first ? first : 1);
  while (n < need)
    n = n > max / 2 ? max : n * 2;
  if (n > max)
    n = max;
  /* arrp points at a T *; every object pointer has void *'s layout here. */
  void *arr;
  memcpy(&arr, arrp, sizeof arr);
  void *p = realloc(arr, n * elem);
  if (p == NULL)
    return OSQ_ENOMEM;
  memcpy(arrp, &p, sizeof p);
  *cap = n;
  return OSQ_OK;
}
