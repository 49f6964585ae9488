#!/usr/bin/python3
"""Every osquery flag is known: an osquery command line, flagfile or
config "options" naming flags osq does not implement starts osqi and osqd
with one warning naming them, and osquery_flags shows them (its hidden
osq_implemented column says which work)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402

UNIMPLEMENTED = ["--aws_firehose_stream=fleet.example:8080",
                 "--aws_kinesis_period",
                 "7", "--aws_debug", "--nodisable_endpointsecurity",
                 "--aws_region=eu-west-1", "--ignore_registry_exceptions"]
NAMES = ["aws_debug", "aws_firehose_stream", "aws_kinesis_period",
         "aws_region", "disable_endpointsecurity",
         "ignore_registry_exceptions"]
OSQUERY_COLUMNS = ["name", "type", "description", "default_value", "value",
                   "shell_only"]


def osqi(d, *args):
    env = dict(os.environ, HOME=d)
    p = subprocess.run([osqtest.binary("osqi"), "--flagfile=/dev/null",
                        "--extensions_socket=" + os.path.join(d, "osqi.em")]
                       + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def warnings(err):
    return [l for l in err.splitlines() if "not implemented by osq" in l]


def in_list(names):
    return "(" + ",".join("'%s'" % n for n in names) + ")"


def test_osqi_command_line():
    d = osqtest.workdir("osqi-flags-")
    rc, out, err = osqi(d, *UNIMPLEMENTED, "--json",
                        "select name, value, osq_implemented from "
                        "osquery_flags where name in " +
                        in_list(NAMES + ["verbose"]) + " order by name")
    eq(rc, 0, err)
    w = warnings(err)
    eq(len(w), 1, err)
    check(w[0].endswith(": " + ", ".join("--" + n for n in NAMES)), w[0])
    rows = {r["name"]: r for r in json.loads(out)}
    eq(rows["aws_firehose_stream"]["value"], "fleet.example:8080",
       "value kept")
    eq(rows["aws_kinesis_period"]["value"], "7", "value kept")
    eq(rows["disable_endpointsecurity"]["value"], "false", "negated bool")
    for n in NAMES:
        eq(rows[n]["osq_implemented"], "0", n)
    eq(rows["verbose"]["osq_implemented"], "1", "verbose works")


def test_osquery_flags_columns():
    d = osqtest.workdir("osqi-flags-")
    rc, out, err = osqi(d, "--csv", "select * from osquery_flags")
    eq(rc, 0, err)
    lines = out.splitlines()
    eq(lines[0].split("|"), OSQUERY_COLUMNS, "osquery's columns, in order")
    names = {l.split("|")[0] for l in lines[1:]}
    check(len(names) >= 240, "%d flags" % len(names))
    for n in NAMES + ["carver_block_size", "logger_kafka_topic",
                      "audit_allow_sockets", "rocksdb_write_buffer"]:
        check(n in names, n)
    check(not any(len(n) <= 2 for n in names), "no one- or two-letter flags")
    eq(warnings(err), [], "nothing set, nothing to warn about")


def test_osqi_flagfile():
    d = osqtest.workdir("osqi-flags-")
    ff = os.path.join(d, "osquery.flags")
    with open(ff, "w") as f:
        f.write("--aws_firehose_stream=fleet.example\n"
                "--aws_kinesis_stream=x\n"
                "--aws_proxy_port=4096\n--header=false\n")
    env = dict(os.environ, HOME=d)
    p = subprocess.run([osqtest.binary("osqi"), "--flagfile=" + ff,
                        "--extensions_socket=" + os.path.join(d, "o.em"),
                        "--list", "select value from osquery_flags where name = "
                        "'flagfile'"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=60)
    err = p.stderr.decode()
    eq(p.returncode, 0, err)
    w = warnings(err)
    eq(len(w), 1, err)
    check(w[0].endswith(": --aws_firehose_stream, --aws_kinesis_stream, "
                        "--aws_proxy_port"), w[0])
    eq(p.stdout.decode().strip(), ff, "flagfile recorded")
    # .show names the flagfile read (it printed an empty line before)
    p = subprocess.run([osqtest.binary("osqi"), "--flagfile=" + ff,
                        "--extensions_socket=" + os.path.join(d, "o.em")],
                       input=b".show\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=60)
    eq(p.returncode, 0, p.stderr.decode())
    check("Flagfile: " + ff + "\n" in p.stdout.decode(), p.stdout.decode())


def test_osqi_unimplemented_value_is_checked():
    d = osqtest.workdir("osqi-flags-")
    rc, out, err = osqi(d, "--carver_block_size=soon", "select 1")
    eq(rc, 1, err)
    check("illegal value 'soon' specified for uint32 flag "
          "'carver_block_size'" in err, err)


def test_osqd_flags_and_options():
    d = osqtest.workdir("osqd-flags-")
    conf = os.path.join(d, "osq.conf")
    logs = os.path.join(d, "log")
    with open(conf, "w") as f:
        json.dump({"options": {"aws_kinesis_period": 9,
                               "aws_kinesis_stream": "s"},
                   "schedule": {"seven": {"query": "select 7 as seven",
                                          "interval": 1,
                                          "snapshot": True}}}, f)
    errpath = os.path.join(d, "stderr")
    with open(errpath, "w") as err:
        proc = subprocess.Popen(
            [osqtest.binary("osqd"), "--config_path=" + conf,
             "--database_path=" + os.path.join(d, "db", "osq.db"),
             "--logger_path=" + logs,
             "--pidfile=" + os.path.join(d, "osqd.pid"),
             "--extensions_socket=" + os.path.join(d, "osq.em"),
             "--extensions_autoload=" + os.path.join(d, "ext.load"),
             "--flagfile=/dev/null", "--disable_watchdog"] + UNIMPLEMENTED,
            stdout=subprocess.DEVNULL, stderr=err)
    try:
        snap = os.path.join(logs, "osqueryd.snapshots.log")
        wait_until(lambda: os.path.exists(snap) and os.path.getsize(snap) > 0,
                   60, "a snapshot line", proc)
        with open(errpath) as f:
            text = f.read()
        w = warnings(text)
        eq(len(w), 2, text)
        check(w[0].endswith(": " + ", ".join("--" + n for n in NAMES)), w[0])
        check(w[1].endswith(": --aws_kinesis_stream"), w[1])
        # aws_kinesis_period, already named, is not named again
    finally:
        proc.terminate()
        eq(proc.wait(30), 0, "exit code on SIGTERM")


if __name__ == "__main__":
    osqtest.run_tests([test_osqi_command_line, test_osquery_flags_columns,
                       test_osqi_flagfile,
                       test_osqi_unimplemented_value_is_checked,
                       test_osqd_flags_and_options])
