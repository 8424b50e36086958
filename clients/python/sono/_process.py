"""A private offline sonod: started in a temporary directory, like
``sonoctl render`` does (clients/c/sonoctl_script.c)."""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from typing import Iterable, List, Optional

from .errors import ConnectError

# Private daemons still running when the interpreter exits (a script that
# never closed its Daemon) are stopped then, not left waiting forever.
_running: "weakref.WeakSet[OfflineProcess]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for p in list(_running):
        p.terminate()


def find_sonod(sonod: Optional[str] = None) -> str:
    """The sonod binary: ``sonod`` if given, else ``$SONOD`` (when not
    empty), else ``sonod`` on the PATH.  Raises ConnectError ``not_found``."""
    if sonod:
        return sonod
    env = os.environ.get("SONOD")
    if env:
        return env
    found = shutil.which("sonod")
    if found:
        return found
    raise ConnectError("not_found", "no sonod: pass sonod=PATH, set $SONOD, or put sonod on the PATH")


class OfflineProcess:
    """The process and its directory.  ``socket`` is where it listens,
    ``output`` the WAV (or FLAC) file it writes."""

    def __init__(self, *, sr: int, block: int, channels: int, ksmps: Optional[int],
                 inputs: Optional[int], output: Optional[str], sonod: Optional[str],
                 args: Iterable[str], plugin_paths: Iterable[str] = (),
                 file_roots: Iterable[str] = ()):
        exe = find_sonod(sonod)
        self.dir = tempfile.mkdtemp(prefix="sono-offline-")
        self.socket = os.path.join(self.dir, "sonod.sock")
        self.log_path = os.path.join(self.dir, "sonod.log")
        self.output = os.path.abspath(output) if output else os.path.join(self.dir, "out.wav")
        self.ksmps = ksmps if ksmps is not None else 32
        argv: List[str] = [exe, "--backend", "offline", "--output", self.output,
                           "--socket", self.socket, "--no-config",
                           "--sample-rate", str(sr), "--block-size", str(block),
                           "--channels", str(channels)]
        if ksmps is not None:
            argv += ["--ksmps", str(ksmps)]
        if inputs is not None:
            argv += ["--inputs", str(inputs)]
        for d in plugin_paths:
            argv += ["--plugin-path", os.path.abspath(os.path.expanduser(d))]
        for d in file_roots:
            argv += ["--file-root", os.path.abspath(os.path.expanduser(d))]
        argv += list(args)
        env = dict(os.environ)
        # Only what the arguments say: no systemd state directory, so no
        # session is restored and nothing is autosaved.
        env.pop("STATE_DIRECTORY", None)
        self.argv = argv
        with open(self.log_path, "wb") as log:
            try:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=log, env=env)
            except OSError as e:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise ConnectError("start_failed", f"cannot run {exe}: {e}") from e
        _running.add(self)

    def terminate(self) -> None:
        """SIGTERM (sonod then completes its output file and exits), wait,
        clean up."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.stop()

    def log(self) -> str:
        """What the daemon printed so far."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def ready(self, deadline: float) -> bool:
        """Whether the socket is there to connect to; raises ConnectError
        ``start_failed`` when the daemon died or ``deadline`` (monotonic)
        passed."""
        if self.proc.poll() is not None:
            raise ConnectError("start_failed", f"sonod exited during start-up "
                               f"(status {self.proc.returncode}); it said:\n{self.log()}")
        if time.monotonic() > deadline:
            raise ConnectError("start_failed", f"sonod did not start in time; it said:\n{self.log()}")
        return os.path.exists(self.socket)

    def abort(self) -> None:
        """Kill a daemon that did not start right, and clean up."""
        self.proc.kill()
        self.stop()

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """Wait for the daemon to exit (after a ``shutdown``), SIGTERM then
        SIGKILL it if it does not, remove its directory (the output file
        too when it was left there).  Returns the exit status."""
        try:
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    return self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    return self.proc.wait()
        finally:
            _running.discard(self)
            shutil.rmtree(self.dir, ignore_errors=True)
