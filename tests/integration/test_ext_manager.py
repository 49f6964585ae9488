#!/usr/bin/python3
"""The extension manager against Apache Thrift's Python implementation:
registration (osquery's checks and messages), tables/config/logger served
by a Python extension through osqi's SQL, the manager's own methods,
faults (killed, stopped, garbage), concurrency, sockets and health."""
import json
import os
import signal
import socket
import stat
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import eq, check  # noqa: E402

A = osqtest.api()
T = A.ttypes

FULL_EXT = r'''
import json, os, sys, time
from osqtest import ext

class Things(ext.Table):
    name = "things"
    columns = [("name", "TEXT"), ("size", "INTEGER"), ("big", "BIGINT"),
               ("ratio", "DOUBLE"), ("hidden_col", "TEXT", 16)]
    def generate(self, context, request):
        for c in context.get("constraints", []):
            for item in c["list"]:
                if item["expr"] == "hang":
                    time.sleep(3600)
                if item["expr"] == "raise":
                    raise RuntimeError("boom")
        return [{"name": "alpha", "size": "1", "big": "0x10", "ratio": "0.5",
                 "hidden_col": "h"},
                {"name": "beta", "size": "2", "big": "", "ratio": "x",
                 "rowid": "42"}]

class Ctx(ext.Table):
    name = "ctx_echo"
    columns = [("a", "TEXT"), ("b", "INTEGER"), ("c", "TEXT"), ("ctx", "TEXT")]
    def generate(self, context, request):
        # keys that are no column (one with a NUL inside) are ignored
        return [{"a": "x", "b": "1", "c": "z", "ctx": request["context"],
                 "a\x00long_key_past_the_name": "evil", "unknown": "u"}]

class Callback(ext.Table):
    name = "callback"
    columns = [("answer", "TEXT")]
    def generate(self, context, request):
        client, trans = ext.manager_client(sys.argv[sys.argv.index("--socket") + 1])
        r = client.query("select 6*7 as x")
        trans.close()
        return [{"answer": r.response[0]["x"]}]

class Conf(ext.Config):
    name = "py_config"
    def gen_config(self):
        return {"main": json.dumps({"options": {"a": 1}})}

class Log(ext.Logger):
    name = "py_logger"

class Dist(ext.Distributed):
    name = "py_dist"
    queries = {"queries": {"q1": "select 1"}}

ext.main("full_ext", [Things(), Ctx(), Callback(), Conf(), Log(), Dist()])
'''

ONE_TABLE = r'''
import sys
from osqtest import ext
NAME = sys.argv[sys.argv.index("--name") + 1]
TABLE = sys.argv[sys.argv.index("--table") + 1]
SERVER = "threaded" if "--threaded" in sys.argv else "simple"
class T(ext.Table):
    name = TABLE
    columns = [("v", "TEXT")]
    def generate(self, context, request):
        return [{"v": TABLE}]
ext.main(NAME, [T()], server=SERVER)
'''


def one_table(sock, name, table, *extra):
    return osqtest.spawn_extension(ONE_TABLE, sock,
                                   ["--name", name, "--table", table] + list(extra))


def info(name, sdk="3.0.7", min_sdk="1.8.0"):
    return T.InternalExtensionInfo(name=name, version="1.0", sdk_version=sdk,
                                   min_sdk_version=min_sdk)


def col(name, typ="TEXT", op="0"):
    return {"id": "column", "name": name, "type": typ, "op": op}


