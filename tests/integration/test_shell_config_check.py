#!/usr/bin/python3
"""osqi --config_check and --config_dump, as osqueryi does them: exit 0
on a good config; 1 with "Error reading config: ..." on a missing file or
bad JSON; 78 with "Cannot activate ..." for an unknown config plugin; the
dump prints {"<source>": <raw text>} per source, even of a config that
does not parse."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402


def osqi(d, *args):
    env = dict(os.environ, HOME=d)
    return subprocess.run([osqtest.binary("osqi"), "--flagfile=/dev/null"] +
                          list(args), capture_output=True, text=True,
                          timeout=60, env=env, stdin=subprocess.DEVNULL)


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_good_config():
    d = osqtest.workdir("osqi-cfg-")
    conf = write(d, "good.conf", '{"schedule": {"a": {"query": "select 1", '
                 '"interval": 60}}}')
    r = osqi(d, "--config_path=" + conf, "--config_check")
    eq((r.returncode, r.stdout, r.stderr), (0, "", ""), "config_check")
    r = osqi(d, "--config_path=" + conf, "--config_dump")
    eq(r.returncode, 0, "config_dump: " + r.stderr)
    eq(json.loads(r.stdout), {conf: {"schedule": {"a": {
        "query": "select 1", "interval": 60}}}}, "config_dump")


def test_missing_file():
    d = osqtest.workdir("osqi-cfg-")
    missing = os.path.join(d, "nope.conf")
    for flag in ("--config_check", "--config_dump"):
        r = osqi(d, "--config_path=" + missing, flag)
        eq(r.returncode, 1, flag + " exit code")
        check("Error reading config: config file does not exist: " + missing
              in r.stderr, r.stderr)
        eq(r.stdout, "", flag + " prints nothing")


def test_bad_json():
    d = osqtest.workdir("osqi-cfg-")
    text = '{\n "schedule": {\n  "a": {"query": 1,}\n }\n}'
    conf = write(d, "bad.conf", text)
    r = osqi(d, "--config_path=" + conf, "--config_check")
    eq(r.returncode, 1, "config_check exit code")
    check("Error reading config: Error parsing the config JSON: %s: line 3, "
          "column" % conf in r.stderr, r.stderr)
    # the dump shows the text as read, before it is parsed
    r = osqi(d, "--config_path=" + conf, "--config_dump")
    eq(r.returncode, 0, "config_dump exit code: " + r.stderr)
    eq(r.stdout, "{%s: %s}\n" % (json.dumps(conf), text), "config_dump")


def test_unknown_plugin():
    d = osqtest.workdir("osqi-cfg-")
    for flag in ("--config_check", "--config_dump"):
        r = osqi(d, "--config_plugin=nope", flag)
        eq(r.returncode, 78, flag + " exit code")
        check("Cannot activate nope config plugin: Unknown registry plugin: "
              "nope" in r.stderr, r.stderr)


def test_no_query_runs():
    """The check is the whole run: a query given as well is not run."""
    d = osqtest.workdir("osqi-cfg-")
    conf = write(d, "good.conf", '{}')
    r = osqi(d, "--config_path=" + conf, "--config_check",
             "select 'ran' as x")
    eq((r.returncode, r.stdout), (0, ""), "config_check with a query")


if __name__ == "__main__":
    osqtest.run_tests([test_good_config, test_missing_file, test_bad_json,
                       test_unknown_plugin, test_no_query_runs])
