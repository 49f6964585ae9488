#!/usr/bin/python3
"""--enable_foreign through osqi and osqd: osquery's tables of other
platforms exist, answer every query with no rows, show their spec's
columns (hidden ones hidden) and are listed by .tables; without the flag
they do not exist."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402
from tablelib import osqi_fails, osqi_json  # noqa: E402
from test_daemon_run import Daemon  # noqa: E402

SAMPLE = ["launchd", "apps", "programs", "services", "registry", "patches",
          "windows_events"]


def test_queries_return_nothing():
    for t in SAMPLE:
        rows, _ = osqi_json("select * from %s" % t, args=["--enable_foreign"])
        eq(rows, [], "select * from " + t)
    rows, _ = osqi_json("select label, program from launchd "
                        "where path like '/Library/%' order by label",
                        args=["--enable_foreign"])
    eq(rows, [], "constraints and ordering on a foreign table")
    rows, _ = osqi_json("select count(*) as n from registry where "
                        "key = 'HKEY_LOCAL_MACHINE'", args=["--enable_foreign"])
    eq(rows, [{"n": "0"}], "count over a foreign table")
    for alias in ("programs_and_features", "hvci_status"):
        rows, _ = osqi_json("select * from " + alias, args=["--enable_foreign"])
        eq(rows, [], "the table alias " + alias)
    rows, _ = osqi_json("select p.pid from processes p join services s "
                        "on s.pid = p.pid", args=["--enable_foreign"])
    eq(rows, [], "a join with a Linux table")


def test_columns_as_declared():
    rows, _ = osqi_json("select name, type, hidden from "
                        "pragma_table_xinfo('windows_events')",
                        args=["--enable_foreign"])
    eq([r["name"] for r in rows][:3], ["time", "datetime", "source"],
       "first columns of windows_events")
    by = {r["name"]: r for r in rows}
    eq(by["eid"]["hidden"], "1", "eid is hidden")
    eq(by["eventid"], {"name": "eventid", "type": "INTEGER", "hidden": "0"},
       "eventid")
    rows, _ = osqi_json("select name, type from pragma_table_xinfo('apps')",
                        args=["--enable_foreign"])
    eq(rows[-1], {"name": "last_opened_time", "type": "DOUBLE"},
       "apps' last column")


def shell_tables(args):
    p = subprocess.run([osqtest.binary("osqi")] + args, input=".tables\n",
                       capture_output=True, text=True, timeout=120)
    eq(p.returncode, 0, "osqi .tables exit code (%s)" % p.stderr)
    return {line.strip()[3:] for line in p.stdout.splitlines()
            if line.strip().startswith("=> ")}


def test_dot_tables_lists_them():
    on = shell_tables(["--enable_foreign"])
    off = shell_tables([])
    for t in SAMPLE:
        check(t in on, "%s listed with --enable_foreign" % t)
        check(t not in off, "%s not listed without it" % t)
    check("processes" in on and "processes" in off, "Linux tables stay")


def test_off_by_default():
    for t in ("launchd", "programs"):
        rc, err = osqi_fails("select * from %s" % t)
        check(rc != 0 and "no such table" in err,
              "%s without --enable_foreign: %r" % (t, err))
    rc, err = osqi_fails("select * from launchd",
                         args=["--enable_foreign=false"])
    check(rc != 0 and "no such table" in err, "explicitly off: %r" % err)


def daemon_config():
    return {"schedule": {
        q: {"query": "select count(*) as n from %s" % q, "interval": 1,
            "snapshot": True} for q in ("launchd", "services")}}


def test_daemon_schedules_them():
    dm = Daemon(osqtest.workdir("osqd-"), daemon_config(),
                args=["--enable_foreign"]).start()
    try:
        for q in ("launchd", "services"):
            snap = dm.wait_line(lambda l, q=q: l.get("name") == q,
                                "osqueryd.snapshots.log",
                                what="the %s snapshot" % q)[0]
            eq(snap["snapshot"], [{"n": "0"}], q + " snapshot")
    finally:
        eq(dm.stop(), 0, "osqd exit code on SIGTERM")


def test_daemon_off_by_default():
    dm = Daemon(osqtest.workdir("osqd-"), daemon_config()).start()
    try:
        osqtest.wait_until(lambda: "no such table: launchd" in dm.stderr(),
                           osqtest.WAIT, "the launchd query's error", dm.proc)
    finally:
        eq(dm.stop(), 0, "osqd exit code on SIGTERM")


if __name__ == "__main__":
    osqtest.run_tests([test_queries_return_nothing, test_columns_as_declared,
                       test_dot_tables_lists_them, test_off_by_default,
                       test_daemon_schedules_them, test_daemon_off_by_default])
