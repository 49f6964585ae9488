#!/usr/bin/python3
"""Log shipping through the tls logger (see bench/README.md, "## Fleet
log shipping").

One scheduled query whose first run logs N result lines (event format,
one line per row) is shipped by osqd's tls logger to the in-project test
server (tests/integration/osqtest/fleetserver.py) on 127.0.0.1. The log
endpoint answers HTTP 500 until all N lines are buffered in the results
store, so that shipping is timed on its own. Reported: osqd's CPU per 10k
lines (query, diff, buffering and sending together), and the wall time
from the first to the last accepted log request, against the floor: one
curl process posting the same bodies, batch for batch, over one
kept-alive connection to the same server, in the same run.

idle: osqd (watcher and worker) enrolled with the same server (config
refresh 10 s, distributed interval 10 s, tls logger) and an empty
schedule: peak RSS (also PSS, private, anonymous) and CPU of the worker
and of the watcher over a window (default 60 s), where the worker's
resident memory is (per mapping), and, in the same run, two baselines:
the same osqd without fleet plugins, and one curl process (the same
libcurl) posting the same requests.

    bench/fleet_log_bench.py BUILD_DIR [lines]
    bench/fleet_log_bench.py BUILD_DIR idle [seconds]
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from osqtest import fleetserver  # noqa: E402

TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TCK


def rss_kb(pid, field="VmRSS:"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def rss_by_mapping(pid):
    """Resident kB of each mapped file (by base name) and of anonymous
    memory, from /proc/<pid>/smaps."""
    out = {}
    name = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and ":" in head[3]:
                name = os.path.basename(head[5]) if len(head) > 5 else "[anon]"
            elif head[0] == "Rss:":
                out[name] = out.get(name, 0) + int(head[1])
    return out


def rollup_kb(pid):
    """Rss, Pss, private (clean + dirty) and anonymous kB of a process."""
    v = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                v[parts[0].rstrip(":")] = int(parts[1])
    return {"rss": v.get("Rss", 0), "pss": v.get("Pss", 0),
            "private": v.get("Private_Clean", 0) + v.get("Private_Dirty", 0),
            "anon": v.get("Anonymous", 0)}


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def watch(procs, seconds):
    """Peak memory of each named pid over the window, sampled each second,
    and each one's CPU seconds in it."""
    c0 = {n: cpu_s(p) for n, p in procs.items()}
    t0 = time.monotonic()
    peak = {n: {} for n in procs}
    while time.monotonic() - t0 < seconds:
        for n, p in procs.items():
            for k, v in rollup_kb(p).items():
                peak[n][k] = max(peak[n].get(k, 0), v)
        time.sleep(1)
    wall = time.monotonic() - t0
    cpu = {n: cpu_s(p) - c0[n] for n, p in procs.items()}
    return peak, cpu, wall


def start_osqd(build, d, flags):
    cmd = [os.path.join(build, "osqd"), "--flagfile=/dev/null",
           "--database_path=" + os.path.join(d, "db", "osq.db"),
           "--pidfile=" + os.path.join(d, "osqd.pid"),
           "--extensions_socket=" + os.path.join(d, "osq.em"),
           "--logger_path=" + os.path.join(d, "log")] + flags
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not children(proc.pid):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("osqd did not start its worker")
        time.sleep(0.2)
    return proc


def stop(proc):
    proc.terminate()
    proc.wait()


def curl_floor(srv, certs, requests):
    """Peak RSS of one curl process (the same libcurl, linked) posting
    the idle osqd's requests over one connection, a few seconds apart."""
    body = json.dumps({"node_key": "node-key-floor"})
    args = ["curl", "-s", "--rate", "30/m", "--cacert", certs["ca"],
            "-H", "Content-Type: application/json", "-d", body]
    for i in range(requests):
        args += ["-o", "/dev/null", "https://%s%s" % (
            srv.hostname, fleetserver.ENDPOINTS[("config", "read")[i % 2]])]
    proc = subprocess.Popen(args)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, rollup_kb(proc.pid)["rss"])
        except OSError:
            break
        time.sleep(0.25)
    return peak