def log_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_extension_table_through_sql():
    with osqtest.Osqi(args=["--thrift_timeout=60", "--extensions_interval=1"]) as sh:
        d = osqtest.workdir()
        log = os.path.join(d, "calls.jsonl")
        e = osqtest.spawn_extension(FULL_EXT, sh.socket, ["--osqtest-log", log])
        check(e.uuid and 1 <= e.uuid <= 65535, "uuid %r" % e.uuid)
        rows = sh.sql("select name, size, typeof(size) ts, big, typeof(big) tb, "
                      "ratio, typeof(ratio) tr, hidden_col from things order by name")
        eq(rows, [
            {"name": "alpha", "size": "1", "ts": "integer", "big": "16",
             "tb": "integer", "ratio": "0.5", "tr": "real", "hidden_col": "h"},
            {"name": "beta", "size": "2", "ts": "integer", "big": "",
             "tb": "null", "ratio": "", "tr": "null", "hidden_col": ""},
        ], "typed extension rows")
        eq(sh.sql("select rowid from things where name = 'beta'"),
           [{"rowid": "42"}], "rowid key")
        # constraints and colsUsed arrive exactly as osquery sends them
        rows = sh.sql("select ctx, c from ctx_echo where b = 1 and a like 'x%'")
        eq(len(rows), 1, "ctx rows")
        eq(json.loads(rows[0]["ctx"]), {
            "constraints": [
                {"name": "a", "list": [{"op": 65, "expr": "x%"}], "affinity": "TEXT"},
                {"name": "b", "list": [{"op": 2, "expr": "1"}], "affinity": "INTEGER"},
                {"name": "c", "list": [], "affinity": "TEXT"},
                {"name": "ctx", "list": [], "affinity": "TEXT"},
            ],
            "colsUsed": ["a", "b", "c", "ctx"],
            "colsUsedBitset": 15,
        }, "generate context")
        eq(sh.sql("select a, b, c from ctx_echo"), [{"a": "x", "b": "1", "c": "z"}],
           "extra reply keys ignored")
        raw = [c for c in log_lines(log) if c["item"] == "ctx_echo"][-2]
        eq(raw["registry"], "table", "registry")
        eq(sorted(raw["request"]), ["action", "context"], "request keys")
        eq(raw["request"]["action"], "generate", "action")
        check(raw["request"]["context"].startswith('{"constraints":[{"name":"a",'),
              "compact context JSON: %r" % raw["request"]["context"][:60])
        # an extension whose generate calls back into the manager's query()
        eq(sh.sql("select answer from callback"), [{"answer": "42"}], "callback")
        # introspection shows the live state
        ext_rows = sh.sql("select uuid, name, version, type, path from "
                          "osquery_extensions where type = 'extension'")
        eq(ext_rows, [{"uuid": str(e.uuid), "name": "full_ext", "version": "1.0.0",
                       "type": "extension", "path": "%s.%d" % (sh.socket, e.uuid)}],
           "osquery_extensions")
        reg = sh.sql("select registry, name, owner_uuid, internal from osquery_registry "
                     "where owner_uuid = %d order by registry, name" % e.uuid)
        eq([(r["registry"], r["name"], r["internal"]) for r in reg],
           [("config", "py_config", "0"), ("distributed", "py_dist", "0"),
            ("logger", "py_logger", "0"), ("table", "callback", "0"), ("table", "ctx_echo", "0"),
            ("table", "things", "0")], "osquery_registry")
        # config and logger plugins, reached through the manager's call()
        with osqtest.Client(sh.socket) as c:
            r = c.call("config", "py_config", {"action": "genConfig"})
            eq(r.status.code, 0, "genConfig status")
            eq(r.response, [{"main": '{"options": {"a": 1}}'}], "genConfig rows")
            sent = [{"string": '{"x":1}', "category": "event"},
                    {"snapshot": '{"s":2}'},
                    {"init": "osqd"},
                    {"status": "true", "log": '[{"s":0,"m":"hi"}]'}]
            for req in sent:
                r = c.call("logger", "py_logger", req)
                eq((r.status.code, r.status.message), (0, "OK"), "logger %r" % req)
            r = c.call("distributed", "py_dist", {"action": "getQueries"})
            eq((r.status.code, r.response),
               (0, [{"results": '{"queries": {"q1": "select 1"}}'}]), "getQueries")
            r = c.call("distributed", "py_dist",
                       {"action": "writeResults", "results": '{"queries":{}}'})
            eq(r.status.code, 0, "writeResults")
        got = [c["request"] for c in log_lines(log) if c["registry"] == "logger"
               and c["request"].get("action") != "features"]
        eq(got, sent, "logger requests as the extension received them")
        got = [c["request"] for c in log_lines(log) if c["registry"] == "distributed"]
        eq(got, [{"action": "getQueries"},
                 {"action": "writeResults", "results": '{"queries":{}}'}],
           "distributed requests")
        # a Python exception in generate: osquery's message
        line = sh.expect_error("select * from things where name = 'raise'", "Error")
        check(line.endswith("Extension call failed: Internal error"), line)
        eq(len(sh.sql("select * from things")), 2, "extension fine afterwards")
        # logger features asked once the extension answered its first ping
        osqtest.wait_until(lambda: {"registry": "logger", "item": "py_logger",
                                    "request": {"action": "features"}}
                           in log_lines(log), osqtest.WAIT, "features request")
        e.stop()


