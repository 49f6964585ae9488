/* core/lazylib: a library and its symbols resolved once, on first use,
 * from any number of threads; a missing library or symbol fails with a
 * message naming it, and stays failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "core/lazylib.h"

static __typeof__(cos) *lz_cos;
static __typeof__(sqrt) *lz_sqrt;
static const osq_lazysym m_syms[] = {OSQ_LAZYSYM(cos), OSQ_LAZYSYM(sqrt)};
static osq_lazylib libm_ok = OSQ_LAZYLIB("libm.so.6", m_syms);

static void (*lz_osq_no_such_symbol)(void);
static const osq_lazysym bad_syms[] = {OSQ_LAZYSYM(cos),
                                       OSQ_LAZYSYM(osq_no_such_symbol)};
static osq_lazylib libm_bad = OSQ_LAZYLIB("libm.so.6", bad_syms);

static const osq_lazysym none_syms[] = {OSQ_LAZYSYM(cos)};
static osq_lazylib absent = OSQ_LAZYLIB("libosq-no-such-library.so.1",
                                        none_syms);

static void *load_in_thread(void *arg) {
  (void)arg;
  return osq_lazylib_load(&libm_ok) ? (void *)1 : NULL;
}

static void test_loads_once_from_threads(void **state) {
  (void)state;
  pthread_t t[8];
  for (int i = 0; i < 8; i++)
    assert_int_equal(pthread_create(&t[i], NULL, load_in_thread, NULL), 0);
  for (int i = 0; i < 8; i++) {
    void *ok = NULL;
    pthread_join(t[i], &ok);
    assert_non_null(ok);
  }
  assert_true(osq_lazylib_load(&libm_ok));
  assert_string_equal(osq_lazylib_error(&libm_ok), "");
  assert_true(lz_cos(0.0) == 1.0);
  assert_true(lz_sqrt(16.0) == 4.0);
}

static void test_missing_symbol(void **state) {
  (void)state;
  assert_false(osq_lazylib_load(&libm_bad));
  assert_non_null(strstr(osq_lazylib_error(&libm_bad), "osq_no_such_symbol"));
  assert_false(osq_lazylib_load(&libm_bad)); /* stays failed */
}

static void test_missing_library(void **state) {
  (void)state;
  assert_false(osq_lazylib_load(&absent));
  assert_non_null(
      strstr(osq_lazylib_error(&absent), "libosq-no-such-library.so.1"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loads_once_from_threads),
      cmocka_unit_test(test_missing_symbol),
      cmocka_unit_test(test_missing_library),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
