/* The versioned SDK ABI: an extension compiled against API 1's headers
 * (tests/fixtures/abi_v1) works with the current library, which reads only
 * the fields API 1 has; a newer API than the library's is refused with a
 * clear message; and the one error convention (status code + osq_error)
 * reaches the reply. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fixtures/abi_v1/v1_extension.h"
#include "sdk/sdk.h"
#include "reply_render.h"

static char *call_table(const osq_table_plugin *t, const char *action,
                        const char *k2, const char *v2) {
  osq_strmap req;
  osq_strmap_init(&req);
  osq_strmap_set(&req, "action", action, strlen(action));
  if (k2)
    osq_strmap_set(&req, k2, v2, strlen(v2));
  osq_api_reply r;
  osq_api_reply_init(&r);
  assert_int_equal(osq_dispatch_table(t, &req, &r, 0), OSQ_OK);
  char *out = render(&r);
  osq_api_reply_free(&r);
  osq_strmap_clear(&req);
  return out;
}

static void test_v1_extension_is_served(void **state) {
  (void)state;
  const void *v1_table = NULL;
  int rc = OSQ_ERROR;
  osq_extension *ext = abi_v1_extension(&v1_table, &rc);
  assert_non_null(ext);
  assert_int_equal(rc, OSQ_OK);
  /* API 1's struct is smaller: the library works on a current-layout
   * copy whose API 2 field is NULL, not the bytes after the struct. */
  assert_true(abi_v1_table_size() < sizeof(osq_table_plugin));
  const osq_table_plugin *t = osq_sdk_find(ext, OSQ_REGISTRY_TABLE,
                                           "abi_v1_table");
  assert_non_null(t);
  assert_ptr_not_equal(t, v1_table);
  assert_null(t->description);
  assert_string_equal(t->name, "abi_v1_table");
  assert_int_equal(t->ncolumns, 2);

  char *got = call_table(t, "generate", NULL, NULL);
  assert_string_equal(got, "0|OK|0\nn=1,name=from api 1\nn=2,name=from api 1");
  free(got);
  got = call_table(t, "columns", NULL, NULL);
  assert_string_equal(got, "0|OK|0\n"
                           "id=column,name=name,type=TEXT,op=0\n"
                           "id=column,name=n,type=BIGINT,op=1\n"
                           "id=attributes,attributes=0");
  free(got);
  /* API 1's way to say why a write failed still reaches the reply */
  got = call_table(t, "delete", "id", "1");
  assert_string_equal(got, "0|OK|0\n"
                           "status=failure,"
                           "message=v1 tables say why in w->message");
  free(got);
  assert_non_null(osq_sdk_find(ext, OSQ_REGISTRY_CONFIG, "abi_v1_config"));
  osq_extension_free(ext);
}

static int gen_none(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx, (void)out, (void)udata;
  return OSQ_OK;
}

static const osq_column one_col[] = {{"c", OSQ_TYPE_TEXT, 0}};

static void test_newer_api_is_refused_with_a_reason(void **state) {
  (void)state;
  osq_extension *ext = osq_extension_new("abi_new", "1.0.0");
  assert_non_null(ext);
  osq_table_plugin t = {.name = "t_new", .columns = one_col, .ncolumns = 1,
                        .generate = gen_none, .description = "a table"};
  assert_int_equal(osq_extension_add_table_v(ext, &t, sizeof t,
                                             OSQ_API_VERSION + 1),
                   OSQ_EVERSION);
  char want[64];
  snprintf(want, sizeof want, "built for osq API %d", OSQ_API_VERSION + 1);
  assert_non_null(strstr(osq_last_error(), want));
  /* the current version with a size that is no layout of it */
  assert_int_equal(osq_extension_add_table_v(ext, &t, sizeof t - 8,
                                             OSQ_API_VERSION),
                   OSQ_EVERSION);
  assert_non_null(strstr(osq_last_error(), "bytes does not match"));
  assert_string_equal(osq_strerror(OSQ_EVERSION), "unsupported API version");
  /* through the macro: the current layout, used as given */
  assert_int_equal(osq_extension_add_table(ext, &t), OSQ_OK);
  const osq_table_plugin *got = osq_sdk_find(ext, OSQ_REGISTRY_TABLE, "t_new");
  assert_ptr_equal(got, &t);
  assert_string_equal(got->description, "a table");
  /* a failure names its rule */
  assert_int_equal(osq_extension_add_table(ext, &t), OSQ_EEXIST);
  assert_string_equal(osq_last_error(), "table plugin t_new: added twice");
  assert_int_equal(osq_api_version(), OSQ_API_VERSION);
  /* a later failure's reason replaces an earlier one's */
  assert_int_equal(osq_extension_query(ext, "select 1", NULL, NULL, NULL, 0),
                   OSQ_EINVAL);
  assert_string_equal(osq_last_error(), "the extension is not running");
  osq_extension_free(ext);
}

static int gen_fails(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx, (void)out, (void)udata;
  osq_error("disk %d is gone", 3);
  osq_error("a second message does not replace the first");
  return OSQ_EIO;
}

static int write_fails(osq_write *w, void *udata) {
  (void)w, (void)udata;
  osq_error("row %d is locked", 7);
  return OSQ_ERROR;
}

static int gen_recovers(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx, (void)udata;
  osq_error("tried the cache first; it was cold");
  return osq_rows_cstr(out, 0, "x") == OSQ_OK ? osq_rows_end(out) : OSQ_ERROR;
}

static void test_osq_error_reaches_the_reply(void **state) {
  (void)state;
  osq_table_plugin t = {.name = "t_err", .columns = one_col, .ncolumns = 1,
                        .generate = gen_fails, .write = write_fails};
  char *got = call_table(&t, "generate", NULL, NULL);
  assert_string_equal(got, "1|disk 3 is gone|0");
  free(got);
  got = call_table(&t, "delete", "id", "1");
  assert_string_equal(got, "0|OK|0\nstatus=failure,message=row 7 is locked");
  free(got);
  /* a message from a call that then succeeded is not an error */
  t.generate = gen_recovers;
  got = call_table(&t, "generate", NULL, NULL);
  assert_string_equal(got, "0|OK|0\nc=x");
  free(got);
  /* nor does an earlier call's message leak into a later failure */
  osq_error("left over");
  t.generate = gen_none;
  t.write = NULL;
  got = call_table(&t, "generate", NULL, NULL);
  assert_string_equal(got, "0|OK|0");
  free(got);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_v1_extension_is_served),
      cmocka_unit_test(test_newer_api_is_refused_with_a_reason),
      cmocka_unit_test(test_osq_error_reaches_the_reply),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