def test_manager_methods():
    with osqtest.Osqi(args=["--nullvalue=NUL", "--thrift_max_message_size=100000"]) as sh, \
            osqtest.Client(sh.socket) as c:
        st = c.ping()
        eq((st.code, st.message, st.uuid), (0, "pong", 0), "ping")
        eq(c.extensions(), {}, "no extensions")
        opts = c.options()
        eq((opts["extensions_interval"].value, opts["extensions_interval"].default_value,
            opts["extensions_interval"].type), ("3", "3", "string"), "string option")
        eq((opts["thrift_timeout"].default_value, opts["thrift_timeout"].type),
           ("300", "uint32"), "uint32 option")
        eq((opts["disable_extensions"].value, opts["disable_extensions"].type),
           ("false", "bool"), "bool option")
        eq(opts["nullvalue"].value, "NUL", "option value")
        check("config_plugin" in opts and "logger_plugin" in opts, "plugin options")
        r = c.query("select 1 as i, 2.5 as d, 1e20 as e, null as n, 'x' as t")
        eq((r.status.code, r.status.message, r.status.uuid), (0, "OK", 0), "query status")
        eq(r.response, [{"i": "1", "d": "2.5", "e": "1e+20.0", "n": "NUL", "t": "x"}],
           "query cells")
        r = c.query("select 1 as a; select 2 as a")
        eq(r.response, [{"a": "1"}, {"a": "2"}], "statements concatenated")
        r = c.query("with recursive n(i) as (select 1 union all select i + 1 from n "
                    "where i < 100000) select i, 'xxxxxxxxxx' as s from n")
        eq((r.status.code, r.status.message, r.response),
           (1, "query result larger than 100000 bytes (--thrift_max_message_size)", []),
           "bounded query reply")
        r = c.query("select * from no_such_table")
        eq((r.status.code, r.status.message, r.response),
           (1, "no such table: no_such_table", []), "query error")
        r = c.getQueryColumns("select name, pid from processes")
        eq(r.status.code, 0, "columns status")
        eq(r.response, [{"name": "TEXT"}, {"pid": "BIGINT"}], "getQueryColumns")
        r = c.getQueryColumns("select nope from nowhere")
        eq((r.status.code, r.status.message), (1, "no such table: nowhere"), "columns error")
        r = c.call("nosuch", "x", {})
        eq((r.status.code, r.status.message, r.response),
           (1, "Unknown registry requested: nosuch", []), "unknown registry")
        r = c.call("table", "no_table_here", {"action": "generate", "context": "{}"})
        eq((r.status.code, r.status.message),
           (1, "Cannot call registry item: no_table_here"), "unknown item")
        r = c.call("table", "time", {"action": "generate", "context": "{}"})
        eq(r.status.code, 0, "core table call: %r" % r.status)
        eq(len(r.response), 1, "time rows")
        check("unix_time" in r.response[0], "time columns %r" % r.response[0])
        c.shutdown()  # a no-op on a manager
        eq(c.ping().code, 0, "still serving after shutdown()")
        st = c.deregisterExtension(12345)
        eq((st.code, st.message), (1, "No extension UUID found"), "deregister unknown")


