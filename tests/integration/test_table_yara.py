#!/usr/bin/python3
"""yara_file (alias yara) and yara_process against the yara CLI (same
rules, fast-scan mode as osquery uses) on files and a process the test
makes: sigfile, sigrule (strings kept private), a sig_group from the
config's yara section, compiled rules, LIKE paths, the required path, a
FIFO that must not block, and sigurl's clear refusal; and files (and a
process's mapped file) truncated over and over while they are scanned:
osqi survives, the untouched files' rows as the CLI's."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import check, eq  # noqa: E402
from tablelib import osqi_fails, osqi_json  # noqa: E402

RULES = r"""
rule hello_rule : greeting test {
  strings: $a = "hello" $b = "world"
  condition: $a or $b
}
rule never_rule { strings: $x = "zzzqqqxx" condition: $x }
rule tail_rule : misc { strings: $t = "THE-END" condition: $t }
"""


def yara_cli(rules, target):
    """What `yara -f -s -g` reports for one target, in the table's form."""
    out = subprocess.run(["yara", "-f", "-s", "-g", rules, str(target)],
                         capture_output=True, text=True, check=True,
                         timeout=120).stdout
    matches, strings, tags = [], [], []
    for line in out.splitlines():
        if line.startswith("0x"):
            off, ident, _ = line.split(":", 2)
            strings.append("%s:%x" % (ident, int(off, 16)))
        else:
            name, rest = line.split(" ", 1)
            matches.append(name)
            t = rest[rest.index("[") + 1:rest.index("]")]
            tags += [x for x in t.split(",") if x]
    return {"matches": ",".join(matches), "count": str(len(matches)),
            "strings": ",".join(strings), "tags": ",".join(tags)}


def setup(d):
    rules = os.path.join(d, "rules.yar")
    with open(rules, "w") as f:
        f.write(RULES)
    files = {}
    for name, data in (("a.txt", b"hello world, hello THE-END\n"),
                       ("b.txt", b"nothing to see\n"),
                       ("c.bin", b"\0\1world\0" * 50)):
        files[name] = os.path.join(d, name)
        with open(files[name], "wb") as f:
            f.write(data)
    os.mkfifo(os.path.join(d, "a.fifo"))
    return rules, files


def test_sigfile_against_cli():
    d = osqtest.workdir()
    rules, files = setup(d)
    rows, _ = osqi_json("select path, matches, count, strings, tags, sigfile, "
                        "sig_group from yara_file where path like '%s/%%' "
                        "and sigfile = '%s' order by path" % (d, rules))
    eq([r["path"] for r in rows], sorted(list(files.values()) + [rules]),
       "regular files only (the FIFO is skipped)")
    for r in rows:
        want = yara_cli(rules, r["path"])
        want.update(path=r["path"], sigfile=rules, sig_group="")
        eq(r, want, "yara_file " + r["path"])
    eq(rows[0]["matches"], "hello_rule,tail_rule", "two rules match a.txt")

    # the alias and the compiled form of the same rules
    compiled = os.path.join(d, "rules.yarc")
    subprocess.run(["yarac", rules, compiled], check=True, timeout=120)
    rows, _ = osqi_json("select matches, count, tags from yara where path = "
                        "'%s' and sigfile = '%s'" % (files["a.txt"], compiled))
    want = yara_cli(rules, files["a.txt"])
    eq(rows, [{"matches": want["matches"], "count": want["count"],
               "tags": want["tags"]}], "compiled rules through the alias")

    rows, _ = osqi_json("select * from yara_file where path = '%s/a.fifo' "
                        "and sigfile = '%s'" % (d, rules))
    eq(rows, [], "a FIFO named by = is not opened for a scan")


def test_many_files():
    """Enough files for the scanning threads (on a machine with two or
    more CPUs), sizes varied so scans finish out of order: every file
    once, each row as the CLI sees that file; LIMIT stops early."""
    d = osqtest.workdir()
    rules, _ = setup(d)
    many = os.path.join(d, "many")
    os.mkdir(many)
    for i in range(60):
        body = [b"hello " if i % 3 == 0 else b"", b"x" * (i * 17000),
                b"THE-END" if i % 4 == 0 else b"", b"\n"]
        with open(os.path.join(many, "f%02d" % i), "wb") as f:
            f.write(b"".join(body))
    rows, _ = osqi_json("select path, matches, count, strings, tags from "
                        "yara_file where path like '%s/%%' and sigfile = '%s'"
                        % (many, rules))
    eq(sorted(r["path"] for r in rows),
       ["%s/f%02d" % (many, i) for i in range(60)], "every file, once")
    for r in rows:
        want = yara_cli(rules, r["path"])
        want.update(path=r["path"])
        eq(r, want, "yara_file " + r["path"])
    rows, _ = osqi_json("select path from yara_file where path like '%s/%%' "
                        "and sigfile = '%s' limit 3" % (many, rules))
    eq(len(rows), 3, "LIMIT 3")


