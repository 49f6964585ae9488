#!/usr/bin/python3
"""osqd against the in-project fleet server (osqtest/fleetserver.py),
over TLS on 127.0.0.1: Fleet's flagfile as it is (enroll, config fetch
and refresh, result and status logs with osquery's bodies, a live query),
no line lost or repeated across a server outage and an osqd restart, the
last good config used when the server is down at start, refused
certificates (unknown CA, expired, wrong host name) and re-enrollment on
node_invalid."""
import collections
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402
from osqtest import fleetserver  # noqa: E402

WAIT = 90  # generous: the machine may be busy

_certs = None


def certs():
    global _certs
    if _certs is None:
        _certs = fleetserver.make_certs(osqtest.workdir("fleet-certs-"))
    return _certs


def fleet_flagfile(d, srv, ca):
    """The flagfile Fleet hands out, with paths pointing at the test."""
    secret = os.path.join(d, "secret.txt")
    with open(secret, "w") as f:
        f.write("s3cret\n")
    path = os.path.join(d, "osquery.flags")
    with open(path, "w") as f:
        f.write("\n".join([
            "--tls_hostname=" + srv.hostname,
            "--tls_server_certs=" + ca,
            "--enroll_secret_path=" + secret,
            "--host_identifier=uuid",
            "--enroll_tls_endpoint=/api/osquery/enroll",
            "--config_plugin=tls",
            "--config_tls_endpoint=/api/v1/osquery/config",
            "--config_refresh=10",
            "--disable_distributed=false",
            "--distributed_plugin=tls",
            "--distributed_interval=10",
            "--distributed_tls_max_attempts=3",
            "--distributed_tls_read_endpoint=/api/v1/osquery/distributed/read",
            "--distributed_tls_write_endpoint=/api/v1/osquery/distributed/write",
            "--logger_plugin=tls",
            "--logger_tls_endpoint=/api/v1/osquery/log",
            "--logger_tls_period=10",
            "--disable_carver=false",
            "--carver_start_endpoint=/api/v1/osquery/carve/begin",
            "--carver_continue_endpoint=/api/v1/osquery/carve/block",
            "--carver_block_size=2000000",
        ]) + "\n")
    return path


class Osqd:
    def __init__(self, d, args, env=None):
        self.d = d
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.cmd = [osqtest.binary("osqd"),
                    "--database_path=" + os.path.join(d, "db", "osq.db"),
                    "--pidfile=" + os.path.join(d, "osqd.pid"),
                    "--extensions_socket=" + os.path.join(d, "osq.em"),
                    "--extensions_autoload=" + os.path.join(d, "ext.load"),
                    "--logger_path=" + os.path.join(d, "log"),
                    "--disable_watchdog"] + list(args)
        self.errpath = os.path.join(d, "stderr.%d" % time.monotonic_ns())
        self.proc = None

    def start(self):
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.err, env=self.env)
        return self

    def stderr(self):
        with open(self.errpath) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("osqd did not stop on SIGTERM")
        self.err.close()
        return self.proc.returncode


def key(line):
    return json.dumps(line, sort_keys=True)


