"""The operations, written once for the sync and the asyncio client.

Every operation is a generator: it yields request maps and is sent the
``ok`` map of each reply (or has the SonoError thrown into it), and returns
its result.  ``Daemon._run`` drives it with blocking calls,
``AsyncDaemon._run`` with awaits, so ``plugin.note_on(3, 60)`` is a call in
one and a coroutine in the other.
"""
from __future__ import annotations

import collections
import functools
import logging
import textwrap
from typing import (Any, Callable, Deque, Dict, Generator, Iterator, List, Mapping, Optional,
                    Sequence, Tuple, TypeVar, Union)

from . import _wire
from . import audio as _audio
from .errors import SonoError

_log = logging.getLogger("sono")
T = TypeVar("T")
Req = Dict[str, Any]
Reply = Dict[str, Any]
Op = Generator[Req, Reply, T]


def op(fn: Callable[..., Op]) -> Callable[..., Any]:
    """Make a generator method an operation of its object's daemon."""
    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self._daemon._run(fn(self, *args, **kwargs))
    return wrapper


def _timing(at: Optional[int] = None, delay: Optional[float] = None) -> Req:
    if at is not None and delay is not None:
        raise ValueError("give at or delay, not both")
    if at is not None:
        return {"at": int(at)}
    if delay is not None:
        return {"delay": delay}
    return {}


def _port(node: Any, kind: str, k: int) -> str:
    return f"{_node_name(node)}:{kind}_{k}"


def _node_name(node: Any) -> str:
    if isinstance(node, Node):
        return str(node.id)
    return str(node)


def step(gen: Op, reply: Optional[Reply] = None,
         error: Optional[BaseException] = None) -> Tuple[bool, Any]:
    """Advance an operation with a reply (or an error): ``(False, next
    request)`` or ``(True, its result)``."""
    try:
        return False, (gen.throw(error) if error is not None else gen.send(reply))  # type: ignore[arg-type]
    except StopIteration as stop:
        return True, stop.value


def _flatten(points: Sequence[Any]) -> List[float]:
    """``[t0, v0, t1, v1, ...]`` from that or from ``[(t0, v0), ...]``."""
    flat: List[float] = []
    for p in points:
        if isinstance(p, (tuple, list)):
            flat.extend(p)
        else:
            flat.append(p)
    return flat


def event_matches(ev: Mapping[str, Any], names: Sequence[str]) -> bool:
    """Whether an event is named, or of a kind named (``"synth"`` matches
    ``"synth.ended"``), in ``names``; ``"*"`` or no names match all."""
    n = str(ev.get("event", ""))
    return not names or any(k == "*" or n == k or n.startswith(k + ".") for k in names)


# --------------------------------------------------------------- nodes