def test_registration_rules():
    with osqtest.Osqi() as sh, osqtest.Client(sh.socket) as c:
        st = c.registerExtension(info("reg_a"), {"table": {"reg_tab": [col("x")]}})
        eq((st.code, st.message), (0, "OK"), "register")
        check(1 <= st.uuid <= 65535, "uuid range")
        first = st.uuid
        # listed before the reply was read
        check(first in c.extensions(), "listed at once")
        eq(sh.sql("select x from reg_tab"), [], "table attached")
        st = c.registerExtension(info("reg_a"), {})
        eq((st.code, st.message, st.uuid), (1, "Duplicate extension registered", 0),
           "duplicate name")
        st = c.registerExtension(info("reg_b", sdk="1.7.6"), {})
        eq((st.code, st.message), (1, "Incompatible extension SDK version"), "old sdk")
        for ok_sdk in ("", "0.0.0", "1.7.7", "1.8", "2"):
            st = c.registerExtension(info("sdk_" + ok_sdk.replace(".", "_"), sdk=ok_sdk), {})
            eq(st.code, 0, "sdk %r accepted" % ok_sdk)
        st = c.registerExtension(info("reg_c"), {"table": {"reg_tab": [col("y")]}})
        eq((st.code, st.message),
           (1, "Failed adding registry: Registry item reg_tab conflicts with "
               "another item of the same name."), "duplicate plugin vs extension")
        st = c.registerExtension(info("reg_c"), {"table": {"time": [col("y")]}})
        eq(st.message, "Failed adding registry: Registry item time conflicts with "
           "another item of the same name.", "duplicate plugin vs core")
        st = c.registerExtension(info("reg_d"), {"bogus": {"p": [{"x": "y"}]}})
        eq((st.code, st.message), (1, "Failed adding registry: Unknown registry: bogus"),
           "unknown registry, non-empty")
        st = c.registerExtension(info("reg_e"), {"bogus": {}, "table": {},
                                                 "event_subscriber": {}})
        eq((st.code, st.message), (0, "OK"), "unknown registry, empty: ignored")
        st = c.registerExtension(info("reg_f"), {"table": {"empty_route": []}})
        eq((st.code, st.message), (1, "Failed adding registry: Invalid route info"),
           "empty route info")
        for routes, why in [
            ({"bad name;": [col("x")]}, "Failed adding registry: Invalid route info: "
             "table name 'bad name;' is not an SQL identifier"),
            ({"dupcol": [col("x"), col("x")]}, "Failed adding registry: Invalid route "
             "info for table dupcol: column x declared twice"),
            ({"wide": [col("c%d" % i) for i in range(2001)]}, "Failed adding registry: "
             "Invalid route info for table wide: more than 2000 columns"),
            ({"nocols": [{"id": "attributes", "attributes": "0"}]},
             "Failed adding registry: Invalid route info for table nocols: no columns"),
        ]:
            st = c.registerExtension(info("reg_bad"), {"table": routes})
            eq((st.code, st.message), (1, why), "route info check")
        # atomic: a conflict in the batch adds nothing
        st = c.registerExtension(info("reg_g"), {
            "table": {"atomic_one": [col("a")], "atomic_two": [col("b")]},
            "config": {"reg_tab": []}, "logger": {"time": []}})
        eq(st.code, 0, "different registries do not clash: %r" % st.message)
        st = c.registerExtension(info("reg_h"), {
            "table": {"atomic_three": [col("a")], "reg_tab": [col("b")]}})
        eq(st.code, 1, "conflict")
        eq(sh.sql("select name from osquery_registry where name = 'atomic_three'"), [],
           "nothing of a failed registration stays")
        names = sorted(i.name for i in c.extensions().values())
        eq(names, ["reg_a", "reg_e", "reg_g", "sdk_", "sdk_0_0_0", "sdk_1_7_7",
                   "sdk_1_8", "sdk_2"], "registered names")
        st = c.deregisterExtension(first)
        eq((st.code, st.message, st.uuid), (0, "OK", 0), "deregister")
        check(first not in c.extensions(), "gone from extensions()")
        eq(sh.sql("select name from osquery_registry where registry = 'table' "
                  "and name = 'reg_tab'"), [], "deregistered table removed at once")
        sh.expect_error("select x from reg_tab", "no such table: reg_tab")
        # a released uuid is not handed out again at once
        seen = set()
        for i in range(200):
            st = c.registerExtension(info("cycle"), {})
            eq(st.code, 0, "cycle register")
            check(st.uuid != first and st.uuid not in seen, "uuid reused: %d" % st.uuid)
            seen.add(st.uuid)
            eq(c.deregisterExtension(st.uuid).code, 0, "cycle deregister")


def test_killed_and_stopped_extension():
    with osqtest.Osqi(args=["--thrift_timeout=5", "--extensions_interval=1"]) as sh:
        e = osqtest.spawn_extension(FULL_EXT, sh.socket)
        eq(len(sh.sql("select * from things")), 2, "rows before")
        # hung inside generate: the query fails at the deadline, with a message
        t0 = time.monotonic()
        line = sh.expect_error("select * from things where name = 'hang'", "Error")
        check("did not answer call table things within 5000 ms (--thrift_timeout)" in line
              and "full_ext" in line, line)
        check(time.monotonic() - t0 < 30, "bounded")
        with osqtest.Client(sh.socket) as c:
            eq(c.ping().code, 0, "manager healthy while the extension hangs")
            eq(c.query("select 1 as one").response, [{"one": "1"}], "manager serves")
        e.kill(signal.SIGKILL)
        e.proc.wait()
        line = sh.expect_error("select * from things", "Error")
        check("Extension call failed" in line, line)
        # the watcher removes the dead extension and its tables
        osqtest.wait_until(lambda: sh.sql(
            "select name from osquery_registry where owner_uuid = %d" % e.uuid) == [],
            osqtest.WAIT, "dead extension's routes removed")
        eq(sh.sql("select uuid from osquery_extensions where type = 'extension'"), [],
           "dead extension removed")
        sh.expect_error("select * from things", "no such table: things")

        # stopped (SIGSTOP) in the middle of nothing: calls fail in time too
        e2 = one_table(sh.socket, "stoppy", "stoppy_t")
        eq(sh.sql("select v from stoppy_t"), [{"v": "stoppy_t"}], "before stop")
        osqtest.stop_process(e2.proc.pid)
        line = sh.expect_error("select v from stoppy_t", "Error")
        check("within 5000 ms" in line or "no such table" in line
              or "failed its health check" in line, line)
        with osqtest.Client(sh.socket) as c:
            eq(c.ping().code, 0, "manager healthy with a stopped extension")
        e2.kill(signal.SIGCONT)
        e2.stop()


