/* Config parsing and merging: sources in name order, options, schedule,
 * packs inline/by path/glob, gates, bad JSON positions, the filesystem
 * plugin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "config/config.h"
#include "config/filesystem.h"
#include "config/sha1.h"
#include "core/flags.h"
#include "plugin/plugin_impl.h"

static char dir[64];

static void write_file(const char *name, const char *text) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static const osq_sched_query *find(const osq_config *c, const char *name) {
  for (size_t i = 0; i < c->npacks; i++)
    for (size_t k = 0; k < c->packs[i].nqueries; k++)
      if (strcmp(c->packs[i].queries[k].name, name) == 0)
        return &c->packs[i].queries[k];
  return NULL;
}

static void test_parse_errors(void **state) {
  (void)state;
  char err[512];
  const char *bad = "{\n  \"schedule\": {\n    \"a\": {\"query\": 1,}\n  }\n}";
  assert_null(osq_config_parse_text("/etc/osq/osq.conf", bad, strlen(bad),
                                    err, sizeof err));
  assert_non_null(strstr(err, "/etc/osq/osq.conf: line 3, column"));
  assert_null(osq_config_parse_text("x", "[1]", 3, err, sizeof err));
  assert_non_null(strstr(err, "top level must be an object"));
  char deep[400] = "";
  for (int i = 0; i < 40; i++)
    strcat(deep, "{\"a\":");
  strcat(deep, "1");
  for (int i = 0; i < 40; i++)
    strcat(deep, "}");
  assert_null(osq_config_parse_text("x", deep, strlen(deep), err, sizeof err));
  assert_non_null(strstr(err, "too many nesting levels!"));
  /* comments and continuations; line numbers survive comments */
  const char *ok = "# comment\n// another\n{\"options\": \\\n {\"verbose\": "
                   "false}}\n";
  json_t *j = osq_config_parse_text("x", ok, strlen(ok), err, sizeof err);
  assert_non_null(j);
  json_decref(j);
  const char *bad2 = "# c\n# c\n{\"a\" 1}";
  assert_null(osq_config_parse_text("x", bad2, strlen(bad2), err, sizeof err));
  assert_non_null(strstr(err, "line 3"));
}

