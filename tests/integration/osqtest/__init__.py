"""Support for osq's Python integration tests.

Everything talks to osq through an independent implementation of the wire
format: Apache Thrift's own Python library (Debian's python3-thrift, seen by
/usr/bin/python3) with code generated from the project's IDL
(src/thrift/osquery.thrift).

    import osqtest
    api = osqtest.api()                 # generated modules: ttypes, Extension,
                                        # ExtensionManager
    with osqtest.Osqi() as sh:          # osqi on a temp socket, HOME, stdin pipe
        rows = sh.sql("select 1 as a")  # -> [{"a": "1"}]
        with osqtest.Client(sh.socket) as c:
            c.ping()                    # any ExtensionManager method
        ext = osqtest.spawn_extension(CODE, sh.socket)  # see osqtest/ext.py
        ext.uuid

Environment: OSQ_BUILD (build dir with osqi/osqd) and OSQ_SOURCE (source
tree), as ctest sets them; defaults: <repo>/build and the repo this file is
in. Nothing here sleeps for synchronisation: readiness is polled with a
deadline (socket connectable, a line printed).
"""
import atexit
import json
import os
import queue
import re
import shutil
import signal
import socket as _socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("OSQ_SOURCE") or os.path.abspath(
    os.path.join(HERE, "..", "..", ".."))
BUILD = os.environ.get("OSQ_BUILD") or os.path.join(SOURCE, "build")
PYTHON = "/usr/bin/python3"
# The budget for anything that should happen: generous enough for a machine
# whose cores are all busy with other work (tests wait on a signal, so a
# fast machine never waits this long). What must NOT happen is asserted by
# the signal that it did not (a line, a state), never by a short wait.
WAIT = 60.0
IDL = os.path.join(SOURCE, "src", "thrift", "osquery.thrift")

_gen_dir = None


def gen_dir():
    """Directory holding the Python code generated from the IDL (created
    once per process, or inherited from a parent test via OSQTEST_GEN)."""
    global _gen_dir
    if _gen_dir:
        return _gen_dir
    inherited = os.environ.get("OSQTEST_GEN")
    if inherited and os.path.isdir(os.path.join(inherited, "osquery")):
        _gen_dir = inherited
    else:
        d = tempfile.mkdtemp(prefix="osqt-gen-")
        subprocess.run(["thrift", "--gen", "py", "-out", d, IDL], check=True)
        atexit.register(shutil.rmtree, d, True)
        os.environ["OSQTEST_GEN"] = d
        _gen_dir = d
    if _gen_dir not in sys.path:
        sys.path.insert(0, _gen_dir)
    return _gen_dir


class _Api:
    pass


def api():
    """The generated modules: .ttypes, .Extension, .ExtensionManager."""
    gen_dir()
    from osquery.extensions import Extension, ExtensionManager, ttypes
    a = _Api()
    a.ttypes, a.Extension, a.ExtensionManager = ttypes, Extension, ExtensionManager
    return a


def workdir(prefix="osqt-"):
    """A short temp dir (UNIX socket paths are limited to 107 bytes),
    removed at exit."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    atexit.register(shutil.rmtree, d, True)
    return d


def binary(name):
    path = os.path.join(BUILD, name)
    if not os.path.exists(path):
        raise FileNotFoundError("%s not built (OSQ_BUILD=%s)" % (name, BUILD))
    return path


def can_connect(path):
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def stop_process(pid, timeout=WAIT):
    """SIGSTOP pid and wait until the kernel shows it stopped: kill()
    returns before a busy or not-yet-scheduled target has stopped, and it
    may still answer a request meanwhile."""
    os.kill(pid, signal.SIGSTOP)

    def stopped():
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
    wait_until(stopped, timeout, "pid %d to stop" % pid)


def wait_until(pred, timeout=WAIT, what="condition", proc=None):
    """Poll pred() until it returns a true value (returned) or the deadline;
    fail naming what. An exception from pred (e.g. a file not there yet)
    counts as "not yet" and is reported if the deadline passes. Stops
    early if proc (a Popen) exits."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = pred()
        except AssertionError:
            raise
        except Exception as ex:  # not ready yet
            v, last = None, ex
        if v:
            return v
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s: process exited (%s) while waiting" %
                                 (what, proc.returncode))
        time.sleep(0.02)
    raise AssertionError("timed out after %.1fs waiting for %s%s" %
                         (timeout, what, "; last error: %r" % last if last else ""))


def wait_socket(path, timeout=WAIT, proc=None):
    return wait_until(lambda: can_connect(path), timeout,
                      "socket %s to accept connections" % path, proc)


