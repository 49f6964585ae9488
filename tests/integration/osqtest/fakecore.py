"""A fake osquery core for SDK tests: an ExtensionManager served by Apache
Thrift's own Python server (threaded, buffered transport, binary protocol),
recording what extensions send and answering as the test tells it.

    core = FakeCore(path)           # serving on path
    core.wait_registered()          # -> (info, registry, uuid)
    core.drop(uuid)                 # extensions() stops listing it
    core.vanish()                   # socket file removed, stops serving
"""
import os
import threading

import osqtest


class FakeCore:
    def __init__(self, path, refuse=None, options=None, first_uuid=1000):
        from thrift.protocol import TBinaryProtocol
        from thrift.server import TServer
        from thrift.transport import TSocket, TTransport
        a = osqtest.api()
        self.t = a.ttypes
        self.path = path
        self.refuse = refuse  # message: registerExtension answers code 1
        self.options_map = options or {}
        self.next_uuid = first_uuid
        self.cond = threading.Condition()
        self.registrations = []  # (info, registry, uuid)
        self.deregistered = []
        self.dropped = set()
        self.queries = []
        self.query_rows = {}
        self.calls = 0
        if os.path.exists(path):
            os.unlink(path)
        self.server_socket = TSocket.TServerSocket(unix_socket=path)
        proc = a.ExtensionManager.Processor(self)
        self.server = TServer.TThreadedServer(
            proc, self.server_socket, TTransport.TBufferedTransportFactory(),
            TBinaryProtocol.TBinaryProtocolFactory())
        self.server.daemon = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        osqtest.wait_socket(path)

    def _serve(self):
        try:
            self.server.serve()
        except Exception:
            pass  # vanish() closed the listening socket

    # ---- the ExtensionManager service --------------------------------------
    def ping(self):
        return self.t.ExtensionStatus(code=0, message="pong", uuid=0)

    def call(self, registry, item, request):
        return self.t.ExtensionResponse(
            status=self.t.ExtensionStatus(
                code=1, message="Unknown registry requested: %s" % registry,
                uuid=0),
            response=[])

    def shutdown(self):
        pass

    def extensions(self):
        with self.cond:
            self.calls += 1
            self.cond.notify_all()
            return {u: i for (i, _, u) in self.registrations
                    if u not in self.dropped and u not in self.deregistered}

    def options(self):
        return {k: self.t.InternalOptionInfo(value=v, default_value="",
                                             type="string")
                for k, v in self.options_map.items()}

    def registerExtension(self, info, registry):
        with self.cond:
            if self.refuse:
                return self.t.ExtensionStatus(code=1, message=self.refuse,
                                              uuid=0)
            uuid = self.next_uuid
            self.next_uuid += 1
            self.registrations.append((info, registry, uuid))
            self.cond.notify_all()
            return self.t.ExtensionStatus(code=0, message="OK", uuid=uuid)

    def deregisterExtension(self, uuid):
        with self.cond:
            self.deregistered.append(uuid)
            self.cond.notify_all()
        return self.t.ExtensionStatus(code=0, message="OK", uuid=0)

    def query(self, sql):
        with self.cond:
            self.queries.append(sql)
        if sql in self.query_rows:
            return self.t.ExtensionResponse(
                status=self.t.ExtensionStatus(code=0, message="OK", uuid=0),
                response=self.query_rows[sql])
        return self.t.ExtensionResponse(
            status=self.t.ExtensionStatus(code=1, message="no such table: x",
                                          uuid=0),
            response=[])

    def getQueryColumns(self, sql):
        return self.query(sql)

    # ---- test controls ------------------------------------------------------
    def wait_registered(self, n=1, timeout=60.0):
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.registrations) >= n,
                                    timeout)
        if not ok:
            raise AssertionError("no registration within %.0fs" % timeout)
        return self.registrations[n - 1]

    def wait_deregistered(self, uuid, timeout=60.0):
        with self.cond:
            return self.cond.wait_for(lambda: uuid in self.deregistered,
                                      timeout)

    def wait_extensions_calls(self, n, timeout=60.0):
        with self.cond:
            return self.cond.wait_for(lambda: self.calls >= n, timeout)

    def drop(self, uuid):
        with self.cond:
            self.dropped.add(uuid)

    def vanish(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        try:
            self.server_socket.close()
        except Exception:
            pass
