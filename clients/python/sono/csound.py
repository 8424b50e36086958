"""Csound: instrument templates, synths, buses, tables, bundles."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ._base import Op, Req, _flatten, _timing, op
from .errors import SonoError


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
        frame: Optional[int] = self._daemon._ended.get(self.id)
        return frame

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
