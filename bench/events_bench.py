#!/usr/bin/python3
"""Event publisher benchmarks (see bench/README.md, "## Events"). Root.

exec:  N processes spawned as fast as one Python loop can (posix_spawn of
       /bin/true), with osqd's process_events fed by the process
       connector, then by the audit publisher, in the same run: events
       stored for those pids vs processes run, osqd CPU, peak RSS, and the
       connector/audit CPU ratio.
       With --rate R --seconds S: paced at R execs/s for S seconds, and a
       third run with Debian's auditd (apt-get install auditd; started
       here as `auditd -n` with a private config and log, the same execve
       rule added with auditctl, both removed afterwards): execve records
       it logged vs execs, its CPU, and osqd(audit)/auditd CPU ratio.
files: M file writes (create, write, close) under a watched tree:
       file_events rows vs writes, osqd CPU per 10k events.

    bench/events_bench.py BUILD_DIR [execs] [writes]
    bench/events_bench.py BUILD_DIR --rate 2000 --seconds 60
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


def _spawner(exe, t0, rate, seconds, out):
    i = 0
    while True:
        now = time.monotonic()
        if now - t0 >= seconds:
            break
        if i < int((now - t0) * rate):
            pid = os.posix_spawn(exe, [exe], os.environ)
            os.waitpid(pid, 0)
            i += 1
        else:
            time.sleep(0.0005)
    out.put(i)


def marked_true():
    """A copy of /bin/true under a unique path: its execs are told apart
    by path (60 s at 2,000/s wraps a pid_max of 32,768 several times, so
    pids do not name them)."""
    d = tempfile.mkdtemp(prefix="osq-evbench-bin-")
    exe = os.path.join(d, "true-%d" % os.getpid())
    shutil.copy2("/bin/true", exe)
    return exe


def spawn_paced(exe, rate, seconds, procs=4):
    """posix_spawn exe at rate/s for seconds from a few processes (one
    Python loop tops out near 1,000/s on a loaded 2-core machine):
    (execs, achieved rate)."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    t0 = time.monotonic()
    ps = [ctx.Process(target=_spawner,
                      args=(exe, t0, rate / procs, seconds, out))
          for _ in range(procs)]
    for p in ps:
        p.start()
    n = sum(out.get() for _ in ps)
    for p in ps:
        p.join()
    return n, n / (time.monotonic() - t0)


def auditd_run(exe, rate, seconds):
    """auditd recording the execve rule osq's audit publisher installs."""
    import subprocess
    auditd = shutil.which("auditd") or "/usr/sbin/auditd"
    auditctl = shutil.which("auditctl") or "/usr/sbin/auditctl"
    if not os.path.exists(auditd):
        return None
    d = tempfile.mkdtemp(prefix="osq-auditd-")
    os.chmod(d, 0o700)
    log = os.path.join(d, "audit.log")
    with open(os.path.join(d, "auditd.conf"), "w") as f:
        f.write("log_file = %s\nlog_format = RAW\nflush = INCREMENTAL_ASYNC\n"
                "freq = 50\nmax_log_file = 4096\nmax_log_file_action = "
                "IGNORE\nspace_left = 2\nadmin_space_left = 1\n"
                "disk_full_action = IGNORE\ndisk_error_action = IGNORE\n"
                "write_logs = yes\nplugin_dir = %s\n" % (log, d))
    os.chmod(os.path.join(d, "auditd.conf"), 0o600)
    proc = subprocess.Popen([auditd, "-n", "-c", d],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    rule = ["-a", "always,exit", "-F", "arch=b64", "-S", "execve",
            "-S", "execveat"]
    try:
        osqtest.wait_until(lambda: os.path.exists(log), 30, "auditd's log",
                           proc)
        subprocess.run([auditctl, "-b", "4096", "--backlog_wait_time", "0"],
                       stdout=subprocess.DEVNULL, check=False)
        subprocess.run([auditctl] + rule, check=True,
                       stdout=subprocess.DEVNULL)
        def lost():
            out = subprocess.run([auditctl, "-s"], capture_output=True,
                                 text=True).stdout
            for line in out.splitlines():
                if line.startswith("lost "):
                    return int(line.split()[1])
            return 0
        lost0 = lost()
        c0 = cpu_s(proc.pid)
        n, achieved = spawn_paced(exe, rate, seconds)
        mark = (' exe="%s" ' % exe).encode()

        def logged():
            """execve SYSCALL records of the marked binary in the log"""
            with open(log, "rb") as f:
                return f.read().count(mark)
        last, still = -1, 0
        while still < 3:
            time.sleep(1)
            cur = logged()
            still = still + 1 if cur == last else 0
            last = cur
        cpu = cpu_s(proc.pid) - c0
        return {"source": "auditd", "execs": n, "rate": achieved,
                "stored": last, "cpu_s": cpu,
                "hwm_kb": hwm_kb(proc.pid),
                "overflows": "%d (kernel lost counter)" % (lost() - lost0)}
    finally:
        subprocess.run([auditctl, "-d"] + rule[1:], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc.terminate()
        proc.wait(60)
        subprocess.run([auditctl, "-e", "0"], check=False,
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(d, ignore_errors=True)


def exec_run(build, source, n, rate=None, seconds=None, exe=None):
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
        if rate:
            n, achieved = spawn_paced(exe, rate, seconds)
        else:
            pids = set()
            for _ in range(n):
                pid = os.posix_spawn("/bin/true", ["/bin/true"], os.environ)
                pids.add(pid)
                os.waitpid(pid, 0)
            achieved = n / (time.monotonic() - t0)

        def stored():
            if rate:  # the marked binary's execs (pids wrap in 60 s)
                return int(dm.query(
                    "select count(*) as n from process_events where "
                    "path = '%s'" % exe)[0]["n"])
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
        return {"source": source, "execs": n, "rate": achieved,
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


def paced_main(build, rate, seconds):
    exe = marked_true()
    try:
        runs = [exec_run(build, "connector", 0, rate, seconds, exe),
                exec_run(build, "audit", 0, rate, seconds, exe),
                auditd_run(exe, rate, seconds)]
    finally:
        shutil.rmtree(os.path.dirname(exe), ignore_errors=True)
    for r in runs:
        if r is None:
            print("auditd not installed (apt-get install auditd): skipped")
            continue
        print("exec %-9s %6d execs in %d s at %5.0f/s: stored %6d (%.1f%%), "
              "CPU %.2f s (%.0f us/exec), peak RSS %d KiB, overflows %s"
              % (r["source"], r["execs"], seconds, r["rate"], r["stored"],
                 100.0 * r["stored"] / max(r["execs"], 1), r["cpu_s"],
                 1e6 * r["cpu_s"] / max(r["execs"], 1), r["hwm_kb"],
                 r["overflows"]))
    conn, aud, ad = runs
    print("exec connector/audit osqd CPU ratio: %.2f" %
          (conn["cpu_s"] / aud["cpu_s"] if aud["cpu_s"] else float("nan")))
    if ad:
        print("exec osqd(audit)/auditd CPU ratio: %.2f (goal <= 1.5)" %
              (aud["cpu_s"] / ad["cpu_s"] if ad["cpu_s"] else float("nan")))


def main():
    if "--rate" in sys.argv:
        a = sys.argv[1:]
        rate = float(a[a.index("--rate") + 1])
        seconds = float(a[a.index("--seconds") + 1]) if "--seconds" in a \
            else 60
        build = a[0] if not a[0].startswith("--") else "build"
        paced_main(build, rate, seconds)
        return
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
