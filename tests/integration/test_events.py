"""Evented tables from real kernel sources (run as root): process_events
from the process connector in osqi and osqd, file_events from inotify with
file_paths/exclude_paths and a reload, each event logged once by a
scheduled query (--events_optimize), and stored events surviving a SIGKILL
of osqd during a burst."""
import hashlib
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

CONNECTOR = ["--disable_events=false", "--process_events_source=connector"]
PY = os.path.realpath(sys.executable)


def query(dm, sql):
    sock = os.path.join(dm.d, "osq.em")
    osqtest.wait_socket(sock, 30, dm.proc)
    with osqtest.Client(sock) as c:
        r = c.query(sql)
        eq(r.status.code, 0, "query status: %s" % r.status.message)
        return r.response


def stop_clean(dm):
    """Stop osqd: exit code 0 and no sanitizer report (ASan builds)."""
    rc = dm.stop()
    text = dm.stderr()
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        check(bad not in text, "osqd reported %s:\n%s" % (bad, text[-4000:]))
    return rc


def sleeper(mark, cwd, env=None):
    """A process that lives until killed, its command line unique."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.Popen([PY, "-c", "import time; time.sleep(120)", mark],
                            cwd=cwd, env=e)


def test_osqi_process_events():
    wd = osqtest.workdir("evt-proc-")
    mark = "osqevt-%d-%d" % (os.getpid(), time.monotonic_ns())
    with osqtest.Osqi(args=CONNECTOR) as sh:
        wait_until(lambda: sh.sql("select active from osquery_events where "
                                  "name = 'proc_connector'") ==
                   [{"active": "1"}], 30, "the connector publisher",
                   sh.proc)
        t0 = int(time.time())
        a = sleeper(mark + "-a", wd, {"OSQ_EVT_MARK": mark})
        b = None
        try:
            sql = ("select pid, path, cmdline, cwd, parent, uid, euid, gid, "
                   "syscall, time, eid, env from process_events where "
                   "cmdline like '%%%s%%' order by eid" % mark)
            wait_until(lambda: len(sh.sql(sql)) == 1, 30, "row a", sh.proc)
            b = sleeper(mark + "-b", wd)
            wait_until(lambda: len(sh.sql(sql)) == 2, 30, "row b", sh.proc)
            rows = sh.sql(sql)
            t1 = int(time.time())
        finally:
            for p in (a, b):
                if p:
                    p.kill()
                    p.wait()
        ra, rb = rows
        eq(ra["pid"], str(a.pid), "pid a")
        eq(rb["pid"], str(b.pid), "pid b")
        eq(ra["path"], PY, "path")
        eq(ra["cmdline"], "%s -c import time; time.sleep(120) %s-a" %
           (PY, mark), "cmdline")
        eq(ra["cwd"], os.path.realpath(wd), "cwd")
        eq(ra["parent"], str(os.getpid()), "parent")
        eq(ra["uid"], str(os.getuid()), "uid")
        eq(ra["euid"], str(os.geteuid()), "euid")
        eq(ra["gid"], str(os.getgid()), "gid")
        eq(ra["syscall"], "execve", "syscall")
        check("OSQ_EVT_MARK=" + mark in ra["env"], "env: %r" % ra["env"][:200])
        check(t0 <= int(ra["time"]) <= int(rb["time"]) <= t1,
              "time order: %s %s in [%d, %d]" % (ra["time"], rb["time"],
                                                 t0, t1))
        check(len(ra["eid"]) == 10 and ra["eid"] < rb["eid"],
              "eid order: %s %s" % (ra["eid"], rb["eid"]))
        # time and eid constraints reach the store
        eq(sh.sql("select pid from process_events where eid = '%s'" %
                  rb["eid"]), [{"pid": rb["pid"]}], "eid = pushdown")
        eq(sh.sql("select count(*) as n from process_events where time > %d"
                  % (t1 + 3600)), [{"n": "0"}], "time > pushdown")
        got = sh.sql("select pid from process_events where eid >= '%s' and "
                     "cmdline like '%%%s%%'" % (rb["eid"], mark))
        eq(got, [{"pid": rb["pid"]}], "eid >= pushdown")
        ev = {r["name"]: r for r in sh.sql("select * from osquery_events")}
        eq(ev["process_events"]["type"], "subscriber", "subscriber row")
        eq(ev["process_events"]["publisher"], "proc_connector", "publisher")
        check(int(ev["process_events"]["events"]) >= 2, ev)
        check(int(ev["proc_connector"]["events"]) >= 2, ev)
        loss = sh.sql("select * from osq_events_loss where name = "
                      "'proc_connector'")
        eq(len(loss), 1, "osq_events_loss row")


def test_events_max_and_expiry():
    """--events_max keeps the newest and counts the drops as loss;
    --events_expiry hides (then deletes) old events."""
    wd = osqtest.workdir("evt-max-")
    with osqtest.Osqi(args=CONNECTOR + ["--events_max=3"]) as sh:
        wait_until(lambda: sh.sql("select active from osquery_events where "
                                  "name = 'proc_connector'") ==
                   [{"active": "1"}], 30, "the connector publisher",
                   sh.proc)
        for i in range(6):
            subprocess.run(["/bin/true"], cwd=wd, check=True)
        wait_until(lambda: int(sh.sql(
            "select dropped from osq_events_loss where name = "
            "'process_events'")[0]["dropped"]) >= 3, 30,
            "three or more drops counted", sh.proc)
        n = int(sh.sql("select count(*) as n from process_events")[0]["n"])
        check(1 <= n <= 3, "at most events_max kept: %d" % n)
    mark = "osqexp-%d-%d" % (os.getpid(), time.monotonic_ns())
    with osqtest.Osqi(args=CONNECTOR + ["--events_expiry=2"]) as sh:
        wait_until(lambda: sh.sql("select active from osquery_events where "
                                  "name = 'proc_connector'") ==
                   [{"active": "1"}], 30, "the connector publisher",
                   sh.proc)
        a = sleeper(mark, wd)
        sql = ("select pid from process_events where cmdline like '%%%s%%'"
               % mark)
        try:
            wait_until(lambda: sh.sql(sql), 30, "the row", sh.proc)
            t0 = time.monotonic()
            wait_until(lambda: not sh.sql(sql), 30, "the row to expire",
                       sh.proc)
            check(time.monotonic() - t0 >= 0.5, "expired after ~2 s")
        finally:
            a.kill()
            a.wait()


def test_osqi_events_disabled():
    """osqi's default (as osqueryi): events off, no publisher runs."""
    with osqtest.Osqi(args=["--process_events_source=connector"]) as sh:
        eq(sh.sql("select sum(active) as a from osquery_events"),
           [{"a": "0"}], "no publisher active")
        eq(sh.sql("select count(*) as n from process_events"), [{"n": "0"}],
           "no events")


