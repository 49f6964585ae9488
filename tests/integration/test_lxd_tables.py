#!/usr/bin/python3
"""lxd_* tables against a stand-in LXD REST API on a UNIX socket
(osqtest/fakehttp.py) serving documents in the API's published shapes:
the sync envelope, lists of object URLs, the objects."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, fakehttp  # noqa: E402

FP = "06b86454720d36b20f94e31c6812e05ec51c1b568cf3a8abd273769d213394bb"


def sync(meta):
    return {"type": "sync", "status": "Success", "status_code": 200,
            "operation": "", "error_code": 0, "error": "", "metadata": meta}


C1 = {"name": "web1", "status": "Running", "status_code": 103,
      "stateful": False, "ephemeral": True, "architecture": "x86_64",
      "created_at": "2023-11-01T10:00:00.000000Z", "description": "",
      "profiles": ["default"],
      "config": {"image.os": "Ubuntu", "volatile.base_image": FP,
                 "limits.cpu": "2", "security.nesting": "true"},
      "devices": {},
      "expanded_devices": {
          "root": {"type": "disk", "path": "/", "pool": "default"},
          "eth0": {"type": "nic", "name": "eth0", "network": "lxdbr0"}}}
C2 = {"name": "db1", "status": "Stopped", "stateful": True,
      "ephemeral": False, "created_at": "2023-10-01T10:00:00Z",
      "config": {}, "expanded_devices": {}}

ROUTES = {
    "/1.0/containers": sync(["/1.0/containers/web1", "/1.0/containers/db1",
                             "/1.0/containers/../etc",
                             "/1.0/other/x"]),
    "/1.0/containers/web1": sync(C1),
    "/1.0/containers/db1": sync(C2),
    "/1.0/containers/web1/metadata": sync({"architecture": "x86_64",
                                           "creation_date": 1698800000,
                                           "properties": {
                                               "architecture": "amd64",
                                               "description": "Ubuntu jammy amd64",
                                               "os": "Ubuntu",
                                               "release": "jammy"}}),
    "/1.0/containers/web1/state": sync({"status": "Running", "pid": 31337,
                                        "processes": 12,
                                        "cpu": {"usage": 1}}),
    "/1.0/containers/db1/metadata": (404, {"type": "error", "error": "not found",
                                           "error_code": 404}),
    "/1.0/containers/db1/state": sync({"status": "Stopped", "pid": 0,
                                       "processes": 0}),
    "/1.0/images": sync(["/1.0/images/" + FP]),
    "/1.0/images/" + FP: sync({
        "fingerprint": FP, "architecture": "x86_64",
        "properties": {"os": "ubuntu", "release": "jammy",
                       "description": "ubuntu 22.04 LTS amd64 (release)"},
        "aliases": [{"name": "jammy", "description": ""},
                    {"name": "ubuntu/22.04", "description": ""}],
        "filename": "ubuntu-22.04-server-cloudimg-amd64-lxd.tar.xz",
        "size": 1234567, "auto_update": True, "cached": True, "public": False,
        "created_at": "2023-10-30T00:00:00Z",
        "expires_at": "2027-04-21T00:00:00Z",
        "uploaded_at": "2023-11-01T09:59:00Z",
        "last_used_at": "2023-11-01T10:00:00Z",
        "update_source": {"server": "https://cloud-images.ubuntu.com/releases",
                          "protocol": "simplestreams",
                          "certificate": "", "alias": "22.04"}}),
    "/1.0/certificates": sync(["/1.0/certificates/" + "ab" * 32]),
    "/1.0/certificates/" + "ab" * 32: sync({
        "name": "admin-laptop", "type": "client", "fingerprint": "ab" * 32,
        "certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}),
    "/1.0/networks": sync(["/1.0/networks/lxdbr0"]),
    "/1.0/networks/lxdbr0": sync({
        "name": "lxdbr0", "type": "bridge", "managed": True,
        "config": {"ipv4.address": "10.93.0.1/24", "ipv6.address": "none"},
        "used_by": ["/1.0/instances/web1", "/1.0/containers/db1",
                    "/1.0/profiles/default"]}),
    "/1.0/networks/lxdbr0/state": sync({
        "addresses": [], "counters": {"bytes_received": 1000, "bytes_sent": 2000,
                                      "packets_received": 10,
                                      "packets_sent": 20},
        "hwaddr": "00:16:3e:aa:bb:cc", "mtu": 1500, "state": "up",
        "type": "broadcast"}),
    "/1.0/cluster": sync({"server_name": "node1", "enabled": True,
                          "member_config": [
                              {"entity": "storage-pool", "name": "local",
                               "key": "source", "value": "",
                               "description": "\"source\" property for storage pool \"local\""},
                              {"entity": "storage-pool", "name": "local",
                               "key": "volatile.initial_source",
                               "value": "/dev/sdb",
                               "description": "initial source"}]}),
    "/1.0/cluster/members": sync(["/1.0/cluster/members/node1"]),
    "/1.0/cluster/members/node1": sync({
        "server_name": "node1", "url": "https://10.0.0.1:8443",
        "database": True, "status": "Online",
        "message": "Fully operational"}),
    "/1.0/storage-pools": sync(["/1.0/storage-pools/default"]),
    "/1.0/storage-pools/default": sync({
        "name": "default", "driver": "zfs",
        "config": {"source": "default", "size": "30GiB"}}),
    "/1.0/storage-pools/default/resources": sync({
        "space": {"used": 1000000, "total": 32212254720},
        "inodes": {"used": 10, "total": 1000}}),
}

ENV = {}


def sh():
    if not ENV:
        d = osqtest.workdir("osqt-lxd-")
        sock = os.path.join(d, "lxd.sock")
        ENV["srv"] = fakehttp.UnixServer(sock, ROUTES)
        ENV["sh"] = osqtest.Osqi(args=["--lxd_socket=" + sock])
    return ENV["sh"]


def test_instances():
    rows = sh().sql("select * from lxd_instances order by name")
    eq(rows, [
        {"name": "db1", "status": "Stopped", "stateful": "1", "ephemeral": "0",
         "created_at": "2023-10-01T10:00:00Z", "base_image": "",
         "architecture": "", "os": "", "description": "", "pid": "0",
         "processes": "0"},
        {"name": "web1", "status": "Running", "stateful": "0",
         "ephemeral": "1", "created_at": "2023-11-01T10:00:00.000000Z",
         "base_image": FP, "architecture": "amd64", "os": "Ubuntu",
         "description": "Ubuntu jammy amd64", "pid": "31337",
         "processes": "12"}], "instances (bad list entries skipped)")
    srv = ENV["srv"]
    srv.clear()
    eq(sh().sql("select name, status from lxd_instances where name = 'web1'"),
       [{"name": "web1", "status": "Running"}], "by name")
    eq(srv.requests, ["GET /1.0/containers/web1"],
       "name pushed down; unread columns ask nothing more")
    srv.clear()
    eq(sh().sql("select name from lxd_instances where name = 'a/../b'"), [],
       "a name with a slash")
    eq(srv.requests, ["GET /1.0/containers/a%2F..%2Fb"], "name encoded")


def test_instance_config_devices():
    eq(sh().sql("select * from lxd_instance_config where name = 'web1' "
                "order by key"),
       [{"name": "web1", "key": "image.os", "value": "Ubuntu"},
        {"name": "web1", "key": "limits.cpu", "value": "2"},
        {"name": "web1", "key": "security.nesting", "value": "true"},
        {"name": "web1", "key": "volatile.base_image", "value": FP}],
       "config")
    eq(sh().sql("select * from lxd_instance_devices where name = 'web1' "
                "order by device, key"),
       [{"name": "web1", "device": "eth0", "device_type": "nic",
         "key": "name", "value": "eth0"},
        {"name": "web1", "device": "eth0", "device_type": "nic",
         "key": "network", "value": "lxdbr0"},
        {"name": "web1", "device": "root", "device_type": "disk",
         "key": "path", "value": "/"},
        {"name": "web1", "device": "root", "device_type": "disk",
         "key": "pool", "value": "default"}], "devices")
    eq(sh().sql("select * from lxd_instance_config where name = 'nope'"), [],
       "unknown instance")


def test_images():
    rows = sh().sql("select * from lxd_images")
    eq(rows, [{"id": FP, "architecture": "x86_64", "os": "ubuntu",
               "release": "jammy",
               "description": "ubuntu 22.04 LTS amd64 (release)",
               "aliases": "jammy,ubuntu/22.04",
               "filename": "ubuntu-22.04-server-cloudimg-amd64-lxd.tar.xz",
               "size": "1234567", "auto_update": "1", "cached": "1",
               "public": "0", "created_at": "2023-10-30T00:00:00Z",
               "expires_at": "2027-04-21T00:00:00Z",
               "uploaded_at": "2023-11-01T09:59:00Z",
               "last_used_at": "2023-11-01T10:00:00Z",
               "update_source_server": "https://cloud-images.ubuntu.com/releases",
               "update_source_protocol": "simplestreams",
               "update_source_certificate": "",
               "update_source_alias": "22.04"}], "images")
    ENV["srv"].clear()
    eq(len(sh().sql("select id from lxd_images where id = '%s'" % FP)), 1,
       "by id")
    eq(ENV["srv"].requests, ["GET /1.0/images/" + FP], "id pushed down")


def test_certs_networks_cluster_pools():
    eq(sh().sql("select * from lxd_certificates"),
       [{"name": "admin-laptop", "type": "client", "fingerprint": "ab" * 32,
         "certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}],
       "certificates")
    eq(sh().sql("select * from lxd_networks"),
       [{"name": "lxdbr0", "type": "bridge", "managed": "1",
         "ipv4_address": "10.93.0.1/24", "ipv6_address": "none",
         "used_by": "web1,db1,/1.0/profiles/default",
         "bytes_received": "1000", "bytes_sent": "2000",
         "packets_received": "10", "packets_sent": "20",
         "hwaddr": "00:16:3e:aa:bb:cc", "state": "up", "mtu": "1500"}],
       "networks")
    eq(sh().sql("select * from lxd_cluster"),
       [{"server_name": "node1", "enabled": "1",
         "member_config_entity": "storage-pool", "member_config_name": "local",
         "member_config_key": "source", "member_config_value": "",
         "member_config_description": "\"source\" property for storage pool \"local\""},
        {"server_name": "node1", "enabled": "1",
         "member_config_entity": "storage-pool", "member_config_name": "local",
         "member_config_key": "volatile.initial_source",
         "member_config_value": "/dev/sdb",
         "member_config_description": "initial source"}], "cluster")
    eq(sh().sql("select * from lxd_cluster_members"),
       [{"server_name": "node1", "url": "https://10.0.0.1:8443",
         "database": "1", "status": "Online",
         "message": "Fully operational"}], "members")
    eq(sh().sql("select * from lxd_storage_pools"),
       [{"name": "default", "driver": "zfs", "source": "default",
         "size": "30GiB", "space_used": "1000000",
         "space_total": "32212254720", "inodes_used": "10",
         "inodes_total": "1000"}], "pools")


def test_bad_replies_and_absent():
    d = osqtest.workdir("osqt-lxdbad-")
    sock = os.path.join(d, "lxd.sock")
    bad = {"/1.0/containers": {"no": "envelope"},
           "/1.0/networks": sync({"not": "a list"}),
           "/1.0/certificates": (200, b"\x00garbage")}
    with fakehttp.UnixServer(sock, bad), \
            osqtest.Osqi(args=["--lxd_socket=" + sock]) as s:
        s.expect_error("select * from lxd_instances", r"no \"metadata\"")
        s.expect_error("select * from lxd_networks", r"not a list")
        s.expect_error("select * from lxd_certificates", r"not JSON")
        eq(s.sql("select 1 as alive"), [{"alive": "1"}], "survives")
    with osqtest.Osqi(args=["--lxd_socket=" + os.path.join(d, "none")]) as s:
        eq(s.sql("select * from lxd_instances"), [], "no LXD: no rows")
        eq(s.sql("select * from lxd_cluster"), [], "no LXD: no cluster")


def main():
    try:
        osqtest.run_tests([test_instances, test_instance_config_devices,
                           test_images, test_certs_networks_cluster_pools,
                           test_bad_replies_and_absent])
    finally:
        if ENV:
            ENV["sh"].close()
            ENV["srv"].close()


if __name__ == "__main__":
    main()
