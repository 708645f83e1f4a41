"""A remote host's systemd connection in a child process of its own.

pystemd keeps Python's interpreter lock through every D-Bus call. Locally a call takes a tenth
of a millisecond; over SSH it takes a network round trip, and when the host stops answering
without closing the connection, sd-bus waits for its 25 s call timeout — measured here, the
whole console froze for those 25 s (benchmarks/README.md, "Remote hosts"). So each remote
host's ``UnitWatch`` runs in a child Python process, and the console keeps a mirror of it:

- the child sends each ``UnitsUpdate`` (its first listing names every unit) and the outcomes of
  the actions it was asked to perform;
- the console's ``ProcessUnitWatch`` is a ``UnitSource`` like ``UnitWatch`` (subscribe,
  snapshot, templates, actions), so the panes do not know where the bus lives.

An action is performed now or refused in words, never kept to run once the host is back: the
console refuses it when the child, or the child's bus, is not connected (``NotConnected``);
the child refuses it when its bus is down, or was lost and made again before the call went
out (``ConnectionGuard``: the connection up when the request arrived, or none).

They talk over a socket pair with ``multiprocessing.connection`` framing (pickles, between
two processes of this same program). The child has no terminal (a new session, so ssh can
never prompt) and ends when the socket closes, that is when the console ends, however it
ends. If the child dies, the console says why (the end of its stderr) and starts another one
with backoff.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.connection import Connection
from typing import Any

from atomctl_tui.remote.hosts import Host
from atomctl_tui.systemd.actions import (
    CALL_TIMEOUT_SECONDS,
    JOB_TIMEOUT_SECONDS,
    Action,
    ConnectionGuard,
    NotConnected,
    Outcome,
    PinnedConnection,
    UnitActions,
)
from atomctl_tui.systemd.bus import (
    CONNECTING,
    DEFAULT_RESYNC_SECONDS,
    FIRST_RETRY_SECONDS,
    MAX_RETRY_SECONDS,
    BusUnavailable,
    ConnectionStatus,
)
from atomctl_tui.systemd.units import Listener, UnitState, UnitsUpdate, UnitWatch

STDERR_TAIL_BYTES = 2048
STOP_SECONDS = 3.0
ACTION_THREADS = 4  # actions on one host at once (each waits for its systemd jobs)


class ProcessUnitWatch:
    """The units matching ``patterns`` on ``host``, watched by a child process.

    Like ``UnitWatch``: listeners are called with everything now, then with each update (on
    the reader thread); the child starts with the first listener (or ``start``) and stops
    with the last, for good.
    """

    def __init__(
        self,
        host: Host,
        patterns: Sequence[str],
        *,
        read_only: bool = False,
        resync_seconds: float = DEFAULT_RESYNC_SECONDS,
    ) -> None:
        self.host = host
        self.patterns = tuple(patterns)
        self.read_only = read_only
        self._resync_seconds = resync_seconds
        self._lock = threading.RLock()
        self._units: dict[str, UnitState] = {}
        self._templates: tuple[str, ...] = ()
        self._listed = False
        self._status = CONNECTING
        self._listeners: list[Listener] = []
        self._requests: dict[int, Future[list[Outcome]]] = {}
        self._request_ids = itertools.count(1)
        self._connection: Connection | None = None
        self._socket: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.child_pid: int | None = None  # the running child's, for diagnostics and tests

    # --- UnitSource ---

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            listener(
                UnitsUpdate(
                    changed=dict(self._units),
                    status=self._status,
                    templates=self._templates,
                    listed=self._listed,
                )
            )
            self._listeners.append(listener)
            self.start()

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
                last = not self._listeners
            if last:
                self.stop()

        return unsubscribe

    def start(self) -> None:
        """Start the child now, before anyone listens (it takes a few tenths of a second to
        connect: let that happen while the console starts). Once stopped, it stays stopped."""
        with self._lock:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(
                    target=self._run, name=f"systemd-bus process {self.host.label}", daemon=True
                )
                self._thread.start()

    def snapshot(self) -> dict[str, UnitState]:
        with self._lock:
            return dict(self._units)

    def templates(self) -> tuple[str, ...]:
        with self._lock:
            return self._templates

    def actions(self, worker_patterns: Sequence[str], *, user: str | None = None) -> UnitActions:
        return ProcessUnitActions(self, worker_patterns, user=user)

    def connection_trouble(self) -> str | None:
        """Why an action could not be sent to the host now (its child, or the child's bus,
        is not connected), in words; None when it could."""
        with self._lock:
            status = self._status
        if self._connection is None:
            return f"its systemd process is not running ({status.detail})"
        if not status.connected:
            return status.detail or "not connected to systemd"
        return None

    def perform(
        self,
        action: Action,
        units: Sequence[str],
        worker_patterns: Sequence[str],
        user: str | None,
    ) -> list[Outcome]:
        """Have the child perform ``action``; its outcomes. Blocks: call it from a thread.
        Raises ``NotConnected`` at once, sending nothing, when the host is not connected."""
        trouble = self.connection_trouble()
        if trouble is not None:
            raise NotConnected(trouble)
        request_id = next(self._request_ids)
        answer: Future[list[Outcome]] = Future()
        with self._lock:
            self._requests[request_id] = answer
        try:
            self._send(("perform", request_id, action, list(units), list(worker_patterns), user))
        except (OSError, BusUnavailable) as exc:
            with self._lock:
                self._requests.pop(request_id, None)
            raise NotConnected("its systemd process ended") from exc
        try:
            # A whole action: its calls and the jobs it waits for.
            return answer.result(timeout=CALL_TIMEOUT_SECONDS + JOB_TIMEOUT_SECONDS)
        except FutureTimeout as exc:
            raise TimeoutError(f"no answer from systemd on {self.host.label}") from exc
        finally:
            with self._lock:
                self._requests.pop(request_id, None)

    def stop(self) -> None:
        """End the child; returns at once. The end of its socket is the child's signal to
        go; the reader thread kills it (by pid) if it lingers."""
        self._stopping.set()
        ours = self._socket
        if ours is not None:
            with contextlib.suppress(OSError):
                ours.shutdown(socket.SHUT_RDWR)  # also wakes the reader thread's recv()

    # --- the reader thread ---

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            connection = self._connection
            if connection is None:
                raise BusUnavailable("not connected to the systemd process")
            connection.send(message)

    def _run(self) -> None:
        retry = FIRST_RETRY_SECONDS
        while not self._stopping.is_set():
            started = time.monotonic()
            why = self._serve_one_child()
            self._fail_requests(BusUnavailable(f"the systemd process for {self.host.label} ended"))
            if self._stopping.is_set():
                break
            if time.monotonic() - started > MAX_RETRY_SECONDS:
                retry = FIRST_RETRY_SECONDS
            detail = f"the systemd process for {self.host.label} ended ({why}); restarting in"
            self._apply(UnitsUpdate(status=ConnectionStatus(False, f"{detail} {retry:g} s")))
            self._stopping.wait(retry)
            retry = min(retry * 2, MAX_RETRY_SECONDS)

    def _serve_one_child(self) -> str:
        """Start a child and relay its messages until it ends; why it ended, in words."""
        ours, theirs = socket.socketpair()
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "atomctl_tui.systemd.bus_process", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            ours.close()
            return f"could not be started: {exc.strerror or exc}"
        finally:
            theirs.close()
        self._socket = ours
        self.child_pid = child.pid
        if self._stopping.is_set():  # stop() came while the child was starting
            ours.shutdown(socket.SHUT_RDWR)
        stderr_tail: deque[bytes] = deque()
        stderr_reader = threading.Thread(
            target=_keep_tail, args=(child.stderr, stderr_tail), daemon=True
        )
        stderr_reader.start()
        # The connection gets a copy of the descriptor: shutting ``ours`` down ends both.
        connection = Connection(os.dup(ours.fileno()))
        self._connection = connection
        listed = False
        try:
            self._send(("start", self.host, self.patterns, self.read_only, self._resync_seconds))
            while True:
                message = connection.recv()
                if message[0] == "update":
                    update = message[1]
                    # Until the new child has listed its host's units, the mirror keeps the
                    # last child's rows: a replaced child blanks nothing meanwhile.
                    self._apply(update, full=update.listed and not listed)
                    listed |= update.listed
                elif message[0] == "answer":
                    self._answer(message[1], message[2], message[3])
        except (EOFError, OSError, BusUnavailable):
            pass
        finally:
            self._connection = None
            self._socket = None
            with contextlib.suppress(OSError):
                connection.close()
            ours.close()
            try:
                returncode = child.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                returncode = child.wait()
            stderr_reader.join(STOP_SECONDS)
            self.child_pid = None
        tail = b"".join(stderr_tail).decode(errors="replace").strip().splitlines()
        return tail[-1][:200] if tail else f"exit status {returncode}"

    def _apply(self, update: UnitsUpdate, *, full: bool = False) -> None:
        """Take the child's update into the mirror, then tell the listeners."""
        with self._lock:
            removed = set(update.removed)
            if full:  # a new child's first listing: whatever it does not name is gone
                removed |= set(self._units) - set(update.changed)
            for name in removed:
                self._units.pop(name, None)
            self._units.update(update.changed)
            if update.templates is not None:
                self._templates = update.templates
            if update.status is not None:
                self._status = update.status
            self._listed |= update.listed
            relayed = UnitsUpdate(
                changed=update.changed,
                removed=frozenset(removed),
                status=update.status,
                templates=update.templates,
                listed=update.listed,
            )
            for listener in self._listeners:
                listener(relayed)

    def _answer(self, request_id: int, outcomes: list[Outcome] | None, error: str | None) -> None:
        with self._lock:
            answer = self._requests.get(request_id)
        if answer is None:
            return
        if error is not None or outcomes is None:
            answer.set_exception(BusUnavailable(error or "the systemd process sent no outcomes"))
        else:
            answer.set_result(outcomes)

    def _fail_requests(self, exc: BusUnavailable) -> None:
        with self._lock:
            pending, self._requests = self._requests, {}
        for answer in pending.values():
            if not answer.done():
                answer.set_exception(exc)


