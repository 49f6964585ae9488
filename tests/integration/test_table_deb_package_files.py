#!/usr/bin/python3
"""deb_package_files against dpkg-query -L on installed packages, and on a
fixture admindir (plain and Multi-Arch list names, a bad list, the
package constraint pushed down)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import eq  # noqa: E402
from tablelib import osqi_json  # noqa: E402


def dpkg_files(pkg, admindir=None):
    cmd = ["dpkg-query"] + (["--admindir=" + admindir] if admindir else []) \
        + ["-L", pkg]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         timeout=60).stdout
    # dpkg-query adds "diverted by"/"package diverts" notes: not files
    return sorted(line for line in out.splitlines() if line.startswith("/"))


def test_installed_packages():
    # packages every Debian system has, one of them Multi-Arch: same
    for pkg in ("dpkg", "libc6", "coreutils"):
        rows, _ = osqi_json("select path, admindir from deb_package_files "
                            "where package = '%s'" % pkg)
        eq(sorted(r["path"] for r in rows), dpkg_files(pkg), pkg)
        eq({r["admindir"] for r in rows}, {"/var/lib/dpkg"}, "admindir")
    rows, _ = osqi_json("select count(*) as n from deb_package_files "
                        "where package in ('dpkg', 'coreutils')")
    eq(int(rows[0]["n"]), len(dpkg_files("dpkg")) + len(dpkg_files("coreutils")),
       "IN list")


def test_fixture_admindir():
    d = osqtest.workdir()
    info = os.path.join(d, "info")
    os.makedirs(info)
    status = ""
    for pkg, arch, files in (("alpha", "all", ["/.", "/usr", "/usr/bin/alpha"]),
                             ("beta", "amd64", ["/usr/lib/beta.so"])):
        status += ("Package: %s\nStatus: install ok installed\n"
                   "Version: 1.0\nArchitecture: %s\nMaintainer: t <t@t>\n"
                   "Description: t\n%s\n"
                   % (pkg, arch, "Multi-Arch: same\n" if pkg == "beta" else ""))
        name = pkg if pkg == "alpha" else pkg + ":amd64"
        with open(os.path.join(info, name + ".list"), "w") as f:
            f.write("\n".join(files) + "\n")
    with open(os.path.join(d, "status"), "w") as f:
        f.write(status)
    # dpkg's multiarch database layout: pkg:arch.list for Multi-Arch: same
    with open(os.path.join(info, "format"), "w") as f:
        f.write("1\n")
    # not lists of files: skipped
    with open(os.path.join(info, "alpha.md5sums"), "w") as f:
        f.write("0 usr/bin/alpha\n")
    os.mkfifo(os.path.join(info, "gamma.list"))

    rows, _ = osqi_json("select package, path, admindir from deb_package_files "
                        "where admindir = '%s' order by package, path" % d)
    eq(rows, [{"package": "alpha", "path": p, "admindir": d}
              for p in ("/.", "/usr", "/usr/bin/alpha")]
       + [{"package": "beta", "path": "/usr/lib/beta.so", "admindir": d}],
       "all lists")
    for pkg in ("alpha", "beta"):
        rows, _ = osqi_json("select path from deb_package_files where "
                            "admindir = '%s' and package = '%s'" % (d, pkg))
        eq(sorted(r["path"] for r in rows), dpkg_files(pkg, d), pkg)
    rows, _ = osqi_json("select * from deb_package_files where admindir = "
                        "'%s' and package = '../info/alpha'" % d)
    eq(rows, [], "a package name is not a path")
    rows, _ = osqi_json("select * from deb_package_files where admindir = "
                        "'%s/absent'" % d)
    eq(rows, [], "missing admindir: no rows")


if __name__ == "__main__":
    osqtest.run_tests([test_installed_packages, test_fixture_admindir])