AUDIT = ["--disable_events=false", "--disable_audit=false",
         "--audit_allow_config=true", "--audit_allow_sockets=true"]


def audit_state():
    """(enabled, backlog limit, number of audit rules) from the kernel."""
    import socket
    import struct
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)  # NETLINK_AUDIT
    try:
        s.settimeout(10)
        s.bind((0, 0))
        s.send(struct.pack("=IHHII", 16, 1000, 1, 1, 0))  # AUDIT_GET
        while True:
            d = s.recv(8192)
            if struct.unpack("=IHHII", d[:16])[1] == 1000:
                status = struct.unpack("=IIIIII", d[16:40])
                enabled, backlog_limit = status[1], status[5]
                break
        s.send(struct.pack("=IHHII", 16, 1013, 0x301, 2, 0))  # LIST_RULES
        rules = 0
        while True:
            d = s.recv(65536)
            t = struct.unpack("=IHHII", d[:16])[1]
            if t in (2, 3):  # NLMSG_ERROR (ack), NLMSG_DONE
                break
            rules += 1
        return enabled, backlog_limit, rules
    finally:
        s.close()


def test_audit_process_and_socket_events():
    import socket
    before = audit_state()
    wd = osqtest.workdir("evt-audit-")
    mark = "osqaudit-%d-%d" % (os.getpid(), time.monotonic_ns())
    with osqtest.Osqi(args=AUDIT) as sh:
        wait_until(lambda: sh.sql("select active from osquery_events where "
                                  "name = 'auditeventpublisher'") ==
                   [{"active": "1"}], 30, "the audit publisher", sh.proc)
        eq(audit_state()[0], 1, "audit enabled while osqi runs")
        a = sleeper(mark, wd)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # a free port, bound by number below
        probe.close()
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv_fd = srv.fileno()
        srv.listen(1)
        cli = socket.socket()
        cli.connect(("127.0.0.1", port))
        conn, peer = srv.accept()
        try:
            sql = ("select pid, path, cmdline, cwd, parent, uid, mode, "
                   "owner_uid, syscall from process_events where cmdline "
                   "like '%%%s%%'" % mark)
            rows = wait_until(lambda: sh.sql(sql), 30, "the exec row",
                              sh.proc)
            sq = ("select action, fd, family, local_address, local_port, "
                  "remote_address, remote_port, status from socket_events "
                  "where pid = %d and (local_port = %d or remote_port = %d "
                  "or action = 'accept') order by eid" %
                  (os.getpid(), port, port))
            socks = wait_until(
                lambda: (lambda r: r if len(r) >= 3 else None)(sh.sql(sq)),
                30, "the socket rows", sh.proc)
        finally:
            a.kill()
            a.wait()
            for x in (conn, cli, srv):
                x.close()
        r = rows[0]
        eq(r["pid"], str(a.pid), "pid")
        eq(r["path"], PY, "path")
        eq(r["cmdline"], "%s -c import time; time.sleep(120) %s" % (PY, mark),
           "cmdline (from the EXECVE record)")
        eq(r["cwd"], os.path.realpath(wd), "cwd")
        eq(r["parent"], str(os.getpid()), "parent")
        eq(r["uid"], str(os.getuid()), "uid")
        eq(r["syscall"], "execve", "syscall")
        eq(r["mode"], "0%o" % os.stat(PY).st_mode, "mode")
        by = {x["action"]: x for x in socks}
        eq(by["bind"]["local_address"], "127.0.0.1", "bind address")
        eq(by["bind"]["local_port"], str(port), "bind port")
        eq(by["bind"]["fd"], str(srv_fd), "bind fd")
        eq(by["connect"]["remote_address"], "127.0.0.1", "connect address")
        eq(by["connect"]["remote_port"], str(port), "connect port")
        eq(by["connect"]["family"], "2", "AF_INET")
        eq(by["connect"]["status"], "succeeded", "status")
        eq(by["accept"]["remote_port"], str(peer[1]), "accepted peer port")
        # a user-space message (as PAM or useradd send), relayed by the
        # kernel: AUDIT_USER_LOGIN
        import struct
        text = ("op=login acct=\"%s\" exe=\"/usr/bin/login\" hostname=vm "
                "addr=10.1.2.3 terminal=pts/7 res=success" % mark).encode()
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)
        try:
            s.bind((0, 0))
            s.send(struct.pack("=IHHII", 16 + len(text), 1112, 5, 1, 0) +
                   text)
        finally:
            s.close()
        ue = wait_until(lambda: sh.sql(
            "select uid, pid, type, path, address, terminal, message from "
            "user_events where message like '%%%s%%'" % mark), 30,
            "the user event", sh.proc)[0]
        eq(ue["type"], "1112", "type")
        eq(ue["pid"], str(os.getpid()), "pid")
        eq(ue["uid"], str(os.getuid()), "uid")
        eq(ue["path"], "/usr/bin/login", "path (exe)")
        eq(ue["address"], "10.1.2.3", "address")
        eq(ue["terminal"], "pts/7", "terminal")
        check(ue["message"].startswith("op=login acct="), ue["message"])
    eq(audit_state(), before,
       "the rules osq installed are removed and the settings restored at "
       "exit")


