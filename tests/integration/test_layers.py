"""The include check: every `#include "..."` in src/ points down the layers.

The layers, top to bottom (docs/architecture.md explains each):

    programs                osqi and osqd's main(): the one place that sees
                            both the shell and the daemon
    shell daemon            the shell and the daemon; they start the
                            services and register the plugin homes
    remote events           the TLS fleet client's plugins (read config's
                            limits; the daemon hands in the rest); event
                            publishers and evented tables
    ext/manager ext/loader  services: the extension manager (serves
    tables config logger    extensions: routes into the registry, query()
    settings                through sql) and the loader (starts and
                            supervises them); plugin homes: built-in
                            plugins; settings: flags -> the settings
                            structs the lower layers take
    sql                     SQLite and the virtual-table bridge
    registry                the plugin store
    ext                     the remote client (calls into extensions) and
                            what the rooms share (settings.h, introspect.h)
    thrift                  codec, osquery API, dispatch of plugin calls
    plugin                  plugin structs, contexts, row sinks, kinds
    core                    flags, log, clock, parsing, growth, /proc

The issue's chain shell/daemon -> sql -> registry -> ext -> thrift ->
plugin -> core holds for ext's remote client; the manager and the loader
are services above sql (the manager adds routes to the registry and runs
query() through sql), so they are rooms with a layer of their own.

A file may include headers of its own folder and of any folder in a lower
layer; never one of the same layer or above. src/sdk (libosqext) is a side
branch that may include thrift, plugin and core only: it ships those
objects and nothing else. A folder not listed here fails the check until it
is given a layer. Public headers (<osq/...>, include/) are open to all.

Run by ctest; also usable by hand: test_layers.py [SOURCE_DIR].
"""
import os
import re
import sys
import tempfile

LAYERS = [
    ("programs",),
    ("shell", "daemon"),
    ("remote", "events"),
    ("ext/manager", "ext/loader", "tables", "config", "logger", "settings"),
    ("sql",),
    ("registry",),
    ("ext",),
    ("thrift",),
    ("plugin",),
    ("core",),
]
# Folders outside the chain, with exactly what they may include.
SIDE = {"sdk": ("thrift", "plugin", "core")}

# Subfolders that are layers of their own; the rest of a folder is the
# folder's layer (src/ext/client and src/ext/*.h are "ext").
ROOMS = ("ext/manager", "ext/loader")

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def room_of(rel):
    """The layer name of a path relative to src/."""
    rel = rel.replace(os.sep, "/")
    for room in ROOMS:
        if rel.startswith(room + "/"):
            return room
    return rel.split("/")[0]


def rank(folder):
    for i, group in enumerate(LAYERS):
        if folder in group:
            return i
    return None


def rule(folder):
    """The folders `folder` may include, as text for messages."""
    if folder in SIDE:
        return "%s may include only %s" % (folder, ", ".join(SIDE[folder]))
    below = [f for g in LAYERS[rank(folder) + 1:] for f in g]
    return "%s may include only %s" % (folder, ", ".join(below) or "itself")


def allowed(src, dst):
    if src == dst:
        return True
    if src in SIDE:
        return dst in SIDE[src]
    return rank(dst) is not None and rank(src) < rank(dst)


def resolve(src_root, file_dir, inc):
    """The folder below src/ an include names, or None (public header or
    not under src/)."""
    for base in (file_dir, src_root):
        path = os.path.normpath(os.path.join(base, inc))
        if os.path.exists(path):
            rel = os.path.relpath(path, src_root)
            if rel.startswith(".."):
                return None
            return room_of(rel)
    return None


def check_tree(src_root):
    """Every upward arrow as 'file:line: message'."""
    problems = []
    for top in sorted(os.listdir(src_root)):
        if not os.path.isdir(os.path.join(src_root, top)):
            continue
        if rank(top) is None and top not in SIDE:
            problems.append("src/%s: folder has no layer (add it to LAYERS "
                            "in tests/integration/test_layers.py and to "
                            "docs/architecture.md)" % top)
            continue
        for dirpath, _, files in sorted(os.walk(os.path.join(src_root, top))):
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                folder = room_of(os.path.relpath(path, src_root))
                shown = os.path.relpath(path, os.path.dirname(src_root))
                with open(path, encoding="utf-8", errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        dst = resolve(src_root, dirpath, m.group(1))
                        if dst is None or allowed(folder, dst):
                            continue
                        problems.append(
                            '%s:%d: #include "%s": %s -> %s runs upward '
                            "(rule: %s)" % (shown, lineno, m.group(1), folder,
                                            dst, rule(folder)))
    return problems


def self_test():
    """The check finds an upward include in a made-up tree and passes a
    downward one, so a clean run over src/ means something."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "src")
        for folder in ("core", "plugin", "registry", "sdk"):
            os.makedirs(os.path.join(src, folder))
        with open(os.path.join(src, "core", "clock.h"), "w") as f:
            f.write("/* nothing */\n")
        with open(os.path.join(src, "registry", "registry.h"), "w") as f:
            f.write('#include "../core/clock.h"\n')
        with open(os.path.join(src, "plugin", "bad.c"), "w") as f:
            f.write('#include <stdio.h>\n\n#include "registry/registry.h"\n')
        with open(os.path.join(src, "sdk", "bad.c"), "w") as f:
            f.write('#include "core/clock.h"\n#include "registry/registry.h"\n')
        got = check_tree(src)
        want = [
            'src/plugin/bad.c:3: #include "registry/registry.h": plugin -> '
            "registry runs upward (rule: plugin may include only core)",
            'src/sdk/bad.c:2: #include "registry/registry.h": sdk -> registry '
            "runs upward (rule: sdk may include only thrift, plugin, core)",
        ]
        assert got == want, "self-test: got %r" % (got,)
        os.makedirs(os.path.join(src, "newthing"))
        got = check_tree(src)
        assert any(p.startswith("src/newthing: folder has no layer")
                   for p in got), got


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "OSQ_SOURCE", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                   "..", ".."))
    self_test()
    src = os.path.join(root, "src")
    if not os.path.isdir(src):
        print("no src/ under %s" % root)
        return 1
    problems = check_tree(src)
    for p in problems:
        print(p)
    if problems:
        print("%d include(s) against the layers" % len(problems))
        return 1
    print("layers: every include points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
