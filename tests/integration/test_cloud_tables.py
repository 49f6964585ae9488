#!/usr/bin/python3
"""Cloud metadata tables against a stand-in metadata service on 127.0.0.1
(osqtest/fakehttp.py), with DMI files in a temp directory saying which
cloud this is (--cloud_dmi_dir). Nothing here, nor osq by default on a
machine that is not on a cloud, sends traffic anywhere else."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, fakehttp  # noqa: E402

TOKEN = "AQAEAKxyz-token_0123456789=="

IDENTITY = {"accountId": "123456789012", "architecture": "x86_64",
            "availabilityZone": "eu-west-1b", "imageId": "ami-0abcdef1234567890",
            "instanceId": "i-0123456789abcdef0", "instanceType": "t3.micro",
            "pendingTime": "2023-11-01T10:00:00Z", "privateIp": "10.1.2.3",
            "region": "eu-west-1", "version": "2017-09-30"}


def needs_token(doc):
    def route(method, path, query, headers):
        if headers.get("X-aws-ec2-metadata-token") != TOKEN:
            return (401, b"")
        return doc
    return route


def raw(text):
    return needs_token((200, text.encode()))


EC2 = {
    "/latest/api/token": lambda m, p, q, h: (
        (200, TOKEN.encode()) if m == "PUT" and
        h.get("X-aws-ec2-metadata-token-ttl-seconds") == "21600"
        else (405, b"")),
    "/latest/dynamic/instance-identity/document": needs_token(IDENTITY),
    "/latest/meta-data/iam/info": needs_token({
        "Code": "Success", "LastUpdated": "2023-11-01T10:00:00Z",
        "InstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/web",
        "InstanceProfileId": "AIPAEXAMPLE"}),
    "/latest/meta-data/mac": raw("0a:1b:2c:3d:4e:5f"),
    "/latest/meta-data/local-hostname": raw("ip-10-1-2-3.eu-west-1.compute.internal\n"),
    "/latest/meta-data/public-keys/0/openssh-key": raw("ssh-ed25519 AAAAC3Nz web-key\n"),
    # reservation-id: 404 (not served) -> ""
    "/latest/meta-data/security-groups": raw("web-sg\ndefault\n"),
    "/latest/meta-data/tags/instance": raw("Name\nteam owner"),
    "/latest/meta-data/tags/instance/Name": raw("web-1"),
    "/latest/meta-data/tags/instance/team%20owner": raw("platform"),
}

AZURE_DOC = {"azEnvironment": "AzurePublicCloud", "location": "westeurope",
             "name": "vm-web-1", "offer": "0001-com-ubuntu-server-jammy",
             "osType": "Linux", "placementGroupId": "",
             "platformFaultDomain": "0", "platformUpdateDomain": "1",
             "publisher": "canonical", "resourceGroupName": "rg-web",
             "sku": "22_04-lts-gen2", "subscriptionId": "8d10da13-8125-4ba9-a717-bf7490507b3d",
             "tags": "env:prod;owner:ops:team", "version": "22.04.202311010",
             "vmId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
             "vmScaleSetName": "", "vmSize": "Standard_B2s", "zone": "2"}


def azure(method, path, query, headers):
    if headers.get("Metadata") != "true" or "api-version" not in query:
        return (400, {"error": "Bad request"})
    return AZURE_DOC


YC_DOC = {"id": "fhm0b28lgfp4tkoa3jl6", "name": "web-1",
          "description": "frontend", "hostname": "web-1.ru-central1.internal",
          "zone": "projects/b1g2ahsbv3pfa4qo7c9p/zones/ru-central1-a",
          "attributes": {"ssh-keys": "admin:ssh-ed25519 AAAAC3Nz admin",
                         "serial-port-enable": "1"},
          "vendor": {"folderId": "b1g2ahsbv3pfa4qo7c9p",
                     "cloudId": "b1gia87mbaomkfvsleds"}}


def ycloud(method, path, query, headers):
    if headers.get("Metadata-Flavor") != "Google" or \
            query.get("recursive") != ["true"]:
        return (400, b"")
    return YC_DOC


def dmi(files):
    d = osqtest.workdir("osqt-dmi-")
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text + "\n")
    return d


def osqi(dmi_dir, srv):
    return osqtest.Osqi(args=["--cloud_dmi_dir=" + dmi_dir,
                              "--cloud_metadata_endpoint=http://127.0.0.1:%d"
                              % srv.port])


ALL = ("ec2_instance_metadata", "ec2_instance_tags", "azure_instance_metadata",
       "azure_instance_tags", "ycloud_instance_metadata")


def test_ec2():
    routes = dict(EC2)
    routes["/computeMetadata/v1/instance/"] = ycloud
    routes["/metadata/instance/compute"] = azure
    with fakehttp.TcpServer(routes) as srv, \
            osqi(dmi({"sys_vendor": "Amazon EC2", "product_uuid":
                      "ec2e1916-9099-7caf-fd21-012345678901"}), srv) as sh:
        rows = sh.sql("select * from ec2_instance_metadata")
        eq(rows, [{"instance_id": "i-0123456789abcdef0",
                   "instance_type": "t3.micro", "architecture": "x86_64",
                   "region": "eu-west-1", "availability_zone": "eu-west-1b",
                   "local_hostname": "ip-10-1-2-3.eu-west-1.compute.internal",
                   "local_ipv4": "10.1.2.3", "mac": "0a:1b:2c:3d:4e:5f",
                   "security_groups": "web-sg,default",
                   "iam_arn": "arn:aws:iam::123456789012:instance-profile/web",
                   "ami_id": "ami-0abcdef1234567890", "reservation_id": "",
                   "account_id": "123456789012",
                   "ssh_public_key": "ssh-ed25519 AAAAC3Nz web-key"}],
           "ec2 row (IMDSv2 token used)")
        check(srv.requests[0] == "PUT /latest/api/token", srv.requests[0])
        gets = [r for r in srv.requests if r.startswith("GET")]
        srv.clear()
        eq(sh.sql("select instance_id from ec2_instance_metadata"),
           [{"instance_id": "i-0123456789abcdef0"}], "again")
        eq([r for r in srv.requests if r.startswith("GET")], [],
           "answers cached (%d GETs the first time)" % len(gets))
        eq(sh.sql("select * from ec2_instance_tags order by key"),
           [{"instance_id": "i-0123456789abcdef0", "key": "Name",
             "value": "web-1"},
            {"instance_id": "i-0123456789abcdef0", "key": "team owner",
             "value": "platform"}], "tags")
        srv.clear()
        for t in ALL[2:]:
            eq(sh.sql("select * from " + t), [], t + " on EC2")
        eq(srv.requests, [], "other clouds' tables ask nothing on EC2")


def test_azure():
    with fakehttp.TcpServer({"/metadata/instance/compute": azure,
                             "/latest/api/token": (200, b"x")}) as srv, \
            osqi(dmi({"sys_vendor": "Microsoft Corporation",
                      "chassis_asset_tag": "7783-7084-3265-9085-8269-3286-77"}),
                 srv) as sh:
        rows = sh.sql("select * from azure_instance_metadata")
        eq(rows, [{"location": "westeurope", "name": "vm-web-1",
                   "offer": "0001-com-ubuntu-server-jammy",
                   "publisher": "canonical", "sku": "22_04-lts-gen2",
                   "version": "22.04.202311010", "os_type": "Linux",
                   "platform_update_domain": "1", "platform_fault_domain": "0",
                   "vm_id": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
                   "vm_size": "Standard_B2s",
                   "subscription_id": "8d10da13-8125-4ba9-a717-bf7490507b3d",
                   "resource_group_name": "rg-web", "placement_group_id": "",
                   "vm_scale_set_name": "", "zone": "2"}], "azure row")
        eq(sh.sql("select * from azure_instance_tags order by key"),
           [{"vm_id": "02aab8a4-74ef-476e-8182-f6d2ba4166a6", "key": "env",
             "value": "prod"},
            {"vm_id": "02aab8a4-74ef-476e-8182-f6d2ba4166a6", "key": "owner",
             "value": "ops:team"}], "azure tags")
        eq(len([r for r in srv.requests if "compute" in r]), 1,
           "one request: the second table used the cached answer")
        eq(sh.sql("select * from ec2_instance_metadata"), [], "not EC2")
        check(not any("/latest" in r for r in srv.requests), "no EC2 request")


def test_ycloud():
    with fakehttp.TcpServer({"/computeMetadata/v1/instance/": ycloud}) as srv, \
            osqi(dmi({"sys_vendor": "Yandex", "product_name": "xeon-gold-6338"}),
                 srv) as sh:
        base = "http://127.0.0.1:%d" % srv.port
        want = {"instance_id": "fhm0b28lgfp4tkoa3jl6",
                "folder_id": "b1g2ahsbv3pfa4qo7c9p",
                "cloud_id": "b1gia87mbaomkfvsleds", "name": "web-1",
                "description": "frontend",
                "hostname": "web-1.ru-central1.internal",
                "zone": "ru-central1-a",
                "ssh_public_key": "admin:ssh-ed25519 AAAAC3Nz admin",
                "serial_port_enabled": "1", "metadata_endpoint": base}
        eq(sh.sql("select * from ycloud_instance_metadata"), [want], "ycloud")
        eq(sh.sql("select instance_id from ycloud_instance_metadata "
                  "where metadata_endpoint = '%s'" % base),
           [{"instance_id": want["instance_id"]}], "endpoint = the service")
        srv.clear()
        eq(sh.sql("select * from ycloud_instance_metadata "
                  "where metadata_endpoint = 'http://192.0.2.1'"), [],
           "a non-loopback endpoint is not asked")
        eq(srv.requests, [], "nothing sent")


def test_not_a_cloud_and_unsafe_flags():
    with fakehttp.TcpServer({"/latest/api/token": (200, b"t")}) as srv:
        # DMI of an ordinary machine: no table asks anything
        with osqi(dmi({"sys_vendor": "QEMU", "product_name": "Standard PC"}),
                  srv) as sh:
            for t in ALL:
                eq(sh.sql("select * from " + t), [], t)
        eq(srv.requests, [], "no request without a cloud's DMI data")
    ec2 = dmi({"sys_vendor": "Amazon EC2"})
    # a DMI override without an endpoint would reach the real service: refused
    with osqtest.Osqi(args=["--cloud_dmi_dir=" + ec2]) as sh:
        sh.expect_error("select * from ec2_instance_metadata",
                        r"refusing to contact")
    with osqtest.Osqi(args=["--cloud_dmi_dir=" + ec2,
                            "--cloud_metadata_endpoint=http://169.254.169.254"]) as sh:
        sh.expect_error("select * from ec2_instance_metadata",
                        r"must be http:// on a loopback")
    # this machine's own DMI data (the default directory) names no cloud
    # here, so the default settings send nothing: the tables are empty
    with osqtest.Osqi() as sh:
        vendor = ""
        try:
            vendor = open("/sys/class/dmi/id/sys_vendor").read().strip()
        except OSError:
            pass
        if vendor not in ("Amazon EC2", "Microsoft Corporation", "Yandex"):
            for t in ALL:
                eq(sh.sql("select * from " + t), [], t + " on this machine")


def test_bad_replies():
    with fakehttp.TcpServer({"/metadata/instance/compute": (200, b"{nope"),
                             "/latest/api/token": (404, b""),
                             "/latest/dynamic/instance-identity/document":
                                 (500, b"oops")}) as srv:
        with osqi(dmi({"sys_vendor": "Microsoft Corporation",
                       "chassis_asset_tag": "7783-7084-3265-9085-8269-3286-77"}),
                  srv) as sh:
            sh.expect_error("select * from azure_instance_metadata",
                            r"not a JSON object")
        with osqi(dmi({"sys_vendor": "Amazon EC2"}), srv) as sh:
            sh.expect_error("select * from ec2_instance_metadata",
                            r"HTTP status 500")
            eq(sh.sql("select 1 as alive"), [{"alive": "1"}], "survives")


if __name__ == "__main__":
    osqtest.run_tests([test_ec2, test_azure, test_ycloud,
                       test_not_a_cloud_and_unsafe_flags, test_bad_replies])
