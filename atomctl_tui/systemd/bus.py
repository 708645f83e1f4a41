"""One connection to a host's systemd over D-Bus, owned by one thread.

sd-bus connections are not thread-safe, and every call on them blocks, so a single "bus thread"
owns the pystemd connection: it dispatches systemd's signals, runs the calls other threads
submit (each returns a ``Future``), and reconnects with backoff when the connection breaks.
Nothing here ever runs on the UI's event loop.

The connection is the local system bus when ``host.dbus_address`` is None, otherwise
``DBusAddress(host.dbus_address)`` (a lab's socket, or a ``unixexec:`` address running
``systemd-stdio-bridge`` over SSH). With ``read_only`` no mutating method reaches the bus.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import select
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pystemd.dbusexc import DBusBaseError, DBusConnectionRefusedError, DBusDisconnectedError
from pystemd.dbuslib import DBus, DBusAddress, apply_signature

from atomctl_tui.outside_text import clean_line
from atomctl_tui.remote.hosts import Host

SYSTEMD = b"org.freedesktop.systemd1"
MANAGER_PATH = b"/org/freedesktop/systemd1"
MANAGER = b"org.freedesktop.systemd1.Manager"
UNIT = b"org.freedesktop.systemd1.Unit"
SERVICE = b"org.freedesktop.systemd1.Service"
PROPERTIES = b"org.freedesktop.DBus.Properties"

MANAGER_SIGNALS = (b"JobRemoved", b"UnitNew", b"UnitRemoved", b"UnitFilesChanged", b"Reloading")

# Manager methods that change something; read-only mode refuses them before the bus sees them.
MUTATING_METHODS = frozenset(
    {
        b"StartUnit",
        b"StopUnit",
        b"RestartUnit",
        b"TryRestartUnit",
        b"ReloadOrRestartUnit",
        b"ReloadOrTryRestartUnit",
        b"KillUnit",
        b"EnableUnitFiles",
        b"DisableUnitFiles",
        b"ReenableUnitFiles",
        b"MaskUnitFiles",
        b"UnmaskUnitFiles",
        b"ResetFailedUnit",
        b"ResetFailed",
        b"Reload",
    }
)

# How sd-bus reports a connection that is gone, as opposed to an error reply to one call.
CONNECTION_ERRNOS = frozenset(
    {errno.ENOTCONN, errno.ECONNRESET, errno.EPIPE, errno.ESHUTDOWN, errno.EHOSTUNREACH}
)

# How pystemd's own errors (not systemd's replies) begin.
PYSTEMD_OWN_MESSAGES = ("Could not ", "Failed to ")
MAX_DBUS_ERROR_CHARS = 500  # a D-Bus error message, as far as it is shown

FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 10.0
DEFAULT_RESYNC_SECONDS = 30.0
BACKGROUND_PAUSE_SECONDS = 0.01
BRIDGE_PROBE_SECONDS = 15

T = TypeVar("T")


class ReadOnlyError(Exception):
    """A mutating call was attempted while the console runs with --read-only."""


class BusUnavailable(Exception):
    """The connection to systemd is down; the message says why."""


def is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, BusUnavailable | DBusDisconnectedError | DBusConnectionRefusedError):
        return True
    # An error reply maps to a named subclass (NoSuchUnit, AccessDenied, FileNotFound…); a
    # broken connection is a bare DBusBaseError carrying the errno.
    # isinstance too: pystemd is untyped, and only isinstance narrows exc for a type checker.
    return (
        isinstance(exc, DBusBaseError)
        and type(exc) is DBusBaseError
        and -exc.errno in CONNECTION_ERRNOS
    )


def connect_dbus(host: Host) -> DBus:
    """An open connection to ``host``'s system bus (tests wrap this to watch every call)."""
    bus = DBus() if host.dbus_address is None else DBusAddress(host.dbus_address)
    bus.open()
    return bus


@dataclass(frozen=True)
class Signal:
    """One signal from systemd: its member name, object path and decoded body."""

    member: str
    path: bytes
    body: Any


@dataclass(frozen=True)
class ConnectionStatus:
    connected: bool
    detail: str = ""  # why it is down and when the next attempt is, in words


# Before the first attempt has ended: not a failure (yet).
CONNECTING = ConnectionStatus(connected=False, detail="connecting to systemd")


class BusClient(Protocol):
    """What the bus thread calls; every method runs on the bus thread."""

    def connected(self, calls: SystemdCalls) -> None: ...

    def signals(self, calls: SystemdCalls, signals: list[Signal]) -> None: ...

    def background(self, calls: SystemdCalls) -> bool:
        """Do a slice of deferred work; True if there was any (False: idle, no call made)."""
        ...

    def resync(self, calls: SystemdCalls) -> None: ...

    def status(self, status: ConnectionStatus) -> None: ...


