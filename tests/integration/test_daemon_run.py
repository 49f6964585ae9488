"""osqd end to end: scheduled results in --logger_path with exact keys,
with and without the watcher; SIGKILL recovery without losing a
differential; an unknown config plugin; a bad config; the watchdog's
memory limit and denylist."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402

EVENT_KEYS = ["name", "hostIdentifier", "calendarTime", "unixTime", "epoch",
              "counter", "numerics", "columns", "action"]
EVENT_KEYS_DEC = EVENT_KEYS[:7] + ["decorations"] + EVENT_KEYS[7:]
SNAP_KEYS = ["snapshot", "action", "name", "hostIdentifier", "calendarTime",
             "unixTime", "epoch", "counter", "numerics"]


class Daemon:
    """osqd in a private directory; stderr collected in a file."""

    def __init__(self, d, config=None, args=(), watchdog=False, env=None,
                 config_text=None):
        self.d = d
        self.logs = os.path.join(d, "log")
        self.conf = os.path.join(d, "osq.conf")
        if config is not None:
            with open(self.conf, "w") as f:
                json.dump(config, f)
        elif config_text is not None:
            with open(self.conf, "w") as f:
                f.write(config_text)
        self.cmd = [osqtest.binary("osqd"),
                    "--config_path=" + self.conf,
                    "--database_path=" + os.path.join(d, "db", "osq.db"),
                    "--logger_path=" + self.logs,
                    "--pidfile=" + os.path.join(d, "osqd.pid"),
                    "--extensions_socket=" + os.path.join(d, "osq.em"),
                    "--extensions_autoload=" + os.path.join(d, "ext.load"),
                    "--flagfile=/dev/null"]
        if not watchdog:
            self.cmd.append("--disable_watchdog")
        self.cmd += list(args)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.errpath = os.path.join(d, "stderr.%d" % time.monotonic_ns())
        self.proc = None

    def start(self):
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.err, env=self.env)
        return self

    def stderr(self):
        with open(self.errpath) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("osqd did not stop on signal %d" % sig)
        self.err.close()
        return self.proc.returncode

    def lines(self, name="osqueryd.results.log"):
        p = os.path.join(self.logs, name)
        if not os.path.exists(p):
            return []
        with open(p) as f:
            return [json.loads(x) for x in f.read().splitlines() if x]

    def wait_line(self, pred, name="osqueryd.results.log", timeout=60,
                  what="a result line"):
        return wait_until(lambda: [l for l in self.lines(name) if pred(l)],
                          timeout, what, self.proc)


class Marker:
    """Processes whose command line is unique to one test: the rows of the
    scheduled query, added and removed at will (sleep with a fractional
    argument nobody else uses)."""

    def __init__(self):
        self.arg = "86400.%d%d" % (os.getpid(), time.monotonic_ns() % 100000)
        self.cmdline = "sleep " + self.arg
        self.procs = {}
        _markers.append(self)

    def add(self, key):
        p = subprocess.Popen(["sleep", self.arg])
        self.procs[key] = p
        return str(p.pid)

    def remove(self, key):
        p = self.procs.pop(key)
        p.kill()
        p.wait()

    def pid(self, key):
        return str(self.procs[key].pid)

    def stop(self):
        for k in list(self.procs):
            self.remove(k)


_markers = []


def stops_markers(fn):
    """Kill the test's marker processes however the test ends."""
    def run():
        try:
            fn()
        finally:
            while _markers:
                _markers.pop().stop()
    run.__name__ = fn.__name__
    return run


def file_query_config(marker):
    return {"schedule": {"files": {
        "query": "select pid from processes where cmdline = '%s'" %
        marker.cmdline, "interval": 1}}}


def has(line, marker, key):
    return line.get("name") == "files" and \
        line["columns"].get("pid") == marker.pid(key)


def ordered_keys(line):
    return list(line.keys())


