"""VST2 plugins: Plugin and its Params."""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from ._base import Node, Op, Req, _timing, op


class Params:
    """A plugin's parameters by name or index.

    ``plugin.params["amp_attack"]`` reads a value (0..1) by its unique name
    or its short name, ``plugin.params[3] =
    0.5`` sets one now; ``set(key, value, delay=...)`` sets one later,
    sample-exact.  ``len()``, iteration (names) and ``names`` come from the
    list read at load time.  With the asyncio client, await reads
    (``await plugin.params["x"]``) and use ``await plugin.params.set(...)``.
    """

    def __init__(self, plugin: "Plugin", names: List[str]):
        self._plugin = plugin
        self._daemon = plugin._daemon
        self.names = names

    def __repr__(self) -> str:
        return f"<Params of {self._plugin.name}: {len(self.names)}>"

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
        """Every parameter: ``[{index, name, short_name, label, display,
        value, automatable, switch, min, max, step, large_step, int_step,
        int_large_step, category}]`` (PROTOCOL.md, ``plugin.params``)."""
        r = yield {"op": "plugin.params", "node": self._plugin.id}
        return r["params"]


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

    def __repr__(self) -> str:
        return f"<Plugin {self.id} {self.name}>"

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
    def program(self, program: Optional[int] = None) -> Op[Tuple[int, Optional[str]]]:
        """Select a program (when given); returns ``(number, name)`` of the
        current one (name None when the plugin does not tell it)."""
        req: Req = {"op": "plugin.program", "node": self.id}
        if program is not None:
            req["program"] = program
        r = yield req
        return r["program"], r["name"]

    @op
    def programs(self) -> Op[List[Optional[str]]]:
        """The names of the plugin's programs; None for a name the plugin
        does not tell (amsynth names only its current program)."""
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
