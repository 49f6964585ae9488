#!/usr/bin/python3
"""osqi on a terminal: banner, prompts, a query, tab completion of a table
name and a meta-command, history written to ~/.osq/.history."""
import fcntl
import os
import pty
import select
import shutil
import signal
import subprocess
import tempfile
import termios
import time
import unittest

BUILD = os.environ.get("OSQ_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
OSQI = os.path.join(BUILD, "osqi")
DEADLINE = 60.0  # seconds to wait for any expected output


class Pty:
    def __init__(self, home, sock, term="xterm"):
        master, slave = pty.openpty()
        env = dict(os.environ, HOME=home, TERM=term)
        self.p = subprocess.Popen([OSQI, "--extensions_socket=" + sock],
                                  stdin=slave, stdout=slave, stderr=slave,
                                  env=env, close_fds=True, start_new_session=True,
                                  preexec_fn=self._controlling_tty)
        os.close(slave)
        self.fd = master
        self.buf = b""

    @staticmethod
    def _controlling_tty():
        # so that ^C on the terminal sends SIGINT, as in a real session
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    def expect(self, needle, timeout=None):
        """Read until needle appears; return everything up to and with it."""
        end = time.monotonic() + (DEADLINE if timeout is None else timeout)
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
                    raise AssertionError("EOF waiting for %r in %r" % (needle, self.buf))
                self.buf += data
        i = self.buf.index(needle) + len(needle)
        seen, self.buf = self.buf[:i], self.buf[i:]
        return seen

    def wait_raw(self):
        """Wait until the line editor has put the terminal in raw mode (the
        prompt may be out before it has)."""
        end = time.monotonic() + DEADLINE
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:
            if time.monotonic() > end:
                raise AssertionError("terminal never left canonical mode")
            select.select([], [], [], 0.01)

    def send(self, data):
        self.wait_raw()
        os.write(self.fd, data)

    def close(self):
        try:
            rc = self.p.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        os.close(self.fd)
        return rc


class InteractiveTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="osqi-pty-")
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)
        self.sh = Pty(self.home, os.path.join(self.tmp, "s.em"))

    def tearDown(self):
        if self.sh.p.poll() is None:
            self.sh.p.kill()
            self.sh.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_session(self):
        sh = self.sh
        banner = sh.expect(b"osq> ")
        self.assertIn(b"Using a \x1b[1mvirtual database\x1b[0m. Need help, type '.help'", banner)
        sh.send(b"select 40 + 2\r")
        sh.expect(b"  ...> ")
        sh.send(b"as answer;\r")
        out = sh.expect(b"osq> ")
        self.assertIn(b"| answer |", out)
        self.assertIn(b"| 42     |", out)
        # tab completes a table name ...
        # (libedit echoes only the completed rest: "y ")
        sh.send(b"select count(*) > 0 as ok from osquery_registr\t")
        sh.expect(b"y ")
        sh.send(b";\r")
        out = sh.expect(b"osq> ")
        self.assertIn(b"| 1  |", out)
        # ... and a meta-command
        sh.send(b".vers\t")
        sh.expect(b"ion ")
        sh.send(b"\r")
        out = sh.expect(b"osq> ")
        self.assertIn(b"using SQLite 3.", out)
        # errors in interactive mode carry no line number
        sh.send(b"selec;\r")
        out = sh.expect(b"osq> ")
        self.assertIn(b'Error: near "selec": syntax error', out)
        sh.send(b".quit\r")
        self.assertEqual(sh.close(), 1)  # one statement failed
        with open(os.path.join(self.home, ".osq", ".history"), "rb") as f:
            hist = f.read().replace(b"\\040", b" ")  # libedit vis(3)-encodes
        self.assertIn(b"as answer;", hist)
        self.assertIn(b".quit", hist)

    def test_colour_prompt_on_256_colour_xterm(self):
        self.sh.expect(b"osq> ")
        self.sh.send(b".quit\r")
        self.sh.close()
        self.sh = Pty(self.home, os.path.join(self.tmp, "s.em"), term="xterm-256color")
        self.sh.expect(b"\x1b[38;5;147mosq>\x1b[0m ")
        self.sh.send(b"select 1\r")
        self.sh.expect(b"\x1b[38;5;147m  ...>\x1b[0m ")
        self.sh.send(b";\r")
        self.sh.expect(b"| 1 |")
        self.sh.send(b".quit\r")
        self.assertEqual(self.sh.close(), 0)

    def test_ctrl_c(self):
        sh = self.sh
        sh.expect(b"osq> ")
        sh.send(b"select 'half typed'")
        sh.expect(b"typed'")
        sh.send(b"\x03")  # ^C at the prompt drops the line, not the shell
        sh.expect(b"osq> ")
        sh.send(b"select 5 as five;\r")
        out = sh.expect(b"osq> ")
        self.assertIn(b"| 5    |", out)
        self.assertNotIn(b"half", out)
        # ^C during a query stops the query
        sh.send(b"with recursive c(x) as (select 1 union all select x+1 from c) "
                b"select count(*) as n from c;\r")
        # the echoed newline says the line editor has returned the line
        sh.expect(b"from c;\r\n")
        # A ^C that lands before the line editor has put the terminal back
        # in cooked mode is read as a key, not a signal: repeat it until
        # the query reports the interruption (keys left over only drop
        # empty lines at the next prompt).
        for _ in range(int(DEADLINE / 0.5)):
            os.write(sh.fd, b"\x03")
            try:
                sh.expect(b"Error: interrupted", 0.5)
                break
            except AssertionError:
                continue
        else:
            self.fail("^C did not interrupt the query")
        sh.send(b"select 6 as six;\r")
        sh.expect(b"| 6   |")
        sh.expect(b"osq> ")
        sh.send(b".quit\r")
        self.assertEqual(sh.close(), 1)

    def test_history_kept_to_100(self):
        sh = self.sh
        sh.expect(b"osq> ")
        for i in range(120):
            sh.send(b"select %d;\r" % i)
            sh.expect(b"osq> ")
        sh.send(b"\x04")  # ^D at the prompt leaves
        self.assertEqual(self.sh.close(), 0)
        with open(os.path.join(self.home, ".osq", ".history"), "rb") as f:
            lines = [l for l in f.read().splitlines() if not l.startswith(b"_HiStOrY_V2_")]
        self.assertEqual(len(lines), 100)
        self.assertIn(b"119", lines[-1])
        # the next session reads it back: ^P recalls the last line
        self.sh = Pty(self.home, os.path.join(self.tmp, "s.em"))
        self.sh.expect(b"osq> ")
        self.sh.send(b"\x10\r")
        out = self.sh.expect(b"osq> ")
        self.assertIn(b"| 119 |", out)
        self.sh.send(b".exit\r")
        self.assertEqual(self.sh.close(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
