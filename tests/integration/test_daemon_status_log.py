#!/usr/bin/python3
"""osqd's status log levels: --logger_min_status (osquery's name for glog's
minloglevel) drops lower severities from the osqueryd.INFO file and stderr
alike; --alsologtostderr copies every kept line to stderr whatever
--logger_min_stderr says; the glog names --minloglevel, --stderrthreshold
and --logtostderr are overridden at start, as osquery does."""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402

FAILING = "Error executing scheduled query bad"
STARTED = "osqd started"


def run_daemon(name, *flags):
    """Starts osqd with a query that fails (an ERROR line after the INFO
    line 'osqd started'), waits for the ERROR line in osqueryd.INFO and
    returns (INFO file text, stderr text)."""
    d = osqtest.workdir("osqd-status-" + name + "-")
    conf = os.path.join(d, "osq.conf")
    with open(conf, "w") as f:
        json.dump({"schedule": {"bad": {"query": "select * from no_such",
                                        "interval": 1}}}, f)
    logs = os.path.join(d, "log")
    errpath = os.path.join(d, "stderr")
    cmd = [osqtest.binary("osqd"), "--config_path=" + conf,
           "--database_path=" + os.path.join(d, "db", "osq.db"),
           "--logger_path=" + logs, "--pidfile=" + os.path.join(d, "pid"),
           "--extensions_socket=" + os.path.join(d, "osq.em"),
           "--flagfile=/dev/null", "--disable_watchdog"] + list(flags)
    with open(errpath, "w") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        status = os.path.join(logs, "osqueryd.INFO")
        try:
            wait_until(lambda: os.path.exists(status) and
                       FAILING in open(status).read(), osqtest.WAIT,
                       "the failing query's error in osqueryd.INFO", p)
        finally:
            p.send_signal(signal.SIGTERM)
            eq(p.wait(60), 0, "exit code on SIGTERM")
    with open(status) as f, open(errpath) as e:
        return f.read(), e.read()


def test_min_status_and_alsologtostderr():
    info, err = run_daemon("min", "--logger_min_status=1",
                           "--logger_min_stderr=3", "--alsologtostderr")
    check(STARTED not in info, "INFO line dropped from the file: " + info)
    check(STARTED not in err, "INFO line dropped from stderr: " + err)
    check(FAILING in err, "ERROR copied to stderr despite threshold 3: "
          + err)


def test_glog_names_are_overridden():
    info, err = run_daemon("glog", "--minloglevel=2", "--stderrthreshold=3",
                           "--logtostderr", "--log_dir=/nonexistent",
                           "--max_log_size=1", "--logbufsecs=9",
                           "--stop_logging_if_full_disk")
    check(STARTED in info, "INFO line still in the file: " + info)
    check(STARTED in err, "INFO line still on stderr: " + err)
    check("not implemented by osq" not in err, "no warning: " + err)


if __name__ == "__main__":
    osqtest.run_tests([test_min_status_and_alsologtostderr,
                       test_glog_names_are_overridden])