def idle(build, seconds):
    d = tempfile.mkdtemp(prefix="fleet-bench-")
    certs = fleetserver.make_certs(d)
    srv = fleetserver.FleetServer(d, certs).start()
    srv.set_config({})
    secret = os.path.join(d, "secret.txt")
    with open(secret, "w") as f:
        f.write("s3cret")
    fleet = ["--tls_hostname=" + srv.hostname,
             "--tls_server_certs=" + certs["ca"],
             "--enroll_secret_path=" + secret,
             "--enroll_tls_endpoint=/api/osquery/enroll",
             "--config_plugin=tls", "--config_refresh=10",
             "--config_tls_endpoint=/api/v1/osquery/config",
             "--disable_distributed=false", "--distributed_plugin=tls",
             "--distributed_interval=10",
             "--distributed_tls_read_endpoint="
             "/api/v1/osquery/distributed/read",
             "--distributed_tls_write_endpoint="
             "/api/v1/osquery/distributed/write",
             "--logger_plugin=tls", "--logger_tls_period=10",
             "--logger_tls_endpoint=/api/v1/osquery/log"]
    try:
        # 1. enrolled with the server, watchdog on (as deployed)
        proc = start_osqd(build, os.path.join(d, "fleet"), fleet)
        try:
            deadline = time.monotonic() + 60
            while not srv.requests("read"):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("osqd did not start polling")
                time.sleep(0.2)
            worker = children(proc.pid)[0]
            peak, cpu, wall = watch({"worker": worker, "watcher": proc.pid},
                                    seconds)
            maps = rss_by_mapping(worker)
            threads = len(os.listdir("/proc/%d/task" % worker))
        finally:
            stop(proc)
        # 2. the same osqd without fleet plugins (a config file, the
        # filesystem logger), same window
        plain_d = os.path.join(d, "plain")
        os.makedirs(plain_d)
        conf = os.path.join(plain_d, "osq.conf")
        with open(conf, "w") as f:
            f.write("{}")
        proc = start_osqd(build, plain_d, ["--config_path=" + conf])
        try:
            time.sleep(3)
            plain, _, _ = watch({"worker": children(proc.pid)[0]},
                                min(seconds, 20))
        finally:
            stop(proc)
        counts = (len(srv.requests("config")), len(srv.requests("read")))
        # 3. curl posting the same requests
        floor = curl_floor(srv, certs, 6)
    finally:
        srv.kill()
    w, wd = peak["worker"], peak["watcher"]
    print("idle %.0f s, enrolled; %d config and %d distributed requests" %
          ((wall,) + counts))
    print("  worker  RSS %.1f MB (anonymous %.1f, PSS %.1f, private %.1f), "
          "CPU %.3f s = %.3f%%, %d threads" %
          (w["rss"] / 1024, w["anon"] / 1024, w["pss"] / 1024,
           w["private"] / 1024, cpu["worker"],
           100 * cpu["worker"] / wall, threads))
    print("  watcher RSS %.1f MB (anonymous %.1f, PSS %.1f), CPU %.3f%%" %
          (wd["rss"] / 1024, wd["anon"] / 1024, wd["pss"] / 1024,
           100 * cpu["watcher"] / wall))
    print("  same run: worker without fleet plugins RSS %.1f MB; curl "
          "posting the same requests RSS %.1f MB; worker / curl %.2fx" %
          (plain["worker"]["rss"] / 1024, floor / 1024,
           w["rss"] / floor))
    top = sorted(maps.items(), key=lambda kv: -kv[1])[:12]
    print("  worker resident at the end, kB: %s" %
          ", ".join("%s %d" % kv for kv in top))


def main():
    build = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "idle":
        idle(build, float(sys.argv[3]) if len(sys.argv) > 3 else 60)
        return
    lines = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    d = tempfile.mkdtemp(prefix="fleet-bench-")
    certs = fleetserver.make_certs(d)
    srv = fleetserver.FleetServer(d, certs).start()
    sql = ("with recursive c(x) as (select 1 union all select x + 1 from c "
           "where x < %d) select x, 'some text for a line' as t from c"
           % lines)
    srv.set_config({"schedule": {"many": {"query": sql, "interval": 3600,
                                          "startup_priority": 1}}})
    secret = os.path.join(d, "secret.txt")
    with open(secret, "w") as f:
        f.write("s3cret")
    cmd = [os.path.join(build, "osqd"), "--flagfile=/dev/null",
           "--disable_watchdog",
           "--database_path=" + os.path.join(d, "db", "osq.db"),
           "--pidfile=" + os.path.join(d, "osqd.pid"),
           "--extensions_socket=" + os.path.join(d, "osq.em"),
           "--tls_hostname=" + srv.hostname,
           "--tls_server_certs=" + certs["ca"],
           "--enroll_secret_path=" + secret,
           "--enroll_tls_endpoint=/api/osquery/enroll",
           "--config_plugin=tls",
           "--config_tls_endpoint=/api/v1/osquery/config",
           "--logger_plugin=tls", "--tls_disable_status_log",
           "--logger_tls_endpoint=/api/v1/osquery/log",
           "--logger_tls_period=1"]
    srv.fail_logs(True)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600

        def buffered():
            try:
                db = sqlite3.connect(os.path.join(d, "db", "osq.db"),
                                     timeout=30)
                n = db.execute("select count(*) from remote_logs").fetchone()
                db.close()
                return n[0]
            except sqlite3.Error:
                return 0
        while buffered() < lines:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("osqd did not buffer %d lines" % lines)
            time.sleep(0.5)
        srv.fail_logs(False)
        while len(srv.log_data("result")) < lines:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("osqd did not ship %d lines" % lines)
            time.sleep(2)
        cpu = cpu_s(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    logs = [r for r in srv.requests("log") if r["accepted"]]
    osqd_wall = logs[-1]["t"] - logs[0]["t"]
    nbytes = sum(r["bytes"] for r in logs)
    # the floor: the same bodies, the same batches, one curl process
    args = ["curl", "-s", "-o", "/dev/null", "--cacert", certs["ca"]]
    for i, r in enumerate(logs):
        p = os.path.join(d, "body%d.json" % i)
        with open(p, "w") as f:
            json.dump(r["body"], f, separators=(",", ":"))
        if i:
            args += ["--next", "-s", "-o", "/dev/null", "--cacert",
                     certs["ca"]]
        args += ["-H", "Content-Type: application/json", "--data-binary",
                 "@" + p, "https://%s/api/v1/osquery/log" % srv.hostname]
    t0 = time.monotonic()
    subprocess.run(args, check=True)
    curl_total = time.monotonic() - t0
    srv.kill()
    # timed as osqd's: server-side, first to last request
    replayed = [r for r in srv.requests("log") if r["accepted"]][len(logs):]
    curl_wall = replayed[-1]["t"] - replayed[0]["t"]
    print("lines %d in %d requests, %.1f MB" % (lines, len(logs),
                                                  nbytes / 1e6))
    print("osqd CPU      %.3f s total, %.3f s per 10k lines" %
          (cpu, cpu * 10000 / lines))
    print("wall first->last request: osqd %.2f s  curl %.2f s  ratio %.2fx"
          % (osqd_wall, curl_wall, osqd_wall / curl_wall))
    print("(curl process in all: %.2f s)" % curl_total)


if __name__ == "__main__":
    main()
