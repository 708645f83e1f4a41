"""Acting on units through systemd's D-Bus API, with outcomes and errors in words.

Start, stop and restart queue a job (mode ``replace``) and wait for its JobRemoved result
(done, failed, timeout, canceled, dependency, skipped). Enable and disable change the unit
files and then Reload systemd, like ``systemctl enable`` does; UnitFileState is re-read after
that, since no signal carries it. Every outcome is written to the host's journal (``audit``).

Everything here blocks: call it from a thread, never from the UI's event loop.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from pystemd.dbusexc import (
    DBusAccessDeniedError,
    DBusBaseError,
    DBusInteractiveAuthorizationRequiredError,
    DBusNoReplyError,
    DBusNoSuchUnitError,
    DBusTimedOutError,
    DBusTimeoutError,
)

from atomctl_tui.systemd import audit
from atomctl_tui.systemd.bus import (
    BusUnavailable,
    ReadOnlyError,
    SystemdCalls,
    describe_dbus_error,
)
from atomctl_tui.systemd.units import UnitsUpdate, UnitWatch, is_template, matches

if TYPE_CHECKING:
    from atomctl_tui.systemd.unit_source import UnitSource

T = TypeVar("T")

CALL_TIMEOUT_SECONDS = 60  # a Reload on a busy host can take a while
JOB_TIMEOUT_SECONDS = 300  # longer than systemd's default stop timeout (90 s) plus a restart


class Action(StrEnum):
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    ENABLE = "enable"
    DISABLE = "disable"
    RESET_FAILED = "reset-failed"
    ADD_WORKER = "add-worker"
    REMOVE_WORKER = "remove-worker"


def action_named(name: str) -> Action:
    """The action a key binding names: ``reset_failed`` for ``reset-failed`` (binding
    arguments are identifiers)."""
    return Action(name.replace("_", "-"))


JOB_METHODS = {
    Action.START: b"StartUnit",
    Action.STOP: b"StopUnit",
    Action.RESTART: b"RestartUnit",
}
# Asked for confirmation first (and so is any action on several units).
CONFIRMED_ACTIONS = frozenset({Action.STOP, Action.RESTART, Action.DISABLE, Action.REMOVE_WORKER})

NOT_CONNECTED = "not-connected"  # an outcome's result: refused, nothing was sent

POLKIT_HINT = (
    "run atomctl-tui as root (sudo), or allow your user with a polkit rule for"
    " org.freedesktop.systemd1.manage-units limited to the atom-worker units (see the README)"
)


class NotConnected(Exception):
    """Refused before anything was sent: the host, or its systemd, is not connected now.
    Never queued for later: an action runs now or not at all. The message says why."""


def not_connected_words(host_label: str, why: str) -> str:
    """``lab-b is not connected: nothing was sent (why)``."""
    return f"{host_label} is not connected: nothing was sent ({why})"


class ConnectionGuard:
    """Which connection of a ``UnitWatch``'s bus is up, from the watch's updates (``take``).

    The bus runs submitted work whenever it is next connected: work asked for while it was
    down would run after the reconnection, unseen. Work pinned here (``pin``) runs on the
    connection that was up when it was asked for, or not at all. The bus tells its watch of
    each new connection before it runs any work on it, on its own thread, so the check is
    exact.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connected = False
        self._why = "not connected to systemd yet"
        self._connection = 0  # counts the connections made

    def take(self, update: UnitsUpdate) -> None:
        status = update.status
        if status is None:
            return
        with self._lock:
            if status.connected and not self._connected:
                self._connection += 1
            self._connected = status.connected
            self._why = status.detail or "not connected to systemd"

    def pin(self) -> PinnedConnection:
        """The connection up now (when the action is asked for)."""
        with self._lock:
            return PinnedConnection(self, self._connection if self._connected else None)

    def check(self, connection: int | None) -> None:
        """Raises ``NotConnected`` unless ``connection`` is the one up now."""
        with self._lock:
            if not self._connected:
                raise NotConnected(self._why)
            if connection is None or connection != self._connection:
                raise NotConnected("the connection to systemd was lost, and made again since")


@dataclass(frozen=True)
class PinnedConnection:
    guard: ConnectionGuard
    connection: int | None  # None: none was up

    def check(self) -> None:
        self.guard.check(self.connection)


@dataclass(frozen=True)
class Outcome:
    unit: str
    action: Action
    result: str  # systemd's job result, "done", or what went wrong (access-denied, …)
    message: str  # for the notification, in words
    audit_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.result == "done"


