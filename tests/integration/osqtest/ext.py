"""A minimal osquery extension in Python for tests, behaving as
osquery-python does: registers with sdk_version 3.0.7 / min 1.8.0, serves
one connection at a time (TSimpleServer-style) unless server="threaded",
answers ping with {0, "OK"} and no uuid, exits 1 second after shutdown(),
and pings the manager every --interval, exiting when that fails.

    from osqtest import ext
    class Foo(ext.Table):
        name = "foo"
        columns = [("a", "TEXT"), ("b", "INTEGER")]
        def generate(self, context, request):
            return [{"a": "x", "b": "1"}]
    ext.main("my_ext", [Foo()])

Prints "OSQTEST-READY <uuid>" once registered and listening, or
"OSQTEST-FAILED <code> <message>" if the manager refused it (then exits 1),
and "OSQTEST-SHUTDOWN" when the manager calls shutdown().
--osqtest-log PATH appends every received call as a JSON line
{"registry","item","request"}.
"""
import json
import os
import sys
import threading
import time

import osqtest

osqtest.gen_dir()
from osquery.extensions import Extension, ExtensionManager  # noqa: E402
from osquery.extensions.ttypes import (ExtensionResponse,  # noqa: E402
                                       ExtensionStatus, InternalExtensionInfo)
from thrift.protocol import TBinaryProtocol  # noqa: E402
from thrift.transport import TSocket, TTransport  # noqa: E402


class Plugin:
    registry = None
    name = None

    def routes(self):
        return []

    def call(self, request):
        return ExtensionResponse(ExtensionStatus(1, "unsupported", None), [])


class Table(Plugin):
    registry = "table"
    columns = []  # (name, type) or (name, type, op)

    def routes(self):
        out = []
        for c in self.columns:
            op = str(c[2]) if len(c) > 2 else "0"
            out.append({"id": "column", "name": c[0], "type": c[1], "op": op})
        return out

    def generate(self, context, request):
        return []

    def call(self, request):
        action = request.get("action")
        if action == "columns":
            return ExtensionResponse(ExtensionStatus(0, "OK", None), self.routes())
        if action == "generate":
            ctx = json.loads(request.get("context") or "{}")
            rows = self.generate(ctx, request)
            if isinstance(rows, ExtensionResponse):
                return rows
            return ExtensionResponse(
                ExtensionStatus(0, "OK", None),
                [{k: str(v) for k, v in r.items()} for r in rows])
        return self.write(action, request)

    def write(self, action, request):
        return ExtensionResponse(ExtensionStatus(0, "OK", None),
                                 [{"status": "readonly"}])


class Config(Plugin):
    registry = "config"

    def gen_config(self):
        return {}

    def call(self, request):
        if request.get("action") == "genConfig":
            return ExtensionResponse(ExtensionStatus(0, "OK", None),
                                     [self.gen_config()])
        return ExtensionResponse(ExtensionStatus(1, "unsupported action", None), [])


class Logger(Plugin):
    registry = "logger"

    def __init__(self):
        self.received = []

    def log(self, request):
        self.received.append(dict(request))

    def call(self, request):
        if request.get("action") == "features":
            # osquery-python answers with an error: code 1 = LOGSTATUS
            return ExtensionResponse(ExtensionStatus(1, "unsupported", None), [])
        self.log(request)
        return ExtensionResponse(ExtensionStatus(0, "OK", None), [])


class Distributed(Plugin):
    registry = "distributed"
    queries = {"queries": {}}

    def __init__(self):
        self.results = []

    def call(self, request):
        action = request.get("action")
        if action == "getQueries":
            return ExtensionResponse(ExtensionStatus(0, "OK", None),
                                     [{"results": json.dumps(self.queries)}])
        if action == "writeResults":
            self.results.append(request.get("results"))
            return ExtensionResponse(ExtensionStatus(0, "OK", None), [])
        return ExtensionResponse(ExtensionStatus(1, "unsupported action", None), [])