def test_fleet_flagfile():
    d = osqtest.workdir("fleet-")
    srv = fleetserver.FleetServer(d, certs()).start()
    try:
        srv.set_config({"schedule": {"first": {"query": "select 1 as one",
                                               "interval": 1}}})
        ff = fleet_flagfile(d, srv, certs()["ca"])
        od = Osqd(d, ["--flagfile=" + ff]).start()
        try:
            enr = wait_until(lambda: srv.requests("enroll"), WAIT,
                             "an enroll request", od.proc)[0]["body"]
            eq(enr["enroll_secret"], "s3cret", "enroll secret")
            check(len(enr["host_identifier"]) == 36, enr["host_identifier"])
            for t in ("os_version", "osquery_info", "system_info",
                      "platform_info"):
                check(isinstance(enr["host_details"].get(t), dict), t)
            check("version" in enr["host_details"]["osquery_info"],
                  "osquery_info row sent")
            cfg = wait_until(lambda: srv.requests("config"), WAIT,
                             "a config request", od.proc)[0]
            check(cfg["body"]["node_key"].startswith("node-key-"),
                  "config request carries the node key")
            check(cfg["user_agent"].startswith("osquery/"), cfg["user_agent"])
            # scheduled results with osquery's body
            wait_until(lambda: any(l.get("name") == "first"
                                   for l in srv.log_data("result")),
                       WAIT, "a result line for 'first'", od.proc)
            log = next(r["body"] for r in srv.requests("log")
                       if r["body"]["log_type"] == "result")
            eq(sorted(log), ["data", "log_type", "node_key"], "log body keys")
            line = next(l for l in log["data"] if l["name"] == "first")
            for k in ("hostIdentifier", "calendarTime", "unixTime", "action"):
                check(k in line, k)
            st = wait_until(lambda: srv.log_data("status"), WAIT,
                            "status lines", od.proc)
            for k in ("hostIdentifier", "calendarTime", "unixTime",
                      "severity", "filename", "line", "message", "version"):
                check(k in st[0], "status line has %s: %r" % (k, st[0]))
            # a refreshed config is applied (--config_refresh=10)
            srv.set_config({"schedule": {"second": {"query":
                                                    "select 2 as two",
                                                    "interval": 1}}})
            wait_until(lambda: any(l.get("name") == "second"
                                   for l in srv.log_data("result")),
                       WAIT, "a result line for the refreshed config",
                       od.proc)
            # a live query round-trips, a failing one reports its status
            srv.add_queries({"live1": "select 42 as answer",
                             "bad": "select * from no_such_table"})
            w = wait_until(lambda: srv.requests("write"), WAIT,
                           "a distributed write", od.proc)[0]["body"]
            eq(w["queries"]["live1"], [{"answer": "42"}], "live results")
            eq(w["statuses"]["live1"], 0, "status of live1")
            check(w["statuses"]["bad"] != 0, "failing query status")
            check("no_such_table" in w["messages"]["bad"], w["messages"])
            check(w["node_key"].startswith("node-key-"), "write node key")
            # one kept-alive connection per plugin: requests share peers
            peers = [r["peer"] for r in srv.requests("log")]
            check(len(set(peers)) < len(peers),
                  "log requests reuse a connection: %r" % peers)
        finally:
            eq(od.stop(), 0, "osqd exit code: " + od.stderr()[-2000:])
        eq(len(srv.requests("enroll")), 1, "enrolled once")
    finally:
        srv.kill()


def short_flags(d, srv, extra=()):
    secret = os.path.join(d, "secret.txt")
    with open(secret, "w") as f:
        f.write("s3cret")
    return ["--flagfile=/dev/null",
            "--tls_hostname=" + srv.hostname,
            "--tls_server_certs=" + certs()["ca"],
            "--enroll_secret_path=" + secret,
            "--enroll_tls_endpoint=/api/osquery/enroll",
            "--config_plugin=tls",
            "--config_tls_endpoint=/api/v1/osquery/config",
            "--config_tls_max_attempts=1",
            "--logger_tls_endpoint=/api/v1/osquery/log",
            "--logger_tls_period=1"] + list(extra)


