/* The application tables (package managers, browsers, editors) against
 * fixture trees, each cross-checked with an independent reader where one
 * exists here: Python's importlib.metadata for python_packages, the npm
 * CLI for npm_packages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "tables/builtin.h"
#include "tables/linux/apps.h"
#include "tables/linux/users.h"
#include "tables_fixture.h"

static char passwd[700], root[300];

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-apps");
  char text[1200];
  snprintf(text, sizeof text,
           "alice:x:1000:1000::%s/home/alice:/bin/sh\n"
           "bob:x:1001:1001::%s/home/bob:/bin/sh\n"
           "nohome:x:1002:1002::relative/dir:/bin/sh\n",
           tfx_dir, tfx_dir);
  snprintf(passwd, sizeof passwd, "%s", tfx_put("passwd", text));
  snprintf(root, sizeof root, "%s/root", tfx_dir);
  osq_tables_passwd_path = passwd;
  osq_tables_apps_root = root;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  osq_tables_passwd_path = "/etc/passwd";
  osq_tables_apps_root = "";
  tfx_remove_dir();
  return 0;
}

/* Rows of r whose column col is v. */
static size_t tcount_text(tresult *r, int col, const char *v) {
  size_t n = 0;
  for (size_t i = 0; i < r->n; i++)
    n += r->rows[i][col].s != NULL && strcmp(r->rows[i][col].s, v) == 0;
  return n;
}

/* Each "name\tversion" line cmd prints must be a row of r with that name
 * and version; returns how many lines there were. */
static size_t check_against(tresult *r, const osq_table_plugin *t,
                            const char *cmd) {
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char line[1024];
  size_t n = 0;
  int cn = tcol(t, "name"), cv = tcol(t, "version");
  while (fgets(line, sizeof line, p)) {
    line[strcspn(line, "\n")] = '\0';
    char *tab = strchr(line, '\t');
    assert_non_null(tab);
    *tab = '\0';
    bool found = false;
    for (size_t i = 0; i < r->n && !found; i++)
      found = r->rows[i][cn].s && strcmp(r->rows[i][cn].s, line) == 0 &&
              r->rows[i][cv].s && strcmp(r->rows[i][cv].s, tab + 1) == 0;
    if (!found)
      fail_msg("%s %s (from: %s) is not a row", line, tab + 1, cmd);
    n++;
  }
  assert_int_equal(pclose(p), 0);
  return n;
}

/* ---- python_packages --------------------------------------------------- */

static const char metadata_fmt[] =
    "Metadata-Version: 2.1\n"
    "Name: %s\n"
    "Version: %s\n"
    "Summary: A summary: with a colon\n"
    "Author: Some One\n"
    "License: MIT\n"
    "        continued license text\n"
    "Classifier: License :: OSI Approved\n"
    "\n"
    "Name: not-the-name (body text)\n";

static void put_dist(const char *site, const char *name, const char *version,
                     bool egg) {
  char rel[200], text[1024];
  snprintf(rel, sizeof rel, "%s/%s-%s.%s/%s", site, name, version,
           egg ? "egg-info" : "dist-info", egg ? "PKG-INFO" : "METADATA");
  snprintf(text, sizeof text, metadata_fmt, name, version);
  tfx_put(rel, text);
}

static void test_python_packages(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_python_packages;
  put_dist("root/usr/lib/python3/dist-packages", "alpha", "1.0", false);
  put_dist("root/usr/lib/python3/dist-packages", "beta", "2.0b1", true);
  tfx_put("root/usr/lib/python3/dist-packages/gamma-3.0.egg-info",
          "Metadata-Version: 1.1\nName: gamma\nVersion: 3.0\n");
  put_dist("root/usr/local/lib/python3.11/site-packages", "delta", "4.1",
           false);
  put_dist("root/usr/local/lib/python3.11/dist-packages", "epsilon", "5",
           false);
  put_dist("home/alice/.local/lib/python3.11/site-packages", "zeta", "6.0",
           false);
  put_dist("home/bob/.local/lib/python3.12/site-packages", "eta", "7.0",
           false);
  /* malformed: no METADATA, garbage, an endless line */
  char dir[600];
  snprintf(dir, sizeof dir,
           "%s/root/usr/lib/python3/dist-packages/empty-0.dist-info", tfx_dir);
  assert_int_equal(mkdir(dir, 0755), 0);
  tfx_put("root/usr/lib/python3/dist-packages/junk-0.dist-info/METADATA",
          "\x01\x02\xff:\xfe\nName\nVersion:: x\n");
  char *big = malloc(20000);
  memset(big, 'x', 19999);
  big[19999] = '\0';
  memcpy(big, "Summary: ", 9);
  tfx_put("root/usr/lib/python3/dist-packages/long-0.dist-info/METADATA", big);
  free(big);
  tfx_put("root/usr/lib/python3/dist-packages/not_a_package.py", "");

  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 10);
  tcell *a = tfind_text(r, tcol(t, "name"), "alpha");
  assert_non_null(a);
  assert_string_equal(a[tcol(t, "version")].s, "1.0");
  assert_string_equal(a[tcol(t, "summary")].s, "A summary: with a colon");
  assert_string_equal(a[tcol(t, "author")].s, "Some One");
  assert_string_equal(a[tcol(t, "license")].s, "MIT");
  assert_int_equal(a[tcol(t, "uid")].kind, OSQ_VALUE_NULL);
  char want[700];
  snprintf(want, sizeof want, "%s/root/usr/lib/python3/dist-packages",
           tfx_dir);
  assert_string_equal(a[tcol(t, "directory")].s, want);
  snprintf(want, sizeof want,
           "%s/root/usr/lib/python3/dist-packages/alpha-1.0.dist-info",
           tfx_dir);
  assert_string_equal(a[tcol(t, "path")].s, want);
  assert_non_null(tfind_text(r, tcol(t, "name"), "beta"));
  assert_non_null(tfind_text(r, tcol(t, "name"), "gamma"));
  assert_non_null(tfind_text(r, tcol(t, "name"), "delta"));
  assert_non_null(tfind_text(r, tcol(t, "name"), "epsilon"));
  tcell *z = tfind_text(r, tcol(t, "name"), "zeta");
  assert_non_null(z);
  assert_int_equal(z[tcol(t, "uid")].i, 1000);
  tcell *e = tfind_text(r, tcol(t, "name"), "eta");
  assert_non_null(e);
  assert_int_equal(e[tcol(t, "uid")].i, 1001);
  /* the malformed ones are rows with what could be read */
  snprintf(want, sizeof want,
           "%s/root/usr/lib/python3/dist-packages/empty-0.dist-info", tfx_dir);
  tcell *m = tfind_text(r, tcol(t, "path"), want);
  assert_non_null(m);
  assert_int_equal(m[tcol(t, "name")].kind, OSQ_VALUE_NULL);
  snprintf(want, sizeof want,
           "%s/root/usr/lib/python3/dist-packages/long-0.dist-info", tfx_dir);
  m = tfind_text(r, tcol(t, "path"), want);
  assert_non_null(m);
  assert_int_equal(m[tcol(t, "summary")].kind, OSQ_VALUE_NULL);

  /* Python's own reader agrees on every package of every site */
  char cmd[2000];
  snprintf(cmd, sizeof cmd,
           "python3 -c 'import importlib.metadata as m, glob\n"
           "for d in m.distributions(path=glob.glob(\"%s/root/usr/*/lib/"
           "python*/*-packages\")+glob.glob(\"%s/root/usr/lib/python*/"
           "*-packages\")+glob.glob(\"%s/home/*/.local/lib/python*/"
           "site-packages\")):\n"
           "  try: n = d.metadata[\"Name\"]\n"
           "  except Exception: continue\n"
           "  if n: print(n + \"\\t\" + d.version)'",
           tfx_dir, tfx_dir, tfx_dir);
  assert_int_equal(check_against(r, t, cmd), 7);
  tfree(r);

  /* uid: only that user's site; JOINs against users arrive this way */
  r = trun_eq(t, "uid", "1001");
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "name")].s, "eta");
  tfree(r);

  /* directory: that site only, a virtualenv's too */
  put_dist("venv/lib/python3.11/site-packages", "theta", "8.0", false);
  snprintf(want, sizeof want, "%s/venv/lib/python3.11/site-packages",
           tfx_dir);
  r = trun_eq(t, "directory", want);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "name")].s, "theta");
  assert_int_equal(tcount_text(r, tcol(t, "directory"), want), 1);
  tfree(r);
  snprintf(want, sizeof want, "%s/home/alice/.local/lib/python3.11/"
           "site-packages", tfx_dir);
  r = trun_eq(t, "directory", want);
  assert_int_equal(r->n, 1);
  assert_int_equal(r->rows[0][tcol(t, "uid")].i, 1000);
  tfree(r);

  /* pid_with_namespace: the system sites as that process sees them (this
   * process: the same files), without the host's users */
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  r = trun_eq(t, "pid_with_namespace", pid);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 8);
  assert_null(tfind_text(r, tcol(t, "name"), "zeta"));
  for (size_t i = 0; i < r->n; i++)
    assert_int_equal(r->rows[i][tcol(t, "pid_with_namespace")].i, getpid());
  assert_non_null(tfind_text(r, tcol(t, "name"), "alpha"));
  tfree(r);
}