def test_syslog_events():
    d = osqtest.workdir("evt-syslog-")
    pipe = os.path.join(d, "syslog_pipe")
    with osqtest.Osqi(args=["--disable_events=false", "--enable_syslog",
                            "--syslog_pipe_path=" + pipe,
                            "--syslog_rate_limit=5"]) as sh:
        wait_until(lambda: sh.sql("select active from osquery_events where "
                                  "name = 'syslog'") == [{"active": "1"}],
                   30, "the syslog publisher", sh.proc)
        check(os.path.exists(pipe), "the pipe is created")
        lines = ['2026-12-02T07:30:%02d+00:00,vm,%d,daemon,"app[%d]:",'
                 '"msg %d with ""quotes"", and a comma"' % (i, i % 8, i, i)
                 for i in range(20)]
        with open(pipe, "w") as f:
            f.write("\n".join(lines[:10]) + "\nnot,csv,\"enough\n" +
                    "\n".join(lines[10:]) + "\n")
        # 21 lines at 5 per 200 ms: all arrive, none lost
        rows = wait_until(
            lambda: (lambda r: r if len(r) == 20 else None)(
                sh.sql("select datetime, host, severity, facility, tag, "
                       "message from syslog_events order by eid")),
            30, "the 20 good lines", sh.proc)
        eq(rows[3], {"datetime": "2026-12-02T07:30:03+00:00", "host": "vm",
                     "severity": "3", "facility": "daemon", "tag": "app[3]:",
                     "message": 'msg 3 with "quotes", and a comma'},
           "a parsed line")
        eq(sh.sql("select count(*) as n from syslog"), [{"n": "20"}],
           "the syslog alias")
        eq(sh.sql("select malformed from osq_events_loss where name = "
                  "'syslog'"), [{"malformed": "1"}], "the bad line counted")


