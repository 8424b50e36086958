#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz harnesses (tests/fuzz/corpus/).

requests/: one file per op, each a connection's bytes: framed requests with
the arguments PROTOCOL.md gives (a few ops get a short sequence, e.g.
define an instrument, then start it).  Paths name the sandbox by its
template, /tmp/sonod-fuzz-XXXXXX, which fuzz_requests replaces.
frame/: the same bytes behind one byte (fuzz_frame's read-size choice).

The encoder is here (no msgpack module needed): maps keep their order,
str for text, bin for bytes, the smallest int and float64 for floats.
Run it after changing the list; the files are committed.
"""
import os
import struct
import sys

SB = "/tmp/sonod-fuzz-XXXXXX"


def pack(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        if v >= 0:
            for fmt, tag in (("B", 0xcc), (">H", 0xcd), (">I", 0xce), (">Q", 0xcf)):
                try:
                    return bytes([tag]) + struct.pack(fmt, v)
                except struct.error:
                    pass
        for fmt, tag in (("b", 0xd0), (">h", 0xd1), (">i", 0xd2), (">q", 0xd3)):
            try:
                return bytes([tag]) + struct.pack(fmt, v)
            except struct.error:
                pass
        raise ValueError(v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32:
            return bytes([0xa0 | len(b)]) + b
        if len(b) < 256:
            return b"\xd9" + bytes([len(b)]) + b
        return b"\xda" + struct.pack(">H", len(b)) + b
    if isinstance(v, (bytes, bytearray)):
        if len(v) < 256:
            return b"\xc4" + bytes([len(v)]) + bytes(v)
        return b"\xc5" + struct.pack(">H", len(v)) + bytes(v)
    if isinstance(v, list):
        head = bytes([0x90 | len(v)]) if len(v) < 16 else b"\xdc" + struct.pack(">H", len(v))
        return head + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        head = bytes([0x80 | len(v)]) if len(v) < 16 else b"\xde" + struct.pack(">H", len(v))
        return head + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(v)


def frames(*reqs):
    out = b""
    for i, r in enumerate(reqs, 1):
        body = pack(dict({"id": i}, **r))
        out += struct.pack(">I", len(body)) + body
    return out


INSTR = {"op": "instr.define", "name": "beep",
         "body": "|freq=440, amp=0.2|\nasig oscili amp, freq\nouts asig, asig"}
TABLE = {"op": "table.new", "size": 16}
BUS = {"op": "bus.new", "kind": "control"}
LOAD = {"op": "plugin.load", "path": SB + "/1.so"}

SEEDS = {
    "hello": [{"op": "hello", "version": 1, "name": "fuzz"}],
    "ping": [{"op": "ping", "data": {"a": [1, 2.5, "x", None, True, b"\x00\x01"]}}],
    "status": [{"op": "status"}],
    "sync": [{"op": "sync"}],
    "subscribe": [{"op": "subscribe", "events": ["tone", "synth", "csound", "plugin", "client", "backend"]},
                  {"op": "unsubscribe", "events": ["csound"]}],
    "engine.tone": [{"op": "engine.tone", "on": True, "freq": 440, "amp": 0.25, "channel": -1, "delay": 0.01},
                    {"op": "engine.tone", "on": False, "at": 100}],
    "render": [{"op": "render", "frames": 256}, {"op": "render", "seconds": 0.05}],
    "plugin.load": [LOAD, {"op": "plugin.list"}],
    "plugin.unload": [LOAD, {"op": "plugin.unload", "node": 1}],
    "plugin.params": [LOAD, {"op": "plugin.params", "node": 1}],
    "plugin.set": [LOAD, {"op": "plugin.set", "node": 1, "index": 0, "value": 0.5, "delay": 0.001},
                   {"op": "plugin.set", "node": 1, "name": "gain", "value": 0.25}],
    "plugin.get": [LOAD, {"op": "plugin.get", "node": 1, "index": 0}],
    "plugin.midi": [LOAD, {"op": "plugin.midi", "node": 1, "events": [
        {"type": "note_on", "note": 60, "velocity": 100},
        {"type": "note_off", "note": 60, "offset": 32},
        {"type": "cc", "controller": 7, "value": 100, "channel": 1},
        {"type": "program", "program": 3},
        {"type": "pitch_bend", "value": -100},
        {"type": "aftertouch", "value": 5, "note": 60},
        {"type": "raw", "bytes": b"\x90\x40\x40"},
        {"type": "sysex", "data": b"\xf0\x7d\x01\xf7"}]}],
    "plugin.program": [LOAD, {"op": "plugin.program", "node": 1, "program": 0},
                       {"op": "plugin.programs", "node": 1}],
    "plugin.state": [LOAD, {"op": "plugin.state.get", "node": 1},
                     {"op": "plugin.state.set", "node": 1, "data": b"SVP1\x01\x00\x00\x00\x00\x00\x00\x3f"}],
    "plugin.state.paged": [LOAD, {"op": "plugin.state.get", "node": 1, "offset": 0, "length": 4},
                           {"op": "plugin.state.set", "node": 1, "data": b"SVP1", "offset": 0, "total": 12},
                           {"op": "plugin.state.set", "node": 1, "data": b"\x01\x00\x00\x00\x00\x00\x00\x3f",
                            "offset": 4, "total": 12}],
    "plugin.scan": [{"op": "plugin.scan", "dir": SB, "timeout": 5000}],
    "csound.compile": [{"op": "csound.compile", "code": "instr 7\nout oscili(0.1, 220)\nendin"},
                       {"op": "csound.event", "line": "i 7 0 0.01"}],
    "csound.score": [{"op": "csound.score", "text": "f 1 0 16 10 1\ni 7 0 0.01\n", "delay": 0}],
    "channel": [{"op": "channel.set", "name": "level", "value": 0.5},
                {"op": "channel.get", "name": "level"}],
    "instr": [INSTR, {"op": "instr.list"}, {"op": "instr.undefine", "name": "beep"}],
    "synth": [INSTR, {"op": "synth.start", "instr": "beep", "args": {"freq": 330}, "dur": 0.01},
              {"op": "synth.set", "synth": 1, "args": {"amp": 0.1}},
              {"op": "synth.automate", "synth": 1, "param": "freq", "points": [0, 440, 0.01, 660], "mode": "exp"},
              {"op": "synth.list"}, {"op": "synth.get", "synth": 1},
              {"op": "synth.stop", "synth": 1}],
    "bundle": [INSTR, {"op": "bundle", "delay": 0.01, "ops": [
        {"op": "synth.start", "instr": "beep"}, {"op": "synth.stop", "synth": 1}]}],
    "bus": [BUS, {"op": "bus.set", "bus": 0, "value": 0.3}, {"op": "bus.get", "bus": 0},
            {"op": "bus.free", "bus": 0}],
    "table": [TABLE, {"op": "table.new", "data": [0.0, 0.5, 1.0]},
              {"op": "table.get", "table": 1, "start": 0, "count": 4},
              {"op": "table.set", "table": 1, "start": 0, "data": [1, 2]},
              {"op": "table.free", "table": 1}],
    "table.read": [{"op": "table.read", "path": SB + "/out.wav"}],
    "state": [{"op": "state.save", "path": SB + "/s.sonod"}, {"op": "state.load", "path": SB + "/s.sonod"}],
    "transport": [{"op": "transport.set", "tempo": 100.0, "num": 3, "den": 4, "playing": True, "frame": 0},
                  {"op": "transport.get"}, {"op": "transport.follow", "on": False}],
    "midi": [LOAD, {"op": "midi.route", "to": 1, "channel": 0}, {"op": "midi.routes"},
             {"op": "midi.unroute", "to": 1}],
    "midi.csound": [INSTR, {"op": "midi.route", "to": "csound", "instr": "beep", "voices": 4},
                    {"op": "midi.unroute", "to": "csound", "instr": "beep"}],
    "freewheel": [{"op": "engine.freewheel", "on": False}],
    "graph": [{"op": "node.new", "kind": "gain", "channels": 2},
              {"op": "graph.connect", "from": "csound:out_1", "to": "1:in_1", "gain": 0.5},
              {"op": "graph.get"}, {"op": "graph.disconnect", "from": "csound:out_1", "to": "1:in_1"},
              {"op": "node.bypass", "node": 1, "on": True}, {"op": "node.gain", "node": "out", "gain": 0.8},
              {"op": "node.mute", "node": 1, "on": True}, {"op": "node.delete", "node": 1}],
    "busnode": [{"op": "bus.new", "kind": "audio"}, {"op": "node.new", "kind": "bus", "buses": [0]}],
    "meter": [{"op": "meter.subscribe", "nodes": ["out", "csound"], "rate": 20}, {"op": "meter.unsubscribe"}],
    "record": [{"op": "record.start", "path": SB + "/rec.wav"}, {"op": "render", "frames": 128},
               {"op": "record.stop"}],
}


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    for sub in ("requests", "frame"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for name, reqs in SEEDS.items():
        data = frames(*reqs)
        with open(os.path.join(root, "requests", name), "wb") as f:
            f.write(data)
        with open(os.path.join(root, "frame", name), "wb") as f:
            f.write(b"\x03" + data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
