"""The machinery under every object: operations are written once for the
sync and the asyncio client.

Every operation is a generator: it yields request maps and is sent the
``ok`` map of each reply (or has the SonoError thrown into it), and returns
its result.  ``Daemon._run`` drives it with blocking calls,
``AsyncDaemon._run`` with awaits, so ``plugin.note_on(3, 60)`` is a call in
one and a coroutine in the other.
"""
from __future__ import annotations

import functools
from typing import (Any, Callable, Dict, Generator, List, Mapping, Optional, Sequence, Tuple,
                    TypeVar, Union)

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
