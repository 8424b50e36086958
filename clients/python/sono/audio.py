"""Audio blocks as the daemon sends them (one msgpack bin per channel,
float32 little-endian, non-interleaved) and back."""
from __future__ import annotations

import sys
from array import array
from typing import Any, List, Sequence, Union

try:  # numpy is optional
    import numpy as _np
except ImportError:  # pragma: no cover - exercised where numpy is absent
    _np = None  # type: ignore[assignment]

HAVE_NUMPY = _np is not None

#: What ``render`` and capture events give: a numpy float32 array of shape
#: (channels, frames) when numpy is installed, else a list of
#: ``array('f')``, one per channel.
Audio = Any


def from_channels(chans: Sequence[bytes], frames: int, use_numpy: bool = True) -> Audio:
    """Turn per-channel float32 LE bins into the client's audio value."""
    if use_numpy and _np is not None:
        if not chans:
            return _np.zeros((0, frames), dtype=_np.float32)
        return _np.stack([_np.frombuffer(c, dtype="<f4") for c in chans]).astype(_np.float32)
    out: List[array] = []
    for c in chans:
        a = array("f")
        a.frombytes(bytes(c))
        if sys.byteorder == "big":  # pragma: no cover
            a.byteswap()
        out.append(a)
    return out


def to_channels(data: Union[Audio, Sequence[Sequence[float]]]) -> List[bytes]:
    """Per-channel float32 LE bins from a (channels, frames) array, or from a
    sequence of per-channel sequences of numbers."""
    if _np is not None and isinstance(data, _np.ndarray):
        arr = data if data.ndim == 2 else data.reshape(1, -1)
        return [_np.ascontiguousarray(row, dtype="<f4").tobytes() for row in arr]
    out = []
    for ch in data:
        if _np is not None:
            out.append(_np.asarray(ch, dtype="<f4").tobytes())
            continue
        a = array("f", ch)
        if sys.byteorder == "big":  # pragma: no cover
            a.byteswap()
        out.append(a.tobytes())
    return out


def read_float_wav(path: str, start: int, count: int) -> List[bytes]:
    """Frames ``start`` .. ``start + count`` of a 32-bit float WAV as
    per-channel float32 LE bins.  The header's sizes are not trusted (a
    file being written may still say 0 frames): the samples are read from
    the ``data`` chunk's start to the end of the file.  Fewer frames come
    back when the file holds fewer."""
    import struct
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError(f"{path}: not a WAV file")
        channels = 0
        while True:
            ch = f.read(8)
            if len(ch) < 8:
                raise ValueError(f"{path}: no data chunk")
            cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(size + (size & 1))
                tag, channels = struct.unpack("<HH", fmt[:4])
                bits = struct.unpack("<H", fmt[14:16])[0]
                if tag == 0xFFFE and len(fmt) >= 26:
                    tag = struct.unpack("<H", fmt[24:26])[0]
                if tag != 3 or bits != 32:
                    raise ValueError(f"{path}: not 32-bit float")
            elif cid == b"data":
                break
            else:
                f.seek(size + (size & 1), 1)
        if channels == 0:
            raise ValueError(f"{path}: no fmt chunk")
        f.seek(start * channels * 4, 1)
        raw = f.read(count * channels * 4)
    frames = len(raw) // (channels * 4)
    raw = raw[:frames * channels * 4]
    if _np is not None:
        inter = _np.frombuffer(raw, dtype="<f4").reshape(frames, channels)
        return [_np.ascontiguousarray(inter[:, c]).tobytes() for c in range(channels)]
    a = array("f")
    a.frombytes(raw)
    if sys.byteorder == "big":  # pragma: no cover
        a.byteswap()
    out = []
    for c in range(channels):
        one = array("f", a[c::channels])
        if sys.byteorder == "big":  # pragma: no cover
            one.byteswap()
        out.append(one.tobytes())
    return out
