#!/usr/bin/python3
"""curl against local servers the test starts on 127.0.0.1 (plain HTTP
and HTTPS with a certificate it makes): body, size, status, user agent
as the server saw it, a refused connection, refused schemes, the
required url."""
import http.server
import os
import ssl
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402
from tablelib import osqi_fails, osqi_json  # noqa: E402

BODY = b"hello from the osq curl test\n" * 10
SEEN = []


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        SEEN.append((self.path, self.headers.get("User-Agent")))
        if self.path == "/body":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


def serve(tls_dir=None):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls_dir:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(tls_dir, "cert.pem"),
                            os.path.join(tls_dir, "key.pem"))
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_http():
    srv = serve()
    base = "http://127.0.0.1:%d" % srv.server_address[1]
    try:
        rows, _ = osqi_json("select * from curl where url = '%s/body'" % base)
        eq(len(rows), 1, "one row")
        r = rows[0]
        eq((r["url"], r["method"], r["user_agent"], r["response_code"],
            r["bytes"], r["result"]),
           (base + "/body", "GET", "osquery", "200", str(len(BODY)),
            BODY.decode()), "GET /body")
        check(int(r["round_trip_time"]) > 0, "round trip measured")
        eq(SEEN[-1], ("/body", "osquery"), "the server saw osquery's agent")

        rows, _ = osqi_json("select response_code, user_agent from curl "
                            "where url = '%s/missing' and user_agent = "
                            "'osq-test/1.0'" % base)
        eq(rows, [{"response_code": "404", "user_agent": "osq-test/1.0"}],
           "status and user agent")
        eq(SEEN[-1], ("/missing", "osq-test/1.0"), "agent sent")
    finally:
        srv.shutdown()


def test_https():
    d = osqtest.workdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], cwd=d, check=True,
                   capture_output=True, timeout=120)
    srv = serve(d)
    url = "https://127.0.0.1:%d/body" % srv.server_address[1]
    try:
        rows, _ = osqi_json("select response_code, bytes from curl where "
                            "url = '%s'" % url,
                            args=["--tls_server_certs=" + os.path.join(
                                d, "cert.pem")])
        eq(rows, [{"response_code": "200", "bytes": str(len(BODY))}],
           "https with the test's CA")
        rows, err = osqi_json("select url, response_code from curl where "
                              "url = '%s'" % url)
        eq(rows, [{"url": url, "response_code": ""}],
           "an unverified peer: a row without a response")
        check("certificate" in err.lower(), "reason logged: %r" % err)
    finally:
        srv.shutdown()


def test_failures():
    rows, err = osqi_json("select url, response_code from curl where "
                          "url = 'http://127.0.0.1:1/'")
    eq(rows, [{"url": "http://127.0.0.1:1/", "response_code": ""}],
       "refused connection: row, no response")
    rows, err = osqi_json("select response_code from curl where "
                          "url = 'file:///etc/passwd'")
    eq(rows, [{"response_code": ""}], "file:// is not fetched")
    check("not supported" in err, "scheme refused: %r" % err)
    rc, err = osqi_fails("select * from curl")
    check(rc != 0 and "required" in err, "url required: %r" % err)


if __name__ == "__main__":
    osqtest.run_tests([test_http, test_https, test_failures])
