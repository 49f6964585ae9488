"""osqd config life cycle and log options: SIGHUP reload, a failed refresh
keeps the last good config, packs and osquery_schedule/osquery_packs seen
through the manager's query(), batch format, numerics, top-level
decorations, the specified host identifier, and distributed queries from
an extension's plugin."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402
from test_daemon_run import Daemon  # noqa: E402


def query(dm, sql):
    sock = os.path.join(dm.d, "osq.em")
    osqtest.wait_socket(sock, osqtest.WAIT, dm.proc)
    with osqtest.Client(sock) as c:
        r = c.query(sql)
        eq(r.status.code, 0, "query status: %s" % r.status.message)
        return r.response


def test_reload_and_tables():
    d = osqtest.workdir("osqd-cfg-")
    pack = os.path.join(d, "pack.json")
    with open(pack, "w") as f:
        json.dump({"queries": {"pq": {"query": "select 'p' as p",
                                      "interval": 1}}}, f)
    cfg = {"schedule": {"one": {"query": "select 1 as v", "interval": 1}},
           "packs": {"filepack": pack,
                     "never": {"platform": "windows",
                               "queries": {"w": {"query": "select 1"}}},
                     "disc": {"discovery": ["select 1 where 0"],
                              "queries": {"dq": {"query": "select 1",
                                                 "interval": 1}}}}}
    dm = Daemon(d, cfg, args=["--config_refresh=1",
                              "--config_accelerated_refresh=1"]).start()
    try:
        dm.wait_line(lambda l: l["name"] == "one")
        dm.wait_line(lambda l: l["name"] == "pack_filepack_pq")
        rows = query(dm, "select name, query, interval, executions, "
                         "denylisted from osquery_schedule order by name")
        names = [r["name"] for r in rows]
        eq(names, ["one", "pack_disc_dq", "pack_filepack_pq"],
           "scheduled names (the gated pack has none)")
        one = [r for r in rows if r["name"] == "one"][0]
        eq(one["interval"], "1", "interval")
        check(int(one["executions"]) >= 1, "executions counted")
        eq(one["denylisted"], "0", "denylisted")
        packs = {r["name"]: r for r in query(
            dm, "select * from osquery_packs")}
        eq(packs["never"]["active"], "0", "gated pack inactive")
        eq(packs["never"]["platform"], "windows", "pack platform")
        eq(packs["filepack"]["active"], "1", "file pack active")
        wait_until(lambda: query(dm, "select active, discovery_executions "
                                     "from osquery_packs where name = 'disc'"
                                 )[0]["discovery_executions"] != "0", osqtest.WAIT,
                   "discovery to run", dm.proc)
        eq(query(dm, "select active from osquery_packs where name = 'disc'"),
           [{"active": "0"}], "discovery gates the pack")
        info = query(dm, "select config_hash, config_valid from osquery_info")
        check(len(info[0]["config_hash"]) == 40, info)
        # a broken config on refresh keeps the last good one
        with open(dm.conf, "w") as f:
            f.write("{ broken")
        wait_until(lambda: "keeping the last good config" in dm.stderr(),
                   osqtest.WAIT, "the failed refresh", dm.proc)
        n = len([l for l in dm.lines() if l["name"] == "one"])
        eq(n, 1, "no re-logging of an unchanged query")
        # a good config arrives: SIGHUP applies it at once
        cfg["schedule"]["two"] = {"query": "select 2 as v", "interval": 1}
        with open(dm.conf, "w") as f:
            json.dump(cfg, f)
        dm.proc.send_signal(signal.SIGHUP)
        dm.wait_line(lambda l: l["name"] == "two", what="the new query")
    finally:
        eq(dm.stop(), 0, "exit code")


def test_log_options():
    d = osqtest.workdir("osqd-cfg-")
    cfg = {"options": {"logger_event_type": False, "logger_numerics": True,
                       "decorations_top_level": True,
                       "host_identifier": "specified",
                       "specified_identifier": "my-host",
                       "config_path": "/ignored"},
           "schedule": {"b": {"query": "select 1 as i, 2.5 as r, 't' as s",
                              "interval": 1}},
           "decorators": {"always": ["select 'd' as deco"]}}
    dm = Daemon(d, cfg).start()
    try:
        l = dm.wait_line(lambda l: l.get("name") == "b")[0]
        eq(list(l.keys()), ["diffResults", "name", "hostIdentifier",
                            "calendarTime", "unixTime", "epoch", "counter",
                            "numerics", "deco"], "batch keys, top-level deco")
        eq(l["diffResults"], {"removed": [],
                              "added": [{"i": 1, "r": 2.5, "s": "t"}]},
           "numerics")
        eq(l["hostIdentifier"], "my-host", "specified identifier")
        eq(l["numerics"], True, "numerics flag")
        wait_until(lambda: "The CLI only flag --config_path set via config "
                   "file will be ignored, please use a flagfile or pass it to "
                   "the process at startup" in dm.stderr(), osqtest.WAIT,
                   "the CLI-only flag warning", dm.proc)
    finally:
        eq(dm.stop(), 0, "exit code")


DIST_EXT = r'''#!/usr/bin/python3
import json, os, sys
sys.path.insert(0, os.environ["OSQT_PYTHONPATH"])
from osqtest import ext
from osquery.extensions.ttypes import ExtensionResponse, ExtensionStatus

class Dist(ext.Plugin):
    registry = "distributed"
    name = "pydist"
    sent = False
    def call(self, request):
        a = request.get("action")
        if a == "getQueries":
            q = {} if Dist.sent else {
                "queries": {"d1": "select 5 as five", "bad": "select * from nope",
                            "skip": "select 1"},
                "discovery": {"skip": "select 1 where 0"}}
            Dist.sent = True
            return ExtensionResponse(ExtensionStatus(0, "OK", None),
                                     [{"results": json.dumps(q)}])
        if a == "writeResults":
            with open(os.environ["OSQT_LOG"], "a") as f:
                f.write(request["results"] + "\n")
            return ExtensionResponse(ExtensionStatus(0, "OK", None), [])
        return ExtensionResponse(ExtensionStatus(1, "?", None), [])

ext.main("pydist", [Dist()], server="threaded")
'''


def test_distributed():
    d = osqtest.workdir("osqd-cfg-")
    path = os.path.join(d, "dist.ext")
    with open(path, "w") as f:
        f.write(DIST_EXT)
    os.chmod(path, 0o755)
    with open(os.path.join(d, "ext.load"), "w") as f:
        f.write(path + "\n")
    log = os.path.join(d, "dist.jsonl")
    env = {"OSQT_PYTHONPATH": os.path.dirname(osqtest.HERE),
           "OSQTEST_GEN": osqtest.gen_dir(), "OSQT_LOG": log}
    dm = Daemon(d, {"schedule": {}}, env=env,
                args=["--disable_distributed=false",
                      "--distributed_plugin=pydist",
                      "--distributed_interval=1", "--allow_unsafe",
                      "--extensions_timeout=60"]).start()
    try:
        got = wait_until(lambda: os.path.exists(log) and
                         open(log).read().splitlines(), osqtest.WAIT,
                         "writeResults at the extension", dm.proc)
        r = json.loads(got[0])
        eq(r["queries"]["d1"], [{"five": "5"}], "rows as strings")
        eq(r["statuses"], {"d1": 0, "bad": 1}, "statuses")
        check("no such table" in r["messages"]["bad"], r["messages"])
        check("skip" not in r["queries"], "discovery skipped the query")
    finally:
        eq(dm.stop(), 0, "exit code")


def test_config_backup():
    d = osqtest.workdir("osqd-cfg-")
    cfg = {"schedule": {"kept": {"query": "select 3 as k", "interval": 1}}}
    dm = Daemon(d, cfg, args=["--config_enable_backup"]).start()
    try:
        dm.wait_line(lambda l: l["name"] == "kept")
    finally:
        eq(dm.stop(), 0, "exit code")
    os.unlink(dm.conf)  # the source is gone at the next start
    dm2 = Daemon(d, None, args=["--config_enable_backup"]).start()
    try:
        wait_until(lambda: "Using the config backup" in dm2.stderr(), osqtest.WAIT,
                   "the backup to be used", dm2.proc)
        wait_until(lambda: "config file does not exist: %s" % dm.conf in
                   dm2.stderr(), osqtest.WAIT, "the missing config named",
                   dm2.proc)
        # the manager serves before the schedule is in place: poll
        wait_until(lambda: query(dm2, "select name from osquery_schedule")
                   == [{"name": "kept"}], osqtest.WAIT, "the schedule from the backup",
                   dm2.proc)
    finally:
        eq(dm2.stop(), 0, "exit code")


def test_daemonize():
    d = osqtest.workdir("osqd-cfg-")
    dm = Daemon(d, {"schedule": {"z": {"query": "select 1 as z",
                                       "interval": 1}}},
                watchdog=True, args=["--daemonize"])
    r = subprocess.run(dm.cmd, capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, "the launching process exits at once")
    pidfile = os.path.join(d, "osqd.pid")
    pid = int(wait_until(lambda: os.path.exists(pidfile) and
                         open(pidfile).read(), osqtest.WAIT, "the pidfile"))
    try:
        check(pid != os.getpid(), "a new process")
        wait_until(lambda: dm.lines(), osqtest.WAIT, "results from the daemon")
        eq(os.getsid(pid), pid, "a session of its own")
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: gone(pid), osqtest.WAIT, "the daemon to stop")


def machine_shard():
    """osquery's shard of this host: SHA-1(hostname)[0] * 100 / 255."""
    import hashlib
    import socket
    return hashlib.sha1(socket.gethostname().encode()).digest()[0] * 100 // 255


