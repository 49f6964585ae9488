"""libosqext against a fake osquery core (Apache Thrift's Python server):
the exact registration payload of each example, then the core's calls on
the extension's socket, and every way an extension stops."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import eq, check  # noqa: E402
from osqtest.fakecore import FakeCore  # noqa: E402

with open(os.path.join(osqtest.SOURCE, "src", "core", "flags.h")) as f:
    SDK_VERSION = re.search(r'#define OSQ_SDK_VERSION "([^"]+)"',
                            f.read()).group(1)


def example(name):
    return osqtest.binary(os.path.join("examples", name + ".ext"))


class Ext:
    """An example extension process against a socket."""

    def __init__(self, name, socket, args=(), env=None, interval="0.2",
                 timeout="5"):
        e = dict(os.environ)
        e.update(env or {})
        cmd = [example(name), "--socket", socket, "--timeout", timeout,
               "--interval", interval, "--logger_min_stderr=0"] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=e)
        osqtest._live.append(self.proc)

    def wait(self, timeout=60):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError("extension did not exit: %s" % err.decode())
        self.stderr = err.decode("utf-8", "replace")
        return self.proc.returncode


def ext_client(core, uuid):
    path = "%s.%d" % (core.path, uuid)
    osqtest.wait_socket(path)
    return osqtest.Client(path, service="Extension"), path


def rows(resp):
    return [dict(r) for r in resp.response]


CGROUP_ROUTE = [
    {"id": "column", "name": "path", "type": "TEXT", "op": "1"},
    {"id": "column", "name": "depth", "type": "INTEGER", "op": "4"},
    {"id": "column", "name": "version", "type": "INTEGER", "op": "0"},
    {"id": "column", "name": "memory_current", "type": "BIGINT", "op": "0"},
    {"id": "column", "name": "memory_limit", "type": "BIGINT", "op": "0"},
    {"id": "column", "name": "limit_used_percent", "type": "DOUBLE",
     "op": "0"},
    {"id": "column", "name": "anon", "type": "BIGINT", "op": "0"},
    {"id": "column", "name": "file", "type": "BIGINT", "op": "0"},
    {"id": "column", "name": "oom_kills", "type": "BIGINT", "op": "0"},
    {"id": "column", "name": "processes", "type": "INTEGER", "op": "0"},
    {"id": "attributes", "attributes": "0"},
]


def fake_cgroups():
    """A cgroup v2 tree: / (no limit), /a (limit 1000), /a/b."""
    root = osqtest.workdir("osqt-cg-")

    def group(rel, current, limit, anon, file, oom, procs):
        d = os.path.join(root, rel) if rel else root
        os.makedirs(d, exist_ok=True)
        files = {
            "memory.current": "%d\n" % current,
            "memory.max": "%s\n" % limit,
            "memory.stat": "anon %d\nfile %d\nkernel 5\n" % (anon, file),
            "memory.events": "low 0\nhigh 0\nmax 0\noom 1\noom_kill %d\n" % oom,
            "cgroup.procs": "".join("%d\n" % p for p in procs),
        }
        for k, v in files.items():
            with open(os.path.join(d, k), "w") as f:
                f.write(v)

    group("", 5000, "max", 100, 200, 0, [1, 2, 3])
    open(os.path.join(root, "cgroup.controllers"), "w").write("memory\n")
    group("a", 900, "1000", 10, 20, 2, [7])
    group("a/b", 250, "max", 1, 2, 0, [])
    return root


def context(constraints, used):
    cols = ["anon", "depth", "file", "limit_used_percent", "memory_current",
            "memory_limit", "oom_kills", "path", "processes", "version"]
    return json.dumps({
        "constraints": [{"name": c, "list": [{"op": op, "expr": e}
                                             for (op, e) in constraints.get(c, [])],
                         "affinity": "TEXT"} for c in cols],
        "colsUsed": used, "colsUsedBitset": 0}, separators=(",", ":"))


def test_table_extension():
    d = osqtest.workdir()
    core = FakeCore(os.path.join(d, "core.em"))
    ext = Ext("cgroup_memory", core.path,
              args=["--verbose", "--unknown_flag", "x", "--foo=bar", "-z"],
              env={"OSQ_CGROUP_ROOT": fake_cgroups()})
    info, registry, uuid = core.wait_registered()
    eq((info.name, info.version, info.sdk_version, info.min_sdk_version),
       ("cgroup_memory", "1.0.0", SDK_VERSION, "0.0.0"), "info")
    eq({r: {i: [dict(x) for x in v] for i, v in t.items()}
        for r, t in registry.items()},
       {"table": {"cgroup_memory": CGROUP_ROUTE}}, "registry payload")

    c, path = ext_client(core, uuid)
    st = c.ping()
    eq((st.code, st.message, st.uuid), (0, "pong", uuid), "ping")
    resp = c.call("table", "cgroup_memory", {"action": "columns"})
    eq(resp.status.code, 0, "columns status")
    eq(rows(resp), CGROUP_ROUTE, "columns equals the registered route info")

    resp = c.call("table", "cgroup_memory", {
        "action": "generate",
        "context": context({"path": [(2, "/a")]},
                           ["path", "memory_current", "memory_limit",
                            "limit_used_percent", "oom_kills", "processes"])})
    eq((resp.status.code, resp.status.message, resp.status.uuid),
       (0, "OK", uuid), "generate status")
    eq(rows(resp), [{"depth": "1", "limit_used_percent": "90",
                     "memory_current": "900", "memory_limit": "1000",
                     "oom_kills": "2", "path": "/a", "processes": "1",
                     "version": "2"}], "rows for path = '/a'")

    # every column used (no colsUsed): the whole tree; depth <= 1 prunes it
    resp = c.call("table", "cgroup_memory", {"action": "generate"})
    eq(sorted(r["path"] for r in rows(resp)), ["/", "/a", "/a/b"], "walk")
    root = [r for r in rows(resp) if r["path"] == "/"][0]
    eq(root, {"anon": "100", "depth": "0", "file": "200",
              "memory_current": "5000", "oom_kills": "0", "path": "/",
              "processes": "3", "version": "2"}, "root row (no limit: NULL)")
    resp = c.call("table", "cgroup_memory", {
        "action": "generate", "context": context({"depth": [(8, "1")]},
                                                 ["path"])})
    eq(sorted(r["path"] for r in rows(resp)), ["/", "/a"], "depth <= 1")

    resp = c.call("table", "nope", {"action": "generate"})
    eq((resp.status.code, resp.status.message, rows(resp)),
       (1, "Cannot call registry item: nope", []), "unknown item")
    resp = c.call("killswitch", "x", {})
    eq((resp.status.code, resp.status.message),
       (1, "Unknown registry requested: killswitch"), "unknown registry")
    resp = c.call("table", "cgroup_memory", {"action": "generate",
                                             "context": "{bad"})
    eq(resp.status.code, 1, "bad context")
    check("context JSON" in resp.status.message, resp.status.message)

    # garbage costs its connection, never the extension
    import socket as so
    for junk in (b"\x80\x01\x00\x01\x7f\xff\xff\xffping",
                 b"\x00\x00\x00\x04callX" + b"\xff" * 64, b"\x0c" * 4096):
        raw = so.socket(so.AF_UNIX, so.SOCK_STREAM)
        raw.connect(path)
        raw.sendall(junk)
        raw.shutdown(so.SHUT_WR)
        raw.settimeout(10)
        while raw.recv(4096):
            pass
        raw.close()
    eq(c.ping().code, 0, "ping after malformed input")

    # a second, idle connection does not block the first (threaded server)
    idle = osqtest.Client(path, service="Extension")
    eq(c.ping().code, 0, "ping beside an idle connection")

    c.shutdown()
    eq(ext.wait(), 0, "exit code after shutdown()")
    idle.close()
    c.close()
    check(not os.path.exists(path), "extension socket removed")
    check(core.wait_deregistered(uuid, 5), "deregistered on shutdown")
    check("call table/cgroup_memory" in ext.stderr, "--verbose logs calls")


def test_config_extension():
    d = osqtest.workdir()
    core = FakeCore(os.path.join(d, "core.em"),
                    options={"config_plugin": "config_source"})
    cfg = '{"schedule":{"q":{"query":"select 1","interval":10}}}'
    ext = Ext("config_source", core.path, env={"OSQ_CONFIG_JSON": cfg})
    info, registry, uuid = core.wait_registered()
    eq(info.name, "config_source", "name")
    eq({r: {i: list(v) for i, v in t.items()} for r, t in registry.items()},
       {"config": {"config_source": []}}, "registry payload")
    c, path = ext_client(core, uuid)
    resp = c.call("config", "config_source", {"action": "genConfig"})
    eq((resp.status.code, rows(resp)), (0, [{"config_source": cfg}]),
       "genConfig")
    # empty item: the active plugin named by the core's config_plugin option
    resp = c.call("config", "", {"action": "genConfig"})
    eq(rows(resp), [{"config_source": cfg}], "active plugin")
    pack = os.path.join(d, "pack.json")
    with open(pack, "w") as f:
        f.write('{"queries":{}}')
    resp = c.call("config", "config_source",
                  {"action": "genPack", "name": "p1", "value": pack})
    eq((resp.status.code, rows(resp)), (0, [{"p1": '{"queries":{}}'}]),
       "genPack")
    c.close()
    os.kill(ext.proc.pid, signal.SIGTERM)
    eq(ext.wait(), 0, "exit code on SIGTERM")
    check("stopping on signal 15" in ext.stderr, ext.stderr)
    check(core.wait_deregistered(uuid, 5), "deregistered on SIGTERM")
    check(not os.path.exists(path), "socket removed on SIGTERM")

    # a broken config is refused with the place of the error
    core2 = FakeCore(os.path.join(d, "core2.em"))
    ext = Ext("config_source", core2.path, env={"OSQ_CONFIG_JSON": '{"a":'})
    _, _, uuid = core2.wait_registered()
    c, _ = ext_client(core2, uuid)
    resp = c.call("config", "config_source", {"action": "genConfig"})
    eq(resp.status.code, 1, "bad config")
    check(re.search(r"\$OSQ_CONFIG_JSON: .* at line 1 column \d+",
                    resp.status.message), resp.status.message)
    eq(rows(resp), [], "no rows on failure")
    c.close()
    ext.proc.terminate()
    eq(ext.wait(), 0, "exit")


def test_logger_extension():
    d = osqtest.workdir()
    core = FakeCore(os.path.join(d, "core.em"))
    out = os.path.join(d, "lines.jsonl")
    ext = Ext("file_logger", core.path, args=["--logger_file", out])
    info, registry, uuid = core.wait_registered()
    eq({r: {i: list(v) for i, v in t.items()} for r, t in registry.items()},
       {"logger": {"file_logger": []}}, "registry payload")
    c, _ = ext_client(core, uuid)
    eq(c.call("logger", "file_logger", {"action": "features"}).status.code, 1,
       "features bitmask (LOGSTATUS)")
    eq(c.call("logger", "file_logger", {"init": "osqd"}).status.code, 0, "init")
    res = '{"name":"q","action":"added","columns":{"a":"1"}}'
    eq(c.call("logger", "file_logger",
              {"string": res, "category": "event"}).status.code, 0, "result")
    eq(c.call("logger", "file_logger", {"snapshot": '{"s":1}'}).status.code,
       0, "snapshot")
    status = '[{"s":0,"f":"x.c","i":1,"m":"hi"},{"s":1,"f":"y.c","i":2,"m":"w"}]'
    eq(c.call("logger", "file_logger",
              {"status": "true", "log": status}).status.code, 0, "status")
    # a comma list of loggers: each one we own is called
    eq(c.call("logger", "file_logger,other", {"snapshot": '{"s":2}'}
              ).status.code, 0, "comma list")
    with open(out) as f:
        lines = [json.loads(x) for x in f.read().splitlines()]
    eq(lines, [
        {"kind": "init", "line": "osqd"},
        {"kind": "result", "line": json.loads(res)},
        {"kind": "snapshot", "line": {"s": 1}},
        {"kind": "status", "line": {"s": 0, "f": "x.c", "i": 1, "m": "hi"}},
        {"kind": "status", "line": {"s": 1, "f": "y.c", "i": 2, "m": "w"}},
        {"kind": "snapshot", "line": {"s": 2}},
    ], "log file")
    c.close()
    ext.proc.terminate()
    eq(ext.wait(), 0, "exit")


def test_minimal_table():
    d = osqtest.workdir()
    core = FakeCore(os.path.join(d, "core.em"))
    ext = Ext("minimal_table", core.path)
    _, registry, uuid = core.wait_registered()
    eq([dict(x) for x in registry["table"]["loadavg"]], [
        {"id": "column", "name": "period", "type": "TEXT", "op": "0"},
        {"id": "column", "name": "average", "type": "DOUBLE", "op": "0"},
        {"id": "attributes", "attributes": "0"}], "route info")
    c, _ = ext_client(core, uuid)
    resp = c.call("table", "loadavg", {"action": "generate"})
    eq([r["period"] for r in rows(resp)], ["1m", "5m", "15m"], "rows")
    c.close()
    ext.proc.terminate()
    eq(ext.wait(), 0, "exit")


def test_core_goes_away():
    d = osqtest.workdir()
    core = FakeCore(os.path.join(d, "core.em"))
    ext = Ext("minimal_table", core.path)
    _, _, uuid = core.wait_registered()
    osqtest.wait_socket("%s.%d" % (core.path, uuid))
    core.vanish()
    eq(ext.wait(), 0, "exit code when the core's socket is gone")
    check("the osquery core has gone away (%s is gone)" % core.path
          in ext.stderr, ext.stderr)
    check(not os.path.exists("%s.%d" % (core.path, uuid)), "socket removed")
    eq(core.deregistered, [], "no deregistration to a gone core")


def test_core_drops_extension():
    d = osqtest.workdir()
    core = FakeCore(os.path.join(d, "core.em"))
    ext = Ext("minimal_table", core.path)
    _, _, uuid = core.wait_registered()
    check(core.wait_extensions_calls(1), "the extension watches extensions()")
    core.drop(uuid)
    eq(ext.wait(), 1, "exit code when dropped")
    check("is no longer registered with the osquery core" in ext.stderr,
          ext.stderr)
    check(not os.path.exists("%s.%d" % (core.path, uuid)), "socket removed")


def test_refused_and_unreachable():
    d = osqtest.workdir()
    core = FakeCore(os.path.join(d, "core.em"),
                    refuse="Duplicate extension registered")
    ext = Ext("minimal_table", core.path)
    eq(ext.wait(), 1, "exit code when refused")
    check("refused extension load_average: Duplicate extension registered"
          in ext.stderr, ext.stderr)

    ext = Ext("minimal_table", os.path.join(d, "nothing.em"), timeout="0.3")
    eq(ext.wait(), 1, "exit code without a core")
    check("cannot reach the osquery core at %s" % os.path.join(d, "nothing.em")
          in ext.stderr, ext.stderr)

    ext = Ext("minimal_table", os.path.join(d, "nothing.em"), timeout="abc")
    eq(ext.wait(), 1, "bad --timeout")
    check("flag --timeout: \"abc\" is not a number of seconds" in ext.stderr,
          ext.stderr)

    p = subprocess.run([example("minimal_table"), "--help"],
                       capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "--help")
    check("--socket PATH" in p.stdout, p.stdout)


def test_out_of_descriptors():
    """Past its descriptor limit the extension refuses connections and
    serves again once they are gone."""
    import resource
    import socket as so
    d = osqtest.workdir()
    core = FakeCore(os.path.join(d, "core.em"))
    e = dict(os.environ)
    proc = subprocess.Popen(
        [example("minimal_table"), "--socket", core.path, "--interval", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=e,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                              (24, 24)))
    osqtest._live.append(proc)
    _, _, uuid = core.wait_registered()
    path = "%s.%d" % (core.path, uuid)
    osqtest.wait_socket(path)
    err = osqtest._Lines(proc.stderr)
    held = []
    for _ in range(40):
        s = so.socket(so.AF_UNIX, so.SOCK_STREAM)
        s.connect(path)  # the listen backlog (64) takes them
        held.append(s)
    # Held open, the connections pin a descriptor each in the extension
    # until it runs out; closing them before it has accepted enough would
    # let it serve them one by one and never reach the limit.
    err.wait("cannot accept a connection", timeout=60.0)
    for s in held:
        s.close()
    c = osqtest.Client(path, service="Extension")
    eq(c.ping().code, 0, "ping after running out of descriptors")
    resp = c.call("table", "loadavg", {"action": "generate"})
    eq(len(resp.response), 3, "rows after running out of descriptors")
    c.shutdown()
    c.close()
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("extension did not exit: %s" % err.text())
    eq(code, 0, "exit")
    err.t.join(60)
    check("cannot accept a connection" in err.text(), err.text())


def test_with_osqi():
    """The examples registered with osq's own core, queried through SQL."""
    if not os.path.exists(os.path.join(osqtest.BUILD, "osqi")):
        print("SKIP test_with_osqi: osqi not built")
        return
    root = fake_cgroups()
    with osqtest.Osqi() as sh:
        cg = Ext("cgroup_memory", sh.socket, env={"OSQ_CGROUP_ROOT": root},
                 interval="1")
        mt = Ext("minimal_table", sh.socket, interval="1")
        osqtest.wait_until(lambda: len(sh.sql(
            "select * from osquery_extensions where type = 'extension'")) == 2,
            what="both extensions listed")
        eq(sh.sql("select name, version from osquery_extensions where "
                  "type = 'extension' order by name"),
           [{"name": "cgroup_memory", "version": "1.0.0"},
            {"name": "load_average", "version": "1.0.0"}], "listed")
        eq(sh.sql("select path, memory_limit, limit_used_percent, oom_kills "
                  "from cgroup_memory where path = '/a'"),
           [{"path": "/a", "memory_limit": "1000",
             "limit_used_percent": "90.0", "oom_kills": "2"}], "SQL on it")
        eq(sh.sql("select count(*) as n from cgroup_memory where depth <= 1"),
           [{"n": "2"}], "depth pushed down")
        eq(len(sh.sql("select * from loadavg")), 3, "loadavg")
    # the core sends shutdown() as it stops
    eq(cg.wait(), 0, "cgroup_memory exit with the core")
    eq(mt.wait(), 0, "minimal_table exit with the core")


if __name__ == "__main__":
    osqtest.run_tests([
        test_table_extension,
        test_config_extension,
        test_logger_extension,
        test_minimal_table,
        test_core_goes_away,
        test_core_drops_extension,
        test_refused_and_unreachable,
        test_out_of_descriptors,
        test_with_osqi,
    ])
