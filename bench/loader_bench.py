#!/usr/bin/python3
"""Extension loading benchmark.

1. Time for N extensions (copies of bench_loader_ext, each serving its own
   table) to be launched, registered and answering, with one osqi one-shot
   query; baseline: the same osqi query with no extension, in the same run.
2. Idle RSS of one registered libosqext extension; baseline: the Python
   test extension (osqtest.ext, shaped like osquery-python) in the same run.

    bench/loader_bench.py [BUILD_DIR] [N]      (default: build, 100)

Extension copies go in a directory under BUILD_DIR (the loader refuses
sticky directories such as /tmp); sockets go in /tmp.
"""
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "build"))
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100
OSQI = os.path.join(BUILD, "osqi")
EXT = os.path.join(BUILD, "bench", "bench_loader_ext")
REPS = 5


def run(args, env):
    t0 = time.monotonic()
    r = subprocess.run([OSQI, "--json"] + args, capture_output=True, text=True,
                       env=env, timeout=300)
    dt = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit("osqi failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
    return dt, r.stdout


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children(pid):
    out = []
    for t in glob.glob("/proc/%d/task/*/children" % pid):
        with open(t) as f:
            out += [int(x) for x in f.read().split()]
    return out


def idle_rss(ext_path, sock, env):
    """RSS of ext_path once registered and serving, under a live osqi."""
    p = subprocess.Popen([OSQI, "--extension", ext_path,
                          "--extensions_socket=" + sock],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            kids = children(p.pid)
            if kids and glob.glob(sock + ".*"):
                break
            time.sleep(0.02)
        else:
            raise SystemExit("extension %s did not register" % ext_path)
        time.sleep(0.5)  # let start-up garbage settle: we measure idle RSS
        return rss_kb(kids[0])
    finally:
        p.stdin.close()
        p.wait(30)


def main():
    safe = tempfile.mkdtemp(prefix="bench-loader-", dir=BUILD)
    tmp = tempfile.mkdtemp(prefix="osqb-", dir="/tmp")
    os.chmod(safe, 0o755)
    env = dict(os.environ, HOME=tmp)
    try:
        d = os.path.join(safe, "exts")
        os.mkdir(d, 0o755)
        for i in range(N):
            shutil.copy2(EXT, os.path.join(d, "bench_ext_%03d.ext" % i))
        load = os.path.join(safe, "extensions.load")
        with open(load, "w") as f:
            f.write(d + "\n")
        sock = os.path.join(tmp, "s.em")
        base, many = [], []
        for _ in range(REPS):
            dt, _ = run(["--disable_extensions=false", "--extensions_socket=" + sock,
                         "select 1"], env)
            base.append(dt)
            # each extension holds a connection to the manager
            dt, out = run(["--extensions_autoload=" + load, "--extensions_timeout=60",
                           "--extensions_max_connections=%d" % (2 * N + 16),
                           "--extensions_socket=" + sock,
                           "select count(*) as n from osquery_extensions "
                           "where type = 'extension'"], env)
            if '"n":"%d"' % N not in out.replace(" ", ""):
                raise SystemExit("expected %d registered extensions, got %s" % (N, out))
            many.append(dt)
        b, m = statistics.median(base), statistics.median(many)
        print("osqi one-shot, no extension (baseline): %.1f ms" % (b * 1000))
        print("osqi one-shot, %d extensions launched+registered: %.1f ms "
              "(%.2f ms/extension above baseline; %.1fx baseline)" %
              (N, m * 1000, (m - b) * 1000 / N, m / b))

        c_rss = idle_rss(os.path.join(d, "bench_ext_000.ext"), sock, env)
        py = os.path.join(safe, "py_idle.ext")
        with open(py, "w") as f:
            f.write("#!/usr/bin/python3\nimport sys\nsys.path.insert(0, %r)\n"
                    "from osqtest import ext\nclass T(ext.Table):\n"
                    "    name = 'py_idle'\n    columns = [('n', 'INTEGER')]\n"
                    "ext.main('py_idle', [T()])\n"
                    % os.path.join(SRC, "tests", "integration"))
        os.chmod(py, 0o755)
        py_rss = idle_rss(py, sock, env)
        print("idle RSS: libosqext extension %d kB; Python extension "
              "(baseline) %d kB; ratio %.2f" % (c_rss, py_rss, c_rss / py_rss))
    finally:
        shutil.rmtree(safe, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