def test_version_gates_and_main_pack():
    """osquery_info.version is the osquery version osq behaves as (osq's
    own is osq_version); queries a platform, version or shard excludes are
    not scheduled, as in osquery; the schedule is the pack "main"."""
    d = osqtest.workdir("osqd-cfg-")
    sched = {"here": {"query": "select 1 as v", "interval": 1},
             "newer_ok": {"query": "select 2 as v", "interval": 1,
                          "version": "5.20.0"},
             "too_new": {"query": "select 3 as v", "interval": 1,
                         "version": "99.0.0"},
             "windows": {"query": "select 4 as v", "interval": 1,
                         "platform": "windows"},
             "linux": {"query": "select 5 as v", "interval": 1,
                       "platform": "linux"}}
    shard = machine_shard()
    if shard > 1:  # shard 1 excludes every host whose shard is above it
        sched["other_shard"] = {"query": "select 6 as v", "interval": 1,
                                "shard": 1}
    dm = Daemon(d, {"schedule": sched}).start()
    try:
        dm.wait_line(lambda l: l["name"] == "here")
        info = query(dm, "select version, osq_version from osquery_info")[0]
        check(info["version"].startswith("5.") and
              info["version"] != info["osq_version"], info)
        names = sorted(r["name"] for r in query(
            dm, "select name from osquery_schedule"))
        eq(names, ["here", "linux", "newer_ok"],
           "only the queries that run on this host are scheduled")
        eq(query(dm, "select name, platform, version, shard, active from "
                     "osquery_packs"),
           [{"name": "main", "platform": "", "version": "", "shard": "0",
             "active": "1"}], "the schedule is the pack main")
    finally:
        eq(dm.stop(), 0, "exit code")


