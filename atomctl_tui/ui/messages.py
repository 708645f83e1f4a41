"""Messages the panes send each other, in one place so the conversation is easy to follow."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.journal.entries import JournalEntry
from atomctl_tui.journal.follower import FollowerStatus
from atomctl_tui.remote.ssh_link import LinkStatus
from atomctl_tui.systemd.units import UnitsUpdate


@dataclass
class ShowUnitJournal(Message):
    """Scope the Journal pane to one unit, or back to all workers when ``unit`` is None."""

    unit: str | None
    host_label: str | None = None


@dataclass
class UnitActionFinished(Message):
    """A systemd action on a unit has ended; the Journal pane then shows that unit's lines."""

    unit: str
    action: str
    result: str
    host_label: str | None = None


@dataclass
class JobServersPolled(Message, bubble=False):
    """One poll of every job server; posted from the Gearman watch's thread to each widget."""

    snapshots: tuple[ServerSnapshot, ...]


@dataclass
class UnitsChanged(Message, bubble=False):
    """systemd's latest word on the watched units; posted from the bus thread to each widget."""

    update: UnitsUpdate
    host_label: str | None = None


@dataclass
class HostLinkChanged(Message, bubble=False):
    """A remote host's SSH connection changed state; posted from its supervisor thread."""

    host_label: str
    status: LinkStatus


@dataclass
class JournalEntriesArrived(Message):
    """A batch of journal lines from the follower (one about every 50 ms while lines flow)."""

    entries: list[JournalEntry]


@dataclass
class JournalFollowerChanged(Message):
    """A journal follower's state: following, or why not and when it tries again."""

    status: FollowerStatus
    host_label: str | None = None
