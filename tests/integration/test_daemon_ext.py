"""osqd with a config plugin and a logger plugin served by an autoloaded
extension (a Python one built on osqtest.ext; the C examples when built):
the config comes from the extension, result lines reach the extension's
logger as {"string": line} with osquery's exact layout, status lines as
{"status": "true", "log": [...]}."""
import json
import os
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402

EXT = r'''#!/usr/bin/python3
import json, os, sys
sys.path.insert(0, os.environ["OSQT_PYTHONPATH"])
from osqtest import ext

class Conf(ext.Config):
    name = "pyconf"
    def gen_config(self):
        return {"pyconf": os.environ["OSQT_CONFIG"]}

class Log(ext.Logger):
    name = "pylog"
    def log(self, request):
        with open(os.environ["OSQT_LOG"], "a") as f:
            f.write(json.dumps(request) + "\n")

ext.main("pyext", [Conf(), Log()], server="threaded")
'''

EVENT_KEYS = ["name", "hostIdentifier", "calendarTime", "unixTime", "epoch",
              "counter", "numerics", "columns", "action"]


def received(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(x) for x in f.read().splitlines() if x]


def start(d, args, env, watchdog=False):
    cmd = [osqtest.binary("osqd"), "--flagfile=/dev/null",
           "--database_path=" + os.path.join(d, "osq.db"),
           "--logger_path=" + os.path.join(d, "log"),
           "--pidfile=" + os.path.join(d, "osqd.pid"),
           "--extensions_socket=" + os.path.join(d, "osq.em"),
           "--extensions_autoload=" + os.path.join(d, "ext.load"),
           "--extensions_timeout=60", "--extensions_interval=1",
           "--allow_unsafe"] + args
    if not watchdog:
        cmd.append("--disable_watchdog")
    e = dict(os.environ)
    e.update(env)
    errf = open(os.path.join(d, "stderr"), "w")
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf,
                            env=e), errf


def stop(p):
    p.send_signal(signal.SIGTERM)
    return p.wait(60)


def python_ext(d):
    path = os.path.join(d, "pyext.ext")
    with open(path, "w") as f:
        f.write(EXT)
    os.chmod(path, 0o755)
    with open(os.path.join(d, "ext.load"), "w") as f:
        f.write(path + "\n")
    return {"OSQT_PYTHONPATH": os.path.dirname(osqtest.HERE),
            "OSQTEST_GEN": osqtest.gen_dir(),
            "OSQT_LOG": os.path.join(d, "pylog.jsonl"),
            "OSQT_CONFIG": json.dumps({"schedule": {"q": {
                "query": "select 42 as answer", "interval": 1}}})}


def test_python_config_and_logger():
    d = osqtest.workdir("osqd-ext-")
    env = python_ext(d)
    p, errf = start(d, ["--config_plugin=pyconf",
                        "--logger_plugin=pylog,filesystem"], env)
    try:
        got = wait_until(
            lambda: [r for r in received(env["OSQT_LOG"]) if "string" in r],
            osqtest.WAIT, "a result line at the extension logger", p)
        line = json.loads(got[0]["string"])
        eq(list(line.keys()), EVENT_KEYS, "keys")
        eq(line["name"], "q", "name")
        eq(line["columns"], {"answer": "42"}, "columns")
        eq(got[0].get("category"), "event", "category")
        # the filesystem logger got the same line
        res = os.path.join(d, "log", "osqueryd.results.log")
        wait_until(lambda: os.path.exists(res) and open(res).read(), osqtest.WAIT,
                   "the results file", p)
        eq(json.loads(open(res).read().splitlines()[0])["columns"],
           {"answer": "42"}, "filesystem copy")
        # python loggers answer "features" with code 1 = wants status logs
        def status_records():
            out = []
            for r in received(env["OSQT_LOG"]):
                if "status" in r:
                    eq(r["status"], "true", "status flag")
                    out += json.loads(r["log"])
            return out
        recs = wait_until(
            lambda: [x for x in status_records()
                     if x["m"].startswith("osqd started")],
            osqtest.WAIT, "the start-up status line at the extension logger", p)
        eq(list(recs[0].keys()), list("sfimhcu"), "status record keys")
        eq(recs[0]["s"], 0, "severity INFO")
        eq(recs[0]["f"], "worker.c", "file")
    finally:
        rc = stop(p)
        errf.close()
    eq(rc, 0, "exit code")


