"""A small HTTPS fleet server for tests: osquery's TLS remote API (enroll,
config, log, distributed read/write) on 127.0.0.1, with Python's standard
library only. It runs as its own process so that a test can kill it and
start it again on the same port; everything it receives is appended to
<dir>/requests.jsonl (one {"path", "body"} object a line), so records
survive a restart.

    certs = fleetserver.make_certs(d)     # CA, good, expired, wrong host
    srv = fleetserver.FleetServer(d, certs).start()
    srv.set_config({...}); srv.add_queries({"id1": "select 1"})
    srv.requests("/log") ; srv.invalidate_next() ; srv.kill() ; srv.start()

Control files in <dir>: config.json (served to /config), queries.json
(handed out once by /distributed/read), invalidate (the next request
carrying a node key gets {"node_invalid": true}), secret (the enroll
secret), fail_logs (answer /log with HTTP 500 while it exists).

osquery's --tls_node_api and --tls_secret_always forms are understood:
a leading /<node key> path segment, the secret and node_key as URL
parameters (osquery adds "&node_key=" even when there is no "?"). The
record's "path" is the endpoint alone; "raw_path" is what was sent,
"query" the parameters.

Carves: /carve/begin answers {"session_id"}; each /carve/block's data is
recorded like every request; srv.carve(carve_id) reassembles a carve's
blocks (in block_id order) once all block_count blocks arrived.
"""
import base64
import gzip
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

MAX_BODY = 64 * 1024 * 1024
NODE_KEY_PREFIX = "node-key-"