class Node:
    """A node of the routing graph: a plugin, a gain or bus node, or one of
    ``"out"``, ``"in"``, ``"csound"`` (``daemon.node("out")``).

    Attributes:
        id: the node id (int) or name (str).
        inputs, outputs: port counts.
    """

    def __init__(self, daemon: Any, node_id: Union[int, str], inputs: int, outputs: int):
        self._daemon = daemon
        self.id = node_id
        self.inputs = inputs
        self.outputs = outputs

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"

    def __index__(self) -> int:
        if isinstance(self.id, int):
            return self.id
        raise TypeError(f"node {self.id!r} has no number")

    def port(self, kind: str, k: int) -> str:
        """The port name ``"ID:out_K"`` (kind ``"out"``) or ``"ID:in_K"``."""
        return _port(self, kind, k)

    @op
    def connect(self, dest: Any, gain: float = 1.0) -> Op[int]:
        """Connect output k to ``dest``'s input k for every k both have
        (a mono output to every input of ``dest``).  ``dest`` is a Node,
        ``"out"`` or a node id.  Returns the frame of the last change."""
        dnode = dest if isinstance(dest, Node) else self._daemon.node(dest)
        pairs = [(k, k) for k in range(1, min(self.outputs, dnode.inputs) + 1)]
        if self.outputs == 1:
            pairs = [(1, k) for k in range(1, dnode.inputs + 1)]
        if not pairs:
            raise ValueError(f"{self} has no outputs to connect to inputs of {dnode}")
        frame = 0
        for src, dst in pairs:
            r = yield {"op": "graph.connect", "from": self.port("out", src),
                       "to": dnode.port("in", dst), "gain": gain}
            frame = r["frame"]
        return frame

    @op
    def disconnect(self, dest: Any = None) -> Op[int]:
        """Remove this node's connections to ``dest`` (a Node or id), or all
        its outgoing connections when ``dest`` is None.  Each fades out over
        256 frames.  Returns the number removed."""
        g = yield {"op": "graph.get"}
        mine = _node_name(self) + ":"
        theirs = None if dest is None else _node_name(dest) + ":"
        n = 0
        for c in g["connections"]:
            if c["from"].startswith(mine) and (theirs is None or c["to"].startswith(theirs)):
                yield {"op": "graph.disconnect", "from": c["from"], "to": c["to"]}
                n += 1
        return n

    @op
    def set_gain(self, gain: float, at: Optional[int] = None, delay: Optional[float] = None) -> Op[int]:
        """Scale the node's outputs (ramped over 256 frames)."""
        r = yield {"op": "node.gain", "node": _node_name(self), "gain": gain, **_timing(at, delay)}
        return r["frame"]

    @op
    def mute(self, on: bool = True) -> Op[int]:
        """Mute (ramp to 0) or unmute the node's outputs."""
        r = yield {"op": "node.mute", "node": _node_name(self), "on": bool(on)}
        return r["frame"]

    @op
    def bypass(self, on: bool = True) -> Op[int]:
        """Bypass a plugin (crossfade to its dry input) or a gain node."""
        r = yield {"op": "node.bypass", "node": _node_name(self), "on": bool(on)}
        return r["frame"]

    @op
    def delete(self) -> Op[int]:
        """Remove a gain or bus node (plugins: ``unload``)."""
        r = yield {"op": "node.delete", "node": _node_name(self)}
        return r["frame"]


class Params:
    """A plugin's parameters by name or index.

    ``plugin.params["amp_attack"]`` reads a value (0..1), ``plugin.params[3] =
    0.5`` sets one now; ``set(key, value, delay=...)`` sets one later,
    sample-exact.  ``len()``, iteration (names) and ``names`` come from the
    list read at load time.  With the asyncio client, await reads
    (``await plugin.params["x"]``) and use ``await plugin.params.set(...)``.
    """

    def __init__(self, plugin: "Plugin", names: List[str]):
        self._plugin = plugin
        self._daemon = plugin._daemon
        self.names = names

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, int):
            return 0 <= key < len(self.names)
        return key in self.names

    def keys(self) -> List[str]:
        return list(self.names)

    def _key(self, key: Union[int, str]) -> Req:
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise TypeError("a parameter is named by its index (int) or name (str)")
        return {"index": key} if isinstance(key, int) else {"name": key}

    @op
    def __getitem__(self, key: Union[int, str]) -> Op[float]:
        r = yield {"op": "plugin.get", "node": self._plugin.id, **self._key(key)}
        return r["value"]

    def __setitem__(self, key: Union[int, str], value: float) -> None:
        if getattr(self._daemon, "is_async", False):
            raise TypeError("with AsyncDaemon, use: await plugin.params.set(key, value)")
        self.set(key, value)

    @op
    def get(self, key: Union[int, str]) -> Op[Dict[str, Any]]:
        """``{index, name, value, display, label}`` of one parameter."""
        return (yield {"op": "plugin.get", "node": self._plugin.id, **self._key(key)})

    @op
    def set(self, key: Union[int, str], value: float, at: Optional[int] = None,
            delay: Optional[float] = None) -> Op[int]:
        """Set a parameter (0..1) now, at engine frame ``at`` or ``delay``
        seconds from now.  Returns the frame it takes effect at."""
        r = yield {"op": "plugin.set", "node": self._plugin.id, **self._key(key),
                   "value": value, **_timing(at, delay)}
        return r["frame"]

    @op
    def all(self) -> Op[List[Dict[str, Any]]]:
        """Every parameter: ``[{index, name, label, display, value}]``."""
        r = yield {"op": "plugin.params", "node": self._plugin.id}
        return r["params"]


_MIDI_TIME = ("offset", "at", "delay")


