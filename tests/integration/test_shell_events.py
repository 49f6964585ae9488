"""osqi reads --config_path at start and hands its file_paths to the
event publishers: with --disable_events=false file_events holds the
changes made since osqi started (statements on stdin, as a script drives
it); with osqi's default --disable_events=true the same config starts no
publisher; without a config file there is nothing to watch."""
import hashlib
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402

EVENTS = ["--disable_events=false", "--enable_file_events=true"]


def tree():
    d = osqtest.workdir("sh-evt-")
    w = os.path.join(d, "w")
    os.makedirs(os.path.join(w, "skip"))
    conf = os.path.join(d, "c.json")
    with open(conf, "w") as f:
        json.dump({"file_paths": {"mine": [w + "/%%"]},
                   "exclude_paths": {"mine": [w + "/skip/%%"]}}, f)
    return d, w, conf


def inotify_active(sh):
    return sh.sql("select active, subscriptions from osquery_events where "
                  "name = 'inotify'")[0]


def test_osqi_file_events_since_start():
    d, w, conf = tree()
    with osqtest.Osqi(args=EVENTS + ["--config_path=" + conf]) as sh:
        wait_until(lambda: inotify_active(sh)["active"] == "1", 30,
                   "the inotify publisher", sh.proc)
        eq(inotify_active(sh)["subscriptions"], "1", "one file_paths pattern")
        f = os.path.join(w, "a.txt")
        with open(f, "wb") as fh:
            fh.write(b"osqi saw this\n")
        with open(os.path.join(w, "skip", "x"), "w") as fh:
            fh.write("x")
        os.mkdir(os.path.join(w, "sub"))
        g = os.path.join(w, "sub", "b.txt")
        # the new directory is watched once its CREATED is read
        wait_until(lambda: sh.sql("select 1 from file_events where "
                                  "target_path = '%s'" %
                                  os.path.join(w, "sub")), 30, "sub CREATED",
                   sh.proc)
        with open(g, "wb") as fh:
            fh.write(b"b")
        os.unlink(f)

        def rows():
            return sh.sql("select target_path, category, action, md5, hashed, "
                          "size from file_events order by eid")
        def both():
            acts = {(r["target_path"], r["action"]) for r in rows()}
            return (f, "DELETED") in acts and (g, "UPDATED") in acts
        wait_until(both, 30, "the events", sh.proc)
        got = rows()
        acts = [(r["target_path"], r["action"]) for r in got]
        check((f, "CREATED") in acts, acts)
        check(acts.index((f, "UPDATED")) < acts.index((f, "DELETED")), acts)
        upd = [r for r in got if r["target_path"] == g and
               r["action"] == "UPDATED"][0]
        eq(upd["md5"], hashlib.md5(b"b").hexdigest(), "md5")
        eq(upd["hashed"], "1", "hashed")
        eq(upd["size"], "1", "size")
        eq(upd["category"], "mine", "category from the config")
        check(not [a for a in acts if "/skip/" in a[0]],
              "exclude_paths from the config: %r" % acts)
    shutil.rmtree(d, ignore_errors=True)


def test_osqi_default_events_off():
    """osqi's default --disable_events=true: the config is read (its
    tables and yara rules) but no publisher starts."""
    d, w, conf = tree()
    with osqtest.Osqi(args=["--enable_file_events=true",
                            "--config_path=" + conf]) as sh:
        eq(inotify_active(sh), {"active": "0", "subscriptions": "0"},
           "no publisher with events off")
    shutil.rmtree(d, ignore_errors=True)


def test_osqi_without_config():
    d = osqtest.workdir("sh-evt-none-")
    with osqtest.Osqi(args=EVENTS + ["--config_path=" +
                                     os.path.join(d, "none.json")]) as sh:
        eq(inotify_active(sh), {"active": "0", "subscriptions": "0"},
           "nothing to watch")
        eq(sh.sql("select count(*) as n from file_events"), [{"n": "0"}],
           "no file_events")
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    osqtest.run_tests([test_osqi_file_events_since_start,
                       test_osqi_default_events_off,
                       test_osqi_without_config])