/* The real system site, where Debian's python3 packages live: every
 * distribution importlib finds there is a row with its version. */
static void test_python_packages_system(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_python_packages;
  const char *site = "/usr/lib/python3/dist-packages";
  struct stat st;
  if (stat(site, &st) != 0 || system("python3 -c '' 2>/dev/null") != 0)
    skip();
  osq_tables_apps_root = "";
  tresult *r = trun_eq(t, "directory", site);
  osq_tables_apps_root = root;
  assert_int_equal(r->rc, OSQ_OK);
  char cmd[600];
  snprintf(cmd, sizeof cmd,
           "python3 -c 'import importlib.metadata as m\n"
           "for d in m.distributions(path=[\"%s\"]):\n"
           "  print(d.metadata[\"Name\"] + \"\\t\" + d.version)'",
           site);
  size_t n = check_against(r, t, cmd);
  assert_int_equal(n, r->n);
  tfree(r);
}

/* ---- npm_packages ------------------------------------------------------ */

/* Every package line of `npm ls --all --parseable --long` run in dir
 * ("<path>:<name>@<version>[:…]") must be a row of r with that package.json
 * path, name and version; returns how many there were. */
static size_t check_npm_ls(tresult *r, const osq_table_plugin *t,
                           const char *args) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd,
           "npm ls --all --parseable --long %s 2>/dev/null", args);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char line[2048];
  size_t n = 0;
  bool first = true;
  while (fgets(line, sizeof line, p)) {
    line[strcspn(line, "\n")] = '\0';
    if (first) { /* the root project itself */
      first = false;
      continue;
    }
    char *c1 = strchr(line, ':');
    assert_non_null(c1);
    *c1 = '\0';
    char *spec = c1 + 1;
    spec[strcspn(spec, ":")] = '\0';
    char *at = strrchr(spec, '@');
    assert_non_null(at);
    *at = '\0';
    char path[2100];
    snprintf(path, sizeof path, "%s/package.json", line);
    if (access(path, F_OK) != 0)
      continue; /* npm lists a bare directory; without a manifest it is
                   no package to osquery */
    tcell *row = tfind_text(r, tcol(t, "path"), path);
    if (row == NULL)
      fail_msg("npm lists %s, the table does not", path);
    n++;
    struct stat st;
    if (at[1] == '\0' || (lstat(line, &st) == 0 && S_ISLNK(st.st_mode)))
      continue; /* npm could not read it either, or names a link by its
                   link name: either way its name is the directory's */
    assert_string_equal(row[tcol(t, "name")].s, spec);
    assert_string_equal(row[tcol(t, "version")].s, at + 1);
  }
  pclose(p);
  return n;
}

static void test_npm_packages(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_npm_packages;
  tfx_put("proj/package.json", "{\"name\":\"proj\",\"version\":\"0.0.1\"}");
  tfx_put("proj/node_modules/a/package.json",
          "{\"name\":\"a\",\"version\":\"1.0.0\",\"description\":\"A\","
          "\"author\":{\"name\":\"Ann\",\"email\":\"a@x\"},"
          "\"license\":{\"type\":\"MIT\",\"url\":\"http://l\"},"
          "\"homepage\":\"http://a\"}");
  tfx_put("proj/node_modules/a/node_modules/b/package.json",
          "{\"name\":\"b\",\"version\":\"2.0.0\",\"author\":\"Bo <b@x>\","
          "\"license\":\"ISC\"}");
  tfx_put("proj/node_modules/a/node_modules/b/node_modules/c/package.json",
          "{\"name\":\"c\",\"version\":\"3.0.0\"}");
  tfx_put("proj/node_modules/@scope/d/package.json",
          "{\"name\":\"@scope/d\",\"version\":\"4.0.0\",\"version2\":1}");
  tfx_put("proj/node_modules/.bin/x", "");
  tfx_put("proj/node_modules/broken/package.json", "{\"name\": \"bro");
  tfx_put("proj/node_modules/notpkg/index.js", "");
  /* a symlink loop must not be walked forever */
  char link[600];
  snprintf(link, sizeof link, "%s/proj/node_modules/a/node_modules/b/"
           "node_modules/c/node_modules", tfx_dir);
  assert_int_equal(mkdir(link, 0755), 0);
  strcat(link, "/loop");
  assert_int_equal(symlink("..", link), 0);
  tfx_put("root/usr/lib/node_modules/g/package.json",
          "{\"name\":\"g\",\"version\":\"9.9.9\"}");
  tfx_put("home/alice/.npm-global/lib/node_modules/u/package.json",
          "{\"name\":\"u\",\"version\":\"1.2.3\"}");

  char proj[400];
  snprintf(proj, sizeof proj, "%s/proj", tfx_dir);
  tresult *r = trun_eq(t, "directory", proj);
  assert_int_equal(r->rc, OSQ_OK);
  tcell *a = tfind_text(r, tcol(t, "name"), "a");
  assert_non_null(a);
  assert_string_equal(a[tcol(t, "description")].s, "A");
  assert_string_equal(a[tcol(t, "author")].s, "Ann");
  assert_string_equal(a[tcol(t, "license")].s, "http://l");
  assert_string_equal(a[tcol(t, "homepage")].s, "http://a");
  assert_string_equal(a[tcol(t, "directory")].s, proj);
  assert_int_equal(a[tcol(t, "depth")].i, 0);
  assert_int_equal(a[tcol(t, "max_depth")].i, 100);
  tcell *b = tfind_text(r, tcol(t, "name"), "b");
  assert_non_null(b);
  assert_string_equal(b[tcol(t, "author")].s, "Bo <b@x>");
  assert_string_equal(b[tcol(t, "license")].s, "ISC");
  assert_int_equal(b[tcol(t, "depth")].i, 1);
  assert_int_equal(tfind_text(r, tcol(t, "name"), "c")[tcol(t, "depth")].i,
                   2);
  assert_non_null(tfind_text(r, tcol(t, "name"), "@scope/d"));
  char path[600];
  snprintf(path, sizeof path, "%s/node_modules/broken/package.json", proj);
  tcell *broken = tfind_text(r, tcol(t, "path"), path);
  assert_non_null(broken);
  assert_int_equal(broken[tcol(t, "name")].kind, OSQ_VALUE_NULL);
  /* a, b, c, @scope/d, broken, and c once more through the loop */
  assert_int_equal(r->n, 6);
  snprintf(path, sizeof path, "%s/node_modules/a/node_modules/b/node_modules/"
           "c/node_modules/loop/package.json", proj);
  tcell *loop = tfind_text(r, tcol(t, "path"), path);
  assert_non_null(loop);
  assert_int_equal(loop[tcol(t, "depth")].i, 3);
  /* the npm CLI reads the same tree */
  if (system("npm --version >/dev/null 2>&1") == 0) {
    char args[500];
    snprintf(args, sizeof args, "--prefix '%s'", proj);
    assert_true(check_npm_ls(r, t, args) >= 4);
  }
  tfree(r);

  /* max_depth = 0: the direct ones only */
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  osq_context_add(ctx, tcol(t, "directory"), OSQ_OP_EQ, proj, strlen(proj));
  osq_context_add(ctx, tcol(t, "max_depth"), OSQ_OP_EQ, "0", 1);
  r = trun(t, ctx);
  osq_context_free(ctx);
  assert_int_equal(r->n, 3); /* a, @scope/d, broken */
  assert_null(tfind_text(r, tcol(t, "name"), "b"));
  tfree(r);

  /* pid_with_namespace: the same tree as this process sees it */
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  ctx = osq_context_new(t->columns, t->ncolumns);
  osq_context_add(ctx, tcol(t, "directory"), OSQ_OP_EQ, proj, strlen(proj));
  osq_context_add(ctx, tcol(t, "pid_with_namespace"), OSQ_OP_EQ, pid,
                  strlen(pid));
  r = trun(t, ctx);
  osq_context_free(ctx);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 6);
  for (size_t i = 0; i < r->n; i++) {
    assert_int_equal(r->rows[i][tcol(t, "pid_with_namespace")].i, getpid());
    assert_non_null(r->rows[i][tcol(t, "mount_namespace_id")].s);
  }
  assert_non_null(tfind_text(r, tcol(t, "name"), "@scope/d"));
  tfree(r);

  /* no directory: the global prefixes and ~/.npm-global/lib */
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 2);
  assert_non_null(tfind_text(r, tcol(t, "name"), "g"));
  tcell *u = tfind_text(r, tcol(t, "name"), "u");
  assert_non_null(u);
  snprintf(path, sizeof path, "%s/home/alice/.npm-global/lib", tfx_dir);
  assert_string_equal(u[tcol(t, "directory")].s, path);
  tfree(r);
}