@stops_markers
def test_results_no_watchdog():
    d = osqtest.workdir("osqd-")
    watch = Marker()
    watch.add("a")
    cfg = file_query_config(watch)
    cfg["schedule"]["snap"] = {"query": "select 7 as seven", "interval": 1,
                               "snapshot": True}
    cfg["schedule"]["bad"] = {"query": "select * from no_such_table",
                              "interval": 1}
    cfg["decorators"] = {"load": ["select 'x' as deco"]}
    dm = Daemon(d, cfg).start()
    try:
        first = dm.wait_line(lambda l: l.get("name") == "files")[0]
        eq(ordered_keys(first), EVENT_KEYS_DEC, "event line keys")
        eq(first["columns"], {"pid": watch.pid("a")}, "columns")
        eq(first["action"], "added", "action")
        eq(first["counter"], 0, "first counter")
        eq(first["decorations"], {"deco": "x"}, "decorations")
        check(isinstance(first["unixTime"], int), "unixTime is a number")
        check(first["calendarTime"].endswith(" UTC"), "calendarTime")
        snap = dm.wait_line(lambda l: True, "osqueryd.snapshots.log")[0]
        eq(ordered_keys(snap), SNAP_KEYS + ["decorations"], "snapshot keys")
        eq(snap["snapshot"], [{"seven": "7"}], "snapshot rows")
        # a change is logged as added with counter 1
        watch.add("b")
        l2 = dm.wait_line(lambda l: has(l, watch, "b"))[0]
        eq(l2["counter"], 1, "second counter")
        gone = watch.pid("a")
        watch.remove("a")
        l3 = dm.wait_line(lambda l: l["action"] == "removed")[0]
        eq(l3["columns"]["pid"], gone, "removed row")
        eq(l3["counter"], 2, "third counter")
        with open(os.path.join(d, "osqd.pid")) as f:
            eq(f.read(), str(dm.proc.pid), "pidfile holds the pid, no newline")
        # one failing query does not stop the others
        wait_until(lambda: "Error executing scheduled query bad: no such "
                   "table: no_such_table" in dm.stderr(), osqtest.WAIT,
                   "the failing query's error", dm.proc)
        status = os.path.join(dm.logs, "osqueryd.INFO")
        wait_until(lambda: os.path.exists(status) and
                   "osqd started" in open(status).read(), osqtest.WAIT, "status log")
    finally:
        eq(dm.stop(), 0, "exit code on SIGTERM")


@stops_markers
def test_results_with_watcher():
    d = osqtest.workdir("osqd-")
    watch = Marker()
    watch.add("a")
    dm = Daemon(d, file_query_config(watch), watchdog=True).start()
    try:
        first = dm.wait_line(lambda l: l.get("name") == "files")[0]
        eq(ordered_keys(first), EVENT_KEYS, "event line keys")
        with open(os.path.join(d, "osqd.pid")) as f:
            eq(f.read(), str(dm.proc.pid), "the watcher holds the pidfile")
        kids = open("/proc/%d/task/%d/children" % (dm.proc.pid, dm.proc.pid)
                    ).read().split()
        eq(len(kids), 1, "one worker")
        # a second daemon on the same pidfile is refused
        second = subprocess.run(dm.cmd, capture_output=True, text=True,
                                timeout=60)
        eq(second.returncode, 1, "second daemon exit code")
        check("osqd Pidfile check failed: Busy" in second.stderr,
              second.stderr)
        # --force replaces it: the old daemon is told to stop
        forced = Daemon(d, None, watchdog=True, args=["--force"]).start()
        try:
            eq(dm.proc.wait(60), 0, "the old daemon stopped")
            wait_until(lambda: open(os.path.join(d, "osqd.pid")).read() ==
                       str(forced.proc.pid), osqtest.WAIT, "the new pidfile",
                       forced.proc)
        finally:
            eq(forced.stop(), 0, "the forcing daemon's exit code")
    finally:
        eq(dm.stop(), 0, "exit code on SIGTERM")
    check(not os.path.exists("/proc/%s" % kids[0]), "the worker is gone")


@stops_markers
def test_sigkill_recovery_daemon():
    d = osqtest.workdir("osqd-")
    watch = Marker()
    watch.add("a")
    cfg = file_query_config(watch)
    dm = Daemon(d, cfg).start()
    try:
        dm.wait_line(lambda l: has(l, watch, "a"))
    finally:
        dm.stop(signal.SIGKILL)
    # changed while the daemon was down
    watch.add("b")
    dm2 = Daemon(d, cfg).start()
    try:
        l = dm2.wait_line(lambda l: has(l, watch, "b"),
                          what="the row added while osqd was down")[0]
        eq(l["action"], "added", "action")
        eq(l["counter"], 1, "counter continues")
        eq(sum(1 for x in dm2.lines() if has(x, watch, "a")),
           1, "the old row is not logged again")
    finally:
        eq(dm2.stop(), 0, "exit code")


