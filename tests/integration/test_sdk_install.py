"""The SDK as a user meets it: install it with cmake, build an extension in
a fresh directory with pkg-config, autoload it under osqd, query its table
through the manager socket with Apache Thrift's Python client."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402

SRC = os.environ.get("OSQ_SOURCE", os.path.join(os.path.dirname(__file__),
                                                 "..", ".."))
SANITIZE = os.environ.get("OSQ_SANITIZE", "OFF").upper() in ("ON", "1", "TRUE")


def install_sdk(prefix):
    r = subprocess.run(["cmake", "--install", osqtest.BUILD, "--component",
                        "sdk", "--prefix", prefix],
                       capture_output=True, text=True, timeout=120)
    eq(r.returncode, 0, "cmake --install: " + r.stderr)
    for f in ("include/osq/extension.h", "include/osq/plugin.h"):
        check(os.path.exists(os.path.join(prefix, f)), f + " installed")


def build_extension(prefix, d):
    shutil.copy(os.path.join(SRC, "examples", "minimal_table.c"),
                os.path.join(d, "my.c"))
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = os.path.join(prefix, "lib", "pkgconfig")
    r = subprocess.run(["pkg-config", "--cflags", "--libs", "osqext"],
                       capture_output=True, text=True, env=env, timeout=60)
    eq(r.returncode, 0, "pkg-config osqext: " + r.stderr)
    flags = r.stdout.split()
    check(any(f.startswith("-I" + prefix) for f in flags),
          "cflags point into the prefix: %r" % flags)
    extra = ["-fsanitize=address,undefined"] if SANITIZE else []
    r = subprocess.run(["cc", "my.c"] + flags + extra + ["-o", "my.ext"],
                       cwd=d, capture_output=True, text=True, timeout=120)
    eq(r.returncode, 0, "cc: " + r.stderr)
    ext = os.path.join(d, "my.ext")
    os.chmod(ext, 0o755)
    return ext


def test_fresh_directory_extension_under_osqd():
    work = osqtest.workdir("osqsdk-")
    os.chmod(work, 0o755)
    prefix = os.path.join(work, "prefix")
    install_sdk(prefix)
    d = os.path.join(work, "myext")
    os.mkdir(d, 0o755)
    ext = build_extension(prefix, d)

    load = os.path.join(work, "extensions.load")
    with open(load, "w") as f:
        f.write("# built with pkg-config in a fresh directory\n%s\n" % ext)
    conf = os.path.join(work, "osq.conf")
    with open(conf, "w") as f:
        f.write('{"schedule": {}}')
    sock = os.path.join(work, "osq.em")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.path.join(prefix, "lib")
    cmd = [osqtest.binary("osqd"), "--flagfile=/dev/null",
           "--disable_watchdog", "--config_path=" + conf,
           "--database_path=" + os.path.join(work, "db", "osq.db"),
           "--logger_path=" + os.path.join(work, "log"),
           "--pidfile=" + os.path.join(work, "osqd.pid"),
           "--extensions_socket=" + sock, "--extensions_autoload=" + load,
           "--extensions_interval=1"]
    err = open(os.path.join(work, "stderr"), "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                            env=env)
    try:
        osqtest.wait_socket(sock, osqtest.WAIT, proc)

        def answered():
            with osqtest.Client(sock) as c:
                r = c.query("select period from loadavg order by period")
                return r if r.status.code == 0 else None
        r = wait_until(answered, osqtest.WAIT, "the autoloaded extension's table", proc)
        eq(r.response, [{"period": "15m"}, {"period": "1m"},
                        {"period": "5m"}], "rows from the extension")
        with osqtest.Client(sock) as c:
            r = c.query("select name, type from osquery_extensions "
                        "order by type desc")
        eq(r.response, [{"name": "load_average", "type": "extension"},
                        {"name": "core", "type": "core"}],
           "osquery_extensions")
    finally:
        proc.terminate()
        eq(proc.wait(timeout=60), 0, "osqd exit code on SIGTERM")
        err.close()
    # no orphan: the extension died with the daemon
    out = subprocess.run(["pgrep", "-f", ext], capture_output=True,
                         text=True).stdout
    eq(out, "", "extension processes left after osqd stopped")


if __name__ == "__main__":
    osqtest.run_tests([test_fresh_directory_extension_under_osqd])
