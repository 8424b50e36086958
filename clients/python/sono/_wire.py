"""Framing (PROTOCOL.md section 2): a uint32 big-endian length, then one
msgpack map.  Pure functions shared by the sync and asyncio clients."""
from __future__ import annotations

import os
import struct
from typing import Any, Dict, Optional, Tuple

import msgpack

MAX_FRAME = 16 * 1024 * 1024
_LEN = struct.Struct(">I")


def _default(obj: Any) -> Any:
    # Buses, tables, synths, nodes: their numbers.  numpy scalars and
    # arrays, memoryviews: plain values.
    if hasattr(type(obj), "__index__"):
        return obj.__index__()
    if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, memoryview):
        return obj.tobytes()
    raise TypeError(f"cannot send a {type(obj).__name__} to sonod")


def encode(msg: Dict[str, Any]) -> bytes:
    """One frame holding ``msg``."""
    payload = msgpack.packb(msg, use_bin_type=True, default=_default)
    return _LEN.pack(len(payload)) + payload


def frame_length(header: bytes) -> int:
    return _LEN.unpack(header)[0]


def decode(payload: bytes) -> Dict[str, Any]:
    msg = msgpack.unpackb(payload, raw=False)
    if not isinstance(msg, dict):
        raise ValueError("frame payload is not a map")
    return msg


def parse_address(address: Optional[str]) -> Tuple[str, Any]:
    """``("unix", path)`` or ``("tcp", (host, port))`` for an address as
    libsono reads it: ``unix:/p``, ``unix:///p``, ``/p``, ``tcp://host:port``
    (``[v6]:port`` too); None or "" means ``$SONOD_SOCKET``, else
    ``$XDG_RUNTIME_DIR/sonod.sock``, else ``/run/sonod/sonod.sock``."""
    if not address:
        address = os.environ.get("SONOD_SOCKET") or ""
        if not address:
            xdg = os.environ.get("XDG_RUNTIME_DIR")
            address = f"{xdg}/sonod.sock" if xdg else "/run/sonod/sonod.sock"
    if address.startswith("tcp://"):
        rest = address[len("tcp://"):].rstrip("/")
        if rest.startswith("["):
            host, _, port = rest[1:].partition("]:")
        else:
            host, _, port = rest.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"bad TCP address {address!r}: want tcp://host:port")
        return "tcp", (host, int(port))
    if address.startswith("unix://"):
        address = address[len("unix://"):]
    elif address.startswith("unix:"):
        address = address[len("unix:"):]
    return "unix", address


def read_token_file(path: str) -> str:
    """The token in a token file as sonod reads it: the first line,
    surrounding whitespace trimmed."""
    with open(path, encoding="utf-8") as f:
        return f.readline().strip()
