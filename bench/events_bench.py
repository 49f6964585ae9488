#!/usr/bin/python3
"""Event publisher benchmarks (see bench/README.md, "## Events"). Root.

exec:  N processes spawned as fast as one Python loop can (posix_spawn of
       /bin/true), with osqd's process_events fed by the process
       connector, then by the audit publisher, in the same run: events
       stored for those pids vs processes run, osqd CPU, peak RSS, and the
       connector/audit CPU ratio.
files: M file writes (create, write, close) under a watched tree:
       file_events rows vs writes, osqd CPU per 10k events.

    bench/events_bench.py BUILD_DIR [execs] [writes]
"""
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import osqtest  # noqa: E402

TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TCK


def hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Osqd:
    def __init__(self, build, d, config, args):
        import json
        import subprocess
        self.d = d
        conf = os.path.join(d, "osq.conf")
        with open(conf, "w") as f:
            json.dump(config, f)
        self.sock = os.path.join(d, "osq.em")
        self.proc = subprocess.Popen(
            [os.path.join(build, "osqd"), "--config_path=" + conf,
             "--database_path=" + os.path.join(d, "db", "osq.db"),
             "--logger_path=" + os.path.join(d, "log"),
             "--pidfile=" + os.path.join(d, "pid"),
             "--extensions_socket=" + self.sock, "--disable_watchdog",
             "--flagfile=/dev/null", "--events_max=10000000",
             "--disable_events=false"] + args,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        osqtest.wait_socket(self.sock, 30, self.proc)

    def query(self, sql):
        with osqtest.Client(self.sock, timeout=120) as c:
            r = c.query(sql)
            if r.status.code != 0:
                raise RuntimeError(r.status.message)
            return r.response

    def wait_active(self, name):
        osqtest.wait_until(lambda: self.query(
            "select active from osquery_events where name = '%s'" % name) ==
            [{"active": "1"}], 30, name, self.proc)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)


def exec_run(build, source, n):
    d = tempfile.mkdtemp(prefix="osq-evbench-")
    args = ["--process_events_source=" + source]
    pub = "proc_connector"
    if source == "audit":
        args += ["--disable_audit=false", "--audit_allow_config=true"]
        pub = "auditeventpublisher"
    dm = Osqd(build, d, {}, args)
    try:
        dm.wait_active(pub)
        c0 = cpu_s(dm.proc.pid)
        t0 = time.monotonic()
        pids = set()
        for _ in range(n):
            pid = os.posix_spawn("/bin/true", ["/bin/true"], os.environ)
            pids.add(pid)
            os.waitpid(pid, 0)
        spawn_s = time.monotonic() - t0

        def stored():
            got = {int(r["pid"]) for r in
                   dm.query("select pid from process_events")}
            return len(pids & got)
        # let the publisher drain: wait until the count stops moving
        last, still = -1, 0
        while still < 3:
            time.sleep(1)
            cur = stored()
            still = still + 1 if cur == last else 0
            last = cur
        cpu = cpu_s(dm.proc.pid) - c0
        loss = dm.query("select overflows, malformed from osq_events_loss "
                        "where name = '%s'" % pub)[0]
        return {"source": source, "execs": n, "rate": n / spawn_s,
                "stored": last, "cpu_s": cpu, "hwm_kb": hwm_kb(dm.proc.pid),
                "overflows": loss["overflows"]}
    finally:
        dm.stop()
        shutil.rmtree(d, ignore_errors=True)


def files_run(build, m):
    d = tempfile.mkdtemp(prefix="osq-evbench-")
    tree = os.path.join(d, "tree")
    os.makedirs(tree)
    dm = Osqd(build, d, {"file_paths": {"bench": [tree + "/%%"]}},
              ["--enable_file_events=true"])
    try:
        dm.wait_active("inotify")
        c0 = cpu_s(dm.proc.pid)
        t0 = time.monotonic()
        for i in range(m):
            with open(os.path.join(tree, "f%d" % (i % 1000)), "w") as f:
                f.write("x" * 64)
        write_s = time.monotonic() - t0

        def stored():
            return int(dm.query("select count(*) as n from file_events "
                                "where action = 'UPDATED'")[0]["n"])
        last, still = -1, 0
        while still < 3:
            time.sleep(1)
            cur = stored()
            still = still + 1 if cur == last else 0
            last = cur
        cpu = cpu_s(dm.proc.pid) - c0
        total = int(dm.query("select count(*) as n from file_events")[0]["n"])
        loss = dm.query("select overflows from osq_events_loss where name = "
                        "'inotify'")[0]["overflows"]
        return {"writes": m, "rate": m / write_s, "updated": last,
                "all_rows": total, "cpu_s": cpu,
                "cpu_per_10k": cpu / max(total, 1) * 10000,
                "hwm_kb": hwm_kb(dm.proc.pid), "overflows": loss}
    finally:
        dm.stop()
        shutil.rmtree(d, ignore_errors=True)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    m = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    conn = exec_run(build, "connector", n)
    aud = exec_run(build, "audit", n)
    for r in (conn, aud):
        print("exec %-9s %6d execs at %5.0f/s: stored %6d (%.1f%%), "
              "osqd CPU %.2f s (%.0f us/exec), peak RSS %d KiB, overflows %s"
              % (r["source"], r["execs"], r["rate"], r["stored"],
                 100.0 * r["stored"] / r["execs"], r["cpu_s"],
                 1e6 * r["cpu_s"] / r["execs"], r["hwm_kb"], r["overflows"]))
    print("exec connector/audit osqd CPU ratio: %.2f" %
          (conn["cpu_s"] / aud["cpu_s"] if aud["cpu_s"] else float("nan")))
    f = files_run(build, m)
    print("files %d writes at %.0f/s: UPDATED rows %d (%.1f%%), all rows %d, "
          "osqd CPU %.2f s (%.2f s per 10k events), peak RSS %d KiB, "
          "overflows %s" % (f["writes"], f["rate"], f["updated"],
                            100.0 * f["updated"] / f["writes"],
                            f["all_rows"], f["cpu_s"], f["cpu_per_10k"],
                            f["hwm_kb"], f["overflows"]))


if __name__ == "__main__":
    main()