def test_garbage_on_manager_socket():
    with osqtest.Osqi() as sh:
        def exchange(data):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(20)
            s.connect(sh.socket)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            s.close()
            return got
        ping = b"\x80\x01\x00\x01\x00\x00\x00\x04ping\x00\x00\x00\x00\x00"
        # a good ping over a raw socket first
        r = exchange(ping)
        check(r.startswith(b"\x80\x01\x00\x02\x00\x00\x00\x04ping"), repr(r))
        cases = [
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"\x00" * 64,
            ping[:7],                                           # truncated header
            b"\x80\x01\x00\x01\x7f\xff\xff\xffping",            # absurd name length
            b"\x80\x01\x00\x01\x00\x00\x00\x05query\x00\x00\x00\x00"
            b"\x0b\x00\x01\x7f\xff\xff\xf0abc",                  # absurd string length
            b"\x80\x01\x00\x01\x00\x00\x00\x05query\x00\x00\x00\x00"
            b"\x0d\x00\x01\x0b\x0b\x7f\xff\xff\xff",             # absurd map count
            b"\x80\x01\x00\x01\x00\x00\x00\x04ping\x00\x00\x00\x00" + b"\x0c\x00\x01" * 200,
            ping + b"\xff\xff\xff\xff\xff",                      # good, then garbage
        ]
        for data in cases:
            exchange(data)  # the manager drops the connection (EOF, no hang)
            with osqtest.Client(sh.socket) as c:
                eq(c.ping().message, "pong", "next client served after %r" % data[:16])
        # an unknown method is a TApplicationException, the connection lives on
        from thrift.Thrift import TApplicationException
        from thrift.protocol import TBinaryProtocol
        with osqtest.Client(sh.socket) as c:
            proto = TBinaryProtocol.TBinaryProtocol(c.transport)
            proto.writeMessageBegin("streamEvents", 1, 7)
            proto.writeStructBegin("x")
            proto.writeFieldStop()
            proto.writeStructEnd()
            proto.writeMessageEnd()
            c.transport.flush()
            name, mtype, seqid = proto.readMessageBegin()
            eq((name, mtype, seqid), ("streamEvents", 3, 7), "exception header")
            x = TApplicationException()
            x.read(proto)
            proto.readMessageEnd()
            eq((x.type, x.message), (1, "Invalid method name: 'streamEvents'"), "unknown method")
            eq(c.ping().code, 0, "same connection still works")


def test_many_clients_at_once():
    with osqtest.Osqi() as sh:
        e = osqtest.spawn_extension(FULL_EXT, sh.socket)
        # and a concurrent (thread per connection, like C++/Go) extension
        e2 = one_table(sh.socket, "threaded_ext", "thr_t", "--threaded")
        eq(len(sh.sql("select * from things")), 2, "warm")
        eq(sh.sql("select v from thr_t"), [{"v": "thr_t"}], "warm threaded")
        fd_dir = "/proc/%d/fd" % sh.proc.pid
        fds_before = len(os.listdir(fd_dir))
        errors = []
        idle = osqtest.Client(sh.socket)  # an idle connection blocks nobody
        idle.ping()

        def worker(n):
            try:
                with osqtest.Client(sh.socket) as c:
                    for _ in range(10):
                        r = c.query("select name from things order by name")
                        if r.status.code != 0 or [x["name"] for x in r.response] != ["alpha", "beta"]:
                            errors.append((n, r))
                        r = c.query("select v from thr_t")
                        if r.status.code != 0 or r.response != [{"v": "thr_t"}]:
                            errors.append((n, r))
            except Exception as ex:
                errors.append((n, repr(ex)))
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        eq(errors, [], "16 concurrent clients through a one-connection extension")
        eq(idle.ping().code, 0, "idle connection still served")
        idle.close()
        # no descriptor leaked: every client connection and every extra
        # connection to the extension closed again
        osqtest.wait_until(lambda: len(os.listdir(fd_dir)) <= fds_before, osqtest.WAIT,
                           "descriptors back to %d (now %d)" %
                           (fds_before, len(os.listdir(fd_dir))))
        e.stop()
        e2.stop()


