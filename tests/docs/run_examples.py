#!/usr/bin/env python3
"""The first hour works as written: every shell example in README.md (its
```sh blocks) and clients/c/README.md (its "$ " transcripts) runs, in order,
each block in one bash with `set -e`, against a fresh sonod (null backend,
default socket) in a private temporary folder: HOME, XDG_RUNTIME_DIR and
the working folder are in it, `./build` is a link to the build, and PATH has
the built sonod and sonoctl first.  Any command that fails fails the test.

Only the lines listed below are run differently, each for a stated reason
(an entry that no longer matches a line fails the test, so the list cannot
go stale):
  - SKIP: cannot run here (another machine, a JACK server, root, a fixed
    TCP port, the build and tests themselves);
  - FOREVER: runs until interrupted (monitor, top, a recording without an
    end): it must still be running, without error, after 2 s;
  - a foreground `sonod ...` line is a daemon started in another terminal:
    it replaces the daemon on the default socket and must answer a ping.
    It gets --no-config added, as the test's own daemon has: a fresh
    daemon, not one set up by a service's /etc/sonod/sonod.conf (which
    tests/hostile-env.sh writes for the suites it runs).
A transcript whose output shows `sonoctl: CODE: ...` must fail with CODE.
Files the examples name as the user's own (effects.orc, notes.sco,
piece.csd, ~/samples/kick.wav) are made first.

usage: run_examples.py SRCDIR BUILDDIR"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import wave

src, build = (os.path.abspath(p) for p in sys.argv[1:3])

JACK = "needs a JACK server (tests/jack runs these against one)"
SKIP = {
    "./scripts/run.sh": "installs packages and builds; the daemon it runs is checked below",
    "./scripts/test.sh": "the whole CI, of which this test is a part",
    "./build/daemon/sonod --backend jack --autoconnect": JACK,
    "./build/daemon/sonod --tcp 127.0.0.1:7700": "listens on a fixed TCP port shared by the "
        "whole machine (test_auth covers TCP on a free port)",
    "sonod --tcp 192.168.1.20:7700 --tcp-token-file ~/.config/sonod/tcp-token":
        "an address of another machine",
    "sonoctl --connect tcp://192.168.1.20:7700 --token-file ~/.config/sonod/tcp-token status":
        "another machine",
    "SONOD_TOKEN_FILE=~/.config/sonod/tcp-token sonoctl -C tcp://192.168.1.20:7700 monitor":
        "another machine",
    "sonoctl --connect tcp://127.0.0.1:7700 ping": "a daemon on the fixed TCP port above",
    "sonoctl -C tcp://studio:7700 --token-file ~/.config/sonod/tcp-token ping": "another machine",
    "sonoctl plugin restart $HOSTED": "only after its host crashed (test_isolate crashes one)",
    "sonod --backend jack --inputs 4 --autoconnect": JACK,
    "REVERB=$(sonoctl -g node plugin load /usr/lib/lxvst/DragonflyRoomReverb-vst.so)#jack": JACK,
    "sonoctl connect in:out_1 $REVERB:in_1": JACK,
    "SYNTH=$(sonoctl -g node plugin load /usr/lib/vst/amsynth_vst.so)#jack": JACK,
    "sonoctl midi route $SYNTH --channel 0#jack": JACK,
    "sonoctl midi route csound --instr piano --note inote --velocity ivel": JACK,
    "sonoctl midi route csound --instr pad --voices 8 --channel 1": JACK,
    "sonoctl midi routes#jack": JACK,
    "sonoctl midi unroute $SYNTH": JACK,
    "sonoctl transport follow on": "follows JACK's transport: " + JACK,
    "sonoctl freewheel on": "JACK's freewheel mode: " + JACK,
    "jack_bufsize 1024": JACK,
    "meson setup build && ninja -C build": "the build this test runs in",
    "meson test -C build": "the test suite this test is part of",
    "meson setup build-rtsan -Drtsan=true": "another build (scripts/test.sh makes it)",
    "meson install -C build": "installs into the system",
    "tests/hostile-env.sh build meson test -C build --suite vst --suite service":
        "runs test suites (scripts/test.sh runs it)",
    "meson setup build --prefix=/usr --sysconfdir=/etc && ninja -C build": "the system install",
    "sudo meson install -C build": "root: the system install",
    "sudo systemd-sysusers": "root: the system install",
    "sudo systemctl daemon-reload": "root: the system install",
    "sudo systemctl enable --now sonod.socket": "root: the system install",
    "sonoctl status#service": "the system service above (tests/service covers it)",
    "systemctl --user enable --now sonod.socket": "a user service (tests/service covers it)",
    "./bench/run.sh": "the benchmarks (minutes; bench/ records their figures)",
}
FOREVER = {
    "sonoctl monitor tone backend xrun",
    "sonoctl monitor plugin",
    "sonoctl monitor synth csound",
    "sonoctl monitor backend plugin",
    "sonoctl top",
    "sonoctl top --rate 30",
    "sonoctl record -o take.flac --channels 1",
    "sonoctl --json monitor tone",
}
# Lines that look the same in two places: told apart by what comes before
# them in their block (the JACK section; the service's status).
CONTEXT = {
    "REVERB=$(sonoctl -g node plugin load /usr/lib/lxvst/DragonflyRoomReverb-vst.so)":
        ("sonod --backend jack", "#jack"),
    "SYNTH=$(sonoctl -g node plugin load /usr/lib/vst/amsynth_vst.so)":
        ("sonod --backend jack", "#jack"),
    "sonoctl midi route $SYNTH --channel 0": ("sonod --backend jack", "#jack"),
    "sonoctl midi routes": ("sonod --backend jack", "#jack"),
    "sonoctl status": ("sudo systemctl", "#service"),
}
if shutil.which("dot") is None:
    SKIP["sonoctl graph --dot | dot -Tpng -o graph.png"] = "Graphviz's dot is not installed"

used = set()
problems = []


def key_of(cmd, block_so_far):
    """The table key of a command: its text without the comment, and a
    context tag when the same text means something else elsewhere."""
    text = strip_comment(cmd)
    ctx = CONTEXT.get(text)
    if ctx is not None and ctx[0] in block_so_far:
        text += ctx[1]
    return text


def strip_comment(line):
    """A line without its trailing # comment (outside quotes), stripped."""
    out, quote = [], None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        out.append(ch)
    return "".join(out).strip()