def test_sigrule_and_group():
    d = osqtest.workdir()
    rules, files = setup(d)
    rule = 'rule inline_rule : t1 { strings: $w = "world" condition: $w }'
    rows, _ = osqi_json("select path, matches, count, strings, sigrule "
                        "from yara_file where path = '%s' and sigrule = '%s'"
                        % (files["c.bin"], rule))
    eq(rows, [{"path": files["c.bin"], "matches": "inline_rule",
               "count": "1", "strings": "", "sigrule": rule}],
       "sigrule: matched strings private")
    rows, _ = osqi_json("select strings from yara_file where path = '%s' "
                        "and sigrule = '%s'" % (files["c.bin"], rule),
                        args=["--enable_yara_string"])
    eq(rows, [{"strings": "$w:2"}], "--enable_yara_string shows them")

    conf = os.path.join(d, "osq.conf")
    with open(conf, "w") as f:
        json.dump({"yara": {"signatures": {"grp": [rules]}}}, f)
    rows, _ = osqi_json("select path, matches, count, strings, tags, "
                        "sig_group from yara_file where path in ('%s', '%s') "
                        "and sig_group = 'grp' order by path"
                        % (files["a.txt"], files["b.txt"]),
                        args=["--config_path=" + conf])
    for r in rows:
        want = yara_cli(rules, r["path"])
        want.update(path=r["path"], sig_group="grp")
        eq(r, want, "sig_group " + r["path"])
    eq(len(rows), 2, "both files")
    rows, err = osqi_json("select * from yara_file where path = '%s' and "
                          "sig_group = 'nosuch'" % files["a.txt"],
                          args=["--config_path=" + conf])
    eq(rows, [], "unknown group: no rows")
    check("nosuch" in err, "unknown group named: %r" % err)


