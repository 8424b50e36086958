"""The synchronous client: blocking calls, a reader thread for replies and
events."""
from __future__ import annotations

import collections
import itertools
import logging
import socket
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, Optional

from . import _wire
from ._base import Op, Reply, Req, event_matches, step
from ._core import Ops
from ._process import OfflineProcess
from .errors import ClosedError, ConnectError, SonoError

log = logging.getLogger("sono")

#: Events kept for ``events()`` / ``next_event()`` before the oldest are
#: dropped (counted in ``events_dropped``).
EVENT_BUFFER = 65536


class Daemon(Ops):
    """A connection to sonod, blocking: each call sends a request and waits
    for its reply.  Thread-safe: calls from several threads are matched by
    id.

    Make one with ``Daemon.connect(address)`` or ``Daemon.offline(...)``;
    use it as a context manager or call ``close()``.

    Args:
        timeout: seconds to wait for each reply (None: forever).
    """

    def __init__(self, sock: socket.socket, *, name: str = "sono-python",
                 token: Optional[str] = None, timeout: Optional[float] = None,
                 process: Optional[OfflineProcess] = None):
        self._init_ops()
        self._sock = sock
        self._process = process
        self.timeout = timeout
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: Dict[int, "Future[Dict[str, Any]]"] = {}
        self._pending_lock = threading.Lock()
        self._events: Deque[Dict[str, Any]] = collections.deque()
        self._events_cv = threading.Condition()
        self.events_dropped = 0
        #: A private daemon's exit status, once ``close()`` stopped it.
        self.exit_status: Optional[int] = None
        self._closed = False
        self._reader = threading.Thread(target=self._read_loop, name="sono-reader", daemon=True)
        self._reader.start()
        hello: Req = {"op": "hello", "version": 1, "name": name}
        if token is not None:
            hello["token"] = token
        try:
            self._take_hello(self.request(hello))
        except BaseException:
            self.close()
            raise

    # ---- making one

    @classmethod
    def connect(cls, address: Optional[str] = None, *, token: Optional[str] = None,
                token_file: Optional[str] = None,
                name: str = "sono-python", timeout: Optional[float] = None) -> "Daemon":
        """Connect to a running sonod: ``"/run/user/1000/sonod.sock"``,
        ``"unix:/path"``, ``"tcp://host:port"`` (with ``token``, or
        ``token_file`` whose first line is the token, when the daemon has a
        token file), or None for ``$SONOD_SOCKET`` / the default socket."""
        kind, where = _wire.parse_address(address)
        if token is None and token_file is not None:
            token = _wire.read_token_file(token_file)
        try:
            if kind == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(where)
            else:
                sock = socket.create_connection(where)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as e:
            raise ConnectError("connect_failed", f"cannot connect to {address or where}: {e}") from e
        return cls(sock, name=name, token=token, timeout=timeout)

    @classmethod
    def offline(cls, sr: int = 44100, block: int = 512, *, channels: int = 2,
                ksmps: Optional[int] = None, inputs: Optional[int] = None,
                output: Optional[str] = None, sonod: Optional[str] = None,
                args: Iterable[str] = (), plugin_paths: Iterable[str] = (),
                file_roots: Iterable[str] = (), name: str = "sono-python",
                timeout: Optional[float] = None, start_timeout: float = 10.0) -> "Daemon":
        """Start a private offline sonod (sample rate ``sr``, ``block``
        frames per block, ``channels`` outputs, Csound's ``ksmps``, which must
        divide ``block``) in a temporary directory and connect to it.  It
        renders only when asked (``render``) and stops with ``close()``.

        ``output``: the WAV (``.flac``: FLAC) file it writes everything
        rendered to; by default one in its directory, removed on close.
        ``sonod``: the binary (default ``$SONOD``, else the PATH).
        ``plugin_paths``: folders plugins may also load from (beyond the
        standard VST folders, PROTOCOL.md "Threat model"); ``file_roots``:
        folders the files requests name (tables, states) may lie in beyond
        $HOME.  ``args``: more sonod options (``["--isolate-plugins"]``).
        """
        proc = OfflineProcess(sr=sr, block=block, channels=channels, ksmps=ksmps,
                              inputs=inputs, output=output, sonod=sonod, args=args,
                              plugin_paths=plugin_paths, file_roots=file_roots)
        deadline = time.monotonic() + start_timeout
        try:
            while True:
                if proc.ready(deadline):
                    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    try:
                        sock.connect(proc.socket)
                        break
                    except OSError:  # there, not yet listening
                        sock.close()
                time.sleep(0.01)
            d = cls(sock, name=name, timeout=timeout, process=proc)
        except BaseException:
            proc.abort()
            raise
        return d

    def daemon_log(self) -> str:
        """What a private offline daemon printed (its log)."""
        return self._process.log() if self._process else ""

    # ---- requests

    def request(self, msg: Req, timeout: Optional[float] = None) -> Reply:
        """Send one request map (``{"op": ..., ...}``; the id is added) and
        return its ``ok`` map; an error reply raises SonoError."""
        if threading.current_thread() is self._reader:
            raise RuntimeError("an event callback cannot wait for a reply (it runs on the thread "
                               "that reads them): use daemon.send(...) there, or a queue")
        fut = self.send(msg)
        return self._result(fut, str(msg.get("op")), timeout if timeout is not None else self.timeout)

    def send(self, msg: Req) -> "Future[Dict[str, Any]]":
        """Send a request without waiting: returns a Future of the reply's
        ``ok`` map (pipelining)."""
        if self._closed:
            raise ClosedError("closed", "the connection is closed", msg.get("op"))
        rid = next(self._ids)
        fut: "Future[Dict[str, Any]]" = Future()
        fut.op = msg.get("op")  # type: ignore[attr-defined]
        with self._pending_lock:
            self._pending[rid] = fut
        frame = _wire.encode({**msg, "id": rid})
        try:
            with self._send_lock:
                self._sock.sendall(frame)
        except OSError as e:
            with self._pending_lock:
                self._pending.pop(rid, None)
            raise ClosedError("closed", f"sending failed: {e}", msg.get("op")) from e
        return fut

    def _result(self, fut: "Future[Dict[str, Any]]", op: str, timeout: Optional[float]) -> Reply:
        try:
            return fut.result(timeout)
        except TimeoutError as e:  # concurrent.futures.TimeoutError is TimeoutError on 3.11
            raise SonoError("timeout", f"no reply within {timeout} s", op) from e
        except Exception as e:
            if type(e).__name__ == "TimeoutError":
                raise SonoError("timeout", f"no reply within {timeout} s", op) from e
            raise

    def _run(self, gen: Op) -> Any:
        try:
            return self._drive(gen)
        except SonoError as e:  # the caller's frame is the one that matters
            raise e.with_traceback(None) from None

    def _drive(self, gen: Op) -> Any:
        done, val = step(gen)
        while not done:
            try:
                reply = self.request(val)
            except SonoError as e:
                done, val = step(gen, error=e)
            else:
                done, val = step(gen, reply)
        return val

    # ---- the reader

    def _recv_exact(self, n: int) -> Optional[bytes]:
        buf = bytearray()
        while len(buf) < n:
            chunk = self._sock.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def _read_loop(self) -> None:
        why = "the daemon closed the connection"
        try:
            while True:
                head = self._recv_exact(4)
                if head is None:
                    break
                payload = self._recv_exact(_wire.frame_length(head))
                if payload is None:
                    break
                self._dispatch(_wire.decode(payload))
        except (OSError, ValueError) as e:
            if not self._closed:
                why = f"reading failed: {e}"
        self._closed = True
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        for fut in pending.values():
            fut.set_exception(ClosedError("closed", why, getattr(fut, "op", None)))
        with self._events_cv:
            self._events_cv.notify_all()

    def _dispatch(self, msg: Dict[str, Any]) -> None:
        if "event" in msg:
            if not self._note_event(msg):   # a capture block: its own queue
                with self._events_cv:
                    self._events_cv.notify_all()
                return
            with self._events_cv:
                if len(self._events) >= EVENT_BUFFER:
                    self._events.popleft()
                    self.events_dropped += 1
                self._events.append(msg)
                self._events_cv.notify_all()
            for cb in self._matching_callbacks(msg):
                try:
                    cb(msg)
                except Exception:  # a callback's bug must not stop the reader
                    log.exception("sono: event callback failed")
            return
        with self._pending_lock:
            fut = self._reply_target(msg, self._pending)
        if fut is not None:
            self._settle(fut, msg)

    def _wait_ended(self, synth: int, timeout: Optional[float]) -> bool:
        with self._events_cv:
            return self._events_cv.wait_for(lambda: synth in self._ended or self._closed, timeout) \
                and synth in self._ended

    def _capture_blocks(self, cap: Any, timeout: Optional[float]) -> Iterator[Any]:
        while True:
            with self._events_cv:
                self._events_cv.wait_for(lambda: self._capture_buf.get(cap.id) or self._closed
                                         or cap.stopped is not None, timeout)
                block = cap._take()
            if block is None:
                return
            yield block

    # ---- events

    def next_event(self, timeout: Optional[float] = None,
                   match: Optional[Callable[[Dict[str, Any]], bool]] = None) -> Optional[Dict[str, Any]]:
        """The next event received (and not yet taken), waiting up to
        ``timeout`` seconds (None: forever); None on timeout or when the
        connection closed.  With ``match``, events it refuses are dropped."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._events_cv:
            while True:
                while self._events:
                    ev = self._events.popleft()
                    if match is None or match(ev):
                        return ev
                if self._closed:
                    return None
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._events_cv.wait(left)

    def events(self, *names: str, timeout: Optional[float] = None) -> Iterator[Dict[str, Any]]:
        """Iterate over events as they come (those named, or of the kinds
        named, e.g. ``"synth.ended"``, ``"csound"``; all when none), until
        ``timeout`` seconds pass without one or the connection closes.
        Subscribe first (``subscribe``)."""
        while True:
            ev = self.next_event(timeout, lambda e: event_matches(e, names))
            if ev is None:
                return
            yield ev

    # ---- closing

    def close(self) -> None:
        """Close the connection; a private offline daemon is shut down
        (its output file completed) and its directory removed."""
        if self._process is not None and not self._closed:
            try:
                self.request({"op": "shutdown"}, timeout=10)
            except SonoError:
                pass
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        if self._process is not None:
            self.exit_status = self._process.stop()
            self._process = None
        if self._reader is not threading.current_thread():
            self._reader.join(5)

    def __enter__(self) -> "Daemon":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_process", None) is not None:
            try:
                self.close()
            except Exception:
                pass
