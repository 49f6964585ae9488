/* Launch and supervision with real (fake) children: shell and Python
 * scripts written into a private directory. Every wait polls a state or
 * a file with a deadline; no assertion is about wall-clock time. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "loader_fixture.h"

#include "core/flags.h"
#include "core/log.h"
#include "ext/loader/loader.h"
#include "registry/registry.h"
#include "test_tables_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "settings/ext_settings.h"

/* The settings the shell would pass, from the flags this test set. */
static const osq_ext_settings *settings_from_flags(void) {
  static osq_ext_settings s;
  osq_ext_settings_from_flags(&s);
  return &s;
}


/* ---- captured status log -------------------------------------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[65536];
static size_t loglen;

static void sink(const osq_status_line *st, void *u) {
  (void)u;
  pthread_mutex_lock(&log_mu);
  int n = snprintf(logbuf + loglen, sizeof logbuf - loglen, "%c|%s\n",
                   "IWEF"[st->severity & 3], st->message);
  if (n > 0 && loglen + (size_t)n < sizeof logbuf)
    loglen += (size_t)n;
  pthread_mutex_unlock(&log_mu);
}

static void log_clear(void) {
  pthread_mutex_lock(&log_mu);
  loglen = 0;
  logbuf[0] = '\0';
  pthread_mutex_unlock(&log_mu);
}

/* The first captured line containing needle, copied into out. */
static bool log_find(const char *needle, char *out, size_t cap) {
  pthread_mutex_lock(&log_mu);
  char *hit = strstr(logbuf, needle);
  if (hit && out) {
    char *bol = hit;
    while (bol > logbuf && bol[-1] != '\n')
      bol--;
    char *eol = strchr(hit, '\n');
    size_t n = eol ? (size_t)(eol - bol) : strlen(bol);
    if (n >= cap)
      n = cap - 1;
    memcpy(out, bol, n);
    out[n] = '\0';
  }
  pthread_mutex_unlock(&log_mu);
  return hit != NULL;
}

/* ---- helpers --------------------------------------------------------- */

/* The budget for anything that should happen: a loaded machine meets it;
 * every wait below ends as soon as its condition holds. */
#define WAIT_MS 60000

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tick(void) {
  struct timespec ts = {0, 10 * 1000000L};
  nanosleep(&ts, NULL);
}

/* A line is logged by the supervisor's thread, possibly just after the
 * state a test waited for: wait for the line too. */
static bool wait_log(const char *needle, char *out, size_t cap) {
  int64_t deadline = now_ms() + WAIT_MS;
  while (!log_find(needle, out, cap)) {
    if (now_ms() >= deadline)
      return false;
    tick();
  }
  return true;
}