class Plugin(Node):
    """A loaded VST2 plugin (``daemon.load_plugin(path)``).

    Attributes:
        id / node: the node id.
        name, info: ``info`` is the whole ``plugin.load`` reply.
        params: a Params view.
    """

    def __init__(self, daemon: Any, info: Mapping[str, Any], names: List[str]):
        super().__init__(daemon, info["node"], info.get("inputs", 0), info.get("outputs", 0))
        self.info = dict(info)
        self.name: str = info.get("name", "")
        self.params = Params(self, names)

    @property
    def node(self) -> int:
        return self.id  # type: ignore[return-value]

    def _one(self, kind: str, delta: Optional[int], at: Optional[int],
             delay: Optional[float], **fields: Any) -> Op[int]:
        """Send one MIDI event: ``delta`` frames into the next block, unless
        ``at`` or ``delay`` is given."""
        ev: Req = {"type": kind, **fields}
        if at is not None and delay is not None:
            raise ValueError("give at or delay, not both")
        if at is not None:
            ev["at"] = int(at)
        elif delay is not None:
            ev["delay"] = delay
        elif delta is not None:
            ev["offset"] = int(delta)
        r = yield {"op": "plugin.midi", "node": self.id, "events": [ev]}
        return r["frame"]

    @op
    def midi(self, events: Sequence[Mapping[str, Any]]) -> Op[int]:
        """Send MIDI events as PROTOCOL.md lists them (``{type, ...,
        offset|at|delay}``).  Returns the frame relative times count from."""
        r = yield {"op": "plugin.midi", "node": self.id, "events": [dict(e) for e in events]}
        return r["frame"]

    @op
    def note_on(self, delta: Optional[int] = 0, note: int = 60, velocity: int = 100,
                channel: int = 0, *, at: Optional[int] = None,
                delay: Optional[float] = None) -> Op[int]:
        """A note-on ``delta`` frames into the next block rendered (or at
        engine frame ``at``, or ``delay`` seconds).  ``channel`` is 0..15."""
        return (yield from self._one("note_on", delta, at, delay, note=note, velocity=velocity,
                                     channel=channel))

    @op
    def note_off(self, delta: Optional[int] = 0, note: int = 60, velocity: int = 64,
                 channel: int = 0, *, at: Optional[int] = None,
                 delay: Optional[float] = None) -> Op[int]:
        """A note-off, timed as ``note_on``."""
        return (yield from self._one("note_off", delta, at, delay, note=note, velocity=velocity,
                                     channel=channel))

    @op
    def cc(self, controller: int, value: int, delta: Optional[int] = 0, channel: int = 0, *,
           at: Optional[int] = None, delay: Optional[float] = None) -> Op[int]:
        """A control change, timed as ``note_on``."""
        return (yield from self._one("cc", delta, at, delay, controller=controller, value=value,
                                     channel=channel))

    @op
    def pitch_bend(self, value: int, delta: Optional[int] = 0, channel: int = 0, *,
                   at: Optional[int] = None, delay: Optional[float] = None) -> Op[int]:
        """Pitch bend, -8192..8191, timed as ``note_on``."""
        return (yield from self._one("pitch_bend", delta, at, delay, value=value, channel=channel))

    @op
    def program(self, program: Optional[int] = None) -> Op[Tuple[int, str]]:
        """Select a program (when given); returns ``(number, name)`` of the
        current one."""
        req: Req = {"op": "plugin.program", "node": self.id}
        if program is not None:
            req["program"] = program
        r = yield req
        return r["program"], r["name"]

    @op
    def programs(self) -> Op[List[str]]:
        """The names of the plugin's programs."""
        r = yield {"op": "plugin.programs", "node": self.id}
        return r["programs"]

    @op
    def get_state(self) -> Op[bytes]:
        """The plugin's state: its chunk, or a parameter snapshot.  Read in
        pages of 8 MiB, so any size works."""
        parts: List[bytes] = []
        offset = 0
        while True:
            r = yield {"op": "plugin.state.get", "node": self.id, "offset": offset}
            parts.append(r["data"])
            offset += len(r["data"])
            if offset >= r["total"] or not r["data"]:
                return b"".join(parts)

    @op
    def set_state(self, data: bytes) -> Op[None]:
        """Give the plugin a state read with ``get_state``."""
        page = 8 * 1024 * 1024
        if len(data) <= page:
            yield {"op": "plugin.state.set", "node": self.id, "data": bytes(data)}
            return None
        for off in range(0, len(data), page):
            yield {"op": "plugin.state.set", "node": self.id, "data": bytes(data[off:off + page]),
                   "offset": off, "total": len(data)}
        return None

    @op
    def unload(self) -> Op[int]:
        """Remove the plugin (its connections fade out first)."""
        r = yield {"op": "plugin.unload", "node": self.id}
        return r["frame"]


