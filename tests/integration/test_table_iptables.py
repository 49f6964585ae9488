#!/usr/bin/python3
"""iptables against `iptables-legacy -S` (libip4tc reads the legacy
tables, as osquery's does): the test adds a chain of its own with rules
covering addresses, interfaces, ports (also inverted) and a rule without
matches, compares every column, and removes the chain whatever happens.
Needs CAP_NET_ADMIN; without it the test says so and checks only that
the table answers."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402
from tablelib import osqi_json  # noqa: E402

CHAIN = "OSQT%d" % os.getpid()
RULES = [
    ["-s", "10.0.0.0/8", "-i", "eth0", "-p", "tcp", "-m", "tcp",
     "--dport", "8080", "-j", "ACCEPT"],
    ["-d", "192.168.1.1/32", "-o", "lo+", "-p", "udp", "-m", "udp",
     "!", "--sport", "53", "-j", "DROP"],
    ["-j", "RETURN"],
]
PROTO = {"tcp": "6", "udp": "17"}


def ipt(*args, check=True):
    return subprocess.run(["iptables-legacy"] + list(args),
                          capture_output=True, text=True, check=check,
                          timeout=60)


def mask(bits):
    v = (0xffffffff << (32 - bits)) & 0xffffffff if bits else 0
    return ".".join(str((v >> s) & 255) for s in (24, 16, 8, 0))


def expected(line):
    """A row as the table should show the -A line of iptables -S."""
    w = line.split()[2:]
    row = {"filter_name": "filter", "chain": CHAIN, "policy": "",
           "protocol": "0", "src_port": "", "dst_port": "",
           "src_ip": "0.0.0.0", "src_mask": "0.0.0.0", "dst_ip": "0.0.0.0",
           "dst_mask": "0.0.0.0", "iniface": "all", "iniface_mask": "",
           "outiface": "all", "outiface_mask": "", "match": "no",
           "packets": "0", "bytes": "0"}
    inv = False
    i = 0
    while i < len(w):
        k = w[i]
        v = w[i + 1] if i + 1 < len(w) else ""
        if k == "!":
            inv = True
            i += 1
            continue
        if k in ("-s", "-d"):
            ip, bits = v.split("/")
            side = "src" if k == "-s" else "dst"
            row[side + "_ip"], row[side + "_mask"] = ip, mask(int(bits))
        elif k in ("-i", "-o"):
            side = "iniface" if k == "-i" else "outiface"
            row[side] = v
            n = len(v) - 1 if v.endswith("+") else len(v) + 1
            row[side + "_mask"] = "FF" * n
        elif k == "-p":
            row["protocol"] = PROTO[v]
        elif k == "-m":
            row["match"] = "yes"
            row["src_port"] = row["dst_port"] = "0:65535"
        elif k in ("--sport", "--dport"):
            col = "src_port" if k == "--sport" else "dst_port"
            lo, _, hi = v.partition(":")
            row[col] = "%s%s:%s" % ("!" if inv else "", lo, hi or lo)
        elif k == "-j":
            row["target"] = v
        i += 2
        inv = False
    return row


def test_against_iptables_s():
    if ipt("-N", CHAIN, check=False).returncode != 0:
        print("SKIP: no CAP_NET_ADMIN or no ip_tables: only the empty case")
        rows, _ = osqi_json("select * from iptables")
        check(isinstance(rows, list), "the table answers")
        return
    try:
        for r in RULES:
            ipt("-A", CHAIN, *r)
        lines = [ln for ln in ipt("-S", CHAIN).stdout.splitlines()
                 if ln.startswith("-A ")]
        eq(len(lines), len(RULES), "iptables -S lists the rules")
        rows, _ = osqi_json("select * from iptables where chain = '%s'"
                            % CHAIN)
        eq(rows, [expected(ln) for ln in lines], "rules vs iptables -S")

        # policies of the built-in chains, as iptables -S prints them
        pol = {ln.split()[1]: ln.split()[2]
               for ln in ipt("-S").stdout.splitlines()
               if ln.startswith("-P ")}
        rows, _ = osqi_json("select distinct chain, policy from iptables "
                            "where filter_name = 'filter' and policy != ''")
        eq({r["chain"]: r["policy"] for r in rows}, pol, "policies")
    finally:
        ipt("-F", CHAIN, check=False)
        ipt("-X", CHAIN, check=False)
    rows, _ = osqi_json("select * from iptables where chain = '%s'" % CHAIN)
    eq(rows, [], "chain removed")


if __name__ == "__main__":
    osqtest.run_tests([test_against_iptables_s])
