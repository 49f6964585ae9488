#!/usr/bin/python3
"""prometheus_metrics through osqi: the config's "prometheus_targets"
section reaches the table, which scrapes a loopback HTTP server this test
runs (osquery's exposition format, a failing target beside a good one)."""
import http.server
import json
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402

PAGE = (b"# HELP up Target up.\n# TYPE up gauge\nup 1\n"
        b"requests_total{code=\"200\"} 42.5\n")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/metrics":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)
        else:
            self.send_error(500)

    def log_message(self, *args):
        pass


def curl_available():
    import ctypes
    for name in ("libcurl.so.4", "libcurl-gnutls.so.4"):
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            pass
    return False


def test_scrape_from_config():
    if not curl_available():
        print("SKIP: no libcurl here; the table is empty without it")
        return
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        d = osqtest.workdir("osqt-prom-")
        conf = os.path.join(d, "osquery.conf")
        with open(conf, "w") as f:
            json.dump({"prometheus_targets": {
                "timeout": 60,
                "urls": ["http://127.0.0.1:%d/metrics" % port,
                         "http://127.0.0.1:%d/broken" % port]}}, f)
        env = dict(os.environ, HOME=d)
        p = subprocess.run(
            [osqtest.binary("osqi"), "--json", "--config_path", conf,
             "select target_name, metric_name, metric_value, timestamp_ms "
             "from prometheus_metrics order by metric_name"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env, timeout=120)
        err = p.stderr.decode(errors="replace")
        eq(p.returncode, 0, err)
        rows = json.loads(p.stdout.decode())
        url = "http://127.0.0.1:%d/metrics" % port
        eq([(r["target_name"], r["metric_name"], float(r["metric_value"]))
            for r in rows],
           [(url, 'requests_total{code="200"}', 42.5), (url, "up", 1.0)],
           "rows of the good target only")
        check(all(int(r["timestamp_ms"]) > 1600000000000 for r in rows),
              "scrape time in ms")
        check("broken" in err and "500" in err,
              "the failing target is named with its status: " + err)
    finally:
        srv.shutdown()


TESTS = [test_scrape_from_config]

if __name__ == "__main__":
    osqtest.run_tests(TESTS)
