#!/usr/bin/python3
"""file_events (and yara_events) under a write load (bench/README.md,
"## Events"). Root not needed.

Two paced writer processes make RATE file writes per second between
them for SECONDS seconds (open with O_TRUNC, write 64 bytes, close; 500
names each, reused) under a
tree osqd watches with file_paths (%%). Two osqd runs in the same
session: file_events alone, then with yara_events scanning the same
category with one small rule that matches every file. Reported: writes
done and the rate reached, UPDATED rows stored vs writes, inotify
overflows, osqd CPU (utime + stime) per 10k stored events and as a ratio
of the writers' own CPU, peak RSS; the yara run's CPU as a ratio of the
first run's.

    bench/file_events_bench.py BUILD_DIR [rate] [seconds]
"""
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import osqtest  # noqa: E402

TCK = os.sysconf("SC_CLK_TCK")
WRITERS = 2  # processes sharing the write rate
RULE = 'rule all_x : bench { strings: $x = "xxxxxxxx" condition: $x }\n'


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


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def start_osqd(build, d, config):
    conf = os.path.join(d, "osq.conf")
    with open(conf, "w") as f:
        json.dump(config, f)
    sock = os.path.join(d, "osq.em")
    proc = subprocess.Popen(
        [os.path.join(build, "osqd"), "--config_path=" + conf,
         "--database_path=" + os.path.join(d, "db", "osq.db"),
         "--logger_path=" + os.path.join(d, "log"),
         "--pidfile=" + os.path.join(d, "pid"),
         "--extensions_socket=" + sock, "--disable_watchdog",
         "--flagfile=/dev/null", "--events_max=10000000",
         "--disable_events=false", "--enable_file_events=true"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    osqtest.wait_socket(sock, 30, proc)
    return proc, sock


def query(sock, sql):
    with osqtest.Client(sock, timeout=120) as c:
        r = c.query(sql)
        if r.status.code != 0:
            raise RuntimeError(r.status.message)
        return r.response


def write_load(tree, first, rate, seconds, out):
    """RATE writes a second to names f<first>..f<first+499>, in 10 ms
    slices; puts the number of writes on out."""
    data = b"x" * 64
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    names = [os.path.join(tree, "f%d" % (first + i)) for i in range(500)]
    per_slice = max(1, rate // 100)
    n, t0 = 0, time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        due = int((time.monotonic() - t0) * rate) + per_slice
        while n < due and (n % per_slice or time.monotonic() < end):
            fd = os.open(names[n % 500], flags, 0o644)
            os.write(fd, data)
            os.close(fd)
            n += 1
        left = t0 + n / rate - time.monotonic()
        if left > 0:
            time.sleep(left)
    out.put(n)


def write_all(tree, rate, seconds):
    """WRITERS processes share the rate; returns (writes, elapsed, their
    CPU seconds)."""
    q = multiprocessing.Queue()
    c0 = children_cpu()
    t0 = time.monotonic()
    ps = [multiprocessing.Process(target=write_load,
                                  args=(tree, 500 * i, rate // WRITERS,
                                        seconds, q))
          for i in range(WRITERS)]
    for p in ps:
        p.start()
    n = sum(q.get() for _ in ps)
    for p in ps:
        p.join()
    return n, time.monotonic() - t0, children_cpu() - c0


def run(build, rate, seconds, with_yara):
    d = tempfile.mkdtemp(prefix="osq-fevbench-")
    tree = os.path.join(d, "tree")
    os.makedirs(tree)
    cfg = {"file_paths": {"bench": [tree + "/%%"]}}
    if with_yara:
        rules = os.path.join(d, "bench.yar")
        with open(rules, "w") as f:
            f.write(RULE)
        cfg["yara"] = {"signatures": {"g": [rules]},
                       "file_paths": {"bench": ["g"]}}
    proc, sock = start_osqd(build, d, cfg)
    try:
        osqtest.wait_until(lambda: query(
            sock, "select active from osquery_events where name = "
            "'inotify'") == [{"active": "1"}], 30, "inotify", proc)
        c0 = cpu_s(proc.pid)
        writes, elapsed, wcpu = write_all(tree, rate, seconds)

        def stored():
            return int(query(sock, "select count(*) as n from file_events "
                                   "where action = 'UPDATED'")[0]["n"])
        # done when the count has not moved for 3 s (a bench, not a test)
        last, still = -1, 0
        while still < 3:
            time.sleep(1)
            cur = stored()
            still = still + 1 if cur == last else 0
            last = cur
        cpu = cpu_s(proc.pid) - c0
        total = int(query(sock, "select count(*) as n from file_events")
                    [0]["n"])
        yrows = int(query(sock, "select count(*) as n from yara_events "
                                "where action = 'UPDATED'")[0]["n"])
        loss = query(sock, "select overflows from osq_events_loss where "
                           "name = 'inotify'")[0]["overflows"]
        return {"writes": writes, "rate": writes / elapsed, "updated": last,
                "all_rows": total, "yara_updated": yrows, "cpu_s": cpu,
                "writer_cpu_s": wcpu,
                "cpu_per_10k": cpu / max(total, 1) * 10000,
                "hwm_kb": hwm_kb(proc.pid), "overflows": loss}
    finally:
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(d, ignore_errors=True)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 10
    base = run(build, rate, seconds, False)
    yara = run(build, rate, seconds, True)
    for name, r in (("file_events", base), ("+yara_events", yara)):
        print("%-12s %6d writes at %5.0f/s: UPDATED rows %6d (%.1f%%), all "
              "rows %6d, yara UPDATED rows %6d, overflows %s; osqd CPU %.2f s "
              "(%.2f s per 10k events, %.2fx the writers' %.2f s), peak RSS "
              "%d KiB"
              % (name, r["writes"], r["rate"], r["updated"],
                 100.0 * r["updated"] / r["writes"], r["all_rows"],
                 r["yara_updated"], r["overflows"], r["cpu_s"],
                 r["cpu_per_10k"], r["cpu_s"] / max(r["writer_cpu_s"], 1e-9),
                 r["writer_cpu_s"], r["hwm_kb"]))
    print("yara_events run / file_events run osqd CPU ratio: %.2f" %
          (yara["cpu_s"] / base["cpu_s"] if base["cpu_s"] else float("nan")))


if __name__ == "__main__":
    main()
