#!/usr/bin/python3
"""docker_* tables against a stand-in Docker Engine API on a UNIX socket
(osqtest/fakehttp.py) serving documents in the API's published shapes,
then, where the machine has a dockerd that starts, against the real one."""
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, fakehttp  # noqa: E402

C1 = "8dfafdbc3a40" + "0123456789abcdef" * 3 + "0a1b"
C2 = "e90e34656806" + "fedcba9876543210" * 3 + "9f8e"
IMG = "ca2b0f26964c" + "aa" * 24 + "77e6"
IMG2 = "3f57d9401f8d" + "bb" * 24 + "42aa"
NET = "7d86d31b1478" + "cc" * 24 + "0b5e"
assert len(C1) == len(C2) == len(IMG) == len(NET) == 64

CONTAINERS = [
    {"Id": C1, "Names": ["/web"], "Image": "nginx:1.25",
     "ImageID": "sha256:" + IMG, "Command": "nginx -g 'daemon off;'",
     "Created": 1700000000, "State": "running", "Status": "Up 2 hours",
     "Ports": [{"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp",
                "IP": "0.0.0.0"},
               {"PrivatePort": 443, "Type": "tcp"}],
     "Labels": {"com.example.tier": "front", "maintainer": "ops"},
     "SizeRw": 12288, "SizeRootFs": 0,
     "HostConfig": {"NetworkMode": "default"},
     "NetworkSettings": {"Networks": {"bridge": {
         "NetworkID": NET, "EndpointID": "2cdc4edb1ded" + "dd" * 26,
         "Gateway": "172.17.0.1", "IPAddress": "172.17.0.2",
         "IPPrefixLen": 16, "IPv6Gateway": "",
         "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
         "MacAddress": "02:42:AC:11:00:02"}}},
     "Mounts": [{"Type": "volume", "Name": "webdata",
                 "Source": "/var/lib/docker/volumes/webdata/_data",
                 "Destination": "/usr/share/nginx/html", "Driver": "local",
                 "Mode": "z", "RW": True, "Propagation": ""}]},
    {"Id": C2, "Names": ["/batch"], "Image": "busybox",
     "ImageID": "sha256:" + IMG2, "Command": "sleep 1", "Created": 1690000000,
     "State": "exited", "Status": "Exited (0) 3 days ago", "Ports": [],
     "Labels": {}, "NetworkSettings": {"Networks": {}}, "Mounts": []},
]

INSPECT = {
    C1: {"Id": C1, "Created": "2023-11-14T22:13:20.000000000Z",
         "Path": "/docker-entrypoint.sh", "Args": ["nginx"],
         "State": {"Status": "running", "Running": True, "Pid": os.getpid(),
                   "ExitCode": 0, "StartedAt": "2023-11-14T22:13:21.5Z",
                   "FinishedAt": "0001-01-01T00:00:00Z"},
         "Image": "sha256:" + IMG, "Name": "/web",
         "HostConfig": {"Privileged": True, "ReadonlyRootfs": False,
                        "SecurityOpt": ["seccomp=unconfined",
                                        "apparmor=docker-default"]},
         "Config": {"Env": ["PATH=/usr/local/bin:/usr/bin", "NGINX_VERSION=1.25.3",
                            "EMPTY=", "A=b=c"],
                    "Entrypoint": ["/docker-entrypoint.sh"],
                    "Cmd": ["nginx", "-g", "daemon off;"]}},
    C2: {"Id": C2, "Path": "sleep",
         "State": {"Status": "exited", "Running": False, "Pid": 0,
                   "StartedAt": "2023-07-22T04:26:40Z",
                   "FinishedAt": "2023-07-22T04:26:41Z"},
         "HostConfig": {"Privileged": False, "ReadonlyRootfs": True,
                        "SecurityOpt": None},
         "Config": {"Env": None, "Entrypoint": None}},
}

TOP = {"Titles": ["PID", "S", "UID", "GID", "EUID", "EGID", "SUID", "SGID",
                  "RSS", "VSZ", "ELAPSED", "PPID", "PGRP", "NLWP", "NI",
                  "USER", "TIME", "%CPU", "%MEM", "COMMAND", "CMD"],
       "Processes": [["4242", "S", "0", "0", "0", "0", "0", "0", "5120",
                      "11000", "01:00:00", "4200", "4242", "1", "0", "root",
                      "00:00:01", "0.5", "0.1", "nginx",
                      "nginx: master process nginx -g daemon off;"],
                     ["short", "row"]]}

