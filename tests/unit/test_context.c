#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_impl.h"

static const osq_column cols[] = {
    {"pid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX},
    {"name", OSQ_TYPE_TEXT, 0},
    {"cmdline", OSQ_TYPE_TEXT, 0},
};

static void test_to_json(void **state) {
  (void)state;
  osq_context *ctx = osq_context_new(cols, 3);
  assert_int_equal(osq_context_add(ctx, 0, OSQ_OP_EQ, "1", 1), OSQ_OK);
  assert_int_equal(osq_context_add(ctx, 0, OSQ_OP_EQ, "2", 1), OSQ_OK);
  assert_int_equal(osq_context_add(ctx, 1, OSQ_OP_LIKE, "ba%", 3), OSQ_OK);
  osq_context_set_used(ctx, 0, true);
  osq_context_set_used(ctx, 1, true);
  char *json = osq_context_to_json(ctx);
  assert_string_equal(json,
      "{\"constraints\":["
      "{\"name\":\"cmdline\",\"list\":[],\"affinity\":\"TEXT\"},"
      "{\"name\":\"name\",\"list\":[{\"op\":65,\"expr\":\"ba%\"}],\"affinity\":\"TEXT\"},"
      "{\"name\":\"pid\",\"list\":[{\"op\":2,\"expr\":\"1\"},{\"op\":2,\"expr\":\"2\"}],\"affinity\":\"BIGINT\"}],"
      "\"colsUsed\":[\"pid\",\"name\"],\"colsUsedBitset\":3}");
  char err[256];
  osq_context *back = osq_context_from_json(json, strlen(json), cols, 3, err, sizeof err);
  assert_non_null(back);
  assert_int_equal(osq_context_nconstraints(back, 0), 2);
  assert_string_equal(osq_context_constraint(back, 1, 0)->expr, "ba%");
  assert_true(osq_context_column_used(back, 1));
  assert_false(osq_context_column_used(back, 2));
  assert_int_equal(osq_context_cols_used_bitset(back), 3);
  free(json);
  osq_context_free(back);
  osq_context_free(ctx);
}

static void test_old_core_forms(void **state) {
  (void)state;
  const char *json = "{\"constraints\":[{\"name\":\"pid\",\"list\":[{\"op\":\"2\",\"expr\":\"7\"}],\"affinity\":\"BIGINT\"},"
                     "{\"name\":\"name\",\"list\":\"\",\"affinity\":\"TEXT\"},{\"name\":\"nope\",\"list\":[]}]}";
  char err[256];
  osq_context *ctx = osq_context_from_json(json, strlen(json), cols, 3, err, sizeof err);
  assert_non_null(ctx);
  assert_int_equal(osq_context_constraint(ctx, 0, 0)->op, OSQ_OP_EQ);
  assert_int_equal(osq_context_nconstraints(ctx, 1), 0);
  assert_true(osq_context_column_used(ctx, 2)); /* no colsUsed: all used */
  osq_context_free(ctx);
}

static void test_bad_json(void **state) {
  (void)state;
  char err[256];
  assert_null(osq_context_from_json("{\"constraints\":", 15, cols, 3, err, sizeof err));
  assert_non_null(strstr(err, "context JSON:"));
  assert_null(osq_context_from_json("[]", 2, cols, 3, err, sizeof err));
  assert_string_equal(err, "context JSON: not an object");
  const char *bad = "{\"constraints\":[{\"name\":\"pid\",\"list\":[{\"op\":{},\"expr\":\"1\"}]}]}";
  assert_null(osq_context_from_json(bad, strlen(bad), cols, 3, err, sizeof err));
  assert_non_null(strstr(err, "column pid"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_to_json),
      cmocka_unit_test(test_old_core_forms),
      cmocka_unit_test(test_bad_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
