"""An extension binary built against API 1's headers
(tests/fixtures/abi_v1), linked with the current libosqext.so, registered
with osqi and queried through SQL: the versioned ABI end to end."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import eq  # noqa: E402


def test_api1_binary_with_osqi():
    ext_bin = osqtest.binary(os.path.join("tests", "abi_v1.ext"))
    with osqtest.Osqi() as sh:
        proc = subprocess.Popen(
            [ext_bin, "--socket", sh.socket, "--timeout", "20",
             "--interval", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        osqtest._live.append(proc)
        osqtest.wait_until(lambda: sh.sql(
            "select name, version from osquery_extensions "
            "where type = 'extension'") == [{"name": "abi_v1",
                                             "version": "1.0.0"}],
            timeout=60, what="the API 1 extension registered", proc=proc)
        eq(sh.sql("select name, n from abi_v1_table order by n"),
           [{"name": "from api 1", "n": "1"},
            {"name": "from api 1", "n": "2"}], "its table through SQL")
        eq(sh.sql("select name from osquery_registry where "
                  "registry = 'config' and name = 'abi_v1_config'"),
           [{"name": "abi_v1_config"}], "its config plugin registered")
    # the core sends shutdown() as it stops
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the API 1 extension outlived its core")
    eq(proc.returncode, 0, "exit: " + err.decode("utf-8", "replace"))


if __name__ == "__main__":
    osqtest.run_tests([test_api1_binary_with_osqi])
