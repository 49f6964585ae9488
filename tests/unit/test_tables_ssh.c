/* user_ssh_keys (keys made by ssh-keygen(1) in fixture homes, compared
 * with what ssh-keygen -l reports) and ssh_configs (fixture configs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tables/builtin.h"
#include "tables/linux/ssh_files.h"
#include "tables/linux/users.h"
#include "tables_fixture.h"

static char passwd[700];

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-ssh");
  char text[1200];
  snprintf(text, sizeof text,
           "alice:x:1000:1000::%s/home/alice:/bin/sh\n"
           "bob:x:1001:1001::%s/home/bob:/bin/sh\n"
           "nohome:x:1002:1002::relative/dir:/bin/sh\n",
           tfx_dir, tfx_dir);
  snprintf(passwd, sizeof passwd, "%s", tfx_put("passwd", text));
  osq_tables_passwd_path = passwd;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  osq_tables_passwd_path = "/etc/passwd";
  tfx_remove_dir();
  return 0;
}

/* ssh-keygen into <home>/.ssh/<name> with the given options. */
static void keygen(const char *user, const char *name, const char *opts) {
  char dir[512], cmd[1400];
  snprintf(dir, sizeof dir, "%s/home/%s/.ssh", tfx_dir, user);
  snprintf(cmd, sizeof cmd,
           "mkdir -p '%s' && ssh-keygen -q %s -C osq-test -f '%s/%s' "
           "</dev/null >/dev/null",
           dir, opts, dir, name);
  assert_int_equal(system(cmd), 0);
}

/* The bit count ssh-keygen -l prints for a key file. */
static int64_t keygen_bits(const char *user, const char *name) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "ssh-keygen -l -f '%s/home/%s/.ssh/%s.pub'",
           tfx_dir, user, name);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  long bits = -1;
  assert_int_equal(fscanf(p, "%ld", &bits), 1);
  pclose(p);
  return bits;
}

static tcell *key_row(tresult *r, const osq_table_plugin *t, const char *user,
                      const char *name) {
  char path[600];
  snprintf(path, sizeof path, "%s/home/%s/.ssh/%s", tfx_dir, user, name);
  return tfind_text(r, tcol(t, "path"), path);
}

