#!/usr/bin/python3
"""disk_encryption against `cryptsetup status` for every block device
(/sys/block and partitions, what block_devices lists): a device is
encrypted exactly when cryptsetup calls it active. The test does not make
a LUKS mapping (the machines it runs on may lack device-mapper), so on
such a machine it checks the "not encrypted" rows only. The name
constraint answers for that device alone."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402
from tablelib import osqi_json  # noqa: E402


def devices():
    out = []
    for disk in sorted(os.listdir("/sys/block")):
        out.append("/dev/" + disk)
        base = os.path.join("/sys/block", disk)
        out += ["/dev/" + p for p in sorted(os.listdir(base))
                if p.startswith(disk) and
                os.path.exists(os.path.join(base, p, "partition"))]
    return out


def cryptsetup_active(name):
    p = subprocess.run(["cryptsetup", "status", name], capture_output=True,
                       text=True, timeout=60)
    return p.returncode == 0


def test_against_cryptsetup():
    if os.geteuid() != 0:
        rows, _ = osqi_json("select * from disk_encryption")
        eq(rows, [], "not root: no rows, as in osquery")
        return
    rows, err = osqi_json("select name, encrypted, encryption_status, type "
                          "from disk_encryption")
    eq(sorted(r["name"] for r in rows), sorted(devices()),
       "every block device")
    for r in rows:
        active = cryptsetup_active(r["name"])
        eq((r["encrypted"], r["encryption_status"]),
           ("1", "encrypted") if active else ("0", "not encrypted"),
           "status of " + r["name"])
        if not active:
            eq(r["type"], "", "no type for " + r["name"])
    check("device-mapper" not in err, "libcryptsetup's messages not on "
          "stderr: %r" % err)

    first = devices()[0]
    rows, _ = osqi_json("select name, encrypted from disk_encryption "
                        "where name = '%s'" % first)
    eq(rows, [{"name": first,
               "encrypted": "1" if cryptsetup_active(first) else "0"}],
       "name pushed down")
    rows, _ = osqi_json("select name, encrypted, encryption_status from "
                        "disk_encryption where name = '/dev/osq-absent'")
    eq(rows, [{"name": "/dev/osq-absent", "encrypted": "0",
               "encryption_status": "not encrypted"}], "unknown device")


if __name__ == "__main__":
    osqtest.run_tests([test_against_cryptsetup])
