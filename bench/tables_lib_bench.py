#!/usr/bin/python3
"""The library-backed tables against the tools users would otherwise run,
on the same data, alternating runs; median wall time and ratio, and the
median CPU time (user + system, children included) and its ratio: on a
shared machine the wall time of a multi-threaded command depends on how
many threads it competes with, its CPU time much less.

  bench/tables_lib_bench.py BUILD_DIR [RUNS]

1. select count(*) from deb_packages      vs dpkg-query -W       goal <= 1.0x
2. select count(*) from deb_package_files vs dpkg-query -L <all packages>
3. select count(*) from rpm_packages      vs rpm -qa             goal <= 1.0x
   (an RPM database of 40 packages built here, read with --rpm_dbpath)
4. magic on 1,000 files (data + mime type) vs file -b + file -b --mime-type
                                                                  goal <= 1.0x
5. yara over /usr/bin with one rule file vs yara -f -r            goal <= 1.0x
   (the CLI scans with 32 threads by default, osq with min(CPUs, 4);
   also vs yara -f -p 1, the CLI on one thread, for scale)
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

build = sys.argv[1] if len(sys.argv) > 1 else "build"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
osqi = os.path.join(build, "osqi")
null = open(os.devnull, "w")


def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def once(argv, **kw):
    c = cpu()
    t = time.perf_counter()
    subprocess.run(argv, stdout=null, stderr=null, check=True, **kw)
    return time.perf_counter() - t, cpu() - c


def pair(name, a, b, shell_b=False):
    ta, tb = [], []
    for _ in range(runs):
        ta.append(once(a))
        tb.append(once(b, shell=shell_b))
    wa, wb = (statistics.median(x[0] for x in t) for t in (ta, tb))
    ca, cb = (statistics.median(x[1] for x in t) for t in (ta, tb))
    print("%-30s osqi %7.1f ms  baseline %7.1f ms  ratio %.2fx  |  cpu "
          "%7.1f / %7.1f ms  ratio %.2fx"
          % (name, wa * 1e3, wb * 1e3, wa / wb, ca * 1e3, cb * 1e3,
             ca / cb if cb else float("nan")), flush=True)


def rpm_db(d, n=40):
    db = os.path.join(d, "db")
    os.makedirs(os.path.join(d, "SPECS"))
    os.makedirs(db)
    subprocess.run(["rpm", "--dbpath", db, "--initdb"], check=True)
    pkgs = []
    for i in range(n):
        name = "benchpkg%d" % i
        spec = os.path.join(d, "SPECS", name + ".spec")
        with open(spec, "w") as f:
            f.write("Name: %s\nVersion: 1\nRelease: 1\nSummary: b\n"
                    "License: MIT\nBuildArch: noarch\n%%description\nb\n"
                    "%%install\nmkdir -p %%{buildroot}/opt/%s\n"
                    "touch %%{buildroot}/opt/%s/f\n%%files\n/opt/%s/f\n"
                    % (name, name, name, name))
        subprocess.run(["rpmbuild", "--define", "_topdir " + d, "-bb", spec],
                       stdout=null, stderr=null, check=True)
        pkgs.append(os.path.join(d, "RPMS", "noarch",
                                 name + "-1-1.noarch.rpm"))
    subprocess.run(["rpm", "--dbpath", db, "--justdb", "--nodeps", "-i"]
                   + pkgs, stdout=null, stderr=null, check=True)
    return db


def main():
    tmp = tempfile.mkdtemp(prefix="osq-bench-")
    os.environ["HOME"] = tmp
    try:
        print("runs per command: %d (median); %d CPUs; load average %.1f"
              % (runs, len(os.sched_getaffinity(0)), os.getloadavg()[0]))
        pair("count(*) deb_packages",
             [osqi, "select count(*) from deb_packages"],
             ["dpkg-query", "-W"])
        pkgs = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\\n"],
                              capture_output=True, text=True,
                              check=True).stdout.split()
        pair("count(*) deb_package_files",
             [osqi, "select count(*) from deb_package_files"],
             ["dpkg-query", "-L"] + pkgs)
        db = rpm_db(os.path.join(tmp, "rpm"))
        pair("count(*) rpm_packages (40)",
             [osqi, "--rpm_dbpath=" + db,
              "select count(*) from rpm_packages"],
             ["rpm", "-qa", "--dbpath", db])
        files = sorted(os.path.join("/usr/bin", f)
                       for f in os.listdir("/usr/bin"))[:1000]
        files = [f for f in files if os.path.isfile(f)]
        inlist = ",".join("'%s'" % f for f in files)
        listfile = os.path.join(tmp, "files")
        with open(listfile, "w") as f:
            f.write("\n".join(files) + "\n")
        pair("magic on %d files" % len(files),
             [osqi, "select count(data), count(mime_type) from magic "
              "where path in (%s)" % inlist],
             "xargs file -b < %s; xargs file -b --mime-type < %s"
             % (listfile, listfile), shell_b=True)
        rules = os.path.join(tmp, "r.yar")
        with open(rules, "w") as f:
            f.write('rule elf { strings: $e = { 7f 45 4c 46 } '
                    'condition: $e at 0 }\n'
                    'rule sh { strings: $s = "#!/bin/sh" condition: $s }\n')
        pair("yara over /usr/bin",
             [osqi, "select count(*) from yara_file where path like "
              "'/usr/bin/%%' and sigfile = '%s'" % rules],
             ["yara", "-f", "-r", rules, "/usr/bin"])
        # for scale: the CLI on one thread (osq still uses its threads)
        pair("yara over /usr/bin (CLI -p 1)",
             [osqi, "select count(*) from yara_file where path like "
              "'/usr/bin/%%' and sigfile = '%s'" % rules],
             ["yara", "-f", "-p", "1", "-r", rules, "/usr/bin"])
    finally:
        shutil.rmtree(tmp, True)


main()