def test_sockets():
    d = osqtest.workdir()
    path = os.path.join(d, "mgr.em")
    # a stale socket (nobody listening) is replaced
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    stale_ext = path + ".4242"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale_ext)
    s.close()
    with osqtest.Osqi(socket=path) as sh:
        check(not os.path.exists(stale_ext), "stale extension socket removed")
        eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "default mode 0600")
        check(stat.S_ISSOCK(os.stat(path).st_mode), "a socket")
        eq(sorted(os.listdir(d)), ["mgr.em"], "no temporary names left")
        # a live manager on the same path is not replaced
        other = osqtest.Osqi(socket=path, wait=False)
        line = other.err.wait("Another extension manager is serving " + path)[1]
        check(path in line, line)
        eq(other.sql("select 1 as x"), [{"x": "1"}], "the second shell still runs")
        other.close()
        with osqtest.Client(path) as c:
            eq(c.ping().code, 0, "first manager still serves")
        e = one_table(path, "sock_ext", "sock_t")
        check(os.path.exists("%s.%d" % (path, e.uuid)), "extension socket")
        # the extension is told to shut down when the manager stops
    e.out.wait("^OSQTEST-SHUTDOWN$")
    e.proc.wait(60)
    check(not os.path.exists(path), "manager socket removed at stop")
    eq(os.listdir(d), [], "socket files removed")
    # an extension that deregisters from inside shutdown() (osquery-go):
    # the stopping manager still serves it, and nothing deadlocks
    go_like = ONE_TABLE.replace("server=SERVER)", "server=SERVER, deregister_on_shutdown=True)")
    sh = osqtest.Osqi()
    e = osqtest.spawn_extension(go_like, sh.socket, ["--name", "go_like", "--table", "go_t"])
    check(e.uuid, "go_like registered: %r" % e.failure)
    sh.close()
    e.out.wait("^OSQTEST-SHUTDOWN$")
    e.out.wait("^OSQTEST-DEREGISTERED 0 OK$")
    e.proc.wait(60)

    # two shells on the default socket: the second takes shell.emNNNNN
    home = osqtest.workdir()
    with osqtest.Osqi(socket="default", home=home) as first:
        second = osqtest.Osqi(socket="default", home=home, wait=False)
        rows = second.sql("select path from osquery_extensions where type = 'core'")
        eq(len(rows), 1, "second shell's manager")
        alt = rows[0]["path"]
        check(alt != first.socket and alt.startswith(first.socket) and
              alt[len(first.socket):].isdigit(), "alternative socket %r" % alt)
        with osqtest.Client(alt) as c:
            eq(c.ping().code, 0, "second shell serves " + alt)
        second.close()
        with osqtest.Client(first.socket) as c:
            eq(c.ping().code, 0, "first shell untouched")

    with osqtest.Osqi(args=["--extensions_socket_mode=0660"]) as sh:
        eq(stat.S_IMODE(os.stat(sh.socket).st_mode), 0o660, "mode flag")
    bad = osqtest.Osqi(args=["--extensions_socket_mode=0999"], wait=False)
    bad.err.wait(r"Invalid --extensions_socket_mode '0999'")
    bad.close()
    long_path = os.path.join(d, "x" * 100)
    bad = osqtest.Osqi(socket=long_path, wait=False)
    bad.err.wait(r"Extension socket path too long")
    bad.close()


def test_peer_credentials():
    if os.geteuid() != 0:
        print("skipped: needs root to act as another user")
        return
    with osqtest.Osqi(args=["--extensions_socket_mode=0666",
                            "--extensions_socket_group=nogroup"]) as sh:
        os.chmod(os.path.dirname(sh.socket), 0o755)

        def as_user(uid, gid):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                try:
                    os.setgroups([])
                    os.setgid(gid)
                    os.setuid(uid)
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.settimeout(10)
                    s.connect(sh.socket)
                    s.sendall(b"\x80\x01\x00\x01\x00\x00\x00\x04ping\x00\x00\x00\x00\x00")
                    got = s.recv(100)
                    os.write(w, b"served" if got else b"refused")
                except (BrokenPipeError, ConnectionResetError):
                    os.write(w, b"refused")
                except Exception as ex:
                    os.write(w, repr(ex).encode())
                os._exit(0)
            os.close(w)
            out = os.read(r, 200)
            os.close(r)
            os.waitpid(pid, 0)
            return out.decode()
        eq(as_user(65534, 65534), "served", "member of the socket group")
        eq(as_user(65533, 65533), "refused", "other user")
        sh.err.wait(r"Refusing extension manager connection from pid \d+ uid 65533")