def commands(lines):
    """Splits a block into commands; a heredoc stays with its command."""
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        m = re.search(r"<<-?'?(\w+)'?", line)
        if m and not line.lstrip().startswith("#"):
            j = i + 1
            while j < len(lines) and lines[j] != m.group(1):
                j += 1
            out.append("\n".join(lines[i:j + 1]))
            i = j + 1
        else:
            out.append(line)
            i += 1
    return out


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


PRELUDE = r"""
set -e -o pipefail
__say() { printf '+ %s\n' "$1" >&2; }
__forever() {
  __say "$1   (runs until interrupted: must run 2 s)"
  set +e
  timeout -s INT 2 bash -c "$1" </dev/null
  local rc=$?
  set -e
  if [ $rc -ne 124 ] && [ $rc -ne 0 ]; then echo "FAILED (exit $rc): $1" >&2; return 1; fi
}
__stop_default() {
  if sonoctl ping -c 1 -i 0 >/dev/null 2>&1; then
    sonoctl shutdown >/dev/null 2>&1 || true
    for i in $(seq 100); do sonoctl ping -c 1 -i 0 >/dev/null 2>&1 || break; sleep 0.05; done
  fi
  if [ -n "${__DPID:-}" ]; then kill "$__DPID" 2>/dev/null || true; wait "$__DPID" 2>/dev/null || true; __DPID=; fi
}
__daemon() {
  __say "$1   (a daemon in another terminal: must answer)"
  __stop_default
  bash -c "exec $1 --no-config" >>"$EXAMPLES_LOG" 2>&1 </dev/null &
  __DPID=$!
  if ! sonoctl --wait 10 --timeout 10 ping -c 1 -i 0 >/dev/null; then
    echo "FAILED: no answer from: $1" >&2; cat "$EXAMPLES_LOG" >&2; return 1
  fi
}
__fails() {
  __say "$2   (must fail with $1)"
  local out
  if out=$(eval "$2" 2>&1); then echo "FAILED: succeeded, wanted $1: $2" >&2; return 1; fi
  case "$out" in "sonoctl: $1:"*) ;; *) echo "FAILED: $2: $out" >&2; return 1 ;; esac
}
"""


