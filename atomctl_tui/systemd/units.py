"""The worker units (and the job server's unit) as systemd sees them, kept current by its signals.

Pushed, not polled: after one listing, systemd's PropertiesChanged, JobRemoved, UnitNew,
UnitRemoved, UnitFilesChanged and Reloading signals drive every update; a slow resync
(``DEFAULT_RESYNC_SECONDS``) only catches what signals never carry (MemoryCurrent, CPU time).

Properties are only read from units systemd lists as loaded: reading a unit object that is not
loaded makes systemd load it (and then garbage-collect it, sending UnitNew/UnitRemoved), which
is how consoles end up in load loops. Installed unit files that are not loaded come from
ListUnitFilesByPatterns, which loads nothing.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pystemd.dbusexc import DBusBaseError
from pystemd.dbuslib import path_decode

from atomctl_tui.remote.hosts import Host
from atomctl_tui.systemd.bus import (
    CONNECTING,
    DEFAULT_RESYNC_SECONDS,
    SERVICE,
    UNIT,
    BusClient,
    ConnectionStatus,
    Signal,
    SystemdBus,
    SystemdCalls,
    is_connection_error,
)

if TYPE_CHECKING:
    from atomctl_tui.systemd.actions import UnitActions

NOT_LOADED = "not-loaded"  # our LoadState for an installed unit file systemd has not loaded
UNIT_PATH_PREFIX = b"/org/freedesktop/systemd1/unit"
UNSET_U64 = 2**64 - 1  # systemd's "no value" for MemoryCurrent, CPUUsageNSec
DETAILS_PER_SLICE = 10  # units read between two looks at the bus, so signals never wait long

# D-Bus property → (UnitState field, signature), per interface.
UNIT_PROPERTIES: dict[bytes, tuple[str, bytes]] = {
    b"LoadState": ("load_state", b"s"),
    b"ActiveState": ("active_state", b"s"),
    b"SubState": ("sub_state", b"s"),
    b"UnitFileState": ("unit_file_state", b"s"),
    b"ActiveEnterTimestamp": ("active_since_us", b"t"),
    b"StateChangeTimestamp": ("state_since_us", b"t"),
    b"StartLimitBurst": ("start_limit_burst", b"u"),
    b"StartLimitIntervalUSec": ("start_limit_interval_us", b"t"),
}
# Read with the details, not in the listing (no signal carries them but a reload's resync).
UNIT_DETAIL_PROPERTIES = (
    b"UnitFileState",
    b"ActiveEnterTimestamp",
    b"StateChangeTimestamp",
    b"StartLimitBurst",
    b"StartLimitIntervalUSec",
)
SERVICE_PROPERTIES: dict[bytes, tuple[str, bytes]] = {
    b"MainPID": ("main_pid", b"u"),
    b"NRestarts": ("restarts", b"u"),
    b"MemoryCurrent": ("memory_bytes", b"t"),
    b"CPUUsageNSec": ("cpu_ns", b"t"),
    b"Result": ("result", b"s"),
    b"ExecMainStatus": ("exit_status", b"i"),
    b"Restart": ("restart_policy", b"s"),
}
INTERFACE_PROPERTIES = {UNIT: UNIT_PROPERTIES, SERVICE: SERVICE_PROPERTIES}


@dataclass(frozen=True)
class UnitState:
    """What the console shows of one unit."""

    name: str
    load_state: str = NOT_LOADED
    active_state: str = "inactive"
    sub_state: str = "dead"
    unit_file_state: str = ""
    main_pid: int = 0
    active_since_us: int = 0  # ActiveEnterTimestamp, µs since the epoch; 0 = never
    state_since_us: int = 0  # StateChangeTimestamp: when ActiveState last changed; 0 = never
    restarts: int | None = None
    memory_bytes: int | None = None
    cpu_ns: int | None = None
    result: str = ""
    exit_status: int = 0  # ExecMainStatus of the last main process
    start_limit_burst: int | None = None
    """StartLimitBurst: starts systemd allows within the interval (0: no limit; None: unread)."""
    start_limit_interval_us: int | None = None
    """StartLimitIntervalUSec, µs (0: no limit; None: unread)."""
    restart_policy: str = ""
    """The service's Restart= (no, on-failure, always…; "": unread)."""
    path: bytes = field(default=b"", compare=False)

    @property
    def is_service(self) -> bool:
        return self.name.endswith(".service")

    @property
    def is_loaded(self) -> bool:
        return self.load_state != NOT_LOADED