/* The host's global packages, as `npm ls -g` lists them. */
static void test_npm_packages_global(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_npm_packages;
  if (system("npm --version >/dev/null 2>&1") != 0)
    skip();
  FILE *p = popen("npm root -g 2>/dev/null", "r");
  assert_non_null(p);
  char groot[512] = "";
  if (fgets(groot, sizeof groot, p) == NULL)
    groot[0] = '\0';
  pclose(p);
  groot[strcspn(groot, "\n")] = '\0';
  char *slash = strrchr(groot, '/');
  if (slash == NULL || strcmp(slash, "/node_modules") != 0)
    skip();
  *slash = '\0'; /* the prefix's lib directory */
  tresult *r = trun_eq(t, "directory", groot);
  assert_int_equal(r->rc, OSQ_OK);
  size_t n = check_npm_ls(r, t, "-g");
  assert_int_equal(n, r->n);
  tfree(r);
}

/* ---- chrome_extensions, chrome_extension_content_scripts --------------- */

/* A fresh RSA public key in base64 DER (a manifest's "key") and the
 * extension id Chrome derives from it, computed by openssl and coreutils. */
static void make_key(char *key, size_t kcap, char id[33]) {
  char *kp = tfx_put("key.b64", "");
  char cmd[1200];
  snprintf(cmd, sizeof cmd,
           "openssl genrsa 1024 2>/dev/null | openssl rsa -pubout -outform "
           "DER 2>/dev/null | base64 -w0 > '%s'", kp);
  assert_int_equal(system(cmd), 0);
  FILE *f = fopen(kp, "r");
  assert_non_null(f);
  assert_non_null(fgets(key, (int)kcap, f));
  fclose(f);
  snprintf(cmd, sizeof cmd,
           "base64 -d '%s' | sha256sum | cut -c1-32 | tr 0-9a-f a-p", kp);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  assert_non_null(fgets(id, 33, p));
  pclose(p);
  assert_int_equal(strlen(id), 32);
}

static void sha256_of(const char *path, char out[65]) {
  char cmd[800];
  snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  assert_non_null(fgets(out, 65, p));
  pclose(p);
}

static tcell *row_by_path(tresult *r, const osq_table_plugin *t,
                          const char *rel) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s", tfx_dir, rel);
  return tfind_text(r, tcol(t, "path"), path);
}

#define CHROME "home/alice/.config/google-chrome/Default"

static void put_chrome_fixture(const char *key) {
  char text[4096];
  snprintf(text, sizeof text,
           "{\"manifest_version\":2,\"name\":\"__MSG_appName__\","
           "\"version\":\"1.2.3\",\"default_locale\":\"en\","
           "\"description\":\"Plain\",\"author\":\"Ann\","
           "\"update_url\":\"https://clients2.google.com/service/update2/crx\","
           "\"background\":{\"persistent\":true},"
           "\"permissions\":[\"tabs\",\"storage\",{\"x\":1}],"
           "\"optional_permissions\":[\"https://*/*\"],"
           "\"key\":\"%s\","
           "\"content_scripts\":[{\"matches\":[\"https://a/*\",\"https://b/*\"],"
           "\"js\":[\"c1.js\",\"c2.js\"]},{\"matches\":[\"https://c/*\"]}]}",
           key);
  tfx_put(CHROME "/Extensions/aaaa/1.2.3_0/manifest.json", text);
  tfx_put(CHROME "/Extensions/aaaa/1.2.3_0/_locales/en/messages.json",
          "{\"APPNAME\":{\"message\":\"Localized Name\"}}");
  tfx_put(CHROME "/Extensions/bbbb/0.1_0/manifest.json",
          "{\"name\":\"Loose\",\"version\":\"0.1\"}");
  tfx_put(CHROME "/Extensions/cccc/9_0/manifest.json", "{\"name\": broken");
  tfx_put(CHROME "/Extensions/dddd/1_0/readme.txt", "no manifest");
  tfx_put("unpacked/ext/manifest.json",
          "{\"name\":\"Unpacked\",\"version\":\"7\","
          "\"background\":{\"persistent\":false}}");
  snprintf(text, sizeof text,
           "{\"profile\":{\"name\":\"Person 1\"},\"extensions\":{\"settings\":{"
           "\"idaaaa\":{\"path\":\"aaaa/1.2.3_0\",\"state\":1,"
           "\"from_webstore\":true,\"install_time\":\"13300000000000000\"},"
           "\"idunpacked\":{\"path\":\"%s/unpacked/ext\",\"state\":0,"
           "\"from_webstore\":false},"
           "\"idgone\":{\"path\":\"gone/1\"},"
           "\"nopath\":{\"state\":1}}}}",
           tfx_dir);
  tfx_put(CHROME "/Preferences", text);
  tfx_put(CHROME "/Secure Preferences", "{}");
  /* bob: Brave, settings only in Secure Preferences */
  tfx_put("home/bob/.config/BraveSoftware/Brave-Browser/Profile 1/"
          "Extensions/eeee/2_0/manifest.json",
          "{\"name\":\"Bravely\",\"version\":\"2\"}");
  tfx_put("home/bob/.config/BraveSoftware/Brave-Browser/Profile 1/"
          "Preferences",
          "{\"profile\":{\"name\":\"Bob\"}}");
  tfx_put("home/bob/.config/BraveSoftware/Brave-Browser/Profile 1/"
          "Secure Preferences",
          "{\"extensions\":{\"settings\":{\"ideeee\":{\"path\":\"eeee/2_0\","
          "\"state\":0}}}}");
  /* a profile whose Preferences are not JSON: no rows */
  tfx_put("home/bob/.config/chromium/Default/Preferences", "{{{");
  tfx_put("home/bob/.config/chromium/Default/Extensions/ffff/1/"
          "manifest.json", "{\"name\":\"Hidden\",\"version\":\"1\"}");
  /* Opera: the user-data directory is the profile, no profile name */
  tfx_put("home/bob/.config/opera/Preferences",
          "{\"extensions\":{\"opsettings\":{\"idgggg\":{\"path\":\"gggg/3\","
          "\"state\":1}}}}");
  tfx_put("home/bob/.config/opera/Extensions/gggg/3/manifest.json",
          "{\"name\":\"Op\",\"version\":\"3\"}");
}

