#!/usr/bin/python3
"""docker_containers against curl fetching the same JSON (issue 12's
goal: <= 1.5x), both from the stand-in Docker Engine API server of the
integration tests on a UNIX socket, with 200 generated containers.

  bench/docker_bench.py BUILD_DIR [RUNS]

osqi: `select * from docker_containers` with --docker_socket. select *
asks for the detail columns, so osq makes 1 + 200 requests: the list
(GET /containers/json?all=1) and one inspect per container
(GET /containers/<id>/json). The baseline is one curl process fetching
exactly the requests osq made (recorded by the server on a first run)
over --unix-socket. Whole processes, alternating runs; median wall time
and ratio (the goal's figure), plus the clients' own CPU time. Traffic goes only to the UNIX socket.
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from osqtest import fakehttp  # noqa: E402

build = sys.argv[1] if len(sys.argv) > 1 else "build"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
osqi = os.path.join(build, "osqi")
null = open(os.devnull, "w")
N = 200


def once(argv, cpu=None):
    """Wall time of one run; appends the client's CPU time (user + sys)
    to cpu: the wall time includes the Python server's answers, the CPU
    time is what the client itself spends."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(argv, stdout=null, stderr=null, check=True)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    return wall


def container(i, pid):
    """One list entry and its inspect reply, in the API's documented
    shapes (as tests/integration/test_docker_tables.py serves them).
    Running containers carry a live pid, so osq reads its namespaces as
    it would on a real host."""
    cid = "%012x" % (0x8dfafdbc3a40 + i) + "0123456789abcdef" * 3 + "%04x" % i
    img = "ca2b0f26964c" + "aa" * 24 + "%04x" % (i % 7)
    running = i % 4 != 3
    entry = {
        "Id": cid, "Names": ["/svc-%03d" % i], "Image": "nginx:1.25",
        "ImageID": "sha256:" + img, "Command": "nginx -g 'daemon off;'",
        "Created": 1700000000 + i,
        "State": "running" if running else "exited",
        "Status": "Up 2 hours" if running else "Exited (0) 3 days ago",
        "Ports": [{"PrivatePort": 80, "PublicPort": 8000 + i, "Type": "tcp",
                   "IP": "0.0.0.0"}],
        "Labels": {"com.example.tier": "front", "com.example.n": str(i)},
        "SizeRw": 12288, "SizeRootFs": 0,
        "HostConfig": {"NetworkMode": "default"},
        "NetworkSettings": {"Networks": {"bridge": {
            "NetworkID": "7d86d31b1478" + "cc" * 24 + "0b5e",
            "EndpointID": "2cdc4edb1ded" + "dd" * 24 + "%04x" % i,
            "Gateway": "172.17.0.1",
            "IPAddress": "172.17.%d.%d" % (i // 250, 2 + i % 250),
            "IPPrefixLen": 16, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "MacAddress": "02:42:AC:11:00:02"}}},
        "Mounts": [{"Type": "volume", "Name": "data%d" % i,
                    "Source": "/var/lib/docker/volumes/data%d/_data" % i,
                    "Destination": "/data", "Driver": "local", "Mode": "z",
                    "RW": True, "Propagation": ""}]}
    inspect = {
        "Id": cid, "Created": "2023-11-14T22:13:20.000000000Z",
        "Path": "/docker-entrypoint.sh", "Args": ["nginx"],
        "State": {"Status": entry["State"], "Running": running,
                  "Pid": pid if running else 0,
                  "ExitCode": 0, "StartedAt": "2023-11-14T22:13:21.5Z",
                  "FinishedAt": "0001-01-01T00:00:00Z"},
        "Image": "sha256:" + img, "Name": "/svc-%03d" % i,
        "HostConfig": {"Privileged": i % 10 == 0, "ReadonlyRootfs": False,
                       "SecurityOpt": ["apparmor=docker-default"]},
        "Config": {"Env": ["PATH=/usr/local/bin:/usr/bin",
                           "NGINX_VERSION=1.25.3", "SLOT=%d" % i],
                   "Entrypoint": ["/docker-entrypoint.sh"],
                   "Cmd": ["nginx", "-g", "daemon off;"]}}
    return entry, inspect


def main():
    if shutil.which("curl") is None:
        print("docker_containers: curl not installed, skipped")
        return
    d = tempfile.mkdtemp(prefix="osq-dkbench-")
    sock = os.path.join(d, "docker.sock")
    routes, listing = {}, []
    for i in range(N):
        entry, inspect = container(i, os.getpid())
        listing.append(entry)
        routes["/containers/%s/json" % entry["Id"]] = inspect
    routes["/containers/json"] = listing
    ours = [osqi, "--docker_socket=" + sock, "--json",
            "select * from docker_containers"]
    with fakehttp.UnixServer(sock, routes) as srv:
        out = subprocess.run(ours, capture_output=True, text=True, check=True)
        rows = out.stdout.count('"id"')
        asked = [r.split(" ", 1)[1] for r in srv.requests]
        if rows != N or not all(r.startswith("GET ") for r in srv.requests):
            sys.exit("docker_containers: %d rows, requests %r" % (rows, asked[:3]))
        base = ["curl", "-sS", "--fail", "--unix-socket", sock]
        base += ["http://localhost" + p for p in asked]
        once(base)
        inspects = sum(1 for p in asked if p != "/containers/json?all=1")
        print("requests per run: %d (%s + %d inspects)"
              % (len(asked), asked[0], inspects), flush=True)
        ta, tb, ca, cb = [], [], [], []
        for _ in range(runs):
            ta.append(once(ours, ca))
            tb.append(once(base, cb))
    os.unlink(sock)
    os.rmdir(d)
    ma, mb = statistics.median(ta), statistics.median(tb)
    print("%-34s osqi %8.1f ms   curl %8.1f ms   ratio %.2fx (median of %d)"
          % ("docker_containers (%d rows)" % rows, ma * 1e3, mb * 1e3,
             ma / mb, runs), flush=True)
    mca, mcb = statistics.median(ca), statistics.median(cb)
    print("%-34s osqi %8.1f ms   curl %8.1f ms   ratio %.2fx"
          % ("  client CPU (user + sys)", mca * 1e3, mcb * 1e3,
             mca / mcb if mcb > 0 else float("inf")), flush=True)


if __name__ == "__main__":
    main()
