"""Stand-in HTTP services for the tables that ask a local daemon (Docker
Engine API, LXD API on UNIX sockets) or a cloud metadata service (on
127.0.0.1). Replies are fixed documents written from each API's published
shapes; every request is recorded, so a test can assert what a table asked
(pushed-down filters).

    srv = fakehttp.UnixServer(path, {"/version": {"Version": "24.0.7"}})
    ...
    srv.requests      # ["GET /version", ...]
    srv.close()

A route's value is a JSON-able document (status 200), a (status, document)
pair, a (status, bytes) pair for raw bodies, or a callable taking
(method, path, query, headers) and returning one of those. Routes are
matched on the path without its query string."""
import json
import os
import socketserver
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def _serve(self):
        srv = self.server.owner
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        with srv.lock:
            srv.requests.append("%s %s" % (self.command, self.path))
            srv.headers.append(dict(self.headers))
        route = srv.routes.get(url.path)
        if callable(route):
            route = route(self.command, url.path, query, self.headers)
        if route is None:
            status, body = 404, {"message": "page not found"}
        elif isinstance(route, tuple):
            status, body = route
        else:
            status, body = 200, route
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on an oversized body: expected

    do_GET = _serve
    do_PUT = _serve


class _UnixHTTP(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = self.socket.accept()
        return conn, ("local", 0)


class _TcpHTTP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server:
    def _start(self, server, routes):
        self.routes = dict(routes)
        self.requests = []
        self.headers = []
        self.lock = threading.Lock()
        self._srv = server
        server.owner = self
        self._t = threading.Thread(target=server.serve_forever, daemon=True)
        self._t.start()

    def clear(self):
        with self.lock:
            self.requests.clear()
            self.headers.clear()

    def close(self):
        self._srv.shutdown()
        self._srv.server_close()
        self._t.join(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class UnixServer(_Server):
    """HTTP on a UNIX socket at path (ready when the constructor returns:
    the socket is bound and listening)."""

    def __init__(self, path, routes):
        self.path = path
        if os.path.exists(path):
            os.unlink(path)
        self._start(_UnixHTTP(path, _Handler), routes)


class TcpServer(_Server):
    """HTTP on 127.0.0.1 at a free port (self.port)."""

    def __init__(self, routes):
        srv = _TcpHTTP(("127.0.0.1", 0), _Handler)
        self.port = srv.server_address[1]
        self._start(srv, routes)
