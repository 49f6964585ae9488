#!/usr/bin/python3
"""SQL and file-table behaviour as osquery users see it through osqi:
required columns, bounded file search, automatic table construction,
os_version and PRAGMA table_info."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402


def osqi(*args, timeout=120):
    """One-shot osqi --json; (rc, rows or None, stderr)."""
    home = osqtest.workdir("osqt-sqlf-home-")
    env = dict(os.environ, HOME=home)
    p = subprocess.run([osqtest.binary("osqi"), "--json"] + list(args),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=timeout)
    out = p.stdout.decode(errors="replace").strip()
    rows = json.loads(out) if out.startswith("[") else None
    return p.returncode, rows, p.stderr.decode(errors="replace")


def test_required_column_any_value():
    # kernel threads have an empty path: the classic join must not fail
    rc, rows, err = osqi("select p.name, h.sha256 from processes p "
                         "join hash h on p.path = h.path")
    eq(rc, 0, "processes join hash: " + err)
    check(rows is not None and len(rows) > 0, "some process has a path")
    for q in ("select * from hash where path = ''",
              "select * from file where directory = ''",
              "select * from hash where path = NULL",
              "select * from file where path in "
              "(select path from hash where path = '')"):
        rc, rows, err = osqi(q)
        eq((rc, rows or []), (0, []), q + ": " + err)
        check("required column" not in err, q + ": " + err)
    rc, rows, err = osqi("select * from hash")
    eq(rc, 19, "no constraint at all still fails")


TESTS = [test_required_column_any_value]

if __name__ == "__main__":
    osqtest.run_tests(TESTS)