static void test_merge(void **state) {
  (void)state;
  osq_strmap src;
  osq_strmap_init(&src);
  const char *b = "{\"options\":{\"schedule_splay_percent\":20,"
                  "\"logger_numerics\":true},"
                  "\"schedule\":{\"q2\":{\"query\":\"select 2\",\"interval\":"
                  "\"60\",\"removed\":\"false\",\"snapshot\":1}},"
                  "\"decorators\":{\"load\":[\"select 1 as one\"]}}";
  const char *a = "{\"options\":{\"schedule_splay_percent\":10},"
                  "\"schedule\":{\"q1\":{\"query\":\"select 1\",\"interval\":"
                  "5},\"bad\":{\"query\":\"x\",\"interval\":0},"
                  "\"noquery\":{\"interval\":5},"
                  "\"x_counter\":{\"query\":\"select 1\"}},"
                  "\"packs\":{\"p\":{\"platform\":\"linux\",\"queries\":{\"pq\":"
                  "{\"query\":\"select 3\"}}},\"win\":{\"platform\":\"windows\","
                  "\"queries\":{\"w\":{\"query\":\"select 4\"}}}}}";
  osq_strmap_set(&src, "/e/osq.conf.d/b.conf", b, strlen(b));
  osq_strmap_set(&src, "/e/osq.conf", a, strlen(a));
  char err[512];
  osq_config *c = osq_config_build(&src, NULL, NULL, err, sizeof err);
  assert_non_null(c);
  /* name order: osq.conf first, so b.conf's options win */
  assert_int_equal(json_integer_value(json_object_get(c->options,
                                                      "schedule_splay_percent")),
                   20);
  const osq_sched_query *q1 = find(c, "q1");
  assert_non_null(q1);
  assert_int_equal(q1->interval, 5);
  assert_true(q1->removed);
  assert_false(q1->snapshot);
  assert_null(find(c, "bad"));
  assert_null(find(c, "noquery"));
  assert_null(find(c, "x_counter"));
  const osq_sched_query *q2 = find(c, "q2");
  assert_non_null(q2);
  assert_int_equal(q2->interval, 60);
  assert_false(q2->removed);
  assert_true(q2->snapshot);
  const osq_sched_query *pq = find(c, "pack_p_pq");
  assert_non_null(pq);
  assert_int_equal(pq->interval, 3600);
  assert_null(find(c, "pack_win_w"));
  /* the gated pack is still listed, inactive */
  bool listed = false;
  for (size_t i = 0; i < c->npacks; i++)
    if (strcmp(c->packs[i].name, "win") == 0) {
      listed = true;
      assert_false(c->packs[i].gated_ok);
    }
  assert_true(listed);
  assert_int_equal(json_array_size(c->decorators), 1);
  assert_int_equal(strlen(c->hash), 40);
  char hash1[41];
  strcpy(hash1, c->hash);
  assert_int_equal(osq_config_apply_options(c->options), 2);
  assert_int_equal(OSQ_FLAG_UINT(schedule_splay_percent), 20);
  assert_true(OSQ_FLAG_BOOL(logger_numerics));
  osq_config_free(c);
  /* same text, same hash; one bad source fails the build naming it */
  c = osq_config_build(&src, NULL, NULL, err, sizeof err);
  assert_string_equal(c->hash, hash1);
  osq_config_free(c);
  osq_strmap_set(&src, "/e/osq.conf.d/c.conf", "{", 1);
  assert_null(osq_config_build(&src, NULL, NULL, err, sizeof err));
  assert_non_null(strstr(err, "/e/osq.conf.d/c.conf"));
  osq_strmap_clear(&src);
}

static void test_options_cli_only(void **state) {
  (void)state;
  json_t *o = json_pack("{s:s,s:s,s:s}", "config_path", "/x", "no_such_flag",
                        "1", "custom_thing", "v");
  assert_int_equal(osq_config_apply_options(o), 0);
  assert_string_not_equal(OSQ_FLAG_STR(config_path), "/x");
  json_decref(o);
}