def with_properties(state: UnitState, properties: dict[bytes, Any], interface: bytes) -> UnitState:
    """``state`` updated from a GetAll-shaped dict (or a PropertiesChanged body)."""
    known = INTERFACE_PROPERTIES.get(interface, {})
    changes: dict[str, Any] = {}
    for prop, value in properties.items():
        if prop in known:
            changes[known[prop][0]] = _python_value(value)
    return replace(state, **changes) if changes else state


def _python_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if value == UNSET_U64:
        return None
    return value


def matches(name: str, patterns: Iterable[str]) -> bool:
    # systemd matches ListUnitsByPatterns with fnmatch() too.
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def is_template(name: str) -> bool:
    return name.endswith("@.service")


@dataclass(frozen=True)
class UnitsUpdate:
    """What changed since the last update: new or changed states, units gone, connection."""

    changed: dict[str, UnitState] = field(default_factory=dict)
    removed: frozenset[str] = frozenset()
    status: ConnectionStatus | None = None
    templates: tuple[str, ...] | None = None  # installed templates (``atom-worker@.service``)
    # The watch has listed every unit: set on the update that ends a listing, and on a
    # listener's first update once there has been one.
    listed: bool = False


Listener = Callable[[UnitsUpdate], object]  # what it returns is ignored (a posted message)


