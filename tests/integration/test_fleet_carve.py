#!/usr/bin/python3
"""File carving against the in-project fleet server: a live query asks
the carves table for carve=1 and a path; osqd uploads a tar of the file
in blocks to the carve begin/block endpoints; the reassembled archive
holds the file byte-identical, and the carves table then reports the
carve's status, size and sha256. Once more with --carver_compression
(zstd) when the zstd CLI is there to decompress it, and through the
carve() SQL function (refused unless --carver_disable_function=false).
A one-shot osqi with the carver flags carves as osqueryi does and exits
only after the upload; without them it has no carves table."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402
from osqtest import fleetserver  # noqa: E402
from test_fleet import WAIT, Osqd, certs, fleet_flagfile  # noqa: E402

BLOCK = 1000


def flagfile(d, srv, extra):
    """Fleet's flagfile with a short distributed interval and small blocks
    (so that a carve takes several), plus extra."""
    path = fleet_flagfile(d, srv, certs()["ca"])
    with open(path) as f:
        lines = [l for l in f.read().splitlines()
                 if not l.startswith(("--distributed_interval=",
                                      "--carver_block_size="))]
    lines += ["--distributed_interval=1", "--carver_block_size=%d" % BLOCK]
    lines += extra
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def live(srv, name, sql, od):
    """Run sql as live query name; its rows."""
    srv.add_queries({name: sql})

    def answered():
        for r in srv.requests("write"):
            if name in r["body"].get("queries", {}):
                return r["body"]
        return None
    body = wait_until(answered, WAIT, "the answer to " + name, od.proc)
    eq(body["statuses"][name], 0, "status of " + name)
    return body["queries"][name]


def carve_once(compression, function=False):
    d = osqtest.workdir("fleet-carve-")
    srv = fleetserver.FleetServer(d, certs()).start()
    target = os.path.join(d, "evidence.bin")
    data = os.urandom(5 * BLOCK + 123)
    with open(target, "wb") as f:
        f.write(data)
    extra = ["--carver_compression=true"] if compression else []
    if function:
        extra.append("--carver_disable_function=false")
    od = Osqd(d, ["--flagfile=" + flagfile(d, srv, extra)]).start()
    try:
        if function:
            rows = live(srv, "carve1", "SELECT carve(path) AS guid FROM file "
                        "WHERE path = '%s'" % target, od)
            eq(len(rows), 1, "rows of the carve() query: %r" % rows)
            guid = rows[0]["guid"]
            check(len(guid) == 36, "carve() gave a carve_guid: %r" % guid)
        else:
            rows = live(srv, "carve1", "SELECT * FROM carves WHERE carve = 1 "
                        "AND path = '%s'" % target, od)
            eq(len(rows), 1, "rows of the carve query: %r" % rows)
            guid = rows[0]["carve_guid"]
            eq(rows[0]["path"], target, "carve path")
            eq(rows[0]["request_id"], "carve1", "carve request_id")
            check(rows[0]["status"] in ("PENDING", "SUCCESS"),
                  "status when started: %r" % rows[0]["status"])
        archive = wait_until(lambda: srv.carve(guid), WAIT,
                             "every block of carve " + guid, od.proc)
        begin = [r["body"] for r in srv.requests("carve_begin")][-1]
        eq(begin["carve_size"], len(archive), "carve_size")
        eq(begin["block_size"], BLOCK, "block_size")
        eq(begin["block_count"], (len(archive) + BLOCK - 1) // BLOCK,
           "block_count")
        check(begin["node_key"].startswith(fleetserver.NODE_KEY_PREFIX),
              "node_key sent with the carve")
        eq(begin["request_id"], "carve1", "request_id sent")
        tar_bytes = archive
        if compression:
            eq(archive[:4], b"\x28\xb5\x2f\xfd", "zstd magic")
            tar_bytes = subprocess.run(["zstd", "-d", "-c"], input=archive,
                                       stdout=subprocess.PIPE,
                                       check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as t:
            names = t.getnames()
            eq(names, [target.lstrip("/")], "archive members")
            eq(t.extractfile(names[0]).read(), data, "carved bytes")

        def done():
            r = live(srv, "status%d" % done.n,
                     "SELECT status, sha256, size FROM carves "
                     "WHERE carve_guid = '%s'" % guid, od)
            done.n += 1
            return r if r and r[0]["status"] != "PENDING" else None
        done.n = 0
        st = wait_until(done, WAIT, "the carve's final status", od.proc)
        eq(st[0]["status"], "SUCCESS", "carve status")
        eq(st[0]["sha256"], hashlib.sha256(archive).hexdigest(), "sha256")
        eq(int(st[0]["size"]), len(archive), "size")
    finally:
        od.stop()
        srv.kill()


def test_carve_arrives_byte_identical():
    carve_once(False)


def test_carve_function():
    carve_once(False, function=True)


def test_carve_function_disabled_by_default():
    d = osqtest.workdir("fleet-carve-")
    srv = fleetserver.FleetServer(d, certs()).start()
    od = Osqd(d, ["--flagfile=" + flagfile(d, srv, [])]).start()
    try:
        srv.add_queries({"f": "SELECT carve(path) FROM file "
                              "WHERE path = '/etc/hostname'"})
        w = wait_until(lambda: [r["body"] for r in srv.requests("write")
                                if "f" in r["body"].get("queries", {})],
                       WAIT, "the answer to f", od.proc)[0]
        eq(w["statuses"]["f"], 1, "status of a disabled carve()")
        check("carver_disable_function" in w.get("messages", {}).get("f", ""),
              "the message names the flag: %r" % w.get("messages"))
        eq(srv.requests("carve_begin"), [], "no carve started")
    finally:
        od.stop()
        srv.kill()


def test_carve_compressed():
    if shutil.which("zstd") is None:
        print("SKIP: no zstd CLI to decompress with (scripts/setup.sh)")
        return
    carve_once(True)


def osqi_flags(d, srv):
    """The flags an osqueryi command line names to carve: enrollment and
    the carver endpoints, no config, logger or distributed plugin."""
    secret = os.path.join(d, "secret.txt")
    with open(secret, "w") as f:
        f.write("s3cret\n")
    return ["--tls_hostname=" + srv.hostname,
            "--tls_server_certs=" + certs()["ca"],
            "--enroll_secret_path=" + secret,
            "--enroll_tls_endpoint=/api/osquery/enroll",
            "--disable_carver=false",
            "--carver_start_endpoint=/api/v1/osquery/carve/begin",
            "--carver_continue_endpoint=/api/v1/osquery/carve/block",
            "--carver_block_size=%d" % BLOCK]


def run_osqi(d, args):
    env = dict(os.environ, HOME=d)
    return subprocess.run([osqtest.binary("osqi")] + args, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=2 * WAIT)


def test_osqi_carves_one_shot():
    d = osqtest.workdir("fleet-carve-osqi-")
    srv = fleetserver.FleetServer(d, certs()).start()
    try:
        target = os.path.join(d, "evidence.bin")
        data = os.urandom(3 * BLOCK + 45)
        with open(target, "wb") as f:
            f.write(data)
        p = run_osqi(d, osqi_flags(d, srv) + [
            "--json", "SELECT carve_guid, path, status FROM carves "
            "WHERE carve = 1 AND path = '%s'" % target])
        eq(p.returncode, 0, "osqi's exit code (stderr %r)" % p.stderr)
        rows = json.loads(p.stdout)
        eq(len(rows), 1, "rows of the carve query: %r" % rows)
        eq(rows[0]["path"], target, "carve path")
        check(rows[0]["status"] in ("PENDING", "SUCCESS"),
              "status when started: %r" % rows[0]["status"])
        guid = rows[0]["carve_guid"]
        # osqi returned: the upload already ended, no waiting here
        archive = srv.carve(guid)
        check(archive is not None, "every block arrived before osqi exited")
        begin = [r["body"] for r in srv.requests("carve_begin")][-1]
        eq(begin["carve_size"], len(archive), "carve_size")
        eq(begin["request_id"], "", "no distributed query: no request_id")
        check(begin["node_key"].startswith(fleetserver.NODE_KEY_PREFIX),
              "osqi enrolled and sent its node_key")
        with tarfile.open(fileobj=io.BytesIO(archive)) as t:
            names = t.getnames()
            eq(names, [target.lstrip("/")], "archive members")
            eq(t.extractfile(names[0]).read(), data, "carved bytes")
    finally:
        srv.kill()


def test_osqi_without_carver_flags_has_no_carves():
    d = osqtest.workdir("fleet-carve-osqi-")
    srv = fleetserver.FleetServer(d, certs()).start()
    try:
        flags = [f for f in osqi_flags(d, srv)
                 if not f.startswith("--disable_carver=")]
        for args in (["SELECT * FROM carves"],
                     flags + ["SELECT * FROM carves"]):
            p = run_osqi(d, args)
            check(p.returncode != 0, "carves is no table: %r" % p.stdout)
            check(b"no such table: carves" in p.stderr,
                  "the error names the table: %r" % p.stderr)
        eq(srv.requests("enroll"), [], "osqi without the carver never enrolls")
    finally:
        srv.kill()


if __name__ == "__main__":
    osqtest.run_tests([test_carve_arrives_byte_identical,
                       test_carve_function,
                       test_carve_function_disabled_by_default,
                       test_carve_compressed,
                       test_osqi_carves_one_shot,
                       test_osqi_without_carver_flags_has_no_carves])