class UnitActions:
    """Actions on the units of ``watch``'s host, through its one bus connection.

    ``watch`` is a ``UnitWatch`` here. A ``ProcessUnitWatch``'s actions are performed by its
    child: ``ProcessUnitActions`` replaces ``perform`` and keeps only what reads the watch.
    """

    def __init__(
        self,
        watch: UnitSource,
        worker_patterns: Sequence[str],
        *,
        user: str | None = None,
        pinned: PinnedConnection | None = None,
    ) -> None:
        """``pinned``: send calls on that connection only; refuse them (``NotConnected``)
        once it is gone."""
        self.watch = watch
        self.worker_patterns = tuple(worker_patterns)
        self.user = user
        self.pinned = pinned

    def connection_trouble(self) -> str | None:
        """Why nothing could be sent to the host now, in words; None when it is connected,
        or when that is not known here (``ProcessUnitActions`` knows)."""
        return None

    def perform(self, action: Action, units: Sequence[str]) -> list[Outcome]:
        """Do ``action`` on each unit; one audited outcome per unit."""
        if action is Action.ADD_WORKER:
            outcomes = [self._add_worker()]
        elif action in JOB_METHODS:
            outcomes = self._jobs(action, JOB_METHODS[action], units)
        elif action in (Action.ENABLE, Action.DISABLE):
            outcomes = self._unit_files(action, units)
        elif action is Action.RESET_FAILED:
            outcomes = [self._reset_failed(unit) for unit in units]
        else:
            outcomes = self._remove_workers(units)
        return [self._audited(outcome) for outcome in outcomes]

    def next_worker(self) -> str | None:
        """The first free instance of the worker template (``atom-worker@N.service``)."""
        templates = [t for t in self.watch.templates() if matches(t, self.worker_patterns)]
        if not templates:
            return None
        prefix = templates[0].removesuffix(".service")  # "atom-worker@"
        number = re.compile(re.escape(prefix) + r"(\d+)\.service")
        taken = {
            int(found.group(1))
            for name in self.watch.snapshot()
            if (found := number.fullmatch(name))
        }
        free = next(n for n in range(1, len(taken) + 2) if n not in taken)
        return f"{prefix}{free}.service"

    def running_workers(self) -> list[str]:
        """Worker units with a process (what "restart all" restarts)."""
        return sorted(
            name
            for name, state in self.watch.snapshot().items()
            if matches(name, self.worker_patterns)
            and not is_template(name)
            and state.active_state in ("active", "activating", "reloading")
        )

    # --- the actions ---

    def _jobs(self, action: Action, method: bytes, units: Sequence[str]) -> list[Outcome]:
        def queue_job(unit: str) -> Future[Future[str]]:
            return self._submit(lambda calls: calls.start_job(method, unit))

        # All jobs are queued first, then awaited: restarting ten workers takes one restart.
        queued = [(unit, queue_job(unit)) for unit in units]
        return [self._job_outcome(action, unit, job) for unit, job in queued]

    def _job_outcome(self, action: Action, unit: str, job: Future[Future[str]]) -> Outcome:
        try:
            result = _wait(_wait(job, CALL_TIMEOUT_SECONDS), JOB_TIMEOUT_SECONDS)
        except Exception as exc:
            return self._failure(action, unit, exc)
        return self._job_result(action, unit, result)

    def _job_result(self, action: Action, unit: str, result: str) -> Outcome:
        if result == "done":
            return Outcome(unit, action, result, f"{action} {unit}: done")
        # Read the unit now: its Result and exit status say why.
        try:
            self._call(lambda c: self._bus_watch().refresh(c, [unit]))
        except Exception as exc:
            return self._failure(action, unit, exc)
        state = self.watch.snapshot().get(unit)
        why = ""
        if state is not None and state.result not in ("", "success"):
            status = f", exit status {state.exit_status}" if state.exit_status else ""
            why = f" ({state.result}{status})"
        hint = ""
        if state is not None and state.result == "start-limit-hit":
            hint = "; reset-failed clears the start limit"
        return Outcome(unit, action, result, f"{action} {unit}: {result}{why}{hint}")

    def _unit_files(self, action: Action, units: Sequence[str]) -> list[Outcome]:
        def change(calls: SystemdCalls) -> None:
            names = [unit.encode() for unit in units]
            if action is Action.ENABLE:
                calls.manager(b"EnableUnitFiles", b"asbb", names, False, False)
            else:
                calls.manager(b"DisableUnitFiles", b"asb", names, False)
            calls.manager(b"Reload")
            self._bus_watch().refresh(calls, units)

        try:
            self._call(change)
        except Exception as exc:
            return [self._failure(action, unit, exc) for unit in units]
        return [Outcome(unit, action, "done", f"{action} {unit}: done") for unit in units]

    def _reset_failed(self, unit: str) -> Outcome:
        def reset(calls: SystemdCalls) -> None:
            calls.manager(b"ResetFailedUnit", b"s", unit.encode())
            self._bus_watch().refresh(calls, [unit])

        try:
            self._call(reset)
        except Exception as exc:
            return self._failure(Action.RESET_FAILED, unit, exc)
        return Outcome(unit, Action.RESET_FAILED, "done", f"reset-failed {unit}: done")

    def _add_worker(self) -> Outcome:
        unit = self.next_worker()
        if unit is None:
            patterns = ", ".join(self.worker_patterns)
            return Outcome(
                "",
                Action.ADD_WORKER,
                "no-template",
                f"add-worker: no template unit installed among {patterns}"
                " (e.g. atom-worker@.service), so there is no instance to add",
            )
        enabled = self._unit_files(Action.ENABLE, [unit])[0]
        if not enabled.ok:
            return Outcome(unit, Action.ADD_WORKER, enabled.result, enabled.message)
        started = self._jobs(Action.START, JOB_METHODS[Action.START], [unit])[0]
        message = f"add-worker {unit}: {'done' if started.ok else started.message}"
        return Outcome(unit, Action.ADD_WORKER, started.result, message)

    def _remove_workers(self, units: Sequence[str]) -> list[Outcome]:
        stopped = self._jobs(Action.STOP, JOB_METHODS[Action.STOP], units)
        outcomes = {o.unit: o for o in stopped if not o.ok}
        disabled = self._unit_files(Action.DISABLE, [o.unit for o in stopped if o.ok])
        outcomes.update({o.unit: o for o in disabled})
        return [
            Outcome(
                unit,
                Action.REMOVE_WORKER,
                outcomes[unit].result,
                f"remove-worker {unit}: {'done' if outcomes[unit].ok else outcomes[unit].message}",
            )
            for unit in units
        ]

    # --- plumbing ---

    def _bus_watch(self) -> UnitWatch:
        if not isinstance(self.watch, UnitWatch):
            raise TypeError(f"{type(self).__name__} acts through a UnitWatch's bus")
        return self.watch

    def _submit(self, work: Callable[[SystemdCalls], T]) -> Future[T]:
        bus = self._bus_watch().bus
        failed: Future[T] = Future()
        if bus is None:
            failed.set_exception(BusUnavailable("the console is not connected to systemd"))
            return failed
        pinned = self.pinned
        if pinned is None:
            return bus.submit(work)
        try:
            pinned.check()
        except NotConnected as exc:
            failed.set_exception(exc)
            return failed

        def on_the_same_connection(calls: SystemdCalls) -> T:
            pinned.check()  # on the bus thread, just before anything is sent
            return work(calls)

        return bus.submit(on_the_same_connection)

    def _call(self, work: Callable[[SystemdCalls], T]) -> T:
        return _wait(self._submit(work), CALL_TIMEOUT_SECONDS)

    def _failure(self, action: Action, unit: str, exc: BaseException) -> Outcome:
        result, message = describe_failure(exc, action, unit, self.watch.host.label)
        return Outcome(unit, action, result, message)

    def _audited(self, outcome: Outcome) -> Outcome:
        if not outcome.unit or outcome.result == NOT_CONNECTED:
            return outcome  # nothing was acted on
        try:
            audit.record(
                self.watch.host, outcome.unit, outcome.action, outcome.result, user=self.user
            )
        except audit.AuditError as exc:
            return Outcome(outcome.unit, outcome.action, outcome.result, outcome.message, str(exc))
        return outcome


