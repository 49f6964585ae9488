/* osqi: the interactive shell and one-shot query runner
 * (docs/compat.md §5). */
#include "shell/entry.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/load.h"
#include "core/flags.h"
#include "core/identity.h"
#include "core/log.h"
#include "events/events.h"
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

/* ~/.osq (~/.osquery under osquery's names; 0700), or a private
 * temporary directory when that is not usable. *tmp says which, so the temporary one is removed at exit. */
static int home_dir(char *out, size_t cap, bool *tmp) {
  *tmp = false;
  const char *home = getenv("HOME");
  if (home == NULL || home[0] == '\0') {
    struct passwd *pw = getpwuid(getuid());
    home = pw ? pw->pw_dir : NULL;
  }
  if (home && (size_t)snprintf(out, cap, "%s/%s", home,
                               osq_identity_home_name()) < cap) {
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
  if ((size_t)snprintf(out, cap, "%s/%s-XXXXXX", t,
                       osq_identity_product()) >= cap ||
      mkdtemp(out) == NULL)
    return -1;
  *tmp = true;
  return 0;
}

static char *read_query_file(const char *path, char *why, size_t whylen) {
  uint64_t max = OSQ_FLAG_UINT(read_max);
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

/* osquery's one-shot rule (docs/shell.md): extensions stay off
 * unless they are asked for: an extension to load, a required one, an
 * autoload list, or (osq: for extensions that join on their own) a
 * socket to serve or --disable_extensions=false. */
static void one_shot_defaults(void) {
  OSQ_FLAG_SET_DEFAULT(disable_caching, "true");
  bool asked = OSQ_FLAG_STR(extension)[0] != '\0' ||
               OSQ_FLAG_STR(extensions_require)[0] != '\0' ||
               OSQ_FLAG_WAS_SET(extensions_autoload) ||
               OSQ_FLAG_WAS_SET(extensions_socket);
  if (!asked && !OSQ_FLAG_WAS_SET(disable_extensions))
    OSQ_FLAG_SET_DEFAULT(disable_extensions, "true");
}

static void apply_output_flags(shell *sh) {
  shell_out *o = &sh->out;
  o->header = OSQ_FLAG_BOOL(header);
  if (OSQ_FLAG_BOOL(list))
    o->mode = SHELL_MODE_LIST;
  else if (OSQ_FLAG_BOOL(line))
    o->mode = SHELL_MODE_LINE;
  else if (OSQ_FLAG_BOOL(csv))
    o->mode = SHELL_MODE_CSV;
  else
    o->mode = SHELL_MODE_PRETTY;
  if (OSQ_FLAG_BOOL(json_pretty))
    o->json = SHELL_JSON_PRETTY;
  else if (OSQ_FLAG_BOOL(json))
    o->json = SHELL_JSON_COMPACT;
  /* osquery quirk kept: --separator (default "|") replaces the "," that
   * --csv chose. */
  snprintf(o->separator, sizeof o->separator, "%s",
           OSQ_FLAG_STR(separator));
  snprintf(o->nullvalue, sizeof o->nullvalue, "%s", OSQ_FLAG_STR(nullvalue));
}

static int run(shell *sh, int argc, char **argv) {
  const char *A = OSQ_FLAG_STR(A);
  if (OSQ_FLAG_BOOL(L) || A[0]) {
    char *cmd = NULL;
    if (OSQ_FLAG_BOOL(L))
      cmd = strdup(".tables");
    else if (asprintf(&cmd, ".all %s", A) < 0)
      cmd = NULL;
    if (cmd == NULL)
      return 1;
    int rc = shell_meta(sh, cmd);
    free(cmd);
    return rc == META_EXIT ? sh->exit_code : rc;
  }
  if (OSQ_FLAG_STR(pack)[0])
    return shell_run_pack(sh, OSQ_FLAG_STR(pack));
  if (OSQ_FLAG_STR(query)[0])
    return shell_run_query(sh, OSQ_FLAG_STR(query));
  const char *qf = OSQ_FLAG_STR(query_file);
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

int osq_shell_main(int argc, char **argv, int (*register_tables)(void)) {
  return osq_shell_main_with(argc, argv, register_tables, NULL);
}

int osq_shell_main_with(int argc, char **argv, int (*register_tables)(void),
                        void (*before_exit)(void)) {
  signal(SIGPIPE, SIG_IGN);
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  osq_identity_init(argv[0]);
  int rc = osq_flags_parse(&argc, argv, osq_identity_shell_flagfile(), stdout,
                           stderr);
  if (rc >= 0) {
    osq_flags_shutdown();
    return rc;
  }
  char e[256];
  OSQ_FLAG_SET(disable_logging, "true", e, sizeof e);
  OSQ_FLAG_SET(disable_watchdog, "true", e, sizeof e);
  osq_log_configure();

  bool tty = isatty(STDIN_FILENO) == 1;
  bool one_shot = argc > 1 || !tty || OSQ_FLAG_STR(A)[0] ||
                  OSQ_FLAG_STR(pack)[0] || OSQ_FLAG_BOOL(L);
  if (one_shot)
    one_shot_defaults();

  static shell sh;
  sh.err = stderr;
  sh.interactive = !one_shot && !OSQ_FLAG_STR(query)[0] &&
                   !OSQ_FLAG_STR(query_file)[0];
  char home[3800];
  bool home_tmp = false;
  if (home_dir(home, sizeof home, &home_tmp) == 0) {
    char sock[4200];
    snprintf(sock, sizeof sock, "%s/shell.em", home);
    OSQ_FLAG_SET_DEFAULT(extensions_socket, sock);
    const char *hf = OSQ_FLAG_STR(history_file);
    if (hf[0])
      snprintf(sh.history, sizeof sh.history, "%s", hf);
    else
      snprintf(sh.history, sizeof sh.history, "%s/.history", home);
  } else {
    OSQ_WARN("cannot create a home directory for the shell: %s",
             strerror(errno));
  }

  int trc = osq_tables_register_builtin();
  if (trc >= 0 && register_tables && register_tables() != 0)
    trc = OSQ_ERROR;
  if (trc >= 0)
    trc = osq_events_register_tables();
  char err[512] = "";
  if (trc < 0 || osq_config_register_builtin(err, sizeof err) != 0) {
    fprintf(stderr, "Error: cannot register the built-in plugins: %s\n",
            trc < 0 ? osq_strerror(trc) : err);
    rc = EXIT_CATASTROPHIC;
    goto done_flags;
  }
  if (OSQ_FLAG_BOOL(config_check) || OSQ_FLAG_BOOL(config_dump)) {
    /* as osqueryi: check or print the config, then exit */
    rc = osq_config_check_main(OSQ_FLAG_BOOL(config_dump), stdout, stderr);
    goto done_flags;
  }
  /* osqi's event tables hold the events since it started */
  shell_load_config();
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
  const char *of = OSQ_FLAG_STR(output);
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
  if (OSQ_FLAG_STR(connect)[0]) {
    snprintf(sh.connect, sizeof sh.connect, "%s", OSQ_FLAG_STR(connect));
    fprintf(stderr, "Connected to extension socket %s\n", sh.connect);
  }

  rc = shell_extensions_start();
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
  if (before_exit)
    before_exit();
  osq_flags_shutdown();
  return rc;
}
