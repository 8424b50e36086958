"""Errors raised by the sono client."""
from __future__ import annotations

from typing import Any, Mapping, Optional


class SonoError(Exception):
    """An error: one the daemon answered (``code`` is the protocol's error
    code, PROTOCOL.md section 6, e.g. ``"bad_value"``, ``"late"``) or one
    found on this side (``connect_failed``, ``closed``, ``timeout``,
    ``not_found``, ``protocol``).

    Attributes:
        code: the stable code programs test.
        message: the text for people.
        op: the operation that failed, when known.
        line: for Csound errors, the line of the code (``csound_error``,
            ``denied``), else None.
        detail: the whole error map the daemon sent.
    """

    def __init__(self, code: str, message: str = "", op: Optional[str] = None,
                 line: Optional[int] = None, detail: Optional[Mapping[str, Any]] = None):
        self.code = code
        self.message = message
        self.op = op
        self.line = line
        self.detail = dict(detail) if detail else {}
        where = f"{op}: " if op else ""
        super().__init__(f"{where}{code}: {message}" if message else f"{where}{code}")

    @classmethod
    def from_reply(cls, err: Mapping[str, Any], op: Optional[str] = None) -> "SonoError":
        line = err.get("line")
        return cls(str(err.get("code", "internal")), str(err.get("message", "")), op,
                   line if isinstance(line, int) else None, err)


class ConnectError(SonoError):
    """The daemon could not be reached or started (code ``connect_failed``,
    ``not_found`` or ``start_failed``)."""


class ClosedError(SonoError):
    """The connection closed while a reply was awaited (code ``closed``)."""
