#!/usr/bin/python3
"""osqd's glog-shaped status files: osqueryd.INFO.<date>-<time>.<pid> holds
every status line, osqueryd.WARNING.* and osqueryd.ERROR.* the lines of that
severity and above, each begun on its first line, with a link osqueryd.<SEV>
to the newest. A file that has reached the size cap (glog's max_log_size,
10 MB in osquery; lowered here by the hidden --osq_status_max_size) is left
for a new one, between whole lines. With --logger_rotate, the result file
rotates as osquery's does: X.1 plain, X.2.zst, X.3.zst ... zstd frames
(read back with the zstd tool)."""
import json
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402

FAILING = "Error executing scheduled query bad"
STARTED = "osqd started"
LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ [^ ]+:\d+\] ")
SEVS = ("INFO", "WARNING", "ERROR")


def status_files(logs, sev):
    return sorted(n for n in os.listdir(logs)
                  if n.startswith("osqueryd." + sev + "."))


BAD = {"bad": {"query": "select * from no_such", "interval": 1}}


def run_daemon(name, enough, *flags, schedule=BAD):
    """Starts osqd with a schedule (default: a query that fails every
    second, an ERROR line), waits until enough(logs) and returns (logs dir,
    osqd's pid)."""
    d = osqtest.workdir("osqd-logfiles-" + name + "-")
    conf = os.path.join(d, "osq.conf")
    with open(conf, "w") as f:
        json.dump({"schedule": schedule}, f)
    logs = os.path.join(d, "log")
    cmd = [osqtest.binary("osqd"), "--config_path=" + conf,
           "--database_path=" + os.path.join(d, "db", "osq.db"),
           "--logger_path=" + logs, "--pidfile=" + os.path.join(d, "pid"),
           "--extensions_socket=" + os.path.join(d, "osq.em"),
           "--flagfile=/dev/null", "--disable_watchdog"] + list(flags)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: enough(logs), osqtest.WAIT,
                   "the status files of run " + name, p)
    finally:
        p.send_signal(signal.SIGTERM)
        eq(p.wait(60), 0, "exit code on SIGTERM")
    return logs, p.pid


def read_lines(logs, names):
    lines = []
    for n in names:
        with open(os.path.join(logs, n)) as f:
            text = f.read()
        check(text.endswith("\n"), n + " ends with a whole line")
        for line in text.splitlines():
            check(LINE.match(line) is not None, "glog line in %s: %r"
                  % (n, line))
            lines.append(line)
    return lines


def check_names_and_links(logs, pid):
    for sev in SEVS:
        names = status_files(logs, sev)
        check(names, "an osqueryd.%s.* file: %s" % (sev, os.listdir(logs)))
        for n in names:
            check(re.fullmatch(r"osqueryd\.%s\.\d{8}-\d{6}\.%d" % (sev, pid),
                               n) is not None, "glog's name: " + n)
        link = os.path.join(logs, "osqueryd." + sev)
        check(os.path.islink(link), link + " is a link")
        eq(os.readlink(link), names[-1], link + " points to the newest")
    check(not status_files(logs, "FATAL"), "no FATAL file")


def check_severities(logs):
    """Each file holds its severity and above; every such line is also in
    the lower severities' files."""
    info = read_lines(logs, status_files(logs, "INFO"))
    warn = read_lines(logs, status_files(logs, "WARNING"))
    err = read_lines(logs, status_files(logs, "ERROR"))
    check(any(STARTED in line for line in info), "INFO line in INFO")
    check(all(line[0] in "WEF" for line in warn), "WARNING+ only: %s" % warn)
    check(all(line[0] in "EF" for line in err), "ERROR+ only: %s" % err)
    check(any(FAILING in line for line in err), "the error in ERROR")
    info_set = set(info)
    check(all(line in info_set for line in warn + err),
          "every WARNING/ERROR line is in INFO too")
    eq(sorted(line for line in info if line[0] in "EF"), sorted(err),
       "the ERROR files hold exactly the ERROR lines")
    eq(sorted(line for line in info if line[0] in "WEF"), sorted(warn),
       "the WARNING files hold exactly the WARNING+ lines")
    return info


def test_severity_files():
    """Default cap: one file per severity."""
    logs, pid = run_daemon(
        "sev", lambda logs: len(status_files(logs, "ERROR")) == 1 and
        FAILING in open(os.path.join(logs, "osqueryd.ERROR")).read())
    check_names_and_links(logs, pid)
    for sev in SEVS:
        eq(len(status_files(logs, sev)), 1, "one %s file" % sev)
    check_severities(logs)


def test_size_cap_starts_new_files():
    """A 1-byte cap: every line that finds the file non-empty begins a new
    file (lines of one second share a name, so they share a file)."""
    logs, pid = run_daemon(
        "cap", lambda logs: len(status_files(logs, "ERROR")) >= 2 and
        len(status_files(logs, "INFO")) >= 2, "--osq_status_max_size=1")
    check_names_and_links(logs, pid)
    check_severities(logs)
    names = status_files(logs, "INFO")
    first = read_lines(logs, names[:1])
    check(any(STARTED in line for line in first),
          "the first INFO file has the start line")


def test_rotated_results_are_zstd():
    """A 1-byte rotate size: every result write rotates the file before;
    with max_files 3 the fourth rotation drops the oldest."""
    results = "osqueryd.results.log"
    logs, _ = run_daemon(
        "rotate", lambda logs: os.path.exists(
            os.path.join(logs, results + ".3.zst")) and os.path.exists(
                os.path.join(logs, results + ".1")),
        "--logger_rotate", "--logger_rotate_size=1",
        "--logger_rotate_max_files=3",
        schedule={"clock": {"query": "select unix_time from time",
                            "interval": 1}})
    names = sorted(n for n in os.listdir(logs) if n.startswith(results))
    eq(names, [results, results + ".1", results + ".2.zst",
               results + ".3.zst"], "osquery's rotated names")
    texts = []
    for n in reversed(names):  # oldest first
        path = os.path.join(logs, n)
        eq(os.stat(path).st_mode & 0o777, 0o640, "mode of " + n)
        if n.endswith(".zst"):
            with open(path, "rb") as f:
                eq(f.read(4), b"\x28\xb5\x2f\xfd", n + " is a zstd frame")
            text = subprocess.run(["zstd", "-dc", path], check=True,
                                  capture_output=True).stdout.decode()
        else:
            with open(path) as f:
                text = f.read()
        texts.append(text)
    times = []
    for n, text in zip(reversed(names), texts):
        check(text.endswith("\n"), n + " holds whole lines: %r" % text)
        lines = text.splitlines()
        # a write that finds the file non-empty rotates it first
        eq(len(lines), 1, "one line in " + n)
        row = json.loads(lines[0])
        eq(row["name"], "clock", "the query's line in " + n)
        times.append(row["unixTime"])
    eq(times, sorted(times), "oldest in .3.zst, newest in the live file")


if __name__ == "__main__":
    osqtest.run_tests([test_severity_files, test_size_cap_starts_new_files,
                       test_rotated_results_are_zstd])
