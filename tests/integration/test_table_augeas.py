#!/usr/bin/python3
"""augeas (view configurations) against augtool on a fixture root
(AUGEAS_ROOT, which both honour) with the same lenses: a file by path,
nodes by expression, everything under /files, and a bad expression."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402
from tablelib import osqi_json  # noqa: E402

LENSES = "/usr/share/augeas/lenses/dist"


def augtool(root, *cmd):
    """augtool's `match` output as {node: value}."""
    p = subprocess.run(["augtool", "-r", root, "-S", "-I", LENSES, "-L"],
                       input="load\n" + "\n".join(cmd) + "\n",
                       capture_output=True, text=True, check=True, timeout=120)
    out = {}
    for line in p.stdout.splitlines():
        if line.startswith("/"):
            node, _, value = line.partition(" = ")
            out[node] = value.strip('"') if value != "(none)" else ""
    return out


def make_root(d):
    os.makedirs(os.path.join(d, "etc", "ssh"))
    with open(os.path.join(d, "etc", "hosts"), "w") as f:
        f.write("127.0.0.1 localhost\n10.1.2.3 db.example db\n")
    with open(os.path.join(d, "etc", "ssh", "sshd_config"), "w") as f:
        f.write("Port 2222\nPermitRootLogin no\n")


def test_against_augtool():
    d = osqtest.workdir()
    make_root(d)
    env = dict(os.environ, AUGEAS_ROOT=d)
    args = ["--augeas_lenses=" + LENSES]

    rows, _ = osqi_json("select node, value, label, path from augeas "
                        "where path = '/etc/hosts'", env=env, args=args)
    want = augtool(d, "match /files/etc/hosts", "match /files/etc/hosts//*")
    eq({r["node"]: r["value"] for r in rows}, want, "path = /etc/hosts")
    eq({r["path"] for r in rows}, {"/etc/hosts"}, "path column")
    by = {r["node"]: r for r in rows}
    eq(by["/files/etc/hosts/2/canonical"]["value"], "db.example", "value")
    eq(by["/files/etc/hosts/2/canonical"]["label"], "canonical", "label")

    rows, _ = osqi_json("select node, value from configurations where node = "
                        "'/files/etc/ssh/sshd_config/Port'", env=env,
                        args=args)
    eq(rows, [{"node": "/files/etc/ssh/sshd_config/Port", "value": "2222"}],
       "node expression through the alias")

    rows, _ = osqi_json("select node, value from augeas", env=env, args=args)
    eq({r["node"]: r["value"] for r in rows}, augtool(d, "match /files//*"),
       "every node")

    rows, err = osqi_json("select * from augeas where node = '/files/[['",
                          env=env, args=args)
    eq(rows, [], "bad expression: no rows")
    check("augeas" in err, "reason logged: %r" % err)


if __name__ == "__main__":
    osqtest.run_tests([test_against_augtool])
