#!/usr/bin/python3
"""Extension flags in osqi: a piped (one-shot) osqi starts its manager
when --extensions_socket or --disable_extensions=false is given, so an
extension can join it; a bad --extensions_socket_mode or
--extensions_socket_group is an error, not a shell without a manager;
.show lists only plugins that exist and the flagfile actually read."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402

ONE_TABLE = r'''
from osqtest import ext
class T(ext.Table):
    name = "joined_later"
    columns = [("v", "TEXT")]
    def generate(self, context, request):
        return [{"v": "from the extension"}]
ext.main("joiner", [T()])
'''


def piped(d, args):
    env = dict(os.environ, HOME=d)
    return subprocess.Popen([osqtest.binary("osqi"), "--flagfile=/dev/null",
                             "--list"] + args, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def test_piped_with_socket_serves_extensions():
    d = osqtest.workdir("osqi-pipe-")
    sock = os.path.join(d, "s.em")
    p = piped(d, ["--extensions_socket=" + sock])
    try:
        osqtest.wait_socket(sock, 30, p)
        e = osqtest.spawn_extension(ONE_TABLE, sock)
        check(e.uuid, "the extension registered: %s" % e.failure)
        out, err = p.communicate("select v from joined_later;\n", timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    eq(p.returncode, 0, "exit code: " + err)
    eq(out, "v\nfrom the extension\n", "rows from the joined extension")


def test_piped_with_extensions_enabled():
    d = osqtest.workdir("osqi-pipe-")
    p = piped(d, ["--disable_extensions=false"])
    sock = os.path.join(d, ".osq", "shell.em")
    try:
        osqtest.wait_socket(sock, 30, p)
        out, err = p.communicate(
            "select path from osquery_extensions where uuid = 0;\n", timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    eq((p.returncode, out), (0, "path\n%s\n" % sock), "manager path: " + err)


def test_piped_without_flags_stays_one_shot():
    d = osqtest.workdir("osqi-pipe-")
    p = piped(d, [])
    out, err = p.communicate("select count(*) as n from osquery_extensions;\n",
                             timeout=60)
    eq((p.returncode, out), (0, "n\n0\n"), "no manager: " + err)


def test_bad_socket_mode_and_group():
    d = osqtest.workdir("osqi-sock-")
    sock = os.path.join(d, "s.em")
    env = dict(os.environ, HOME=d)
    for flag, words in (("--extensions_socket_mode=999",
                         "Invalid --extensions_socket_mode '999'"),
                        ("--extensions_socket_mode=rw",
                         "Invalid --extensions_socket_mode 'rw'"),
                        ("--extensions_socket_group=no-such-group-osqt",
                         "Unknown group in --extensions_socket_group: "
                         "no-such-group-osqt")):
        for extra in (["--disable_extensions=false",
                       "--extensions_socket=" + sock], []):
            r = subprocess.run([osqtest.binary("osqi"), "--flagfile=/dev/null",
                                flag] + extra, input="select 1;\n",
                               capture_output=True, text=True, timeout=60,
                               env=env)
            eq(r.returncode, 1, "%s %s exit code" % (flag, extra))
            check(words in r.stderr, r.stderr)
            eq(r.stdout, "", "no query ran")
            check(not os.path.exists(sock), "no socket served")


def test_show():
    d = osqtest.workdir("osqi-show-")
    flagfile = os.path.join(d, "osq.flags")
    with open(flagfile, "w") as f:
        f.write("--logger_plugin=nosuchlogger\n")
    env = dict(os.environ, HOME=d)
    r = subprocess.run([osqtest.binary("osqi"), "--flagfile=" + flagfile,
                        "--config_path=/x/osq.conf", ".show"],
                       capture_output=True, text=True, timeout=60, env=env,
                       stdin=subprocess.DEVNULL)
    eq(r.returncode, 0, r.stderr)
    lines = r.stdout.splitlines()
    check("     Flagfile: " + flagfile in lines, r.stdout)
    check("       Config: filesystem (/x/osq.conf)" in lines, r.stdout)
    # neither the logger it names nor the tls distributed plugin exists
    check(not any(l.strip().startswith(("Logger:", "Distributed:"))
                  for l in lines), r.stdout)


if __name__ == "__main__":
    osqtest.run_tests([test_piped_with_socket_serves_extensions,
                       test_piped_with_extensions_enabled,
                       test_piped_without_flags_stays_one_shot,
                       test_bad_socket_mode_and_group, test_show])
