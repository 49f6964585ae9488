/* apt_sources and yum_sources on a fixture root: sources.list lines,
 * deb822 .sources paragraphs and apt's cached Release files; yum.conf and
 * .repo files (with reposdir), malformed files included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tables/builtin.h"
#include "tables/linux/repo_sources.h"
#include "tables_fixture.h"

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-repos");
  osq_tables_sources_root = tfx_dir;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  osq_tables_sources_root = "/";
  tfx_remove_dir();
  return 0;
}

static const char inrelease[] =
    "-----BEGIN PGP SIGNED MESSAGE-----\n"
    "Hash: SHA512\n"
    "\n"
    "Origin: Debian\n"
    "Label: Debian\n"
    "Suite: stable\n"
    "Version: 12.5\n"
    "Codename: bookworm\n"
    "Date: Sat, 10 Feb 2024 10:52:23 UTC\n"
    "Architectures: all amd64 arm64\n"
    "Components: main contrib non-free-firmware\n"
    "SHA256:\n"
    " 0123abcd  1234 main/binary-amd64/Packages\n"
    "-----BEGIN PGP SIGNATURE-----\n"
    "Origin: not-this\n";

static void test_apt_sources(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_apt_sources;
  tfx_put("etc/apt/sources.list",
          "# a comment\n"
          "deb http://deb.debian.org/debian/ bookworm main contrib\n"
          "deb-src http://deb.debian.org/debian bookworm main\n"
          "deb [arch=amd64 signed-by=/k.gpg] https://repo.example.com/apt "
          "stable main # trailing\n"
          "deb http://never.fetched/debian sid main\n"
          "deb http://flat.example.org/repo ./\n"
          "deb nonsense\n"
          "#deb http://deb.debian.org/debian commented main\n");
  tfx_put("etc/apt/sources.list.d/extra.sources",
          "Types: deb deb-src\n"
          "URIs: http://security.debian.org/debian-security\n"
          "Suites: bookworm-security\n"
          "Components: main\n"
          "\n"
          "Types: deb-src\n"
          "URIs: http://deb.debian.org/debian\n"
          "Suites: bookworm\n"
          "\n"
          "Types: deb\n"
          "URIs: http://deb.debian.org/debian\n"
          "Suites: bookworm\n"
          "Enabled: no\n");
  tfx_put("etc/apt/sources.list.d/ignored.list.save",
          "deb http://deb.debian.org/debian bookworm main\n");
  tfx_put("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
          inrelease);
  tfx_put("var/lib/apt/lists/repo.example.com_apt_dists_stable_Release",
          "Origin: Example\nCodename: stable\nComponents: main\n");
  tfx_put("var/lib/apt/lists/"
          "security.debian.org_debian-security_dists_bookworm-security_"
          "InRelease",
          "Origin: Debian\nCodename: bookworm-security\n");
  tfx_put("var/lib/apt/lists/flat.example.org_repo_._Release",
          "Origin: Flat\n");

  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 4);
  tcell *row = tfind_text(r, tcol(t, "name"), "deb.debian.org/debian bookworm");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "source")].s, "/etc/apt/sources.list");
  assert_string_equal(row[tcol(t, "base_uri")].s,
                      "http://deb.debian.org/debian");
  assert_string_equal(row[tcol(t, "release")].s, "bookworm");
  assert_string_equal(row[tcol(t, "version")].s, "12.5");
  assert_string_equal(row[tcol(t, "maintainer")].s, "Debian");
  assert_string_equal(row[tcol(t, "components")].s,
                      "main contrib non-free-firmware");
  assert_string_equal(row[tcol(t, "architectures")].s, "all amd64 arm64");
  assert_int_equal(row[tcol(t, "pid_with_namespace")].i, 0);
  row = tfind_text(r, tcol(t, "name"), "repo.example.com/apt stable");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "maintainer")].s, "Example");
  assert_int_equal(row[tcol(t, "version")].kind, OSQ_VALUE_NULL);
  row = tfind_text(r, tcol(t, "name"),
                   "security.debian.org/debian-security bookworm-security");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "source")].s,
                      "/etc/apt/sources.list.d/extra.sources");
  assert_string_equal(row[tcol(t, "release")].s, "bookworm-security");
  row = tfind_text(r, tcol(t, "name"), "flat.example.org/repo ./");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "maintainer")].s, "Flat");
  /* never fetched: no Release file, no row (as in osquery) */
  assert_null(tfind_text(r, tcol(t, "name"), "never.fetched/debian sid"));
  tfree(r);
}

static void test_apt_sources_missing(void **state) {
  (void)state;
  /* an empty root: no files, no rows, no error */
  tresult *r = trun_all(&osq_table_apt_sources);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  r = trun_all(&osq_table_yum_sources);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
}

static void test_yum_sources(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_yum_sources;
  tfx_put("etc/yum.conf",
          "[main]\n"
          "gpgcheck=1\n"
          "reposdir=/etc/custom.repos\n"
          "\n"
          "[inline]\n"
          "name = Inline repo\n"
          "baseurl=http://inline.example.com/\n");
  tfx_put("etc/custom.repos/base.repo",
          "# comment\n"
          "; another\n"
          "[base]\n"
          "name=CentOS-$releasever - Base\n"
          "mirrorlist=http://mirrorlist.centos.org/?release=$releasever\n"
          "gpgcheck=1\n"
          "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7\n"
          "enabled = 0\n"
          "\n"
          "[epel]\n"
          "name=EPEL\n"
          "metalink=https://mirrors.fedoraproject.org/metalink?repo=epel\n"
          "exclude=foo\n");
  tfx_put("etc/custom.repos/broken.repo",
          "[ok]\nname=fine\nthis line has no equals sign\n");
  tfx_put("etc/custom.repos/dup.repo", "[a]\nname=x\nname=y\n");
  tfx_put("etc/custom.repos/not-a-repo.txt", "[x]\nname=no\n");
  tfx_put("etc/yum.repos.d/default.repo", "[unused]\nname=not read\n");
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 3);
  tcell *row = tfind_text(r, tcol(t, "name"), "Inline repo");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "source")].s, "/etc/yum.conf");
  assert_string_equal(row[tcol(t, "baseurl")].s, "http://inline.example.com/");
  assert_int_equal(row[tcol(t, "gpgcheck")].kind, OSQ_VALUE_NULL);
  row = tfind_text(r, tcol(t, "name"), "CentOS-$releasever - Base");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "source")].s, "/etc/custom.repos/base.repo");
  assert_string_equal(row[tcol(t, "enabled")].s, "0");
  assert_string_equal(row[tcol(t, "gpgcheck")].s, "1");
  assert_string_equal(row[tcol(t, "gpgkey")].s,
                      "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7");
  assert_string_equal(row[tcol(t, "mirrorlist")].s,
                      "http://mirrorlist.centos.org/?release=$releasever");
  row = tfind_text(r, tcol(t, "name"), "EPEL");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "metalink")].s,
                      "https://mirrors.fedoraproject.org/metalink?repo=epel");
  assert_int_equal(row[tcol(t, "pid_with_namespace")].i, 0);
  tfree(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_apt_sources, setup, teardown),
      cmocka_unit_test_setup_teardown(test_apt_sources_missing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_yum_sources, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
