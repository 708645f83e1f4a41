"""A host's units, as a captured moment has them: a ``UnitSource`` that never reaches systemd."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

from atomctl_tui.remote.hosts import Host
from atomctl_tui.systemd.actions import Action, Outcome, UnitActions
from atomctl_tui.systemd.bus import ConnectionStatus
from atomctl_tui.systemd.units import Listener, UnitState, UnitsUpdate


class RefusingUnitActions(UnitActions):
    """The actions on a fake host: each is recorded in its source's ``performed`` and refused
    in words; nothing is sent anywhere (``UnitActions`` reaches a bus only through a real
    ``UnitWatch``)."""

    watch: FakeUnitSource

    def perform(self, action: Action, units: Sequence[str]) -> list[Outcome]:
        self.watch.record(action, units)
        return [
            Outcome(unit, action, "refused", f"{action} {unit}: refused, a fake host")
            for unit in units
        ] or [Outcome("", action, "refused", f"{action}: refused, a fake host")]


class FakeUnitSource:
    """``host``'s units: listeners get them all at once (connected, listed), then what
    ``update()`` says. Unlike a ``UnitWatch``, listeners are called on the caller's thread."""

    def __init__(
        self,
        host: Host,
        units: Mapping[str, UnitState],
        *,
        templates: Iterable[str] = (),
        status: ConnectionStatus | None = None,
    ) -> None:
        self.host = host
        self._lock = threading.RLock()
        self._units = dict(units)
        self._templates = tuple(templates)
        self._status = status or ConnectionStatus(True)
        self._listeners: list[Listener] = []
        self.performed: list[tuple[Action, tuple[str, ...]]] = []
        """Every action asked of this host, in order (none was done)."""

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._listeners)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            listener(
                UnitsUpdate(
                    changed=dict(self._units),
                    status=self._status,
                    templates=self._templates,
                    listed=True,
                )
            )
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def snapshot(self) -> dict[str, UnitState]:
        with self._lock:
            return dict(self._units)

    def templates(self) -> tuple[str, ...]:
        with self._lock:
            return self._templates

    def actions(
        self, worker_patterns: Sequence[str], *, user: str | None = None
    ) -> RefusingUnitActions:
        return RefusingUnitActions(self, worker_patterns, user=user)

    def update(
        self,
        changed: Mapping[str, UnitState] | None = None,
        removed: Iterable[str] = (),
        *,
        status: ConnectionStatus | None = None,
    ) -> None:
        """Tell every listener what changed (as systemd's signals would)."""
        with self._lock:
            gone = frozenset(removed)
            for name in gone:
                self._units.pop(name, None)
            self._units.update(changed or {})
            if status is not None:
                self._status = status
            news = UnitsUpdate(changed=dict(changed or {}), removed=gone, status=status)
            for listener in list(self._listeners):
                listener(news)

    def record(self, action: Action, units: Sequence[str]) -> None:
        with self._lock:
            self.performed.append((action, tuple(units)))
