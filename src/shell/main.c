/* osqi: the interactive shell and one-shot query runner
 * (osquery-host.md §5). */
#include "shell/entry.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/log.h"
#include "daemon/scheduler.h"
#include <osq/plugin.h>
#include "shell.h"
#include "tables/tables.h"

#define EXIT_CATASTROPHIC 78

volatile sig_atomic_t shell_interrupted;
static sqlite3 *interrupt_db;

/* Checked between SQLite VM steps too: a ^C that lands just before a
 * statement starts, when sqlite3_interrupt has nothing to stop, still
 * stops it. */
static int on_progress(void *u) {
  (void)u;
  return shell_interrupted != 0;
}

static void on_sigint(int sig) {
  (void)sig;
  shell_interrupted = 1;
  if (interrupt_db)
    sqlite3_interrupt(interrupt_db);
}

/* ~/.osq (0700), or a private temporary directory when that is not
 * usable. *tmp says which, so the temporary one is removed at exit. */
static int home_dir(char *out, size_t cap, bool *tmp) {
  *tmp = false;
  const char *home = getenv("HOME");
  if (home == NULL || home[0] == '\0') {
    struct passwd *pw = getpwuid(getuid());
    home = pw ? pw->pw_dir : NULL;
  }
  if (home && (size_t)snprintf(out, cap, "%s/.osq", home) < cap) {
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
      goto temp;
    struct stat st;
    if (lstat(out, &st) == 0 && S_ISDIR(st.st_mode) &&
        st.st_uid == geteuid() && access(out, W_OK | X_OK) == 0)
      return 0;
  }
temp:;
  const char *t = getenv("TMPDIR");
  if (t == NULL || t[0] == '\0')
    t = "/tmp";
  if ((size_t)snprintf(out, cap, "%s/osq-XXXXXX", t) >= cap ||
      mkdtemp(out) == NULL)
    return -1;
  *tmp = true;
  return 0;
}

static char *read_query_file(const char *path, char *why, size_t whylen) {
  uint64_t max = osq_flag_uint("read_max");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    snprintf(why, whylen, "%s", strerror(errno));
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  if (S_ISDIR(st.st_mode)) {
    snprintf(why, whylen, "%s", strerror(EISDIR));
    close(fd);
    return NULL;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (buf == NULL) {
      snprintf(why, whylen, "out of memory");
      break;
    }
    if (len + 1 >= cap) {
      char *n = realloc(buf, cap * 2);
      if (n == NULL) {
        free(buf);
        buf = NULL;
        continue;
      }
      buf = n;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + len, cap - len - 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      snprintf(why, whylen, "%s", strerror(errno));
      free(buf);
      buf = NULL;
      break;
    }
    if (r == 0) {
      buf[len] = '\0';
      break;
    }
    len += (size_t)r;
    if (max && len > max) {
      snprintf(why, whylen, "larger than --read_max (%llu bytes)",
               (unsigned long long)max);
      free(buf);
      buf = NULL;
      break;
    }
  }
  close(fd);
  return buf;
}

/* osquery's one-shot rule (§5.1): extensions stay off unless they are
 * asked for. */
static void one_shot_defaults(void) {
  osq_flag_set_default("disable_caching", "true");
  bool autoload = osq_flag_str("extension")[0] != '\0' ||
                  osq_flag_str("extensions_require")[0] != '\0' ||
                  osq_flag_was_set("extensions_autoload");
  if (!autoload && !osq_flag_was_set("disable_extensions"))
    osq_flag_set_default("disable_extensions", "true");
}

static void apply_output_flags(shell *sh) {
  shell_out *o = &sh->out;
  o->header = osq_flag_bool("header");
  if (osq_flag_bool("list"))
    o->mode = SHELL_MODE_LIST;
  else if (osq_flag_bool("line"))
    o->mode = SHELL_MODE_LINE;
  else if (osq_flag_bool("csv"))
    o->mode = SHELL_MODE_CSV;
  else
    o->mode = SHELL_MODE_PRETTY;
  if (osq_flag_bool("json_pretty"))
    o->json = SHELL_JSON_PRETTY;
  else if (osq_flag_bool("json"))
    o->json = SHELL_JSON_COMPACT;
  /* osquery quirk kept: --separator (default "|") replaces the "," that
   * --csv chose. */
  snprintf(o->separator, sizeof o->separator, "%s",
           osq_flag_str("separator"));
  snprintf(o->nullvalue, sizeof o->nullvalue, "%s", osq_flag_str("nullvalue"));
}