def test_hardware_events():
    """A "change" uevent asked of the kernel for /dev/null (harmless: udev
    rules, if any, re-apply its permissions)."""
    with osqtest.Osqi(args=["--disable_events=false"]) as sh:
        wait_until(lambda: sh.sql("select active from osquery_events where "
                                  "name = 'udev'") == [{"active": "1"}],
                   30, "the udev publisher", sh.proc)
        with open("/sys/devices/virtual/mem/null/uevent", "w") as f:
            f.write("change")
        rows = wait_until(lambda: sh.sql(
            "select action, path from hardware_events where path = "
            "'/dev/null'"), 30, "the uevent", sh.proc)
        eq(rows[0], {"action": "change", "path": "/dev/null"}, "row")


SECCOMP_CHILD = r"""
import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
def ins(code, jt, jf, k):
    return struct.pack("=HBBI", code, jt, jf, k)
prog = b"".join([ins(0x20, 0, 0, 0),            # load the syscall number
                 ins(0x15, 0, 1, 110),          # getppid (x86_64)?
                 ins(0x06, 0, 0, 0x7ffc0000),   # SECCOMP_RET_LOG
                 ins(0x06, 0, 0, 0x7fff0000)])  # SECCOMP_RET_ALLOW
buf = ctypes.create_string_buffer(prog)
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fp = Fprog(len(prog) // 8, ctypes.addressof(buf))
assert libc.prctl(38, 1, 0, 0, 0) == 0           # PR_SET_NO_NEW_PRIVS
assert libc.prctl(22, 2, ctypes.byref(fp), 0, 0) == 0  # seccomp filter
os.getppid()
"""


def test_seccomp_events():
    import platform
    if platform.machine() != "x86_64":
        print("SKIP test_seccomp_events: the filter uses x86_64 numbers")
        return
    before = audit_state()
    with osqtest.Osqi(args=["--disable_events=false", "--disable_audit=false",
                            "--audit_allow_config=true",
                            "--audit_allow_seccomp_events=true"]) as sh:
        wait_until(lambda: sh.sql("select active from osquery_events where "
                                  "name = 'auditeventpublisher'") ==
                   [{"active": "1"}], 30, "the audit publisher", sh.proc)
        child = subprocess.Popen([sys.executable, "-c", SECCOMP_CHILD])
        eq(child.wait(), 0, "the seccomp child")
        row = wait_until(lambda: sh.sql(
            "select pid, arch, syscall, code, exe, sig from seccomp_events "
            "where pid = %d" % child.pid), 30, "the seccomp row",
            sh.proc)[0]
        eq(row, {"pid": str(child.pid), "arch": "x86_64",
                 "syscall": "getppid", "code": "LOG", "exe": PY, "sig": "0"},
           "seccomp row")
    eq(audit_state(), before, "audit state restored at exit")


def md5(data):
    return hashlib.md5(data).hexdigest()