@stops_markers
def test_sigkill_recovery_worker():
    d = osqtest.workdir("osqd-")
    watch = Marker()
    watch.add("a")
    dm = Daemon(d, file_query_config(watch), watchdog=True,
                args=["--watchdog_level=-1"]).start()
    try:
        dm.wait_line(lambda l: has(l, watch, "a"))
        kids = open("/proc/%d/task/%d/children" % (dm.proc.pid, dm.proc.pid)
                    ).read().split()
        eq(len(kids), 1, "one worker")
        os.kill(int(kids[0]), signal.SIGKILL)
        watch.add("b")
        l = dm.wait_line(lambda l: has(l, watch, "b"),
                         what="the row added while the worker was down")[0]
        eq(l["action"], "added", "action")
        new = open("/proc/%d/task/%d/children" % (dm.proc.pid, dm.proc.pid)
                   ).read().split()
        check(new and new != kids, "a new worker: %r" % new)
        wait_until(lambda: "respawning" in dm.stderr(), osqtest.WAIT,
                   "the watcher's respawn line", dm.proc)
    finally:
        eq(dm.stop(), 0, "exit code")


@stops_markers
def test_sigkill_at_random_moments():
    """Kill -9 at arbitrary points while rows come and go; replaying every
    logged added/removed line must give the rows that exist at the end
    (at-least-once: a line may repeat, none is lost)."""
    import random
    rnd = random.Random(7)
    d = osqtest.workdir("osqd-")
    watch = Marker()
    cfg = file_query_config(watch)
    keys = 0
    for _ in range(6):
        dm = Daemon(d, cfg).start()
        try:
            time.sleep(rnd.uniform(0.05, 1.5))
        finally:
            dm.stop(signal.SIGKILL)
        for _ in range(rnd.randint(1, 3)):
            if watch.procs and rnd.random() < 0.4:
                watch.remove(rnd.choice(list(watch.procs)))
            else:
                keys += 1
                watch.add(keys)
    dm = Daemon(d, cfg).start()
    try:
        want = {watch.pid(k) for k in watch.procs}

        def replay():
            state = set()
            for l in dm.lines():
                if l["action"] == "added":
                    state.add(l["columns"]["pid"])
                elif l["action"] == "removed":
                    state.discard(l["columns"]["pid"])
            return state == want
        wait_until(replay, osqtest.WAIT, "the replayed log to match the rows", dm.proc)
    finally:
        eq(dm.stop(), 0, "exit code")


def test_sigterm_interrupts_a_long_query():
    d = osqtest.workdir("osqd-")
    burn = ("with recursive c(x) as (select 1 union all select x + 1 from c "
            "where x < 20000000000) select count(*) from c")
    dm = Daemon(d, {"schedule": {"burn": {"query": burn, "interval": 1}}},
                args=["--schedule_lognames"]).start()
    try:
        wait_until(lambda: "Executing scheduled query burn" in dm.stderr(),
                   osqtest.WAIT, "the query to start", dm.proc)
    finally:
        # the query would run for minutes; stop() allows 60 s
        eq(dm.stop(), 0, "exit code")
    check("Error executing scheduled query burn: interrupted" in dm.stderr(),
          dm.stderr())
    # a stop is not a failure: the query is not denylisted next time
    r = subprocess.run(dm.cmd + ["--database_dump"], capture_output=True,
                       text=True, timeout=60)
    check("configurations[executing_query]" not in r.stdout, r.stdout)


def test_unknown_config_plugin():
    d = osqtest.workdir("osqd-")
    dm = Daemon(d, {}, args=["--config_plugin=nope"])
    r = subprocess.run(dm.cmd, capture_output=True, text=True, timeout=60)
    eq(r.returncode, 78, "exit code")
    check("Cannot activate nope config plugin: Unknown registry plugin: nope"
          in r.stderr, r.stderr)
    # the same through the watcher: the worker's 78 stops the watcher
    dm = Daemon(d, {}, args=["--config_plugin=nope"], watchdog=True)
    r = subprocess.run(dm.cmd, capture_output=True, text=True, timeout=60)
    eq(r.returncode, 78, "exit code with the watcher")


def test_required_extension_missing():
    d = osqtest.workdir("osqd-")
    for watchdog in (False, True):
        dm = Daemon(d, {"schedule": {}}, watchdog=watchdog,
                    args=["--extensions_require=nope",
                          "--extensions_timeout=1"])
        r = subprocess.run(dm.cmd, capture_output=True, text=True, timeout=60)
        eq(r.returncode, 79, "exit code (watcher: %s)" % watchdog)
        check("Required extension not found or not loaded: nope" in r.stderr,
              r.stderr)


