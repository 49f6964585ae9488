"""The audit publisher's file, SELinux and AppArmor tables from the real
kernel audit source (run as root): process_file_events rows for opens
with O_TRUNC, writes, renames, links and unlinks in a watched tmp tree
(and none outside it); selinux_events from a MAC_IPSEC_EVENT record the
kernel writes when an xfrm policy is added (in a private network
namespace); a USER_AVC message from user space lands in user_events, as
in osquery. The rules osq installs are gone when it exits."""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq, wait_until  # noqa: E402
from test_daemon_run import Daemon  # noqa: E402
from test_events import audit_state, query, stop_clean  # noqa: E402

BASE = ["--disable_events=false", "--disable_audit=false",
        "--audit_allow_config=true", "--audit_allow_process_events=false",
        "--audit_allow_user_events=false", "--audit_backlog_limit=65536"]


def wait_publisher(sh):
    wait_until(lambda: sh.sql("select active from osquery_events where "
                              "name = 'auditeventpublisher'") ==
               [{"active": "1"}], 30, "the audit publisher", sh.proc)


def test_process_file_events():
    before = audit_state()
    d = osqtest.workdir("evt-afim-")
    tree = os.path.join(d, "tree")
    other = os.path.join(d, "other")
    os.makedirs(tree)
    os.makedirs(other)
    dm = Daemon(d, {"file_paths": {"t": [tree + "/%%"]}},
                args=BASE + ["--audit_allow_fim_events=true"]).start()
    try:
        wait_until(lambda: query(dm, "select active from osquery_events "
                                     "where name = 'auditeventpublisher'") ==
                   [{"active": "1"}], 30, "the audit publisher", dm.proc)
        check(audit_state()[2] > before[2], "a file rule installed")
        a = os.path.join(tree, "a.txt")
        b = os.path.join(tree, "b.txt")
        lnk = os.path.join(tree, "a.lnk")
        # one child process does every call, so its pid names the rows
        script = (
            "import os, sys\n"
            "a, b, lnk, out = sys.argv[1:]\n"
            "fd = os.open(a, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)\n"
            "os.write(fd, b'one'); os.write(fd, b'two'); os.close(fd)\n"
            "fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)\n"
            "os.write(fd, b'x'); os.close(fd)\n"
            "os.rename(a, b)\n"
            "os.symlink(b, lnk)\n"
            "os.unlink(lnk)\n"
            "os.unlink(b)\n")
        py = os.path.realpath(sys.executable)
        subprocess.run([py, "-c", script, a, b, lnk,
                        os.path.join(other, "o.txt")], cwd=d, check=True)
        sql = ("select operation, pid, ppid, path, dest_path, executable, "
               "partial, cwd, uid, euid, gid, auid, time from "
               "process_file_events where path like '%s/%%' order by eid" %
               d)

        def complete():
            rows = query(dm, sql)
            ops = [r["operation"] for r in rows]
            return rows if ops.count("unlink") >= 2 else None
        rows = wait_until(complete, 60, "the file rows", dm.proc)
        pids = {r["pid"] for r in rows}
        eq(len(pids), 1, "one process did it all: %r" % rows)
        child = pids.pop()
        # a symlink's path is its first PATH item, as in osquery (the
        # kernel names the link's directory there, not the target)
        got = [(r["operation"], r["path"] if r["operation"] != "symlink"
                else "", r["dest_path"] or "") for r in rows]
        eq(got, [("open+truncate", a, ""), ("write", a, ""),
                 ("rename", a, b), ("symlink", "", lnk), ("unlink", lnk, ""),
                 ("unlink", b, "")],
           "operations in order (one write row per open; nothing for "
           "the file outside file_paths)")
        r = rows[0]
        check(int(child) > 0 and child != str(os.getpid()), r)
        eq(r["ppid"], str(os.getpid()), "ppid")
        eq(r["executable"], py, "executable")
        eq(r["partial"], "false", "partial")
        eq(r["cwd"], os.path.realpath(d), "cwd")
        eq(r["uid"], str(os.getuid()), "uid")
        eq(r["euid"], str(os.geteuid()), "euid")
        eq(r["gid"], str(os.getgid()), "gid")
        check(abs(int(r["time"]) - time.time()) < 600, "time %s" % r["time"])
        ev = {x["name"]: x for x in query(dm, "select * from "
                                                "osquery_events")}
        eq(ev["process_file_events"]["publisher"], "auditeventpublisher",
           "subscriber of the audit publisher")
    finally:
        stop_clean(dm)
    eq(audit_state(), before, "rules removed, settings restored at exit")


def user_msg(mtype, text):
    import socket
    import struct
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)
    try:
        s.bind((0, 0))
        s.send(struct.pack("=IHHII", 16 + len(text), mtype, 5, 1, 0) + text)
    finally:
        s.close()


def test_selinux_events():
    """No SELinux policy or AppArmor here: the kernel's xfrm code writes a
    MAC_IPSEC_EVENT record (osquery's SELinux set) for a new policy."""
    ip = shutil.which("ip") or "/usr/sbin/ip"
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    before = audit_state()
    mark = "osqavc%d" % os.getpid()
    with osqtest.Osqi(args=BASE + ["--audit_allow_selinux_events=true",
                                   "--audit_allow_apparmor_events=true",
                                   "--audit_allow_user_events=true"]) as sh:
        wait_publisher(sh)
        subprocess.run([unshare, "-n", ip, "xfrm", "policy", "add", "src",
                        "10.99.0.1/32", "dst", "10.99.0.2/32", "dir", "out",
                        "action", "block"], check=True)
        rows = wait_until(lambda: sh.sql(
            "select type, message, uptime, time from selinux_events where "
            "message like '%SPD-add%'"), 60, "the MAC_IPSEC_EVENT row",
            sh.proc)
        r = rows[0]
        eq(r["type"], "MAC_IPSEC_EVENT", "type label")
        check(r["message"].startswith("audit("), r["message"])
        check("src=10.99.0.1" in r["message"] and "res=1" in r["message"],
              r["message"])
        # USER_AVC (1107) is a user message: osquery's publisher hands
        # those to user_events before it looks at its SELinux set
        user_msg(1107, ("avc:  denied  { %s } for pid=1 comm=\"x\"" %
                        mark).encode())
        wait_until(lambda: sh.sql("select type from user_events where "
                                  "message like '%%%s%%'" % mark), 60,
                   "the USER_AVC in user_events", sh.proc)
        eq(sh.sql("select count(*) as n from selinux_events where message "
                  "like '%%%s%%'" % mark), [{"n": "0"}],
           "USER_AVC not in selinux_events")
        eq(sh.sql("select count(*) as n from apparmor_events"),
           [{"n": "0"}], "no AppArmor here")
    eq(audit_state(), before, "settings restored at exit")


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: the kernel audit source needs root")
        sys.exit(0)
    osqtest.run_tests([test_process_file_events, test_selinux_events])
