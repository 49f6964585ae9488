#!/usr/bin/python3
"""magic against the file CLI (same libmagic, independent front end) on
files the test makes: description, MIME type and encoding; a custom
database through magic_db_files; the required path; a FIFO that must not
block; a missing database."""
import gzip
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402
from tablelib import osqi_fails, osqi_json  # noqa: E402


def file_cli(*args):
    return subprocess.run(["file", "-b"] + list(args), capture_output=True,
                          text=True, check=True, timeout=60).stdout.rstrip("\n")


def make_files(d):
    paths = {}
    def put(name, data):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        paths[name] = p
    put("text.txt", b"hello world\n")
    put("latin1.txt", "caf\xe9 cr\xe8me\n".encode("latin-1"))
    put("image.png", b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + b"\0" * 17)
    put("data.gz", gzip.compress(b"payload" * 100))
    put("empty", b"")
    put("script.sh", b"#!/bin/sh\necho hi\n")
    put("custom.bin", b"OSQMAGIC\x01rest")
    os.mkfifo(os.path.join(d, "fifo"))
    paths["fifo"] = os.path.join(d, "fifo")
    paths["dir"] = d
    paths["missing"] = os.path.join(d, "missing")
    return paths


def test_against_file():
    d = osqtest.workdir()
    paths = make_files(d)
    inlist = ",".join("'%s'" % p for p in paths.values())
    rows, _ = osqi_json("select path, data, mime_type, mime_encoding "
                        "from magic where path in (%s)" % inlist)
    eq(sorted(r["path"] for r in rows), sorted(paths.values()),
       "one row per path")
    for r in rows:
        p = r["path"]
        eq(r["data"], file_cli(p), "data of " + p)
        eq(r["mime_type"], file_cli("--mime-type", p), "mime_type of " + p)
        eq(r["mime_encoding"], file_cli("--mime-encoding", p),
           "mime_encoding of " + p)
    by = {r["path"]: r for r in rows}
    eq(by[paths["image.png"]]["mime_type"], "image/png", "png")
    eq(by[paths["text.txt"]]["mime_encoding"], "us-ascii", "ascii")

    rows, _ = osqi_json("select magic_db_files from magic where path = '%s'"
                        % paths["text.txt"])
    check(rows[0]["magic_db_files"].endswith("magic.mgc"),
          "default database named: %r" % rows)


def test_custom_database():
    d = osqtest.workdir()
    paths = make_files(d)
    src = os.path.join(d, "osq.magic")
    with open(src, "w") as f:
        f.write("0\tstring\tOSQMAGIC\tosq test format\n"
                "!:mime\tapplication/x-osq-test\n")
    subprocess.run(["file", "-C", "-m", src], cwd=d, check=True,
                   capture_output=True, timeout=60)
    mgc = src + ".mgc"
    rows, _ = osqi_json("select data, mime_type, magic_db_files from magic "
                        "where path = '%s' and magic_db_files = '%s'"
                        % (paths["custom.bin"], mgc))
    eq(rows, [{"data": file_cli("-m", mgc, paths["custom.bin"]),
               "mime_type": file_cli("-m", mgc, "--mime-type",
                                     paths["custom.bin"]),
               "magic_db_files": mgc}], "custom database")
    eq(rows[0]["data"], "osq test format", "custom description")

    rows, err = osqi_json("select * from magic where path = '%s' and "
                          "magic_db_files = '%s/absent.mgc'"
                          % (paths["text.txt"], d))
    eq(rows, [], "a database that does not load: no rows")
    check("magic database" in err, "reason logged: %r" % err)


def test_required_path():
    rc, err = osqi_fails("select * from magic")
    check(rc != 0 and "required" in err, "path is required: %r" % err)


if __name__ == "__main__":
    osqtest.run_tests([test_against_file, test_custom_database,
                       test_required_path])
