"""Ops: what a connection to sonod can do, shared by Daemon (sync) and
AsyncDaemon; each operation is a generator of requests (see _base)."""
from __future__ import annotations

import collections
import logging
import textwrap
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _wire
from . import audio as _audio
from ._base import Node, Op, Reply, Req, _node_name, _timing, event_matches, op
from .capture import Capture
from .csound import Bundle, Bus, Instr, Synth, Table
from .errors import SonoError
from .plugin import Plugin

_log = logging.getLogger("sono")

#: How many seconds of a capture's blocks wait to be taken before the
#: oldest go.
CAPTURE_KEEP_SECONDS = 4.0
#: How many ended synths are remembered for ``Synth.playing``.
ENDED_KEPT = 65536


class Ops:
    """What both clients can do; see Daemon and AsyncDaemon for connecting.

    Attributes set by ``hello``: ``server``, ``backend``, ``sample_rate``,
    ``block_size``, ``channels``, ``capabilities``, ``info`` (the whole
    reply).  ``frame`` is where the last render stopped (offline).
    """

    is_async = False
    _daemon: Any
    backend: str = ""
    sample_rate: int = 0
    block_size: int = 0
    channels: int = 0
    frame: int = 0
    _process: Any = None
    use_numpy: bool = True
    #: Read rendered blocks back from the private daemon's WAV file even
    #: when the daemon sends them (tests compare the two ways).
    force_read_back: bool = False
    #: Whether the last render's reply carried the audio (else it was read
    #: back from the output file); None before the first.
    audio_returned: Optional[bool] = None

    def _init_ops(self) -> None:
        self._daemon = self
        # synth id -> the frame its synth.ended event gave; the newest
        # ENDED_KEPT only, so a long live session does not grow without end.
        self._ended: "collections.OrderedDict[int, int]" = collections.OrderedDict()
        self._capture_buf: Dict[int, Deque[Dict[str, Any]]] = {}
        self._synth_subscribed = False
        self._callbacks: List[Tuple[str, Callable[[Dict[str, Any]], Any]]] = []

    def _run(self, gen: Op) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _take_hello(self, r: Reply) -> None:
        self.info = r
        self.server = r.get("server", "")
        self.backend = r.get("backend", "")
        self.sample_rate = r.get("sample_rate", 0)
        self.block_size = r.get("block_size", 0)
        self.channels = r.get("channels", 0)
        self.capabilities = list(r.get("capabilities", []))
        self.client_id = r.get("client")

    def _note_event(self, ev: Dict[str, Any]) -> bool:
        """Bookkeeping every event passes through (on the reader).  Returns
        False for events that go to their own queue (capture blocks)."""
        name = ev.get("event")
        if name == "synth.ended" and isinstance(ev.get("synth"), int):
            self._ended[ev["synth"]] = ev.get("frame", 0)
            if len(self._ended) > ENDED_KEPT:
                self._ended.popitem(last=False)
        elif name == "capture" and isinstance(ev.get("capture"), int):
            buf = self._capture_buf.get(ev["capture"])
            if buf is None:
                # At most CAPTURE_KEEP_SECONDS of blocks wait to be taken;
                # older ones go (Block.dropped then counts them).
                frames = max(1, int(ev.get("frames") or 1024))
                keep = max(8, int(CAPTURE_KEEP_SECONDS * (self.sample_rate or 48000)) // frames)
                buf = self._capture_buf[ev["capture"]] = collections.deque(maxlen=keep)
            buf.append(ev)
            return False
        return True

    def _matching_callbacks(self, ev: Dict[str, Any]) -> List[Callable[[Dict[str, Any]], Any]]:
        return [cb for key, cb in list(self._callbacks) if event_matches(ev, [key])]

    def _reply_target(self, msg: Dict[str, Any], pending: Dict[int, Any]) -> Any:
        """The waiting future a reply is for (removed from ``pending``), or
        None: an error frame without id (``limit``, ``unauthorized``) is
        logged."""
        rid = msg.get("id")
        fut = pending.pop(rid, None) if isinstance(rid, int) else None
        if fut is None and "error" in msg:
            err = msg["error"]
            _log.warning("sono: the daemon said %s: %s", err.get("code"), err.get("message"))
        return fut

    @staticmethod
    def _settle(fut: Any, msg: Dict[str, Any]) -> None:
        if "error" in msg:
            fut.set_exception(SonoError.from_reply(msg["error"], getattr(fut, "op", None)))
        else:
            fut.set_result(msg.get("ok") or {})

    def on(self, event: str, callback: Callable[[Dict[str, Any]], Any]) -> None:
        """Call ``callback(event_map)`` for every event named ``event``
        (``"synth.ended"``), of a kind (``"synth"``, ``"plugin"``), or ``"*"``.
        Subscribe to the kind too (``subscribe``).  The sync client calls it
        on its reader thread; the asyncio client in its loop (a coroutine
        function's result is scheduled as a task)."""
        self._callbacks.append((event, callback))

    def off(self, event: str, callback: Callable[[Dict[str, Any]], Any]) -> None:
        """Undo ``on``."""
        self._callbacks.remove((event, callback))

    # ---- generic

    @op
    def call(self, op_name: str, **args: Any) -> Op[Reply]:
        """Any operation of PROTOCOL.md: returns its ``ok`` map, raises
        SonoError with the ``code`` on an error reply."""
        return (yield {"op": op_name, **args})

    @op
    def status(self) -> Op[Reply]:
        return (yield {"op": "status"})

    @op
    def ping(self, data: Any = None) -> Op[Any]:
        r = yield {"op": "ping", "data": data}
        return r["data"]

    @op
    def sync(self) -> Op[int]:
        """Wait until every earlier request reached the audio thread."""
        r = yield {"op": "sync"}
        return r["frame"]

    @op
    def subscribe(self, *kinds: str) -> Op[List[str]]:
        """Receive events of these kinds (``"synth"``, ``"csound"``,
        ``"plugin"``, ...); returns the whole subscription set."""
        r = yield {"op": "subscribe", "events": list(kinds)}
        return r["events"]

    @op
    def unsubscribe(self, *kinds: str) -> Op[List[str]]:
        r = yield {"op": "unsubscribe", "events": list(kinds)}
        return r["events"]

    @op
    def shutdown(self) -> Op[None]:
        """Stop the daemon (the offline output file is completed)."""
        yield {"op": "shutdown"}
        return None

    # ---- offline rendering

    @op
    def render(self, frames: Optional[int] = None, *, seconds: Optional[float] = None,
               input: Any = None, audio: bool = True) -> Op[Any]:
        """Render ``frames`` (or ``seconds``) on the offline backend and
        return the block: a float32 array of shape (channels, frames) with
        numpy, else a list of ``array('f')`` per channel.  Requests sent
        before (notes, parameters, synths) land exactly in it; the next
        render continues where this one stopped (``frame``).

        ``input``: what the backend's capture ports carry meanwhile (the
        graph's ``in`` node, Csound's ``inch``), one row per input channel;
        ``frames`` then defaults to its length.  ``audio=False`` only
        advances (the output file still gets it) and returns None.  Renders
        too long for one reply are asked for in pieces.  A sonod that does
        not send audio in its render reply: the block is read back from a
        private daemon's WAV file; where that cannot be, SonoError
        ``not_supported``."""
        rows = None if input is None else _audio.to_channels(input)
        if frames is None and rows is not None:
            frames = len(rows[0]) // 4 if rows else 0
        if audio and frames is None and seconds is not None and self.sample_rate:
            frames = int(round(seconds * self.sample_rate))
            seconds = None
        piece = max(1, (_wire.MAX_FRAME - 4096) // (4 * max(self.channels, 1)) - 1024)
        if not audio or frames is None or frames <= piece:
            return (yield from self._render_piece(frames, seconds, rows, audio))
        parts = []
        for off in range(0, frames, piece):
            n = min(piece, frames - off)
            part_rows = None if rows is None else [r[off * 4:(off + n) * 4] for r in rows]
            parts.append((yield from self._render_piece(n, None, part_rows, audio, raw=True)))
        chans = [b"".join(p[c] for p in parts) for c in range(len(parts[0]))]
        return _audio.from_channels(chans, len(chans[0]) // 4 if chans else 0, self.use_numpy)

    def _render_piece(self, frames: Optional[int], seconds: Optional[float],
                      rows: Optional[List[bytes]], audio: bool, raw: bool = False) -> Op[Any]:
        req: Req = {"op": "render"}
        if frames is not None:
            req["frames"] = int(frames)
        if seconds is not None:
            req["seconds"] = seconds
        if audio:
            req["return"] = True
        if rows is not None:
            req["input"] = rows
        before = self.frame
        r = yield req
        self.frame = r.get("frame", self.frame)
        if not audio:
            return None
        self.audio_returned = "audio" in r
        if "audio" in r and not self.force_read_back:
            self.frame = r.get("start", self.frame) + r.get("frames", 0)
            chans = r["audio"]
        else:
            chans = self._read_back(before, frames, rows is not None)
        if raw:
            return chans
        return _audio.from_channels(chans, len(chans[0]) // 4 if chans else 0, self.use_numpy)

    def _read_back(self, before: int, frames: Optional[int], had_input: bool) -> List[bytes]:
        """The block just rendered, from the output file of a private daemon
        (on this machine, WAV), for a sonod that does not send it back."""
        out = self.output
        if had_input or out is None or not out.endswith(".wav"):
            raise SonoError("not_supported", "this sonod does not send rendered audio back "
                            "(render return: true); it wrote the block to its output file", "render")
        start = self.frame - frames if frames is not None else before
        return _audio.read_float_wav(out, start, self.frame - start)

    @property
    def output(self) -> Optional[str]:
        """A private offline daemon's output file (None when connected)."""
        return self._process.output if self._process else None

    @property
    def ksmps(self) -> Optional[int]:
        """Csound's k-cycle of a private daemon (None when connected)."""
        return self._process.ksmps if self._process else None

    def _kcycle(self) -> int:
        return self.ksmps or self.block_size or 32

    def _compile(self, req: Req) -> Op[Reply]:
        """A request that compiles into Csound.  An idle offline engine
        merges a compile at once; one sent during a render merges in it, and
        should that render end first the next compile is ``busy``: then
        render one k-cycle (the clock moves on by ksmps frames) and retry."""
        for attempt in range(3):
            try:
                return (yield req)
            except SonoError as e:
                if e.code != "busy" or self.backend != "offline" or attempt == 2:
                    raise
                r = yield {"op": "render", "frames": self._kcycle()}
                self.frame = r.get("frame", self.frame)
        raise AssertionError("unreachable")

    # ---- plugins and graph

    @op
    def load_plugin(self, path: str, *, isolate: Union[bool, str, None] = None,
                    timeout: Optional[int] = None) -> Op[Plugin]:
        """Load a VST2 plugin (it is checked in a child process first) and
        return it.  Its outputs go to ``out``.  ``isolate``: True for a host
        process of its own, a host group's name to share that group's one
        host process."""
        req: Req = {"op": "plugin.load", "path": str(path)}
        if isolate is not None:
            req["isolate"] = isolate
        if timeout is not None:
            req["timeout"] = timeout
        info = yield req
        params = yield {"op": "plugin.params", "node": info["node"]}
        return Plugin(self, info, [p["name"] for p in params["params"]])

    @op
    def plugins(self) -> Op[List[Dict[str, Any]]]:
        """``[{node, name, path, isolated, host, state, missed}]``."""
        r = yield {"op": "plugin.list"}
        return r["nodes"]

    def node(self, node_id: Union[int, str], inputs: Optional[int] = None,
             outputs: Optional[int] = None) -> Node:
        """A handle on an existing node: ``"out"``, ``"in"``, ``"csound"`` or
        an id (port counts default to the daemon's channels)."""
        ch = self.channels or 2
        if node_id == "out":
            return Node(self, "out", ch, 0)
        if node_id in ("in", "csound"):
            return Node(self, node_id, 0, ch)
        return Node(self, node_id, ch if inputs is None else inputs, ch if outputs is None else outputs)

    @op
    def connect(self, src: str, dst: str, gain: float = 1.0) -> Op[int]:
        """Connect two ports: ``connect("3:out_1", "out:in_1")``."""
        r = yield {"op": "graph.connect", "from": src, "to": dst, "gain": gain}
        return r["frame"]

    @op
    def disconnect(self, src: str, dst: str) -> Op[int]:
        r = yield {"op": "graph.disconnect", "from": src, "to": dst}
        return r["frame"]

    @op
    def graph(self) -> Op[Reply]:
        """``{nodes, connections, order}`` as ``graph.get`` gives."""
        return (yield {"op": "graph.get"})

    @op
    def gain_node(self, channels: int = 2) -> Op[Node]:
        """A new gain node (unconnected)."""
        r = yield {"op": "node.new", "kind": "gain", "channels": channels}
        return Node(self, r["node"], channels, channels)

    @op
    def bus_node(self, *buses: Bus) -> Op[Node]:
        """A graph source whose ``out_k`` carries the k-th of these Csound
        audio buses, e.g. to send an instrument through a plugin."""
        r = yield {"op": "node.new", "kind": "bus", "buses": [int(b) for b in buses]}
        return Node(self, r["node"], 0, len(buses))

    @op
    def tone(self, on: bool = True, freq: float = 440.0, amp: float = 0.25, channel: int = -1, *,
             at: Optional[int] = None, delay: Optional[float] = None) -> Op[int]:
        """The built-in test sine."""
        r = yield {"op": "engine.tone", "on": on, "freq": freq, "amp": amp, "channel": channel,
                   **_timing(at, delay)}
        return r["frame"]

    @op
    def capture(self, node: Any = "out", *, inputs: bool = False,
                frames: Optional[int] = None) -> Op[Capture]:
        """Stream a node's outputs (``inputs=True``: what reaches its
        inputs; for ``"out"``, what goes to the backend) to this client in
        blocks of ``frames`` (default 1024).  No subscription needed.
        Bounded: a client that reads too slowly loses blocks, counted in
        ``Block.dropped`` (frames)."""
        req: Req = {"op": "capture.start", "node": _node_name(node)}
        if isinstance(node, Node) and isinstance(node.id, int):
            req["node"] = node.id
        elif isinstance(node, int):
            req["node"] = node
        if inputs:
            req["port"] = "in"
        if frames is not None:
            req["frames"] = frames
        r = yield req
        return Capture(self, r, node)

    # ---- csound

    @op
    def compile(self, code: str) -> Op[None]:
        """Compile orchestra code into the live Csound (instruments 1..19999,
        UDOs, globals).  A Csound error raises SonoError ``csound_error``
        with ``line``."""
        yield from self._compile({"op": "csound.compile", "code": code})
        return None

    @op
    def instr(self, name: str, body: str, params: Optional[Mapping[str, float]] = None, *,
              init: Optional[str] = None, priority: Optional[int] = None) -> Op[Instr]:
        """Define (or redefine) an instrument template.  ``params`` maps
        names to defaults (``k…`` settable while playing, ``i…`` at start);
        or the body's first line says ``|kfreq=440, kamp=0.1|``.  The body
        is dedented and leading blank lines dropped, so a triple-quoted
        string may start on the next line."""
        body = textwrap.dedent(body).lstrip("\n")
        req: Req = {"op": "instr.define", "name": name, "body": body}
        if params is not None:
            req["params"] = dict(params)
        if init is not None:
            req["init"] = init
        if priority is not None:
            req["priority"] = priority
        r = yield from self._compile(req)
        return Instr(self, r["name"], r["params"], priority)

    @op
    def instrs(self) -> Op[Dict[str, Instr]]:
        """The defined templates by name."""
        r = yield {"op": "instr.list"}
        return {i["name"]: Instr(self, i["name"], i["params"], None) for i in r["instrs"]}

    def _start_synth(self, instr: str, dur: Optional[float], delay: Optional[float],
                     at: Optional[int], priority: Optional[int],
                     args: Mapping[str, float]) -> Op[Synth]:
        if not self._synth_subscribed:
            yield {"op": "subscribe", "events": ["synth"]}
            self._synth_subscribed = True
        req: Req = {"op": "synth.start", "instr": instr, "args": dict(args), **_timing(at, delay)}
        if dur is not None:
            req["dur"] = dur
        if priority is not None:
            req["priority"] = priority
        r = yield from self._compile(req)
        return Synth(self, r["synth"], instr, r["frame"])

    @op
    def play(self, instr: str, dur: Optional[float] = None, *, delay: Optional[float] = None,
             at: Optional[int] = None, priority: Optional[int] = None,
             args: Optional[Mapping[str, float]] = None, **kwargs: float) -> Op[Synth]:
        """Start a synth of the template named ``instr`` (as ``Instr.play``)."""
        return (yield from self._start_synth(instr, dur, delay, at, priority,
                                             {**(args or {}), **kwargs}))

    def bundle(self, *, at: Optional[int] = None, delay: Optional[float] = None) -> Bundle:
        """A Bundle: members applied together at one frame."""
        return Bundle(self, at, delay)

    @op
    def synths(self) -> Op[List[Dict[str, Any]]]:
        """Live and pending synths: ``[{synth, instr}]``."""
        r = yield {"op": "synth.list"}
        return r["synths"]

    @op
    def bus(self, kind: str = "audio") -> Op[Bus]:
        """A new Csound bus, ``"audio"`` or ``"control"``."""
        r = yield {"op": "bus.new", "kind": kind}
        return Bus(self, r["bus"], r["kind"])

    @op
    def table(self, data: Optional[Sequence[float]] = None, *, size: Optional[int] = None) -> Op[Table]:
        """A new table holding ``data``, or ``size`` zeros."""
        if (data is None) == (size is None):
            raise ValueError("give data or size")
        req: Req = {"op": "table.new"}
        if data is not None:
            req["data"] = [float(x) for x in data]
        else:
            req["size"] = size
        r = yield req
        return Table(self, r["table"], r["size"])

    @op
    def read_table(self, path: str) -> Op[Table]:
        """A table read from a sound file on the daemon's machine."""
        r = yield {"op": "table.read", "path": str(path)}
        return Table(self, r["table"], r.get("size", 0), channels=r.get("channels"), sr=r.get("sr"))

    @op
    def event(self, line: str, *, at: Optional[int] = None, delay: Optional[float] = None) -> Op[int]:
        """One raw score line, e.g. ``"i 1 0 2 440"``; its p2 counts from
        the request's frame."""
        r = yield {"op": "csound.event", "line": line, **_timing(at, delay)}
        return r["frame"]

    @op
    def score(self, text: str, *, at: Optional[int] = None, delay: Optional[float] = None) -> Op[int]:
        """Several score lines (``i``, ``f``, ``q``)."""
        r = yield {"op": "csound.score", "text": text, **_timing(at, delay)}
        return r["frame"]

    @op
    def set_channel(self, name: str, value: float, *, at: Optional[int] = None,
                    delay: Optional[float] = None) -> Op[int]:
        """Set a named control channel (``chnget`` reads it)."""
        r = yield {"op": "channel.set", "name": name, "value": value, **_timing(at, delay)}
        return r["frame"]

    @op
    def get_channel(self, name: str) -> Op[float]:
        r = yield {"op": "channel.get", "name": name}
        return r["value"]

    # ---- session state

    @op
    def save(self, path: Optional[str] = None) -> Op[Reply]:
        """Save the session (on the daemon's machine)."""
        req: Req = {"op": "state.save"}
        if path is not None:
            req["path"] = str(path)
        return (yield req)

    @op
    def load(self, path: str) -> Op[Reply]:
        """Replace the session by a saved one; the reply maps old ids to new."""
        return (yield {"op": "state.load", "path": str(path)})
