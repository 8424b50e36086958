#!/usr/bin/env python3
"""Docs match code: the op table, error codes, event kinds, sonoctl commands
and sonod options are each documented where the project says they are.

usage: check_docs.py SRCDIR SONOD SONOCTL
Prints every mismatch and exits 1 if there is any."""
import re
import subprocess
import sys

src, sonod, sonoctl = sys.argv[1:4]


def read(rel):
    with open(f"{src}/{rel}", encoding="utf-8") as f:
        return f.read()


problems = []


def diff(what, code, docs, code_name, docs_name):
    for x in sorted(code - docs):
        problems.append(f"{what} '{x}' is in {code_name} but not in {docs_name}")
    for x in sorted(docs - code):
        problems.append(f"{what} '{x}' is in {docs_name} but not in {code_name}")


def missing(what, names, text, where, pattern="{}"):
    for x in sorted(names):
        if not re.search(pattern.format(re.escape(x)), text):
            problems.append(f"{what} '{x}' is not in {where}")


protocol = read("protocol/PROTOCOL.md")

# (a) ops: the table in daemon/ops/ops.c against PROTOCOL.md's op headings
# ('### `op`' or '#### `op`', several ops per heading joined by ' / ').
ops = set(re.findall(r'\{\s*"([a-z][a-z0-9_.]*)"\s*,\s*op_\w+\s*\}', read("daemon/ops/ops.c")))
headed = set()
for line in protocol.splitlines():
    m = re.match(r"#{3,4} (`.*)$", line)
    if m:
        headed.update(re.findall(r"`([a-z][a-z0-9_.]*)`", m.group(1)))
diff("op", ops, headed, "daemon/ops/ops.c", "PROTOCOL.md's headings")

# (b) error codes: protocol/errors.h against section 6's table.
codes = set(re.findall(r'#define SONO_E_\w+\s+"([a-z_]+)"', read("protocol/errors.h")))
sec6 = protocol.split("## 6.", 1)[1].split("\n## ", 1)[0]
table6 = set(re.findall(r"^\| `([a-z_]+)` \|", sec6, re.M))
diff("error code", codes, table6, "protocol/errors.h", "PROTOCOL.md section 6")

# (c) event kinds: daemon/net/events.c against the subscribe section's table.
events_c = read("daemon/net/events.c")
kinds_block = events_c.split("kinds[] = {", 1)[1].split("};", 1)[0]
kinds = set(re.findall(r'\{\s*"([a-z_.]+)"\s*,\s*EV_\w+\s*\}', kinds_block))
sub = protocol.split("### `subscribe`", 1)[1].split("\n### ", 1)[0]
sub_kinds = set(re.findall(r"^\| `([a-z_.]+)` \|", sub, re.M))
sub_kinds.discard("lost")  # always delivered, not a subscribable kind
# the plugin kind's table lists events (plugin.param ...), not kinds
sub_kinds = {k for k in sub_kinds if "." not in k}
diff("event kind", kinds, sub_kinds, "daemon/net/events.c", "PROTOCOL.md's subscribe table")

# (d) sonoctl commands from its --help.
help_ctl = subprocess.run([sonoctl, "--help"], capture_output=True, text=True).stdout
cmds_text = help_ctl.split("Commands:", 1)[1]
cmds = set(re.findall(r"^  ([a-z][a-z0-9-]*)", cmds_text, re.M))
if len(cmds) < 10:
    problems.append(f"could not read sonoctl's commands from --help: {cmds}")
# Every verb of a command family is named in that command's --help lines
# (its own `sonoctl FAMILY --help` lists them: "Verbs:" items, or usage
# lines "sonoctl FAMILY VERB").
entries = dict(re.findall(r"^  ([a-z][a-z0-9-]*)(.*(?:\n {6}.*)+)$", cmds_text, re.M))
for fam in ("plugin", "instr", "synth", "bus", "table", "channel", "node", "state", "midi",
            "transport"):
    sub = subprocess.run([sonoctl, fam, "--help"], capture_output=True, text=True).stdout
    if "Verbs:" in sub:
        verbs = set(re.findall(r"^  ([a-z]+)", sub.split("Verbs:", 1)[1], re.M))
    else:
        verbs = set(re.findall(rf"sonoctl {fam} ([a-z]+)", sub))
    if not verbs:
        problems.append(f"could not read the verbs of 'sonoctl {fam} --help'")
    for v in sorted(verbs):
        if not re.search(rf"\b{v}\b", entries.get(fam, "")):
            problems.append(f"sonoctl --help: the '{fam}' line does not name its verb '{v}'")