def test_outage_and_restart_lose_nothing():
    d = osqtest.workdir("fleet-out-")
    srv = fleetserver.FleetServer(d, certs()).start()
    try:
        srv.set_config({"schedule": {"tick": {
            "query": "select unix_time from time", "interval": 1,
            "snapshot": True}}})
        flags = short_flags(d, srv, ["--logger_plugin=tls,filesystem",
                                     "--logger_tls_compress=true",
                                     "--logger_tls_max_lines=2"])
        od = Osqd(d, flags).start()
        wait_until(lambda: len(srv.log_data("result")) >= 3, WAIT,
                   "three result lines", od.proc)
        srv.kill()
        # lines keep coming while the server is down, and osqd restarts
        snaps = os.path.join(d, "log", "osqueryd.snapshots.log")

        def nlines():
            with open(snaps) as f:
                return len(f.read().splitlines())
        n0 = nlines()
        wait_until(lambda: nlines() >= n0 + 3, WAIT, "lines during outage",
                   od.proc)
        eq(od.stop(), 0, "osqd exit code")
        od = Osqd(d, flags).start()  # the config comes from the backup
        wait_until(lambda: nlines() >= n0 + 6, WAIT,
                   "lines after the restart, server still down", od.proc)
        check("using the last good config" in od.stderr(), od.stderr())
        srv.set_config({"schedule": {}})
        srv.start()
        # osqd stops producing lines once it reads the empty schedule
        wait_until(lambda: any(r["body"] == {"node_key":
                                             r["body"].get("node_key")}
                               for r in srv.requests("config")),
                   WAIT, "a config request after the outage", od.proc)

        def delivered():
            with open(snaps) as f:
                written = collections.Counter(
                    key(json.loads(l)) for l in f.read().splitlines() if l)
            got = collections.Counter(key(l) for l in srv.log_data("result"))
            return written == got and (written, got)
        # refreshes come every config_refresh; restart osqd to pick up the
        # empty schedule at once
        eq(od.stop(), 0, "osqd exit code")
        od = Osqd(d, flags).start()
        written, got = wait_until(delivered, WAIT,
                                  "every line delivered exactly once",
                                  od.proc) or (None, None)
        check(sum(got.values()) >= 9, "lines from before, during and after "
              "the outage: %d" % sum(got.values()))
        gz = [r for r in srv.requests("log")]
        check(all(r["content_encoding"] == "gzip" for r in gz),
              "--logger_tls_compress sends gzip")
        check(all(len(r["body"]["data"]) <= 2 for r in gz),
              "--logger_tls_max_lines=2 per request")
        eq(od.stop(), 0, "osqd exit code")
        eq(len(srv.requests("enroll")), 1, "the node key survived restarts")
    finally:
        srv.kill()


def test_node_invalid_reenrolls():
    d = osqtest.workdir("fleet-inv-")
    srv = fleetserver.FleetServer(d, certs()).start()
    try:
        srv.set_config({"schedule": {"tick": {
            "query": "select unix_time from time", "interval": 1,
            "snapshot": True}}})
        flags = [f for f in short_flags(d, srv, ["--logger_plugin=tls"])
                 if not f.startswith("--enroll_secret_path")]
        od = Osqd(d, flags + ["--enroll_secret_env=OSQ_FLEET_SECRET"],
                  env={"OSQ_FLEET_SECRET": "s3cret"}).start()
        try:
            wait_until(lambda: srv.log_data("result"), WAIT, "a result line",
                       od.proc)
            srv.invalidate_next()
            enrolls = wait_until(lambda: len(srv.requests("enroll")) >= 2 and
                                 srv.requests("enroll"), WAIT,
                                 "a second enrollment", od.proc)
            new_key = enrolls[1]["node_key"]
            wait_until(lambda: any(r["body"]["node_key"] == new_key and
                                   r["accepted"]
                                   for r in srv.requests("log")),
                       WAIT, "logs sent with the new node key", od.proc)
            # the rejected batch is sent again: no line lost
            rejected = [r for r in srv.requests("log") if not r["accepted"]]
            eq(len(rejected), 1, "one rejected log request")
            body = rejected[0]["body"]

            def resent():
                got = {key(l) for l in srv.log_data(body["log_type"])}
                return all(key(l) in got for l in body["data"])
            wait_until(resent, WAIT, "the rejected lines delivered later",
                       od.proc)
        finally:
            eq(od.stop(), 0, "osqd exit code")
    finally:
        srv.kill()