STATS = {"read": "2023-11-15T10:00:01.500000000Z",
         "preread": "2023-11-15T10:00:00.250000000Z",
         "name": "/web", "id": C1, "num_procs": 0,
         "pids_stats": {"current": 3},
         "blkio_stats": {"io_service_bytes_recursive": [
             {"major": 8, "minor": 0, "op": "Read", "value": 1000},
             {"major": 8, "minor": 16, "op": "Read", "value": 24},
             {"major": 8, "minor": 0, "op": "Write", "value": 4096}]},
         "cpu_stats": {"cpu_usage": {"total_usage": 100215355,
                                     "usage_in_kernelmode": 30000000,
                                     "usage_in_usermode": 50000000},
                       "system_cpu_usage": 739306590000000,
                       "online_cpus": 4},
         "precpu_stats": {"cpu_usage": {"total_usage": 100093996,
                                        "usage_in_kernelmode": 29000000,
                                        "usage_in_usermode": 49000000},
                          "system_cpu_usage": 9492140000000,
                          "online_cpus": 4},
         "memory_stats": {"usage": 6537216, "max_usage": 6651904,
                          "limit": 67108864,
                          "stats": {"cache": 4096, "inactive_file": 8192,
                                    "total_inactive_file": 16384}},
         "networks": {"eth0": {"rx_bytes": 5338, "tx_bytes": 648},
                      "eth5": {"rx_bytes": 4641, "tx_bytes": 5}}}

CHANGES = [{"Path": "/dev", "Kind": 0}, {"Path": "/dev/kmsg", "Kind": 1},
           {"Path": "/test", "Kind": 2}]

IMAGES = [{"Id": "sha256:" + IMG, "ParentId": "", "RepoTags":
           ["nginx:1.25", "nginx:latest"], "RepoDigests": [],
           "Created": 1699999000, "Size": 187000000, "SharedSize": -1,
           "Labels": {"maintainer": "NGINX Docker Maintainers"},
           "Containers": -1},
          {"Id": "sha256:" + IMG2, "ParentId": "", "RepoTags": ["busybox:latest"],
           "Created": 1680000000, "Size": 4260000, "Labels": None,
           "Containers": -1}]

IMAGE_INSPECT = {IMG: {"Id": "sha256:" + IMG, "RootFS": {
    "Type": "layers", "Layers": ["sha256:" + "11" * 32, "sha256:" + "22" * 32]}}}

HISTORY = {IMG: [
    {"Id": "sha256:" + IMG, "Created": 1699999000,
     "CreatedBy": "/bin/sh -c #(nop)  CMD [\"nginx\"]",
     "Tags": ["nginx:1.25", "nginx:latest"], "Size": 0, "Comment": ""},
    {"Id": "<missing>", "Created": 1699998000,
     "CreatedBy": "/bin/sh -c #(nop) ADD file:abc in /", "Tags": None,
     "Size": 74800000, "Comment": "base layer"}]}

INFO = {"ID": "7TRN:IPZB:QYBB:VPBQ:UWYO:4SPB:PQVJ:ZTBB:7XDE:ACQA:JEHN:6XMQ",
        "Containers": 14, "ContainersRunning": 3, "ContainersPaused": 1,
        "ContainersStopped": 10, "Images": 508, "Driver": "overlay2",
        "MemoryLimit": True, "SwapLimit": True, "KernelMemory": False,
        "CpuCfsPeriod": True, "CpuCfsQuota": True, "CPUShares": True,
        "CPUSet": True, "IPv4Forwarding": True, "BridgeNfIptables": True,
        "BridgeNfIp6tables": False, "OomKillDisable": True,
        "LoggingDriver": "json-file", "CgroupDriver": "systemd",
        "KernelVersion": "6.1.0-13-amd64", "OperatingSystem": "Debian GNU/Linux 12 (bookworm)",
        "OSType": "linux", "Architecture": "x86_64", "NCPU": 4,
        "MemTotal": 2095882240, "HttpProxy": "http://xxxxx:xxxxx@proxy.corp.example.com:8080",
        "HttpsProxy": "https://proxy.corp.example.com:4443", "NoProxy": "*.local, 169.254/16",
        "Name": "node5.corp.example.com", "ServerVersion": "24.0.7",
        "DockerRootDir": "/var/lib/docker"}