static void test_chrome_extensions(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_chrome_extensions;
  char key[2048], id[33];
  make_key(key, sizeof key, id);
  put_chrome_fixture(key);

  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  /* aaaa, bbbb, unpacked (alice); eeee, gggg (bob) */
  assert_int_equal(r->n, 5);
  tcell *a = row_by_path(r, t, CHROME "/Extensions/aaaa/1.2.3_0");
  assert_non_null(a);
  assert_string_equal(a[tcol(t, "browser_type")].s, "chrome");
  assert_int_equal(a[tcol(t, "uid")].i, 1000);
  assert_string_equal(a[tcol(t, "name")].s, "Localized Name");
  assert_string_equal(a[tcol(t, "profile")].s, "Person 1");
  char want[700];
  snprintf(want, sizeof want, "%s/" CHROME, tfx_dir);
  assert_string_equal(a[tcol(t, "profile_path")].s, want);
  assert_string_equal(a[tcol(t, "referenced_identifier")].s, "idaaaa");
  assert_string_equal(a[tcol(t, "identifier")].s, id);
  assert_string_equal(a[tcol(t, "version")].s, "1.2.3");
  assert_string_equal(a[tcol(t, "description")].s, "Plain");
  assert_string_equal(a[tcol(t, "default_locale")].s, "en");
  assert_string_equal(a[tcol(t, "locale")].s, "en");
  assert_string_equal(a[tcol(t, "current_locale")].s, "");
  assert_string_equal(a[tcol(t, "author")].s, "Ann");
  assert_int_equal(a[tcol(t, "persistent")].i, 1);
  assert_string_equal(a[tcol(t, "permissions")].s, "tabs, storage");
  assert_string_equal(a[tcol(t, "optional_permissions")].s, "https://*/*");
  assert_int_equal(a[tcol(t, "referenced")].i, 1);
  assert_string_equal(a[tcol(t, "from_webstore")].s, "true");
  assert_string_equal(a[tcol(t, "state")].s, "1");
  assert_string_equal(a[tcol(t, "install_time")].s, "13300000000000000");
  assert_int_equal(a[tcol(t, "install_timestamp")].i, 1655526400);
  assert_string_equal(a[tcol(t, "key")].s, key);
  char hash[65];
  snprintf(want, sizeof want, "%s/" CHROME "/Extensions/aaaa/1.2.3_0/"
           "manifest.json", tfx_dir);
  sha256_of(want, hash);
  assert_string_equal(a[tcol(t, "manifest_hash")].s, hash);

  tcell *b = row_by_path(r, t, CHROME "/Extensions/bbbb/0.1_0");
  assert_non_null(b);
  assert_int_equal(b[tcol(t, "referenced")].i, 0);
  assert_string_equal(b[tcol(t, "identifier")].s, "");
  assert_string_equal(b[tcol(t, "state")].s, "");
  assert_int_equal(b[tcol(t, "install_timestamp")].i, 0);
  assert_string_equal(b[tcol(t, "permissions")].s, "");

  tcell *u = row_by_path(r, t, "unpacked/ext");
  assert_non_null(u);
  assert_int_equal(u[tcol(t, "referenced")].i, 1);
  assert_string_equal(u[tcol(t, "referenced_identifier")].s, "idunpacked");
  assert_string_equal(u[tcol(t, "from_webstore")].s, "false");
  assert_int_equal(u[tcol(t, "persistent")].i, 0);

  tcell *e = tfind_text(r, tcol(t, "name"), "Bravely");
  assert_non_null(e);
  assert_string_equal(e[tcol(t, "browser_type")].s, "brave");
  assert_int_equal(e[tcol(t, "uid")].i, 1001);
  assert_string_equal(e[tcol(t, "profile")].s, "Bob");
  assert_string_equal(e[tcol(t, "referenced_identifier")].s, "ideeee");
  assert_string_equal(e[tcol(t, "state")].s, "0");

  tcell *o = tfind_text(r, tcol(t, "name"), "Op");
  assert_non_null(o);
  assert_string_equal(o[tcol(t, "browser_type")].s, "opera");
  assert_string_equal(o[tcol(t, "profile")].s, "");
  assert_string_equal(o[tcol(t, "referenced_identifier")].s, "idgggg");
  assert_null(tfind_text(r, tcol(t, "name"), "Hidden"));
  tfree(r);

  /* uid: that user's profiles only (a JOIN against users arrives so) */
  r = trun_eq(t, "uid", "1001");
  assert_int_equal(r->n, 2);
  assert_null(tfind_text(r, tcol(t, "name"), "Localized Name"));
  tfree(r);

  /* the content scripts of the same profiles: 2 matches x 2 scripts; an
   * entry without "js" has none */
  const osq_table_plugin *cs = &osq_table_chrome_extension_content_scripts;
  r = trun_all(cs);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 4);
  for (size_t i = 0; i < r->n; i++) {
    tcell *c = r->rows[i];
    assert_string_equal(c[tcol(cs, "identifier")].s, id);
    assert_string_equal(c[tcol(cs, "version")].s, "1.2.3");
    assert_string_equal(c[tcol(cs, "browser_type")].s, "chrome");
    assert_int_equal(c[tcol(cs, "uid")].i, 1000);
    assert_int_equal(c[tcol(cs, "referenced")].i, 1);
  }
  size_t n = 0;
  for (size_t i = 0; i < r->n; i++)
    n += strcmp(r->rows[i][tcol(cs, "match")].s, "https://b/*") == 0 &&
         strcmp(r->rows[i][tcol(cs, "script")].s, "c2.js") == 0;
  assert_int_equal(n, 1);
  tfree(r);
}

/* ---- firefox_addons ---------------------------------------------------- */

