/* The extension manager's cost per extension table scan, and the core's
 * memory while a large extension table streams through it.
 *
 *   ext_manager_bench [queries] [big_rows]
 *
 * A forked child is the extension (osq's codec, a thread per connection,
 * like osquery's C++ SDK) serving a 1-row table `one` and a big_rows-row
 * table `big`; it registers with a manager started in this process.
 * Measured in the same run:
 *   - `select * from one` through the SQL engine (what osqi runs): the
 *     manager's pooled, reused connection;
 *   - the same generate with osquery's per-scan pattern: connect + ping +
 *     close, connect + call + close (what osquery's core does per scan);
 *   - `select * from local1`, a 1-row in-process table: the SQL floor.
 * Then the peak RSS growth (VmHWM reset through /proc/self/clear_refs)
 * while `select count(*)` and `select *` scan `big`. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/flags.h"
#include "ext/manager/manager.h"
#include "plugin/plugin_impl.h"
#include "registry/registry.h"
#include "sql/sql.h"
#include "thrift/api.h"
#include "settings/ext_settings.h"

/* The settings the shell would pass, from the flags this test set. */
static const osq_ext_settings *settings_from_flags(void) {
  static osq_ext_settings s;
  osq_ext_settings_from_flags(&s);
  return &s;
}

static long big_rows = 1000000;
static char sock[96];

/* ---- the extension (child process) ------------------------------------ */

static int x_ping(void *u, osq_ext_status *out) {
  (void)u;
  osq_ext_status_set(out, 0, "pong", 0);
  return OSQ_OK;
}

static int x_call(void *u, const char *registry, const char *item,
                  const osq_strmap *req, osq_api_reply *rep) {
  (void)u, (void)registry, (void)req;
  long n = strcmp(item, "big") == 0 ? big_rows : 1;
  char id[24], name[32], val[24];
  for (long i = 0; i < n; i++) {
    int a = snprintf(id, sizeof id, "%ld", i);
    int b = snprintf(name, sizeof name, "row-%ld", i);
    int c = snprintf(val, sizeof val, "%ld", i % 1000);
    osq_api_reply_row_begin(rep);
    osq_api_reply_cell(rep, "id", 2, id, (size_t)a);
    osq_api_reply_cell(rep, "name", 4, name, (size_t)b);
    osq_api_reply_cell(rep, "value", 5, val, (size_t)c);
    osq_api_reply_row_end(rep);
  }
  osq_ext_status_set(&rep->status, 0, "OK", 0);
  return OSQ_OK;
}

static const osq_api_handlers xh = {.ping = x_ping, .call = x_call};

static void *x_conn(void *arg) {
  osq_tconn *c = arg;
  while (osq_api_serve_one(c, &xh, NULL) == OSQ_OK)
    ;
  osq_tconn_close(c);
  return NULL;
}

static void add_table(osq_route *r, const char *name) {
  static const char *const cols[][2] = {
      {"id", "BIGINT"}, {"name", "TEXT"}, {"value", "INTEGER"}};
  r->registry = "table";
  r->item = (char *)name;
  osq_plist_init(&r->info);
  for (int i = 0; i < 3; i++) {
    osq_strmap *m = osq_plist_add(&r->info);
    osq_strmap_set(m, "id", "column", 6);
    osq_strmap_set(m, "name", cols[i][0], strlen(cols[i][0]));
    osq_strmap_set(m, "type", cols[i][1], strlen(cols[i][1]));
    osq_strmap_set(m, "op", "0", 1);
  }
}

static void extension_main(void) {
  osq_tconn *c = NULL;
  char msg[256];
  for (int i = 0; i < 500 && c == NULL; i++) {
    int e;
    c = osq_tconn_open(sock, 1000, &e, msg, sizeof msg);
    if (c == NULL) {
      struct timespec ts = {0, 10 * 1000000L};
      nanosleep(&ts, NULL); /* waiting for the parent's socket */
    }
  }
  if (c == NULL)
    _exit(2);
  osq_route routes[2];
  add_table(&routes[0], "one");
  add_table(&routes[1], "big");
  osq_route_table rt = {routes, 2, NULL, 0};
  osq_ext_info info = {"bench_ext", "1", "5.12.1", "0.0.0"};
  osq_ext_status st = {0};
  if (osq_api_register(c, &info, &rt, &st, msg, sizeof msg) != OSQ_OK ||
      st.code != 0)
    _exit(3);
  char path[104];
  snprintf(path, sizeof path, "%.80s.%lld", sock, (long long)st.uuid);
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  unlink(path);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0)
    _exit(4);
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    pthread_t th;
    pthread_create(&th, NULL, x_conn, osq_tconn_wrap(fd));
    pthread_detach(th);
  }
}

