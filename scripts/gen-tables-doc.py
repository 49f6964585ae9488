#!/usr/bin/python3
"""Write docs/tables.md from schema/linux.schema (every table's columns,
types, options, collations and aliases), schema/linux.notes (what each
table is, its source of truth on Linux, its behaviour, and the prose) and
schema/foreign.schema (the list of foreign tables).

Usage: scripts/gen-tables-doc.py [--osqi PATH] [--check]

osqi (default build/osqi) is asked which tables osq registers and for the
columns of osq's own tables and osq_* columns, which the schema does not
hold. --check: exit 1 if docs/tables.md is not what this would write, if
a registered table has no notes entry, or if a notes entry names a table
that is neither registered nor in schema/linux.schema."""
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(ROOT, "schema", "linux.schema")
NOTES = os.path.join(ROOT, "schema", "linux.notes")
DOC = os.path.join(ROOT, "docs", "tables.md")
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
TABLE_KEYS = ("group", "what", "source", "registered", "notes")
OPTION_ORDER = ("index", "required", "additional", "optimized", "hidden")


def fail(msg):
    sys.exit("gen-tables-doc: " + msg)


def load_foreign_generator():
    path = os.path.join(ROOT, "scripts", "gen-foreign-tables.py")
    spec = importlib.util.spec_from_file_location("gen_foreign_tables", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def parse_schema(path):
    tables, t = {}, None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            words = line.split()
            if line.startswith("table "):
                kv = dict(w.split("=", 1) for w in words[2:] if "=" in w)
                t = {"name": words[1], "columns": [],
                     "attrs": [a for a in kv.get("attrs", "").split(",") if a],
                     "aliases": [a for a in kv.get("aliases", "").split(",") if a]}
                tables[t["name"]] = t
            elif t is not None and line.startswith("  ") and len(words) >= 2:
                t["columns"].append({"name": words[0], "type": words[1],
                                     "options": words[2:]})
            else:
                fail("%s:%d: not a table or column line" % (path, n))
    return tables


def parse_notes(path):
    """Returns (groups [(key, title, intro)], tables {name: {...}},
    prose {key: text})."""
    groups, tables, prose = [], {}, {}
    block = None  # ("group", idx) / ("table", name) / ("prose", key)
    order = []
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            where = "%s:%d" % (os.path.relpath(path, ROOT), n)
            if not line or line.startswith("#"):
                continue
            if not line.startswith(" "):
                words = line.split(None, 2)
                if words[0] == "group" and len(words) == 3:
                    groups.append([words[1], words[2], []])
                    block = ("group", len(groups) - 1)
                elif words[0] == "table" and len(words) == 2:
                    name = words[1]
                    if not NAME.match(name) or name in tables:
                        fail("%s: bad or repeated table name" % where)
                    tables[name] = {"line": where}
                    order.append(name)
                    block = ("table", name)
                elif words[0] == "prose" and len(words) == 2:
                    prose.setdefault(words[1], [])
                    block = ("prose", words[1])
                else:
                    fail("%s: want 'group KEY TITLE', 'table NAME' or "
                         "'prose KEY'" % where)
                continue
            if block is None:
                fail("%s: indented line outside a block" % where)
            if line.startswith("  |"):
                text = line[4:] if line.startswith("  | ") else line[3:]
                if block[0] == "group":
                    groups[block[1]][2].append(text)
                elif block[0] == "prose":
                    prose[block[1]].append(text)
                else:
                    fail("%s: '|' lines belong to a group or prose" % where)
                continue
            m = re.match(r"^  ([a-z]+): (.+)$", line)
            if not m or block[0] != "table" or m.group(1) not in TABLE_KEYS:
                fail("%s: want '  KEY: TEXT' (KEY one of %s) in a table"
                     % (where, ", ".join(TABLE_KEYS)))
            entry = tables[block[1]]
            if m.group(1) in entry:
                fail("%s: %s given twice" % (where, m.group(1)))
            entry[m.group(1)] = m.group(2).strip()
    if order != sorted(order):
        fail("schema/linux.notes: tables must be sorted by name")
    keys = [g[0] for g in groups]
    for name, e in tables.items():
        for k in ("group", "what", "source"):
            if k not in e:
                fail("%s: table %s has no '%s'" % (e["line"], name, k))
        if e["group"] not in keys:
            fail("%s: table %s: unknown group '%s'"
                 % (e["line"], name, e["group"]))
    return ([(k, t, "\n".join(i).strip("\n")) for k, t, i in groups], tables,
            {k: "\n".join(v).strip("\n") for k, v in prose.items()})


def osqi_tables(osqi):
    """{name: [(column, TYPE, hidden)]} of the tables osqi registers, with
    an extension socket so the loader's table is there too."""
    with tempfile.TemporaryDirectory(prefix="osq-tabledoc-") as tmp:
        autoload = os.path.join(tmp, "autoload")
        open(autoload, "w").close()
        base = [osqi, "--extensions_socket=" + os.path.join(tmp, "sock"),
                "--extensions_autoload=" + autoload, "--database_path=" +
                os.path.join(tmp, "db"), "--json"]

        def ask(sql):
            r = subprocess.run(base + [sql], capture_output=True, text=True,
                               timeout=120, cwd=tmp)
            if r.returncode != 0:
                fail("%s failed (%d): %s" % (osqi, r.returncode, r.stderr))
            return json.loads(r.stdout or "[]")

        names = [r["name"] for r in ask(
            "SELECT name FROM osquery_registry WHERE registry = 'table'")]
        sql = " UNION ALL ".join(
            "SELECT '%s' AS t, cid, name, type, hidden FROM "
            "pragma_table_xinfo('%s')" % (n, n) for n in names)
        cols = {n: [] for n in names}
        for r in ask(sql + " ORDER BY t, cid"):
            cols[r["t"]].append((r["name"], r["type"], r["hidden"] == "1"))
        return cols


def anchor(title):
    """GitHub's heading anchor."""
    s = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return s.replace(" ", "-")


def sentence(text):
    """TEXT as a sentence: a capital first letter (not osq's name) and a
    full stop."""
    text = text.rstrip(".")
    if text[0].islower() and not text.startswith("osq"):
        text = text[0].upper() + text[1:]
    return text + "."


def column_text(c, in_hidden=False):
    opts = [o for o in OPTION_ORDER if o in c["options"]
            and not (in_hidden and o == "hidden")]
    for o in c["options"]:
        if o.startswith("collate="):
            opts.append("collate " + o[8:])
        elif o.startswith("alias_of="):
            opts.append("old name of `%s`" % o[9:])
        elif o.startswith("foreign="):
            opts = [x for x in opts if x != "hidden"]
            opts.append("other platforms")
    s = "`%s` %s" % (c["name"], c["type"])
    return s + (" (%s)" % ", ".join(opts) if opts else "")


def columns_of(name, schema, live):
    """The schema's columns, then osq's own (hidden, osq_*) from osqi."""
    cols = list(schema[name]["columns"]) if name in schema else []
    known = {c["name"] for c in cols}
    for cname, typ, hidden in live.get(name, []):
        if cname not in known:
            cols.append({"name": cname, "type": typ,
                         "options": ["hidden"] if hidden else []})
    return cols


def table_entry(name, note, schema, live):
    out = ["### %s" % name, "", sentence(note["what"]), "",
           "**Source:** %s." % note["source"].rstrip(".")]
    facts = []
    spec = schema.get(name)
    if spec and spec["aliases"]:
        facts.append("**Aliases:** " +
                     ", ".join("`%s`" % a for a in spec["aliases"]))
    if spec and spec["attrs"]:
        facts.append("**Attributes:** " + ", ".join(spec["attrs"]))
    if spec is None:
        facts.append("**osq's own** (not an osquery table)")
    if "registered" in note:
        facts.append("**Registered:** " + note["registered"])
    if facts:
        out += ["", " · ".join(facts)]
    cols = columns_of(name, schema, live)
    shown = [c for c in cols if not any(
        o == "hidden" or o.startswith("foreign=") for o in c["options"])]
    hidden = [c for c in cols if c not in shown]
    out += ["", "**Columns:** " + ", ".join(column_text(c) for c in shown)]
    if hidden:
        out += ["", "**Hidden:** " + ", ".join(column_text(c, True) for c in hidden)]
    if "notes" in note:
        out += ["", sentence(note["notes"])]
    return out


def generate(schema, groups, notes, prose, live, foreign):
    out = ["# Built-in tables", ""]
    if prose.get("intro"):
        out += [prose["intro"], ""]
    out += ["## Index", ""]
    for key, title, _ in groups:
        names = [n for n in sorted(notes) if notes[n]["group"] == key]
        out.append("* [%s](#%s): %s" % (title, anchor(title), ", ".join(
            "[`%s`](#%s)" % (n, anchor(n)) for n in names)))
    out += ["* [Foreign tables](#foreign-tables---enable_foreign), "
            "[Not provided](#not-provided)", ""]
    for key, title, intro in groups:
        out += ["## " + title, ""]
        if intro:
            out += [intro, ""]
        for n in sorted(notes):
            if notes[n]["group"] == key:
                out += table_entry(n, notes[n], schema, live) + [""]
    if prose.get("end"):
        out += [prose["end"], ""]
    out += ["## Foreign tables (`--enable_foreign`)", ""]
    if prose.get("foreign"):
        out += [prose["foreign"], ""]
    out += [foreign, ""]
    missing = sorted(n for n in schema if n not in notes)
    if missing:
        said = ("osquery's Linux tables that osq does not register (naming "
                "one is \"no such table\"): " +
                ", ".join("`%s`" % n for n in missing) + ".")
    else:
        said = "osq registers every Linux table of osquery 5.23."
    out += ["## Not provided", "", said]
    if prose.get("not_provided"):
        out += ["", prose["not_provided"]]
    return "\n".join(out) + "\n"


def check_coverage(schema, notes, live):
    problems = []
    for n in sorted(live):
        if n not in notes:
            problems.append("table %s is registered but has no entry in "
                            "schema/linux.notes" % n)
    for n, e in sorted(notes.items()):
        if n not in live and n not in schema:
            problems.append("%s: table %s is neither registered nor in "
                            "schema/linux.schema" % (e["line"], n))
        elif n not in live and "registered" not in e:
            problems.append("%s: table %s is not registered by osqi: say "
                            "when it is ('registered:')" % (e["line"], n))
    return problems


def main():
    args = sys.argv[1:]
    osqi = os.path.join(ROOT, "build", "osqi")
    if "--osqi" in args:
        osqi = os.path.abspath(args[args.index("--osqi") + 1])
    schema = parse_schema(SCHEMA)
    groups, notes, prose = parse_notes(NOTES)
    live = osqi_tables(osqi)
    problems = check_coverage(schema, notes, live)
    fg = load_foreign_generator()
    foreign = fg.generated_doc(fg.foreign_tables(),
                               fg.DOC_BEGIN + "\n" + fg.DOC_END)
    text = generate(schema, groups, notes, prose, live, foreign)
    if "--check" in args:
        with open(DOC) as f:
            if f.read() != text:
                problems.append("docs/tables.md is out of date: run "
                                "scripts/gen-tables-doc.py")
        if problems:
            fail("\n  ".join([""] + problems))
        return
    if problems:
        fail("\n  ".join([""] + problems))
    with open(DOC, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