class ProcessUnitActions(UnitActions):
    """Actions on a ``ProcessUnitWatch``'s host: performed by its child, on its bus."""

    watch: ProcessUnitWatch

    def connection_trouble(self) -> str | None:
        return self.watch.connection_trouble()

    def perform(self, action: Action, units: Sequence[str]) -> list[Outcome]:
        try:
            return self.watch.perform(action, units, self.worker_patterns, self.user)
        except Exception as exc:
            return [self._failure(action, unit, exc) for unit in units] or [
                self._failure(action, "", exc)
            ]


def _keep_tail(stream: io.BufferedIOBase, tail: deque[bytes]) -> None:
    """Read ``stream`` to its end, keeping about its last STDERR_TAIL_BYTES."""
    size = 0
    for chunk in iter(lambda: stream.read1(1024), b""):
        tail.append(chunk)
        size += len(chunk)
        while size > STDERR_TAIL_BYTES and len(tail) > 1:
            size -= len(tail.popleft())


# --- the child ---


def child_main(fd: int) -> None:
    connection = Connection(fd)
    _verb, host, patterns, read_only, resync_seconds = connection.recv()
    watch = UnitWatch(host, patterns, read_only=read_only, resync_seconds=resync_seconds)
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with send_lock, contextlib.suppress(OSError):  # the console is gone: recv() ends us
            connection.send(message)

    guard = ConnectionGuard()

    def relay(update: UnitsUpdate) -> None:
        guard.take(update)
        send(("update", update))

    unsubscribe = watch.subscribe(relay)
    pool = ThreadPoolExecutor(ACTION_THREADS)

    def perform(
        pinned: PinnedConnection,
        request_id: int,
        action: Action,
        units: list[str],
        worker_patterns: list[str],
        user: str | None,
    ) -> None:
        try:
            actions = UnitActions(watch, worker_patterns, user=user, pinned=pinned)
            outcomes = actions.perform(action, units)
        except Exception as exc:  # a bug must not leave the console waiting
            send(("answer", request_id, None, f"{type(exc).__name__}: {exc}"))
        else:
            send(("answer", request_id, outcomes, None))

    try:
        while True:
            message = connection.recv()
            if message[0] == "perform":
                # Pinned on arrival: one that waits for a free thread across a reconnection
                # is refused, not run late.
                pool.submit(perform, guard.pin(), *message[1:])
    except (EOFError, OSError):
        pass
    finally:
        unsubscribe()
        pool.shutdown(wait=False, cancel_futures=True)


if __name__ == "__main__":
    child_main(int(sys.argv[1]))
