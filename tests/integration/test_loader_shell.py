#!/usr/bin/python3
"""Extension loading through osqi with real extensions (C examples built
with libosqext, Python ones on osqtest.ext): one-shot queries that just
work, the autoload file, --extensions_require, refusals, restarts after
SIGKILL, hung extensions, and no orphan after the core is SIGKILLed.

Extension files live in a directory under OSQ_BUILD: the loader refuses
files under sticky directories such as /tmp (sockets may stay there)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import osqtest  # noqa: E402

BUILD = osqtest.BUILD
OSQI = os.path.join(BUILD, "osqi")
C_EXT = os.path.join(BUILD, "examples", "minimal_table.ext")

PY_EXT = """#!/usr/bin/python3
import sys, time
sys.path.insert(0, %(here)r)
from osqtest import ext

class T(ext.Table):
    name = "py_loader_table"
    columns = [("a", "TEXT"), ("b", "INTEGER")]
    def generate(self, context, request):
        return [{"a": "x", "b": "1"}, {"a": "y", "b": "2"}]

class Hang(ext.Table):
    name = "py_hang_table"
    columns = [("a", "TEXT")]
    def generate(self, context, request):
        while True:
            time.sleep(60)

ext.main(%(name)r, [T(), Hang()], server="threaded")
"""


def alive(pid):
    """Running and not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] not in "ZX"