ENDPOINTS = {
    "enroll": "/api/osquery/enroll",
    "config": "/api/v1/osquery/config",
    "log": "/api/v1/osquery/log",
    "read": "/api/v1/osquery/distributed/read",
    "write": "/api/v1/osquery/distributed/write",
    "carve_begin": "/api/v1/osquery/carve/begin",
    "carve_block": "/api/v1/osquery/carve/block",
}


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(d):
    """A CA and four certs signed by it in d: good (127.0.0.1 and
    localhost), expired, wronghost (only wrong.example), and client (for
    TLS client authentication). Returns a dict of paths."""
    c = os.path.join(d, "certs")
    os.makedirs(c, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
             "ca.key", "-out", "ca.pem", "-days", "30", "-subj",
             "/CN=osqtest-ca", cwd=c)
    out = {"ca": os.path.join(c, "ca.pem")}
    for name, san, days in (("good", "IP:127.0.0.1,DNS:localhost", "30"),
                            ("expired", "IP:127.0.0.1,DNS:localhost", "-1"),
                            ("wronghost", "DNS:wrong.example", "30"),
                            ("client", "DNS:osq-client", "30")):
        with open(os.path.join(c, name + ".ext"), "w") as f:
            f.write("subjectAltName=%s\n" % san)
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                 name + ".key", "-out", name + ".csr", "-subj",
                 "/CN=" + {"wronghost": "wrong.example",
                           "client": "osq-client"}.get(name, "127.0.0.1"),
                 cwd=c)
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                 "-CAkey", "ca.key", "-CAcreateserial", "-out",
                 name + ".pem", "-days", days, "-extfile", name + ".ext",
                 cwd=c)
        out[name] = (os.path.join(c, name + ".pem"),
                     os.path.join(c, name + ".key"))
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class FleetServer:
    """The server process, controlled through files in d."""

    def __init__(self, d, certs, cert="good", port=None, secret="s3cret",
                 client_auth=False):
        self.d = d
        self.client_auth = client_auth
        self.certs = certs
        self.cert = cert
        self.port = port or free_port()
        self.proc = None
        with open(os.path.join(d, "secret"), "w") as f:
            f.write(secret)
        self.log = os.path.join(d, "fleetserver.err")

    @property
    def hostname(self):
        return "127.0.0.1:%d" % self.port

    def start(self, timeout=30):
        pem, key = self.certs[self.cert]
        ready = os.path.join(self.d, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), self.d,
             str(self.port), pem, key] +
            ([self.certs["ca"]] if self.client_auth else []),
            stdout=subprocess.DEVNULL, stderr=open(self.log, "a"))
        deadline = time.monotonic() + timeout
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("fleet server did not start: %s" %
                                     open(self.log).read()[-2000:])
            time.sleep(0.02)
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def _write(self, name, obj):
        tmp = os.path.join(self.d, name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(obj, f)
        os.replace(tmp, os.path.join(self.d, name))

    def set_config(self, cfg):
        self._write("config.json", cfg)

    def add_queries(self, queries, discovery=None, accelerate=None):
        body = {"queries": queries}
        if discovery:
            body["discovery"] = discovery
        if accelerate:
            body["accelerate"] = accelerate
        self._write("queries.json", body)

    def invalidate_next(self):
        self._write("invalidate", True)

    def fail_logs(self, on):
        p = os.path.join(self.d, "fail_logs")
        if on:
            self._write("fail_logs", True)
        elif os.path.exists(p):
            os.unlink(p)

    def requests(self, endpoint=None):
        p = os.path.join(self.d, "requests.jsonl")
        if not os.path.exists(p):
            return []
        out = []
        with open(p) as f:
            for line in f.read().splitlines():
                try:
                    r = json.loads(line)
                except ValueError:
                    continue  # a line cut by a kill
                if endpoint is None or r["path"] == ENDPOINTS.get(
                        endpoint, endpoint):
                    out.append(r)
        return out

    def carve(self, carve_id):
        """The bytes of carve carve_id, or None until every block came."""
        begin = [r for r in self.requests("carve_begin")
                 if r["body"].get("carve_id") == carve_id]
        if not begin:
            return None
        session = begin[-1]["session_id"]
        count = begin[-1]["body"]["block_count"]
        blocks = {}
        for r in self.requests("carve_block"):
            if r["body"].get("session_id") == session:
                blocks[r["body"]["block_id"]] = r["body"]["data"]
        if len(blocks) < count:
            return None
        return b"".join(base64.b64decode(blocks[i]) for i in range(count))

    def log_data(self, log_type):
        """Every data item of every accepted /log request of log_type."""
        out = []
        for r in self.requests("log"):
            if r["body"].get("log_type") == log_type and r.get("accepted"):
                out.extend(r["body"].get("data", []))
        return out


# ---- the server process ---------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as osquery's clients use

    def log_message(self, fmt, *args):
        pass

    def _file(self, name):
        return os.path.join(self.server.dir, name)

    def _split_path(self):
        """(endpoint, node key from the path or None, URL parameters)."""
        raw = self.path
        path, _, query = raw.partition("?")
        if "&" in path:  # osquery's "&node_key=" with no "?"
            path, _, more = path.partition("&")
            query = query + "&" + more if query else more
        path_key = None
        first = path.split("/")[1] if path.count("/") > 1 else ""
        first = urllib.parse.unquote(first)
        if first.startswith(NODE_KEY_PREFIX):
            path_key = first
            path = path[path.index("/", 1):]
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
        return path, path_key, params

    def _record(self, body, accepted=True, **extra):
        path, _, params = self._split_path()
        rec = {"path": path, "raw_path": self.path, "query": params,
               "body": body, "accepted": accepted,
               "t": time.time(), "peer": self.client_address[1], "bytes": int(self.headers.get("Content-Length") or 0),
               "content_encoding": self.headers.get("Content-Encoding"),
               "user_agent": self.headers.get("User-Agent")}
        rec.update(extra)
        with self.server.lock:
            with open(self._file("requests.jsonl"), "a") as f:
                f.write(json.dumps(rec) + "\n")
                f.flush()

    def _reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            self._reply(413, {"error": "too large"})
            return
        raw = self.rfile.read(n)
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        try:
            body = json.loads(raw)
        except ValueError:
            self._record({"unparsed": raw[:200].decode("latin-1")}, False)
            self._reply(400, {"error": "bad json"})
            return
        path, path_key, params = self._split_path()
        if path == ENDPOINTS["enroll"]:
            with open(self._file("secret")) as f:
                secret = f.read().strip()
            if body.get("enroll_secret") != secret:
                self._record(body, False)
                self._reply(200, {"node_invalid": True})
                return
            with self.server.lock:
                self.server.enrolls += 1
                key = "%s%d-%d" % (NODE_KEY_PREFIX, os.getpid(),
                                   self.server.enrolls)
            self._record(body, True, node_key=key)
            self._reply(200, {"node_key": key})
            return
        key = body.get("node_key") or params.get("node_key") or path_key or ""
        if os.path.exists(self._file("invalidate")):
            try:
                os.unlink(self._file("invalidate"))
                self._record(body, False, node_invalid=True)
                self._reply(200, {"node_invalid": True})
                return
            except FileNotFoundError:
                pass
        if not key.startswith(NODE_KEY_PREFIX):
            self._record(body, False, node_invalid=True)
            self._reply(200, {"node_invalid": True})
            return
        if path == ENDPOINTS["config"]:
            self._record(body)
            try:
                with open(self._file("config.json")) as f:
                    cfg = json.load(f)
            except FileNotFoundError:
                cfg = {}
            self._reply(200, cfg)
        elif path == ENDPOINTS["log"]:
            if os.path.exists(self._file("fail_logs")):
                self._record(body, False)
                self._reply(500, {"error": "failing on purpose"})
                return
            self._record(body)
            self._reply(200, {})
        elif path == ENDPOINTS["read"]:
            self._record(body)
            reply = {"queries": {}}
            try:
                with self.server.lock:
                    with open(self._file("queries.json")) as f:
                        reply = json.load(f)
                    os.unlink(self._file("queries.json"))
            except FileNotFoundError:
                pass
            self._reply(200, reply)
        elif path == ENDPOINTS["write"]:
            self._record(body)
            self._reply(200, {})
        elif path == ENDPOINTS["carve_begin"]:
            with self.server.lock:
                self.server.sessions += 1
                session = "session-%d-%d" % (os.getpid(),
                                             self.server.sessions)
            self._record(body, True, session_id=session)
            self._reply(200, {"session_id": session})
        elif path == ENDPOINTS["carve_block"]:
            self._record(body)
            self._reply(200, {"success": True})
        else:
            self._record(body, False)
            self._reply(404, {"error": "no such endpoint"})


def _serve(d, port, pem, key, client_ca=None):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    srv.daemon_threads = True
    srv.dir = d
    srv.lock = threading.Lock()
    srv.enrolls = 0
    srv.sessions = 0
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pem, key)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(os.path.join(d, "ready"), "w") as f:
        f.write(str(os.getpid()))
    srv.serve_forever()


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4],
           sys.argv[5] if len(sys.argv) > 5 else None)
