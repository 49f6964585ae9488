/* osq_extension_run: wait for the core, register, serve, watch, stop.
 * The order follows osquery's SDK (protocol.md §4.3) except that the socket
 * is listening before the watcher starts and deregistration happens on
 * every clean stop, so a quick restart is not refused as a duplicate. */
#include "sdk.h"

#include "core/flags.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The signal handler's only channel: the running extension's wake pipe. */
static volatile sig_atomic_t signal_fd = -1;
static volatile sig_atomic_t signal_seen;

static void on_signal(int sig) {
  int saved = errno;
  signal_seen = sig;
  if (signal_fd >= 0) {
    char b = 'g';
    (void)!write(signal_fd, &b, 1);
  }
  errno = saved;
}

static void usage(const osq_extension *ext, const char *argv0) {
  printf("%s: osquery extension %s %s (libosqext, sdk %s)\n"
         "Usage: %s [--socket PATH] [--timeout S] [--interval S] "
         "[--verbose]\n"
         "  --socket PATH   the osquery core's extensions socket\n"
         "  --timeout S     seconds to wait for the core (default 3)\n"
         "  --interval S    seconds between checks of the core (default 3)\n"
         "  --verbose       log each call to stderr\n"
         "Other flags are ignored.\n",
         argv0, ext->name, ext->version, OSQ_SDK_VERSION, argv0);
}

/* Poll for the core's socket and a ping answer, in short steps, until the
 * deadline or a signal. */
static osq_tconn *wait_for_core(osq_extension *ext, char *err, size_t errlen) {
  int64_t wait_ms = (int64_t)(ext->args.timeout * 1000);
  if (wait_ms < 200)
    wait_ms = 200;
  int64_t deadline = osq_now_ms() + wait_ms;
  char last[256] = "no answer";
  for (;;) {
    struct stat st;
    if (stat(ext->args.socket, &st) != 0) {
      snprintf(last, sizeof last, "%s", strerror(errno));
    } else if (!S_ISSOCK(st.st_mode)) {
      snprintf(last, sizeof last, "not a socket");
    } else {
      int rc = OSQ_OK;
      int64_t left = deadline - osq_now_ms();
      osq_tconn *c = osq_tconn_connect(
          ext->args.socket, left > OSQ_SDK_POLL_MS ? (int)left : OSQ_SDK_POLL_MS,
          &rc);
      if (c != NULL) {
        /* A core that accepts but never answers must not hold us past
         * --timeout by much. */
        int64_t ping_ms = left > 1000 ? left : 1000;
        if (ping_ms > OSQ_SDK_CONNECT_MS)
          ping_ms = OSQ_SDK_CONNECT_MS;
        osq_tconn_set_deadline(c, osq_now_ms() + ping_ms);
        osq_ext_status st2 = {0};
        char msg[256] = "";
        rc = osq_api_ping(c, &st2, msg, sizeof msg);
        osq_ext_status_clear(&st2);
        if (rc == OSQ_OK)
          return c; /* any answer means the core is alive */
        snprintf(last, sizeof last, "ping failed: %.200s", msg);
        osq_tconn_close(c);
      } else {
        snprintf(last, sizeof last, "%s", osq_strerror(rc));
      }
    }
    int64_t left = deadline - osq_now_ms();
    if (left <= 0)
      break;
    struct pollfd p = {.fd = ext->wake[0], .events = POLLIN};
    int n = poll(&p, 1, left < OSQ_SDK_POLL_MS ? (int)left : OSQ_SDK_POLL_MS);
    if (n > 0) {
      snprintf(err, errlen, "interrupted by a signal");
      return NULL;
    }
  }
  snprintf(err, errlen,
           "cannot reach the osquery core at %s within %.3g s: %s",
           ext->args.socket, ext->args.timeout, last);
  return NULL;
}

static int build_routes(osq_extension *ext, osq_route_table *rt) {
  memset(rt, 0, sizeof *rt);
  rt->routes = calloc(ext->nplugins ? ext->nplugins : 1, sizeof *rt->routes);
  if (rt->routes == NULL)
    return OSQ_ENOMEM;
  /* Only registries that have plugins: a core refuses a registry it does
   * not know even when empty (protocol.md §4.4); every core knows these. */
  for (int k = 0; k < OSQ_SDK_KINDS; k++) {
    for (size_t i = 0; i < ext->plugins[k].n; i++) {
      const void *p = ext->plugins[k].items[i];
      osq_route *r = &rt->routes[rt->n++];
      osq_plist_init(&r->info);
      r->registry = strdup(osq_registry_name(k));
      const char *name =
          k == OSQ_REGISTRY_TABLE    ? ((const osq_table_plugin *)p)->name
          : k == OSQ_REGISTRY_CONFIG ? ((const osq_config_plugin *)p)->name
          : k == OSQ_REGISTRY_LOGGER ? ((const osq_logger_plugin *)p)->name
                                     : ((const osq_distributed_plugin *)p)->name;
      r->item = strdup(name);
      if (!r->registry || !r->item)
        return OSQ_ENOMEM;
      if (k == OSQ_REGISTRY_TABLE &&
          osq_dispatch_route_info(p, &r->info) != OSQ_OK)
        return OSQ_ENOMEM;
    }
  }
  return OSQ_OK;
}