class _Handler:
    def __init__(self, plugins, log_path):
        self.plugins = {(p.registry, p.name): p for p in plugins}
        self.log_path = log_path
        self.lock = threading.Lock()

    def ping(self):
        return ExtensionStatus(0, "OK", None)

    def call(self, registry, item, request):
        if self.log_path:
            with self.lock, open(self.log_path, "a") as f:
                f.write(json.dumps({"registry": registry, "item": item,
                                    "request": request}) + "\n")
        p = self.plugins.get((registry, item))
        if p is None:
            return ExtensionResponse(
                ExtensionStatus(1, "Extension registry does not contain "
                                "requested plugin", None), [])
        return p.call(request)

    def shutdown(self):
        print("OSQTEST-SHUTDOWN", flush=True)
        if getattr(self, "deregister_on_shutdown", False):
            # osquery-go: deregister from inside the handler, then stop
            client, lock = self.manager
            with lock:
                st = client.deregisterExtension(self.uuid)
            print("OSQTEST-DEREGISTERED %d %s" % (st.code, st.message), flush=True)
        threading.Thread(target=lambda: (time.sleep(1), os._exit(0)),
                         daemon=True).start()


def manager_client(path, timeout=None):
    sock = TSocket.TSocket(unix_socket=path)
    if timeout:
        sock.setTimeout(int(timeout * 1000))
    trans = TTransport.TBufferedTransport(sock)
    client = ExtensionManager.Client(TBinaryProtocol.TBinaryProtocol(trans))
    trans.open()
    return client, trans


def _args(argv):
    opts = {"socket": None, "timeout": "1", "interval": "1",
            "osqtest-log": None}
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--verbose":
            i += 1
            continue
        key = a[2:].split("=", 1)
        if len(key) == 2:
            opts[key[0]] = key[1]
            i += 1
        elif i + 1 >= len(argv) or argv[i + 1].startswith("--"):
            opts[key[0]] = "true"  # a bare switch
            i += 1
        else:
            opts[key[0]] = argv[i + 1]
            i += 2
    return opts


def _serve_simple(transport, processor, threaded):
    tf = TTransport.TBufferedTransportFactory()
    pf = TBinaryProtocol.TBinaryProtocolFactory()

    def handle(client):
        itrans = tf.getTransport(client)
        otrans = tf.getTransport(client)
        iprot = pf.getProtocol(itrans)
        oprot = pf.getProtocol(otrans)
        try:
            while True:
                processor.process(iprot, oprot)
        except Exception:
            pass
        itrans.close()
        otrans.close()

    while True:
        client = transport.accept()
        if client is None:
            continue
        if threaded:
            threading.Thread(target=handle, args=(client,), daemon=True).start()
        else:
            handle(client)


def main(name, plugins, version="1.0.0", sdk_version="3.0.7",
         min_sdk_version="1.8.0", server="simple", registry=None, argv=None,
         deregister_on_shutdown=False):
    """Register with the manager named by --socket and serve forever.
    registry: a full ExtensionRegistry to send instead of the plugins'.
    deregister_on_shutdown: call deregisterExtension from inside the
    shutdown() handler, as osquery-go does."""
    opts = _args(argv or sys.argv)
    path = opts["socket"]
    deadline = time.monotonic() + float(opts["timeout"])
    while True:
        try:
            client, trans = manager_client(path)
            break
        except Exception:
            if time.monotonic() > deadline:
                print("OSQTEST-FAILED -1 cannot connect to %s" % path, flush=True)
                sys.exit(1)
            time.sleep(0.05)
    if registry is None:
        registry = {}
        for p in plugins:
            registry.setdefault(p.registry, {})[p.name] = p.routes()
    info = InternalExtensionInfo(name=name, version=version,
                                 sdk_version=sdk_version,
                                 min_sdk_version=min_sdk_version)
    st = client.registerExtension(info, registry)
    if st.code != 0:
        print("OSQTEST-FAILED %d %s" % (st.code, st.message), flush=True)
        sys.exit(1)
    uuid = st.uuid
    lock = threading.Lock()

    def watch():
        while True:
            time.sleep(float(opts["interval"]))
            try:
                with lock:
                    if client.ping().code != 0:
                        os._exit(1)
            except Exception:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    sock_path = "%s.%d" % (path, uuid)
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    handler = _Handler(plugins, opts["osqtest-log"])
    handler.manager = (client, lock)
    handler.uuid = uuid
    handler.deregister_on_shutdown = deregister_on_shutdown
    processor = Extension.Processor(handler)
    transport = TSocket.TServerSocket(unix_socket=sock_path)
    transport.listen()
    print("OSQTEST-READY %d" % uuid, flush=True)
    _serve_simple(transport, processor, server == "threaded")