# --------------------------------------------------------------- csound

class Instr:
    """An instrument template (``instr.define``): Csound code with named
    parameters and defaults.  ``play(...)`` starts a Synth."""

    def __init__(self, daemon: Any, name: str, params: Mapping[str, float], priority: Optional[int]):
        self._daemon = daemon
        self.name = name
        self.params = dict(params)
        self.priority = priority

    def __repr__(self) -> str:
        return f"<Instr {self.name} {self.params}>"

    @op
    def play(self, dur: Optional[float] = None, *, delay: Optional[float] = None,
             at: Optional[int] = None, priority: Optional[int] = None,
             args: Optional[Mapping[str, float]] = None, **kwargs: float) -> Op["Synth"]:
        """Start a synth of this instrument: ``dur`` seconds (None: until
        stopped), now or ``delay`` seconds / at frame ``at``; parameters as
        keywords (``kfreq=220``) or ``args``.  Unknown names raise
        SonoError ``unknown_param``."""
        return (yield from self._daemon._start_synth(self.name, dur, delay, at, priority,
                                                     {**(args or {}), **kwargs}))

    @op
    def undefine(self) -> Op[None]:
        """Remove the template (fails with ``busy`` while synths of it live)."""
        yield {"op": "instr.undefine", "name": self.name}
        return None


class Synth:
    """A running (or scheduled) synth.  ``id`` is the daemon's synth id.

    ``playing`` is False once its ``synth.ended`` event arrived (the client
    subscribes to ``synth`` events for that when the first synth starts)."""

    def __init__(self, daemon: Any, synth_id: int, instr: str, frame: int):
        self._daemon = daemon
        self.id = synth_id
        self.instr = instr
        self.frame = frame

    def __repr__(self) -> str:
        return f"<Synth {self.id} {self.instr} at {self.frame}>"

    def __index__(self) -> int:
        return self.id

    @property
    def playing(self) -> bool:
        return self.id not in self._daemon._ended

    @property
    def end_frame(self) -> Optional[int]:
        """The frame its ``synth.ended`` event gave, or None."""
        ev = self._daemon._ended.get(self.id)
        return ev.get("frame") if ev else None

    def wait(self, timeout: Optional[float] = None) -> Any:
        """Wait until the synth has ended (its ``synth.ended`` event came);
        False if ``timeout`` seconds passed first.  On a live daemon; an
        offline one moves only when rendered.  A coroutine with
        AsyncDaemon."""
        return self._daemon._wait_ended(self.id, timeout)

    @op
    def set(self, *, at: Optional[int] = None, delay: Optional[float] = None,
            **args: float) -> Op[int]:
        """Set k-rate parameters: ``synth.set(kfreq=330, delay=0.5)``."""
        r = yield {"op": "synth.set", "synth": self.id, "args": args, **_timing(at, delay)}
        return r["frame"]

    @op
    def automate(self, param: str, points: Sequence[Any], mode: str = "linear", *,
                 at: Optional[int] = None, delay: Optional[float] = None) -> Op[int]:
        """Automate a parameter along breakpoints: ``points`` is ``[t0, v0,
        t1, v1, ...]`` or ``[(t0, v0), ...]``, times in seconds from the
        start; ``mode`` ``"linear"``, ``"exp"``, ``"cos"`` or ``"smooth"``."""
        r = yield {"op": "synth.automate", "synth": self.id, "param": param,
                   "points": _flatten(points),
                   "mode": mode, **_timing(at, delay)}
        return r["frame"]

    @op
    def stop(self, delay: Optional[float] = None, *, at: Optional[int] = None) -> Op[int]:
        """Stop now, after ``delay`` seconds or at frame ``at`` (a release,
        if the instrument has one, starts there)."""
        r = yield {"op": "synth.stop", "synth": self.id, **_timing(at, delay)}
        return r["frame"]

    @op
    def get(self) -> Op[Dict[str, float]]:
        """The parameter values last seen on the audio thread."""
        r = yield {"op": "synth.get", "synth": self.id}
        return r["params"]


