"""The Job server pane: each job server, reachable or not and since when, and the poll loop.

The pane owns the polling of every job server: one poll at a time (the next starts
`interval` after the previous one started, or right after it when it took longer), in an
asyncio worker so the UI never waits. Each poll feeds this pane, the Queues pane and — as an
app-level GearmanWorkersSeen per reachable server — the Workers pane.

With remote hosts the pane starts with one line per host saying how its connections are,
and has the job server unit's line for each host.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from atomctl_tui.config import Settings
from atomctl_tui.gearman.watch import JobServersWatch, ServerSnapshot, pause_between_polls
from atomctl_tui.ui.health.strip import HealthStrip
from atomctl_tui.ui.job_server.hosts_status import HostsStatus
from atomctl_tui.ui.job_server.unit_line import JobServerUnit
from atomctl_tui.ui.messages import GearmanWorkersSeen
from atomctl_tui.ui.queues.pane import QueuesPane
from atomctl_tui.ui.widgets.pane import Pane

RTT_POLLS = 10


class JobServerPane(Pane, can_focus=False):
    PANE_TITLE = "Job server"
    BINDINGS = [
        Binding("r", "poll_now", "Poll now", id="job_server.poll_now"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshots: tuple[ServerSnapshot, ...] = ()
        self.polls_completed = 0
        self._wake = asyncio.Event()
        self._watch: JobServersWatch | None = None
        self._shape: tuple[int, ...] = ()
        self._text = Text()
        self._round_trips: dict[str, deque[float]] = {}  # per server, the last RTT_POLLS
        self._via: dict[str, str | None] = {}  # per server, the host whose SSH reaches it

    @property
    def settings(self) -> Settings:
        return self.app.settings

    def compose(self) -> ComposeResult:
        fleet = self.app.fleet
        with VerticalScroll(id="job-server-scroll"):
            if any(member.link is not None for member in fleet.members):
                yield HostsStatus(id="hosts-status")
            yield Static(Text("Polling the job servers…"), id="job-server-state")
            if fleet.several:
                # Scrolled with the rest: at 80x24 the pane is a few rows high. Focusing one
                # (tab) brings it into view.
                for index, label in enumerate(fleet.labels):
                    yield JobServerUnit(label, id=f"job-server-unit-{index}")
        if not fleet.several:
            yield JobServerUnit(id="job-server-unit")

    def on_mount(self) -> None:
        super().on_mount()
        self.state_view = self.query_one("#job-server-state", Static)
        targets = self.app.fleet.gearman_targets(self.settings)
        self._via = {target.name: target.via for target in targets}
        self._watch = JobServersWatch.of_targets(targets)
        self.run_worker(self._poll_forever(), name="gearman-poll", exclusive=True)

    async def on_unmount(self) -> None:
        if self._watch is not None:
            await self._watch.close()

    def action_poll_now(self) -> None:
        self._wake.set()

    async def _poll_forever(self) -> None:
        assert self._watch is not None
        while True:
            started = time.monotonic()
            await self.refresh_once()
            delay = self.settings.poll_interval - (time.monotonic() - started)
            await pause_between_polls(self._wake, delay)

    async def refresh_once(self) -> tuple[ServerSnapshot, ...]:
        """One poll of every server, shown everywhere it is used."""
        assert self._watch is not None
        snapshots = await self._watch.poll()
        self.show(snapshots)
        for queues in self.screen.query(QueuesPane):
            queues.show(snapshots)
        for strip in self.screen.query(HealthStrip):
            strip.take_snapshots(snapshots)
        for snapshot in snapshots:
            if snapshot.reachable:  # unreachable: no reply, so nothing is known about workers
                via = self._via.get(snapshot.server)
                seen = GearmanWorkersSeen(snapshot.server, list(snapshot.connections), via)
                self.app.post_message(seen)
        self.polls_completed += 1
        return snapshots

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
                text.append("● ", style="bold green")
                text.append(f"{snapshot.server}\n", style="bold")
                text.append(f"  up since {since}\n")
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
