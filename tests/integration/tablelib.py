"""Shared by the tests of the tables that read a format through a
library: run osqi one-shot with JSON output, and helpers to build C
fixtures the test needs."""
import json
import os
import subprocess

import osqtest


def osqi_json(sql, env=None, args=(), timeout=120):
    """Rows of sql as a list of dicts (values as osqi prints them), and
    osqi's stderr."""
    cmd = [osqtest.binary("osqi"), "--json"] + list(args) + [sql]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("osqi failed (%d) on %r: %s"
                             % (p.returncode, sql, p.stderr))
    return json.loads(p.stdout), p.stderr


def osqi_fails(sql, env=None, args=(), timeout=120):
    """osqi's exit code and stderr for a query expected to fail."""
    cmd = [osqtest.binary("osqi"), "--json"] + list(args) + [sql]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=timeout)
    return p.returncode, p.stderr


def build_c(src_name, out, libs=()):
    """Compile tests/integration/fixtures/<src_name> into out."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "fixtures", src_name)
    subprocess.run(["cc", "-std=gnu17", "-Wall", "-o", out, src] + list(libs),
                   check=True, timeout=120)
    return out
