#!/usr/bin/python3
"""rpm_packages and rpm_package_files against `rpm -q --dbpath` on an RPM
database the test builds: two tiny packages made with rpmbuild and
recorded with `rpm --justdb --nodeps -i` (nothing lands outside the test
directory); osqi reads that database through the hidden --rpm_dbpath."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import eq  # noqa: E402
from tablelib import osqi_json  # noqa: E402

SPEC = """Name: %(name)s
Version: 1.2.3
Release: 4
%(epoch)s
Summary: osq test package
License: MIT
Group: Testing/osq
Vendor: osq tests
BuildArch: noarch
%%description
A package for osq's rpm tests.
%%install
mkdir -p %%{buildroot}/opt/%(name)s
echo hello > %%{buildroot}/opt/%(name)s/hello.txt
printf '#!/bin/sh\\n' > %%{buildroot}/opt/%(name)s/run.sh
%%files
%%attr(0755,root,root) /opt/%(name)s/run.sh
%%attr(0600,nobody,nogroup) /opt/%(name)s/hello.txt
%%dir /opt/%(name)s
"""

PKG_QF = ("%{NAME}\\t%{VERSION}\\t%{RELEASE}\\t%{SOURCERPM}\\t%{SIZE}\\t"
          "%{SHA1HEADER}\\t%{ARCH}\\t%{EPOCH}\\t%{INSTALLTIME}\\t%{VENDOR}\\t"
          "%{GROUP}\\n")
PKG_COLS = ("name", "version", "release", "source", "size", "sha1", "arch",
            "epoch", "install_time", "vendor", "package_group")
FILE_QF = ("[%{=NAME}\\t%{FILENAMES}\\t%{FILEUSERNAME}\\t%{FILEGROUPNAME}\\t"
           "%{FILEMODES:octal}\\t%{FILESIZES}\\t%{FILEDIGESTS}\\n]")
FILE_COLS = ("package", "path", "username", "groupname", "mode", "size",
             "sha256")


def rpm(*args):
    return subprocess.run(["rpm"] + list(args), capture_output=True,
                          text=True, check=True, timeout=120).stdout


def make_db(d):
    db = os.path.join(d, "db")
    os.makedirs(os.path.join(d, "SPECS"))
    os.makedirs(db)
    rpm("--dbpath", db, "--initdb")
    for name, epoch in (("osqtest-alpha", "Epoch: 2"), ("osqtest-beta", "")):
        spec = os.path.join(d, "SPECS", name + ".spec")
        with open(spec, "w") as f:
            f.write(SPEC % {"name": name, "epoch": epoch})
        subprocess.run(["rpmbuild", "--define", "_topdir " + d, "-bb", spec],
                       capture_output=True, check=True, timeout=300)
        pkg = os.path.join(d, "RPMS", "noarch", name + "-1.2.3-4.noarch.rpm")
        rpm("--dbpath", db, "--justdb", "--nodeps", "-i", pkg)
    return db


def rows_of(text, cols):
    return [dict(zip(cols, line.split("\t")))
            for line in text.splitlines() if line]


def mode4(octal):
    return "%04o" % (int(octal, 8) & 0o7777)


def test_against_rpm():
    d = osqtest.workdir()
    db = make_db(d)
    flag = ["--rpm_dbpath=" + db]

    want = sorted(rows_of(rpm("-qa", "--dbpath", db, "--qf", PKG_QF),
                          PKG_COLS), key=lambda r: r["name"])
    for r in want:
        if r["epoch"] == "(none)":
            r["epoch"] = ""  # NULL, which osqi's JSON prints as ""
    eq(len(want), 2, "rpm -qa lists both")
    got, _ = osqi_json("select * from rpm_packages order by name", args=flag)
    eq(got, want, "rpm_packages")

    # (not "epoch is null": SQLite takes key columns of the table, as
    # osquery declares them, for NOT NULL)
    got, _ = osqi_json("select name, quote(epoch) as e from rpm_packages "
                       "where name = 'osqtest-beta'", args=flag)
    eq(got, [{"name": "osqtest-beta", "e": "NULL"}],
       "name pushed down; no epoch: NULL")
    got, _ = osqi_json("select count(*) as n from rpm_packages "
                       "where name = 'absent'", args=flag)
    eq(got, [{"n": "0"}], "unknown name")
    # no column read: counted from the name index, no header read
    got, _ = osqi_json("select count(*) as n, (select count(name) from "
                       "rpm_packages) as m from rpm_packages", args=flag)
    n = str(len(rpm("-qa", "--dbpath", db).split()))
    eq(got, [{"n": n, "m": n}], "count(*) as rpm -qa counts, and as names")

    want = rows_of(rpm("-qa", "--dbpath", db, "--qf", FILE_QF), FILE_COLS)
    for r in want:
        r["mode"] = mode4(r["mode"])
        if r["sha256"] == "":  # a directory: librpm reports a zero digest
            r["sha256"] = "0" * 64
    want.sort(key=lambda r: r["path"])
    got, _ = osqi_json("select * from rpm_package_files order by path",
                       args=flag)
    eq(got, want, "rpm_package_files")
    eq([r["mode"] for r in got if r["path"].endswith("hello.txt")],
       ["0600", "0600"], "modes")

    got, _ = osqi_json("select path from rpm_package_files "
                       "where package = 'osqtest-alpha' order by path",
                       args=flag)
    eq([r["path"] for r in got],
       sorted(rpm("-ql", "--dbpath", db, "osqtest-alpha").split()),
       "package pushed down (rpm -ql)")


def test_missing_db():
    d = osqtest.workdir()
    for t in ("rpm_packages", "rpm_package_files"):
        got, _ = osqi_json("select * from %s" % t,
                           args=["--rpm_dbpath=" + os.path.join(d, "none")])
        eq(got, [], "%s: no database, no rows" % t)


if __name__ == "__main__":
    osqtest.run_tests([test_against_rpm, test_missing_db])