def _wait(future: Future[T], timeout: float) -> T:
    try:
        return future.result(timeout=timeout)
    except FutureTimeout as exc:
        raise TimeoutError(f"no answer from systemd within {timeout:.0f} s") from exc


def describe_failure(
    exc: BaseException, action: str, unit: str, host_label: str
) -> tuple[str, str]:
    """(result, message): why ``action`` on ``unit`` did not happen, and what to do."""
    if isinstance(exc, DBusAccessDeniedError | DBusInteractiveAuthorizationRequiredError):
        return "access-denied", f"Not allowed to {action} {unit} on {host_label}: {POLKIT_HINT}."
    if isinstance(exc, DBusNoSuchUnitError):
        return "no-such-unit", f"{action} {unit}: no such unit on {host_label}; nothing changed."
    if isinstance(exc, NotConnected):
        return NOT_CONNECTED, f"{action} {unit}: {not_connected_words(host_label, str(exc))}."
    if isinstance(exc, ReadOnlyError):
        return "read-only", f"{action} {unit}: refused, the console runs read-only."
    if isinstance(exc, BusUnavailable):
        return "disconnected", (
            f"{action} {unit}: the connection to systemd on {host_label} was lost ({exc});"
            " reconnecting. Check the unit's state once it is back."
        )
    if isinstance(exc, TimeoutError | DBusTimedOutError | DBusTimeoutError | DBusNoReplyError):
        return "timeout", f"{action} {unit}: systemd on {host_label} did not answer in time."
    if isinstance(exc, DBusBaseError):
        return "error", f"{action} {unit} failed on {host_label}: {describe_dbus_error(exc)}."
    return "error", f"{action} {unit} failed: {exc}."
