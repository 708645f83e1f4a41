"""The AtoM jobs view: the site's recent jobs from its own database, newest first, where each
one is now (running on a worker, waiting in Gearman, lost), live.

Three sources meet here, each through its listener: every host's ``AtomJobsWatch`` (the rows),
the Gearman watch (what waits and runs per function) and the workers' activity (which worker
runs which job). Enter opens a job's whole story; ``x`` marks a lost job failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from atomctl_tui.atom_db.atom_site import AtomSite
from atomctl_tui.atom_db.jobs import COMPLETED, ERROR, IN_PROGRESS, STATUS_WORDS, JobRow, JobsQuery
from atomctl_tui.atom_db.watch import JobsSnapshot
from atomctl_tui.atom_db.whereabouts import (
    Place,
    Whereabouts,
    Witnesses,
    job_whereabouts,
    witnesses,
)
from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.gearman.watch import JobServersWatch
from atomctl_tui.journal.worker_activity import ActivitySnapshot, WorkerActivity
from atomctl_tui.ui.atom_jobs.mark_failed import MarkFailedFlow
from atomctl_tui.ui.atom_jobs.story_screen import JobStoryScreen
from atomctl_tui.ui.messages import AtomJobsPolled, JobServersPolled, WorkerActivityChanged
from atomctl_tui.ui.widgets.keyed_table import KeyedTable

STATUS_CYCLE: tuple[int | None, ...] = (None, IN_PROGRESS, ERROR, COMPLETED)
PLACE_STYLES = {
    Place.RUNNING: "green",
    Place.WAITING: "",
    Place.LOST: "bold red",
    Place.UNKNOWN: "yellow",
}
STATUS_STYLES = {"error": "red", "in progress": "bold", "completed": "dim"}
COLUMNS = (
    ("id", "Id"),
    ("name", "Job"),
    ("status", "Status"),
    ("where", "Where"),
    ("queued", "Queued"),
    ("finished", "Finished"),
    ("took", "Took"),
    ("user", "User"),
    ("slug", "Works on"),
)


def took_words(duration: timedelta | None) -> str:
    if duration is None:
        return ""
    seconds = int(duration.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600}h"


def time_words(moment: datetime | None, now: datetime) -> str:
    """A time of today, else its date."""
    if moment is None:
        return ""
    return moment.strftime("%H:%M:%S" if moment.date() == now.date() else "%Y-%m-%d")


def _cell(column: str, value: object) -> Text:
    if isinstance(value, Whereabouts):
        return Text(value.words, style=PLACE_STYLES.get(value.place, ""), no_wrap=True)
    text = str(value)
    style = STATUS_STYLES.get(text, "") if column == "status" else ""
    return Text(text, style=style, no_wrap=True)


class AtomJobsScreen(Screen[None]):
    SCREEN_TITLE = "AtoM jobs"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="atom_jobs.back"),
        Binding("enter", "story", "Job's story", id="atom_jobs.story"),
        Binding("s", "cycle_status", "Status shown", id="atom_jobs.status"),
        Binding("slash", "filter", "Filter", key_display="/", id="atom_jobs.filter"),
        Binding("x", "mark_failed", "Mark failed", id="atom_jobs.mark_failed"),
        Binding("r", "refresh", "Refresh", id="atom_jobs.refresh"),
    ]

    def __init__(
        self,
        sites: Sequence[AtomSite],
        job_servers: JobServersWatch,
        activities: Sequence[WorkerActivity],
        worker_patterns: Sequence[str],
        *,
        read_only: bool,
    ) -> None:
        super().__init__()
        self.sites = {site.host.label: site for site in sites}
        self.job_servers = job_servers
        self.activities = activities
        self.worker_patterns = worker_patterns
        self.read_only = read_only
        self.polls: dict[str, JobsSnapshot] = {}
        """The latest poll of each host's site, by host label."""
        self.servers: tuple[ServerSnapshot, ...] | None = None
        self.activity: dict[str, ActivitySnapshot] = {}
        self.status_shown: int | None = None
        self.text_filter = ""
        self._unsubscribes: list[Callable[[], None]] = []

    @property
    def several(self) -> bool:
        return len(self.sites) > 1

    def compose(self) -> ComposeResult:
        with Vertical(id="atom-jobs"):
            yield Static(id="atom-jobs-summary")
            yield Input(placeholder="filter: job, user, object, id", id="atom-jobs-filter")
            yield KeyedTable(_cell, id="atom-jobs-table")
        yield Footer()

    @property
    def table(self) -> KeyedTable[object]:
        return self.query_one("#atom-jobs-table", KeyedTable)

    def on_mount(self) -> None:
        columns = [(key, Text(label)) for key, label in COLUMNS]
        if self.several:
            columns.insert(1, ("host", Text("Host")))
        self.table.set_columns(columns)
        self.table.order_by("id", key=lambda job_id: -int(str(job_id)))  # newest first
        self.query_one("#atom-jobs-filter", Input).display = False
        self._summarise()
        for label, site in self.sites.items():
            self._unsubscribes.append(site.watch.subscribe(self._jobs_listener(label)))
            site.watch.poll_now()
        self._unsubscribes.append(
            self.job_servers.subscribe(lambda polled: self.post_message(JobServersPolled(polled)))
        )
        for activity in self.activities:
            self._unsubscribes.append(
                activity.subscribe(
                    lambda snapshot: self.post_message(WorkerActivityChanged(snapshot))
                )
            )
        self.table.focus()

    def _jobs_listener(self, label: str) -> Callable[[JobsSnapshot], None]:
        def listener(snapshot: JobsSnapshot) -> None:  # on the watch's thread
            self.post_message(AtomJobsPolled(snapshot, label))

        return listener

    async def on_unmount(self) -> None:
        # Off the event loop: a last listener gone, a workers' activity lets go of its journal
        # watch, which waits (boundedly) for its thread.
        unsubscribes, self._unsubscribes = self._unsubscribes, []
        await asyncio.gather(*(asyncio.to_thread(unsubscribe) for unsubscribe in unsubscribes))

    # -- from the sources --------------------------------------------------------------

    def on_atom_jobs_polled(self, message: AtomJobsPolled) -> None:
        self.polls[message.host_label] = message.snapshot
        self._show()

    def on_job_servers_polled(self, message: JobServersPolled) -> None:
        self.servers = message.snapshots
        self._show()

    def on_worker_activity_changed(self, message: WorkerActivityChanged) -> None:
        # A job's start or end also asks the jobs watch for a poll: the health monitor does.
        self.activity[message.snapshot.host_label] = message.snapshot
        self._show()

    # -- drawing -----------------------------------------------------------------------

    def whereabouts(self, label: str, job: JobRow, seen: Witnesses | None = None) -> Whereabouts:
        """Where ``job`` of ``label``'s site is now; ``seen``: the witnesses, if gathered."""
        poll = self.polls.get(label)
        now = poll.summary.now if poll and poll.summary else datetime.now()
        if seen is None:
            seen = self._witnesses(label)
        return job_whereabouts(job, now, seen)

    def _witnesses(self, label: str) -> Witnesses:
        activities = list(self.activity.values())
        return witnesses(self.servers, activities, self.sites[label].site_prefix)

    def shown_jobs(self) -> list[tuple[str, JobRow]]:
        """The jobs the table shows, by host: the status chosen, the filter matched."""
        wanted = self.text_filter.casefold()
        shown = []
        for label, poll in self.polls.items():
            for job in poll.jobs:
                if self.status_shown is not None and job.status_id != self.status_shown:
                    continue
                if wanted and wanted not in _haystack(job):
                    continue
                shown.append((label, job))
        return shown

    def _show(self) -> None:
        table = self.table
        keys = []
        seen = {label: self._witnesses(label) for label in self.polls}  # once, for every row
        for label, job in self.shown_jobs():
            key = f"{label}\0{job.id}"
            keys.append(key)
            poll = self.polls[label]
            now = poll.summary.now if poll.summary else datetime.now()
            table.upsert(
                key,
                {
                    "id": job.id,
                    "host": label,
                    "name": job.name,
                    "status": job.status,
                    "where": self.whereabouts(label, job, seen[label]),
                    "queued": time_words(job.queued_at, now),
                    "finished": time_words(job.completed_at, now),
                    "took": took_words(job.duration),
                    "user": job.user,
                    "slug": job.slug or "",
                },
            )
        table.keep_rows(keys)
        table.resort()
        self._summarise()

    def _summarise(self) -> None:
        parts = []
        for label in self.sites:
            poll = self.polls.get(label)
            name = f"{label}: " if self.several else ""
            if poll is None:
                parts.append(Text(f"{name}reading AtoM's database…", style="dim"))
            elif poll.error is not None:
                parts.append(Text(f"{name}{poll.error}", style="yellow"))
            elif poll.summary is not None:
                figures = poll.summary
                words = f"{name}{figures.in_progress} in progress"
                errors = figures.error_count
                words += (
                    f", {errors}{'+' if figures.errors_at_least else ''} failed in the last hour"
                )
                parts.append(Text(words, style="red" if errors else ""))
        shown = STATUS_WORDS.get(self.status_shown or 0, "every status")
        hint = f"showing {shown}"
        if self.text_filter:
            hint += f" matching {self.text_filter!r}"
        hint += " · newest first · s: status · /: filter · Enter: story"
        summary = Text("\n").join([*parts, Text(hint, style="dim")])
        self.query_one("#atom-jobs-summary", Static).update(summary)

    # -- keys --------------------------------------------------------------------------

    def selected(self) -> tuple[str, JobRow] | None:
        key = self.table.cursor_key
        if key is None:
            return None
        label, _, job_id = key.partition("\0")
        poll = self.polls.get(label)
        job = next((j for j in poll.jobs if str(j.id) == job_id), None) if poll else None
        return (label, job) if job is not None else None

    @on(KeyedTable.RowSelected, "#atom-jobs-table")
    def _row_chosen(self, event: KeyedTable.RowSelected) -> None:
        # Enter on the table: the table's own binding selects the row.
        event.stop()
        self.action_story()

    def action_story(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        label, job = chosen
        self.app.push_screen(
            JobStoryScreen(
                self.sites[label],
                job,
                self.whereabouts(label, job),
                self.worker_patterns,
                read_only=self.read_only,
            )
        )

    def action_cycle_status(self) -> None:
        index = STATUS_CYCLE.index(self.status_shown)
        self.status_shown = STATUS_CYCLE[(index + 1) % len(STATUS_CYCLE)]
        # Rows of one status further back than the recent ones: asked of the database.
        for site in self.sites.values():
            site.watch.ask(JobsQuery(status_id=self.status_shown, limit=site.watch.query.limit))
        self._show()

    def action_filter(self) -> None:
        field = self.query_one("#atom-jobs-filter", Input)
        field.display = True
        field.value = self.text_filter
        field.focus()

    @on(Input.Submitted, "#atom-jobs-filter")
    def apply_filter(self, event: Input.Submitted) -> None:
        event.stop()
        self.text_filter = event.value.strip()
        event.input.display = bool(self.text_filter)
        self.table.focus()
        self._show()

    def action_refresh(self) -> None:
        for site in self.sites.values():
            site.watch.poll_now()

    def action_mark_failed(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        label, job = chosen
        MarkFailedFlow(self, self.sites[label], read_only=self.read_only).start(
            job, self.whereabouts(label, job)
        )


def _haystack(job: JobRow) -> str:
    return f"{job.id} {job.name} {job.user} {job.slug or ''} {job.status}".casefold()
