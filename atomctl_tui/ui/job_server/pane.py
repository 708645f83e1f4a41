"""The Job server pane: each job server, reachable or not, and up since gearmand started.

It listens to the console's ``JobServersWatch`` (the polls run there, off the UI thread);
`r` asks the watch for a poll now, anywhere in the pane (the unit's restart is `R`). With
remote hosts the pane starts with one line per host saying how its connections are, and has
the job server unit's line for each host.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from atomctl_tui.config import Settings
from atomctl_tui.fleet import Fleet
from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.gearman.watch import JobServersWatch
from atomctl_tui.health.sources import server_hosts
from atomctl_tui.journal.focus import JournalFocus
from atomctl_tui.ui.job_server.hosts_status import HostsStatus
from atomctl_tui.ui.job_server.server_block import ServerBlock
from atomctl_tui.ui.job_server.unit_line import JobServerUnit
from atomctl_tui.ui.messages import JobServersPolled
from atomctl_tui.ui.widgets.pane import Pane

RTT_POLLS = 10
POLLING = "Polling the job servers…"
RTT_STEADY = 0.25
"""The round trip shown changes when the median moves by more than this share of it."""


class JobServerPane(Pane, can_focus=False):
    PANE_TITLE = "Job server"
    BINDINGS = [
        Binding("r", "poll_now", "Poll now", id="job_server.poll_now"),
    ]

    def __init__(
        self,
        fleet: Fleet,
        settings: Settings,
        job_servers: JobServersWatch,
        journal_focus: JournalFocus,
        *,
        read_only: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.fleet = fleet
        self.settings = settings
        self.job_servers = job_servers
        self.journal_focus = journal_focus
        self.read_only = read_only
        self.snapshots: tuple[ServerSnapshot, ...] = ()
        self._unsubscribe: Callable[[], None] | None = None
        self._round_trips: dict[str, deque[float]] = {}  # per server, the last RTT_POLLS
        self._shown_round_trips: dict[str, float] = {}
        self._blocks: dict[str, ServerBlock] = {}
        self.polling_line = Static(Text(POLLING), id="job-server-polling")
        self.source_line = Static(self.source_text(), id="job-server-source")
        self._server_hosts = server_hosts(fleet, fleet.gearman_targets(settings))
        """The host each watched server runs on, where the console can tell."""

    def compose(self) -> ComposeResult:
        fleet = self.fleet
        with VerticalScroll(id="job-server-scroll"):
            if any(member.link is not None for member in fleet.members):
                yield HostsStatus(fleet, id="hosts-status")
            yield self.polling_line
            # Each server's lines (ServerBlock) come here, before this line, at the first poll.
            yield self.source_line
            if fleet.several:
                # Scrolled with the rest: at 80x24 the pane is a few rows high. Focusing one
                # (tab) brings it into view.
                for index, label in enumerate(fleet.labels):
                    yield self._unit_line(label, id=f"job-server-unit-{index}")
        if not fleet.several:
            yield self._unit_line(None, id="job-server-unit")

    def _unit_line(self, host_label: str | None, *, id: str) -> JobServerUnit:
        member = self.fleet.member(host_label)
        units = member.units
        return JobServerUnit(
            units,
            units.actions(self.settings.unit_patterns),
            self.journal_focus,
            host_label=host_label,
            servers=[s for s, label in self._server_hosts.items() if label == member.label],
            read_only=self.read_only,
            id=id,
        )

    def on_mount(self) -> None:
        super().on_mount()
        self._unsubscribe = self.job_servers.subscribe(
            lambda snapshots: self.post_message(JobServersPolled(snapshots))
        )

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def action_poll_now(self) -> None:
        self.job_servers.poll_now()

    def on_job_servers_polled(self, message: JobServersPolled) -> None:
        self.show(message.snapshots)

    def show(self, snapshots: tuple[ServerSnapshot, ...]) -> None:
        self.snapshots = snapshots
        for snapshot in snapshots:
            if snapshot.rtt is not None:
                rtts = self._round_trips.setdefault(snapshot.server, deque(maxlen=RTT_POLLS))
                rtts.append(snapshot.rtt)
        if [s.server for s in snapshots] != list(self._blocks):
            self._mount_blocks(snapshots)
            return
        for snapshot in snapshots:
            self._blocks[snapshot.server].show(snapshot, self.round_trip(snapshot.server))

    def _mount_blocks(self, snapshots: tuple[ServerSnapshot, ...]) -> None:
        """A block per server, in the servers' order (the first poll; the servers do not
        change afterwards)."""
        for block in self._blocks.values():
            block.remove()
        self._blocks = {
            snapshot.server: ServerBlock(snapshot, self.round_trip(snapshot.server))
            for snapshot in snapshots
        }
        self.polling_line.display = False
        self.query_one("#job-server-scroll", VerticalScroll).mount_all(
            self._blocks.values(), before=self.source_line
        )

    def round_trip(self, server: str) -> str:
        """The median of the last polls' round trips, kept while it moves by less than
        ``RTT_STEADY``: steadier to read than each poll's, and a fleet's pane is not
        repainted every second for a jitter of a few microseconds."""
        rtts = self._round_trips.get(server)
        if not rtts:
            return "?"
        median = statistics.median(rtts)
        shown = self._shown_round_trips.get(server)
        if shown is None or abs(median - shown) > RTT_STEADY * shown:
            self._shown_round_trips[server] = shown = median
        return f"{shown * 1000:.1f} ms"

    def shown_text(self) -> str:
        """The pane's server lines and where they come from, as on screen."""
        if not self._blocks:
            return POLLING
        texts = [block.text for block in self._blocks.values()] + [self.source_text()]
        return "\n".join(text.plain for text in texts)

    def source_text(self) -> Text:
        text = Text(f"servers from {self.settings.servers_source}", style="dim")
        for warning in self.settings.warnings:
            text.append(f"\n⚠ {warning}", style="yellow")
        return text