def test_health_grace_and_removal():
    with osqtest.Osqi(args=["--extensions_interval=1", "--extensions_timeout=1"]) as sh, \
            osqtest.Client(sh.socket) as c:
        # registered but never listening: removed after the grace period
        st = c.registerExtension(info("ghost"), {"table": {"ghost_t": [col("x")]}})
        eq(st.code, 0, "ghost registered")
        eq(sh.sql("select x from ghost_t"), [], "ghost table usable at first")
        osqtest.wait_until(lambda: st.uuid not in c.extensions(), osqtest.WAIT, "ghost removed")
        sh.expect_error("select x from ghost_t", "no such table: ghost_t")
        # a live extension stays
        e = one_table(sh.socket, "alive", "alive_t")
        e_uuid = e.uuid
        # let a few health rounds pass, waiting on its pings being answered
        osqtest.wait_until(lambda: sh.sql(
            "select count(*) as n from osquery_extensions where uuid = %d" % e_uuid)
            == [{"n": "1"}], osqtest.WAIT, "alive listed")
        t_end = time.monotonic() + 3
        while time.monotonic() < t_end:
            check(e_uuid in c.extensions(), "live extension kept")
            time.sleep(0.2)
        e.stop()
        osqtest.wait_until(lambda: e_uuid not in c.extensions(), osqtest.WAIT,
                           "stopped extension removed")


WRITABLE_EXT = r'''
import json
from osqtest import ext
from osquery.extensions.ttypes import ExtensionResponse, ExtensionStatus

def reply(**row):
    return ExtensionResponse(ExtensionStatus(0, "OK", None), [row])

class W(ext.Table):
    name = "wtab"
    columns = [("a", "TEXT"), ("b", "INTEGER")]
    rows = {1: ["one", 1]}
    def generate(self, context, request):
        return [{"rowid": str(k), "a": v[0], "b": str(v[1])} for k, v in self.rows.items()]
    def write(self, action, request):
        if action == "insert":
            vals = json.loads(request["json_value_array"])
            auto = request["auto_rowid"] == "true"
            rid = int(request["id"]) if auto else max(self.rows) + 1
            self.rows[rid] = vals
            return reply(status="success") if auto else reply(status="success", id=str(rid))
        if action == "delete":
            self.rows.pop(int(request["id"]), None)
            return reply(status="success")
        vals = json.loads(request["json_value_array"])
        if vals[0] == "bad":
            return reply(status="failure", message="bad values refused")
        if vals[0] == "ro":
            return reply(status="readonly")
        self.rows[int(request["id"])] = vals
        return reply(status="success")
ext.main("wext", [W()])
'''


def test_writable_table():
    d = osqtest.workdir()
    log = os.path.join(d, "calls.jsonl")
    with osqtest.Osqi() as sh:
        osqtest.spawn_extension(WRITABLE_EXT, sh.socket, ["--osqtest-log", log])
        sh.sql("insert into wtab(a, b) values ('two', 2)")
        sh.sql("insert into wtab(rowid, a, b) values (10, 'ten', 10)")
        sh.sql("update wtab set b = 3 where a = 'two'")
        sh.sql("delete from wtab where rowid = 1")
        eq(sh.sql("select rowid, a, b from wtab order by rowid"),
           [{"rowid": "2", "a": "two", "b": "3"}, {"rowid": "10", "a": "ten", "b": "10"}],
           "rows after writes")
        line = sh.expect_error("update wtab set a = 'bad' where b = 10", "Error")
        check("bad values refused" in line, line)
        line = sh.expect_error("update wtab set a = 'ro' where b = 10", "Error")
        check("may not be modified" in line or "readonly" in line.lower(), line)
        writes = [c["request"] for c in log_lines(log)
                  if c["request"].get("action") != "generate"]
        for w in writes:
            check(json.loads(w.pop("context"))["constraints"][0]["name"] == "a",
                  "write carries the context")
        eq(writes[:4], [
            {"action": "insert", "json_value_array": '["two",2]', "auto_rowid": "false"},
            {"action": "insert", "json_value_array": '["ten",10]', "auto_rowid": "true",
             "id": "10"},
            {"action": "update", "id": "2", "json_value_array": '["two",3]'},
            {"action": "delete", "id": "1"},
        ], "write requests")