def test_file_events_and_reload():
    d = osqtest.workdir("evt-fim-")
    w1 = os.path.join(d, "w1")
    w2 = os.path.join(d, "w2")
    for p in (w1, os.path.join(w1, "skip"), os.path.join(w1, "sub"), w2):
        os.makedirs(p)
    cfg = {"file_paths": {"one": [w1 + "/%%"]},
           "exclude_paths": {"one": [w1 + "/skip/%%"]},
           "schedule": {"fim": {
               "query": "select target_path, category, action, md5, hashed "
                        "from file_events", "interval": 1}}}
    dm = Daemon(d, cfg, args=["--enable_file_events=true"]).start()
    try:
        wait_until(lambda: query(dm, "select active from osquery_events "
                                     "where name = 'inotify'") ==
                   [{"active": "1"}], 30, "the inotify publisher", dm.proc)
        f = os.path.join(w1, "sub", "a.txt")
        with open(f, "wb") as fh:
            fh.write(b"hello osq\n")
        with open(os.path.join(w1, "skip", "x"), "w") as fh:
            fh.write("x")
        os.mkdir(os.path.join(w1, "newdir"))
        # a directory made after start is watched too (%%)
        g = os.path.join(w1, "newdir", "b")
        wait_until(lambda: query(dm, "select 1 from file_events where "
                                     "target_path = '%s'" %
                                 os.path.join(w1, "newdir")), 30,
                   "newdir CREATED", dm.proc)
        with open(g, "wb") as fh:
            fh.write(b"b")
        os.unlink(f)

        def rows():
            return query(dm, "select target_path, category, action, md5, "
                             "sha256, hashed from file_events order by eid")
        wait_until(lambda: any(r["target_path"] == f and
                               r["action"] == "DELETED" for r in rows()) and
                   any(r["target_path"] == g and r["action"] == "UPDATED"
                       for r in rows()), 30, "the file events", dm.proc)
        got = rows()
        acts = [(r["target_path"], r["action"]) for r in got]
        check((f, "CREATED") in acts, acts)
        check((f, "UPDATED") in acts, acts)
        check(acts.index((f, "UPDATED")) < acts.index((f, "DELETED")), acts)
        upd = [r for r in got if r["target_path"] == f and
               r["action"] == "UPDATED"][0]
        eq(upd["md5"], md5(b"hello osq\n"), "md5 on UPDATED")
        eq(upd["sha256"], hashlib.sha256(b"hello osq\n").hexdigest(),
           "sha256")
        eq(upd["hashed"], "1", "hashed")
        eq(upd["category"], "one", "category")
        dele = [r for r in got if r["action"] == "DELETED"][0]
        eq(dele["hashed"], "0", "a deleted file is not hashed")
        check(not [r for r in got if "/skip/" in r["target_path"]],
              "exclude_paths: %r" % acts)
        # the scheduled query logs each event once (--events_optimize)
        dm.wait_line(lambda l: l["name"] == "fim" and
                     l["columns"]["target_path"] == f and
                     l["columns"]["action"] == "DELETED")
        n0 = len([l for l in dm.lines() if l["name"] == "fim"])
        ex = int(query(dm, "select executions from osquery_schedule where "
                           "name = 'fim'")[0]["executions"])
        wait_until(lambda: int(query(dm, "select executions from "
                                         "osquery_schedule where name = "
                                         "'fim'")[0]["executions"]) >= ex + 2,
                   30, "two more runs", dm.proc)
        lines = [l for l in dm.lines() if l["name"] == "fim"]
        eq(len(lines), n0, "no event logged twice")
        keys = [(l["columns"]["target_path"], l["columns"]["action"])
                for l in lines]
        eq(len(keys), len(set(keys)), "each event once: %r" % keys)
        check(all(l["action"] == "added" for l in lines), "added only")

        # a reload moves file_paths to w2 without a restart
        cfg["file_paths"] = {"two": [w2 + "/%"]}
        with open(dm.conf, "w") as fh:
            json.dump(cfg, fh)
        dm.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "Config reloaded" in dm.stderr() or
                   query(dm, "select subscriptions from osquery_events where "
                             "name = 'inotify'") == [{"subscriptions": "1"}],
                   30, "the reload", dm.proc)
        h = os.path.join(w2, "c")

        def wrote_h():
            with open(h, "w") as fh:
                fh.write("c")
            return query(dm, "select category from file_events where "
                             "target_path = '%s'" % h)
        # the swap happens on the worker's next step: retry the write
        got = wait_until(wrote_h, 30, "an event under w2", dm.proc)
        eq(got[0]["category"], "two", "new category")
        before = len(query(dm, "select 1 from file_events where "
                               "target_path like '%s/%%'" % w1))
        with open(os.path.join(w1, "late"), "w") as fh:
            fh.write("late")
        with open(os.path.join(w2, "d"), "w") as fh:
            fh.write("d")
        wait_until(lambda: query(dm, "select 1 from file_events where "
                                     "target_path = '%s'" %
                                 os.path.join(w2, "d")), 30, "w2/d", dm.proc)
        eq(len(query(dm, "select 1 from file_events where target_path like "
                         "'%s/%%'" % w1)), before, "w1 no longer watched")
        eq(dm.proc.poll(), None, "osqd still running")
    finally:
        eq(stop_clean(dm), 0, "osqd exit code")


