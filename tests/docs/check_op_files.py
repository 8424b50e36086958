#!/usr/bin/env python3
"""A newcomer who guesses a file's name from an op's name finds it.

Every op in daemon/ops/ops.c's table is implemented (its handler defined)
in daemon/ops/ops_<family>.c, where <family> is the op name's first
component: bus.new in ops_bus.c, plugin.state.get in ops_plugin.c.  A
family too long for one file may give an op of its own a file named by the
op's first two components: plugin.midi in ops_plugin_midi.c.  A few ops
have no family, or one too small for a file; they are listed in ALIASES
with the file that holds them and why.

usage: check_op_files.py SRCDIR
Prints every op whose handler is not where its name says and exits 1 if
there is any."""
import os
import re
import sys

# family -> (file, why).  Keep this short: an op that needs an entry here
# is an op a newcomer will look for in the wrong place.
ALIASES = {
    # The connection's own ops: no family of their own.
    "hello": ("daemon/ops/ops_core.c", "the connection's own ops"),
    "ping": ("daemon/ops/ops_core.c", "the connection's own ops"),
    "status": ("daemon/ops/ops_core.c", "the connection's own ops"),
    "sync": ("daemon/ops/ops_core.c", "the connection's own ops"),
    "subscribe": ("daemon/ops/ops_core.c", "the connection's own ops"),
    "unsubscribe": ("daemon/ops/ops_core.c", "the connection's own ops"),
    "shutdown": ("daemon/ops/ops_core.c", "the connection's own ops"),
    # render drives the engine (offline), like engine.tone.
    "render": ("daemon/ops/ops_engine.c", "an engine op without the engine. prefix"),
}

src = sys.argv[1]


def read(rel):
    with open(os.path.join(src, rel), encoding="utf-8") as f:
        return f.read()


def defines(text, fn):
    """Whether text defines the handler fn (not just declares or calls it)."""
    return re.search(r"^void\s+" + re.escape(fn) + r"\s*\(\s*request\s*\*\s*\w+\s*\)\s*\{",
                     text, re.M) is not None


table = re.findall(r'\{\s*"([a-z][a-z0-9_.]*)"\s*,\s*(op_\w+)\s*\}', read("daemon/ops/ops.c"))
problems = []
if len(table) < 10:
    problems.append(f"daemon/ops/ops.c: found only {len(table)} ops in the table; "
                    "has its layout changed?")

# Where each handler is defined, anywhere under daemon/.
where = {}
for root, _, files in os.walk(os.path.join(src, "daemon")):
    for name in files:
        if name.endswith(".c"):
            rel = os.path.relpath(os.path.join(root, name), src)
            text = read(rel)
            for _, fn in table:
                if defines(text, fn):
                    where.setdefault(fn, []).append(rel)

for op, fn in table:
    family = op.split(".")[0]
    guess = f"daemon/ops/ops_{family}.c"
    ok = [guess] + ([ALIASES[family][0]] if family in ALIASES else [])
    parts = op.split(".")
    if len(parts) > 1:
        ok.append(f"daemon/ops/ops_{parts[0]}_{parts[1]}.c")
    found = where.get(fn, [])
    if not found:
        problems.append(f"{op}: its handler {fn} is defined nowhere under daemon/")
    elif len(found) > 1:
        problems.append(f"{op}: its handler {fn} is defined in {', '.join(found)}")
    elif found[0] not in ok:
        problems.append(f"{op}: its handler {fn} is in {found[0]}, not in {guess}"
                        + (f" (nor in {ALIASES[family][0]})" if family in ALIASES else ""))

for p in problems:
    print(p)
print(f"{len(table)} ops checked, {len(problems)} misplaced")
sys.exit(1 if problems else 0)
