"""Worker processes that execute optimization runs, one run per process at a time
(adapter: multiprocessing I/O).

A :class:`WorkerPool` keeps ``size`` long-lived processes (``forkserver`` context with the
modules of ``preload`` imported once, else ``spawn``), started ahead of the first run so a
run starts without paying for imports. Each process is one *slot* with its own duplex
pipe: the server sends ``("run", fn, args)``; the worker calls ``fn(*args, emit=...,
should_stop=...)`` and answers with ``("event", kind, data)`` messages, then one
``("result", value)`` / ``("error", exc)`` (a :class:`~configurator.errors.ConfiguratorError`)
/ ``("crash", text)``. The server asks it to stop with ``("stop",)``; ``should_stop()``
reads that between generations.

Workers run at a lower CPU priority (``nice``) than the server: a search is batch work,
the requests of every customer stay responsive while it runs. A worker that dies (killed,
out of memory) is noticed at once (the pipe closes): only its
own run fails — with the exit code or signal as the reason — and the slot gets a fresh
process. Slots are handed out with :meth:`WorkerPool.acquire` and given back with
:meth:`WorkerPool.release`; one thread drives one slot (no two threads share a pipe).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from configurator.errors import ConfiguratorError

POLL_S = 0.05


class _Control:
    """The worker side of one run: ``emit`` events, ``should_stop`` reads a ``("stop",)``."""

    def __init__(self, conn: Any):
        self.conn = conn
        self.stopped = False

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        self.conn.send(("event", kind, data))

    def should_stop(self) -> bool:
        while not self.stopped and self.conn.poll():
            if self.conn.recv()[0] == "stop":
                self.stopped = True
        return self.stopped


def _worker_main(conn: Any, preload: Sequence[str], nice: int = 0) -> None:
    """Child process: import ``preload``, then execute runs sent over ``conn`` forever, at
    ``nice`` lower CPU priority than the server (its requests stay responsive)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops us, not Ctrl-C
    if nice:
        os.nice(nice)
    for name in preload:
        importlib.import_module(name)
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "exit":
            return
        if msg[0] != "run":  # a late ("stop",) for a run that has ended
            continue
        fn, args = msg[1], msg[2]
        control = _Control(conn)
        try:
            reply: tuple[Any, ...] = (
                "result",
                fn(*args, emit=control.emit, should_stop=control.should_stop),
            )
        except ConfiguratorError as exc:
            reply = ("error", exc)
        except BaseException as exc:  # noqa: BLE001 - reported to the server, which fails the run
            reply = ("crash", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable result
            conn.send(("crash", f"cannot send the result back: {type(exc).__name__}: {exc}"))


class WorkerDied(Exception):
    """The worker process of a slot exited while running; ``str()`` says how."""


@dataclass
class Outcome:
    """How a run ended in a worker: ``kind`` result / error / crash / died / timeout."""

    kind: str
    value: Any = None


class Slot:
    """One worker process and its pipe."""

    def __init__(self, ctx: Any, preload: Sequence[str], index: int, nice: int = 0):
        self.ctx, self.preload, self.index, self.nice = ctx, tuple(preload), index, nice
        self.process: Any = None
        self.conn: Any = None
        self.ready = False

    def spawn(self) -> None:
        parent, child = self.ctx.Pipe(duplex=True)
        self.process = self.ctx.Process(
            target=_worker_main,
            args=(child, self.preload, self.nice),
            name=f"configurator-run-worker-{self.index}",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.conn, self.ready = parent, False

    def wait_ready(self, timeout: float) -> bool:
        if self.ready:
            return True
        if self.conn.poll(timeout):
            try:
                self.ready = self.conn.recv()[0] == "ready"
            except (EOFError, OSError):
                return False
        return self.ready

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def how_it_died(self) -> str:
        self.process.join(1.0)
        code = self.process.exitcode
        if code is None:
            return "its worker process stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"its worker process (pid {self.pid}) was killed by {name}"
        return f"its worker process (pid {self.pid}) exited with code {code}"

    def execute(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        *,
        on_event: Callable[[str, dict[str, Any]], None],
        stop_requested: Callable[[], bool],
        deadline: float | None = None,
        on_tick: Callable[[], None] | None = None,
    ) -> Outcome:
        """Run ``fn(*args)`` in this slot's process; ``on_event`` per event; the process is
        asked to stop once ``stop_requested()`` is true and killed past ``deadline``
        (``time.monotonic()``). ``on_tick`` is called every ~50 ms (flushing)."""
        if not self.wait_ready(120.0):
            return Outcome("died", self.how_it_died())
        try:
            self.conn.send(("run", fn, args))
        except (OSError, EOFError):
            return Outcome("died", self.how_it_died())
        asked = False
        while True:
            if not asked and stop_requested():
                asked = True
                try:
                    self.conn.send(("stop",))
                except (OSError, EOFError):
                    pass
            if deadline is not None and time.monotonic() > deadline:
                self.kill()
                return Outcome("timeout", "it ran past its time cap and was stopped")
            try:
                if self.conn.poll(POLL_S):
                    msg = self.conn.recv()
                    if msg[0] == "event":
                        on_event(msg[1], msg[2])
                    else:
                        return Outcome(msg[0], msg[1])
            except (EOFError, OSError):
                return Outcome("died", self.how_it_died())
            if on_tick is not None:
                on_tick()

    def kill(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join(5)

    def close(self) -> None:
        try:
            self.conn.send(("exit",))
        except Exception:
            pass
        if self.process is not None:
            self.process.join(2)
        self.kill()
        try:
            self.conn.close()
        except Exception:
            pass


class WorkerPool:
    """``size`` worker processes (see the module docstring). Thread-safe."""

    def __init__(self, size: int, *, preload: Sequence[str] = (), nice: int = 0):
        methods = multiprocessing.get_all_start_methods()
        if "forkserver" in methods:
            self.ctx = multiprocessing.get_context("forkserver")
            self.ctx.set_forkserver_preload(list(preload))
        else:  # pragma: no cover - every Linux has forkserver
            self.ctx = multiprocessing.get_context("spawn")
        self.size = size
        self._slots = [Slot(self.ctx, preload, i, nice) for i in range(size)]
        self._free = list(self._slots)
        self._lock = threading.Lock()
        self._started = False
        self._closed = False

    def start(self) -> None:
        """Start every worker process (they import ``preload`` in the background)."""
        with self._lock:
            if self._started:
                return
            self._started = True
            for slot in self._slots:
                slot.spawn()

    def free_count(self) -> int:
        with self._lock:
            return 0 if self._closed else len(self._free)

    def acquire(self) -> Slot | None:
        """A free slot, or None when all are busy."""
        self.start()
        with self._lock:
            if self._closed or not self._free:
                return None
            return self._free.pop(0)

    def release(self, slot: Slot) -> None:
        """Give ``slot`` back (with a fresh process when its own died)."""
        if self._closed:
            slot.close()
            return
        if slot.process is None or not slot.process.is_alive():
            slot.spawn()
        with self._lock:
            self._free.append(slot)

    def pids(self) -> list[int]:
        return [s.pid for s in self._slots if s.pid is not None]

    def close(self) -> None:
        with self._lock:
            self._closed = True
        for slot in self._slots:
            if slot.process is not None:
                slot.close()