class _Lines:
    """Reads a stream line by line in a thread; lines can be awaited."""

    def __init__(self, stream, echo=None):
        self.lines = []
        self.cond = threading.Condition()
        self.closed = False
        self.echo = echo
        self.t = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.t.start()

    def _run(self, stream):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if self.echo:
                self.echo.write(line + "\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def wait(self, pattern, start=0, timeout=WAIT):
        """Index and text of the first line at or after start matching the
        regex pattern."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    if rx.search(self.lines[i]):
                        return i, self.lines[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise AssertionError(
                        "no line matching %r (%s); got:\n%s" %
                        (pattern, "stream closed" if self.closed else "timeout",
                         "\n".join(self.lines[start:])[-4000:]))
                self.cond.wait(left)

    def text(self):
        with self.cond:
            return "\n".join(self.lines)


class Osqi:
    """osqi kept alive on a stdin pipe, so its extension manager stays up.
    socket: a path, None (a fresh temp path) or "default" (osqi's own
    default under home).

    sql() sends a statement and a marker statement, and returns the rows of
    everything before the marker (osqi --json output). Errors go to stderr:
    use expect_error()."""

    def __init__(self, socket=None, args=(), home=None, env=None,
                 wait=True, binary_name="osqi"):
        self.dir = workdir()
        self.home = home or self.dir
        self.args = list(args)
        sock_args = []
        if socket == "default":  # osqi's own default: $HOME/.osq/shell.em
            self.socket = os.path.join(self.home, ".osq", "shell.em")
        else:
            self.socket = socket or os.path.join(self.dir, "osq.em")
            sock_args = ["--extensions_socket=" + self.socket]
        e = dict(os.environ)
        e["HOME"] = self.home
        e.update(env or {})
        cmd = [binary(binary_name), "--json", "--disable_extensions=false"] + \
            sock_args + self.args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=e)
        self.out = _Lines(self.proc.stdout)
        self.err = _Lines(self.proc.stderr)
        self._mark = 0
        self._pos = 0
        if wait:
            wait_socket(self.socket, proc=self.proc)

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def sql(self, query, timeout=WAIT):
        self._mark += 1
        mark = "OSQTEST-MARK-%d" % self._mark
        q = query.strip()
        if not q.endswith(";"):
            q += ";"
        self.send("%s\nselect '%s' as osqtest_mark;\n" % (q, mark))
        i, _ = self.out.wait(re.escape(mark), self._pos, timeout)
        # the marker's own output: '[' line before, ']' line after
        j, _ = self.out.wait(r"^\]$", i, timeout)
        with self.out.cond:
            chunk = self.out.lines[self._pos:i]
        self._pos = j + 1
        text = "\n".join(chunk).rstrip()
        if text.endswith("["):
            text = text[:-1]
        rows, dec, pos = [], json.JSONDecoder(), 0
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            val, pos = dec.raw_decode(text, pos)
            rows.extend(val)
        return rows

    def expect_error(self, query, pattern, timeout=WAIT):
        """Run query; wait for a stderr line matching pattern; return it."""
        start = len(self.err.lines)
        self.sql(query, timeout)
        return self.err.wait(pattern, start, timeout)[1]

    def close(self, timeout=WAIT):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.t.join(WAIT)
        self.err.t.join(WAIT)
        text = self.err.text()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            if bad in text:
                raise AssertionError("osqi reported %s:\n%s" % (bad, text[-6000:]))
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Client:
    """An ExtensionManager (or Extension) client on a UNIX socket, set up
    as osquery-python sets up its client: TSocket, TBufferedTransport,
    TBinaryProtocol. Attribute access goes to the generated client."""

    def __init__(self, path, timeout=WAIT, service="ExtensionManager"):
        from thrift.protocol import TBinaryProtocol
        from thrift.transport import TSocket, TTransport
        a = api()
        self.sock = TSocket.TSocket(unix_socket=path)
        self.sock.setTimeout(int(timeout * 1000))
        self.transport = TTransport.TBufferedTransport(self.sock)
        proto = TBinaryProtocol.TBinaryProtocol(self.transport)
        mod = a.ExtensionManager if service == "ExtensionManager" else a.Extension
        self.client = mod.Client(proto)
        self.transport.open()

    def __getattr__(self, name):
        return getattr(self.client, name)

    def close(self):
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ExtProcess:
    """An extension process started by spawn_extension."""

    def __init__(self, proc, uuid=None):
        self.proc = proc
        self.out = _Lines(proc.stdout)
        self.err = _Lines(proc.stderr)
        self.uuid = uuid
        self.failure = None

    def wait_ready(self, timeout=WAIT):
        """uuid once registered and listening; or raises with the reason
        (see failure for a refused registration)."""
        _, line = self.out.wait(r"^OSQTEST-(READY|FAILED)", 0, timeout)
        if line.startswith("OSQTEST-READY"):
            self.uuid = int(line.split()[1])
            return self.uuid
        self.failure = line[len("OSQTEST-FAILED "):]
        return None

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, timeout=WAIT):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


_live = []


@atexit.register
def _reap():
    for p in _live:
        if p.poll() is None:
            p.kill()
            p.wait()


def spawn_extension(code, socket, args=(), wait=True, timeout=WAIT, env=None):
    """Run Python source `code` (which uses osqtest.ext, see there) as an
    extension process against the manager socket, with osquery's switches
    --socket/--timeout/--interval. Returns an ExtProcess, after its
    registration finished (uuid set, or .failure holding the refusal)."""
    d = workdir("osqt-ext-")
    path = os.path.join(d, "ext.py")
    with open(path, "w") as f:
        f.write(code)
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([os.path.dirname(HERE), gen_dir()])
    e["OSQTEST_GEN"] = gen_dir()
    e.update(env or {})
    cmd = [PYTHON, path, "--socket", socket, "--timeout", "%d" % WAIT,
           "--interval", "1"] + list(args)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=e)
    _live.append(proc)
    ep = ExtProcess(proc)
    if wait:
        ep.wait_ready(timeout)
    return ep


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


def run_tests(tests):
    """Run test functions in order; print each result; exit non-zero on any
    failure."""
    failed = 0
    for t in tests:
        t0 = time.monotonic()
        try:
            t()
            print("PASS %s (%.1fs)" % (t.__name__, time.monotonic() - t0),
                  flush=True)
        except Exception:
            import traceback
            failed += 1
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc()
    print("%d/%d passed" % (len(tests) - failed, len(tests)), flush=True)
    sys.exit(1 if failed else 0)