class SystemdCalls:
    """The calls work items may make; only ever used on the bus thread."""

    def __init__(self, dbus: DBus, *, read_only: bool, jobs: dict[bytes, Future[str]]) -> None:
        self._dbus = dbus
        self._read_only = read_only
        self._jobs = jobs

    def manager(self, method: bytes, signature: bytes = b"", *args: Any) -> Any:
        return self.call(MANAGER_PATH, MANAGER, method, signature, *args)

    def call(
        self, path: bytes, interface: bytes, method: bytes, signature: bytes = b"", *args: Any
    ) -> Any:
        if self._read_only and method in MUTATING_METHODS:
            raise ReadOnlyError(f"{method.decode()} refused: the console runs read-only")
        body = apply_signature(signature, list(args)) if signature else []
        return self._dbus.call_method(SYSTEMD, path, interface, method, body).body

    def get(self, path: bytes, interface: bytes, name: bytes, signature: bytes) -> Any:
        return self._dbus.get_property(SYSTEMD, path, interface, name, signature)

    def start_job(self, method: bytes, unit: str, mode: bytes = b"replace") -> Future[str]:
        """Queue a Start/Stop/Restart job; the future gets the job's result from JobRemoved."""
        job_path = self.manager(method, b"ss", unit.encode(), mode)
        finished: Future[str] = Future()
        # Registered before the bus thread dispatches again, so JobRemoved cannot be missed.
        self._jobs[job_path] = finished
        return finished


class SystemdBus:
    """The bus thread: connect, subscribe, dispatch signals and run submitted work."""

    def __init__(
        self,
        host: Host,
        client: BusClient,
        *,
        read_only: bool = False,
        resync_seconds: float = DEFAULT_RESYNC_SECONDS,
    ) -> None:
        self.host = host
        self.read_only = read_only
        self._client = client
        self._resync_seconds = resync_seconds
        self._work: queue.SimpleQueue[tuple[Callable[[SystemdCalls], Any], Future[Any]]] = (
            queue.SimpleQueue()
        )
        self._jobs: dict[bytes, Future[str]] = {}
        self._received: list[Signal] = []
        self._signals_seen = 0
        self._stopping = threading.Event()
        self._connected = threading.Event()
        """Set while a connection serves work: work is refused, never kept, without one."""
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self._wake_lock = threading.Lock()
        self._wake_closed = False
        # pystemd keeps no reference to a signal callback and stores its user data as an
        # attribute of it: so a plain function, kept alive here as long as the bus is.
        self._signal_callback = lambda message, **_ignored: self._on_signal(message)
        self._thread = threading.Thread(
            target=self._run, name=f"systemd-bus {host.label}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the bus thread to close the connection and end; returns at once."""
        self._stopping.set()
        self._wake()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, work: Callable[[SystemdCalls], T]) -> Future[T]:
        """Run ``work(calls)`` on the bus thread; safe from any thread."""
        done: Future[T] = Future()
        if self._stopping.is_set():
            done.set_exception(BusUnavailable("the connection to systemd is closed"))
            return done
        if not self._connected.is_set():
            # Kept, it would run unseen whenever the connection came back.
            done.set_exception(BusUnavailable("not connected to systemd: nothing was sent"))
            return done
        self._work.put((work, done))
        self._wake()
        return done

    def _wake(self) -> None:
        with self._wake_lock:
            if not self._wake_closed:
                with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending anyway
                    os.write(self._wake_write, b"x")

    # --- the bus thread ---

    def _run(self) -> None:
        retry = FIRST_RETRY_SECONDS
        while not self._stopping.is_set():
            try:
                dbus = self._connect()
            except Exception as exc:
                self._down("cannot reach", exc, retry, reason=missing_bridge(self.host))
                self._stopping.wait(retry)
                retry = min(retry * 2, MAX_RETRY_SECONDS)
                continue
            served_since = time.monotonic()
            try:
                self._serve(dbus)
            except Exception as exc:
                if self._stopping.is_set():
                    break
                # A connection that held for a while starts the backoff afresh.
                if time.monotonic() - served_since > MAX_RETRY_SECONDS:
                    retry = FIRST_RETRY_SECONDS
                what = "lost the connection to" if is_connection_error(exc) else "error talking to"
                self._down(what, exc, retry)
                self._stopping.wait(retry)
                retry = min(retry * 2, MAX_RETRY_SECONDS)
            finally:
                self._connected.clear()
                self._fail_pending(BusUnavailable("the connection to systemd was lost"))
                dbus.close()
        self._fail_pending(BusUnavailable("the connection to systemd is closed"))
        with self._wake_lock:
            self._wake_closed = True
            os.close(self._wake_read)
            os.close(self._wake_write)

    def _connect(self) -> DBus:
        dbus = connect_dbus(self.host)
        try:
            callback = self._signal_callback
            for member in MANAGER_SIGNALS:
                dbus.match_signal(SYSTEMD, MANAGER_PATH, MANAGER, member, callback)
            dbus.match_signal(SYSTEMD, None, PROPERTIES, b"PropertiesChanged", callback)
            # systemd sends unit signals only to clients that subscribed.
            dbus.call_method(SYSTEMD, MANAGER_PATH, MANAGER, b"Subscribe", [])
        except BaseException:
            dbus.close()
            raise
        return dbus

    def _serve(self, dbus: DBus) -> None:
        calls = SystemdCalls(dbus, read_only=self.read_only, jobs=self._jobs)
        self._connected.set()
        self._client.status(ConnectionStatus(connected=True))
        self._client.connected(calls)
        next_resync = time.monotonic() + self._resync_seconds
        while not self._stopping.is_set():
            busy = self._run_work(calls)
            if time.monotonic() >= next_resync:
                self._client.resync(calls)
                next_resync = time.monotonic() + self._resync_seconds
                busy = True
            # A blocking call reads the socket and queues the signals that arrive meanwhile,
            # where select() cannot see them: wait only after a round in which nothing happened.
            busy |= self._dispatch(dbus, calls)
            deferred = self._client.background(calls)
            if busy:
                continue
            # Deferred reads are the least urgent: between two slices the bus thread lets go
            # of the interpreter (pystemd holds it through each call) so the UI can paint.
            wait = (
                BACKGROUND_PAUSE_SECONDS if deferred else max(0.0, next_resync - time.monotonic())
            )
            readable, _, _ = select.select([dbus.get_fd(), self._wake_read], [], [], wait)
            if self._wake_read in readable:
                os.read(self._wake_read, 4096)

    def _dispatch(self, dbus: DBus, calls: SystemdCalls) -> bool:
        """Process what the bus holds; hand signals to the client in batches. True if any."""
        delivered = False
        while True:
            self._drain(dbus)
            if not self._received:
                return delivered
            batch, self._received = self._received, []
            self._client.signals(calls, batch)
            delivered = True

    def _drain(self, dbus: DBus) -> None:
        # pystemd's process() hides sd_bus_process()'s return value, and a signal handled by a
        # match callback comes back as an empty message: so "nothing left" is an empty message
        # with no callback run, twice in a row.
        idle = 0
        while idle < 2:
            seen = self._signals_seen
            message = dbus.process()
            if message.is_signal(b"org.freedesktop.DBus.Local", b"Disconnected"):
                raise BusUnavailable("the bus closed the connection")
            idle = idle + 1 if message.is_empty() and self._signals_seen == seen else 0

    def _on_signal(self, message: Any) -> None:
        # Runs inside dbus.process(); an exception here would be swallowed by pystemd.
        self._signals_seen += 1
        try:
            message.process_reply(True)
            member = message.headers["Member"].decode()
            path = message.headers["Path"]
            signal = Signal(member=member, path=path, body=message.body)
            if member == "JobRemoved":
                self._finish_job(signal)
            self._received.append(signal)
        except Exception:  # a malformed signal must not stop the thread
            return

    def _finish_job(self, signal: Signal) -> None:
        _job_id, job_path, _unit, result = signal.body
        finished = self._jobs.pop(job_path, None)
        if finished is not None:
            finished.set_result(result.decode())

    def _run_work(self, calls: SystemdCalls) -> bool:
        ran = False
        while True:
            try:
                work, done = self._work.get_nowait()
            except queue.Empty:
                return ran
            ran = True
            if not done.set_running_or_notify_cancel():
                continue
            try:
                done.set_result(work(calls))
            except BaseException as exc:
                done.set_exception(exc)
                if is_connection_error(exc):
                    raise BusUnavailable(describe_dbus_error(exc)) from exc

    def _fail_pending(self, exc: BusUnavailable) -> None:
        for finished in self._jobs.values():
            finished.set_exception(exc)
        self._jobs.clear()
        while True:
            try:
                _work, done = self._work.get_nowait()
            except queue.Empty:
                break
            if done.set_running_or_notify_cancel():
                done.set_exception(exc)

    def _down(self, what: str, exc: BaseException, retry: float, reason: str | None = None) -> None:
        reason = reason or describe_dbus_error(exc)
        detail = f"{what} systemd on {self.host.label} ({reason}); reconnecting in {retry:g} s"
        self._client.status(ConnectionStatus(connected=False, detail=detail))