/* Alive and not a zombie. */
static bool proc_alive(pid_t pid) {
  char p[64], buf[512];
  snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(p, "r");
  if (!f)
    return false;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *rp = strrchr(buf, ')');
  return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

static bool wait_gone(pid_t pid, int ms) {
  int64_t deadline = now_ms() + ms;
  while (now_ms() < deadline) {
    if (!proc_alive(pid))
      return true;
    tick();
  }
  return !proc_alive(pid);
}

/* Read a whole small file once it holds "END". */
static bool wait_file(const char *path, char *out, size_t cap, int ms) {
  int64_t deadline = now_ms() + ms;
  do {
    FILE *f = fopen(path, "r");
    if (f) {
      size_t n = fread(out, 1, cap - 1, f);
      fclose(f);
      out[n] = '\0';
      if (strstr(out, "END"))
        return true;
    }
    tick();
  } while (now_ms() < deadline);
  return false;
}

static osq_loader *new_loader(void) {
  osq_loader *l = osq_loader_new("/nonexistent/osq.em", settings_from_flags());
  assert_non_null(l);
  osq_loader_opts *o = osq_loader_options(l);
  o->backoff_base_ms = 100;
  o->backoff_max_ms = 10000;
  o->giveup_deaths = 20;
  o->giveup_window_ms = 60000;
  o->check_interval_ms = 100;
  o->stop_timeout_ms = 2000;
  return l;
}

static void add(osq_loader *l, const char *path) {
  char err[1024];
  int rc = osq_loader_add_path(l, path, false, err, sizeof err);
  if (rc)
    fail_msg("%s", err);
}

static pid_t only_pid(osq_loader *l) {
  pid_t p = 0;
  return osq_loader_pids(l, &p, 1) == 1 ? p : 0;
}

/* Wait for slot 0 to run with a pid other than old. */
static pid_t wait_new_pid(osq_loader *l, pid_t old, int ms) {
  int64_t deadline = now_ms() + ms;
  while (now_ms() < deadline) {
    osq_ext_proc_info info;
    if (osq_loader_info(l, 0, &info) && info.state == OSQ_EXT_RUNNING &&
        info.pid > 0 && info.pid != old)
      return info.pid;
    tick();
  }
  return 0;
}

static bool wait_state(osq_loader *l, osq_ext_state st, int ms) {
  int64_t deadline = now_ms() + ms;
  while (now_ms() < deadline) {
    osq_ext_proc_info info;
    if (osq_loader_info(l, 0, &info) && info.state == st)
      return true;
    tick();
  }
  return false;
}

static int setup(void **state) {
  (void)state;
  scratch_make("loader_sup");
  osq_log_set_sink(sink, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  osq_log_set_sink(NULL, NULL);
  return scratch_remove();
}

/* ---- tests ----------------------------------------------------------- */

static void test_launch_environment(void **state) {
  (void)state;
  char p[PATH_MAX], out[PATH_MAX], script[4 * PATH_MAX], buf[4096];
  pathf(p, "env.ext");
  pathf(out, "env.out");
  unlink(out);
  /* A descriptor the child must not inherit (not close-on-exec here). */
  int leak = open("/dev/null", O_RDONLY);
  assert_true(leak >= 0);
  assert_true(dup2(leak, 77) == 77);
  close(leak);
  snprintf(script, sizeof script,
           "#!/bin/sh\n"
           "{ echo \"args=$*\"; echo \"ext=$OSQUERY_EXTENSION\";"
           "  echo \"exts=$OSQUERY_EXTENSIONS\";"
           "  echo \"stdin=$(readlink /proc/$$/fd/0)\";"
           "  if [ -e /proc/$$/fd/77 ]; then echo fd77=open; "
           "  else echo fd77=closed; fi;"
           "  echo \"pgrp=$(cut -d' ' -f5 /proc/$$/stat)\"; echo END; } > '%s'\n"
           "exec sleep 600\n",
           out);
  put_file(p, script, 0755);

  osq_loader *l = new_loader();
  add(l, p);
  assert_int_equal(osq_loader_count(l), 1);
  assert_int_equal(osq_loader_start(l), 1);
  pid_t pid = only_pid(l);
  assert_true(pid > 0);
  assert_true(wait_file(out, buf, sizeof buf, WAIT_MS));
  char want[256];
  assert_non_null(strstr(
      buf, "args=--socket /nonexistent/osq.em --timeout 3 --interval 3\n"));
  snprintf(want, sizeof want, "ext=%d\n", (int)pid);
  assert_non_null(strstr(buf, want));
  assert_non_null(strstr(buf, "exts=true\n"));
  assert_non_null(strstr(buf, "stdin=/dev/null\n"));
  assert_non_null(strstr(buf, "fd77=closed\n"));
  snprintf(want, sizeof want, "pgrp=%d\n", (int)pid);
  assert_non_null(strstr(buf, want));
  close(77);

  osq_loader_stop(l);
  assert_int_equal(osq_loader_pids(l, NULL, 0), 0);
  assert_false(proc_alive(pid));
  osq_ext_proc_info info;
  assert_true(osq_loader_info(l, 0, &info));
  assert_int_equal(info.state, OSQ_EXT_STOPPED);
  osq_loader_free(l);
}

typedef struct hook_rec {
  pthread_mutex_t mu;
  pid_t pids[16];
  size_t n;
} hook_rec;

static void on_exit_hook(pid_t pid, const char *path, void *u) {
  (void)path;
  hook_rec *h = u;
  pthread_mutex_lock(&h->mu);
  if (h->n < 16)
    h->pids[h->n++] = pid;
  pthread_mutex_unlock(&h->mu);
}

static void test_restart_backoff_grows(void **state) {
  (void)state;
  char p[PATH_MAX];
  pathf(p, "sleeper.ext");
  put_file(p, "#!/bin/sh\nexec sleep 600\n", 0755);
  log_clear();
  osq_loader *l = new_loader();
  hook_rec h = {.mu = PTHREAD_MUTEX_INITIALIZER};
  osq_loader_set_exit_hook(l, on_exit_hook, &h);
  add(l, p);
  assert_int_equal(osq_loader_start(l), 1);
  pid_t pid = only_pid(l);
  int64_t seen[3];
  for (int i = 0; i < 3; i++) {
    assert_true(pid > 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    pid_t np = wait_new_pid(l, pid, WAIT_MS);
    assert_true(np > 0);
    /* never two copies: the old one is reaped before the new one runs */
    assert_false(proc_alive(pid));
    osq_ext_proc_info info;
    assert_true(osq_loader_info(l, 0, &info));
    assert_int_equal(info.restarts, (unsigned)i + 1);
    assert_string_equal(info.last_exit, "killed by signal 9 SIGKILL");
    seen[i] = info.last_backoff_ms;
    pid = np;
  }
  assert_int_equal(seen[0], 100);
  assert_int_equal(seen[1], 200);
  assert_int_equal(seen[2], 400);
  char line[512];
  assert_true(wait_log("restarting it in 400 ms (restart 3)", line,
                       sizeof line));
  char want[PATH_MAX + 64];
  snprintf(want, sizeof want, "W|extension %s (pid ", p);
  assert_true(strncmp(line, want, strlen(want)) == 0);
  pthread_mutex_lock(&h.mu);
  assert_int_equal(h.n, 3);
  pthread_mutex_unlock(&h.mu);
  osq_loader_free(l);
  assert_false(proc_alive(pid));
}

static void test_crash_loop_gives_up(void **state) {
  (void)state;
  char p[PATH_MAX];
  pathf(p, "crasher.ext");
  put_file(p, "#!/bin/sh\nexit 3\n", 0755);
  log_clear();
  osq_loader *l = new_loader();
  osq_loader_opts *o = osq_loader_options(l);
  o->backoff_base_ms = 10;
  o->giveup_deaths = 3;
  add(l, p);
  osq_loader_start(l);
  assert_true(wait_state(l, OSQ_EXT_FAILED, WAIT_MS));
  osq_ext_proc_info info;
  assert_true(osq_loader_info(l, 0, &info));
  assert_int_equal(info.restarts, 2);
  assert_string_equal(info.last_exit, "exited with 3");
  assert_int_equal(info.pid, 0);
  char line[1024], want[PATH_MAX + 128];
  snprintf(want, sizeof want,
           "E|extension %s keeps dying: 3 exits within 60 s (last: (pid ", p);
  assert_true(wait_log("keeps dying", line, sizeof line));
  assert_true(strncmp(line, want, strlen(want)) == 0);
  assert_non_null(strstr(line, ") exited with 3); not restarting it. Fix it, "
                               "then restart osq"));
  osq_loader_free(l);
}

static void set_flag(const char *name, const char *value) {
  char err[256];
  assert_int_equal(osq_flag_set(name, value, err, sizeof err), 0);
}

static void test_memory_limit_kills_and_restarts(void **state) {
  (void)state;
  if (access("/usr/bin/python3", X_OK) != 0)
    skip();
  char p[PATH_MAX];
  pathf(p, "hog.ext");
  put_file(p,
           "#!/usr/bin/python3\n"
           "import time\n"
           "b = bytearray(64 << 20)\n"
           "for i in range(0, len(b), 4096):\n"
           "    b[i] = 1\n"
           "time.sleep(600)\n",
           0755);
  set_flag("watchdog_memory_limit", "32");
  set_flag("watchdog_delay", "0");
  set_flag("watchdog_forced_shutdown_delay", "1");
  log_clear();
  osq_loader *l = new_loader();
  set_flag("watchdog_memory_limit", "0");
  set_flag("watchdog_delay", "60");
  set_flag("watchdog_forced_shutdown_delay", "4");
  assert_true(osq_loader_options(l)->limits.enabled);
  assert_int_equal(osq_loader_options(l)->limits.memory_bytes, 32u << 20);
  add(l, p);
  assert_int_equal(osq_loader_start(l), 1);
  pid_t pid = only_pid(l);
  assert_true(wait_new_pid(l, pid, WAIT_MS) > 0);
  osq_ext_proc_info info;
  assert_true(osq_loader_info(l, 0, &info));
  assert_true(info.restarts >= 1);
  assert_non_null(strstr(info.last_exit, "Memory limits exceeded: "));
  assert_non_null(strstr(info.last_exit, "(limit is 32MB)"));
  char line[1024], want[PATH_MAX + 64];
  assert_true(wait_log("stopping: Memory limits exceeded", line,
                       sizeof line));
  snprintf(want, sizeof want, "W|osq extension %s (%d) stopping: ", p,
           (int)pid);
  assert_true(strncmp(line, want, strlen(want)) == 0);
  osq_loader_free(l);
}

static void test_cpu_limit_kills(void **state) {
  (void)state;
  char p[PATH_MAX];
  pathf(p, "spin.ext");
  put_file(p, "#!/bin/sh\nwhile :; do :; done\n", 0755);
  /* 1% of all CPUs: a spinner stays above it even on a loaded machine */
  set_flag("watchdog_utilization_limit", "1");
  set_flag("watchdog_latency_limit", "1");
  set_flag("watchdog_delay", "0");
  set_flag("watchdog_forced_shutdown_delay", "1");
  log_clear();
  osq_loader *l = new_loader();
  set_flag("watchdog_utilization_limit", "0");
  set_flag("watchdog_latency_limit", "0");
  set_flag("watchdog_delay", "60");
  set_flag("watchdog_forced_shutdown_delay", "4");
  osq_loader_options(l)->backoff_base_ms = 60000; /* stay down once killed */
  add(l, p);
  assert_int_equal(osq_loader_start(l), 1);
  pid_t pid = only_pid(l);
  assert_true(wait_state(l, OSQ_EXT_BACKOFF, WAIT_MS));
  assert_false(proc_alive(pid));
  osq_ext_proc_info info;
  assert_true(osq_loader_info(l, 0, &info));
  assert_non_null(strstr(info.last_exit,
                         "Maximum sustainable CPU utilization limit 1% "
                         "exceeded for "));
  assert_true(wait_log("stopping: Maximum sustainable CPU", NULL, 0));
  osq_loader_free(l);
}

/* The table's rss_bytes of one running child, or -1 (no row yet). */
static int64_t table_rss(void) {
  const osq_plugin *pl =
      osq_registry_get(OSQ_REGISTRY_TABLE, "osq_extension_processes");
  assert_non_null(pl);
  tresult *r = trun_all(pl->u.table);
  int col = tcol(pl->u.table, "rss_bytes");
  int64_t rss = r->n == 1 ? r->rows[0][col].i : -1;
  tfree(r);
  osq_plugin_release(pl);
  return rss;
}

/* rss_bytes is read when the table is queried: with resource checks far
 * apart (none in this test's life), the table still shows the memory the
 * child has just taken. */
static void test_rss_is_live(void **state) {
  (void)state;
  char p[PATH_MAX];
  pathf(p, "grower.ext");
  put_file(p,
           "#!/usr/bin/python3\n"
           "import time\n"
           "b = bytearray(64 << 20)\n"
           "for i in range(0, len(b), 4096):\n"
           "    b[i] = 1\n"
           "time.sleep(600)\n",
           0755);
  osq_loader *l = new_loader();
  osq_loader_opts *o = osq_loader_options(l);
  o->check_interval_ms = 3600000;
  o->limits.enabled = false;
  add(l, p);
  assert_int_equal(osq_loader_start(l), 1);
  int64_t deadline = now_ms() + 30000, rss = -1;
  while (now_ms() < deadline && (rss = table_rss()) < (48 << 20))
    tick();
  assert_true(rss >= (48 << 20));
  osq_ext_proc_info info;
  assert_true(osq_loader_info(l, 0, &info));
  assert_int_equal(info.rss_bytes, 0); /* the checks never sampled it */
  osq_loader_free(l);
}

static void test_stop_kills_group_and_stubborn(void **state) {
  (void)state;
  char p[PATH_MAX], p2[PATH_MAX], out[PATH_MAX], script[4 * PATH_MAX],
      buf[256];
  pathf(p, "parent.ext");
  pathf(out, "grandchild.out");
  unlink(out);
  snprintf(script, sizeof script,
           "#!/bin/sh\nsleep 600 &\necho \"$! END\" > '%s'\nwait\n", out);
  put_file(p, script, 0755);
  pathf(p2, "stubborn.ext");
  char out2[PATH_MAX];
  pathf(out2, "stubborn.out");
  unlink(out2);
  snprintf(script, sizeof script,
           "#!/bin/sh\ntrap '' TERM\necho END > '%s'\nexec sleep 600\n",
           out2);
  put_file(p2, script, 0755);
  log_clear();
  osq_loader *l = new_loader();
  osq_loader_options(l)->stop_timeout_ms = 300;
  add(l, p);
  add(l, p2);
  assert_int_equal(osq_loader_start(l), 2);
  pid_t pids[2];
  assert_int_equal(osq_loader_pids(l, pids, 2), 2);
  assert_true(wait_file(out, buf, sizeof buf, WAIT_MS));
  pid_t grandchild = (pid_t)atoi(buf);
  assert_true(wait_file(out2, buf, sizeof buf, WAIT_MS)); /* trap is set */
  assert_true(grandchild > 0 && proc_alive(grandchild));
  osq_loader_stop(l);
  assert_false(proc_alive(pids[0]));
  assert_false(proc_alive(pids[1]));
  assert_true(wait_gone(grandchild, WAIT_MS));
  char want[PATH_MAX + 64];
  snprintf(want, sizeof want,
           "extension %s (pid %d) did not exit 300 ms after SIGTERM; "
           "sending SIGKILL",
           p2, (int)pids[1]);
  if (!wait_log(want, NULL, 0))
    fail_msg("log:\n%s\nwant: %s", logbuf, want);
  osq_loader_free(l);
}

/* The core is SIGKILLed: its extension must not outlive it. */
static void test_core_killed_no_orphan(void **state) {
  (void)state;
  char p[PATH_MAX];
  pathf(p, "orphan.ext");
  put_file(p, "#!/bin/sh\nexec sleep 600\n", 0755);
  int pfd[2];
  assert_int_equal(pipe(pfd), 0);
  pid_t core = fork();
  assert_true(core >= 0);
  if (core == 0) {
    close(pfd[0]);
    osq_loader *l = osq_loader_new("/nonexistent/osq.em", settings_from_flags());
    char err[1024];
    if (!l || osq_loader_add_path(l, p, false, err, sizeof err) != 0 ||
        osq_loader_start(l) != 1)
      _exit(2);
    pid_t ext = 0;
    osq_loader_pids(l, &ext, 1);
    if (write(pfd[1], &ext, sizeof ext) != sizeof ext)
      _exit(3);
    for (;;)
      pause();
  }
  close(pfd[1]);
  pid_t ext = 0;
  assert_int_equal(read(pfd[0], &ext, sizeof ext), sizeof ext);
  close(pfd[0]);
  assert_true(ext > 0 && proc_alive(ext));
  kill(core, SIGKILL);
  int st;
  assert_int_equal(waitpid(core, &st, 0), core);
  assert_true(wait_gone(ext, WAIT_MS));
}

static void test_relaunch_rechecks(void **state) {
  (void)state;
  char p[PATH_MAX];
  pathf(p, "loosened.ext");
  put_file(p, "#!/bin/sh\nexec sleep 600\n", 0755);
  log_clear();
  osq_loader *l = new_loader();
  add(l, p);
  assert_int_equal(osq_loader_start(l), 1);
  pid_t pid = only_pid(l);
  assert_int_equal(chmod(p, 0777), 0);
  kill(pid, SIGKILL);
  assert_true(wait_state(l, OSQ_EXT_FAILED, WAIT_MS));
  char want[2 * PATH_MAX + 128];
  snprintf(want, sizeof want,
           "E|not restarting extension: refusing %s: writable by group and "
           "others (mode 0777); chmod go-w %s",
           p, p);
  assert_true(wait_log(want, NULL, 0));
  osq_loader_free(l);
}

static void test_duplicates_and_bounds(void **state) {
  (void)state;
  char p[PATH_MAX], err[1024];
  pathf(p, "dup.ext");
  put_file(p, "#!/bin/sh\nexit 0\n", 0755);
  osq_loader *l = new_loader();
  add(l, p);
  char p2[PATH_MAX + 8];
  snprintf(p2, sizeof p2, "%s/./dup.ext", dir);
  add(l, p2); /* the same inode: kept once */
  assert_int_equal(osq_loader_count(l), 1);
  assert_int_equal(osq_loader_add_path(l, "/no/such/x.ext", true, err,
                                       sizeof err),
                   -1);
  assert_string_equal(err,
                      "refusing /no/such/x.ext: does not exist; check the "
                      "path");
  osq_loader_free(l);
  /* nothing added: start is a no-op */
  l = new_loader();
  assert_int_equal(osq_loader_start(l), 0);
  osq_loader_free(l);
}

static void test_proc_stat_parse(void **state) {
  (void)state;
  uint64_t t;
  pid_t pp;
  /* comm may hold ") " and spaces; tpgid is -1 without a terminal */
  const char *ok = "42 (a) b (c)) S 7 42 42 0 -1 4194560 10 0 0 0 150 50 0 "
                   "0 20 0 1 0 100 1000 200";
  assert_int_equal(osq_proc_parse_stat(ok, strlen(ok), &t, &pp), 0);
  assert_int_equal(t, 200);
  assert_int_equal(pp, 7);
  const char *bad[] = {"", "42 (x", "42 (x) S", "42 (x) S 1 2 3",
                       "42 (x) S 1 2 3 4 5 6 7 8 9 10 99999999999999999999999 1",
                       "42 (x) S -1 2 3 4 5 6 7 8 9 10 11 12"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(osq_proc_parse_stat(bad[i], strlen(bad[i]), &t, &pp),
                     -EINVAL);
  osq_proc_sample s;
  assert_int_equal(osq_proc_sample_read(getpid(), &s), 0);
  assert_true(s.rss_bytes > 0);
  assert_int_equal(s.ppid, getppid());
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_launch_environment),
      cmocka_unit_test(test_restart_backoff_grows),
      cmocka_unit_test(test_crash_loop_gives_up),
      cmocka_unit_test(test_memory_limit_kills_and_restarts),
      cmocka_unit_test(test_cpu_limit_kills),
      cmocka_unit_test(test_rss_is_live),
      cmocka_unit_test(test_stop_kills_group_and_stubborn),
      cmocka_unit_test(test_core_killed_no_orphan),
      cmocka_unit_test(test_relaunch_rechecks),
      cmocka_unit_test(test_duplicates_and_bounds),
      cmocka_unit_test(test_proc_stat_parse),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  osq_flags_shutdown();
  return rc;
}
