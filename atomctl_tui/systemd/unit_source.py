"""What the console needs of a host's units, wherever the bus that watches them lives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from atomctl_tui.remote.hosts import Host
from atomctl_tui.systemd.units import Listener, UnitState

if TYPE_CHECKING:
    from atomctl_tui.systemd.actions import UnitActions


class UnitSource(Protocol):
    """A host's units: ``UnitWatch`` (its bus in this process) or ``ProcessUnitWatch`` (its bus
    in a child process). Listeners are called with everything now, then with each update."""

    @property
    def host(self) -> Host: ...

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Returns the listener's unsubscribe."""
        ...

    def snapshot(self) -> dict[str, UnitState]: ...

    def templates(self) -> tuple[str, ...]: ...

    def actions(
        self, worker_patterns: Sequence[str], *, user: str | None = None
    ) -> UnitActions: ...