static void test_filesystem_plugin(void **state) {
  (void)state;
  strcpy(dir, "/tmp/osq-config-XXXXXX");
  assert_non_null(mkdtemp(dir));
  char path[256], d[256], err[256];
  snprintf(path, sizeof path, "%s/osq.conf", dir);
  snprintf(d, sizeof d, "%s/osq.conf.d", dir);
  mkdir(d, 0700);
  snprintf(d, sizeof d, "%s/packs", dir);
  mkdir(d, 0700);
  char conf[1024];
  snprintf(conf, sizeof conf,
           "{\"schedule\":{\"a\":{\"query\":\"select 1\",\"interval\":1}},"
           "\"packs\":{\"ext\":\"%s/ext.json\",\"*\":\"%s/packs/%%\"}}",
           dir, dir);
  write_file("osq.conf", conf);
  write_file("osq.conf.d/10-more.conf",
             "{\"schedule\":{\"b\":{\"query\":\"select 2\"}}}");
  write_file("osq.conf.d/ignored.json", "{");
  write_file("ext.json", "{\"queries\":{\"e\":{\"query\":\"select 5\"}}}");
  write_file("packs/g1.conf", "{\"queries\":{\"g\":{\"query\":\"select 6\"}}}");
  write_file("packs/broken.conf", "{");
  assert_int_equal(OSQ_FLAG_SET(config_path, path, err, sizeof err), 0);
  osq_strmap src;
  osq_strmap_init(&src);
  assert_int_equal(osq_config_filesystem.generate(&src, NULL), OSQ_OK);
  assert_int_equal(osq_strmap_count(&src), 2);
  osq_config *c =
      osq_config_build(&src, osq_config_filesystem.gen_pack, NULL, err,
                       sizeof err);
  assert_non_null(c);
  assert_non_null(find(c, "a"));
  assert_non_null(find(c, "b"));
  assert_non_null(find(c, "pack_ext_e"));
  assert_non_null(find(c, "pack_g1_g"));
  osq_config_free(c);
  osq_strmap_clear(&src);
  /* a missing file is osquery's message */
  snprintf(path, sizeof path, "%s/none.conf", dir);
  OSQ_FLAG_SET(config_path, path, err, sizeof err);
  assert_int_equal(osq_config_filesystem.generate(&src, NULL), OSQ_ERROR);
  assert_non_null(strstr(osq_strmap_message(&src), "config file does not exist: "));
  osq_strmap_clear(&src);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_gates(void **state) {
  (void)state;
  assert_true(osq_config_platform_ok(NULL));
  assert_true(osq_config_platform_ok("linux,darwin"));
  assert_true(osq_config_platform_ok("posix"));
  assert_false(osq_config_platform_ok("windows"));
  assert_true(osq_config_version_ok("1.4.5"));
  assert_true(osq_config_version_ok(OSQ_SDK_VERSION));
  assert_false(osq_config_version_ok("99.0.0"));
  assert_true(osq_config_shard_ok(0));
  assert_true(osq_config_shard_ok(100));
  assert_true(osq_config_machine_shard() <= 100);
}

static void test_sha1(void **state) {
  (void)state;
  char hex[41];
  osq_sha1_hex("abc", 3, hex);
  assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
  osq_sha1_hex("", 0, hex);
  assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  unsigned char buf[300];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (unsigned char)(i * 37 + 11);
  for (size_t n = 0; n <= sizeof buf; n++) {
    uint8_t mine[OSQ_SHA1_LEN];
    unsigned char ref[SHA_DIGEST_LENGTH];
    osq_sha1(buf, n, mine);
    SHA1(buf, n, ref);
    assert_memory_equal(mine, ref, OSQ_SHA1_LEN);
  }
}

/* Bounded mutation fuzzing of the parser and the builder: malformed input
 * gets an error or a config, never a crash (ASan/UBSan in CI). */
static void test_mutations(void **state) {
  (void)state;
  const char *seed =
      "{\"options\":{\"a\":1},\"schedule\":{\"q\":{\"query\":\"select 1\","
      "\"interval\":\"10\",\"shard\":\"5\",\"removed\":\"t\"}},"
      "\"packs\":{\"p\":{\"discovery\":[\"select 1\"],\"queries\":{\"x\":"
      "{\"query\":\"select 2\",\"interval\":-1}}},\"s\":\"/nonexistent\"},"
      "\"decorators\":{\"load\":[\"select 1\"],\"interval\":{\"60\":[1]}}}";
  size_t n = strlen(seed);
  char *buf = malloc(n + 1);
  unsigned seedv = 12345;
  for (int iter = 0; iter < 3000; iter++) {
    memcpy(buf, seed, n + 1);
    int edits = 1 + (int)(rand_r(&seedv) % 4);
    for (int e = 0; e < edits; e++) {
      size_t at = (size_t)rand_r(&seedv) % n;
      buf[at] = "{}[]:,\"0a-\\\n#/"[rand_r(&seedv) % 15];
    }
    osq_strmap src;
    osq_strmap_init(&src);
    osq_strmap_set(&src, "fuzz", buf, n);
    char err[512];
    osq_config *c = osq_config_build(&src, osq_config_filesystem.gen_pack,
                                     NULL, err, sizeof err);
    if (c == NULL)
      assert_non_null(strstr(err, "fuzz"));
    osq_config_free(c);
    osq_strmap_clear(&src);
  }
  free(buf);
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_merge),
      cmocka_unit_test(test_options_cli_only),
      cmocka_unit_test(test_filesystem_plugin), cmocka_unit_test(test_gates),
      cmocka_unit_test(test_sha1),       cmocka_unit_test(test_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