def test_process_against_cli():
    d = osqtest.workdir()
    rules = os.path.join(d, "proc.yar")
    with open(rules, "w") as f:
        f.write('rule marker_rule : proc { strings: $m = "OSQ-YARA-MARKER-7"'
                ' condition: $m }\n')
    proc = subprocess.Popen(
        ["/usr/bin/python3", "-c",
         "import sys, time\nm = 'OSQ-YARA-MARKER-' + str(7)\n"
         "print('ready', flush=True)\ntime.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        eq(proc.stdout.readline().strip(), "ready", "target started")
        rows, _ = osqi_json("select pid, matches, count, tags from "
                            "yara_process where pid = %d and sigfile = '%s'"
                            % (proc.pid, rules))
        want = yara_cli(rules, proc.pid)
        eq(rows, [{"pid": str(proc.pid), "matches": want["matches"],
                   "count": want["count"], "tags": want["tags"]}],
           "yara_process vs yara CLI")
        eq(rows[0]["matches"], "marker_rule", "the marker is found")
    finally:
        proc.kill()
        proc.wait()


# filesize, an integer read at an offset and a string near the end: the
# conditions a scan of anything but the whole file would change
SIZE_RULES = r"""
rule size_rule { condition: filesize == 3000000 and uint32(0) == 0x464c457f }
rule tail_rule : misc { strings: $t = "THE-END" condition: $t }
rule at_rule { strings: $h = "hello" condition: $h at 2999000 }
"""

# Truncates each file named on the command line to nothing and back to
# its size, over and over (bounded), until stdin closes; "ready" once
# each has been truncated once.
TRUNCATOR = r"""
import os, sys, threading
fds = [(os.open(p, os.O_RDWR), os.path.getsize(p)) for p in sys.argv[1:]]
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()),
                 daemon=True).start()
for i in range(2000000):
    for fd, size in fds:
        os.ftruncate(fd, 0)
        os.ftruncate(fd, size)
    if i == 0:
        print("ready", flush=True)
    if stop.is_set():
        break
"""


def truncating(paths):
    """A process truncating paths over and over, running (see TRUNCATOR)."""
    p = subprocess.Popen([sys.executable, "-c", TRUNCATOR] + paths,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    eq(p.stdout.readline().strip(), "ready", "truncator started")
    return p


def stop(p):
    p.stdin.close()
    eq(p.wait(timeout=osqtest.WAIT), 0, "truncator ran to the end")


def test_truncated_while_scanned():
    """libyara scans a mapping of the file: a truncation meanwhile must
    not kill osqi (SIGBUS); files nobody touches give the CLI's rows,
    through the scanning threads and without them."""
    d = osqtest.workdir()
    rules = os.path.join(d, "size.yar")
    with open(rules, "w") as f:
        f.write(SIZE_RULES)
    calm = os.path.join(d, "calm")
    os.mkdir(calm)
    for i in range(6):
        data = bytearray(b"\x7fELF" + bytes(3000000 - 4))
        data[2999000:2999005] = b"hello"
        if i % 2:
            data[-7:] = b"THE-END"
        with open(os.path.join(calm, "f%d" % i), "wb") as f:
            f.write(data[:len(data) - i * 1000])
    want = {}
    for name in sorted(os.listdir(calm)):
        path = os.path.join(calm, name)
        want[path] = yara_cli(rules, path)
        want[path].update(path=path)
    victims = []
    for i in range(3):
        victims.append(os.path.join(d, "victim%d" % i))
        with open(victims[-1], "wb") as f:
            f.write(b"\x7fELF")
            f.truncate(48 << 20)
    t = truncating(victims)
    try:
        for i in range(15):
            # the victims and the calm files on the threads; one victim alone
            rows, _ = osqi_json("select path, matches, count, strings, tags "
                                "from yara_file where (path like '%s/%%' or "
                                "path like '%s/victim%%') and sigfile = '%s'"
                                % (calm, d, rules))
            got = {r["path"]: r for r in rows if r["path"] in want}
            eq(got, want, "untouched files as the CLI sees them, run %d" % i)
            osqi_json("select count(*) from yara_file where path = '%s' and "
                      "sigfile = '%s'" % (victims[i % 3], rules))
    finally:
        stop(t)


def test_process_with_truncated_file():
    """libyara 4 maps the files behind a process's mappings to read them:
    truncating such a file during yara_process must not kill osqi."""
    d = osqtest.workdir()
    rules = os.path.join(d, "proc.yar")
    with open(rules, "w") as f:
        f.write('rule marker_rule { strings: $m = "OSQ-YARA-MARKER-9"'
                ' condition: $m }\n')
    victim = os.path.join(d, "mapped")
    with open(victim, "wb") as f:
        f.truncate(32 << 20)
    proc = subprocess.Popen(
        ["/usr/bin/python3", "-c",
         "import mmap, sys, time\nm = 'OSQ-YARA-MARKER-' + str(9)\n"
         "f = open(sys.argv[1], 'rb')\n"
         "mm = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE,\n"
         "               prot=mmap.PROT_READ)\n"
         "print('ready', flush=True)\ntime.sleep(600)\n", victim],
        stdout=subprocess.PIPE, text=True)
    try:
        eq(proc.stdout.readline().strip(), "ready", "target started")
        t = truncating([victim])
        try:
            for i in range(10):
                rows, _ = osqi_json("select pid, matches from yara_process "
                                    "where pid = %d and sigfile = '%s'"
                                    % (proc.pid, rules))
                # a region whose file shrank as libyara read it can fail
                # the scan: no row then, as in osquery
                check(rows in ([], [{"pid": str(proc.pid),
                                     "matches": "marker_rule"}]),
                      "the process scanned or skipped, run %d: %r"
                      % (i, rows))
        finally:
            stop(t)
        rows, _ = osqi_json("select pid, matches from yara_process where "
                            "pid = %d and sigfile = '%s'" % (proc.pid, rules))
        eq(rows, [{"pid": str(proc.pid), "matches": "marker_rule"}],
           "the file left alone: the process scanned")
    finally:
        proc.kill()
        proc.wait()


def test_errors():
    d = osqtest.workdir()
    rules, files = setup(d)
    rc, err = osqi_fails("select * from yara_file where sigfile = '%s'" % rules)
    check(rc != 0 and "required" in err, "path required: %r" % err)
    rc, err = osqi_fails("select * from yara_process where sigfile = '%s'"
                         % rules)
    check(rc != 0 and "required" in err, "pid required: %r" % err)
    rc, err = osqi_fails("select * from yara_file where path = '%s' and "
                         "sigurl = 'https://127.0.0.1/r.yar'" % files["a.txt"])
    check(rc != 0 and "sigurl is not supported" in err,
          "sigurl refused clearly: %r" % err)
    rows, err = osqi_json("select * from yara_file where path = '%s'"
                          % files["a.txt"])
    eq(rows, [], "no rule source: no rows")
    check("sig_group, sigfile or sigrule" in err, "told why: %r" % err)
    bad = os.path.join(d, "bad.yar")
    with open(bad, "w") as f:
        f.write("rule broken { condition: $nope }\n")
    rows, err = osqi_json("select * from yara_file where path = '%s' and "
                          "sigfile = '%s'" % (files["a.txt"], bad))
    eq(rows, [], "rules that do not compile: no rows")
    check("bad.yar" in err, "compile error names the file: %r" % err)


if __name__ == "__main__":
    osqtest.run_tests([test_sigfile_against_cli, test_many_files,
                       test_sigrule_and_group,
                       test_process_against_cli, test_truncated_while_scanned,
                       test_process_with_truncated_file, test_errors])