def missing_bridge(host: Host) -> str | None:
    """For a host whose bus is reached through a remote bridge command (ssh … systemd-stdio-
    bridge): words saying the bridge is missing there, when it is; None otherwise (it is
    there, or the host could not be asked — the SSH connection's state says why)."""
    if not host.bus_bridge:
        return None
    try:
        done = subprocess.run(
            host.argv("command", "-v", host.bus_bridge),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=BRIDGE_PROBE_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode in (1, 127):  # the shell did not find it
        return f"{host.bus_bridge} is missing on {host.label}; it comes with systemd"
    return None


def describe_dbus_error(exc: BaseException) -> str:
    """A D-Bus error in words: its message, or the errno's description. The message is the
    far end's (a remote host's systemd, or whatever answers on its bus): made safe here, where
    it enters, like any outside text."""
    if isinstance(exc, DBusBaseError):
        message = exc.err_message
        text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
        if not text or text.startswith(PYSTEMD_OWN_MESSAGES):
            # pystemd's own words ("Could not open a bus to DBus") hide the reason: the errno.
            reason = os.strerror(-exc.errno)
            text = f"{text}: {reason}" if text else reason
        return clean_line(text, max_chars=MAX_DBUS_ERROR_CHARS)
    return clean_line(str(exc), max_chars=MAX_DBUS_ERROR_CHARS)
