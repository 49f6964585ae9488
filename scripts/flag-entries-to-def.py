#!/usr/bin/python3
"""Turn flag entries written in the former array form of
src/core/flag_list.c, e.g.

    {"tls_hostname", S, "", CLI, "TLS/HTTPS hostname ..."},

into lines for src/core/flag_list.def. For a flag the .def already
declares (most osquery flags are, as not implemented) it prints the line
to put in place of the existing one, marked "replace"; for a new flag, a
line to add, marked "add"; entries already declared alike print nothing.
Usage: scripts/flag-entries-to-def.py FILE...
(for instance a flag_list.c left in conflict by a merge)."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEF = os.path.join(ROOT, "src", "core", "flag_list.def")
STR = r'"(?:[^"\\]|\\.)*"'
ENTRY = re.compile(r'\{\s*"(\w+)",\s*(\w+),\s*(%s),\s*([^,]+?),\s*(%s)\s*\}'
                   % (STR, STR))
TYPES = {"B": "BOOL", "I32": "INT32", "I64": "INT64", "U32": "UINT32",
         "U64": "UINT64", "D": "DOUBLE", "S": "STRING"}
KINDS = {"0": "FLAG", "CLI": "CLI", "SH": "SHELL", "HID": "HIDDEN",
         "EXT": "EXTENSION"}


def kind(expr):
    parts = [p.strip() for p in expr.split("|")]
    return "|".join(KINDS.get(p, p) for p in parts)


def main(paths):
    declared = {}
    with open(DEF) as f:
        for line in f:
            m = re.match(r"OSQ_FLAG\((\w+),", line)
            if m:
                declared[m.group(1)] = line.strip()
    for path in paths:
        with open(path) as f:
            text = f.read()
        for m in ENTRY.finditer(text):
            name, typ, dflt, knd, desc = m.groups()
            line = "OSQ_FLAG(%s, %s, %s, %s, YES, %s)" % (
                name, TYPES.get(typ, typ), dflt, kind(knd), desc)
            if declared.get(name) != line:
                print("%s %s" % ("replace" if name in declared else "add",
                                 line))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