VERSION = {"Platform": {"Name": "Docker Engine - Community"},
           "Version": "24.0.7", "ApiVersion": "1.43", "MinAPIVersion": "1.12",
           "GitCommit": "311b9ff", "GoVersion": "go1.20.10", "Os": "linux",
           "Arch": "amd64", "KernelVersion": "6.1.0-13-amd64",
           "BuildTime": "2023-10-26T09:08:02.000000000+00:00"}

NETWORKS = [{"Name": "bridge", "Id": NET, "Created": "2023-11-14T22:00:00.123456789Z",
             "Scope": "local", "Driver": "bridge", "EnableIPv6": False,
             "IPAM": {"Driver": "default", "Config": [
                 {"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]},
             "Internal": False, "Labels": {"com.example.net": "main"}},
            {"Name": "none", "Id": "dd" * 32, "Created": "2023-11-14T22:00:00+01:00",
             "Driver": "null", "EnableIPv6": True,
             "IPAM": {"Driver": "default", "Config": []}, "Labels": {}}]

VOLUMES = {"Volumes": [{"Name": "webdata", "Driver": "local",
                        "Mountpoint": "/var/lib/docker/volumes/webdata/_data",
                        "Labels": {"com.example.vol": "web"}, "Scope": "local",
                        "Options": {"type": "tmpfs", "device": "tmpfs"}},
                       {"Name": "plain", "Driver": "local",
                        "Mountpoint": "/var/lib/docker/volumes/plain/_data",
                        "Labels": None, "Scope": "local", "Options": None}],
           "Warnings": []}


def _filters(query):
    f = query.get("filters")
    return None if f is None else __import__("json").loads(f[0])


def _containers(method, path, query, headers):
    f = _filters(query)
    if f and "id" in f:
        return [c for c in CONTAINERS
                if any(c["Id"].startswith(p) for p in f["id"])]
    return CONTAINERS


def _networks(method, path, query, headers):
    f = _filters(query)
    if f and "id" in f:
        return [n for n in NETWORKS if any(n["Id"].startswith(p) for p in f["id"])]
    return NETWORKS


def _volumes(method, path, query, headers):
    f = _filters(query)
    if f and "name" in f:
        return {"Volumes": [v for v in VOLUMES["Volumes"]
                            if any(n in v["Name"] for n in f["name"])],
                "Warnings": []}
    return VOLUMES


def routes():
    r = {"/containers/json": _containers, "/images/json": IMAGES,
         "/info": INFO, "/version": VERSION, "/networks": _networks,
         "/volumes": _volumes}
    for cid, doc in INSPECT.items():
        r["/containers/%s/json" % cid] = doc
    r["/containers/%s/top" % C1] = TOP
    r["/containers/%s/stats" % C1] = STATS
    r["/containers/%s/changes" % C1] = CHANGES
    r["/containers/%s/changes" % C2] = None
    r["/images/%s/json" % IMG] = IMAGE_INSPECT[IMG]
    r["/images/%s/history" % IMG] = HISTORY[IMG]
    return r


class Env:
    def __init__(self):
        self.dir = osqtest.workdir("osqt-dk-")
        self.sock = os.path.join(self.dir, "docker.sock")
        self.srv = fakehttp.UnixServer(self.sock, routes())
        self.sh = osqtest.Osqi(args=["--docker_socket=" + self.sock])

    def close(self):
        self.sh.close()
        self.srv.close()


ENV = None


def env():
    global ENV
    if ENV is None:
        ENV = Env()
    return ENV


def sql(q):
    return env().sh.sql(q)


def test_containers():
    rows = sql("select * from docker_containers order by name desc")
    eq(len(rows), 2, "two containers")
    web = rows[0]
    ns = os.readlink("/proc/self/ns/net").split("[")[1].rstrip("]")
    eq({k: web[k] for k in ("id", "name", "image", "image_id", "command",
                            "created", "state", "status", "pid", "path",
                            "config_entrypoint", "started_at", "finished_at",
                            "privileged", "security_options",
                            "readonly_rootfs", "net_namespace")},
       {"id": C1, "name": "/web", "image": "nginx:1.25", "image_id": IMG,
        "command": "nginx -g 'daemon off;'", "created": "1700000000",
        "state": "running", "status": "Up 2 hours", "pid": str(os.getpid()),
        "path": "/docker-entrypoint.sh",
        "config_entrypoint": "/docker-entrypoint.sh",
        "started_at": "2023-11-14T22:13:21.5Z",
        "finished_at": "0001-01-01T00:00:00Z", "privileged": "1",
        "security_options": "seccomp=unconfined, apparmor=docker-default",
        "readonly_rootfs": "0", "net_namespace": ns}, "web row")
    eq(web["env_variables"], "PATH=/usr/local/bin:/usr/bin, "
       "NGINX_VERSION=1.25.3, EMPTY=, A=b=c", "env_variables")
    batch = rows[1]
    eq((batch["pid"], batch["readonly_rootfs"], batch["config_entrypoint"],
        batch["pid_namespace"]), ("0", "1", "", ""), "stopped container")


def test_containers_pushdown():
    e = env()
    e.srv.clear()
    rows = sql("select id, name from docker_containers where id = '%s'" % C1[:12])
    eq(rows, [{"id": C1[:12], "name": "/web"}], "id prefix row")
    lists = [r for r in e.srv.requests if r.startswith("GET /containers/json")]
    eq(len(lists), 1, "one list request")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(lists[0][4:]).query)
    eq(q["all"], ["1"], "all=1")
    eq(__import__("json").loads(q["filters"][0]), {"id": {C1[:12]: True}},
       "id filter pushed down")
    # columns of the list only: no per-container inspect
    check(not any("/json" in r and r.startswith("GET /containers/" + C1)
                  for r in e.srv.requests), "no inspect for list columns")
    e.srv.clear()
    eq(sql("select id from docker_containers where id = 'not-hex'"), [],
       "non-hex id matches nothing")
    eq(e.srv.requests, [], "no request for an id that cannot match")


def test_container_labels_mounts_networks_ports():
    eq(sql("select * from docker_container_labels order by key"),
       [{"id": C1, "key": "com.example.tier", "value": "front"},
        {"id": C1, "key": "maintainer", "value": "ops"}], "labels")
    eq(sql("select * from docker_container_mounts"),
       [{"id": C1, "type": "volume", "name": "webdata",
         "source": "/var/lib/docker/volumes/webdata/_data",
         "destination": "/usr/share/nginx/html", "driver": "local",
         "mode": "z", "rw": "1", "propagation": ""}], "mounts")
    eq(sql("select * from docker_container_networks"),
       [{"id": C1, "name": "bridge", "network_id": NET,
         "endpoint_id": "2cdc4edb1ded" + "dd" * 26, "gateway": "172.17.0.1",
         "ip_address": "172.17.0.2", "ip_prefix_len": "16",
         "ipv6_gateway": "", "ipv6_address": "", "ipv6_prefix_len": "0",
         "mac_address": "02:42:AC:11:00:02"}], "networks")
    eq(sql("select * from docker_container_ports order by port"),
       [{"id": C1, "type": "tcp", "port": "80", "host_ip": "0.0.0.0",
         "host_port": "8080"},
        {"id": C1, "type": "tcp", "port": "443", "host_ip": "",
         "host_port": "0"}], "ports")


def test_container_envs():
    eq(sql("select key, value from docker_container_envs where id = '%s'" % C1),
       [{"key": "PATH", "value": "/usr/local/bin:/usr/bin"},
        {"key": "NGINX_VERSION", "value": "1.25.3"},
        {"key": "EMPTY", "value": ""}, {"key": "A", "value": "b=c"}], "envs")
    eq(sql("select count(*) as n from docker_container_envs"), [{"n": "4"}],
       "all containers: the stopped one has no env")


def test_container_processes():
    e = env()
    e.srv.clear()
    rows = sql("select * from docker_container_processes where id = '%s'" % C1)
    eq(len(rows), 1, "the malformed ps row is skipped")
    r = rows[0]
    now = int(time.time())
    start = int(r.pop("start_time"))
    check(abs(start - (now - 3600)) < 120, "start_time from etime: %d" % start)
    eq(r, {"id": C1, "pid": "4242", "name": "nginx",
           "cmdline": "nginx: master process nginx -g daemon off;",
           "state": "S", "uid": "0", "gid": "0", "euid": "0", "egid": "0",
           "suid": "0", "sgid": "0", "wired_size": "0",
           "resident_size": "5120000", "total_size": "11000000",
           "parent": "4200", "pgroup": "4242", "threads": "1", "nice": "0",
           "user": "root", "time": "00:00:01", "cpu": "0.5", "mem": "0.1"},
       "process row")
    top = [x for x in e.srv.requests if "/top" in x]
    eq(len(top), 1, "one /top request")
    check("ps_args=axwwo%20pid,state,uid" in top[0], top[0])
    # required id: without it osqi refuses the query
    err = e.sh.expect_error("select * from docker_container_processes",
                            r"(?i)(required|constraint|id)")
    check(err, "error without id")


def test_container_stats():
    rows = sql("select * from docker_container_stats where id = '%s'" % C1)
    eq(rows, [{"id": C1, "name": "/web", "pids": "3",
               "read": "1700042401", "preread": "1700042400",
               "interval": "1250000000", "disk_read": "1024",
               "disk_write": "4096", "num_procs": "0",
               "cpu_total_usage": "100215355",
               "cpu_kernelmode_usage": "30000000",
               "cpu_usermode_usage": "50000000",
               "system_cpu_usage": "739306590000000", "online_cpus": "4",
               "pre_cpu_total_usage": "100093996",
               "pre_cpu_kernelmode_usage": "29000000",
               "pre_cpu_usermode_usage": "49000000",
               "pre_system_cpu_usage": "9492140000000",
               "pre_online_cpus": "4", "memory_usage": "6537216",
               "memory_cached": "4096", "memory_inactive_file": "8192",
               "memory_total_inactive_file": "16384",
               "memory_max_usage": "6651904", "memory_limit": "67108864",
               "network_rx_bytes": "9979", "network_tx_bytes": "653"}],
       "stats row")
    eq(sql("select * from docker_container_stats where id = '%s'" % C2), [],
       "404 for a container: no row")


def test_fs_changes():
    eq(sql("select * from docker_container_fs_changes where id = '%s'" % C1),
       [{"id": C1, "path": "/dev", "change_type": "C"},
        {"id": C1, "path": "/dev/kmsg", "change_type": "A"},
        {"id": C1, "path": "/test", "change_type": "D"}], "changes")
    eq(sql("select * from docker_container_fs_changes where id = '%s'" % C2),
       [], "null changes")


def test_images():
    eq(sql("select * from docker_images order by created desc"),
       [{"id": IMG, "created": "1699999000", "size_bytes": "187000000",
         "tags": "nginx:1.25,nginx:latest"},
        {"id": IMG2, "created": "1680000000", "size_bytes": "4260000",
         "tags": "busybox:latest"}], "images")
    eq(sql("select * from docker_image_labels"),
       [{"id": IMG, "key": "maintainer", "value": "NGINX Docker Maintainers"}],
       "image labels (null Labels skipped)")
    eq(sql("select * from docker_image_layers where id = '%s'" % IMG),
       [{"id": IMG, "layer_id": "11" * 32, "layer_order": "1"},
        {"id": IMG, "layer_id": "22" * 32, "layer_order": "2"}], "layers")
    eq(sql("select count(*) as n from docker_image_layers"), [{"n": "2"}],
       "layers of all images (the other image is 404)")
    eq(sql("select * from docker_image_history where id = '%s'" % IMG),
       [{"id": IMG, "created": "1699999000", "size": "0",
         "created_by": "/bin/sh -c #(nop)  CMD [\"nginx\"]",
         "tags": "nginx:1.25,nginx:latest", "comment": ""},
        {"id": IMG, "created": "1699998000", "size": "74800000",
         "created_by": "/bin/sh -c #(nop) ADD file:abc in /", "tags": "",
         "comment": "base layer"}], "history")


def test_info_version():
    rows = sql("select * from docker_info")
    eq(len(rows), 1, "one info row")
    r = rows[0]
    eq((r["id"], r["containers"], r["containers_running"],
        r["containers_paused"], r["containers_stopped"], r["images"],
        r["storage_driver"], r["memory_limit"], r["kernel_memory"],
        r["bridge_nf_ip6tables"], r["oom_kill_disable"], r["cgroup_driver"],
        r["os"], r["cpus"], r["memory"], r["no_proxy"], r["server_version"],
        r["root_dir"]),
       (INFO["ID"], "14", "3", "1", "10", "508", "overlay2", "1", "0", "0",
        "1", "systemd", "Debian GNU/Linux 12 (bookworm)", "4", "2095882240",
        "*.local, 169.254/16", "24.0.7", "/var/lib/docker"), "info row")
    eq(sql("select * from docker_version"),
       [{"version": "24.0.7", "api_version": "1.43", "min_api_version": "1.12",
         "git_commit": "311b9ff", "go_version": "go1.20.10", "os": "linux",
         "arch": "amd64", "kernel_version": "6.1.0-13-amd64",
         "build_time": "2023-10-26T09:08:02.000000000+00:00"}], "version")


def test_networks_volumes():
    eq(sql("select * from docker_networks order by name"),
       [{"id": NET, "name": "bridge", "driver": "bridge",
         "created": "1699999200", "enable_ipv6": "0",
         "subnet": "172.17.0.0/16", "gateway": "172.17.0.1"},
        {"id": "dd" * 32, "name": "none", "driver": "null",
         "created": "1699995600", "enable_ipv6": "1", "subnet": "",
         "gateway": ""}], "networks")
    eq(sql("select * from docker_network_labels where id = '%s'" % NET[:6]),
       [{"id": NET[:6], "key": "com.example.net", "value": "main"}],
       "network labels by id prefix")
    eq(sql("select * from docker_volumes order by name"),
       [{"name": "plain", "driver": "local",
         "mount_point": "/var/lib/docker/volumes/plain/_data", "type": ""},
        {"name": "webdata", "driver": "local",
         "mount_point": "/var/lib/docker/volumes/webdata/_data",
         "type": "tmpfs"}], "volumes")
    e = env()
    e.srv.clear()
    eq(sql("select * from docker_volume_labels where name = 'webdata'"),
       [{"name": "webdata", "key": "com.example.vol", "value": "web"}],
       "volume labels")
    check(any("filters=" in r for r in e.srv.requests), "name filter pushed")
    # Docker's name filter matches parts of names: "web" finds "webdata",
    # which must not come back as a row named "web"
    eq(sql("select * from docker_volume_labels where name = 'web'"), [],
       "partial name")
    eq(sql("select * from docker_volumes where name = 'web'"), [],
       "partial volume name")


def test_bad_replies():
    """Malformed, oversized or failing replies: a clear error, osqi lives."""
    d = osqtest.workdir("osqt-dkbad-")
    sock = os.path.join(d, "docker.sock")
    big = b"[" + b"1," * (40 << 20) + b"1]"
    huge = 9223372036854775807
    bad = {"/containers/json": (200, b"[{\"Id\": "),
           "/info": (500, {"message": "daemon is sick"}),
           "/version": [1, 2],
           "/images/json": (200, big),
           # numbers at the edges: sums saturate, nothing overflows
           "/containers/%s/stats" % C1: {
               "read": "9999-12-31T23:59:59.999999999Z",
               "preread": "0001-01-01T00:00:00Z", "name": 7,
               "blkio_stats": {"io_service_bytes_recursive": [
                   {"op": "Read", "value": huge}, {"op": "Read", "value": huge},
                   {"op": "Write", "value": -huge}, {"op": "Write", "value": -huge}]},
               "networks": {"a": {"rx_bytes": huge}, "b": {"rx_bytes": huge}},
               "memory_stats": {"usage": 1e300, "limit": "many"}},
           "/containers/%s/top" % C1: {"Processes": [
               ["1", "S", "0", "0", "0", "0", "0", "0",
                "-9223372036854775807", "9223372036854775807",
                "99999999999999-00:00:00", "0", "0", "1", "0", "root",
                "00:00:00", "x", "y", "sh", "sh"],
               "not a list", None, 5]}}
    with fakehttp.UnixServer(sock, bad), \
            osqtest.Osqi(args=["--docker_socket=" + sock]) as sh:
        line = sh.expect_error("select * from docker_containers",
                               r"not JSON")
        check("/containers/json" in line, line)
        line = sh.expect_error("select * from docker_info",
                               r"HTTP status 500")
        check("daemon is sick" in line, line)
        sh.expect_error("select * from docker_version", r"expected a JSON object")
        sh.expect_error("select * from docker_images", r"larger than")
        st = sh.sql("select name, read, interval, disk_read, disk_write, "
                    "network_rx_bytes, memory_usage, memory_limit "
                    "from docker_container_stats where id = '%s'" % C1)
        eq(st, [{"name": "", "read": "253402300799", "interval": "0",
                 "disk_read": str(huge), "disk_write": str(-huge - 1),
                 "network_rx_bytes": str(huge), "memory_usage": "0",
                 "memory_limit": "0"}], "edge stats")
        ps = sh.sql("select pid, resident_size, total_size, start_time, cpu "
                    "from docker_container_processes where id = '%s'" % C1)
        eq(ps, [{"pid": "1", "resident_size": "", "total_size": "",
                 "start_time": "", "cpu": "0.0"}], "edge ps row")
        eq(sh.sql("select 1 as alive"), [{"alive": "1"}], "osqi survives")
    # no daemon at all: empty tables, as osquery
    with osqtest.Osqi(args=["--docker_socket=" + os.path.join(d, "none")]) as sh:
        eq(sh.sql("select * from docker_containers"), [], "no daemon")
        eq(sh.sql("select * from docker_info"), [], "no daemon info")


def test_curl_not_loaded_at_start():
    """libcurl is loaded on first use only: osqi's start-up maps none."""
    d = osqtest.workdir("osqt-dkmap-")
    with osqtest.Osqi(args=["--docker_socket=" + os.path.join(d, "none")]) as sh:
        maps = open("/proc/%d/maps" % sh.proc.pid).read()
        check("libcurl" not in maps, "libcurl mapped at start")
        eq(sh.sql("select * from docker_version"), [], "no daemon")
        maps = open("/proc/%d/maps" % sh.proc.pid).read()
        check("libcurl" in maps, "libcurl loaded by the first docker query")


def _real_dockerd():
    """A dockerd of our own on a private socket, or the reason there is
    none."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        return None, "no dockerd on this machine"
    if os.geteuid() != 0:
        return None, "dockerd needs root"
    d = osqtest.workdir("osqt-dockerd-")
    sock = os.path.join(d, "d.sock")
    p = subprocess.Popen([dockerd, "--host", "unix://" + sock,
                          "--data-root", os.path.join(d, "root"),
                          "--exec-root", os.path.join(d, "exec"),
                          "--pidfile", os.path.join(d, "pid"),
                          "--bridge", "none", "--iptables=false",
                          "--ip6tables=false"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        osqtest.wait_socket(sock, timeout=60, proc=p)
    except Exception as e:
        p.kill()
        err = p.stderr.read().decode(errors="replace")[-300:]
        p.wait()
        return None, "dockerd did not start (%s): %s" % (e, err.strip())
    return (p, sock), None


def _docker(sock, *args, stdin=None):
    r = subprocess.run(["docker", "-H", "unix://" + sock] + list(args),
                       input=stdin, capture_output=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("docker %s: %s" % (" ".join(args),
                                                r.stderr.decode()[-500:]))
    return r.stdout.decode().strip()


def _static_sleeper(d):
    """A static program that sleeps (a container's only process), built
    with the C compiler; None if it cannot be built."""
    src = os.path.join(d, "sleeper.c")
    with open(src, "w") as f:
        f.write("#include <unistd.h>\nint main(void) { sleep(300); return 0; }\n")
    out = os.path.join(d, "sleeper")
    r = subprocess.run(["cc", "-static", "-O2", "-o", out, src],
                       capture_output=True)
    return out if r.returncode == 0 else None


def _tiny_image_tar(sleeper):
    """A root filesystem of one text file (and the sleeper, when there is
    one) as a tar stream: `docker import` makes an image of it with no
    registry."""
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b"osq test image\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
        if sleeper:
            t.add(sleeper, arcname="sleeper")
    return buf.getvalue()


def _check_running(sh, sock):
    """A running container: its pid and namespaces, /top, /stats and
    /changes of the real daemon."""
    try:
        cid = _docker(sock, "run", "-d", "--network", "none", "--name",
                      "osqrun", "osqtest/tiny:1", "/sleeper")
    except AssertionError as e:
        # the daemon answers but this machine cannot run containers
        # (cgroups, seccomp): nothing of osq's to test there
        print("SKIP running container: %s" % e, flush=True)
        return
    try:
        _check_running_rows(sh, cid)
    finally:
        _docker(sock, "rm", "-f", cid)


def _check_running_rows(sh, cid):
    rows = sh.sql("select pid, state, pid_namespace, mnt_namespace, path "
                  "from docker_containers where id = '%s'" % cid)
    eq(len(rows), 1, "running container row")
    r = rows[0]
    pid = int(r["pid"])
    check(pid > 0, "pid %r" % r["pid"])
    ns = os.readlink("/proc/%d/ns/pid" % pid).split("[")[1].rstrip("]")
    eq((r["state"], r["pid_namespace"], r["path"]), ("running", ns, "/sleeper"),
       "running container")
    procs = sh.sql("select pid, name, cmdline from docker_container_processes"
                   " where id = '%s'" % cid)
    eq(procs, [{"pid": str(pid), "name": "sleeper", "cmdline": "/sleeper"}],
       "real /top")
    stats = sh.sql("select name, pids from docker_container_stats "
                   "where id = '%s'" % cid)
    eq(stats, [{"name": "/osqrun", "pids": "1"}], "real /stats")
    # an unchanged container's /changes is null: no rows, no error
    eq(sh.sql("select * from docker_container_fs_changes where id = '%s'"
              % cid), [], "real /changes")


def test_real_dockerd():
    got, why = _real_dockerd()
    if got is None:
        print("SKIP test_real_dockerd: %s" % why, flush=True)
        return
    p, sock = got
    try:
        version = _docker(sock, "version", "--format", "{{.Server.Version}}")
        sleeper = _static_sleeper(osqtest.workdir("osqt-sleeper-"))
        image = _docker(sock, "import", "-c", "LABEL osq.test=image", "-",
                        "osqtest/tiny:1", stdin=_tiny_image_tar(sleeper))
        image = image.split(":", 1)[-1]
        _docker(sock, "volume", "create", "--label", "osq.vol=1", "osqvol")
        cid = _docker(sock, "create", "--name", "osqc", "--label", "osq.c=yes",
                      "-e", "OSQ_ENV=on", "--network", "none",
                      "osqtest/tiny:1", "/hello.txt")
        with osqtest.Osqi(args=["--docker_socket=" + sock]) as sh:
            eq(sh.sql("select version from docker_version"),
               [{"version": version}], "real version")
            info = sh.sql("select server_version, containers, images "
                          "from docker_info")
            eq(info, [{"server_version": version, "containers": "1",
                       "images": "1"}], "real info")
            rows = sh.sql("select id, name, image, image_id, state, pid "
                          "from docker_containers")
            eq(rows, [{"id": cid, "name": "/osqc", "image": "osqtest/tiny:1",
                       "image_id": image, "state": "created", "pid": "0"}],
               "real container")
            eq(sh.sql("select id from docker_containers where id = '%s'"
                      % cid[:10]), [{"id": cid[:10]}], "real id prefix")
            # a container carries its image's labels too
            eq(sh.sql("select key, value from docker_container_labels "
                      "order by key"),
               [{"key": "osq.c", "value": "yes"},
                {"key": "osq.test", "value": "image"}],
               "real container labels")
            envs = sh.sql("select key, value from docker_container_envs "
                          "where id = '%s'" % cid)
            check({"key": "OSQ_ENV", "value": "on"} in envs, repr(envs))
            eq(sh.sql("select id, tags from docker_images"),
               [{"id": image, "tags": "osqtest/tiny:1"}], "real image")
            eq(sh.sql("select key, value from docker_image_labels"),
               [{"key": "osq.test", "value": "image"}], "real image labels")
            layers = sh.sql("select layer_order from docker_image_layers "
                            "where id = '%s'" % image)
            eq(layers, [{"layer_order": "1"}], "one imported layer")
            check(len(sh.sql("select * from docker_image_history where "
                             "id = '%s'" % image)) >= 1, "history")
            eq(sh.sql("select name, driver from docker_volumes"),
               [{"name": "osqvol", "driver": "local"}], "real volume")
            eq(sh.sql("select * from docker_volume_labels"),
               [{"name": "osqvol", "key": "osq.vol", "value": "1"}],
               "real volume labels")
            names = sorted(r["name"] for r in
                           sh.sql("select name from docker_networks"))
            check("none" in names and "host" in names, repr(names))
            if sleeper is None:
                print("SKIP running container: cannot build a static program",
                      flush=True)
            else:
                _check_running(sh, sock)
    finally:
        p.terminate()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    tests = [test_containers, test_containers_pushdown,
             test_container_labels_mounts_networks_ports, test_container_envs,
             test_container_processes, test_container_stats, test_fs_changes,
             test_images, test_info_version, test_networks_volumes,
             test_bad_replies, test_curl_not_loaded_at_start,
             test_real_dockerd]
    try:
        osqtest.run_tests(tests)
    finally:
        if ENV is not None:
            ENV.close()


if __name__ == "__main__":
    main()
