"""The asyncio client: the same objects and operations as Daemon, each a
coroutine (``await plugin.note_on(3, 60)``)."""
from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import time
from typing import Any, AsyncIterator, Dict, Iterable, Optional

from . import _wire
from ._base import Op, Reply, Req, event_matches, step
from ._core import Ops
from ._process import OfflineProcess
from .client import EVENT_BUFFER
from .errors import ClosedError, ConnectError, SonoError

log = logging.getLogger("sono")


class AsyncDaemon(Ops):
    """A connection to sonod for asyncio.  Requests may run concurrently
    (replies are matched by id).  Make one with ``await
    AsyncDaemon.connect(...)`` or ``await AsyncDaemon.offline(...)``; use
    ``async with`` or ``await close()``."""

    is_async = True

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 timeout: Optional[float] = None, process: Optional[OfflineProcess] = None):
        self._init_ops()
        self._reader = reader
        self._writer = writer
        self._process = process
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._pending: Dict[int, "asyncio.Future[Dict[str, Any]]"] = {}
        self._events: "asyncio.Queue[Optional[Dict[str, Any]]]" = asyncio.Queue()
        self._closed = False
        self.exit_status: Optional[int] = None
        self.events_dropped = 0
        self._task = asyncio.get_running_loop().create_task(self._read_loop())

    async def _hello(self, name: str, token: Optional[str]) -> None:
        hello: Req = {"op": "hello", "version": 1, "name": name}
        if token is not None:
            hello["token"] = token
        try:
            self._take_hello(await self.request(hello))
        except BaseException:
            await self.close()
            raise

    @classmethod
    async def connect(cls, address: Optional[str] = None, *, token: Optional[str] = None,
                      token_file: Optional[str] = None,
                      name: str = "sono-python", timeout: Optional[float] = None) -> "AsyncDaemon":
        """As ``Daemon.connect``."""
        kind, where = _wire.parse_address(address)
        if token is None and token_file is not None:
            token = _wire.read_token_file(token_file)
        try:
            if kind == "unix":
                r, w = await asyncio.open_unix_connection(where, limit=1 << 26)
            else:
                r, w = await asyncio.open_connection(where[0], where[1], limit=1 << 26)
        except OSError as e:
            raise ConnectError("connect_failed", f"cannot connect to {address or where}: {e}") from e
        d = cls(r, w, timeout=timeout)
        await d._hello(name, token)
        return d

    @classmethod
    async def offline(cls, sr: int = 44100, block: int = 512, *, channels: int = 2,
                      ksmps: Optional[int] = None, inputs: Optional[int] = None,
                      output: Optional[str] = None, sonod: Optional[str] = None,
                      args: Iterable[str] = (), plugin_paths: Iterable[str] = (),
                file_roots: Iterable[str] = (), name: str = "sono-python",
                      timeout: Optional[float] = None, start_timeout: float = 10.0) -> "AsyncDaemon":
        """As ``Daemon.offline``."""
        proc = OfflineProcess(sr=sr, block=block, channels=channels, ksmps=ksmps,
                              inputs=inputs, output=output, sonod=sonod, args=args,
                              plugin_paths=plugin_paths, file_roots=file_roots)
        deadline = time.monotonic() + start_timeout
        try:
            while True:
                if proc.ready(deadline):
                    try:
                        r, w = await asyncio.open_unix_connection(proc.socket, limit=1 << 26)
                        break
                    except OSError:  # there, not yet listening
                        pass
                await asyncio.sleep(0.01)
            d = cls(r, w, timeout=timeout, process=proc)
            await d._hello(name, None)
        except BaseException:
            proc.abort()
            raise
        return d

    async def request(self, msg: Req, timeout: Optional[float] = None) -> Reply:
        """As ``Daemon.request``, awaited."""
        if self._closed:
            raise ClosedError("closed", "the connection is closed", msg.get("op"))
        rid = next(self._ids)
        fut: "asyncio.Future[Dict[str, Any]]" = asyncio.get_running_loop().create_future()
        fut.op = msg.get("op")  # type: ignore[attr-defined]
        self._pending[rid] = fut
        self._writer.write(_wire.encode({**msg, "id": rid}))
        await self._writer.drain()
        t = timeout if timeout is not None else self.timeout
        try:
            return await asyncio.wait_for(fut, t)
        except asyncio.TimeoutError as e:
            self._pending.pop(rid, None)
            raise SonoError("timeout", f"no reply within {t} s", msg.get("op")) from e

    async def _run(self, gen: Op) -> Any:
        try:
            return await self._drive(gen)
        except SonoError as e:  # the caller's frame is the one that matters
            raise e.with_traceback(None) from None

    async def _drive(self, gen: Op) -> Any:
        done, val = step(gen)
        while not done:
            try:
                reply = await self.request(val)
            except SonoError as e:
                done, val = step(gen, error=e)
            else:
                done, val = step(gen, reply)
        return val

    async def _read_loop(self) -> None:
        why = "the daemon closed the connection"
        try:
            while True:
                head = await self._reader.readexactly(4)
                payload = await self._reader.readexactly(_wire.frame_length(head))
                self._dispatch(_wire.decode(payload))
        except asyncio.IncompleteReadError:
            pass
        except (OSError, ValueError) as e:
            why = f"reading failed: {e}"
        except asyncio.CancelledError:
            why = "the connection is closed"
        self._closed = True
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ClosedError("closed", why, getattr(fut, "op", None)))
        self._pending.clear()
        self._events.put_nowait(None)

    def _dispatch(self, msg: Dict[str, Any]) -> None:
        if "event" in msg:
            if not self._note_event(msg):   # a capture block: its own queue
                return
            if self._events.qsize() >= EVENT_BUFFER:   # nobody reads them: drop the oldest
                self._events.get_nowait()
                self.events_dropped += 1
            self._events.put_nowait(msg)
            for cb in self._matching_callbacks(msg):
                try:
                    res = cb(msg)
                    if inspect.isawaitable(res):
                        asyncio.ensure_future(res)
                except Exception:
                    log.exception("sono: event callback failed")
            return
        fut = self._reply_target(msg, self._pending)
        if fut is not None and not fut.done():
            self._settle(fut, msg)

    async def _wait_ended(self, synth: int, timeout: Optional[float]) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while synth not in self._ended and not self._closed:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return synth in self._ended

    async def _capture_blocks(self, cap: Any, timeout: Optional[float]) -> AsyncIterator[Any]:
        while True:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._capture_buf.get(cap.id) and not self._closed and cap.stopped is None:
                if deadline is not None and time.monotonic() >= deadline:
                    return
                await asyncio.sleep(0.002)
            block = cap._take()
            if block is None:
                return
            yield block

    async def next_event(self, timeout: Optional[float] = None) -> Optional[Dict[str, Any]]:
        """The next event, or None after ``timeout`` seconds or on close."""
        try:
            ev = await asyncio.wait_for(self._events.get(), timeout)
        except asyncio.TimeoutError:
            return None
        if ev is None:
            self._events.put_nowait(None)  # stays closed for later readers
        return ev

    async def events(self, *names: str, timeout: Optional[float] = None) -> AsyncIterator[Dict[str, Any]]:
        """``async for ev in daemon.events("synth")``: as ``Daemon.events``."""
        while True:
            ev = await self.next_event(timeout)
            if ev is None:
                return
            if event_matches(ev, names):
                yield ev

    async def close(self) -> None:
        """Close; a private offline daemon is shut down and removed."""
        if self._process is not None and not self._closed:
            try:
                await self.request({"op": "shutdown"}, timeout=10)
            except SonoError:
                pass
        self._closed = True
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except OSError:
            pass
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        if self._process is not None:
            proc, self._process = self._process, None
            self.exit_status = await asyncio.get_running_loop().run_in_executor(None, proc.stop)

    async def __aenter__(self) -> "AsyncDaemon":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
