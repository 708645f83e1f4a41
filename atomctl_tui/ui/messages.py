"""Messages the widgets receive, from the backends' listeners or from each other, in one place
so the conversation is easy to follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.health.monitor import HealthReport
from atomctl_tui.journal.focus import FocusRequest
from atomctl_tui.journal.follower import FollowerStatus
from atomctl_tui.journal.watch import JournalBatch
from atomctl_tui.journal.worker_activity import ActivitySnapshot
from atomctl_tui.remote.ssh_link import LinkStatus
from atomctl_tui.systemd.units import UnitsUpdate

if TYPE_CHECKING:  # AtoM's database (pymysql) is imported when its view first opens
    from atomctl_tui.atom_db.watch import JobsSnapshot


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
class JournalEntriesArrived(Message, bubble=False):
    """A batch of journal lines (one about every 50 ms while lines flow); posted from the
    journal watch's thread. Its ``taken()`` once they are in lets the watch read on."""

    batch: JournalBatch


@dataclass
class JournalFollowerChanged(Message, bubble=False):
    """A journal follower's state: following, or why not and when it tries again."""

    status: FollowerStatus
    host_label: str | None = None


@dataclass
class JournalFocusRequested(Message, bubble=False):
    """A unit's journal asked for, or an action ended on a unit; from the ``JournalFocus``."""

    request: FocusRequest


@dataclass
class HealthReported(Message, bubble=False):
    """A new assessment of the console's health; posted from the health monitor's thread."""

    report: HealthReport


@dataclass
class WorkerActivityChanged(Message, bubble=False):
    """What a host's workers are doing, from its journal; posted from the journal's thread."""

    snapshot: ActivitySnapshot


@dataclass
class AtomJobsPolled(Message, bubble=False):
    """One poll of a host's AtoM jobs; posted from its jobs watch's thread."""

    snapshot: JobsSnapshot
    host_label: str
