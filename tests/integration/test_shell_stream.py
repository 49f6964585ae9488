#!/usr/bin/python3
"""A million-row result streams: osqi's peak RSS stays far below the size
of what it printed (rows are written as they come, never held)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = os.environ.get("OSQ_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
OSQI = os.path.join(BUILD, "osqi")
ROWS = 1000000
PAD = 100  # bytes of padding per row, so the output dwarfs any baseline RSS

SQL = ("with recursive c(x) as (select 1 union all select x+1 from c where x<%d) "
       "select x, substr(hex(zeroblob(%d)), 1, %d) as pad from c" % (ROWS, PAD, PAD))


class StreamTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="osqi-stream-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_mode(self, *mode):
        env = dict(os.environ, HOME=self.tmp)
        # ASan keeps freed memory in a 256 MB quarantine by default, which
        # would measure the sanitizer, not osqi.
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS", ""),
                                                     "quarantine_size_mb=4"]))
        p = subprocess.Popen([OSQI, "--extensions_socket=" + os.path.join(self.tmp, "s.em")]
                             + list(mode) + [SQL],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        size = lines = 0
        tail = b""
        while True:
            chunk = p.stdout.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            lines += chunk.count(b"\n")
            tail = (tail + chunk)[-256:]
        p.stdout.close()
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        return p.returncode, size, lines, tail, ru.ru_maxrss * 1024

    def check(self, rc, size, maxrss):
        self.assertEqual(rc, 0)
        # osqi's peak RSS must be well below what it printed (> 100 MB).
        self.assertGreater(size, 100 * 1000 * 1000)
        self.assertLess(maxrss, size // 3,
                        "peak RSS %d bytes for %d bytes of output" % (maxrss, size))

    def test_csv_streams(self):
        rc, size, lines, tail, rss = self.run_mode("--csv", "--separator", ",")
        self.check(rc, size, rss)
        self.assertEqual(lines, ROWS + 1)
        self.assertTrue(tail.endswith(b"\n1000000," + b"0" * PAD + b"\n"), tail)

    def test_json_streams(self):
        rc, size, lines, tail, rss = self.run_mode("--json")
        self.check(rc, size, rss)
        self.assertEqual(lines, ROWS + 2)
        self.assertTrue(tail.endswith(b'{"pad":"' + b"0" * PAD + b'","x":"1000000"}\n]\n'), tail)


if __name__ == "__main__":
    unittest.main(verbosity=2)