def test_shell_tables_and_osqd_S():
    """osquery_schedule, osquery_packs and osquery_events exist in osqi
    (the first two empty: osqi runs no schedule; osquery_events lists the
    publishers and subscribers, none active while events are off) and
    osqd -S runs the shell."""
    sql = ("select (select count(*) from osquery_schedule) as s, "
           "(select count(*) from osquery_packs) as p, "
           "(select count(*) from osquery_events where active) as e")
    for cmd in ([osqtest.binary("osqi")], [osqtest.binary("osqd"), "-S"]):
        r = subprocess.run(cmd + ["--json", sql], capture_output=True,
                           text=True, timeout=60)
        eq(r.returncode, 0, "%s exit code (%s)" % (cmd, r.stderr))
        eq(json.loads(r.stdout), [{"s": "0", "p": "0", "e": "0"}], cmd)
    cols = subprocess.run(
        [osqtest.binary("osqi"), "--json",
         "select name, type from pragma_table_info('osquery_events')"],
        capture_output=True, text=True, timeout=60)
    eq([(c["name"], c["type"]) for c in json.loads(cols.stdout)],
       [("name", "TEXT"), ("publisher", "TEXT"), ("type", "TEXT"),
        ("subscriptions", "INTEGER"), ("events", "INTEGER"),
        ("refreshes", "INTEGER"), ("active", "INTEGER")],
       "osquery_events has osquery's columns")


def test_config_dump_is_quiet():
    """--config_dump prints the sources and resolves packs with the config
    plugin, as the daemon does: no warning about pack files it cannot
    resolve."""
    d = osqtest.workdir("osqd-cfg-")
    pack = os.path.join(d, "pack.json")
    with open(pack, "w") as f:
        json.dump({"queries": {"pq": {"query": "select 1", "interval": 5}}},
                  f)
    cfg = {"schedule": {"a": {"query": "select 1", "interval": 10}},
           "packs": {"filepack": pack}}
    dm = Daemon(d, cfg)
    r = subprocess.run(dm.cmd + ["--config_dump"], capture_output=True,
                       text=True, timeout=60)
    eq(r.returncode, 0, "exit code (%s)" % r.stderr)
    eq(json.loads(r.stdout), {dm.conf: cfg}, "the dumped source")
    eq(r.stderr, "", "nothing on stderr")


def gone(pid):
    """Exited (a zombie until whoever adopted it reaps it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


if __name__ == "__main__":
    osqtest.run_tests([test_reload_and_tables, test_log_options,
                       test_distributed, test_config_backup, test_daemonize,
                       test_version_gates_and_main_pack,
                       test_shell_tables_and_osqd_S,
                       test_config_dump_is_quiet])
