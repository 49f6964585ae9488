#!/usr/bin/python3
"""osqd benchmarks (see bench/README.md, "## Daemon").

idle:  osqd (watcher + worker) with three example extensions autoloaded and
       an empty schedule: RSS of the core processes and their CPU over a
       window (default 60 s); the extensions are reported apart.
sched: the worker's CPU per scheduler round for 100 queries at a 1 s
       interval, against the baseline of osqi running the same 100
       queries once per round, measured in the same run.

    bench/daemon_bench.py BUILD_DIR [idle_seconds] [sched_rounds]
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TCK  # utime + stime


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pss_kb(pid):
    """Proportional set size: shared library pages split among the
    processes that map them."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def private_kb(pid):
    n = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                n += int(line.split()[1])
    return n


def children(pid):
    """Children of every thread (the loader forks from its own thread)."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise SystemExit("timed out waiting for " + what)


def osqd_cmd(build, d, extra):
    return [os.path.join(build, "osqd"), "--flagfile=/dev/null",
            "--config_path=" + os.path.join(d, "osq.conf"),
            "--database_path=" + os.path.join(d, "osq.db"),
            "--logger_path=" + os.path.join(d, "log"),
            "--pidfile=" + os.path.join(d, "osqd.pid"),
            "--extensions_socket=" + os.path.join(d, "osq.em"),
            "--extensions_autoload=" + os.path.join(d, "ext.load"),
            "--allow_unsafe"] + extra


def measure_idle(p, seconds):
    worker = wait_for(lambda: children(p.pid) and
                      [c for c in children(p.pid)
                       if "osqd" in open("/proc/%d/comm" % c).read()],
                      20, "the worker")[0]
    wait_for(lambda: len(children(p.pid)) >= 4, 20, "three extensions")
    time.sleep(3)  # let start-up settle before the window
    core = [p.pid, worker]
    ext = [c for c in children(p.pid) if c != worker]
    c0 = sum(cpu_s(x) for x in core)
    e0 = sum(cpu_s(x) for x in ext)
    t0 = time.monotonic()
    time.sleep(seconds)
    dt = time.monotonic() - t0
    c1 = sum(cpu_s(x) for x in core)
    e1 = sum(cpu_s(x) for x in ext)
    rss_core = sum(rss_kb(x) for x in core)
    rss_ext = sum(rss_kb(x) for x in ext)
    print("idle osqd, 3 extensions autoloaded, %.0f s window" % dt)
    print("  core RSS (watcher %d KB + worker %d KB) = %.1f MB  (goal <= 8 MB)"
          % (rss_kb(p.pid), rss_kb(worker), rss_core / 1024))
    print("  core PSS %.1f MB, private %.1f MB (shared library pages "
          "counted once)" % (sum(pss_kb(x) for x in core) / 1024,
                             sum(private_kb(x) for x in core) / 1024))
    print("  core CPU %.3f %%  (goal < 0.1 %%)" % (100 * (c1 - c0) / dt))
    print("  extensions: RSS %.1f MB total, CPU %.3f %%"
          % (rss_ext / 1024, 100 * (e1 - e0) / dt))


def idle(build, seconds):
    d = tempfile.mkdtemp(prefix="osqb-", dir="/tmp")
    try:
        with open(os.path.join(d, "osq.conf"), "w") as f:
            json.dump({"schedule": {}}, f)
        exts = [os.path.abspath(os.path.join(build, "examples", n + ".ext"))
                for n in ("minimal_table", "cgroup_memory", "file_logger")]
        with open(os.path.join(d, "ext.load"), "w") as f:
            f.write("\n".join(exts) + "\n")
        env = dict(os.environ, OSQ_LOGGER_FILE=os.path.join(d, "lines"))
        p = subprocess.Popen(osqd_cmd(build, d, []), env=env,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            measure_idle(p, seconds)
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(30)
    finally:
        shutil.rmtree(d, True)


QUERIES = ["select %d as q, pid, name, state from processes where pid < 200" % i
           for i in range(50)] + \
          ["select %d as q, * from osquery_info" % i for i in range(25)] + \
          ["select %d as q, unix_time from time" % i for i in range(25)]


def sched(build, rounds):
    d = tempfile.mkdtemp(prefix="osqb-", dir="/tmp")
    try:
        cfg = {"schedule": {"q%03d" % i: {"query": q, "interval": 1}
                            for i, q in enumerate(QUERIES)}}
        with open(os.path.join(d, "osq.conf"), "w") as f:
            json.dump(cfg, f)
        open(os.path.join(d, "ext.load"), "w").close()
        # warm-up round (first results are all "added") is excluded
        p = subprocess.Popen(osqd_cmd(build, d, [
            "--disable_watchdog", "--disable_extensions",
            "--schedule_timeout=%d" % (rounds + 2)]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.5)
            c0 = cpu_s(p.pid)
            t0 = time.monotonic()
            time.sleep(rounds)
            c1 = cpu_s(p.pid)
            dt = time.monotonic() - t0
            p.wait(60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        osqd_per_round = (c1 - c0) / dt  # CPU s per 1 s round
        # baseline: osqi runs the same 100 queries, one process per round
        sqlf = os.path.join(d, "q.sql")
        with open(sqlf, "w") as f:
            f.write(";\n".join(QUERIES) + ";\n")
        def osqi_round():
            with open(sqlf) as inp:
                subprocess.run([os.path.join(build, "osqi"), "--json"],
                               stdin=inp, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=True)
        osqi_round()  # warm the page cache
        n = 10
        before = os.times()
        for _ in range(n):
            osqi_round()
        after = os.times()
        osqi_per_round = ((after.children_user - before.children_user) +
                          (after.children_system - before.children_system)) / n
        print("100 queries at a 1 s interval, %d rounds" % rounds)
        print("  osqd worker CPU per round  %.1f ms (%.2f %% of one CPU)"
              % (1000 * osqd_per_round, 100 * osqd_per_round))
        print("  osqi, same queries, one process per round  %.1f ms"
              % (1000 * osqi_per_round))
        print("  ratio osqd / osqi  %.2fx" % (osqd_per_round / osqi_per_round))
    finally:
        shutil.rmtree(d, True)


if __name__ == "__main__":
    build = sys.argv[1] if len(sys.argv) > 1 else "build-rel"
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    idle(build, secs)
    sched(build, rounds)