static void test_firefox_addons(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_firefox_addons;
  tfx_put("home/alice/.mozilla/firefox/abcd.default-release/extensions.json",
          "{\"schemaVersion\":36,\"addons\":["
          "{\"id\":\"uBlock0@raymondhill.net\",\"type\":\"extension\","
          "\"version\":\"1.50.0\",\"sourceURI\":\"https://addons/u.xpi\","
          "\"visible\":true,\"active\":true,\"userDisabled\":false,"
          "\"appDisabled\":false,\"applyBackgroundUpdates\":1,"
          "\"location\":\"app-profile\",\"path\":\"/p/u.xpi\","
          "\"defaultLocale\":{\"name\":\"uBlock Origin\","
          "\"creator\":\"Raymond Hill\",\"description\":\"Blocker\"}},"
          "{\"id\":\"off@x\",\"type\":\"theme\",\"version\":\"2\","
          "\"visible\":false,\"active\":false,\"userDisabled\":true},"
          "\"not an object\",{}]}");
  tfx_put("home/alice/.mozilla/firefox/broken.default/extensions.json",
          "{\"addons\": [");
  tfx_put("home/alice/.mozilla/firefox/profiles.ini", "[General]\n");
  tfx_put("home/bob/snap/firefox/common/.mozilla/firefox/x.default/"
          "extensions.json",
          "{\"addons\":[{\"id\":\"snap@x\",\"version\":\"3\","
          "\"appDisabled\":true}]}");

  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 4);
  tcell *u = tfind_text(r, tcol(t, "identifier"), "uBlock0@raymondhill.net");
  assert_non_null(u);
  assert_int_equal(u[tcol(t, "uid")].i, 1000);
  assert_string_equal(u[tcol(t, "name")].s, "uBlock Origin");
  assert_string_equal(u[tcol(t, "creator")].s, "Raymond Hill");
  assert_string_equal(u[tcol(t, "description")].s, "Blocker");
  assert_string_equal(u[tcol(t, "type")].s, "extension");
  assert_string_equal(u[tcol(t, "version")].s, "1.50.0");
  assert_string_equal(u[tcol(t, "source_url")].s, "https://addons/u.xpi");
  assert_int_equal(u[tcol(t, "visible")].i, 1);
  assert_int_equal(u[tcol(t, "active")].i, 1);
  assert_int_equal(u[tcol(t, "disabled")].i, 0);
  assert_int_equal(u[tcol(t, "autoupdate")].i, 1);
  assert_string_equal(u[tcol(t, "location")].s, "app-profile");
  assert_string_equal(u[tcol(t, "path")].s, "/p/u.xpi");
  tcell *o = tfind_text(r, tcol(t, "identifier"), "off@x");
  assert_non_null(o);
  assert_int_equal(o[tcol(t, "disabled")].i, 1);
  assert_int_equal(o[tcol(t, "visible")].i, 0);
  assert_string_equal(o[tcol(t, "name")].s, "");
  assert_int_equal(o[tcol(t, "autoupdate")].kind, OSQ_VALUE_NULL);
  tcell *s = tfind_text(r, tcol(t, "identifier"), "snap@x");
  assert_non_null(s);
  assert_int_equal(s[tcol(t, "uid")].i, 1001);
  assert_int_equal(s[tcol(t, "disabled")].i, 1);
  tfree(r);

  r = trun_eq(t, "uid", "1001");
  assert_int_equal(r->n, 1);
  tfree(r);
}

/* ---- vscode_extensions ------------------------------------------------- */

static void test_vscode_extensions(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_vscode_extensions;
  tfx_put("home/alice/.vscode/extensions/extensions.json",
          "[{\"identifier\":{\"id\":\"ms-python.python\","
          "\"uuid\":\"f1f59ae4-9318-4f3c-a9b5-81b2eaa5f8a5\"},"
          "\"version\":\"2024.0.1\",\"location\":{\"$mid\":1,"
          "\"path\":\"/home/alice/.vscode/extensions/ms-python.python-2024.0.1\","
          "\"scheme\":\"file\"},\"relativeLocation\":\"ms-python.python-2024.0.1\","
          "\"metadata\":{\"installedTimestamp\":1700000000000,"
          "\"publisherId\":\"998b010b-e2af-44a5-a6cd-0b5fd3b9b6f8\","
          "\"publisherDisplayName\":\"Microsoft\","
          "\"isPreReleaseVersion\":false}},"
          "{\"identifier\":{\"id\":\"no.metadata\"},\"version\":\"1\","
          "\"location\":{\"path\":\"/x\"}},"
          "{\"identifier\":{\"id\":\"pre.release\"},\"version\":\"0.1\","
          "\"location\":{\"path\":\"/y\"},"
          "\"metadata\":{\"isPreReleaseVersion\":true}}]");
  tfx_put("home/bob/.vscode-server-insiders/extensions/extensions.json",
          "[{\"identifier\":{\"id\":\"a.b\"},\"version\":\"9\","
          "\"location\":{\"path\":\"/z\"},\"metadata\":{}}]");
  tfx_put("home/bob/.vscode/extensions/extensions.json", "{\"not\":\"array\"}");

  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 3);
  tcell *p = tfind_text(r, tcol(t, "name"), "ms-python.python");
  assert_non_null(p);
  assert_string_equal(p[tcol(t, "uuid")].s,
                      "f1f59ae4-9318-4f3c-a9b5-81b2eaa5f8a5");
  assert_string_equal(p[tcol(t, "version")].s, "2024.0.1");
  assert_string_equal(p[tcol(t, "path")].s,
                      "/home/alice/.vscode/extensions/ms-python.python-2024.0.1");
  assert_string_equal(p[tcol(t, "publisher")].s, "Microsoft");
  assert_string_equal(p[tcol(t, "publisher_id")].s,
                      "998b010b-e2af-44a5-a6cd-0b5fd3b9b6f8");
  assert_int_equal(p[tcol(t, "installed_at")].i, 1700000000000);
  assert_int_equal(p[tcol(t, "prerelease")].i, 0);
  assert_int_equal(p[tcol(t, "uid")].i, 1000);
  assert_string_equal(p[tcol(t, "vscode_edition")].s, "vscode");
  tcell *q = tfind_text(r, tcol(t, "name"), "pre.release");
  assert_non_null(q);
  assert_int_equal(q[tcol(t, "prerelease")].i, 1);
  assert_int_equal(q[tcol(t, "installed_at")].kind, OSQ_VALUE_NULL);
  tcell *b = tfind_text(r, tcol(t, "name"), "a.b");
  assert_non_null(b);
  assert_string_equal(b[tcol(t, "vscode_edition")].s, "vscode_insiders");
  assert_int_equal(b[tcol(t, "uid")].i, 1001);
  tfree(r);
  r = trun_eq(t, "uid", "1000");
  assert_int_equal(r->n, 2);
  tfree(r);
}

/* ---- jetbrains_plugins ------------------------------------------------- */

/* Jars are made by Python's zipfile (deflated unless "stored"). */
static void make_jar(const char *rel, const char *plugin_xml, bool stored) {
  char *path = tfx_put(rel, "");
  char *xml = tfx_put("plugin.xml.tmp", plugin_xml ? plugin_xml : "");
  char cmd[2000];
  snprintf(cmd, sizeof cmd,
           "python3 -c 'import zipfile, sys\n"
           "z = zipfile.ZipFile(sys.argv[1], \"w\", zipfile.%s)\n"
           "z.writestr(\"META-INF/MANIFEST.MF\", \"Manifest-Version: 1.0\\n\")\n"
           "if sys.argv[3] == \"1\": z.write(sys.argv[2], "
           "\"META-INF/plugin.xml\")\n"
           "z.writestr(\"a/B.class\", b\"\\xca\\xfe\" * 5000)\n"
           "z.close()' '%s' '%s' %d",
           stored ? "ZIP_STORED" : "ZIP_DEFLATED", path, xml,
           plugin_xml != NULL);
  assert_int_equal(system(cmd), 0);
}

#define JB "home/alice/.local/share/JetBrains"

