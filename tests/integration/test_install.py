#!/usr/bin/python3
"""`cmake --install` as a packager runs it, and osqd started as packaged:
DESTDIR stages every file once (no doubled path), --prefix moves every
file (the configuration too), the flagfile names the installed config, the
unit names the installed binary, and the installed osqd with the
installed flagfile and config starts against a throw-away root whose
state directories do not exist yet, serves queries and stops cleanly."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402


def install(prefix, destdir=None):
    """Install the build tree under test."""
    env = dict(os.environ)
    env.pop("DESTDIR", None)
    if destdir:
        env["DESTDIR"] = destdir
    r = subprocess.run(["cmake", "--install", osqtest.BUILD, "--prefix",
                        prefix], capture_output=True, text=True, env=env,
                       timeout=120)
    eq(r.returncode, 0, "cmake --install: " + r.stdout + r.stderr)
    return r.stdout


def read(path):
    with open(path) as f:
        return f.read()


def test_destdir_once():
    d = osqtest.workdir("osq-inst-")
    stage = os.path.join(d, "stage")
    real_etc = os.path.exists("/etc/osq")
    install("/usr", destdir=stage)
    for rel in ("usr/bin/osqi", "usr/bin/osqd", "etc/osq/osq.flags",
                "etc/osq/osq.conf", "usr/lib/systemd/system/osqd.service"):
        check(os.path.exists(os.path.join(stage, rel)), "installed: " + rel)
    check(not os.path.exists(stage + stage), "DESTDIR applied twice")
    eq(os.path.exists("/etc/osq"), real_etc, "the real /etc/osq touched")
    unit = read(os.path.join(stage, "usr/lib/systemd/system/osqd.service"))
    check("ExecStart=/usr/bin/osqd --flagfile=/etc/osq/osq.flags\n" in unit,
          unit)
    check("LogsDirectory=osq\n" in unit, unit)
    flags = read(os.path.join(stage, "etc/osq/osq.flags"))
    check("--config_path=/etc/osq/osq.conf\n" in flags, flags)
    # a second install keeps the admin's files
    with open(os.path.join(stage, "etc/osq/osq.conf"), "w") as f:
        f.write('{"schedule": {}}')
    install("/usr", destdir=stage)
    eq(read(os.path.join(stage, "etc/osq/osq.conf")), '{"schedule": {}}',
       "an existing osq.conf is kept")


def test_prefix_moves_everything():
    d = osqtest.workdir("osq-inst-")
    pfx = os.path.join(d, "pfx")
    real_etc = os.path.exists("/etc/osq")
    install(pfx)
    eq(os.path.exists("/etc/osq"), real_etc, "the real /etc/osq touched")
    flags = read(os.path.join(pfx, "etc/osq/osq.flags"))
    check("--config_path=%s/etc/osq/osq.conf\n" % pfx in flags, flags)
    unit = read(os.path.join(pfx, "lib/systemd/system/osqd.service"))
    check("ExecStart=%s/bin/osqd --flagfile=%s/etc/osq/osq.flags\n" %
          (pfx, pfx) in unit, unit)


def test_installed_daemon_starts():
    d = osqtest.workdir("osq-inst-")
    stage = os.path.join(d, "stage")
    install("/usr", destdir=stage)
    root = os.path.join(d, "root")  # nothing under it exists yet
    sock = os.path.join(root, "var/osq/osq.em")
    pidfile = os.path.join(root, "var/osq/osqd.pidfile")
    logs = os.path.join(root, "var/log/osq")
    cmd = [os.path.join(stage, "usr/bin/osqd"),
           "--flagfile=" + os.path.join(stage, "etc/osq/osq.flags"),
           # the packaged paths, moved into the throw-away root
           "--config_path=" + os.path.join(stage, "etc/osq/osq.conf"),
           "--database_path=" + os.path.join(root, "var/osq/osq.db"),
           "--pidfile=" + pidfile,
           "--extensions_socket=" + sock,
           "--extensions_autoload=" + os.path.join(root, "etc/osq/ext.load"),
           "--logger_path=" + logs]
    errpath = os.path.join(d, "stderr")
    with open(errpath, "w") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    try:
        osqtest.wait_socket(sock, 60, p)
        def scheduled():
            with osqtest.Client(sock) as c:
                r = c.query("select count(*) as n from osquery_schedule")
            eq(r.status.code, 0, "query status: %s" % r.status.message)
            return int(r.response[0]["n"]) >= 1
        # the manager answers before the config is read: wait for it
        osqtest.wait_until(scheduled, 60, "the installed config's schedule",
                           p)
        pid = read(pidfile).strip()
        eq(pid, str(p.pid), "pidfile names the watcher")
        eq(os.stat(os.path.dirname(pidfile)).st_mode & 0o777, 0o700,
           "state directory mode")
        check(os.path.isdir(logs), "logger_path made")
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise
    eq(rc, 0, "exit code after SIGTERM: " + read(errpath))


def test_osquery_names():
    d = osqtest.workdir("osq-inst-")
    build = os.path.join(d, "b")
    src = osqtest.SOURCE
    # a configure of its own: the option must not change the shared build
    r = subprocess.run(["cmake", "-S", src, "-B", build,
                        "-DOSQ_INSTALL_OSQUERY_NAMES=ON", "-DOSQ_TESTS=OFF"],
                       capture_output=True, text=True, timeout=300)
    eq(r.returncode, 0, "configure: " + r.stdout + r.stderr)
    stage = os.path.join(d, "stage")
    # only the packaging step: no need to build the binaries again
    env = dict(os.environ, DESTDIR=stage)
    r = subprocess.run(["cmake", "-DCMAKE_INSTALL_PREFIX=/usr", "-P",
                        os.path.join(build, "packaging", "cmake_install.cmake")],
                       capture_output=True, text=True, env=env, timeout=120)
    eq(r.returncode, 0, "install: " + r.stdout + r.stderr)
    for link, target in (("osqueryi", "osqi"), ("osqueryd", "osqd")):
        eq(os.readlink(os.path.join(stage, "usr/bin", link)), target, link)


if __name__ == "__main__":
    osqtest.run_tests([test_destdir_once, test_prefix_moves_everything,
                       test_installed_daemon_starts, test_osquery_names])