def test_bad_config():
    d = osqtest.workdir("osqd-")
    dm = Daemon(d, config_text='{\n "schedule": {\n  "a": {"query": 1,}\n }\n}')
    r = subprocess.run(dm.cmd + ["--config_check"], capture_output=True,
                       text=True, timeout=60)
    eq(r.returncode, 1, "config_check exit code")
    check("Error reading config: Error parsing the config JSON: %s: line 3, "
          "column" % dm.conf in r.stderr, r.stderr)
    good = Daemon(d, {"schedule": {}})
    r = subprocess.run(good.cmd + ["--config_check"], capture_output=True,
                       text=True, timeout=60)
    eq(r.returncode, 0, "config_check on a good config")
    r = subprocess.run(good.cmd + ["--config_dump"], capture_output=True,
                       text=True, timeout=60)
    eq(r.returncode, 0, "config_dump exit code")
    eq(json.loads(r.stdout), {good.conf: {"schedule": {}}}, "config_dump")


def test_memory_limit_denylist():
    d = osqtest.workdir("osqd-")
    hog = ("with recursive c(x) as (select 1 union all select x + 1 from c "
           "where x < 40000000), big(b) as materialized "
           "(select randomblob(300000000)) "
           "select count(*) from c, big where length(b) > 0")
    cfg = {"schedule": {"hog": {"query": hog, "interval": 1},
                        "ok": {"query": "select 1 as one", "interval": 1}}}
    dm = Daemon(d, cfg, watchdog=True,
                args=["--watchdog_memory_limit=100", "--watchdog_delay=0"]
                ).start()
    try:
        wait_until(lambda: "Memory limits exceeded" in dm.stderr(), 60,
                   "the watchdog to stop the worker", dm.proc)
        wait_until(lambda: "The stopped worker was running scheduled "
                   "query hog" in dm.stderr(), 60,
                   "the watcher to name the query", dm.proc)
        wait_until(lambda: "Scheduled query may have failed: hog" in
                   dm.stderr(), 60, "the new worker to see the killed query",
                   dm.proc)
        wait_until(lambda: "skipping denied scheduled query: hog" in
                   dm.stderr(), 60, "the denylist", dm.proc)
        dm.wait_line(lambda l: l["name"] == "ok", what="the other query runs")
        sock = os.path.join(d, "osq.em")
        osqtest.wait_socket(sock, osqtest.WAIT, dm.proc)
        with osqtest.Client(sock) as c:
            r = c.query("select name, denylisted from osquery_schedule "
                        "order by name")
        eq(r.response, [{"name": "hog", "denylisted": "1"},
                        {"name": "ok", "denylisted": "0"}],
           "osquery_schedule shows the denylist")
    finally:
        eq(dm.stop(), 0, "exit code")


def test_cpu_limit_denylist():
    d = osqtest.workdir("osqd-")
    burn = ("with recursive c(x) as (select 1 union all select x + 1 from c "
            "where x < 2000000000) select count(*) from c")
    cfg = {"schedule": {"burn": {"query": burn, "interval": 1}}}
    dm = Daemon(d, cfg, watchdog=True,
                # memory out of the way: under ASan the quarantine makes this
                # query's RSS grow by ~150 MB/s, and only CPU is tested here
                # 1% of all CPUs: the burning worker stays above it even
                # when other work leaves it a small share of a core
                args=["--watchdog_utilization_limit=1",
                      "--watchdog_memory_limit=100000",
                      "--watchdog_latency_limit=2", "--watchdog_delay=0",
                      "--watchdog_forced_shutdown_delay=1"]).start()
    try:
        wait_until(lambda: "Maximum sustainable CPU utilization limit" in
                   dm.stderr(), 60, "the watchdog to stop the worker",
                   dm.proc)
        wait_until(lambda: "skipping denied scheduled query: burn" in
                   dm.stderr(), 60, "the denylist", dm.proc)
    finally:
        eq(dm.stop(), 0, "exit code")


def _cleanup():
    for m in _markers:
        m.stop()


if __name__ == "__main__":
    import atexit
    atexit.register(_cleanup)
    osqtest.run_tests([test_results_no_watchdog, test_results_with_watcher,
                       test_sigkill_recovery_daemon,
                       test_sigkill_recovery_worker,
                       test_sigkill_at_random_moments,
                       test_sigterm_interrupts_a_long_query,
                       test_unknown_config_plugin,
                       test_required_extension_missing, test_bad_config,
                       test_memory_limit_denylist, test_cpu_limit_denylist])
