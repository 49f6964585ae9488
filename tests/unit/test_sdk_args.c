/* libosqext: the flags an extension is started with, and the handle's
 * checks on plugins. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "sdk/sdk.h"

static int parse(osq_sdk_args *a, char *err, size_t errlen, ...) {
  char *argv[32] = {"ext"};
  int argc = 1;
  va_list ap;
  va_start(ap, errlen);
  for (char *s; (s = va_arg(ap, char *)) != NULL && argc < 31;)
    argv[argc++] = s;
  va_end(ap);
  err[0] = '\0';
  return osq_sdk_args_parse(a, argc, argv, "/var/osq/osq.em", err, errlen);
}

static void test_forms(void **state) {
  (void)state;
  osq_sdk_args a;
  char err[256];
  /* osquery's own launch line, with both spellings and foreign flags */
  assert_int_equal(parse(&a, err, sizeof err, "--verbose", "--socket",
                         "/tmp/x.em", "--timeout=7", "-interval", "0.5",
                         "--logger_file", "/tmp/l", "--other=1", "-z",
                         "positional", NULL),
                   OSQ_OK);
  assert_string_equal(a.socket, "/tmp/x.em");
  assert_true(a.timeout == 7.0);
  assert_true(a.interval == 0.5);
  assert_true(a.verbose);
  assert_false(a.help);
  osq_sdk_args_free(&a);

  assert_int_equal(parse(&a, err, sizeof err, NULL), OSQ_OK);
  assert_string_equal(a.socket, "/var/osq/osq.em");
  assert_true(a.timeout == 3.0 && a.interval == 3.0 && !a.verbose);
  osq_sdk_args_free(&a);

  assert_int_equal(parse(&a, err, sizeof err, "--extensions_socket=/s",
                         "--verbose=false", "--noverbose", "--help", NULL),
                   OSQ_OK);
  assert_string_equal(a.socket, "/s");
  assert_false(a.verbose);
  assert_true(a.help);
  osq_sdk_args_free(&a);

  /* "--" ends the flags */
  assert_int_equal(parse(&a, err, sizeof err, "--", "--socket", "/no", NULL),
                   OSQ_OK);
  assert_string_equal(a.socket, "/var/osq/osq.em");
  osq_sdk_args_free(&a);
}

static void test_errors(void **state) {
  (void)state;
  osq_sdk_args a;
  char err[256];
  assert_int_equal(parse(&a, err, sizeof err, "--timeout", "abc", NULL),
                   OSQ_EINVAL);
  assert_string_equal(err, "flag --timeout: \"abc\" is not a number of "
                           "seconds between 0 and 86400");
  assert_int_equal(parse(&a, err, sizeof err, "--interval=-1", NULL),
                   OSQ_EINVAL);
  assert_string_equal(err, "flag --interval: \"-1\" is not a number of "
                           "seconds between 0 and 86400");
  assert_int_equal(parse(&a, err, sizeof err, "--timeout=1e9", NULL),
                   OSQ_EINVAL);
  assert_int_equal(parse(&a, err, sizeof err, "--socket", NULL), OSQ_EINVAL);
  assert_string_equal(err, "flag --socket needs a value");
  assert_int_equal(parse(&a, err, sizeof err, "--socket=", NULL), OSQ_EINVAL);
  assert_string_equal(err, "flag --socket: the socket path is empty");
  assert_int_equal(parse(&a, err, sizeof err, "--verbose=maybe", NULL),
                   OSQ_EINVAL);
  assert_string_equal(err, "flag --verbose: \"maybe\" is not a boolean");
}

static int gen(const osq_context *c, osq_rows *o, void *u) {
  (void)c, (void)o, (void)u;
  return OSQ_OK;
}

static int destroyed;
static void destroy(void *u) { destroyed += *(int *)u; }

static void test_handle(void **state) {
  (void)state;
  assert_null(osq_extension_new("", "1"));
  assert_null(osq_extension_new(NULL, "1"));
  osq_extension *ext = osq_extension_new("e", NULL);
  assert_non_null(ext);
  static const osq_column cols[] = {{"a", OSQ_TYPE_TEXT, 0}};
  static int one = 1;
  osq_table_plugin good = {.name = "good_1", .columns = cols, .ncolumns = 1,
                           .generate = gen, .udata = &one,
                           .destroy = destroy};
  osq_table_plugin bad_name = good, no_cols = good, bad_alias = good;
  bad_name.name = "bad-name";
  no_cols.ncolumns = 0;
  static const char *const aliases[] = {"ok", "not ok", NULL};
  bad_alias.aliases = aliases;
  assert_int_equal(osq_extension_add_table(ext, &good), OSQ_OK);
  assert_int_equal(osq_extension_add_table(ext, &good), OSQ_EEXIST);
  assert_int_equal(osq_extension_add_table(ext, &bad_name), OSQ_EINVAL);
  assert_int_equal(osq_extension_add_table(ext, &no_cols), OSQ_EINVAL);
  assert_int_equal(osq_extension_add_table(ext, &bad_alias), OSQ_EINVAL);
  osq_config_plugin cfg = {.name = "good_1"}; /* another registry: fine */
  assert_int_equal(osq_extension_add_config(ext, &cfg), OSQ_OK);
  osq_logger_plugin lg = {.name = ""};
  assert_int_equal(osq_extension_add_logger(ext, &lg), OSQ_EINVAL);
  assert_ptr_equal(osq_sdk_find(ext, OSQ_REGISTRY_TABLE, "good_1"), &good);
  assert_null(osq_sdk_find(ext, OSQ_REGISTRY_LOGGER, "good_1"));
  assert_int_equal(osq_sdk_kind("distributed"), OSQ_REGISTRY_DISTRIBUTED);
  assert_int_equal(osq_sdk_kind("killswitch"), -1);
  /* not running: no uuid, no query */
  assert_int_equal(osq_extension_uuid(ext), 0);
  char err[64];
  assert_int_equal(osq_extension_query(ext, "select 1", NULL, NULL, err,
                                       sizeof err),
                   OSQ_EINVAL);
  assert_string_equal(err, "the extension is not running");
  assert_null(osq_extension_request());
  destroyed = 0;
  osq_extension_free(ext);
  assert_int_equal(destroyed, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forms),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_handle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
