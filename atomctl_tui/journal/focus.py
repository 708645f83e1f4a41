"""What the Journal pane shows next: "this unit's journal", asked by the Workers pane or the
Health view, and "an action ended on this unit", told by the unit-action flow.

Whoever knows tells the ``JournalFocus``; whoever shows the journal listens. Listeners are
called on the teller's thread and must return quickly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ShowUnitJournal:
    """One unit's lines, or all workers' when ``unit`` is None; ``host_label``: the unit's
    host (None: the console's only host, or every host when ``unit`` is None)."""

    unit: str | None
    host_label: str | None = None


@dataclass(frozen=True)
class UnitActionFinished:
    """A systemd action on ``unit`` has ended: its lines are what to read next."""

    unit: str
    action: str
    result: str
    host_label: str | None = None


FocusRequest = ShowUnitJournal | UnitActionFinished
Listener = Callable[[FocusRequest], object]


class JournalFocus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with each request from now on; returns unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def show(self, unit: str | None, host_label: str | None = None) -> None:
        self._tell(ShowUnitJournal(unit, host_label))

    def action_finished(
        self, unit: str, action: str, result: str, host_label: str | None = None
    ) -> None:
        self._tell(UnitActionFinished(unit, action, result, host_label))

    def _tell(self, request: FocusRequest) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(request)