class LoaderShellTest(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(OSQI):
            self.skipTest("osqi not built")
        osqtest.gen_dir()  # generated Thrift code, shared via OSQTEST_GEN
        self.safe = tempfile.mkdtemp(prefix="loader-it-", dir=BUILD)
        os.chmod(self.safe, 0o755)
        self.tmp = osqtest.workdir("osqt-ld-")
        self.sock = os.path.join(self.tmp, "s.em")
        self.env = dict(os.environ, HOME=self.tmp)

    def tearDown(self):
        shutil.rmtree(self.safe, ignore_errors=True)

    def py_ext(self, fname="py.ext", name="py_loader"):
        p = os.path.join(self.safe, fname)
        with open(p, "w") as f:
            f.write(PY_EXT % {"here": HERE, "name": name})
        os.chmod(p, 0o755)
        return p

    def osqi(self, *args, timeout=90):
        # a generous --extensions_timeout: osqi waits only until the
        # extensions have registered, however loaded the machine is
        return subprocess.run([OSQI, "--json", "--extensions_socket=" + self.sock,
                               "--extensions_timeout=30"]
                              + list(args), capture_output=True, text=True,
                              env=self.env, timeout=timeout)

    def test_c_extension_one_shot(self):
        if not os.path.exists(C_EXT):
            self.skipTest("examples not built")
        r = self.osqi("--extension", C_EXT,
                      "select period from loadavg order by period")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([x["period"] for x in json.loads(r.stdout)],
                         ["15m", "1m", "5m"])

    def test_python_extension_one_shot(self):
        p = self.py_ext()
        r = self.osqi("--extension", p, "select a, b from py_loader_table")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout),
                         [{"a": "x", "b": "1"}, {"a": "y", "b": "2"}])

    def test_autoload_file(self):
        d = os.path.join(self.safe, "exts")
        os.mkdir(d, 0o755)
        self.py_ext("exts/a_py.ext")
        with open(os.path.join(d, "notes.txt"), "w") as f:
            f.write("not an extension\n")
        load = os.path.join(self.safe, "extensions.load")
        with open(load, "w") as f:
            f.write("# extensions\n; old style comment\n\n%s\n" % d)
        r = self.osqi("--extensions_autoload=" + load,
                      "select p.autoload, p.state, p.name, "
                      "p.uuid = e.uuid as same_uuid, t.a from "
                      "osq_extension_processes p, py_loader_table t, "
                      "osquery_extensions e "
                      "where t.a = 'x' and e.type = 'extension'")
        self.assertEqual(r.returncode, 0, r.stderr)
        # the supervised process is matched to its registration by pid
        self.assertEqual(json.loads(r.stdout),
                         [{"autoload": "1", "state": "running",
                           "name": "py_loader", "same_uuid": "1",
                           "a": "x"}])
        self.assertIn("%s:4: refusing %s/notes.txt: autoloaded extensions "
                      "must end in .ext" % (load, d), r.stderr)

    def test_require_missing_name(self):
        p = self.py_ext()
        r = self.osqi("--extension", p, "--extensions_timeout=1",
                      "--extensions_require=py_loader,nope", "select 1")
        self.assertEqual(r.returncode, 1)
        # py_loader may or may not have made it within 1 s; nope never does
        self.assertRegex(r.stderr, r"Required extension not found or not "
                         r"loaded: (py_loader, )?nope\n")
        self.assertEqual(r.stdout, "")
        r = self.osqi("--extension", p, "--extensions_require=py_loader",
                      "select 1 as one")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), [{"one": "1"}])

    def test_refused_permissions(self):
        p = self.py_ext()
        os.chmod(p, 0o775)
        r = self.osqi("--extension", p, "select 1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("refusing %s: writable by group (mode 0775); chmod g-w %s"
                      % (p, p), r.stderr)
        # --allow_unsafe runs it anyway, with a warning
        r = self.osqi("--allow_unsafe", "--extension", p,
                      "select a from py_loader_table where b = 2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), [{"a": "y"}])
        self.assertIn("--allow_unsafe: not checking the permissions of " + p,
                      r.stderr)

    def proc_row(self, sh):
        rows = sh.sql("select pid, restarts, state, last_exit from "
                      "osq_extension_processes")
        self.assertEqual(len(rows), 1)
        return rows[0]

    def test_sigkill_restarts_and_reregisters(self):
        p = self.py_ext()
        with osqtest.Osqi(socket=self.sock, args=["--extension", p,
                                "--extensions_timeout=30"]) as sh:
            first = self.proc_row(sh)
            self.assertEqual(first["state"], "running")
            pid = int(first["pid"])
            os.kill(pid, signal.SIGKILL)

            def restarted():
                row = self.proc_row(sh)
                return row if row["restarts"] == "1" and \
                    row["state"] == "running" else None
            row = osqtest.wait_until(restarted, osqtest.WAIT, "a restart")
            self.assertEqual(row["last_exit"], "killed by signal 9 SIGKILL")
            self.assertNotEqual(row["pid"], first["pid"])
            self.assertFalse(alive(pid))
            # the new process registers again under the same name: the old
            # routes were dropped when the old process died
            osqtest.wait_until(
                lambda: sh.sql("select count(*) as n from py_loader_table")
                == [{"n": "2"}], osqtest.WAIT, "the table to come back")

    def test_hung_and_stopped_extensions_fail_within_deadline(self):
        p = self.py_ext()
        with osqtest.Osqi(socket=self.sock,
                          args=["--extension", p, "--thrift_timeout=5",
                                "--extensions_timeout=30"]) as sh:
            self.assertEqual(len(sh.sql("select * from py_loader_table")), 2)
            start = len(sh.err.lines)
            # an endless generate: the call fails at thrift_timeout
            rows = sh.sql("select * from py_hang_table", timeout=60)
            self.assertEqual(rows, [])
            sh.err.wait("py_hang_table", start, 60)
            # a SIGSTOPped extension: the same
            pid = int(self.proc_row(sh)["pid"])
            osqtest.stop_process(pid)
            try:
                start = len(sh.err.lines)
                self.assertEqual(sh.sql("select * from py_loader_table",
                                        timeout=60), [])
                sh.err.wait("py_loader_table", start, 60)
            finally:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass  # the health check may already have killed it

    def test_stopped_extension_is_removed_and_restarted(self):
        # A call timeout far beyond the test's own bound: the query below
        # must fail because the health check noticed, not by the clock.
        p = self.py_ext()
        with osqtest.Osqi(socket=self.sock,
                          args=["--extension", p, "--thrift_timeout=600",
                                "--extensions_interval=1",
                                "--extensions_timeout=30"]) as sh:
            self.assertEqual(len(sh.sql("select * from py_loader_table")), 2)
            first = self.proc_row(sh)
            pid = int(first["pid"])
            osqtest.stop_process(pid)
            try:
                # waits on the stopped extension until the health check
                # removes it, then fails with the reason (or finds the
                # table gone): far sooner than the 600 s call timeout
                start = len(sh.err.lines)
                self.assertEqual(sh.sql("select * from py_loader_table",
                                        timeout=90), [])
                _, line = sh.err.wait("py_loader", start, 30)
                self.assertTrue("failed its health check" in line or
                                "no such table" in line, line)

                def restarted():
                    row = self.proc_row(sh)
                    return row if row["restarts"] == "1" and \
                        row["state"] == "running" else None
                row = osqtest.wait_until(restarted, 60, "a restart")
                self.assertIn("hung", row["last_exit"])
                self.assertIn("SIGKILL", row["last_exit"])
                self.assertNotEqual(row["pid"], first["pid"])
                self.assertFalse(alive(pid))
            finally:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            osqtest.wait_until(
                lambda: sh.sql("select count(*) as n from py_loader_table")
                == [{"n": "2"}], 60, "the table to come back")
            self.assertIn("failed its health check", sh.err.text())

            # stopped while idle: the ping finds it, with no query waiting
            second = int(self.proc_row(sh)["pid"])
            osqtest.stop_process(second)
            try:
                def restarted_again():
                    row = self.proc_row(sh)
                    return row if row["restarts"] == "2" and \
                        row["state"] == "running" else None
                row = osqtest.wait_until(restarted_again, 60,
                                         "a second restart")
                self.assertIn("hung", row["last_exit"])
                self.assertFalse(alive(second))
            finally:
                try:
                    os.kill(second, signal.SIGCONT)
                except ProcessLookupError:
                    pass

    def test_core_sigkilled_leaves_no_orphan(self):
        p = self.py_ext()
        sh = osqtest.Osqi(socket=self.sock,
                         args=["--extension", p, "--extensions_timeout=30"])
        try:
            pid = int(self.proc_row(sh)["pid"])
            self.assertTrue(alive(pid))
            sh.proc.kill()
            sh.proc.wait()
            osqtest.wait_until(lambda: not alive(pid), osqtest.WAIT,
                               "extension %d to die with its core" % pid)
        finally:
            sh.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
