"""The kafka_producer logger in the real osqd against librdkafka's mock
cluster (the kafka_mock helper, one broker on loopback): result lines on
the topic kafka_topics names for their query, other lines on the base
topic, keyed "<hostname>_<binary name>" as osquery keys them; every line
the daemon logged arrives although the broker was down for a while; a
daemon whose Kafka settings are unusable keeps its lines in the results
store; over ssl:// through a TLS front to the mock (test_ssl_brokers)."""
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402
from osqtest import fleetserver  # noqa: E402

READ_MS = 60000  # a loaded machine meets it; a pass returns early


class KafkaMock:
    def __init__(self, topics):
        self.proc = subprocess.Popen(
            [osqtest.binary("tests/kafka_mock")] + list(topics),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        first = self.proc.stdout.readline().split()
        eq(first[:1], ["bootstrap"], "kafka_mock's first line")
        self.bootstrap = first[1]

    def command(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        out = []
        while True:
            line = self.proc.stdout.readline()
            check(line != "", "kafka_mock exited")
            line = line.rstrip("\n")
            if line == "ok" or line.startswith("end "):
                return out
            check(line.startswith("msg\t"), "kafka_mock said %r" % line)
            _, key, value = line.split("\t", 2)
            out.append((key, value))

    def read(self, topic, want, ms=READ_MS):
        return self.command("read %s %d %d" % (topic, want, ms))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(30)


class Daemon:
    def __init__(self, d, binary_name, config, args):
        self.d = d
        self.logs = os.path.join(d, "log")
        conf = os.path.join(d, "osq.conf")
        with open(conf, "w") as f:
            json.dump(config, f)
        # a drop-in osqueryd keys its messages as osquery's does
        exe = os.path.join(d, binary_name)
        os.symlink(osqtest.binary("osqd"), exe)
        self.cmd = [exe, "--config_path=" + conf,
                    "--database_path=" + os.path.join(d, "db", "osq.db"),
                    "--logger_path=" + self.logs,
                    "--pidfile=" + os.path.join(d, "osqd.pid"),
                    "--extensions_socket=" + os.path.join(d, "osq.em"),
                    "--flagfile=/dev/null", "--disable_watchdog"] + args
        self.errpath = os.path.join(d, "stderr")
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.err)

    def lines(self, name):
        p = os.path.join(self.logs, name)
        if not os.path.exists(p):
            return []
        with open(p) as f:
            return [x for x in f.read().splitlines() if x]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.err.close()
        return rc

    def stderr(self):
        with open(self.errpath) as f:
            return f.read()


CONFIG = {
    "schedule": {
        # unix_time changes every run: every run logs lines
        "qa": {"query": "SELECT unix_time FROM time", "interval": 1},
        "qb": {"query": "SELECT unix_time AS t FROM time", "interval": 1,
               "snapshot": True},
    },
    "kafka_topics": {"osq_a": ["qa"]},
}


def names(msgs):
    return {json.loads(v)["name"] for _, v in msgs}


def test_topics_keys_and_outage():
    d = osqtest.workdir()
    mock = KafkaMock(["osq_base", "osq_a"])
    daemon = Daemon(d, "osqueryd", CONFIG, [
        "--logger_plugin=kafka_producer,filesystem",
        "--logger_kafka_brokers=" + mock.bootstrap,
        "--logger_kafka_topic=osq_base"])
    try:
        key = socket.gethostname() + "_osqueryd"
        on_a = mock.read("osq_a", 2)
        eq(len(on_a), 2, "result lines on osq_a")
        eq({k for k, _ in on_a}, {key}, "message keys")
        eq(names(on_a), {"qa"}, "queries on osq_a")
        on_base = mock.read("osq_base", 1)
        eq(len(on_base), 1, "snapshot lines on the base topic")
        eq({k for k, _ in on_base}, {key}, "message keys")
        eq(names(on_base), {"qb"}, "queries on the base topic")
        check("snapshot" in json.loads(on_base[0][1]), "a snapshot line")

        # the broker goes away while the daemon keeps logging
        mock.command("down")
        before = len(daemon.lines("osqueryd.results.log"))
        wait_until(lambda: len(daemon.lines("osqueryd.results.log"))
                   >= before + 3, 60, "results logged while the broker is "
                   "down", daemon.proc)
        mock.command("up")
        logged = daemon.lines("osqueryd.results.log")
        # lines logged after the outage arrive too
        wait_until(lambda: len(mock.read("osq_a", len(logged) + 2, 2000))
                   >= len(logged) + 2, 90, "lines after the outage",
                   daemon.proc)
        eq(daemon.stop(), 0, "osqd's exit code")

        results = daemon.lines("osqueryd.results.log")
        snaps = daemon.lines("osqueryd.snapshots.log")
        on_a = mock.read("osq_a", len(results))
        on_base = mock.read("osq_base", len(snaps))
        missing = set(results) - {v for _, v in on_a}
        eq(sorted(missing), [], "result lines missing from osq_a")
        missing = set(snaps) - {v for _, v in on_base}
        eq(sorted(missing), [], "snapshot lines missing from osq_base")
        eq(names(on_a), {"qa"}, "queries on osq_a")
        eq(names(on_base), {"qb"}, "queries on the base topic")
    finally:
        if daemon.proc.poll() is None:
            daemon.stop()
        mock.close()


def test_unusable_settings_keep_lines_waiting():
    """Neither a base topic nor kafka_topics: the plugin cannot start, as
    in osquery; its lines wait in the results store (osqd says so) while
    the filesystem logger goes on."""
    d = osqtest.workdir()
    config = {"schedule": CONFIG["schedule"]}
    daemon = Daemon(d, "osqd", config, [
        "--logger_plugin=filesystem,kafka_producer",
        "--logger_kafka_brokers=127.0.0.1:1"])
    try:
        wait_until(lambda: len(daemon.lines("osqueryd.results.log")) >= 2,
                   60, "results in the file", daemon.proc)
        eq(daemon.stop(), 0, "osqd's exit code")
        err = daemon.stderr()
        check("configuration is invalid" in err, err)
        check("kafka_producer did not take a result line" in err, err)
    finally:
        if daemon.proc.poll() is None:
            daemon.stop()


class TlsFront:
    """TLS in front of the mock broker, which speaks plaintext only.

    Kafka clients connect to the brokers that metadata replies name, so
    each reply frame from the broker has the broker's port, right after
    its host name, replaced by the front's (same length: a fixed int32);
    every connection thus comes back through the front. Requests pass
    unchanged."""

    def __init__(self, bootstrap, pem, key):
        self.host, port = bootstrap.rsplit(":", 1)
        self.up_port = int(port)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_cert_chain(pem, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self.rewrites = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,),
                             daemon=True).start()

    def _serve(self, raw):
        try:
            tls = self.ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        self.handshakes += 1
        up = socket.create_connection((self.host, self.up_port))
        threading.Thread(target=self._requests, args=(tls, up),
                         daemon=True).start()
        self._replies(up, tls)

    @staticmethod
    def _read(s, n):
        out = b""
        while len(out) < n:
            chunk = s.recv(n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out

    def _requests(self, tls, up):
        try:
            while True:
                data = tls.recv(65536)
                if not data:
                    break
                up.sendall(data)
        except (OSError, ssl.SSLError):
            pass
        up.close()

    def _replies(self, up, tls):
        old = self.host.encode() + struct.pack(">i", self.up_port)
        new = self.host.encode() + struct.pack(">i", self.port)
        try:
            while True:
                head = self._read(up, 4)
                body = self._read(up, struct.unpack(">i", head)[0])
                if old in body:
                    self.rewrites += 1
                    body = body.replace(old, new)
                tls.sendall(head + body)
        except (OSError, EOFError, ssl.SSLError):
            pass
        tls.close()

    def close(self):
        self.sock.close()


def test_ssl_brokers():
    """--logger_kafka_brokers=ssl://...: TLS with --tls_server_certs as
    the CA, as osquery's plugin does; lines arrive through the front."""
    d = osqtest.workdir()
    certs = fleetserver.make_certs(d)
    mock = KafkaMock(["osq_base", "osq_a"])
    pem, key = certs["good"]
    front = TlsFront(mock.bootstrap, pem, key)
    daemon = Daemon(d, "osqd", CONFIG, [
        "--logger_plugin=kafka_producer,filesystem",
        "--logger_kafka_brokers=ssl://127.0.0.1:%d" % front.port,
        "--logger_kafka_topic=osq_base",
        "--tls_server_certs=" + certs["ca"]])
    try:
        on_a = mock.read("osq_a", 2)
        eq(len(on_a), 2, "result lines on osq_a through TLS")
        eq(names(on_a), {"qa"}, "queries on osq_a")
        check(front.handshakes >= 1, "osqd spoke TLS to the front")
        check(front.rewrites >= 1, "metadata named the front")
        eq(daemon.stop(), 0, "osqd's exit code")
    finally:
        if daemon.proc.poll() is None:
            daemon.stop()
        front.close()
        mock.close()


def test_ssl_unknown_ca_sends_nothing():
    """The same front with a CA osqd does not trust: no line arrives and
    librdkafka's reason is in osqd's log."""
    d = osqtest.workdir()
    certs = fleetserver.make_certs(d)
    other = fleetserver.make_certs(os.path.join(d, "other"))
    mock = KafkaMock(["osq_base"])
    pem, key = certs["good"]
    front = TlsFront(mock.bootstrap, pem, key)
    daemon = Daemon(d, "osqd", {"schedule": CONFIG["schedule"]}, [
        "--logger_plugin=kafka_producer,filesystem",
        "--logger_kafka_brokers=ssl://127.0.0.1:%d" % front.port,
        "--logger_kafka_topic=osq_base",
        "--tls_server_certs=" + other["ca"]])
    try:
        wait_until(lambda: "certificate verify failed" in daemon.stderr(),
                   60, "the TLS failure in osqd's log", daemon.proc)
        eq(daemon.stop(), 0, "osqd's exit code")
        eq(front.handshakes, 0, "no TLS session was established")
        # osqd is gone: what the broker holds now is all it will get
        eq(mock.read("osq_base", 1, 100), [], "nothing reached the broker")
    finally:
        if daemon.proc.poll() is None:
            daemon.stop()
        front.close()
        mock.close()


if __name__ == "__main__":
    osqtest.run_tests([test_topics_keys_and_outage,
                       test_unusable_settings_keep_lines_waiting,
                       test_ssl_brokers, test_ssl_unknown_ca_sends_nothing])
