#!/usr/bin/python3
"""--connect / .connect: osqi sends SQL to another manager (here a second
osqi kept alive on a pipe) and prints the reply in its output modes."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402

GLOG = ("I1", "W1", "E1")


class ConnectTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = osqtest.Osqi()
        cls.dir = osqtest.workdir()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def run_osqi(self, *args, stdin=""):
        env = dict(os.environ, HOME=self.dir)
        p = subprocess.run([osqtest.binary("osqi"),
                            "--extensions_socket=" + os.path.join(self.dir, "c.em")]
                           + list(args), input=stdin.encode(), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = [l for l in p.stderr.decode().splitlines() if not l.startswith(GLOG)]
        return p.returncode, p.stdout.decode(), err

    def test_query_through_the_socket(self):
        rc, out, err = self.run_osqi("--connect", self.server.socket, "--list",
                                     "select 1 as b, 'x' as a")
        self.assertEqual((rc, out), (0, "b|a\n1|x\n"))
        self.assertEqual(err, ["Connected to extension socket " + self.server.socket])
        # the server's own pid, not ours
        rc, out, err = self.run_osqi("--connect", self.server.socket, "--json",
                                     "select pid from osquery_info")
        self.assertEqual(json.loads(out), [{"pid": str(self.server.proc.pid)}])

    def test_errors(self):
        rc, out, err = self.run_osqi("--connect", self.server.socket, "selec")
        self.assertEqual(rc, 1)
        self.assertIn('Error: near "selec": syntax error', err)
        missing = os.path.join(self.dir, "missing.em")
        rc, out, err = self.run_osqi("--connect", missing, "select 1")
        self.assertEqual(rc, 1)
        self.assertIn("Error: Extension call failed: connect to %s: "
                      "No such file or directory" % missing, err)

    def test_meta_connect(self):
        stdin = (".connect %s\n.socket\nselect 5 as f;\n.connect x\n"
                 ".disconnect\n.disconnect\nselect 6 as g;\n" % self.server.socket)
        rc, out, err = self.run_osqi("--list", stdin=stdin)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "%s (connected to %s)\nf\n5\ng\n6\n"
                         % (os.path.join(self.dir, "c.em"), self.server.socket))
        self.assertEqual(err, ["Connected to extension socket " + self.server.socket,
                               "Error: Please disconnect from the current socket",
                               "Disconnected from extension socket " + self.server.socket,
                               "Error: Not connected to a socket"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