class UnitWatch(BusClient):
    """The units matching ``patterns`` on one host, for any number of listeners.

    The bus thread starts with the first listener and stops with the last. Listeners are
    called on the bus thread (the UI's listener posts a message and returns).
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
        self._names_by_path: dict[bytes, str] = {}
        self._templates: tuple[str, ...] = ()
        self._status = CONNECTING
        self._listeners: list[Listener] = []
        self._needs_details: dict[str, None] = {}  # ordered set
        self._changed: dict[str, UnitState] = {}
        self._removed: set[str] = set()
        self._listed = False
        self.bus: SystemdBus | None = None

    # --- listeners (any thread) ---

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with everything now, then with each update; returns unsubscribe.

        Listeners must return quickly and never call back into the watch.
        """
        with self._lock:
            # Under the lock, so no update from the bus thread can overtake this first one.
            listener(
                UnitsUpdate(
                    changed=dict(self._units),
                    status=self._status,
                    templates=self._templates,
                    listed=self._listed,
                )
            )
            self._listeners.append(listener)
            if self.bus is None:
                self.bus = SystemdBus(
                    self.host, self, read_only=self.read_only, resync_seconds=self._resync_seconds
                )
                self.bus.start()

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
                bus = self.bus if not self._listeners else None
                if bus is not None:
                    self.bus = None
            if bus is not None:
                bus.stop()

        return unsubscribe

    def snapshot(self) -> dict[str, UnitState]:
        with self._lock:
            return dict(self._units)

    def templates(self) -> tuple[str, ...]:
        with self._lock:
            return self._templates

    def actions(self, worker_patterns: Sequence[str], *, user: str | None = None) -> UnitActions:
        """Actions on this host's units, through this watch's bus."""
        from atomctl_tui.systemd.actions import UnitActions  # it imports this module

        return UnitActions(self, worker_patterns, user=user)

    # --- BusClient (the bus thread) ---

    def status(self, status: ConnectionStatus) -> None:
        with self._lock:
            self._status = status
        self._notify(UnitsUpdate(status=status))

    def connected(self, calls: SystemdCalls) -> None:
        self.resync(calls)

    def resync(self, calls: SystemdCalls) -> None:
        """List everything again; details follow in slices (``background``)."""
        loaded = calls.manager(b"ListUnitsByPatterns", b"asas", [], self._pattern_bytes())
        files = calls.manager(b"ListUnitFilesByPatterns", b"asas", [], self._pattern_bytes())
        installed: dict[str, str] = {}
        templates: list[str] = []
        for path, state in files:
            name = path.decode(errors="replace").rsplit("/", 1)[-1]
            if is_template(name):
                templates.append(name)
            else:
                installed[name] = state.decode(errors="replace")
        with self._lock:
            self._templates = tuple(sorted(templates))
            self._listed = True
        seen: set[str] = set()
        for row in loaded:
            name = row[0].decode(errors="replace")
            seen.add(name)
            self._put(self._from_listing(row, installed.get(name)))
            self._needs_details[name] = None
        for name, file_state in installed.items():
            if name not in seen:
                seen.add(name)
                self._put(UnitState(name=name, unit_file_state=file_state))
        for name in set(self._units) - seen:
            self._drop(name)
        self._flush(listed=True)

    def background(self, calls: SystemdCalls) -> bool:
        names = list(self._needs_details)[:DETAILS_PER_SLICE]
        for name in names:
            del self._needs_details[name]
            state = self._units.get(name)
            if state is not None and state.is_loaded:
                self._put(self._read_details(calls, state))
        self._flush()
        return bool(names)

    def signals(self, calls: SystemdCalls, signals: list[Signal]) -> None:
        for signal in signals:
            handler = getattr(self, f"_on_{signal.member}", None)
            if handler is not None:
                handler(calls, signal)
        self._flush()

    # --- reading (the bus thread) ---

    def refresh(self, calls: SystemdCalls, names: Iterable[str]) -> None:
        """Re-read units now, e.g. UnitFileState after enable/disable (no signal carries it)."""
        for name in names:
            self._relist(calls, name)
            state = self._units.get(name)
            if state is not None and state.is_loaded:
                self._put(self._read_details(calls, state))
        self._flush()

    def _read_details(self, calls: SystemdCalls, state: UnitState) -> UnitState:
        values: dict[bytes, Any] = {}
        try:
            for prop in UNIT_DETAIL_PROPERTIES:
                values[prop] = calls.get(state.path, UNIT, prop, UNIT_PROPERTIES[prop][1])
            state = with_properties(state, values, UNIT)
            if state.is_service:
                values = {
                    prop: calls.get(state.path, SERVICE, prop, signature)
                    for prop, (_field, signature) in SERVICE_PROPERTIES.items()
                }
                state = with_properties(state, values, SERVICE)
        except DBusBaseError as exc:
            if is_connection_error(exc):
                raise
            # Gone between listing and reading: the next signal or resync says what it is now.
        return state

    def _relist(self, calls: SystemdCalls, name: str) -> None:
        """Look a unit up without loading it: listed when loaded, else its unit file if any."""
        rows = calls.manager(b"ListUnitsByPatterns", b"asas", [], [_escape_glob(name)])
        previous = self._units.get(name)
        if rows:
            file_state = previous.unit_file_state if previous else ""
            self._put(self._from_listing(rows[0], file_state or self._file_state(calls, name)))
            return
        files = calls.manager(b"ListUnitFilesByPatterns", b"asas", [], [_escape_glob(name)])
        if files:
            self._put(UnitState(name=name, unit_file_state=files[0][1].decode(errors="replace")))
        elif previous is not None:
            self._drop(name)

    def _file_state(self, calls: SystemdCalls, name: str) -> str:
        """UnitFileState from the unit files on disk; unlike the property, this loads nothing."""
        try:
            file_state: bytes = calls.manager(b"GetUnitFileState", b"s", name.encode())
            return file_state.decode(errors="replace")
        except DBusBaseError as exc:
            if is_connection_error(exc):
                raise
            return ""  # no unit file at all (a transient unit, say)

    def _from_listing(self, row: Sequence[Any], file_state: str | None) -> UnitState:
        name = row[0].decode(errors="replace")
        previous = self._units.get(name, UnitState(name=name))
        return replace(
            previous,
            load_state=row[2].decode(errors="replace"),
            active_state=row[3].decode(errors="replace"),
            sub_state=row[4].decode(errors="replace"),
            unit_file_state=file_state if file_state is not None else previous.unit_file_state,
            path=row[6],
        )

    # --- signals (the bus thread) ---

    def _on_PropertiesChanged(self, calls: SystemdCalls, signal: Signal) -> None:
        interface, changed, invalidated = signal.body
        if interface not in INTERFACE_PROPERTIES:
            return
        name = self._name_of(signal.path)
        if name is None:
            return
        state = self._units.get(name)
        if state is None or not state.is_loaded:
            self._relist(calls, name)  # a unit we had not seen loaded yet
            state = self._units.get(name)
            if state is None or not state.is_loaded:
                return
        state = with_properties(state, changed, interface)
        self._put(state)
        if any(prop in INTERFACE_PROPERTIES[interface] for prop in invalidated):
            self._want_details(state)

    def _on_UnitNew(self, calls: SystemdCalls, signal: Signal) -> None:
        name = signal.body[0].decode(errors="replace")
        if matches(name, self.patterns):
            self._relist(calls, name)
            state = self._units.get(name)
            if state is not None:
                self._want_details(state)

    def _on_UnitRemoved(self, calls: SystemdCalls, signal: Signal) -> None:
        name = signal.body[0].decode(errors="replace")
        if name in self._units:
            self._relist(calls, name)  # back to its unit file, or gone

    def _on_JobRemoved(self, calls: SystemdCalls, signal: Signal) -> None:
        # After a job, read the unit again: memory and CPU have no change signal.
        state = self._units.get(signal.body[2].decode(errors="replace"))
        if state is not None:
            self._want_details(state)

    def _on_UnitFilesChanged(self, calls: SystemdCalls, signal: Signal) -> None:
        self.resync(calls)

    def _on_Reloading(self, calls: SystemdCalls, signal: Signal) -> None:
        if not signal.body:  # the reload has finished: unit file states may all have changed
            self.resync(calls)

    def _want_details(self, state: UnitState) -> None:
        # Not for inactive units: one may be a passing load (`systemctl status`), and reading it
        # would load it again, and again. What it does next arrives as PropertiesChanged anyway.
        if state.is_loaded and state.active_state != "inactive":
            self._needs_details[state.name] = None

    def _name_of(self, path: bytes) -> str | None:
        name = self._names_by_path.get(path)
        if name is not None:
            return name
        if not path.startswith(UNIT_PATH_PREFIX + b"/"):
            return None
        name = path_decode(path, UNIT_PATH_PREFIX).decode(errors="replace")
        return name if matches(name, self.patterns) else None

    # --- bookkeeping (the bus thread) ---

    def _pattern_bytes(self) -> list[bytes]:
        return [pattern.encode() for pattern in self.patterns]

    def _put(self, state: UnitState) -> None:
        with self._lock:
            previous = self._units.get(state.name)
            if previous == state and previous.path == state.path:
                return
            self._units[state.name] = state
        if previous is not None and previous.path != state.path:
            self._names_by_path.pop(previous.path, None)
        if state.path:
            self._names_by_path[state.path] = state.name
        self._changed[state.name] = state
        self._removed.discard(state.name)

    def _drop(self, name: str) -> None:
        with self._lock:
            previous = self._units.pop(name, None)
        if previous is not None:
            self._names_by_path.pop(previous.path, None)
        self._changed.pop(name, None)
        self._needs_details.pop(name, None)
        self._removed.add(name)

    def _flush(self, *, listed: bool = False) -> None:
        if not (self._changed or self._removed or listed):
            return
        update = UnitsUpdate(
            changed=self._changed,
            removed=frozenset(self._removed),
            templates=self._templates if listed else None,
            listed=listed,
        )
        self._changed, self._removed = {}, set()
        self._notify(update)

    def _notify(self, update: UnitsUpdate) -> None:
        with self._lock:  # so a new listener's first update is never overtaken
            for listener in self._listeners:
                listener(update)


def _escape_glob(name: str) -> bytes:
    """``name`` as a pattern that matches only itself (instance names may hold ``[``)."""
    escaped = "".join(f"[{c}]" if c in "*?[]" else c for c in name)
    return escaped.encode()