def test_connection_bound():
    with osqtest.Osqi(args=["--extensions_max_connections=2"]) as sh:
        def served():
            # the readiness probe's connection may still be counted for a
            # moment after it closed
            try:
                c = osqtest.Client(sh.socket)
                if c.ping().code == 0:
                    return c
                c.close()
            except Exception:
                pass
            return None
        # the refusal warning is rate-limited (once per 10 s): a refusal
        # while probing for the slots below may be the one logged
        start = len(sh.err.lines)
        a = osqtest.wait_until(served, osqtest.WAIT, "first connection")
        b = osqtest.wait_until(served, osqtest.WAIT, "second connection")
        try:
            with osqtest.Client(sh.socket, timeout=10) as c:
                c.ping()
            raise AssertionError("a third connection was served")
        except AssertionError:
            raise
        except Exception:
            pass  # closed by the manager
        sh.err.wait(r"Refusing extension manager connection from pid \d+: 2 connections "
                    r"open \(--extensions_max_connections=2\)", start)
        a.close()

        osqtest.wait_until(served, osqtest.WAIT, "a freed slot to be reused").close()
        eq(b.ping().code, 0, "the other connection unaffected")
        b.close()


def test_slow_clients_cannot_lock_out():
    """Half-sent requests from one process: they get at most half of the
    slots, the refusals are logged a bounded number of times, another
    process still pings and registers, and the half-sent connections are
    closed once the request deadline (10 s) has passed."""
    with osqtest.Osqi(args=["--extensions_max_connections=64"]) as sh:
        start = len(sh.err.lines)
        r, w = os.pipe()
        holder = os.fork()
        if holder == 0:
            os.close(r)
            code = 1
            try:
                held, closed = [], 0
                for _ in range(64):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(sh.socket)
                    try:
                        # a ping request cut short: header, half the name
                        s.sendall(b"\x80\x01\x00\x01\x00\x00\x00\x04pi")
                        held.append(s)
                    except OSError:
                        closed += 1  # refused and closed already
                os.write(w, b"R")
                for s in held:
                    s.settimeout(120)
                    try:
                        if s.recv(100) == b"":
                            closed += 1
                    except OSError:
                        closed += 1  # reset: closed too
                os.write(w, b"%d" % closed)
                code = 0
            except Exception as ex:
                sys.stderr.write("holder: %r\n" % ex)
            finally:
                os._exit(code)
        os.close(w)
        try:
            eq(os.read(r, 1), b"R", "half-sent connections open")
            # another process (this one) is served at once
            with osqtest.Client(sh.socket, timeout=20) as c:
                eq(c.ping().code, 0, "ping while one peer holds its slots")
            e = one_table(sh.socket, "fair", "fair_t")
            check(e.uuid, "registration while one peer holds its slots")
            eq(sh.sql("select v from fair_t"), [{"v": "fair_t"}], "served")
            # every held connection is closed: the refused ones at once,
            # the accepted half-sent ones at the request deadline
            eq(os.read(r, 16), b"64", "all half-sent connections closed")
        finally:
            os.close(r)
            os.waitpid(holder, 0)
        refusals = [l for l in sh.err.lines[start:]
                    if "Refusing extension manager connection" in l]
        check(1 <= len(refusals) <= 3, "\n".join(refusals))
        check("the most one process may hold" in refusals[0], refusals[0])
        e.stop()


ALIAS_EXT = r'''
from osqtest import ext
class A(ext.Table):
    name = "orig_t"
    columns = [("a", "TEXT"), ("b", "INTEGER")]
    def routes(self):
        return super().routes() + [{"id": "alias", "alias": "alias_t"},
            {"id": "columnAlias", "name": "a_old", "target": "a"},
            {"id": "attributes", "attributes": "0"}]
    def generate(self, context, request):
        return [{"a": "x", "b": "1"}]
ext.main("alias_ext", [A()])
'''


def test_route_info_aliases():
    with osqtest.Osqi() as sh:
        osqtest.spawn_extension(ALIAS_EXT, sh.socket)
        eq(sh.sql("select * from alias_t"), [{"a": "x", "b": "1"}], "table alias (view)")
        eq(sh.sql("select a, a_old, b from orig_t"), [{"a": "x", "a_old": "x", "b": "1"}],
           "column alias (hidden, the target's value)")
        eq(sh.sql("select * from orig_t"), [{"a": "x", "b": "1"}], "alias column hidden")


if __name__ == "__main__":
    osqtest.run_tests([
        test_manager_methods,
        test_registration_rules,
        test_extension_table_through_sql,
        test_writable_table,
        test_route_info_aliases,
        test_killed_and_stopped_extension,
        test_garbage_on_manager_socket,
        test_many_clients_at_once,
        test_connection_bound,
        test_slow_clients_cannot_lock_out,
        test_sockets,
        test_peer_credentials,
        test_health_grace_and_removal,
    ])
