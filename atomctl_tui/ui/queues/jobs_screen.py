"""The Jobs screen: gearmand's `show jobs` for one server, and cancelling a queued job.

What gearmand 1.1.20's admin protocol can and cannot say (checked in the lab): `show jobs`
lists every job of the server, running or waiting alike, as ``handle retries 0 1`` (a running
job is still "queued"); a cancelled one stays listed as ``ignore 1, queued 0`` until a worker
asks for it, and gearmand then drops it unrun. No admin command names a job's function (`show
unique jobs` gives unique ids only, AtoM's are generated): so the counts of running and
waiting jobs, for the server and for the selected queue, come from `status`, and the handles
cannot be split by class or by running.
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
    FunctionStatus,
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


LISTED = "waiting or running"  # gearmand's word for both: "queued"


def job_state(job: QueuedJob) -> str:
    if job.ignored:
        return "cancelled"
    return LISTED if job.queued else "-"


def counts_text(statuses: tuple[FunctionStatus, ...]) -> str:
    """``2 running, 4 waiting``: what `status` says of these functions."""
    running = sum(s.running for s in statuses)
    waiting = sum(s.waiting for s in statuses)
    return f"{running} running, {waiting} waiting"


def _text(column: str, value: str) -> Text:
    return Text(value)


class JobsScreen(Screen[None]):
    SCREEN_TITLE = "Jobs"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back to the panes", id="jobs.close"),
        Binding("c", "cancel_job", "Cancel the selected job", id="jobs.cancel"),
        Binding("r", "refresh_jobs", "Refresh now", id="jobs.refresh"),
    ]

    def __init__(
        self,
        target: GearmanTarget,
        *,
        poll_interval: float,
        function: str | None = None,
        job_class: str | None = None,
    ) -> None:
        """``function`` (its ``job_class`` in words): the queue selected in the Queues pane,
        whose counts come first."""
        super().__init__()
        self.poll_interval = poll_interval
        self.server = target.name
        self.function = function
        self.job_class = job_class or function
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
            yield Static(Text(""), id="jobs-queue")
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
        self.queue_line = self.query_one("#jobs-queue", Static)
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
            try:
                items = (await self.client.status()).items
                functions: tuple[FunctionStatus, ...] | None = items
                counts = counts_text(items)
            except GearmanAdminError as exc:  # the list still stands; its counts do not
                functions, counts = None, f"running and waiting unknown ({exc})"
            jobs = sorted(listing.items, key=lambda job: _handle_order(job.handle))
            self._show(tuple(jobs[:MAX_JOBS_SHOWN]))
            skipped = f", {listing.malformed} unreadable lines skipped" if listing.malformed else ""
            cancelled = sum(1 for j in listing.items if j.ignored)
            dropped = f", {cancelled} cancelled" if cancelled else ""
            shown = f" (the first {MAX_JOBS_SHOWN} shown)" if len(jobs) > MAX_JOBS_SHOWN else ""
            status.update(
                Text(f"{len(jobs)} jobs{shown}: {counts}{dropped}{skipped} · c cancels one")
            )
            self.queue_line.update(self._queue_text(functions))

    def _queue_text(self, functions: tuple[FunctionStatus, ...] | None) -> Text:
        """The selected queue's counts; gearmand cannot say which handles are its jobs."""
        unknown = "gearmand does not say a job's class, nor which one runs"
        if self.function is None or functions is None:
            return Text(unknown, style="dim")
        mine = tuple(f for f in functions if f.function == self.function)
        text = Text(f"{self.job_class}: {counts_text(mine)}", style="bold")
        text.append(f" · {unknown}", style="dim")
        return text

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
