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


def ext_text(cert, name):
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-ext",
                          name], capture_output=True, text=True, check=True,
                         timeout=60).stdout.splitlines()[1:]
    return ";".join(ln.strip() for ln in out)


def test_curl_certificate():
    d = osqtest.workdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
                    "-days", "2", "-subj",
                    "/O=osq tests/OU=tables/CN=cert.test", "-addext",
                    "subjectAltName=DNS:cert.test,IP:127.0.0.1", "-addext",
                    "keyUsage=digitalSignature,keyEncipherment"], cwd=d,
                   check=True, capture_output=True, timeout=120)
    cert = os.path.join(d, "cert.pem")
    srv = serve(d)
    host = "127.0.0.1:%d" % srv.server_address[1]
    try:
        rows, _ = osqi_json("select *, dump_certificate, timeout from "
                            "curl_certificate where hostname = '%s' and "
                            "dump_certificate = 1" % host)
        eq(len(rows), 1, "one row")
        r = rows[0]
        # serials compare as numbers: BN_bn2hex pads to whole bytes
        r["serial_number"] = r["serial_number"].lstrip("0")
        x = {}
        for line in subprocess.run(
                ["openssl", "x509", "-in", cert, "-noout", "-serial",
                 "-startdate", "-enddate", "-fingerprint", "-sha256"],
                capture_output=True, text=True, check=True,
                timeout=60).stdout.splitlines():
            k, _, v = line.partition("=")
            x[k] = v
        sha1 = subprocess.run(["openssl", "x509", "-in", cert, "-noout",
                               "-fingerprint", "-sha1"], capture_output=True,
                              text=True, check=True, timeout=60).stdout
        eq({k: r[k] for k in ("hostname", "common_name", "organization",
                              "organization_unit", "issuer_common_name",
                              "issuer_organization", "serial_number",
                              "valid_from", "valid_to", "sha256_fingerprint",
                              "sha1_fingerprint", "version",
                              "signature_algorithm", "has_expired",
                              "subject_alternative_names", "key_usage",
                              "dump_certificate", "timeout", "pem")},
           {"hostname": host, "common_name": "cert.test",
            "organization": "osq tests", "organization_unit": "tables",
            "issuer_common_name": "cert.test",
            "issuer_organization": "osq tests",
            "serial_number": x["serial"].lstrip("0"),
            "valid_from": x["notBefore"], "valid_to": x["notAfter"],
            "sha256_fingerprint":
                x["sha256 Fingerprint"].replace(":", "").lower(),
            "sha1_fingerprint":
                sha1.split("=", 1)[1].strip().replace(":", "").lower(),
            "version": "3", "signature_algorithm": "RSA-SHA256",
            "has_expired": "0",
            "subject_alternative_names": ext_text(cert, "subjectAltName"),
            "key_usage": ext_text(cert, "keyUsage"),
            "dump_certificate": "1", "timeout": "4",
            "pem": open(cert).read()}, "curl_certificate vs openssl x509")
        rows, _ = osqi_json("select hostname from curl_certificate where "
                            "hostname = '127.0.0.1:1' and timeout = 2")
        eq(rows, [], "nothing listening: no row")
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
    rc, err = osqi_fails("select * from curl_certificate")
    check(rc != 0 and "required" in err, "hostname required: %r" % err)


if __name__ == "__main__":
    osqtest.run_tests([test_http, test_https, test_curl_certificate,
                       test_failures])
