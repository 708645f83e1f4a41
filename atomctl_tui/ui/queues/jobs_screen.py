"""The Jobs screen: gearmand's `show jobs` for one server, and cancelling a queued job.

gearmand does not say which function a job belongs to in `show jobs`; a cancelled job stays
listed (ignored, not queued) until a worker asks for it, and gearmand then drops it unrun.
"""

from __future__ import annotations

import asyncio
import re
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Static

from atomctl_tui.fleet import GearmanTarget
from atomctl_tui.gearman.admin import (
    CommandRefused,
    GearmanAdminClient,
    GearmanAdminError,
    QueuedJob,
)
from atomctl_tui.gearman.watch import pause_between_polls
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from atomctl_tui.ui.widgets.keyed_table import KeyedTable

_DIGITS = re.compile(r"(\d+)")
# A queue can hold far more jobs than anyone reads: the table is bounded, the count is not.
MAX_JOBS_SHOWN = 1000
RESULT_STYLES = {"information": "green", "warning": "yellow", "error": "bold red"}


def _handle_order(handle: str) -> list:
    """H:host:9 before H:host:10."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(handle)]


def job_state(job: QueuedJob) -> str:
    if job.ignored:
        return "cancelled"
    return "queued" if job.queued else "-"


def _text(column: str, value: str) -> Text:
    return Text(value)


class JobsScreen(Screen[None]):
    SCREEN_TITLE = "Jobs"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back to the panes", id="jobs.close"),
        Binding("c", "cancel_job", "Cancel the selected job", id="jobs.cancel"),
        Binding("r", "refresh_jobs", "Refresh now", id="jobs.refresh"),
    ]

    def __init__(self, target: GearmanTarget, *, poll_interval: float) -> None:
        super().__init__()
        self.poll_interval = poll_interval
        self.server = target.name
        # The way the pane polls it: directly, or through a host's SSH connection.
        self.client = GearmanAdminClient(
            target.address.host, target.address.port, unix_path=target.socket_path
        )
        self.jobs: dict[str, QueuedJob] = {}
        self.last_result = ""
        """The outcome of the last cancel, as the result line shows it."""
        self._wake = asyncio.Event()

    def compose(self) -> ComposeResult:
        with Vertical(id="jobs", classes="pane") as frame:
            frame.border_title = Text(f"Jobs on {self.server} (show jobs)")  # not markup
            yield Static(Text("Reading the job list…"), id="jobs-status")
            self.table: KeyedTable[str] = KeyedTable(_text, id="jobs-table", zebra_stripes=True)
            self.table.add_column("Handle", key="handle")
            self.table.add_column("Retries", key="retries")
            self.table.add_column("State", key="state")
            self.table.order_by("handle", key=lambda cell: _handle_order(cell.plain))
            yield self.table
            yield Static(Text(""), id="jobs-result")
        yield Footer()

    def on_mount(self) -> None:
        # Kept, not queried: a refresh may end while the screen is being taken down.
        self.status_line = self.query_one("#jobs-status", Static)
        self.result_line = self.query_one("#jobs-result", Static)
        self.table.focus()
        self.run_worker(self._refresh_forever(), name="jobs-poll", exclusive=True)

    async def on_unmount(self) -> None:
        await self.client.close()

    async def _refresh_forever(self) -> None:
        while True:
            started = time.monotonic()
            await self.refresh_jobs()
            delay = self.poll_interval - (time.monotonic() - started)
            await pause_between_polls(self._wake, delay)

    async def refresh_jobs(self) -> None:
        status = self.status_line
        try:
            listing = await self.client.show_jobs()
        except GearmanAdminError as exc:
            status.update(Text(f"Cannot read the jobs: {exc}", style="bold red"))
        else:
            jobs = sorted(listing.items, key=lambda job: _handle_order(job.handle))
            self._show(tuple(jobs[:MAX_JOBS_SHOWN]))
            skipped = f", {listing.malformed} unreadable lines skipped" if listing.malformed else ""
            queued = sum(1 for j in listing.items if j.queued and not j.ignored)
            shown = f" (the first {MAX_JOBS_SHOWN} shown)" if len(jobs) > MAX_JOBS_SHOWN else ""
            status.update(
                Text(f"{len(jobs)} jobs{shown}, {queued} queued{skipped} · c cancels one")
            )

    def _show(self, jobs: tuple[QueuedJob, ...]) -> None:
        table = self.table
        fresh = {job.handle: job for job in jobs}
        table.keep_rows(fresh)
        for handle, job in fresh.items():
            if self.jobs.get(handle) != job:
                values = {"handle": handle, "retries": str(job.retries), "state": job_state(job)}
                table.upsert(handle, values)
        self.jobs = fresh
        table.resort()

    def selected_job(self) -> QueuedJob | None:
        key = self.table.cursor_key
        return self.jobs.get(key) if key is not None else None

    def action_refresh_jobs(self) -> None:
        self._wake.set()

    def action_cancel_job(self) -> None:
        job = self.selected_job()
        if job is None:
            self._result("No job selected: there is nothing queued on this server.", "warning")
            return
        if job.ignored:
            self._result(f"Job {job.handle} is already cancelled.", "warning")
            return
        question = (
            f"Cancel job {job.handle} on {self.server}?\n\n"
            "gearmand drops it, unrun, when a worker asks for it. AtoM's own job list is"
            " not updated."
        )

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.run_worker(self._cancel(job.handle), name="jobs-cancel")
            else:
                self._result(f"Job {job.handle} left in the queue.", "information")

        self.app.push_screen(ConfirmScreen(question, "Drop the job"), answered)

    async def _cancel(self, handle: str) -> None:
        try:
            await self.client.cancel_job(handle)
        except CommandRefused as exc:
            self._result(f"gearmand refused to cancel {handle}: {exc}", "error")
        except GearmanAdminError as exc:
            self._result(f"Could not cancel {handle}: {exc}", "error")
        else:
            self._result(f"Job {handle} cancelled: gearmand will drop it unrun.", "information")
        self._wake.set()

    def _result(self, message: str, severity: SeverityLevel) -> None:
        """The outcome of a cancel, kept on screen and announced."""
        self.last_result = message
        self.result_line.update(Text(message, style=RESULT_STYLES[severity]))
        # Job handles and gearmand's words are outside text: never markup.
        self.notify(message, severity=severity, markup=False)