static int run(shell *sh, int argc, char **argv) {
  const char *A = osq_flag_str("A");
  if (osq_flag_bool("L") || A[0]) {
    char *cmd = NULL;
    if (osq_flag_bool("L"))
      cmd = strdup(".tables");
    else if (asprintf(&cmd, ".all %s", A) < 0)
      cmd = NULL;
    if (cmd == NULL)
      return 1;
    int rc = shell_meta(sh, cmd);
    free(cmd);
    return rc == META_EXIT ? sh->exit_code : rc;
  }
  if (osq_flag_str("pack")[0])
    return shell_run_pack(sh, osq_flag_str("pack"));
  if (osq_flag_str("query")[0])
    return shell_run_query(sh, osq_flag_str("query"));
  const char *qf = osq_flag_str("query_file");
  if (qf[0]) {
    char why[256];
    char *sql = read_query_file(qf, why, sizeof why);
    if (sql == NULL) {
      fprintf(sh->err, "Error reading query file '%s': %s\n", qf, why);
      return 1;
    }
    int rc = shell_run_query(sh, sql);
    free(sql);
    return rc;
  }
  if (argc > 1) {
    if (argv[1][0] == '.') {
      int rc = shell_meta(sh, argv[1]);
      return rc == META_EXIT ? sh->exit_code : rc;
    }
    return shell_run_query(sh, argv[1]);
  }
  if (!sh->interactive)
    return shell_process(sh, stdin);
  printf("Using a \033[1mvirtual database\033[0m. Need help, type '.help'\n");
  fflush(stdout);
  shell_edit_begin(sh);
  int rc = shell_process(sh, NULL);
  shell_edit_end(sh);
  return rc;
}

int osq_shell_main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  int rc = osq_flags_parse(&argc, argv, "/etc/osq/osq.flags.default", stdout,
                           stderr);
  if (rc >= 0) {
    osq_flags_shutdown();
    return rc;
  }
  char e[256];
  osq_flag_set("disable_logging", "true", e, sizeof e);
  osq_flag_set("disable_watchdog", "true", e, sizeof e);
  osq_log_configure();

  bool tty = isatty(STDIN_FILENO) == 1;
  bool one_shot = argc > 1 || !tty || osq_flag_str("A")[0] ||
                  osq_flag_str("pack")[0] || osq_flag_bool("L");
  if (one_shot)
    one_shot_defaults();

  static shell sh;
  sh.err = stderr;
  sh.interactive = !one_shot && !osq_flag_str("query")[0] &&
                   !osq_flag_str("query_file")[0];
  char home[3800];
  bool home_tmp = false;
  if (home_dir(home, sizeof home, &home_tmp) == 0) {
    char sock[4200];
    snprintf(sock, sizeof sock, "%s/shell.em", home);
    osq_flag_set_default("extensions_socket", sock);
    const char *hf = osq_flag_str("history_file");
    if (hf[0])
      snprintf(sh.history, sizeof sh.history, "%s", hf);
    else
      snprintf(sh.history, sizeof sh.history, "%s/.history", home);
  } else {
    OSQ_WARN("cannot create a home directory for the shell: %s",
             strerror(errno));
  }

  int trc = osq_tables_register_builtin();
  if (trc >= 0 && osq_sched_register_tables() != 0)
    trc = OSQ_ERROR;
  if (trc < 0) {
    fprintf(stderr, "Error: cannot register the built-in tables: %s\n",
            osq_strerror(trc));
    rc = EXIT_CATASTROPHIC;
    goto done_flags;
  }
  char err[512] = "";
  sh.db = osq_db_open(err, sizeof err);
  if (sh.db == NULL) {
    fprintf(stderr, "Error: cannot open the SQL engine: %s\n", err);
    rc = EXIT_CATASTROPHIC;
    goto done_flags;
  }
  interrupt_db = osq_db_sqlite(sh.db);
  sqlite3_progress_handler(interrupt_db, 1000, on_progress, NULL);
  struct sigaction sa = {.sa_handler = on_sigint};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);

  FILE *out = stdout;
  const char *of = osq_flag_str("output");
  if (of[0] && strcmp(of, "-") != 0) {
    out = fopen(of, "we");
    if (out == NULL) {
      fprintf(stderr, "Error: Cannot open output file '%s'\n", of);
      rc = 1;
      goto done_db;
    }
    snprintf(sh.outfile, sizeof sh.outfile, "%s", of);
  }
  shell_out_init(&sh.out, out);
  apply_output_flags(&sh);
  if (osq_flag_str("connect")[0]) {
    snprintf(sh.connect, sizeof sh.connect, "%s", osq_flag_str("connect"));
    fprintf(stderr, "Connected to extension socket %s\n", sh.connect);
  }

  rc = shell_extensions_start(one_shot);
  if (rc == 0)
    rc = run(&sh, argc, argv);
  shell_extensions_stop();

  shell_out_free(&sh.out);
  if (out != stdout && fclose(out) != 0 && rc == 0) {
    fprintf(stderr, "Error: cannot write output file '%s': %s\n", of,
            strerror(errno));
    rc = 1;
  }
  fflush(stdout);
done_db:
  interrupt_db = NULL;
  osq_db_close(sh.db);
done_flags:
  if (home_tmp) {
    if (sh.history[0])
      unlink(sh.history);
    rmdir(home);
  }
  osq_flags_shutdown();
  return rc;
}