static void test_jetbrains_plugins(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_jetbrains_plugins;
  if (system("python3 -c 'import zipfile' 2>/dev/null") != 0)
    skip();
  make_jar(JB "/IntelliJIdea2024.3/plugins/simple.jar",
           "<idea-plugin>\n  <id>com.acme.simple</id>\n"
           "  <name>Simple</name>\n"
           "  <vendor url=\"https://acme\" email=\"a@acme\">\n    Acme\n"
           "  </vendor>\n  <version>1.3.18</version>\n"
           "  <depends>com.intellij.modules.platform</depends>\n"
           "</idea-plugin>\n",
           false);
  make_jar(JB "/IntelliJIdea2024.3/plugins/big-plugin/lib/resources_en.jar",
           "<idea-plugin><name>Wrong</name></idea-plugin>", false);
  make_jar(JB "/IntelliJIdea2024.3/plugins/big-plugin/lib/gson-2.8.0.jar",
           "<idea-plugin><name>Wrong too</name></idea-plugin>", false);
  make_jar(JB "/IntelliJIdea2024.3/plugins/big-plugin/lib/big-plugin.jar",
           "<idea-plugin><name>Big</name><version>2.0</version>"
           "<vendor>Big Co</vendor></idea-plugin>",
           true);
  make_jar(JB "/IntelliJIdea2024.3/plugins/noxml.jar", NULL, false);
  tfx_put(JB "/IntelliJIdea2024.3/plugins/garbage.jar", "PK\x03\x04 junk");
  make_jar(JB "/PyCharmCE2024.1/plugins/ce.jar",
           "<idea-plugin><name>CE</name><version>1</version></idea-plugin>",
           false);
  make_jar("home/bob/.local/share/JetBrains/GoLand2023.2/plugins/go.jar",
           "<idea-plugin><name>Go</name><version>3</version></idea-plugin>",
           false);
  /* a jar cut short: no row, no failure */
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "head -c 300 '%s/" JB "/IntelliJIdea2024.3/"
           "plugins/simple.jar' > '%s/" JB "/IntelliJIdea2024.3/plugins/"
           "cut.jar'", tfx_dir, tfx_dir);
  assert_int_equal(system(cmd), 0);

  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 4);
  tcell *s = tfind_text(r, tcol(t, "name"), "Simple");
  assert_non_null(s);
  assert_string_equal(s[tcol(t, "product_type")].s, "intellij_idea");
  assert_int_equal(s[tcol(t, "uid")].i, 1000);
  assert_string_equal(s[tcol(t, "vendor")].s, "Acme");
  assert_string_equal(s[tcol(t, "version")].s, "1.3.18");
  char want[700];
  snprintf(want, sizeof want, "%s/" JB "/IntelliJIdea2024.3/plugins/"
           "simple.jar", tfx_dir);
  assert_string_equal(s[tcol(t, "path")].s, want);
  tcell *b = tfind_text(r, tcol(t, "name"), "Big");
  assert_non_null(b);
  assert_string_equal(b[tcol(t, "vendor")].s, "Big Co");
  snprintf(want, sizeof want, "%s/" JB "/IntelliJIdea2024.3/plugins/"
           "big-plugin", tfx_dir);
  assert_string_equal(b[tcol(t, "path")].s, want);
  tcell *ce = tfind_text(r, tcol(t, "name"), "CE");
  assert_non_null(ce);
  assert_string_equal(ce[tcol(t, "product_type")].s,
                      "pycharm_community_edition");
  tcell *g = tfind_text(r, tcol(t, "name"), "Go");
  assert_non_null(g);
  assert_string_equal(g[tcol(t, "product_type")].s, "goland");
  assert_int_equal(g[tcol(t, "uid")].i, 1001);
  tfree(r);
  r = trun_eq(t, "uid", "1001");
  assert_int_equal(r->n, 1);
  tfree(r);
}

/* ---- portage_packages, portage_use, portage_keywords ------------------- */

static void test_portage(void **state) {
  (void)state;
  tfx_put("root/var/db/pkg/sys-apps/portage-3.0.49-r1/SLOT", "0\n");
  tfx_put("root/var/db/pkg/sys-apps/portage-3.0.49-r1/SIZE", "12345\n");
  tfx_put("root/var/db/pkg/sys-apps/portage-3.0.49-r1/EAPI", "8\n");
  tfx_put("root/var/db/pkg/sys-apps/portage-3.0.49-r1/BUILD_TIME",
          "1700000000\n");
  tfx_put("root/var/db/pkg/sys-apps/portage-3.0.49-r1/repository",
          "gentoo\n");
  tfx_put("root/var/db/pkg/sys-apps/portage-3.0.49-r1/USE",
          "amd64 ipc native-extensions\n");
  tfx_put("root/var/db/pkg/dev-lang/python-3.11.8_p1/SLOT", "3.11\n");
  tfx_put("root/var/db/pkg/dev-lang/python-3.11.8_p1/EAPI", "not a number");
  tfx_put("root/var/db/pkg/app-misc/foo-bar-1.0/USE", "");
  tfx_put("root/var/db/pkg/app-misc/stray-file", "");
  tfx_put("root/var/lib/portage/world",
          "sys-apps/portage\n# comment\n\ndev-lang/python:3.11\n");

  const osq_table_plugin *t = &osq_table_portage_packages;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 3);
  tcell *p = tfind_text(r, tcol(t, "package"), "sys-apps/portage");
  assert_non_null(p);
  assert_string_equal(p[tcol(t, "version")].s, "3.0.49-r1");
  assert_string_equal(p[tcol(t, "slot")].s, "0");
  assert_int_equal(p[tcol(t, "size")].i, 12345);
  assert_int_equal(p[tcol(t, "eapi")].i, 8);
  assert_int_equal(p[tcol(t, "build_time")].i, 1700000000);
  assert_string_equal(p[tcol(t, "repository")].s, "gentoo");
  assert_int_equal(p[tcol(t, "world")].i, 1);
  tcell *py = tfind_text(r, tcol(t, "package"), "dev-lang/python");
  assert_non_null(py);
  assert_string_equal(py[tcol(t, "version")].s, "3.11.8_p1");
  assert_int_equal(py[tcol(t, "world")].i, 1);
  assert_int_equal(py[tcol(t, "eapi")].kind, OSQ_VALUE_NULL);
  assert_int_equal(py[tcol(t, "size")].kind, OSQ_VALUE_NULL);
  tcell *f = tfind_text(r, tcol(t, "package"), "app-misc/foo-bar");
  assert_non_null(f);
  assert_string_equal(f[tcol(t, "version")].s, "1.0");
  assert_int_equal(f[tcol(t, "world")].i, 0);
  tfree(r);

  t = &osq_table_portage_use;
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 3);
  for (size_t i = 0; i < r->n; i++) {
    assert_string_equal(r->rows[i][tcol(t, "package")].s, "sys-apps/portage");
    assert_string_equal(r->rows[i][tcol(t, "version")].s, "3.0.49-r1");
  }
  assert_non_null(tfind_text(r, tcol(t, "use"), "native-extensions"));
  tfree(r);

  tfx_put("root/etc/portage/package.keywords/local",
          "=sys-apps/portage-3.0.49-r1 ~amd64\n# c\n"
          ">=dev-lang/python-3.12 ~amd64\napp-misc/hashed #comment\n");
  tfx_put("root/etc/portage/package.mask",
          ">=dev-lang/python-3.12\n<app-misc/foo-bar-2\n");
  tfx_put("root/etc/portage/package.unmask", "app-misc/baz\n");
  t = &osq_table_portage_keywords;
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 4);
  tcell *k = tfind_text(r, tcol(t, "package"), "sys-apps/portage");
  assert_non_null(k);
  assert_string_equal(k[tcol(t, "version")].s, "3.0.49-r1");
  assert_string_equal(k[tcol(t, "keyword")].s, "~amd64");
  assert_int_equal(k[tcol(t, "mask")].i, 0);
  assert_int_equal(k[tcol(t, "unmask")].i, 0);
  k = tfind_text(r, tcol(t, "package"), "dev-lang/python");
  assert_non_null(k);
  assert_string_equal(k[tcol(t, "version")].s, ">=3.12");
  assert_int_equal(k[tcol(t, "mask")].i, 1);
  k = tfind_text(r, tcol(t, "package"), "app-misc/foo-bar");
  assert_non_null(k);
  assert_string_equal(k[tcol(t, "version")].s, "<2");
  assert_string_equal(k[tcol(t, "keyword")].s, "");
  assert_int_equal(k[tcol(t, "mask")].i, 1);
  k = tfind_text(r, tcol(t, "package"), "app-misc/baz");
  assert_non_null(k);
  assert_string_equal(k[tcol(t, "version")].s, "");
  assert_int_equal(k[tcol(t, "unmask")].i, 1);
  tfree(r);
}