def block_script(cmds, title, expect_fail=None):
    """The bash text of one block."""
    out = [PRELUDE]
    so_far = ""
    for cmd in cmds:
        first = cmd.split("\n", 1)[0]
        text = strip_comment(first)
        key = key_of(first, so_far)
        so_far += first + "\n"
        if text == "":
            continue
        if key in SKIP:
            used.add(key)
            out.append(f"__say {sh_quote(text + '   (skipped: ' + SKIP[key] + ')')}")
        elif key in FOREVER:
            used.add(key)
            out.append(f"__forever {sh_quote(text)}")
        elif re.match(r"^(\./build/daemon/)?sonod( |$)", text) and not text.endswith("&"):
            out.append(f"__daemon {sh_quote(text)}")
        elif expect_fail and cmd in expect_fail:
            out.append(f"__fails {expect_fail[cmd]} {sh_quote(text)}")
        else:
            shown = first if cmd == first else first + " ..."
            out.append(f"__say {sh_quote(shown)}")
            out.append(cmd)
    out.append("__stop_default")
    return "\n".join(out) + "\n"


def fixtures(home, work):
    os.makedirs(f"{home}/samples")
    with open(f"{work}/effects.orc", "w") as f:
        f.write("instr 1\nasig oscili 0.1, p4\nouts asig, asig\nendin\n")
    with open(f"{work}/notes.sco", "w") as f:
        f.write("i 1 0 0.5 440\ni 1 0.5 0.5 660\n")
    with open(f"{work}/piece.csd", "w") as f:
        f.write("<CsoundSynthesizer>\n<CsOptions>\n-o dac\n</CsOptions>\n<CsInstruments>\n"
                "sr = 48000\nksmps = 32\nnchnls = 2\n0dbfs = 1\n"
                "instr 1\nasig oscili 0.2, p4\nouts asig, asig\nendin\n</CsInstruments>\n"
                "<CsScore>\ni 1 0 0.5 440\n</CsScore>\n</CsoundSynthesizer>\n")
    with wave.open(f"{home}/samples/kick.wav", "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(b"".join(struct.pack("<h", int(20000 * (1 - i / 4800)))
                               for i in range(4800)))