static void deregister(osq_extension *ext) {
  int64_t uuid = atomic_load(&ext->uuid);
  int rc = OSQ_OK;
  osq_tconn *c = osq_sdk_get_conn(ext, &rc);
  if (c == NULL) {
    OSQ_VLOG("cannot deregister: %s", osq_strerror(rc));
    return;
  }
  osq_tconn_set_deadline(c, osq_now_ms() + OSQ_SDK_CONNECT_MS);
  osq_ext_status st = {0};
  char msg[256] = "";
  rc = osq_api_deregister(c, uuid, &st, msg, sizeof msg);
  if (rc != OSQ_OK)
    OSQ_VLOG("deregistering uuid %lld failed: %s", (long long)uuid, msg);
  else if (st.code != 0)
    OSQ_VLOG("deregistering uuid %lld: %s", (long long)uuid,
             st.message ? st.message : "refused");
  osq_ext_status_clear(&st);
  osq_sdk_put_conn(ext, c, rc == OSQ_OK);
}

static int registration(osq_extension *ext, osq_tconn *c) {
  osq_route_table rt;
  int rc = build_routes(ext, &rt);
  if (rc != OSQ_OK) {
    osq_route_table_clear(&rt);
    OSQ_ERR("extension %s: out of memory building its registration",
            ext->name);
    return 1;
  }
  osq_ext_info info = {ext->name, ext->version, (char *)OSQ_SDK_VERSION,
                       (char *)"0.0.0"};
  osq_ext_status st = {0};
  char msg[256] = "";
  osq_tconn_set_deadline(c, osq_now_ms() + OSQ_SDK_RPC_MS);
  rc = osq_api_register(c, &info, &rt, &st, msg, sizeof msg);
  osq_route_table_clear(&rt);
  if (rc != OSQ_OK) {
    OSQ_ERR("registering extension %s with the osquery core at %s failed: %s",
            ext->name, ext->args.socket, msg);
    osq_ext_status_clear(&st);
    return 1;
  }
  if (st.code != 0) {
    OSQ_ERR("the osquery core at %s refused extension %s: %s",
            ext->args.socket, ext->name,
            st.message ? st.message : "(no message)");
    osq_ext_status_clear(&st);
    return 1;
  }
  atomic_store(&ext->uuid, st.uuid);
  osq_ext_status_clear(&st);
  osq_option_list_clear(&ext->options); /* from an earlier run */
  rc = osq_api_options(c, &ext->options, msg, sizeof msg);
  if (rc != OSQ_OK)
    OSQ_WARN("cannot read the osquery core's options: %s", msg);
  OSQ_VLOG("extension %s registered with uuid %lld", ext->name,
           (long long)atomic_load(&ext->uuid));
  return rc == OSQ_OK ? 0 : -1;
}

/* Serve until a stop is requested; returns the exit code. */
static int serve(osq_extension *ext, int listen_fd) {
  bool backoff = false;
  for (;;) {
    struct pollfd p[2] = {{.fd = ext->wake[0], .events = POLLIN},
                          {.fd = listen_fd, .events = POLLIN}};
    /* Out of descriptors: the pending connection would wake us at once,
     * so listen to the wake pipe alone for a moment. */
    int n = poll(p, backoff ? 1 : 2, backoff ? 100 : -1);
    backoff = false;
    if (n < 0 && errno != EINTR) {
      osq_sdk_request_stop(ext, 1, true, "poll: %s", strerror(errno));
      break;
    }
    if (n > 0 && (p[0].revents & POLLIN)) {
      char buf[64];
      while (read(ext->wake[0], buf, sizeof buf) > 0)
        ;
      if (signal_seen)
        osq_sdk_request_stop(ext, 0, true, "stopping on signal %d",
                             (int)signal_seen);
      pthread_mutex_lock(&ext->lock);
      bool stop = ext->stop_set;
      pthread_mutex_unlock(&ext->lock);
      if (stop)
        break;
    }
    if (n > 0 && (p[1].revents & POLLIN))
      backoff = osq_sdk_accept(ext, listen_fd) != OSQ_OK;
  }
  return ext->stop_code;
}

static struct sigaction old_term, old_int, old_pipe;