readme = read("README.md")
man1 = read("man/sonoctl.1")
compl = read("completions/sonoctl.bash")
missing("sonoctl command", cmds, readme, "README.md", r"sonoctl (?:-\S+ \S+ )*{}\b")
# man: a command is documented as a .TP item naming it (.B/.BR/.BI line)
man_items = set()
for m in re.finditer(r"^\.TP\n(.*)$", man1, re.M):
    # words of the item's line, not option names (--connect is no command)
    item = re.sub(r"\\f[BIRP]", " ", m.group(1)).replace("\\-", "-")
    man_items.update(re.findall(r"(?<![-\w])[a-z][a-z0-9-]*", item))
for c in sorted(cmds - man_items):
    problems.append(f"sonoctl command '{c}' has no .TP entry in man/sonoctl.1")
m = re.search(r'local commands="([^"]*)"', compl)
comp_cmds = set(m.group(1).split()) if m else set()
diff("sonoctl command", cmds, comp_cmds, "sonoctl --help", "completions/sonoctl.bash's command list")
for c in sorted(cmds):
    if not re.search(r"^\s*(?:[a-z|]+\|)?%s(?:\|[a-z|]+)?\)" % re.escape(c), compl, re.M):
        problems.append(f"sonoctl command '{c}' has no case in completions/sonoctl.bash")
m = re.search(r'local ops="([^"]*)"', compl)
diff("op", ops, set(m.group(1).split()) if m else set(), "daemon/ops/ops.c",
     "completions/sonoctl.bash's 'call' list")

# (e) sonod options from its --help.
help_d = subprocess.run([sonod, "--help"], capture_output=True, text=True).stdout
opts = set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)", help_d, re.M))
if len(opts) < 10:
    problems.append(f"could not read sonod's options from --help: {opts}")
man8 = read("man/sonod.8").replace("\\-", "-")
missing("sonod option", opts, man8, "man/sonod.8", r"{}\b")
missing("sonod option", opts, readme, "README.md", r"`{}\b")

# (f) plugin.load's status names: the list in PROTOCOL.md against what
# vst_status_name() returns (a client may match on them).
names_c = set(re.findall(r'return "([a-z_]+)";', read("daemon/vst/vst_util.c")))
m = re.search(r"status name in parentheses:\s*(.*?)\)", protocol, re.S)
load_names = set(re.findall(r"`([a-z_]+)`", m.group(1))) if m else set()
if len(load_names) < 5:
    problems.append(f"could not read plugin.load's status names from PROTOCOL.md: {load_names}")
for x in sorted(load_names - names_c):
    problems.append(f"plugin.load status '{x}' is in PROTOCOL.md but vst_status_name() "
                    "never returns it")

# (g) Man pages: a .TP entry's tag is the one line after .TP; a synopsis
# split over several font-macro lines puts the rest into the body (the tag
# reads "hello [--name" and the body "NAME] The server's ...").  A tag
# must close its brackets, and the next line must not go on with them.
for man in ("man/sonoctl.1", "man/sonod.8", "man/sonod.conf.5"):
    lines = read(man).split("\n")
    for i, line in enumerate(lines[:-2]):
        if line.strip() != ".TP":
            continue
        tag, nxt = lines[i + 1], lines[i + 2]
        text = re.sub(r"\\f[BIRP]", "", tag)
        if text.count("[") != text.count("]") or re.match(r"^(\.[BIR]{1,2}\s+)?[\[|]", nxt):
            problems.append(f"{man}:{i + 2}: the .TP tag goes on past its line: {tag!r}, {nxt!r}")

for p in problems:
    print(p)
print(f"{len(problems)} mismatch(es); checked {len(ops)} ops, {len(codes)} error codes, "
      f"{len(kinds)} event kinds, {len(cmds)} sonoctl commands, {len(opts)} sonod options")
sys.exit(1 if problems else 0)