/* No portage at all: empty, not an error. */
static void test_portage_absent(void **state) {
  (void)state;
  osq_tables_apps_root = "/nonexistent-osq-root";
  tresult *r = trun_all(&osq_table_portage_packages);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  r = trun_all(&osq_table_portage_keywords);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_tables_apps_root = root;
}

/* ---- secureboot, secureboot_certificates ------------------------------- */

#define GG "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define DBG "d719b2cb-3d3a-4596-a3bc-dad00e67656f"

/* One line of a command's output (without its newline). */
static void run_line(const char *cmd, char *out, size_t cap) {
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  if (fgets(out, (int)cap, p) == NULL)
    out[0] = '\0';
  out[strcspn(out, "\n")] = '\0';
  assert_int_equal(pclose(p), 0);
}

static void test_secureboot(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_secureboot;
  /* no efivars (this machine, like any BIOS boot): no row */
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  char cmd[1200];
  snprintf(cmd, sizeof cmd,
           "mkdir -p '%s/root/sys/firmware/efi/efivars' && cd '%s/root/sys/"
           "firmware/efi/efivars' && printf '\\006\\000\\000\\000\\001' > "
           "SecureBoot-" GG " && printf '\\006\\000\\000\\000\\000' > "
           "SetupMode-" GG,
           tfx_dir, tfx_dir);
  assert_int_equal(system(cmd), 0);
  r = trun_all(t);
  assert_int_equal(r->n, 1);
  assert_int_equal(r->rows[0][tcol(t, "secure_boot")].i, 1);
  assert_int_equal(r->rows[0][tcol(t, "setup_mode")].i, 0);
  tfree(r);
  /* a value that is not a boolean reads -1 */
  snprintf(cmd, sizeof cmd,
           "printf '\\006\\000\\000\\000\\007' > '%s/root/sys/firmware/efi/"
           "efivars/SetupMode-" GG "'", tfx_dir);
  assert_int_equal(system(cmd), 0);
  r = trun_all(t);
  assert_int_equal(r->rows[0][tcol(t, "setup_mode")].i, -1);
  tfree(r);
}

static void test_secureboot_certificates(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_secureboot_certificates;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 0);
  tfree(r);
  /* certificates by openssl(1), signature lists by Python */
  char cmd[4000];
  snprintf(cmd, sizeof cmd,
           "cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key"
           " -subj '/C=US/O=Osq Test/CN=osq db ca' -days 3650 -outform DER "
           "-out ca.der -addext basicConstraints=critical,CA:TRUE "
           "-addext keyUsage=keyCertSign,cRLSign 2>/dev/null && "
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
           "-nodes -keyout ec.key -subj '/CN=osq revoked' -days 30 "
           "-outform DER -out ec.der 2>/dev/null && python3 -c '"
           "import struct, sys\n"
           "x509 = bytes.fromhex(\"a159c0a5e494a74a87b5ab155c2bf072\")\n"
           "sha = bytes.fromhex(\"2616c4c14c509240aca941f936934328\")\n"
           "owner = b\"\\x11\" * 16\n"
           "def esl(t, sig): return t + struct.pack(\"<III\", 28 + 16 + "
           "len(sig), 0, 16 + len(sig)) + owner + sig\n"
           "attrs = b\"\\x27\\x00\\x00\\x00\"\n"
           "ca = open(\"ca.der\", \"rb\").read(); ec = open(\"ec.der\", "
           "\"rb\").read()\n"
           "d = \"root/sys/firmware/efi/efivars/\"\n"
           "open(d + \"db-" DBG "\", \"wb\").write(attrs + esl(sha, b\"\\x22\" "
           "* 32) + esl(x509, ca) + esl(x509, b\"\\x30\\x03junk\"))\n"
           "open(d + \"dbx-" DBG "\", \"wb\").write(attrs + esl(x509, ec) + "
           "struct.pack(\"<16sIII\", x509, 999999, 0, 0))\n'",
           tfx_dir);
  assert_int_equal(system(cmd), 0);
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 2);
  tcell *ca = tfind_text(r, tcol(t, "common_name"), "osq db ca");
  assert_non_null(ca);
  assert_string_equal(ca[tcol(t, "subject")].s, "/C=US/O=Osq Test/CN=osq db ca");
  assert_string_equal(ca[tcol(t, "issuer")].s, "/C=US/O=Osq Test/CN=osq db ca");
  assert_int_equal(ca[tcol(t, "revoked")].i, 0);
  assert_int_equal(ca[tcol(t, "is_ca")].i, 1);
  assert_int_equal(ca[tcol(t, "self_signed")].i, 1);
  assert_string_equal(ca[tcol(t, "key_usage")].s, "CRL Sign, Key Cert Sign");
  assert_string_equal(ca[tcol(t, "key_algorithm")].s, "rsaEncryption");
  assert_string_equal(ca[tcol(t, "key_strength")].s, "2048");
  assert_string_equal(ca[tcol(t, "signing_algorithm")].s,
                      "sha256WithRSAEncryption");
  char want[600];
  snprintf(cmd, sizeof cmd,
           "openssl x509 -inform DER -in '%s/ca.der' -noout -fingerprint "
           "-sha1 | cut -d= -f2 | tr -d : | tr A-F a-f", tfx_dir);
  run_line(cmd, want, sizeof want);
  assert_string_equal(ca[tcol(t, "sha1")].s, want);
  snprintf(cmd, sizeof cmd,
           "openssl x509 -inform DER -in '%s/ca.der' -noout -serial | "
           "cut -d= -f2", tfx_dir);
  run_line(cmd, want, sizeof want);
  assert_string_equal(ca[tcol(t, "serial")].s, want);
  snprintf(cmd, sizeof cmd,
           "date -u -d \"$(openssl x509 -inform DER -in '%s/ca.der' -noout "
           "-enddate | cut -d= -f2)\" +%%s", tfx_dir);
  run_line(cmd, want, sizeof want);
  assert_string_equal(ca[tcol(t, "not_valid_after")].s, want);
  snprintf(cmd, sizeof cmd,
           "openssl x509 -inform DER -in '%s/ca.der' -noout -ext "
           "subjectKeyIdentifier | tail -1 | tr -d ' :' | tr A-F a-f",
           tfx_dir);
  run_line(cmd, want, sizeof want);
  assert_string_equal(ca[tcol(t, "subject_key_id")].s, want);
  snprintf(want, sizeof want,
           "%s/root/sys/firmware/efi/efivars/db-" DBG, tfx_dir);
  assert_string_equal(ca[tcol(t, "path")].s, want);

  tcell *ec = tfind_text(r, tcol(t, "common_name"), "osq revoked");
  assert_non_null(ec);
  assert_int_equal(ec[tcol(t, "revoked")].i, 1);
  assert_string_equal(ec[tcol(t, "key_algorithm")].s, "id-ecPublicKey");
  assert_string_equal(ec[tcol(t, "key_strength")].s, "prime256v1");
  assert_string_equal(ec[tcol(t, "signing_algorithm")].s, "ecdsa-with-SHA256");
  tfree(r);
}

/* ---- carbon_black_info -------------------------------------------------- */

