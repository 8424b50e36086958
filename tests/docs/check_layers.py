#!/usr/bin/env python3
"""The daemon's layers, checked from its own #include lines.

Every folder under daemon/ is a layer.  A file may include its own layer
and the layers below it, never one above: arrows point down only, so no
circle of includes crosses a folder.  ARCHITECTURE.md, "Layers", draws the
same picture; this list is the one that is enforced.

Usage: check_layers.py SOURCE_ROOT
"""
import os
import re
import sys

# Top first.  Layers on one line are peers that must not include each
# other (vst and csound are two engines side by side).
LAYERS = [
    ["main"],        # daemon/main.c: the composition root
    ["ops"],         # op handlers, one file per op family
    ["modules"],     # control-side modules: plugins, graph, Csound, MIDI, ...
    ["session"],     # the session file: format, atomic I/O, restore sequencing
    ["engine"],      # commands to the audio thread, its messages back
    ["backend"],     # the audio drivers: JACK, null, offline
    ["net"],         # connections: sockets, frames, requests, replies, events
    ["base"],        # the daemon's struct, log, options, config, notify
    ["rt"],          # the audio thread's own code
    ["lv2"],         # LV2 plugins, hosted behind the VST2 layer's AEffect
    ["vst", "csound"],  # the hosted engines, usable without the daemon
    ["queue", "file"],  # lock-free ring and heap; opening only regular files
    ["rtcheck"],     # realtime-checker markers
]

RANK = {}
for rank, peers in enumerate(LAYERS):
    for name in peers:
        RANK[name] = rank

INCLUDE = re.compile(r'^\s*#\s*include\s+"daemon/([^"]+)"', re.M)
# A prototype or a definition starting at the beginning of a line:
# "type name(args)" then ";" (declaration) or "{" (definition).
FUNCTION = re.compile(r'^(?!static\b|typedef\b|extern\b|#|return\b)[A-Za-z_][\w \t\*]*?\b'
                      r'([A-Za-z_]\w*)\(([^;{}()]|\([^()]*\))*\)\s*([;{])', re.M)


def layer_of(rel):
    """daemon/<layer>/file or daemon/main.c -> layer name."""
    parts = rel.split("/")
    return "main" if len(parts) == 1 else parts[0]


def main():
    root = os.path.join(sys.argv[1], "daemon")
    problems = []
    seen = set()
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            src = layer_of(rel)
            seen.add(src)
            if src not in RANK:
                problems.append(f"daemon/{rel}: folder '{src}' is not a known layer")
                continue
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for target in INCLUDE.findall(text):
                dst = layer_of(target)
                if dst == src:
                    continue
                if dst not in RANK:
                    problems.append(f"daemon/{rel}: includes daemon/{target}, not in a known layer")
                elif RANK[dst] < RANK[src]:
                    problems.append(f"daemon/{rel} ({src}) includes daemon/{target} ({dst}): "
                                    "an arrow that points up")
                elif RANK[dst] == RANK[src]:
                    problems.append(f"daemon/{rel} ({src}) includes daemon/{target} ({dst}): "
                                    "peers must not depend on each other")
    # A function declared in one layer's header and defined in another's
    # source is an arrow the includes do not show: a lower layer calling up
    # through a header of its own.
    declared, defined = {}, {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for m in FUNCTION.finditer(text):
                table = declared if m.group(3) == ";" else defined
                if name.endswith(".h") or m.group(3) == "{":
                    table.setdefault(m.group(1), rel)
    for fn, header in sorted(declared.items()):
        source = defined.get(fn)
        if source is not None and layer_of(source) != layer_of(header):
            problems.append(f"{fn}() is declared in daemon/{header} but defined in "
                            f"daemon/{source}: a call that crosses layers unseen")
    for p in problems:
        print(p)
    # A folder's README says which thread its code runs on and what it may
    # call, and names every source file in it, so it cannot go stale.
    for layer in sorted(seen - {"main"}):
        readme = os.path.join(root, layer, "README.md")
        if not os.path.exists(readme):
            print(f"daemon/{layer}/README.md is missing")
            problems.append(layer)
            continue
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        # Any mention counts as naming a file; the tables' rows (lines
        # starting with "|") must name only files that exist.
        named, listed = set(), set()
        for line in text.splitlines():
            for name in re.findall(r"`([A-Za-z0-9_]+)\.(c|h|\[ch\])`", line):
                stem, ext = name
                names = {stem + ".c", stem + ".h"} if ext == "[ch]" else {stem + "." + ext}
                named |= names
                if line.startswith("|"):
                    listed.add(frozenset(names))
        present = {n for n in os.listdir(os.path.join(root, layer)) if n.endswith((".c", ".h"))}
        for name in sorted(present - named):
            print(f"daemon/{layer}/README.md does not name `{name}`")
            problems.append(name)
        for names in listed:
            if not names & present:
                print(f"daemon/{layer}/README.md lists `{min(names)}`, which is not in the folder")
                problems.append(layer)
    if problems:
        sys.exit(1)
    print(f"layers: {len(seen)} folders, every include points down")


main()
