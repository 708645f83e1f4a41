"""The Job server pane: each job server, reachable or not, and up since gearmand started.

It listens to the console's ``JobServersWatch`` (the polls run there, off the UI thread);
`r` asks the watch for a poll now, anywhere in the pane (the unit's restart is `R`). With
remote hosts the pane starts with one line per host saying how its connections are, and has
the job server unit's line for each host.
"""

from __future__ import annotations

import statistics
import time
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
from atomctl_tui.ui.job_server.unit_line import JobServerUnit
from atomctl_tui.ui.messages import JobServersPolled
from atomctl_tui.ui.widgets.pane import Pane

RTT_POLLS = 10


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
        self._shape: tuple[int, ...] = ()
        self._text = Text()
        self._round_trips: dict[str, deque[float]] = {}  # per server, the last RTT_POLLS
        self._server_hosts = server_hosts(fleet, fleet.gearman_targets(settings))
        """The host each watched server runs on, where the console can tell."""

    def compose(self) -> ComposeResult:
        fleet = self.fleet
        with VerticalScroll(id="job-server-scroll"):
            if any(member.link is not None for member in fleet.members):
                yield HostsStatus(fleet, id="hosts-status")
            yield Static(Text("Polling the job servers…"), id="job-server-state")
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
        self.state_view = self.query_one("#job-server-state", Static)
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
        text = self.render_state(snapshots)
        if text == self._text:
            return  # a quiet poll: no repaint at all
        self._text = text
        # A new layout only when the text's shape changes: laying out the whole screen for a
        # new digit would cost more than all the rest of a poll.
        shape = tuple(len(line) for line in text.plain.split("\n"))
        self.state_view.update(text, layout=shape != self._shape)
        self._shape = shape

    def round_trip(self, server: str) -> str:
        """The median of the last polls' round trips: steadier to read than one, and the
        pane is not repainted every second for a jitter of a few microseconds."""
        rtts = self._round_trips.get(server)
        return f"{statistics.median(rtts) * 1000:.1f} ms" if rtts else "?"

    def render_state(self, snapshots: tuple[ServerSnapshot, ...]) -> Text:
        text = Text()
        for snapshot in snapshots:
            since = _moment(snapshot.since, snapshot.polled_at)
            # Five lines per server: what fits the pane at 80x24.
            if snapshot.reachable:
                # gearmand's own start, read on its host; "?" where no host the console
                # reaches runs it.
                started = snapshot.started
                up_since = "?" if started is None else _moment(started, snapshot.polled_at)
                text.append("● ", style="bold green")
                text.append(f"{snapshot.server}\n", style="bold")
                text.append(f"  up since {up_since}\n")
                text.append(f"  gearmand {snapshot.version} pid {snapshot.pid}\n")
                workers = len(snapshot.worker_connections)
                rtt = self.round_trip(snapshot.server)
                text.append(f"  {workers} worker{'s' if workers != 1 else ''} · rtt {rtt}\n")
                text.append(
                    f"  {snapshot.total} queued · {snapshot.running} run · "
                    f"{snapshot.waiting} wait\n"
                )
                if snapshot.malformed:
                    text.append(f"  {snapshot.malformed} unreadable lines skipped\n", "yellow")
                if snapshot.functions_left_out:
                    text.append(
                        f"  {snapshot.functions_left_out:,} least busy functions not listed\n",
                        "yellow",
                    )
            else:
                text.append("✖ ", style="bold red")
                text.append(f"{snapshot.server}\n", style="bold")
                text.append(f"  UNREACHABLE since {since}\n", style="bold red")
                text.append(f"  {snapshot.error}\n")
        text.append(f"servers from {self.settings.servers_source}\n", style="dim")
        for warning in self.settings.warnings:
            text.append(f"⚠ {warning}\n", style="yellow")
        text.rstrip()
        return text


def _moment(when: float, now: float) -> str:
    """A time of day, with the date once it is not within the last day."""
    shape = "%H:%M:%S" if now - when < 86400 else "%Y-%m-%d %H:%M"
    return time.strftime(shape, time.localtime(when))
