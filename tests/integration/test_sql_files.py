#!/usr/bin/python3
"""SQL and file-table behaviour as osquery users see it through osqi:
required columns, bounded file search, automatic table construction,
os_version and PRAGMA table_info."""
import json
import os
import sqlite3
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


def test_os_version_parts_are_numbers():
    rc, rows, err = osqi("select major, minor, patch, typeof(minor) as tm, "
                         "typeof(patch) as tp from os_version")
    eq(rc, 0, err)
    eq(len(rows), 1, "one row")
    for k in ("major", "minor", "patch"):
        check(rows[0][k].isdigit(), "%s is a number: %r" % (k, rows[0]))
    eq((rows[0]["tm"], rows[0]["tp"]), ("integer", "integer"), "types")


def key_of(table):
    rc, rows, err = osqi("select name, \"notnull\" as nn, pk from "
                         "pragma_table_xinfo('%s') where pk > 0 or "
                         "\"notnull\" = 1 order by pk" % table)
    eq(rc, 0, err)
    return [(r["name"], r["nn"]) for r in rows]


def test_table_info_key_columns():
    # INDEX and ADDITIONAL columns form the key of a WITHOUT ROWID table
    eq(key_of("file"), [("path", "1"), ("pid_with_namespace", "1")], "file")
    eq(key_of("known_hosts"), [("uid", "1")], "known_hosts")
    # another platform's index column stays in the key, hidden
    eq(key_of("groups"), [("gid", "1"), ("group_sid", "1"),
                          ("pid_with_namespace", "1")], "groups")
    # only ADDITIONAL columns: every column is in the key
    key = key_of("os_version")
    eq(len(key), 15, "os_version key: %r" % key)
    check(all(nn == "1" for _, nn in key), "os_version notnull")
    eq(key_of("time"), [], "time has no key")


def fan_tree():
    """Seven real directories, each holding ten symlinks to the next: no
    loop, but 10**k paths through k wildcards."""
    d = osqtest.workdir("osqt-fan-")
    for i in range(7):
        os.mkdir(os.path.join(d, "L%d" % i))
    for i in range(6):
        for j in range(10):
            os.symlink(os.path.join(d, "L%d" % (i + 1)),
                       os.path.join(d, "L%d" % i, "s%d" % j))
    return d


def wide_query(d):
    return ("select count(*) as n from file where path like '%s/L0/"
            "%%/%%/%%/%%/%%/%%/nomatch_zz'" % d)


def test_abandoned_query_stops_search():
    """A client that sends query() and hangs up does not leave the search
    running: the walk notices and says so."""
    d = fan_tree()
    with osqtest.Osqi() as sh:
        c = osqtest.Client(sh.socket)
        c.send_query(wide_query(d))
        c.close()
        # the walk notices, or the bridge before the scan starts
        sh.err.wait("(search stopped because|Table file not scanned:) the "
                    "query was interrupted or its client went away", 0, 60)
        with osqtest.Client(sh.socket) as c2:
            r = c2.query("select 6*7 as x")
            eq(r.response, [{"x": "42"}], "manager still answers")


def test_file_search_is_bounded():
    """A pattern that matches nothing but would read a million directories
    ends at the directory bound, with a warning naming it; a symlink loop
    is not walked round."""
    d = fan_tree()
    rc, rows, err = osqi(wide_query(d))
    eq((rc, rows), (0, [{"n": "0"}]), err)
    check("search stopped at the limit of 100000 directories read" in err,
          err)
    # two links back to their own directory: 2**30 paths round the loop
    r = osqtest.workdir("osqt-loop-")
    os.mkdir(os.path.join(r, "real"))
    open(os.path.join(r, "real", "x.conf"), "w").close()
    for name in ("a", "b"):
        os.symlink(r, os.path.join(r, name))
    rc, rows, err = osqi("select count(*) as n from file where path like "
                         "'%s/%s/nomatch_zz'" % (r, "/".join(["%"] * 30)))
    eq((rc, rows), (0, [{"n": "0"}]), err)
    check("search stopped" not in err, err)
    rc, rows, err = osqi("select path from file where path like '%s/%%/%%'"
                         % r)
    eq((rc, rows), (0, [{"path": os.path.join(r, "real", "x.conf")}]), err)


def atc_fixture():
    d = osqtest.workdir("osqt-atc-")
    for user, rows in (("u1", [("a", 1), ("b", 2)]), ("u2", [("c", 3)])):
        os.mkdir(os.path.join(d, user))
        db = sqlite3.connect(os.path.join(d, user, "app.db"))
        db.execute("create table kv(k text, v integer)")
        db.executemany("insert into kv values (?, ?)", rows)
        db.commit()
        db.close()
    cfg = os.path.join(d, "osq.conf")
    with open(cfg, "w") as f:
        json.dump({"auto_table_construction": {
            "app_kv": {"query": "select k, v from kv",
                       "path": os.path.join(d, "%", "app.db"),
                       "columns": ["k", "v"], "platform": "linux"},
            "elsewhere": {"query": "select 1 as a", "path": "/x",
                          "columns": ["a"], "platform": "windows"}}}, f)
    want = [{"k": "a", "v": "1", "path": os.path.join(d, "u1", "app.db")},
            {"k": "b", "v": "2", "path": os.path.join(d, "u1", "app.db")},
            {"k": "c", "v": "3", "path": os.path.join(d, "u2", "app.db")}]
    return d, cfg, want


def test_atc_through_osqi():
    d, cfg, want = atc_fixture()
    rc, rows, err = osqi("--config_path=" + cfg,
                         "select k, v, path from app_kv order by k")
    eq((rc, rows), (0, want), err)
    rc, rows, err = osqi("--config_path=" + cfg, "select * from elsewhere")
    eq(rc, 1, "another platform's ATC table is not built: " + err)


def test_atc_through_osqd():
    from test_daemon_run import Daemon
    d, cfg, want = atc_fixture()
    with open(cfg) as f:
        config = json.load(f)
    dm = Daemon(osqtest.workdir("osqd-atc-"), config).start()
    try:
        sock = os.path.join(dm.d, "osq.em")
        osqtest.wait_socket(sock, 30, dm.proc)
        with osqtest.Client(sock) as c:
            r = osqtest.wait_until(
                lambda: (lambda r: r if r.status.code == 0 else None)(
                    c.query("select k, v, path from app_kv order by k")),
                timeout=30, what="the ATC table in osqd")
            eq(r.response, want, "osqd rows")
    finally:
        dm.stop()


TESTS = [test_atc_through_osqi, test_atc_through_osqd, test_abandoned_query_stops_search, test_file_search_is_bounded,
         test_required_column_any_value, test_os_version_parts_are_numbers,
         test_table_info_key_columns]

if __name__ == "__main__":
    osqtest.run_tests(TESTS)