/* ---- the core (this process) ------------------------------------------ */

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long rows_seen;
static int count_row(void *u, sqlite3_stmt *st) {
  (void)u, (void)st;
  rows_seen++;
  return 0;
}

static void run_sql(osq_db *db, const char *sql) {
  osq_sql_sink sink = {NULL, count_row, NULL};
  char *err = NULL;
  if (osq_db_exec(db, sql, &sink, &err) != SQLITE_OK) {
    fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
    exit(1);
  }
  free(err);
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Medians over 9 rounds; each round runs a batch of n of every op in
 * turn, so background load on a shared machine hits all of them alike.
 * us per operation. */
#define NOPS 4
static void per_op_all(int n, void (*ops[NOPS])(void *), void *args[NOPS],
                       double out[NOPS]) {
  double t[NOPS][9];
  for (int r = 0; r < 9; r++)
    for (int k = 0; k < NOPS; k++) {
      double t0 = now_us();
      for (int i = 0; i < n; i++)
        ops[k](args[k]);
      t[k][r] = (now_us() - t0) / n;
    }
  for (int k = 0; k < NOPS; k++) {
    qsort(t[k], 9, sizeof t[k][0], cmp_d);
    out[k] = t[k][4];
  }
}

static void op_sql_one(void *db) { run_sql(db, "select * from one"); }
static void op_sql_local(void *db) { run_sql(db, "select * from local1"); }

static char ext_path[128];
static const char *ctx_json =
    "{\"constraints\":[{\"name\":\"id\",\"list\":[],\"affinity\":\"BIGINT\"},"
    "{\"name\":\"name\",\"list\":[],\"affinity\":\"TEXT\"},{\"name\":"
    "\"value\",\"list\":[],\"affinity\":\"INTEGER\"}],\"colsUsed\":[\"id\","
    "\"name\",\"value\"],\"colsUsedBitset\":7}";

static void op_osquery_pattern(void *unused) {
  (void)unused;
  int e;
  char msg[256];
  osq_ext_status st = {0};
  osq_tconn *c = osq_tconn_open(ext_path, 10000, &e, msg, sizeof msg);
  if (c == NULL || osq_api_ping(c, &st, msg, sizeof msg) != OSQ_OK)
    exit(1);
  osq_tconn_close(c);
  osq_ext_status_clear(&st);
  c = osq_tconn_open(ext_path, 10000, &e, msg, sizeof msg);
  osq_strmap req;
  osq_strmap_init(&req);
  osq_strmap_set(&req, "action", "generate", 8);
  osq_strmap_set(&req, "context", ctx_json, strlen(ctx_json));
  osq_plist rows;
  osq_plist_init(&rows);
  osq_row_handler h = osq_plist_handler(&rows);
  if (c == NULL ||
      osq_api_call(c, "table", "one", &req, &st, &h, msg, sizeof msg) !=
          OSQ_OK ||
      rows.n != 1)
    exit(1);
  osq_tconn_close(c);
  osq_plist_clear(&rows);
  osq_strmap_clear(&req);
  osq_ext_status_clear(&st);
}

/* The remote table's generate() alone: context JSON, one call on the
 * pooled connection, decoding into a sink that drops the cells. */
static int drop_cell(void *self, size_t col, const osq_value *v) {
  (void)self, (void)col, (void)v;
  return OSQ_OK;
}
static int drop_end(void *self) {
  (void)self;
  return OSQ_OK;
}
static const struct osq_rows_ops drop_ops = {drop_cell, NULL, drop_end};

static void op_remote_generate(void *arg) {
  const osq_table_plugin *t = arg;
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  osq_rows rows;
  osq_rows_init(&rows, &drop_ops, NULL, t->ncolumns);
  if (t->generate(ctx, &rows, t->udata) != OSQ_OK)
    exit(1);
  osq_context_free(ctx);
}

static long status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "re");
  char line[256];
  long v = -1;
  size_t n = strlen(key);
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, key, n) == 0)
      v = strtol(line + n + 1, NULL, 10);
  if (f)
    fclose(f);
  return v;
}

static void reset_peak(void) {
  int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (write(fd, "5", 1) != 1)
      perror("clear_refs");
    close(fd);
  }
}

