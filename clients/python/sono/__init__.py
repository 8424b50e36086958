"""sono: the Python client of sonod.

    from sono import Daemon
    with Daemon.offline(sr=44100, block=512) as d:
        synth = d.load_plugin("/usr/lib/vst/amsynth_vst.so")
        synth.note_on(3, 60, 100)
        block = d.render(512)          # numpy float32, shape (2, 512)

See clients/python/README.md.
"""
from .audio import HAVE_NUMPY
from ._base import Node
from .capture import Block, Capture
from .csound import Bundle, Bus, Instr, Synth, Table
from .plugin import Params, Plugin
from .client import Daemon
from .errors import ClosedError, ConnectError, SonoError

try:
    from .aio import AsyncDaemon
except ImportError:  # pragma: no cover
    pass

__all__ = ["Daemon", "AsyncDaemon", "Plugin", "Params", "Node", "Instr", "Synth", "Bundle", "Bus", "Capture", "Block", "Table",
           "SonoError", "ConnectError", "ClosedError", "HAVE_NUMPY"]
__version__ = "0.1.0"
