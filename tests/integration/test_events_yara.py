"""yara_events from real inotify events (run as root): files renamed into
and written under a watched tree are scanned with the signature groups the
config's yara.file_paths names for their category; matches, count,
strings and tags are checked against the yara CLI on the same rules; a
file no rule matches, and a file of a category yara does not scan, give
no row (as osquery); a reload (SIGHUP) changes the rules and categories
without a restart. Also in osqi with --config_path."""
import json
import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402
from test_daemon_run import Daemon  # noqa: E402
from test_events import query, stop_clean  # noqa: E402
from test_table_yara import yara_cli  # noqa: E402

RULES1 = r"""
rule hello_rule : greeting test {
  strings: $a = "hello" $b = "world"
  condition: $a or $b
}
rule never_rule { strings: $x = "zzzqqqxx" condition: $x }
rule tail_rule : misc { strings: $t = "THE-END" condition: $t }
"""
RULES2 = r"""
rule fresh_rule : fresh { strings: $n = "NEWSTUFF" condition: $n }
"""
MATCHING = b"hello world, hello THE-END\n"
CLEAN = b"nothing to see here\n"
COLS = "target_path, category, action, matches, count, strings, tags"


def layout(d):
    """Rule files, the watched trees and a staging directory outside
    them (a file renamed in arrives whole: one MOVED_TO)."""
    paths = {k: os.path.join(d, k) for k in ("scan", "plain", "stage")}
    for p in paths.values():
        os.makedirs(p)
    os.makedirs(os.path.join(paths["scan"], "sub"))
    for name, text in (("r1.yar", RULES1), ("r2.yar", RULES2)):
        paths[name] = os.path.join(d, name)
        with open(paths[name], "w") as f:
            f.write(text)
    return paths


def config(p, second=False):
    """file_paths: scan/%% and plain/%; yara scans category scan with
    group g1 (r1), or after the reload category plain with g2 (r2)."""
    cfg = {"file_paths": {"scan": [p["scan"] + "/%%"],
                          "plain": [p["plain"] + "/%"]}}
    if second:
        cfg["yara"] = {"signatures": {"g2": [p["r2.yar"]]},
                       "file_paths": {"plain": ["g2"]}}
    else:
        cfg["yara"] = {"signatures": {"g1": [p["r1.yar"]],
                                      "missing": ["/nonexistent/x.yar"]},
                       "file_paths": {"scan": ["g1", "missing"]}}
    return cfg


def move_in(p, data, dest):
    tmp = os.path.join(p["stage"], os.path.basename(dest))
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, dest)


def settle(run, p, name):
    """Create a marker in the scanned tree and wait for its file_events
    row: the publisher handles events in order, so every earlier event has
    been scanned and stored by then."""
    m = os.path.join(p["scan"], name)
    open(m, "w").close()
    wait_until(lambda: run("select 1 from file_events where target_path = "
                           "'%s'" % m), 30, "marker " + name)


def expected(rules, path, category, action):
    want = yara_cli(rules, path)
    want.update(target_path=path, category=category, action=action)
    return want


def check_first_config(run, p):
    """The scenarios of the first config; returns the rows."""
    a = os.path.join(p["scan"], "sub", "a.txt")      # renamed in: MOVED_TO
    b = os.path.join(p["scan"], "b.txt")             # written: UPDATED
    c = os.path.join(p["scan"], "c.txt")             # no rule matches
    e = os.path.join(p["plain"], "e.txt")            # not a yara category
    move_in(p, MATCHING, a)
    move_in(p, CLEAN, c)
    move_in(p, MATCHING, e)
    open(b, "wb").close()
    settle(run, p, "m1")  # b's CREATED and empty UPDATED are scanned
    with open(b, "wb") as f:
        f.write(b"world only\n")
    settle(run, p, "m2")
    rows = run("select %s from yara_events order by eid" % COLS)
    eq(rows, [expected(p["r1.yar"], a, "scan", "MOVED_TO"),
              expected(p["r1.yar"], b, "scan", "UPDATED")], "yara_events")
    eq(rows[0]["matches"], "hello_rule,tail_rule", "two rules match a")
    eq(rows[0]["tags"], "greeting,test,misc", "tags of both rules")
    eq(rows[0]["count"], "2", "count")
    check(rows[0]["strings"].startswith("$a:0,"), rows[0]["strings"])
    eq(rows[1]["matches"], "hello_rule", "b")
    eq(rows[1]["strings"], "$b:0", "b's string and offset")
    # the scanned files did give file_events rows
    fe = run("select target_path, action from file_events where target_path "
             "in ('%s', '%s')" % (c, e))
    check({"target_path": c, "action": "MOVED_TO"} in fe, fe)
    check({"target_path": e, "action": "MOVED_TO"} in fe, fe)
    cols = run("select time, eid, transaction_id from yara_events")
    check(all(len(r["eid"]) == 10 and int(r["time"]) > 0 and
              r.get("transaction_id", "") in ("", None) for r in cols), cols)
    return rows


def test_yara_events_and_reload():
    d = osqtest.workdir("evt-yara-")
    p = layout(d)
    dm = Daemon(d, config(p), args=["--enable_file_events=true"]).start()
    try:
        def run(sql):
            return query(dm, sql)
        wait_until(lambda: run("select active from osquery_events where name "
                               "= 'yara_events'") == [{"active": "1"}], 30,
                   "the yara_events subscriber", dm.proc)
        first = check_first_config(run, p)

        # the reload: category plain is now scanned, with other rules
        with open(dm.conf, "w") as f:
            json.dump(config(p, second=True), f)
        dm.proc.send_signal(signal.SIGHUP)
        n = [0]

        def fresh_row():
            n[0] += 1
            f = os.path.join(p["plain"], "new%d.txt" % n[0])
            move_in(p, b"some NEWSTUFF\n", f)
            settle(run, p, "r%d" % n[0])
            return run("select %s from yara_events where target_path = '%s'"
                       % (COLS, f))
        got = wait_until(fresh_row, 30, "a yara_events row after the reload",
                         dm.proc)
        eq(got, [expected(p["r2.yar"], got[0]["target_path"], "plain",
                          "MOVED_TO")], "row under the new config")
        eq(got[0]["tags"], "fresh", "new rule's tag")
        # the old category is no longer scanned
        late = os.path.join(p["scan"], "late.txt")
        move_in(p, MATCHING, late)
        settle(run, p, "m3")
        eq(run("select 1 from yara_events where target_path = '%s'" % late),
           [], "category scan is no longer scanned")
        eq(run("select %s from yara_events where category = 'scan' order by "
               "eid" % COLS), first, "stored rows stay")
        eq(dm.proc.poll(), None, "osqd still running")
    finally:
        eq(stop_clean(dm), 0, "osqd exit code")
        shutil.rmtree(d, ignore_errors=True)


def test_osqi_yara_events():
    d = osqtest.workdir("evt-yara-osqi-")
    p = layout(d)
    conf = os.path.join(d, "c.json")
    with open(conf, "w") as f:
        json.dump(config(p), f)
    args = ["--disable_events=false", "--enable_file_events=true",
            "--config_path=" + conf]
    with osqtest.Osqi(args=args) as sh:
        wait_until(lambda: sh.sql("select active from osquery_events where "
                                  "name = 'inotify'") == [{"active": "1"}],
                   30, "the inotify publisher", sh.proc)
        check_first_config(sh.sql, p)
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    if shutil.which("yara") is None:
        print("SKIP: the yara CLI (Debian package yara) is missing")
        sys.exit(0)
    osqtest.run_tests([test_yara_events_and_reload, test_osqi_yara_events])