static const osq_column local_cols[] = {{"id", OSQ_TYPE_BIGINT, 0},
                                        {"name", OSQ_TYPE_TEXT, 0},
                                        {"value", OSQ_TYPE_INTEGER, 0}};
static int local_gen(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx, (void)u;
  osq_rows_int(out, 0, 0);
  osq_rows_text(out, 1, "row-0", 5);
  osq_rows_int(out, 2, 0);
  return osq_rows_end(out);
}
static osq_table_plugin local1 = {.name = "local1",
                                  .columns = local_cols,
                                  .ncolumns = 3,
                                  .generate = local_gen};

int main(int argc, char **argv) {
  int queries = argc > 1 ? atoi(argv[1]) : 2000;
  if (argc > 2)
    big_rows = atol(argv[2]);
  snprintf(sock, sizeof sock, "/tmp/osq-bench-%d.em", (int)getpid());
  pid_t child = fork();
  if (child == 0) {
    extension_main();
    _exit(0);
  }
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  char err[512];
  OSQ_FLAG_SET(extensions_interval, "3600", err, sizeof err);
  osq_registry_add(OSQ_REGISTRY_TABLE, &local1, OSQ_CORE_UUID, false, err,
                   sizeof err);
  osq_manager *m = osq_manager_start(sock, settings_from_flags(), err, sizeof err);
  if (m == NULL) {
    fprintf(stderr, "manager: %s\n", err);
    kill(child, SIGKILL);
    return 1;
  }
  const char *names[] = {"bench_ext"};
  int64_t uuid = osq_manager_wait_pid(m, child, osq_now_ms() + 10000);
  if (uuid == 0 || osq_manager_wait_names(m, names, 1, osq_now_ms() + 1000,
                                          err, sizeof err) != 0) {
    fprintf(stderr, "extension did not register\n");
    kill(child, SIGKILL);
    return 1;
  }
  snprintf(ext_path, sizeof ext_path, "%s.%lld", sock, (long long)uuid);
  for (int i = 0; i < 1000; i++) { /* its socket follows registration */
    int e;
    osq_tconn *c = osq_tconn_open(ext_path, 1000, &e, err, sizeof err);
    if (c) {
      osq_tconn_close(c);
      break;
    }
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
  }
  osq_db *db = osq_db_open(err, sizeof err);
  if (db == NULL) {
    fprintf(stderr, "db: %s\n", err);
    return 1;
  }
  for (int i = 0; i < 200; i++) { /* warm-up */
    op_sql_one(db);
    op_sql_local(db);
    op_osquery_pattern(NULL);
  }
  const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_TABLE, "one");
  void (*ops[NOPS])(void *) = {op_sql_local, op_sql_one, op_remote_generate,
                               op_osquery_pattern};
  void *args[NOPS] = {db, db, (void *)p->u.table, NULL};
  double r[NOPS];
  per_op_all(queries, ops, args, r);
  osq_plugin_release(p);
  double local = r[0], sql = r[1], remote = r[2], pattern = r[3];
  printf("1-row table, median of 9 rounds x %d queries:\n", queries);
  printf("  select * from local1 (in-process table, SQL floor) %8.1f us\n",
         local);
  printf("  select * from one (extension, osq manager)          %8.1f us\n",
         sql);
  printf("  generate() of the remote table alone (pooled call) %8.1f us\n",
         remote);
  printf("  osquery's per-scan pattern, osq codec (baseline)    %8.1f us  "
         "(conn+ping, conn+call)\n",
         pattern);
  printf("  ratio osq SQL scan / osquery pattern                %8.2fx\n",
         sql / pattern);
  printf("  osq SQL scan above the in-process floor             %8.1f us\n",
         sql - local);

  const char *scans[] = {"select count(*) from big", "select * from big"};
  for (int i = 0; i < 2; i++) {
    rows_seen = 0;
    long rss0 = status_kb("VmRSS:");
    reset_peak();
    double t0 = now_us();
    run_sql(db, scans[i]);
    double ms = (now_us() - t0) / 1000;
    long hwm = status_kb("VmHWM:");
    printf("%-26s %ld rows  %7.1f ms  peak RSS growth %6.1f MB "
           "(%.0f bytes/row; RSS before %.1f MB)\n",
           scans[i], big_rows, ms, (hwm - rss0) / 1024.0,
           (hwm - rss0) * 1024.0 / (double)big_rows, rss0 / 1024.0);
  }
  osq_db_close(db);
  osq_manager_stop(m);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  osq_db_pool_shutdown();
  return 0;
}
