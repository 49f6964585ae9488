/* The SQL pool runs generate() from several threads at once (the
 * extension manager's query(), the scheduler): every built-in table must
 * tolerate that. docs/writing-tables.md shows how to run it under TSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/flags.h"
#include "tables/builtin.h"
#include "tables/linux/hash.h"
#include "test_tables_sink.h"

#define THREADS 6
#define ROUNDS 4

static void *worker(void *arg) {
  long id = (long)arg;
  const osq_table_plugin *all[] = {
      &osq_table_processes,  &osq_table_osquery_info, &osq_table_users,
      &osq_table_groups,     &osq_table_time,         &osq_table_system_info,
      &osq_table_os_version, &osq_table_uptime,       &osq_table_osquery_flags,
      &osq_table_mounts,     &osq_table_listening_ports,
      &osq_table_user_groups, &osq_table_routes,      &osq_table_deb_packages,
      &osq_table_load_average, &osq_table_ulimit_info, &osq_table_etc_services,
      &osq_table_interface_ipv6, &osq_table_process_namespaces,
      &osq_table_process_open_pipes, &osq_table_shared_memory,
      &osq_table_shadow, &osq_table_kernel_keys, &osq_table_user_ssh_keys,
      &osq_table_ssh_configs, &osq_table_startup_items,
      &osq_table_apt_sources};
  size_t failures = 0;
  for (int r = 0; r < ROUNDS; r++) {
    for (size_t t = 0; t < sizeof all / sizeof *all; t++) {
      tresult *res = trun_all(all[(t + (size_t)id) % (sizeof all / sizeof *all)]);
      failures += res->rc != OSQ_OK;
      tfree(res);
    }
    /* the hash LRU is shared: hash the same files from every thread */
    osq_context *ctx = osq_context_new(osq_table_hash.columns,
                                       osq_table_hash.ncolumns);
    osq_context_add(ctx, 1, OSQ_OP_EQ, "/etc", 4);
    tresult *res = trun(&osq_table_hash, ctx);
    failures += res->rc != OSQ_OK || res->n == 0;
    tfree(res);
    osq_context_free(ctx);
  }
  return (void *)failures;
}

static void test_concurrent_generate(void **state) {
  (void)state;
  char err[128];
  assert_int_equal(OSQ_FLAG_SET(hash_cache_max, "7", err, sizeof err), 0);
  pthread_t th[THREADS];
  for (long i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&th[i], NULL, worker, (void *)i), 0);
  size_t failures = 0;
  for (int i = 0; i < THREADS; i++) {
    void *rv;
    pthread_join(th[i], &rv);
    failures += (size_t)rv;
  }
  assert_int_equal(failures, 0);
  unsigned long hits, misses;
  size_t entries;
  osq_hash_cache_stats(&hits, &misses, &entries);
  assert_true(entries <= 7);
  assert_true(hits + misses > 0);
}

static int setup(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  osq_hash_cache_clear();
  osq_flags_shutdown();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_concurrent_generate),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
