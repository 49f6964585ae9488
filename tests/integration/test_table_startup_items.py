#!/usr/bin/python3
"""startup_items' systemd rows against a stand-in manager on a private bus
(the test machine need not run systemd): every unit ListUnits returns is a
row whose name, status (active state), path (FragmentPath), source
(SourcePath) and username (Service.User) match what busctl, an
independent client, reads from the same manager. Without a bus the file
rows stand alone and nothing is logged as a warning."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402
from tablelib import build_c, osqi_json  # noqa: E402

UNIT_ROWS = ("select name, path, args, type, source, status, username "
             "from startup_items where type = 'systemd unit' order by name")


def busctl(addr, *args):
    p = subprocess.run(["busctl", "--address=" + addr, "--json=short"]
                       + list(args), capture_output=True, text=True,
                       check=True, timeout=60)
    return json.loads(p.stdout)


def prop(addr, path, iface, name):
    try:
        return busctl(addr, "get-property", "org.freedesktop.systemd1", path,
                      "org.freedesktop.systemd1." + iface, name)["data"]
    except subprocess.CalledProcessError:
        return ""  # a socket unit has no Service.User


def test_units_against_busctl():
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

        rows, _ = osqi_json(UNIT_ROWS, env=env)
        ref = busctl(addr, "call", "org.freedesktop.systemd1",
                     "/org/freedesktop/systemd1",
                     "org.freedesktop.systemd1.Manager", "ListUnits")
        units = sorted(ref["data"][0], key=lambda u: u[0])
        check(len(units) >= 2, "the fake has units")
        want = [{"name": u[0], "path": prop(addr, u[6], "Unit",
                                            "FragmentPath"),
                 "args": "", "type": "systemd unit",  # NULL, as osqi prints it
                 "source": prop(addr, u[6], "Unit", "SourcePath"),
                 "status": u[3],
                 "username": prop(addr, u[6], "Service", "User")}
                for u in units]
        eq(rows, want, "one row per unit, as busctl reads them")
        eq(rows[0]["username"], "nobody", "a service's user")
        eq(rows[1]["source"], "/etc/init.d/fake-b", "a generated unit's source")

        # a query that reads no property column asks for none
        rows, _ = osqi_json("select name, status from startup_items where "
                            "type = 'systemd unit' and status = 'active'",
                            env=env)
        eq(rows, [{"name": "fake-a.service", "status": "active"}], "filtered")

        # the file rows are still there, before the units
        rows, _ = osqi_json("select type from startup_items", env=env)
        types = [r["type"] for r in rows]
        eq(types[len(types) - len(units):], ["systemd unit"] * len(units),
           "units come last")
        eq(set(types[:len(types) - len(units)]) - {"Startup Item"}, set(),
           "other rows are startup items")
    finally:
        for p in (svc, bus):
            if p:
                p.kill()
                p.wait()


def test_no_bus():
    d = osqtest.workdir()
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path="
               + os.path.join(d, "absent"))
    rows, err = osqi_json(UNIT_ROWS, env=env)
    eq(rows, [], "no manager: no unit rows")
    check("startup_items" not in err, "not a warning: %r" % err)
    _, err = osqi_json(UNIT_ROWS, env=env, args=["--verbose"])
    check("startup_items: cannot connect to the system bus" in err,
          "the reason is logged with --verbose: %r" % err)


if __name__ == "__main__":
    osqtest.run_tests([test_units_against_busctl, test_no_bus])