class Bus:
    """A Csound bus (``daemon.bus("audio")`` or ``"control"``).  Pass it as
    an instrument parameter (it converts to its number)."""

    def __init__(self, daemon: Any, bus_id: int, kind: str):
        self._daemon = daemon
        self.id = bus_id
        self.kind = kind

    def __repr__(self) -> str:
        return f"<Bus {self.id} {self.kind}>"

    def __index__(self) -> int:
        return self.id

    @op
    def set(self, value: float, at: Optional[int] = None, delay: Optional[float] = None) -> Op[int]:
        """Set a control bus."""
        r = yield {"op": "bus.set", "bus": self.id, "value": value, **_timing(at, delay)}
        return r["frame"]

    @op
    def get(self) -> Op[float]:
        """Read a control bus."""
        r = yield {"op": "bus.get", "bus": self.id}
        return r["value"]

    @op
    def free(self) -> Op[None]:
        """Free the bus (reclaimed when the last synth using it ends)."""
        yield {"op": "bus.free", "bus": self.id}
        return None


class Table:
    """A Csound function table (``daemon.table(...)``).  Converts to its
    number, for instrument parameters."""

    def __init__(self, daemon: Any, table: int, size: int, **info: Any):
        self._daemon = daemon
        self.id = table
        self.size = size
        self.info = info

    def __repr__(self) -> str:
        return f"<Table {self.id} size {self.size}>"

    def __index__(self) -> int:
        return self.id

    @op
    def get(self, start: int = 0, count: Optional[int] = None) -> Op[List[float]]:
        """Values from ``start`` (``count`` of them, default to the end)."""
        req: Req = {"op": "table.get", "table": self.id, "start": start}
        if count is not None:
            req["count"] = count
        r = yield req
        return r["data"]

    @op
    def set(self, data: Sequence[float], start: int = 0, at: Optional[int] = None,
            delay: Optional[float] = None) -> Op[int]:
        """Write values from ``start``."""
        r = yield {"op": "table.set", "table": self.id, "start": start,
                   "data": [float(x) for x in data], **_timing(at, delay)}
        return r["frame"]

    @op
    def free(self) -> Op[None]:
        yield {"op": "table.free", "table": self.id}
        return None


class Bundle:
    """Synth starts, sets, automations and stops applied on one frame
    (``bundle``): a chord that starts on one sample.

        b = daemon.bundle(delay=0.1)
        b.play(sine, kfreq=440)
        b.play(sine, kfreq=550)
        b.stop(old_synth)
        results = b.send()      # [Synth, Synth, frame]

    ``send()`` returns one result per member, in order: a Synth for a
    start, the frame for the others, a SonoError (not raised) for a member
    that failed; the others still happened.  ``frame`` is the bundle's
    frame.  The sync client also takes it as a context manager that sends
    on exit (``async with`` for AsyncDaemon)."""

    def __init__(self, daemon: Any, at: Optional[int], delay: Optional[float]):
        self._daemon = daemon
        self._time = _timing(at, delay)
        self.ops: List[Req] = []
        self.results: List[Any] = []
        self.frame: Optional[int] = None

    def play(self, instr: Union[str, "Instr"], dur: Optional[float] = None, *,
             priority: Optional[int] = None, **args: float) -> "Bundle":
        name = instr.name if isinstance(instr, Instr) else instr
        m: Req = {"op": "synth.start", "instr": name, "args": args}
        if dur is not None:
            m["dur"] = dur
        if priority is not None:
            m["priority"] = priority
        self.ops.append(m)
        return self

    def set(self, synth: "Synth", **args: float) -> "Bundle":
        self.ops.append({"op": "synth.set", "synth": int(synth), "args": args})
        return self

    def automate(self, synth: "Synth", param: str, points: Sequence[Any],
                 mode: str = "linear") -> "Bundle":
        self.ops.append({"op": "synth.automate", "synth": int(synth), "param": param,
                         "points": _flatten(points), "mode": mode})
        return self

    def stop(self, synth: "Synth") -> "Bundle":
        self.ops.append({"op": "synth.stop", "synth": int(synth)})
        return self

    @op
    def send(self) -> Op[List[Any]]:
        """Send the bundle; see the class."""
        d = self._daemon
        if not d._synth_subscribed:
            yield {"op": "subscribe", "events": ["synth"]}
            d._synth_subscribed = True
        r = yield {"op": "bundle", "ops": self.ops, **self._time}
        self.frame = r["frame"]
        self.results = []
        for m, res in zip(self.ops, r["results"]):
            if "error" in res:
                self.results.append(SonoError.from_reply(res["error"], m["op"]))
            elif m["op"] == "synth.start":
                self.results.append(Synth(d, res["ok"]["synth"], m["instr"], res["ok"]["frame"]))
            else:
                self.results.append(res["ok"].get("frame", self.frame))
        return self.results

    def __enter__(self) -> "Bundle":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.send()

    async def __aenter__(self) -> "Bundle":
        return self

    async def __aexit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            await self.send()


