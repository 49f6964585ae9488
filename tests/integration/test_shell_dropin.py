#!/usr/bin/python3
"""osq under osquery's binary names: osqi and osqd linked as osqueryi and
osqueryd take osquery's prompt, default paths, home directory and
--version text; under their own names they keep osq's."""
import os
import pty
import select
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402

DEADLINE = 30.0


def links():
    """A temp dir with osqueryi -> osqi and osqueryd -> osqd."""
    d = osqtest.workdir("osq-dropin-")
    for src, name in (("osqi", "osqueryi"), ("osqd", "osqueryd")):
        os.symlink(osqtest.binary(src), os.path.join(d, name))
    home = os.path.join(d, "home")
    os.mkdir(home)
    return d, home


def run(argv, home, stdin=""):
    env = dict(os.environ, HOME=home)
    return subprocess.run(argv, input=stdin, capture_output=True, text=True,
                          timeout=60, env=env)


def flags(binary, home):
    r = run([binary, "--flagfile=/dev/null", "--json"], home,
            "select name, value from osquery_flags where name in "
            "('config_path', 'database_path', 'pidfile', 'logger_path', "
            "'extensions_socket', 'extensions_autoload');")
    eq(r.returncode, 0, "osquery_flags query: " + r.stderr)
    import json
    return {row["name"]: row["value"] for row in json.loads(r.stdout)}


def osquery_version():
    """The osquery version osq follows, as the source declares it."""
    import re
    with open(os.path.join(osqtest.SOURCE, "src/core/flags.h")) as f:
        return re.search(r'#define OSQ_SDK_VERSION "([0-9.]+)"', f.read()).group(1)


def test_version():
    d, home = links()
    v = osquery_version()
    for name, want in (("osqueryi", "osqueryi version %s\n" % v),
                       ("osqueryd", "osqueryd version %s\n" % v)):
        r = run([os.path.join(d, name), "--version"], home)
        eq((r.returncode, r.stdout), (0, want), name + " --version")
    r = run([osqtest.binary("osqi"), "--version"], home)
    eq(r.stdout, "osqi version 0.1.0\n", "osqi --version")
    r = run([osqtest.binary("osqd"), "--version"], home)
    eq(r.stdout, "osqd version 0.1.0\n", "osqd --version")


def test_shell_paths():
    d, home = links()
    eq(flags(os.path.join(d, "osqueryi"), home), {
        "config_path": "/etc/osquery/osquery.conf",
        "database_path": "/var/osquery/osquery.db",
        "pidfile": "/var/run/osqueryd.pidfile",
        "logger_path": "/var/log/osquery/",
        "extensions_socket": os.path.join(home, ".osquery", "shell.em"),
        "extensions_autoload": "/etc/osquery/extensions.load",
    }, "osqueryi's defaults")
    check(os.path.isdir(os.path.join(home, ".osquery")), "~/.osquery made")
    eq(flags(osqtest.binary("osqi"), home), {
        "config_path": "/etc/osq/osq.conf",
        "database_path": "/var/osq/osq.db",
        "pidfile": "/var/osq/osqd.pidfile",
        "logger_path": "/var/log/osq/",
        "extensions_socket": os.path.join(home, ".osq", "shell.em"),
        "extensions_autoload": "/etc/osq/extensions.load",
    }, "osqi's own defaults")


def test_daemon_config_path():
    """The daemon reads osquery's config path when named osqueryd."""
    d, home = links()
    for binary, conf in ((os.path.join(d, "osqueryd"),
                          "/etc/osquery/osquery.conf"),
                         (osqtest.binary("osqd"), "/etc/osq/osq.conf")):
        if os.path.exists(conf):
            continue  # a real install on this machine: nothing to tell
        r = run([binary, "--flagfile=/dev/null", "--config_check"], home)
        eq(r.returncode, 1, "config_check without a config: " + r.stderr)
        check(conf in r.stderr, "%s names %s: %r" % (binary, conf, r.stderr))


def test_daemon_defaults():
    """osqueryd (through the link, worker included) reports osquery's
    defaults for the paths it was not given."""
    d, home = links()
    sock = os.path.join(d, "d.em")
    conf = os.path.join(d, "osquery.conf")
    with open(conf, "w") as f:
        f.write("{}")
    p = subprocess.Popen([os.path.join(d, "osqueryd"), "--flagfile=/dev/null",
                          "--ephemeral", "--config_path=" + conf,
                          "--logger_plugin=stdout", "--extensions_socket=" + sock],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, HOME=home))
    try:
        osqtest.wait_socket(sock, 60, p)
        with osqtest.Client(sock) as c:
            r = c.query("select name, default_value, value from osquery_flags "
                        "where name in ('database_path', 'pidfile', "
                        "'logger_path', 'extensions_autoload')")
        eq(r.status.code, 0, r.status.message)
        eq(sorted((x["name"], x["default_value"], x["value"])
                  for x in r.response),
           [("database_path", "/var/osquery/osquery.db",
             "/var/osquery/osquery.db"),
            ("extensions_autoload", "/etc/osquery/extensions.load",
             "/etc/osquery/extensions.load"),
            ("logger_path", "/var/log/osquery/", "/var/log/osquery/"),
            ("pidfile", "/var/run/osqueryd.pidfile",
             "/var/run/osqueryd.pidfile")], "osqueryd's defaults")
    finally:
        p.terminate()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class Pty:
    def __init__(self, argv, home):
        master, slave = pty.openpty()
        env = dict(os.environ, HOME=home, TERM="xterm")
        self.p = subprocess.Popen(argv, stdin=slave, stdout=slave,
                                  stderr=slave, env=env, close_fds=True,
                                  start_new_session=True)
        os.close(slave)
        self.fd = master
        self.buf = b""

    def expect(self, needle):
        end = time.monotonic() + DEADLINE
        while needle not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r in %r" % (needle, self.buf))
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError("EOF waiting for %r in %r" %
                                         (needle, self.buf))
                self.buf += data
        i = self.buf.index(needle) + len(needle)
        seen, self.buf = self.buf[:i], self.buf[i:]
        return seen

    def send(self, data):
        # the line editor puts the terminal in raw mode once it reads
        end = time.monotonic() + DEADLINE
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:
            if time.monotonic() > end:
                raise AssertionError("terminal never left canonical mode")
            select.select([], [], [], 0.01)
        os.write(self.fd, data)

    def close(self):
        try:
            rc = self.p.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        os.close(self.fd)
        return rc


def test_prompt():
    d, home = links()
    sock = os.path.join(d, "s.em")
    sh = Pty([os.path.join(d, "osqueryi"), "--flagfile=/dev/null",
              "--extensions_socket=" + sock], home)
    try:
        sh.expect(b"osquery> ")
        sh.send(b"select 6 * 7\r")
        # the line stays on the screen after Enter, as osquery's editor
        # leaves it, and the continuation prompt is osquery's
        out = sh.expect(b"    ...> ")
        check(b"select 6 * 7\r\n" in out, out)
        sh.send(b"as answer;\r")
        out = sh.expect(b"osquery> ")
        check(b"as answer;\r\n" in out, out)
        check(b"| 42     |" in out, out)
        sh.send(b".quit\r")
        eq(sh.close(), 0, "exit code")
    finally:
        if sh.p.poll() is None:
            sh.p.kill()
            sh.close()
    check(os.path.exists(os.path.join(home, ".osquery", ".history")),
          "history in ~/.osquery")


if __name__ == "__main__":
    osqtest.run_tests([test_version, test_shell_paths, test_daemon_config_path,
                       test_daemon_defaults, test_prompt])
