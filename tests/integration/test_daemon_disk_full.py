"""osqd with --logger_path on a full filesystem (a small tmpfs mounted for
the test; tests run as root): the results log never holds a torn line,
the error names errno, and the lines that could not be written wait in
the results store and are written, in order, once space returns."""
import json
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402
from test_daemon_run import Daemon  # noqa: E402


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                        "tmpfs", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("this test mounts a tmpfs and must run as "
                             "root: %s" % r.stderr.strip())


def fill(path):
    """Write path until the filesystem is full; returns the bytes held."""
    n = 0
    with open(path, "wb", buffering=0) as f:
        chunk = b"\0" * 4096
        try:
            while True:
                n += f.write(chunk)
        except OSError:
            pass
    return n


def whole_lines(path):
    """The results log as parsed lines; fails on a torn or unparsable
    line."""
    with open(path, "rb") as f:
        data = f.read()
    check(data == b"" or data.endswith(b"\n"),
          "the log ends in the middle of a line: %r" % data[-80:])
    out = []
    for raw in data.split(b"\n")[:-1]:
        try:
            out.append(json.loads(raw))
        except ValueError:
            raise AssertionError("torn line in the results log: %r" %
                                 raw[:200])
    return out


def waiting_lines(db):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        return c.execute("select count(*) from waiting_lines").fetchone()[0]
    finally:
        c.close()


def test_full_disk_keeps_lines_whole_and_late():
    d = osqtest.workdir("osqd-full-")
    logs = os.path.join(d, "log")
    mount_tmpfs(logs, "256k")
    filler = os.path.join(logs, "filler")
    dm = None
    try:
        # one line per run (batch format), a new random value each time so
        # every run logs a line of about 2.5 KB: lines straddle pages
        dm = Daemon(d, config={"schedule": {"rand": {
            "query": "select hex(randomblob(600)) as r", "interval": 1}}},
            args=["--logger_event_type=false"]).start()
        results = os.path.join(logs, "osqueryd.results.log")
        db = os.path.join(d, "db", "osq.db")
        wait_until(lambda: len(whole_lines(results)) >= 2, 60,
                   "the first result lines", dm.proc)
        fill(filler)
        wait_until(lambda: "No space left on device" in dm.stderr(), 60,
                   "the write error naming errno", dm.proc)
        wait_until(lambda: waiting_lines(db) >= 3, 60,
                   "lines waiting in the results store", dm.proc)
        whole_lines(results)  # no torn line while the disk is full
        os.unlink(filler)
        wait_until(lambda: waiting_lines(db) == 0, 60,
                   "the waiting lines to be written", dm.proc)
        written = len(whole_lines(results))
        wait_until(lambda: len(whole_lines(results)) > written + 1, 60,
                   "lines after the waiting ones", dm.proc)
        eq(dm.stop(), 0, "exit code")
        lines = whole_lines(results)
        counters = [l["counter"] for l in lines if l["name"] == "rand"]
        eq(counters, list(range(len(counters))),
           "every run's line once, in order")
    finally:
        if dm is not None and dm.proc.poll() is None:
            dm.stop()
        subprocess.run(["umount", "-l", logs], capture_output=True)


if __name__ == "__main__":
    osqtest.run_tests([test_full_disk_keeps_lines_whole_and_late])