def run_block(doc, line, script, root, env):
    """Runs one block against a fresh daemon; True when it passed."""
    log = f"{root}/daemon.log"
    env = dict(env, EXAMPLES_LOG=log)
    daemon = subprocess.Popen(
        [f"{build}/daemon/sonod", "--no-config", "--backend", "null"],
        cwd=env["WORK"], env=env, stdout=open(log, "a"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        subprocess.run(["sonoctl", "--wait", "10", "ping", "-c", "1", "-i", "0"], env=env,
                       check=True, stdout=subprocess.DEVNULL, timeout=30)
        p = subprocess.Popen(["bash", "-c", script], cwd=env["WORK"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
        try:
            out, _ = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
            out += "\nTIMEOUT after 300 s"
        # Whatever the block left running (a background daemon) goes too.
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        print(f"---- {doc}:{line}\n{out}", end="")
        if p.returncode != 0:
            problems.append(f"{doc}:{line}: the block failed (exit {p.returncode}); see above")
            return False
        return True
    finally:
        if daemon.poll() is None:
            daemon.terminate()
            try:
                daemon.wait(10)
            except subprocess.TimeoutExpired:
                daemon.kill()


def c_snippet(readme, root, env):
    """README's C snippet, compiled as written inside a main() against this
    build's libsono and run with no daemon: it must report the error, not
    crash (libsono refuses the NULL connection)."""
    m = re.search(r"## Talking to it from C.*?```c\n(.*?)```", readme, re.S)
    if m is None:
        problems.append("README.md: no C snippet under 'Talking to it from C'")
        return False
    lines = m.group(1).splitlines()
    includes = [x for x in lines if x.startswith("#include")]
    body = [x for x in lines if not x.startswith("#include")]
    prog = f"{root}/snippet.c"
    with open(prog, "w") as f:
        f.write("#include <stdio.h>\n" + "\n".join(includes) +
                "\nint main(void) {\n" + "\n".join(body) + "\nreturn 0;\n}\n")
    # A sanitizer build's libsono needs its runtime first: build the same way.
    opts = json.load(open(f"{build}/meson-info/intro-buildoptions.json"))
    sanitize = [o["value"] for o in opts if o["name"] == "b_sanitize"]
    flags = [f"-fsanitize={sanitize[0]}"] if sanitize and sanitize[0] not in ("", "none") else []
    cc = subprocess.run(["cc", *flags, "-o", f"{root}/snippet", prog, f"-I{src}/clients/c",
                         f"-L{build}/clients/c", f"-Wl,-rpath,{build}/clients/c", "-lsono",
                         "-lmsgpackc"], capture_output=True, text=True)
    print(f"---- README.md: the C snippet\n{cc.stdout}{cc.stderr}", end="")
    if cc.returncode != 0:
        problems.append("README.md: the C snippet does not compile; see above")
        return False
    run = subprocess.run([f"{root}/snippet"], env=env, capture_output=True, text=True,
                         timeout=30)
    print(run.stdout + run.stderr, end="")
    if run.returncode != 0 or "no_connection" not in run.stderr:
        problems.append(f"README.md: the C snippet with no daemon: exit {run.returncode}, "
                        f"wanted 0 and a no_connection error")
        return False
    return True


def main():
    root = tempfile.mkdtemp(prefix="sonod-examples-")
    home, run, work = f"{root}/home", f"{root}/run", f"{root}/home/work"
    os.makedirs(work)
    os.makedirs(run, mode=0o700)
    os.symlink(build, f"{work}/build")
    fixtures(home, work)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SONOD", "JACK_", "STATE_DIRECTORY", "NOTIFY_SOCKET"))}
    env.update(HOME=home, XDG_RUNTIME_DIR=run, WORK=work,
               PATH=f"{build}/clients/c:{build}/daemon:" + os.environ.get("PATH", ""),
               # No JACK server answers: auto is the null device, whatever runs here.
               JACK_NO_START_SERVER="1", JACK_NO_AUDIO_RESERVATION="1",
               JACK_DEFAULT_SERVER=f"sonod-examples-none-{os.getpid()}")
    ok = True
    readme = open(f"{src}/README.md", encoding="utf-8").read()
    for m in re.finditer(r"```sh\n(.*?)```", readme, re.S):
        line = readme[:m.start()].count("\n") + 1
        ok &= run_block("README.md", line, block_script(commands(m.group(1).splitlines()),
                                                        line), root, env)
    client = open(f"{src}/clients/c/README.md", encoding="utf-8").read()
    for m in re.finditer(r"```\n(\$ .*?)```", client, re.S):
        line = client[:m.start()].count("\n") + 1
        cmds, fails = [], {}
        for chunk in re.split(r"^\$ ", m.group(1), flags=re.M)[1:]:
            cmd, _, shown = chunk.partition("\n")
            cmds.append(cmd)
            code = re.match(r"sonoctl: (\w+):", shown)
            if code:
                fails[cmd] = code.group(1)
        ok &= run_block("clients/c/README.md", line, block_script(cmds, line, fails), root, env)
    ok &= c_snippet(readme, root, env)
    for k in sorted(set(SKIP) - used):
        if "dot -Tpng" not in k:
            problems.append(f"run_examples.py: the SKIP entry '{k}' matches no example any more")
    for k in sorted(FOREVER - used):
        problems.append(f"run_examples.py: the FOREVER entry '{k}' matches no example any more")
    for p in problems:
        print(p)
    if not problems:
        shutil.rmtree(root)
        print(f"every example ran ({len(used)} lines skipped or run until interrupted, "
              "each for the reason listed)")
    else:
        print(f"kept {root} for a look")
    sys.exit(1 if problems else 0)


main()