def test_denylisted_live_query():
    """A query still marked as running in the store (what a worker killed
    by it leaves behind) is not run again within
    --distributed_denylist_duration; others are."""
    import hashlib
    import sqlite3
    d = osqtest.workdir("fleet-deny-")
    srv = fleetserver.FleetServer(d, certs()).start()
    try:
        srv.set_config({})
        crash = "select 1 as crashed_before"
        os.makedirs(os.path.join(d, "db"))
        db = sqlite3.connect(os.path.join(d, "db", "osq.db"))
        db.execute("CREATE TABLE settings(key TEXT PRIMARY KEY,"
                   " value TEXT NOT NULL)")
        db.execute("INSERT INTO settings VALUES(?, ?)",
                   ("distributed_running." +
                    hashlib.sha1(crash.encode()).hexdigest(),
                    str(int(time.time()))))
        db.commit()
        db.close()
        srv.add_queries({"again": crash, "fine": "select 2 as two"})
        od = Osqd(d, short_flags(d, srv, [
            "--logger_plugin=filesystem", "--disable_distributed=false",
            "--distributed_plugin=tls", "--distributed_interval=1",
            "--distributed_tls_read_endpoint=/api/v1/osquery/distributed/read",
            "--distributed_tls_write_endpoint="
            "/api/v1/osquery/distributed/write", "--tls_dump"])).start()
        try:
            w = wait_until(lambda: srv.requests("write"), WAIT,
                           "a distributed write", od.proc)[0]["body"]
        finally:
            eq(od.stop(), 0, "osqd exit code")
        eq(w["statuses"], {"again": 1, "fine": 0}, "statuses")
        eq(w["messages"], {"again": "Query is denylisted"}, "messages")
        eq(w["queries"]["fine"], [{"two": "2"}], "the other query ran")
        err = od.stderr()
        check("[tls_dump] POST https://%s/api/v1/osquery/distributed/read"
              % srv.hostname in err, "--tls_dump shows requests")
        check("[tls_dump] REPLY" in err, "--tls_dump shows replies")
    finally:
        srv.kill()


def refused(cert, use_ca, expect):
    d = osqtest.workdir("fleet-bad-")
    srv = fleetserver.FleetServer(d, certs(), cert=cert).start()
    try:
        flags = short_flags(d, srv, ["--logger_plugin=filesystem"])
        if not use_ca:
            flags = [f for f in flags if not f.startswith("--tls_server_certs")]
        od = Osqd(d, flags).start()
        try:
            wait_until(lambda: "Enrollment failed" in od.stderr(), WAIT,
                       "the enrollment failure", od.proc)
        finally:
            od.stop()
        err = od.stderr()
        check(expect in err, "expected %r in: %s" % (expect, err[-3000:]))
        eq(srv.requests(), [], "nothing reached the server")
    finally:
        srv.kill()


def test_client_certificate():
    """A server that requires TLS client authentication refuses osqd
    without --tls_client_cert and accepts it with one."""
    d = osqtest.workdir("fleet-cli-")
    srv = fleetserver.FleetServer(d, certs(), client_auth=True).start()
    try:
        srv.set_config({})
        pem, key = certs()["client"]
        flags = short_flags(d, srv, ["--logger_plugin=filesystem"])
        od = Osqd(d, flags).start()
        try:
            wait_until(lambda: "Enrollment failed" in od.stderr(), WAIT,
                       "the enrollment failure", od.proc)
        finally:
            od.stop()
        eq(srv.requests(), [], "nothing reached the server without a cert")
        od = Osqd(d, flags + ["--tls_client_cert=" + pem,
                              "--tls_client_key=" + key]).start()
        try:
            wait_until(lambda: srv.requests("config"), WAIT,
                       "a config request with a client cert", od.proc)
        finally:
            eq(od.stop(), 0, "osqd exit code")
    finally:
        srv.kill()