class Block:
    """One block of a capture: ``frame`` (the engine frame of its first
    sample), ``audio`` (channels × frames, as ``render`` gives) and
    ``dropped`` (blocks lost just before it because this client read too
    slowly; its frame then jumps)."""

    __slots__ = ("frame", "audio", "dropped")

    def __init__(self, frame: int, audio: Any, dropped: int):
        self.frame = frame
        self.audio = audio
        self.dropped = dropped

    def __repr__(self) -> str:
        return f"<Block at {self.frame}, dropped {self.dropped}>"


class Capture:
    """A node's audio streamed to this client (``daemon.capture(node)``),
    on any backend: iterate over ``blocks()``, or ``read(frames)``; stop
    with ``stop()`` or by leaving the ``with``."""

    def __init__(self, daemon: Any, info: Mapping[str, Any], node: Any):
        self._daemon = daemon
        self.id: int = info["id"]
        self.frame: int = info.get("frame", 0)
        self.channels: int = info.get("channels", 0)
        self.block_frames: int = info.get("frames", 0)
        self.node = node
        self.dropped = 0
        self.stopped: Optional[Dict[str, Any]] = None

    def __repr__(self) -> str:
        return f"<Capture {self.id} of {self.node}>"

    def _take(self) -> Optional[Block]:
        buf = self._daemon._capture_buf.get(self.id)
        if not buf:
            return None
        ev = buf.popleft()
        self.dropped += ev.get("dropped", 0)
        return Block(ev["frame"], _audio.from_channels(ev["audio"], ev.get("frames", 0),
                                                       self._daemon.use_numpy), ev.get("dropped", 0))

    def blocks(self, timeout: Optional[float] = None) -> Any:
        """The blocks as they come, until ``timeout`` seconds pass without
        one or the capture stopped and its last block was taken.  An
        iterator; an async iterator with AsyncDaemon."""
        return self._daemon._capture_blocks(self, timeout)

    @op
    def stop(self) -> Op[Dict[str, Any]]:
        """Stop; blocks already sent can still be taken.  Returns ``{frame,
        frames, dropped}``."""
        # "id" is every request's own key, so the capture goes as "capture".
        r = yield {"op": "capture.stop", "capture": self.id}
        self.stopped = r
        return r

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.stopped is None:
            self.stop()

    async def __aenter__(self) -> "Capture":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.stopped is None:
            await self.stop()


# --------------------------------------------------------------- daemon ops

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
        self._ended: Dict[int, Dict[str, Any]] = {}
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
            self._ended[ev["synth"]] = ev
        elif name == "capture" and isinstance(ev.get("id"), int):
            self._capture_buf.setdefault(ev["id"], collections.deque()).append(ev)
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
        """A request that compiles into Csound.  On an idle offline engine a
        compile merges only when frames are rendered: on ``busy`` render one
        k-cycle (the clock moves on by ksmps frames) and retry."""
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
    def load_plugin(self, path: str, *, isolate: Optional[bool] = None,
                    timeout: Optional[int] = None) -> Op[Plugin]:
        """Load a VST2 plugin (it is checked in a child process first) and
        return it.  Its outputs go to ``out``."""
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
        """``[{node, name, path, isolated, state, missed}]``."""
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
        blocks of ``frames``.  Bounded: a client that reads too slowly loses
        blocks, counted in ``Block.dropped``."""
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
