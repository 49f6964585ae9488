#!/usr/bin/env bash
# osqi start-to-exit cost against baselines measured in the same run.
#   bench/shell_bench.sh [BUILD_DIR]      (default: build; use a Release build;
#   any directory holding an osqi will do, e.g. a copy of an older binary)
# 1. osqi "select 1"                vs  sqlite3 :memory: "select 1"   goal <= 1.5x
# 2. osqi "select * from processes" vs  ps -eo pid,ppid,uid,comm,args goal <= 1.0x
# 3. a 1,000,000-row result in csv: osqi --csv vs sqlite3 -csv (same bytes)
# The two commands of a pair run alternately (RUNS times each) so that
# load from other processes hits both alike; reported: median wall time,
# median CPU time (user+sys of the child) and median peak RSS (GNU time).
set -euo pipefail
BUILD=${1:-${OSQ_BUILD:-build}}
OSQI=$(readlink -f "$BUILD/osqi")
export RUNS=${RUNS:-200}
[ -x "$OSQI" ] || { echo "no osqi in $BUILD" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time (/usr/bin/time) is needed" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 is needed" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export HOME=$TMP # osqi's ~/.osq lives here

python3 - "$OSQI" "$TMP" <<'PY'
import os, statistics, subprocess, sys, time

osqi, tmp = sys.argv[1], sys.argv[2]
runs = int(os.environ["RUNS"])
null = os.open(os.devnull, os.O_WRONLY)

def once(argv):
    t = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ,
                          file_actions=[(os.POSIX_SPAWN_DUP2, null, 1)])
    _, st, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(st) != 0:
        sys.exit("%s failed" % argv)
    return wall, ru.ru_utime + ru.ru_stime

def peak_rss(argv, k=15):
    # GNU time: its own few pages are all a forked parent adds (a forking
    # python would count its own, since ru_maxrss survives exec)
    out = os.path.join(tmp, "rss")
    vals = []
    for _ in range(k):
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out] + argv,
                       stdout=subprocess.DEVNULL, check=True)
        vals.append(int(open(out).read().split()[-1]))
    return statistics.median(vals)

def pair(name, a, b, goal, n=None):
    for _ in range(10 if n is None else 1):
        once(a), once(b)
    wa, ca, wb, cb = [], [], [], []
    for _ in range(runs if n is None else n):
        w, c = once(a); wa.append(w); ca.append(c)
        w, c = once(b); wb.append(w); cb.append(c)
    ma, mb = statistics.median(wa), statistics.median(wb)
    cpa, cpb = statistics.median(ca), statistics.median(cb)
    k = 15 if n is None else 3
    ra, rb = peak_rss(a, k), peak_rss(b, k)
    r = ma / mb
    print("%-10s osqi %6.2f ms (cpu %6.2f) %5d KiB | base %6.2f ms (cpu %6.2f) %5d KiB"
          " | wall %.2fx (goal <= %.1fx%s), cpu %.2fx, rss %.2fx"
          % (name, ma * 1e3, cpa * 1e3, ra, mb * 1e3, cpb * 1e3, rb, r, goal,
             "" if r <= goal else ", MISSED", cpa / cpb if cpb else 0, ra / rb))

print("osqi: %s (%d CPUs, load %.1f, %d alternating runs each)"
      % (osqi, os.cpu_count(), os.getloadavg()[0], runs))
pair("select 1", [osqi, "select 1"], ["sqlite3", ":memory:", "select 1"], 1.5)
pair("processes", [osqi, "select * from processes"],
     ["ps", "-eo", "pid,ppid,uid,comm,args"], 1.0)
big = ("with recursive c(x) as (select 1 union all select x+1 from c "
       "where x<1000000) select x, 'row ' || x as name from c")
pair("1M rows", [osqi, "--csv", "--separator", ",", big],
     ["sqlite3", "-csv", "-header", ":memory:", big], 1.0, n=max(3, runs // 40))
PY
