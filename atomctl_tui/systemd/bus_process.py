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
two processes of this same program). The child has no terminal (so ssh can never prompt) and
ends when the socket closes, that is when the console ends, however it ends. If the child
dies, the console says why (the end of its stderr) and starts another one with backoff.

The children are forked, not started afresh: started as a new Python process, each host's
child cost 12 MB of PSS (24 MB RSS) and its interpreter's start and imports in CPU; forked,
3 MB (benchmarks/README.md, "A fleet of 20 hosts"). ``BusChildren`` runs one process that
imports pystemd and this module once, freezes its objects out of the garbage collector's
sight (``gc.freeze``: a collection would otherwise write to every page and copy it), and
forks a child for each host on request: the children share its pages copy-on-write. The fork
server is single-threaded (forking is safe there); it is given each child's socket and stderr
pipe over its own socket (``SCM_RIGHTS``) and answers with the child's pid and a pidfd, by
which the console waits for the child and kills it — never by a pid that may have been
reused. It ends when the console's end of its socket closes; its children do not depend on it.
"""

from __future__ import annotations

import contextlib
import gc
import io
import itertools
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.connection import Connection
from typing import Any, NoReturn

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
FORK_SERVER_TIMEOUT_SECONDS = 30.0  # its first answer waits for its imports
FORK_SERVER_MODULE = "atomctl_tui.systemd.bus_process"


class BusChildren:
    """The fork server that starts the systemd children of remote hosts (see the module's
    docstring): started by ``start``, or by the first ``spawn``; started again if it died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._stderr_tail: deque[bytes] = deque()
        self._closed = False

    def start(self) -> None:
        """Start the fork server now: its imports then happen while the console starts."""
        with self._lock:
            self._running()

    def spawn(self, channel: socket.socket, stderr_fd: int) -> tuple[int, int]:
        """Fork a child speaking over ``channel`` and writing its stderr to ``stderr_fd``;
        its pid and a pidfd of it. Raises ``OSError`` when the fork server cannot."""
        with self._lock:
            server = self._running()
            try:
                socket.send_fds(server, [b"fork"], [channel.fileno(), stderr_fd])
                answer, fds, _flags, _address = socket.recv_fds(server, 64, 1)
            except OSError:
                self._stop_server()
                raise
            if not answer or not fds:
                why = self._why()
                self._stop_server()
                raise OSError(f"the fork server ended{why}")
            return int(answer), fds[0]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._stop_server()

    def _running(self) -> socket.socket:
        if self._closed:
            raise OSError("the console is closing")
        if self._process is not None and self._process.poll() is None and self._socket:
            return self._socket
        self._stop_server()
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", FORK_SERVER_MODULE, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # no terminal: ssh can never prompt in a child
            )
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.settimeout(FORK_SERVER_TIMEOUT_SECONDS)
        self._process, self._socket = process, ours
        self._stderr_tail = deque()
        threading.Thread(
            target=_keep_tail, args=(process.stderr, self._stderr_tail), daemon=True
        ).start()
        return ours

    def _why(self) -> str:
        tail = b"".join(self._stderr_tail).decode(errors="replace").strip().splitlines()
        return f" ({tail[-1][:200]})" if tail else ""

    def _stop_server(self) -> None:
        process, server = self._process, self._socket
        self._process = self._socket = None
        if server is not None:
            server.close()  # its end of the socket: the fork server's signal to go
        if process is not None:
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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
        children: BusChildren | None = None,
    ) -> None:
        """``children``: the fork server shared by the fleet's hosts (None: one of its own)."""
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
        self._own_children = children is None
        self._children = children if children is not None else BusChildren()
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
        if self._own_children:
            self._children.close()

    def _serve_one_child(self) -> str:
        """Start a child and relay its messages until it ends; why it ended, in words."""
        ours, theirs = socket.socketpair()
        stderr_read, stderr_write = os.pipe()
        try:
            pid, pidfd = self._children.spawn(theirs, stderr_write)
        except OSError as exc:
            ours.close()
            os.close(stderr_read)
            return f"could not be started: {exc.strerror or exc}"
        finally:
            theirs.close()
            os.close(stderr_write)
        self._socket = ours
        self.child_pid = pid
        if self._stopping.is_set():  # stop() came while the child was starting
            ours.shutdown(socket.SHUT_RDWR)
        stderr_tail: deque[bytes] = deque()
        stderr = os.fdopen(stderr_read, "rb")
        stderr_reader = threading.Thread(target=_keep_tail, args=(stderr, stderr_tail), daemon=True)
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
            if not _ended(pidfd, STOP_SECONDS):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                _ended(pidfd, None)
            os.close(pidfd)
            stderr_reader.join(STOP_SECONDS)
            stderr.close()
            self.child_pid = None
        tail = b"".join(stderr_tail).decode(errors="replace").strip().splitlines()
        return tail[-1][:200] if tail else "without a word: killed, or out of memory"

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


def _ended(pidfd: int, timeout: float | None) -> bool:
    """Whether the process of ``pidfd`` ended within ``timeout`` seconds (None: waits)."""
    readable, _w, _x = select.select([pidfd], [], [], timeout)
    return bool(readable)


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


# --- the fork server ---


def fork_server_main(fd: int) -> None:
    """Fork a child for each request on socket ``fd`` until the console closes it."""
    server = socket.socket(fileno=fd)
    signal.signal(signal.SIGCHLD, _reap_children)
    gc.collect()
    gc.freeze()  # what is here now is never collected: its pages are not written to
    while True:
        try:
            request, fds, _flags, _address = socket.recv_fds(server, 64, 2)
        except OSError:
            break
        if not request:  # the console's end closed
            break
        if len(fds) != 2:
            for fd_received in fds:
                os.close(fd_received)
            continue
        channel_fd, stderr_fd = fds
        # Blocked until the pidfd is open: the child cannot be reaped, its pid reused, before.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        pid = os.fork()
        if pid == 0:
            _run_forked_child(server, channel_fd, stderr_fd)
        try:
            pidfd = os.pidfd_open(pid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
            os.close(channel_fd)
            os.close(stderr_fd)
        try:
            socket.send_fds(server, [str(pid).encode()], [pidfd])
        except OSError:
            break
        finally:
            os.close(pidfd)


def _reap_children(_signum: int, _frame: object) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _run_forked_child(server: socket.socket, channel_fd: int, stderr_fd: int) -> NoReturn:
    """The forked child: the fork server's things closed, then ``child_main``; never returns."""
    status = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        server.close()
        os.dup2(stderr_fd, 2)
        os.close(stderr_fd)
        child_main(channel_fd)
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stderr.flush()
        os._exit(status)  # never the fork server's own clean-up


if __name__ == "__main__":
    fork_server_main(int(sys.argv[1]))