def children(pid):
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def test_watcher_restarts_with_extension_plugins():
    """Under the watcher the extension is the watcher's child; a killed
    worker is replaced and gets its config and logger from the extension
    again (it reconnects to the new worker's manager)."""
    d = osqtest.workdir("osqd-ext-")
    env = python_ext(d)
    p, errf = start(d, ["--config_plugin=pyconf", "--logger_plugin=pylog",
                        "--watchdog_level=-1"], env, watchdog=True)
    try:
        def results():
            return [r for r in received(env["OSQT_LOG"]) if "string" in r]
        wait_until(results, osqtest.WAIT, "a result line at the extension logger", p)
        kids = children(p.pid)
        eq(len(kids), 2, "worker and extension are the watcher's children")
        worker = [k for k in kids
                  if "osqd" in open("/proc/%d/comm" % k).read()][0]
        os.kill(worker, signal.SIGKILL)
        inits = lambda: [r for r in received(env["OSQT_LOG"]) if "init" in r]
        wait_until(lambda: len(inits()) >= 2, 60,
                   "the new worker to start the extension logger", p)
        def started():
            n = 0
            for r in received(env["OSQT_LOG"]):
                if "status" in r:
                    n += sum(1 for x in json.loads(r["log"])
                             if x["m"].startswith("osqd started"))
            return n >= 2
        wait_until(started, osqtest.WAIT, "the new worker's status lines", p)
        eq(len(results()), 1, "the stored results were not logged again")
    finally:
        rc = stop(p)
        errf.close()
    eq(rc, 0, "exit code")
    for k in kids:
        check(not os.path.exists("/proc/%d" % k), "child %d is gone" % k)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] not in "ZX"


def test_stopped_extension_restarted_under_watcher():
    """A SIGSTOPped extension under osqd's watcher (the manager runs in the
    worker, the loader in the watcher) is killed and restarted, and its
    extension registers again."""
    d = osqtest.workdir("osqd-ext-")
    env = python_ext(d)
    p, errf = start(d, ["--config_plugin=pyconf", "--logger_plugin=pylog",
                        "--watchdog_level=-1"], env, watchdog=True)
    try:
        def results():
            return [r for r in received(env["OSQT_LOG"]) if "string" in r]
        wait_until(results, 40, "a result line at the extension logger", p)

        def extension_pids():
            return [k for k in children(p.pid)
                    if "osqd" not in open("/proc/%d/comm" % k).read()]
        ext = wait_until(extension_pids, 20, "the extension process", p)
        eq(len(ext), 1, "one extension process")
        old = ext[0]
        with osqtest.Client(os.path.join(d, "osq.em")) as c:
            first = list(c.extensions().keys())
        osqtest.stop_process(old)
        try:
            wait_until(lambda: not alive(old), 60,
                       "the stopped extension to be killed", p)
            new = wait_until(lambda: [k for k in extension_pids()
                                      if k != old], 60,
                             "a restarted extension", p)
            check(new[0] != old, "a new process")

            def registered_anew():
                with osqtest.Client(os.path.join(d, "osq.em")) as c:
                    return [u for u, e in c.extensions().items()
                            if e.name == "pyext" and u not in first]
            wait_until(registered_anew, 60,
                       "the restarted extension to register again", p)
        finally:
            try:
                os.kill(old, signal.SIGCONT)
            except ProcessLookupError:
                pass
    finally:
        rc = stop(p)
        errf.close()
    eq(rc, 0, "exit code")
    with open(os.path.join(d, "stderr")) as f:
        err = f.read()
    check("hung" in err or "so the watcher restarts it" in err, err[-3000:])


def test_extension_config_plugin_missing():
    d = osqtest.workdir("osqd-ext-")
    env = python_ext(d)
    p, errf = start(d, ["--config_plugin=notthere",
                        "--extensions_timeout=2"], env)
    rc = p.wait(60)
    errf.close()
    eq(rc, 78, "exit code")
    err = open(os.path.join(d, "stderr")).read()
    check("Cannot activate notthere config plugin: Unknown registry plugin: "
          "notthere" in err, err)


def test_c_examples():
    """The sdk helper's example config and logger extensions (C, built
    with libosqext), autoloaded by osqd."""
    conf_ext = os.path.abspath(
        os.path.join(osqtest.BUILD, "examples", "config_source.ext"))
    log_ext = os.path.abspath(
        os.path.join(osqtest.BUILD, "examples", "file_logger.ext"))
    if not (os.path.exists(conf_ext) and os.path.exists(log_ext)):
        print("SKIP test_c_examples: examples not built")
        return
    d = osqtest.workdir("osqd-ext-")
    with open(os.path.join(d, "ext.load"), "w") as f:
        f.write(conf_ext + "\n" + log_ext + "\n")
    lines = os.path.join(d, "lines.jsonl")
    env = {"OSQ_CONFIG_JSON": json.dumps({"schedule": {"c": {
               "query": "select 'ok' as c_example", "interval": 1}}}),
           "OSQ_LOGGER_FILE": lines}
    p, errf = start(d, ["--config_plugin=config_source",
                        "--logger_plugin=file_logger"], env)
    try:
        def results():
            if not os.path.exists(lines):
                return []
            out = []
            for x in open(lines).read().splitlines():
                r = json.loads(x)
                if r.get("kind") == "result":
                    out.append(r["line"])
            return out
        got = wait_until(results, osqtest.WAIT, "a result line at file_logger.ext", p)
        eq(list(got[0].keys()), EVENT_KEYS, "keys")
        eq(got[0]["name"], "c", "name")
        eq(got[0]["columns"], {"c_example": "ok"}, "columns")
    finally:
        rc = stop(p)
        errf.close()
    eq(rc, 0, "exit code")


if __name__ == "__main__":
    osqtest.run_tests([test_python_config_and_logger,
                       test_stopped_extension_restarted_under_watcher,
                       test_watcher_restarts_with_extension_plugins,
                       test_extension_config_plugin_missing, test_c_examples])