def test_unknown_ca_refused():
    refused("good", False, "unable to get local issuer certificate")


def test_expired_refused():
    refused("expired", True, "certificate has expired")


def test_wrong_hostname_refused():
    refused("wronghost", True, "no alternative certificate subject name matches")


def test_node_api_and_secret_always():
    """--tls_node_api puts the node key in the URL (a path segment and a
    node_key parameter, not the body); --tls_secret_always adds the enroll
    secret to every URL under --tls_enroll_override's name."""
    d = osqtest.workdir("fleet-nodeapi-")
    srv = fleetserver.FleetServer(d, certs()).start()
    try:
        srv.set_config({"schedule": {"tick": {
            "query": "select 1 as one", "interval": 1, "snapshot": True}}})
        od = Osqd(d, short_flags(d, srv, [
            "--logger_plugin=tls", "--tls_node_api", "--tls_secret_always",
            "--tls_enroll_override=enroll_secret"])).start()
        try:
            logs = wait_until(
                lambda: [r for r in srv.requests("log") if r["accepted"]],
                WAIT, "an accepted log request", od.proc)
            enr = srv.requests("enroll")[0]
            eq(enr["raw_path"], "/api/osquery/enroll?enroll_secret=s3cret",
               "enroll URL")
            eq(enr["body"]["enroll_secret"], "s3cret", "secret in the body")
            k = enr["node_key"]
            cfg = srv.requests("config")[0]
            eq(cfg["raw_path"], "/%s/api/v1/osquery/config?enroll_secret="
               "s3cret&node_key=%s" % (k, k), "config URL")
            check("node_key" not in cfg["body"], "no node_key in the body")
            eq(logs[0]["raw_path"], "/%s/api/v1/osquery/log?enroll_secret="
               "s3cret&node_key=%s" % (k, k), "log URL")
            check("node_key" not in logs[0]["body"], "no node_key in the log")
            check(logs[0]["body"]["log_type"] in ("result", "status"),
                  "log_type")
        finally:
            eq(od.stop(), 0, "osqd exit code")
    finally:
        srv.kill()


def test_enroll_max_attempts():
    """--tls_enroll_max_attempts ends a round of failed enrollments; the
    next request that needs a key starts a new round, which succeeds once
    the server takes the secret."""
    d = osqtest.workdir("fleet-enrmax-")
    srv = fleetserver.FleetServer(d, certs(), secret="other").start()
    try:
        srv.set_config({})
        od = Osqd(d, short_flags(d, srv, [
            "--logger_plugin=filesystem", "--config_refresh=1",
            "--config_accelerated_refresh=1", "--tls_enroll_max_attempts=2",
            "--tls_enroll_max_interval=1"])).start()
        try:
            wait_until(lambda: "Enrollment failed 2 times in a row" in
                       od.stderr(), WAIT, "the end of a round", od.proc)
            refused = [r for r in srv.requests("enroll")
                       if not r["accepted"]]
            check(len(refused) >= 2, "two refused enrollments: %d" %
                  len(refused))
            check("Enrollment failed 3 times" not in od.stderr(),
                  "a round is at most 2 attempts")
            with open(os.path.join(d, "secret"), "w") as f:
                f.write("s3cret")
            wait_until(lambda: srv.requests("config"), WAIT,
                       "a config request after a later round", od.proc)
            check(any(r["accepted"] for r in srv.requests("enroll")),
                  "an accepted enrollment")
        finally:
            eq(od.stop(), 0, "osqd exit code")
    finally:
        srv.kill()


if __name__ == "__main__":
    osqtest.run_tests([test_fleet_flagfile, test_outage_and_restart_lose_nothing,
                       test_node_invalid_reenrolls, test_denylisted_live_query,
                       test_client_certificate, test_unknown_ca_refused,
                       test_expired_refused, test_wrong_hostname_refused,
                       test_node_api_and_secret_always,
                       test_enroll_max_attempts])