static void test_user_ssh_keys(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_user_ssh_keys;
  keygen("alice", "id_ed25519", "-t ed25519 -N ''");
  keygen("alice", "id_rsa_pem", "-t rsa -b 2048 -m PEM -N ''");
  keygen("alice", "id_ecdsa", "-t ecdsa -b 384 -N ''");
  keygen("alice", "id_ec_pem", "-t ecdsa -b 256 -m PEM -N ''");
  keygen("bob", "id_locked", "-t ed25519 -N secret-phrase");
  keygen("bob", "id_rsa_locked", "-t rsa -b 2048 -m PEM -N secret-phrase");
  tfx_put("home/bob/.ssh/config", "Host *\n");
  tfx_put("home/bob/.ssh/fake", "-----BEGIN OPENSSH PRIVATE KEY-----\n!!\n");

  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  tcell *k = key_row(r, t, "alice", "id_ed25519");
  assert_non_null(k);
  assert_int_equal(k[tcol(t, "uid")].i, 1000);
  assert_int_equal(k[tcol(t, "encrypted")].i, 0);
  assert_string_equal(k[tcol(t, "key_type")].s, "ed25519");
  assert_int_equal(k[tcol(t, "key_length")].i,
                   keygen_bits("alice", "id_ed25519"));
  assert_int_equal(k[tcol(t, "key_security_bits")].i, 128);
  k = key_row(r, t, "alice", "id_rsa_pem");
  assert_non_null(k);
  assert_string_equal(k[tcol(t, "key_type")].s, "rsa");
  assert_int_equal(k[tcol(t, "key_length")].i,
                   keygen_bits("alice", "id_rsa_pem"));
  assert_int_equal(k[tcol(t, "key_security_bits")].i, 112);
  assert_string_equal(k[tcol(t, "key_group_name")].s, "");
  k = key_row(r, t, "alice", "id_ecdsa");
  assert_non_null(k);
  assert_string_equal(k[tcol(t, "key_type")].s, "ecdsa-p384");
  assert_int_equal(k[tcol(t, "key_length")].i,
                   keygen_bits("alice", "id_ecdsa"));
  assert_int_equal(k[tcol(t, "key_security_bits")].i, 192);
  k = key_row(r, t, "alice", "id_ec_pem");
  assert_non_null(k);
  assert_string_equal(k[tcol(t, "key_type")].s, "ec");
  assert_string_equal(k[tcol(t, "key_group_name")].s, "prime256v1");
  assert_int_equal(k[tcol(t, "key_length")].i,
                   keygen_bits("alice", "id_ec_pem"));
  k = key_row(r, t, "bob", "id_locked");
  assert_non_null(k);
  assert_int_equal(k[tcol(t, "uid")].i, 1001);
  assert_int_equal(k[tcol(t, "encrypted")].i, 1);
  assert_string_equal(k[tcol(t, "key_type")].s, "ed25519");
  k = key_row(r, t, "bob", "id_rsa_locked");
  assert_non_null(k);
  assert_int_equal(k[tcol(t, "encrypted")].i, 1);
  assert_int_equal(k[tcol(t, "key_length")].i,
                   -1); /* unknown without the passphrase */
  /* public keys, configs: not private keys. A broken OpenSSH key is
   * listed with what is known, as osquery lists it. */
  assert_null(key_row(r, t, "alice", "id_ed25519.pub"));
  assert_null(key_row(r, t, "bob", "config"));
  k = key_row(r, t, "bob", "fake");
  assert_non_null(k);
  assert_int_equal(k[tcol(t, "key_length")].i, -1);
  assert_int_equal(k[tcol(t, "encrypted")].i, 1);
  assert_int_equal(r->n, 7);
  tfree(r);

  /* uid = ... reads only that user's home */
  r = trun_eq(t, "uid", "1001");
  assert_int_equal(r->n, 3);
  for (size_t i = 0; i < r->n; i++)
    assert_int_equal(r->rows[i][tcol(t, "uid")].i, 1001);
  tfree(r);
  r = trun_eq(t, "uid", "4242");
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
}

static void test_ssh_configs(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_ssh_configs;
  tfx_put("home/alice/.ssh/config",
          "# comment\n"
          "  ForwardAgent no\n"
          "\n"
          "Host Example.COM *.internal\n"
          "    User Alice\n"
          "    IdentityFile ~/.ssh/id_ed25519\r\n"
          "Match host foo exec \"true\"\n"
          "\tCompression yes\n");
  osq_tables_ssh_config_path =
      tfx_put("ssh_config", "Host *\n    SendEnv LANG LC_*\n");
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 5);
  tcell *row = tfind_text(r, tcol(t, "option"), "forwardagent no");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "block")].s, "");
  assert_int_equal(row[tcol(t, "uid")].i, 1000);
  row = tfind_text(r, tcol(t, "option"), "user alice");
  assert_string_equal(row[tcol(t, "block")].s, "host example.com *.internal");
  row = tfind_text(r, tcol(t, "option"), "identityfile ~/.ssh/id_ed25519");
  assert_non_null(row);
  row = tfind_text(r, tcol(t, "option"), "compression yes");
  assert_string_equal(row[tcol(t, "block")].s, "match host foo exec \"true\"");
  row = tfind_text(r, tcol(t, "option"), "sendenv lang lc_*");
  assert_int_equal(row[tcol(t, "uid")].i, 0);
  assert_string_equal(row[tcol(t, "ssh_config_file")].s,
                      osq_tables_ssh_config_path);
  assert_string_equal(row[tcol(t, "block")].s, "host *");
  tfree(r);

  /* uid = 1000: alice's file only, not the system-wide one (uid 0) */
  r = trun_eq(t, "uid", "1000");
  assert_int_equal(r->n, 4);
  tfree(r);
  r = trun_eq(t, "uid", "0");
  assert_int_equal(r->n, 1);
  tfree(r);
  osq_tables_ssh_config_path = "/etc/ssh/ssh_config";
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_user_ssh_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ssh_configs, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
