#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"

static int destroyed;
static void count_destroy(void *u) {
  (void)u;
  destroyed++;
}

static osq_table_plugin table(const char *name) {
  return (osq_table_plugin){.name = name, .destroy = count_destroy};
}

static void test_add_get_remove(void **state) {
  (void)state;
  osq_registry_reset();
  destroyed = 0;
  osq_table_plugin a = table("alpha"), b = table("beta");
  char err[256];
  assert_int_equal(osq_registry_add(OSQ_REGISTRY_TABLE, &b, 0, false, err, sizeof err), OSQ_OK);
  assert_int_equal(osq_registry_add(OSQ_REGISTRY_TABLE, &a, 7, false, err, sizeof err), OSQ_OK);
  const osq_plugin **list;
  size_t n = osq_registry_list(OSQ_REGISTRY_TABLE, &list);
  assert_int_equal(n, 2);
  assert_string_equal(list[0]->name, "alpha"); /* name order */
  assert_int_equal(list[0]->owner, 7);
  osq_registry_list_free(list, n);

  const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_TABLE, "alpha");
  assert_non_null(p);
  assert_int_equal(osq_registry_remove(OSQ_REGISTRY_TABLE, "alpha"), OSQ_OK);
  assert_int_equal(destroyed, 0); /* still referenced */
  assert_false(osq_registry_exists(OSQ_REGISTRY_TABLE, "alpha"));
  osq_plugin_release(p);
  assert_int_equal(destroyed, 1);
  assert_int_equal(osq_registry_remove(OSQ_REGISTRY_TABLE, "alpha"), OSQ_ENOTFOUND);
  osq_registry_reset();
  assert_int_equal(destroyed, 2);
}

static void test_batch_is_atomic(void **state) {
  (void)state;
  osq_registry_reset();
  osq_table_plugin core = table("processes");
  char err[256];
  assert_int_equal(osq_registry_add(OSQ_REGISTRY_TABLE, &core, 0, false, err, sizeof err), OSQ_OK);
  osq_table_plugin t1 = table("ext_one"), t2 = table("processes");
  osq_logger_plugin lg = {.name = "ext_logger"};
  osq_plugin_spec specs[] = {
      {OSQ_REGISTRY_TABLE, &t1, 42, false},
      {OSQ_REGISTRY_LOGGER, &lg, 42, false},
      {OSQ_REGISTRY_TABLE, &t2, 42, false},
  };
  uint64_t gen = osq_registry_generation();
  assert_int_equal(osq_registry_add_all(specs, 3, err, sizeof err), OSQ_EEXIST);
  assert_string_equal(err, "Registry item processes conflicts with another item of the same name.");
  assert_false(osq_registry_exists(OSQ_REGISTRY_TABLE, "ext_one"));
  assert_false(osq_registry_exists(OSQ_REGISTRY_LOGGER, "ext_logger"));
  assert_int_equal(osq_registry_generation(), gen);

  /* duplicates inside one batch are refused too */
  osq_table_plugin d1 = table("dup"), d2 = table("dup");
  osq_plugin_spec dup[] = {{OSQ_REGISTRY_TABLE, &d1, 9, false},
                           {OSQ_REGISTRY_TABLE, &d2, 9, false}};
  assert_int_equal(osq_registry_add_all(dup, 2, err, sizeof err), OSQ_EEXIST);

  specs[2].plugin = &(osq_table_plugin){.name = "ext_two"};
  assert_int_equal(osq_registry_add_all(specs, 3, err, sizeof err), OSQ_OK);
  assert_int_equal(osq_registry_remove_owner(42), 3);
  assert_true(osq_registry_exists(OSQ_REGISTRY_TABLE, "processes"));
  osq_registry_reset();
}

static void test_active(void **state) {
  (void)state;
  osq_registry_reset();
  assert_true(osq_registry_is_active(OSQ_REGISTRY_LOGGER, "anything"));
  osq_registry_set_active(OSQ_REGISTRY_LOGGER, "filesystem,ext_log");
  assert_true(osq_registry_is_active(OSQ_REGISTRY_LOGGER, "ext_log"));
  assert_true(osq_registry_is_active(OSQ_REGISTRY_LOGGER, "filesystem"));
  assert_false(osq_registry_is_active(OSQ_REGISTRY_LOGGER, "file"));
  assert_int_equal(osq_registry_from_name("table"), OSQ_REGISTRY_TABLE);
  assert_int_equal(osq_registry_from_name("sql"), -1);
  assert_true(osq_registry_is_foreign("sql"));
  osq_registry_reset();
}

/* Readers and writers at once: every get either misses or returns a live
 * plugin with the right name. */
static void *churn(void *arg) {
  (void)arg;
  char err[256];
  for (int i = 0; i < 2000; i++) {
    osq_table_plugin *t = malloc(sizeof *t);
    *t = (osq_table_plugin){.name = "churn", .udata = t, .destroy = free};
    if (osq_registry_add(OSQ_REGISTRY_TABLE, t, 5, false, err, sizeof err) != OSQ_OK)
      free(t);
    osq_registry_remove(OSQ_REGISTRY_TABLE, "churn");
  }
  return NULL;
}

static void test_concurrent(void **state) {
  (void)state;
  osq_registry_reset();
  pthread_t th;
  pthread_create(&th, NULL, churn, NULL);
  for (int i = 0; i < 20000; i++) {
    const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_TABLE, "churn");
    if (p) {
      assert_string_equal(p->u.table->name, "churn");
      osq_plugin_release(p);
    }
  }
  pthread_join(th, NULL);
  osq_registry_reset();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_get_remove),
      cmocka_unit_test(test_batch_is_atomic),
      cmocka_unit_test(test_active),
      cmocka_unit_test(test_concurrent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
