#!/usr/bin/python3
"""The built-in tables seen through osqi with a live extension manager:
osquery_extensions (with osquery's sdk_version swap), osquery_registry,
osquery_info, processes and file/hash as a user runs them."""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402

EXT = r'''
from osqtest import ext
class T(ext.Table):
    name = "tables_it_probe"
    columns = [("a", "TEXT")]
    def generate(self, context, request):
        return [{"a": "probe"}]
ext.main("tables_it_ext", [T()], version="4.5.6")
'''


def test_introspection_with_extension():
    with osqtest.Osqi() as sh:
        rows = sh.sql("select extensions, pid from osquery_info")
        eq(rows[0]["extensions"], "active", "osquery_info.extensions")
        eq(rows[0]["pid"], str(sh.proc.pid), "osquery_info.pid")

        rows = sh.sql("select * from osquery_extensions")
        eq(len(rows), 1, "core only")
        eq(rows[0], {"uuid": "0", "name": "core", "version": rows[0]["version"],
                     "sdk_version": "0.0.0", "path": sh.socket,
                     "type": "core"}, "core row")

        e = osqtest.spawn_extension(EXT, sh.socket)
        check(e.uuid is not None, "extension registered: %s" % e.failure)
        try:
            rows = sh.sql("select * from osquery_extensions order by uuid")
            eq(len(rows), 2, "core + extension")
            x = rows[1]
            eq(x["uuid"], str(e.uuid), "uuid")
            eq(x["name"], "tables_it_ext", "name")
            eq(x["version"], "4.5.6", "version")
            # osquery shows min_sdk_version under sdk_version
            eq(x["sdk_version"], "1.8.0", "sdk_version swap")
            eq(x["type"], "extension", "type")
            check(x["path"].startswith(sh.socket), "path %r" % x["path"])

            rows = sh.sql("select registry, name, owner_uuid, internal, active "
                          "from osquery_registry where registry = 'table'")
            names = [r["name"] for r in rows]
            probe = [r for r in rows if r["name"] == "tables_it_probe"]
            eq(probe, [{"registry": "table", "name": "tables_it_probe",
                        "owner_uuid": str(e.uuid), "internal": "0",
                        "active": "1"}], "extension route row")
            # core plugins first, extension routes after them
            eq(names[-1], "tables_it_probe", "extension routes last")
            for t in ("processes", "file", "hash", "osquery_info", "time"):
                check(t in names, "core table %s listed" % t)

            rows = sh.sql("select name, cmdline from processes where pid = %d"
                          % e.proc.pid)
            eq(len(rows), 1, "extension process row")
            check("ext.py" in rows[0]["cmdline"], rows[0]["cmdline"])
        finally:
            e.stop()
        osqtest.wait_until(
            lambda: len(sh.sql("select * from osquery_extensions")) == 1,
            what="extension row gone after it exits")


def test_file_and_hash_through_shell():
    d = osqtest.workdir("osqt-tables-")
    with open(os.path.join(d, "a.conf"), "wb") as f:
        f.write(b"hello\n")
    os.chmod(os.path.join(d, "a.conf"), 0o600)
    os.mkdir(os.path.join(d, "sub"))
    with open(os.path.join(d, "sub", "b.conf"), "wb") as f:
        f.write(b"")
    with osqtest.Osqi() as sh:
        rows = sh.sql("select filename, mode, size, type from file "
                      "where path like '%s/%%%%' order by path" % d)
        eq([(r["filename"], r["type"]) for r in rows],
           [("a.conf", "regular"), ("sub", "directory"),
            ("b.conf", "regular")], "recursive LIKE")
        eq(rows[0]["mode"], "0600", "mode text")
        eq(rows[0]["size"], "6", "size")
        rows = sh.sql("select sha256 from hash where path = '%s/a.conf'" % d)
        eq(rows, [{"sha256": hashlib.sha256(b"hello\n").hexdigest()}], "hash")
        rows = sh.sql("select count(*) as n from users where uid = 0 "
                      "and username = 'root'")
        eq(rows, [{"n": "1"}], "users root")


if __name__ == "__main__":
    osqtest.run_tests([test_introspection_with_extension,
                       test_file_and_hash_through_shell])