def test_sigkill_keeps_stored_events():
    d = osqtest.workdir("evt-kill-")
    dm = Daemon(d, {}, args=CONNECTOR).start()
    burst = None
    try:
        wait_until(lambda: query(dm, "select active from osquery_events "
                                     "where name = 'proc_connector'") ==
                   [{"active": "1"}], 30, "the connector", dm.proc)
        burst = subprocess.Popen(
            ["/bin/sh", "-c", "i=0; while [ $i -lt 3000 ]; do /bin/true; "
             "i=$((i+1)); done"])
        seen = wait_until(
            lambda: (lambda r: r if len(r) >= 100 else None)(
                query(dm, "select eid, pid from process_events")),
            60, "events during the burst", dm.proc)
        dm.proc.send_signal(signal.SIGKILL)
        dm.proc.wait()
        dm.err.close()
    finally:
        if burst:
            burst.wait()
    dm2 = Daemon(d, {}, args=CONNECTOR).start()
    try:
        after = {r["eid"]: r["pid"] for r in
                 query(dm2, "select eid, pid from process_events")}
        lost = [r for r in seen if after.get(r["eid"]) != r["pid"]]
        eq(lost, [], "stored events kept across SIGKILL (%d seen)" %
           len(seen))
    finally:
        eq(stop_clean(dm2), 0, "osqd exit code")


def run_burning_event_query(enforce):
    """A CPU-bound scheduled query that reads an event table: the watchdog
    stops the worker; the restarted worker denylists the query only with
    --events_enforce_denylist (osquery exempts event queries)."""
    d = osqtest.workdir("evt-deny-")
    burn = ("with recursive c(x) as (select 1 union all select x + 1 from c "
            "where x < 2000000000) select count(*) from c, (select count(*) "
            "from process_events)")
    cfg = {"schedule": {"burn": {"query": burn, "interval": 1}}}
    dm = Daemon(d, cfg, watchdog=True,
                # 1% of all CPUs: the burning worker stays above it even
                # when other work leaves it a small share of a core
                args=["--watchdog_utilization_limit=1",
                      "--watchdog_memory_limit=100000",
                      "--watchdog_latency_limit=2", "--watchdog_delay=0",
                      "--watchdog_forced_shutdown_delay=1",
                      "--events_enforce_denylist=%s" %
                      ("true" if enforce else "false")]).start()
    try:
        wait_until(lambda: "Scheduled query may have failed: burn" in
                   dm.stderr(), 90, "the new worker to see the killed query",
                   dm.proc)
        if enforce:
            wait_until(lambda: "skipping denied scheduled query: burn" in
                       dm.stderr(), 60, "the denylist", dm.proc)
        else:
            # it runs again and is stopped again
            wait_until(lambda: dm.stderr().count(
                "Maximum sustainable CPU utilization limit") >= 2, 90,
                "the exempt query to run again", dm.proc)
            check("skipping denied scheduled query: burn" not in dm.stderr(),
                  "an event query is not denylisted by default")
    finally:
        eq(stop_clean(dm), 0, "exit code")


def test_event_queries_exempt_from_denylist():
    run_burning_event_query(enforce=False)


def test_events_enforce_denylist():
    run_burning_event_query(enforce=True)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: the kernel event sources need root")
        sys.exit(0)
    osqtest.run_tests([test_osqi_process_events, test_events_max_and_expiry,
                       test_osqi_events_disabled,
                       test_audit_process_and_socket_events,
                       test_seccomp_events, test_syslog_events,
                       test_hardware_events,
                       test_file_events_and_reload,
                       test_sigkill_keeps_stored_events,
                       test_event_queries_exempt_from_denylist,
                       test_events_enforce_denylist])