static void put_bytes(const char *rel, size_t n) {
  char *buf = malloc(n + 1);
  memset(buf, 'q', n);
  buf[n] = '\0';
  tfx_put(rel, buf);
  free(buf);
}

static void test_carbon_black_info(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_carbon_black_info;
  assert_string_equal(t->aliases[0], "cb_info");
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0); /* no sensor */
  tfree(r);
  tfx_put("root/var/lib/cb/sensor.id", "0123456789a0001f");
  tfx_put("root/var/lib/cb/sensorsettings.ini",
          "; Carbon Black\n[Other]\nCollectStoreFiles=7\n"
          "[CB]\nConfigName=Default%20Group\nCollectStoreFiles = 1\n"
          "CollectModuleLoads=0\nCollectProcesses=1\nCollectCrossProcess=1\n"
          "SensorBackendServer=https%3A//cb.example%3A443\n"
          "CollectNetConns=not a number\n");
  put_bytes("root/var/lib/cb/store/filedata", 100);
  put_bytes("root/var/lib/cb/store/metadata", 50);
  put_bytes("root/var/lib/cb/events.log", 30);
  put_bytes("root/var/lib/cb/q/events", 20);
  put_bytes("root/var/lib/cb/q/other", 1000);
  r = trun_all(t);
  assert_int_equal(r->n, 1);
  tcell *c = r->rows[0];
  assert_int_equal(c[tcol(t, "sensor_id")].i, 31);
  assert_string_equal(c[tcol(t, "config_name")].s, "Default Group");
  assert_int_equal(c[tcol(t, "collect_store_files")].i, 1);
  assert_int_equal(c[tcol(t, "collect_module_loads")].i, 0);
  assert_int_equal(c[tcol(t, "collect_processes")].i, 1);
  assert_int_equal(c[tcol(t, "collect_cross_processes")].i, 1);
  assert_int_equal(c[tcol(t, "collect_net_conns")].i, -1);
  assert_int_equal(c[tcol(t, "collect_emet_events")].i, -1);
  assert_int_equal(c[tcol(t, "protection_disabled")].i, 0);
  assert_string_equal(c[tcol(t, "sensor_backend_server")].s,
                      "https://cb.example:443");
  assert_string_equal(c[tcol(t, "sensor_ip_addr")].s, "");
  assert_int_equal(c[tcol(t, "binary_queue")].i, 150);
  assert_int_equal(c[tcol(t, "event_queue")].i, 50);
  tfree(r);
}

/* ---- prometheus_metrics ------------------------------------------------- */

#include <arpa/inet.h>
#include <dlfcn.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "tables/tables.h"

static const char exposition[] =
    "# HELP node_load1 1m load average.\n"
    "# TYPE node_load1 gauge\n"
    "node_load1 0.25\n"
    "\n"
    "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
    "weird{path=\"a b}\"} +Inf\n"
    "nan_metric NaN\n"
    "no_value\n"
    "bad_value abc\r\n"
    "  go_goroutines   8\n";

typedef struct server {
  int fd;
  int requests; /* how many to answer before the thread ends */
} server;

/* Answers /metrics with the exposition, anything else with 404. */
static void *serve(void *u) {
  server *s = u;
  for (int i = 0; i < s->requests; i++) {
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
      break;
    char req[4096];
    size_t n = 0;
    while (n < sizeof req - 1) {
      ssize_t r = recv(c, req + n, sizeof req - 1 - n, 0);
      if (r <= 0)
        break;
      n += (size_t)r;
      req[n] = '\0';
      if (strstr(req, "\r\n\r\n"))
        break;
    }
    req[n] = '\0';
    char resp[2048];
    if (strncmp(req, "GET /metrics ", 13) == 0)
      snprintf(resp, sizeof resp,
               "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
               "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
               strlen(exposition), exposition);
    else
      snprintf(resp, sizeof resp,
               "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
               "Connection: close\r\n\r\nnot found");
    size_t off = 0, len = strlen(resp);
    while (off < len) {
      ssize_t w = send(c, resp + off, len - off, MSG_NOSIGNAL);
      if (w <= 0)
        break;
      off += (size_t)w;
    }
    close(c);
  }
  return NULL;
}

static int listen_loopback(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 8), 0);
  socklen_t al = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static void test_prometheus_metrics(void **state) {
  (void)state;
  void *curl = dlopen("libcurl.so.4", RTLD_NOW | RTLD_NOLOAD);
  if (curl == NULL)
    curl = dlopen("libcurl.so.4", RTLD_NOW);
  if (curl == NULL)
    curl = dlopen("libcurl-gnutls.so.4", RTLD_NOW);
  if (curl == NULL)
    skip(); /* the table is empty without libcurl: nothing to compare */
  const osq_table_plugin *t = &osq_table_prometheus_metrics;
  /* no section: no rows, no error */
  osq_tables_set_prometheus_targets(NULL);
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);

  int port, dead_port;
  server s = {.requests = 2};
  s.fd = listen_loopback(&port);
  int dead = listen_loopback(&dead_port);
  close(dead); /* nothing listens there now: connection refused */
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, serve, &s), 0);
  char text[600];
  snprintf(text, sizeof text,
           "{\"timeout\": 60, \"urls\": [\"http://127.0.0.1:%d/metrics\", "
           "\"http://127.0.0.1:%d/missing\", \"http://127.0.0.1:%d/metrics\", "
           "\"ftp://127.0.0.1:%d/x\", 7]}",
           port, port, dead_port, port);
  json_t *cfg = json_loads(text, 0, NULL);
  assert_non_null(cfg);
  osq_tables_set_prometheus_targets(cfg);
  json_decref(cfg);
  int64_t before = (int64_t)time(NULL) * 1000;
  r = trun_all(t);
  int64_t after = (int64_t)time(NULL) * 1000 + 1000;
  assert_int_equal(pthread_join(th, NULL), 0);
  close(s.fd);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 5);
  char url[100];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
  for (size_t i = 0; i < r->n; i++) {
    assert_string_equal(r->rows[i][tcol(t, "target_name")].s, url);
    int64_t ts = r->rows[i][tcol(t, "timestamp_ms")].i;
    assert_true(ts >= before && ts <= after);
  }
  tcell *c = tfind_text(r, tcol(t, "metric_name"), "node_load1");
  assert_non_null(c);
  assert_true(c[tcol(t, "metric_value")].d == 0.25);
  c = tfind_text(r, tcol(t, "metric_name"),
                 "http_requests_total{method=\"post\",code=\"200\"}");
  assert_non_null(c);
  assert_true(c[tcol(t, "metric_value")].d == 1027);
  c = tfind_text(r, tcol(t, "metric_name"), "weird{path=\"a b}\"}");
  assert_non_null(c);
  assert_true(isinf(c[tcol(t, "metric_value")].d));
  assert_non_null(tfind_text(r, tcol(t, "metric_name"), "nan_metric"));
  c = tfind_text(r, tcol(t, "metric_name"), "go_goroutines");
  assert_non_null(c);
  assert_true(c[tcol(t, "metric_value")].d == 8);
  tfree(r);
  osq_tables_set_prometheus_targets(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_python_packages),
      cmocka_unit_test(test_python_packages_system),
      cmocka_unit_test(test_npm_packages),
      cmocka_unit_test(test_npm_packages_global),
      cmocka_unit_test(test_chrome_extensions),
      cmocka_unit_test(test_firefox_addons),
      cmocka_unit_test(test_vscode_extensions),
      cmocka_unit_test(test_jetbrains_plugins),
      cmocka_unit_test(test_portage),
      cmocka_unit_test(test_portage_absent),
      cmocka_unit_test(test_secureboot),
      cmocka_unit_test(test_secureboot_certificates),
      cmocka_unit_test(test_carbon_black_info),
      cmocka_unit_test(test_prometheus_metrics),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
