"""Capture: a node's audio streamed to the client."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from . import audio as _audio
from ._base import Op, op


class Block:
    """One block of a capture: ``frame`` (the engine frame of its first
    sample), ``audio`` (channels × frames, as ``render`` gives) and
    ``dropped`` (frames lost just before it, because this client read too
    slowly: ``frame`` is the previous block's end plus ``dropped``)."""

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
        self.id: int = info["capture"]
        self.frame: int = info.get("frame", 0)
        self.channels: int = info.get("channels", 0)
        self.block_frames: int = info.get("frames", 0)
        self.node = node
        self.dropped = 0
        self._next = self.frame
        self.stopped: Optional[Dict[str, Any]] = None

    def __repr__(self) -> str:
        return f"<Capture {self.id} of {self.node}>"

    def _take(self) -> Optional[Block]:
        buf = self._daemon._capture_buf.get(self.id)
        if not buf:
            return None
        ev = buf.popleft()
        # Frames lost before this block: by the daemon (its "dropped") or
        # here, when blocks waited too long to be taken.
        lost = max(0, ev["frame"] - self._next)
        self._next = ev["frame"] + ev.get("frames", 0)
        self.dropped += lost
        return Block(ev["frame"], _audio.from_channels(ev["audio"], ev.get("frames", 0),
                                                       self._daemon.use_numpy), lost)

    def blocks(self, timeout: Optional[float] = None) -> Any:
        """The blocks as they come, until ``timeout`` seconds pass without
        one or the capture stopped and its last block was taken.  An
        iterator; an async iterator with AsyncDaemon."""
        return self._daemon._capture_blocks(self, timeout)

    @op
    def stop(self) -> Op[Dict[str, Any]]:
        """Stop; the last (shorter) block comes before the reply, and the
        blocks not taken yet can still be.  Returns ``{frame, frames,
        dropped}``: where it stopped, the frames sent, the frames lost."""
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
