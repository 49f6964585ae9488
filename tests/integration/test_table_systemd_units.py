#!/usr/bin/python3
"""systemd_units against a stand-in manager on a private bus (the test
machine need not run systemd): every column compared with what busctl, an
independent client, reads from the same manager; and with no bus at all
the table is empty, not an error."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402
from tablelib import build_c, osqi_json  # noqa: E402


def busctl(addr, *args):
    p = subprocess.run(["busctl", "--address=" + addr, "--json=short"]
                       + list(args), capture_output=True, text=True,
                       check=True, timeout=60)
    return json.loads(p.stdout)


def test_against_busctl():
    d = osqtest.workdir()
    fake = build_c("fake_systemd.c", os.path.join(d, "fake_systemd"),
                   ["-lsystemd"])
    addr = "unix:path=" + os.path.join(d, "bus")
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork",
                            "--address=" + addr, "--print-address=1"],
                           stdout=subprocess.PIPE, text=True)
    svc = None
    try:
        check(bus.stdout.readline().startswith("unix:"), "bus up")
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=addr)
        svc = subprocess.Popen([fake], env=env, stdout=subprocess.PIPE,
                               text=True)
        eq(svc.stdout.readline().strip(), "ready", "fake manager")

        rows, _ = osqi_json("select * from systemd_units order by id",
                            env=env)
        ref = busctl(addr, "call", "org.freedesktop.systemd1",
                     "/org/freedesktop/systemd1",
                     "org.freedesktop.systemd1.Manager", "ListUnits")
        units = sorted(ref["data"][0], key=lambda u: u[0])
        eq(len(rows), len(units), "one row per unit")
        for row, u in zip(rows, units):
            want = dict(zip(("id", "description", "load_state",
                             "active_state", "sub_state", "following",
                             "object_path", "job_id", "job_type",
                             "job_path"), [str(x) for x in u]))
            for prop, col, iface in (
                    ("FragmentPath", "fragment_path", "Unit"),
                    ("SourcePath", "source_path", "Unit"),
                    ("UnitFileState", "unit_file_state", "Unit"),
                    ("User", "user", "Service")):
                try:
                    v = busctl(addr, "get-property",
                               "org.freedesktop.systemd1", u[6],
                               "org.freedesktop.systemd1." + iface,
                               prop)["data"]
                except subprocess.CalledProcessError:
                    v = ""  # a socket unit has no Service.User
                want[col] = v
            eq(row, want, "unit %s" % u[0])
        eq(rows[0]["user"], "nobody", "service user")
        eq(rows[1]["job_id"], "7", "job id")

        # only the columns asked for: no property calls needed
        rows, _ = osqi_json("select id, active_state from systemd_units "
                            "where active_state = 'active'", env=env)
        eq(rows, [{"id": "fake-a.service", "active_state": "active"}],
           "filtered")
    finally:
        for p in (svc, bus):
            if p:
                p.kill()
                p.wait()


def test_no_bus():
    d = osqtest.workdir()
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path="
               + os.path.join(d, "absent"))
    rows, err = osqi_json("select * from systemd_units", env=env)
    eq(rows, [], "no manager: no rows")
    check("systemd_units" in err, "the reason is logged: %r" % err)


if __name__ == "__main__":
    osqtest.run_tests([test_against_busctl, test_no_bus])