/* The wake pipe and the signal handlers a running extension needs. */
static int begin(osq_extension *ext, const char *argv0) {
  if (pipe2(ext->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    OSQ_ERR("%s: pipe: %s", argv0, strerror(errno));
    return OSQ_EIO;
  }
  ext->stop_set = false;
  ext->quitting = false;
  ext->nidle = 0;
  ext->stop_code = 0;
  ext->stop_reason[0] = '\0';
  signal_seen = 0;
  signal_fd = ext->wake[1];
  struct sigaction sa = {.sa_handler = on_signal}, ign = {.sa_handler = SIG_IGN};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGPIPE, &ign, &old_pipe);
  ext->running = true;
  return OSQ_OK;
}

static void end(osq_extension *ext) {
  pthread_mutex_lock(&ext->lock);
  for (size_t i = 0; i < ext->npool; i++)
    osq_tconn_close(ext->pool[i]);
  ext->npool = 0;
  pthread_mutex_unlock(&ext->lock);
  signal_fd = -1;
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
  /* under the lock: a plugin call left running may still ask to stop */
  pthread_mutex_lock(&ext->lock);
  close(ext->wake[0]);
  close(ext->wake[1]);
  ext->wake[0] = ext->wake[1] = -1;
  pthread_mutex_unlock(&ext->lock);
  atomic_store(&ext->uuid, 0);
  ext->running = false;
}

int osq_extension_serve(osq_extension *ext, const char *socket_path) {
  if (ext == NULL || ext->running || socket_path == NULL || !*socket_path)
    return 1;
  osq_flags_init(OSQ_PERSONALITY_EXTENSION);
  osq_log_configure();
  free(ext->socket_path);
  ext->socket_path = strdup(socket_path);
  if (ext->socket_path == NULL || begin(ext, ext->name) != OSQ_OK)
    return 1;
  char err[512];
  int code = 1;
  int fd = osq_sdk_listen(ext, err, sizeof err);
  if (fd < 0) {
    OSQ_ERR("extension %s: %s", ext->name, err);
  } else {
    code = serve(ext, fd);
    close(fd);
    unlink(ext->socket_path);
    osq_sdk_reap(ext, true);
  }
  end(ext);
  return code;
}

int osq_extension_run(osq_extension *ext, int argc, char **argv) {
  if (ext == NULL || ext->running)
    return 1;
  osq_flags_init(OSQ_PERSONALITY_EXTENSION);
  char err[512];
  const char *argv0 = argc > 0 && argv[0] ? argv[0] : ext->name;
  osq_sdk_args_free(&ext->args);
  if (osq_sdk_args_parse(&ext->args, argc, argv,
                         OSQ_FLAG_STR(extensions_socket), err,
                         sizeof err) != OSQ_OK) {
    osq_log_configure();
    OSQ_ERR("%s: %s", argv0, err);
    return 1;
  }
  if (ext->args.help) {
    usage(ext, argv0);
    return 0;
  }
  if (ext->args.verbose)
    OSQ_FLAG_SET(verbose, "true", err, sizeof err);
  osq_log_configure();

  if (begin(ext, argv0) != OSQ_OK)
    return 1;

  int code = 1, listen_fd = -1;
  osq_tconn *c = wait_for_core(ext, err, sizeof err);
  if (c == NULL) {
    if (signal_seen) {
      code = 0;
    } else if (ext->stop_set) { /* osq_extension_stop while waiting */
      code = ext->stop_code;
    } else {
      OSQ_ERR("extension %s: %s", ext->name, err);
    }
    goto out;
  }
  int reg = registration(ext, c);
  osq_sdk_put_conn(ext, c, reg == 0);
  if (reg > 0)
    goto out;

  size_t plen = strlen(ext->args.socket) + 24;
  free(ext->socket_path);
  ext->socket_path = malloc(plen);
  if (ext->socket_path == NULL)
    goto deregister;
  snprintf(ext->socket_path, plen, "%s.%lld", ext->args.socket,
           (long long)atomic_load(&ext->uuid));
  listen_fd = osq_sdk_listen(ext, err, sizeof err);
  if (listen_fd < 0) {
    OSQ_ERR("extension %s: %s", ext->name, err);
    goto deregister;
  }
  if (osq_sdk_watch_start(ext) != OSQ_OK) {
    OSQ_ERR("extension %s: cannot start the watcher thread", ext->name);
    goto deregister;
  }
  code = serve(ext, listen_fd);
  osq_sdk_watch_stop(ext);
  close(listen_fd);
  listen_fd = -1;
  unlink(ext->socket_path);
  if (ext->stop_code != 0)
    OSQ_ERR("extension %s: %s", ext->name, ext->stop_reason);
  else
    OSQ_INFO("extension %s: %s", ext->name, ext->stop_reason);
  if (ext->stop_deregister)
    deregister(ext);
  goto reap;
deregister:
  code = 1;
  deregister(ext);
reap:
  if (listen_fd >= 0) {
    close(listen_fd);
    unlink(ext->socket_path);
  }
  osq_sdk_reap(ext, true);
out:
  end(ext);
  return code;
}
