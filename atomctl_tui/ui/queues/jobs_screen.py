"""The Jobs screen: the selected queue's figures, then every job of its server, running or
queued, and cancelling a queued job.

What gearmand 1.1.20 can and cannot say (checked in the lab): `show jobs` lists every job of
the server as ``handle retries 0 1``, a running job exactly like a waiting one; a cancelled
one stays listed as ``ignore 1, queued 0`` until a worker asks for it, and gearmand then drops
it unrun. The binary protocol's GET_STATUS tells, per handle, whether the job is running
(``JobStatusClient``). No command names a handle's function: `show unique jobs` gives unique
ids, which AtoM makes as an md5 of the function and the job's arguments. So the handles
cannot be split by class, and the screen says so; what it knows of the selected queue (its
counts per priority and its workers) comes from `status` and `prioritystatus`, above them.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass

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
    FunctionPriorities,
    FunctionStatus,
    GearmanAdminClient,
    GearmanAdminError,
    QueuedJob,
)
from atomctl_tui.gearman.job_status import JobStatus, JobStatusClient, JobStatuses
from atomctl_tui.gearman.watch import pause_between_polls
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from atomctl_tui.ui.widgets.keyed_table import KeyedTable

_DIGITS = re.compile(r"(\d+)")
# A queue can hold far more jobs than anyone reads: the table is bounded, the count is not.
MAX_JOBS_SHOWN = 1000
RESULT_STYLES = {"information": "green", "warning": "yellow", "error": "bold red"}

RUNNING = "running"
QUEUED = "queued"
CANCELLED = "cancelled"
GONE = "gone"  # gearmand no longer knows it: finished (or dropped) since it was listed
UNKNOWN = "unknown"  # not asked (beyond the cap), or no readable answer
STATE_STYLES = {RUNNING: "bold green", CANCELLED: "dim", GONE: "dim", UNKNOWN: "yellow"}
WHY_NOT_BY_CLASS = "Not split by class: gearmand never says. A: AtoM jobs, each with its class."


def _handle_order(handle: str) -> list:
    """H:host:9 before H:host:10."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(handle)]


@dataclass(frozen=True, slots=True)
class JobState:
    """A job's state: ``kind`` (RUNNING, QUEUED…) and ``words`` as its row shows it."""

    kind: str
    words: str


def job_state(job: QueuedJob, status: JobStatus | None) -> JobState:
    """``running 3/10`` when its worker tells its progress; ``running, cancelled`` for a job
    cancelled while it ran (gearmand lists it as cancelled and its worker goes on: checked in
    the lab)."""
    if status is not None and status.known and status.running:
        progress = f" {status.numerator}/{status.denominator}" if status.denominator else ""
        return JobState(RUNNING, f"{RUNNING}{progress}{', cancelled' if job.ignored else ''}")
    if job.ignored:
        kind = CANCELLED
    elif status is None:
        kind = UNKNOWN
    else:
        kind = QUEUED if status.known else GONE
    return JobState(kind, kind)


def jobs_text(
    listed: int, states: list[JobState], statuses: JobStatuses | None, status_error: str | None
) -> str:
    """``8 jobs in all queues: 2 running, 5 queued, 1 cancelled``, then what could not be
    told. ``listed``: the jobs gearmand listed, of which ``states`` are those shown."""
    kinds = [state.kind for state in states]
    count = {kind: kinds.count(kind) for kind in (RUNNING, QUEUED, CANCELLED, GONE, UNKNOWN)}
    text = f"{listed:,} jobs in all queues: "
    if listed > len(states):
        text += f"of the first {len(states):,} shown, "
    if status_error is not None:
        text += f"running or queued unknown ({status_error}), {count[CANCELLED]} cancelled"
        return text
    text += f"{count[RUNNING]} running, {count[QUEUED]} queued, {count[CANCELLED]} cancelled"
    if count[GONE]:
        text += f", {count[GONE]} gone since listed"
    if count[UNKNOWN]:
        text += f", {count[UNKNOWN]} unknown"
    unanswered = statuses.words() if statuses is not None else ""
    return text + (f" ({unanswered})" if unanswered else "")


@dataclass(frozen=True)
class QueueFigures:
    """What `status` and `prioritystatus` say of one function; None: it is not listed."""

    status: FunctionStatus | None
    priorities: FunctionPriorities | None


def queue_text(job_class: str, function: str, figures: QueueFigures | str) -> Text:
    """The selected queue: its class, its counts and workers, its function (``figures``: why
    they are unknown, in words)."""
    text = Text(f"Queue {job_class}", style="bold")
    if isinstance(figures, str):
        text.append(f"\nits figures unknown ({figures})", style="yellow")
    elif figures.status is None:
        text.append("\ngearmand does not list it: no job, no worker")
    else:
        status = figures.status
        text.append(f"\n{status.running} running, {status.waiting} waiting")
        if figures.priorities is not None:
            p = figures.priorities
            text.append(f" ({p.high} high, {p.normal} normal, {p.low} low)")
        workers = "no worker" if not status.workers else f"{status.workers} workers"
        text.append(f" · {workers} can run it", style="bold red" if not status.workers else "")
    text.append(f"\nfunction {function}", style="dim")
    return text


def _text(column: str, value: object) -> Text:
    if isinstance(value, JobState):
        return Text(value.words, style=STATE_STYLES.get(value.kind, ""), no_wrap=True)
    return Text(str(value), no_wrap=True)


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
        """``function`` (its ``job_class`` as the Queues pane names it): the queue selected
        there, whose figures come first."""
        super().__init__()
        self.poll_interval = poll_interval
        self.server = target.name
        self.function = function
        self.job_class = job_class or function
        # The way the pane polls it: directly, or through a host's SSH connection.
        address, socket_path = target.address, target.socket_path
        self.client = GearmanAdminClient(address.host, address.port, unix_path=socket_path)
        self.status_client = JobStatusClient(address.host, address.port, unix_path=socket_path)
        """gearmand's binary protocol, for which jobs run: on a connection of its own."""
        self.jobs: dict[str, QueuedJob] = {}
        self.states: dict[str, JobState] = {}
        """Each listed job's state, as its row shows it."""
        self.last_result = ""
        """The outcome of the last cancel, as the result line shows it."""
        self._wake = asyncio.Event()

    def compose(self) -> ComposeResult:
        with Vertical(id="jobs", classes="pane") as frame:
            frame.border_title = Text(f"Jobs on {self.server}")  # not markup
            if self.function is not None:
                yield Static(Text(f"Queue {self.job_class}", style="bold"), id="jobs-queue")
            else:
                yield Static(
                    Text("No queue selected: every job of the server below.", style="dim"),
                    id="jobs-queue",
                )
            yield Static(Text("Reading the job list…"), id="jobs-status")
            yield Static(Text(WHY_NOT_BY_CLASS, style="dim"), id="jobs-why")
            self.table: KeyedTable[object] = KeyedTable(_text, id="jobs-table", zebra_stripes=True)
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
        await asyncio.gather(self.client.close(), self.status_client.close())

    async def _refresh_forever(self) -> None:
        while True:
            started = time.monotonic()
            await self.refresh_jobs()
            delay = self.poll_interval - (time.monotonic() - started)
            await pause_between_polls(self._wake, delay)

    async def refresh_jobs(self) -> None:
        try:
            listing = await self.client.show_jobs()
        except GearmanAdminError as exc:
            self.status_line.update(Text(f"Cannot read the jobs: {exc}", style="bold red"))
        else:
            jobs = sorted(listing.items, key=lambda job: _handle_order(job.handle))
            shown = jobs[:MAX_JOBS_SHOWN]
            statuses: JobStatuses | None = None
            status_error: str | None = None
            try:  # the oldest first: they are the ones workers have
                statuses = await self.status_client.statuses(job.handle for job in shown)
            except GearmanAdminError as exc:  # the list still stands; which job runs does not
                status_error = str(exc)
            by_handle = statuses.by_handle if statuses is not None else {}
            states = {job.handle: job_state(job, by_handle.get(job.handle)) for job in shown}
            self._show(shown, states)
            text = jobs_text(len(jobs), list(states.values()), statuses, status_error)
            if listing.malformed:
                text += f", {listing.malformed} unreadable lines skipped"
            self.status_line.update(Text(f"{text} · c cancels one"))
        if self.function is not None:
            self.queue_line.update(await self._queue_figures(self.function))

    async def _queue_figures(self, function: str) -> Text:
        job_class = self.job_class or function
        try:
            status = (await self.client.status()).items
            priorities = (await self.client.priority_status()).items
        except GearmanAdminError as exc:
            return queue_text(job_class, function, str(exc))
        figures = QueueFigures(
            next((s for s in status if s.function == function), None),
            next((p for p in priorities if p.function == function), None),
        )
        return queue_text(job_class, function, figures)

    def _show(self, jobs: list[QueuedJob], states: dict[str, JobState]) -> None:
        table = self.table
        fresh = {job.handle: job for job in jobs}
        table.keep_rows(fresh)
        for handle, job in fresh.items():
            if self.jobs.get(handle) != job or self.states.get(handle) != states[handle]:
                values = {"handle": handle, "retries": str(job.retries), "state": states[handle]}
                table.upsert(handle, values)
        self.jobs, self.states = fresh, states
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
        state = self.states.get(job.handle)
        running = state is not None and state.kind == RUNNING
        question = (
            f"Cancel job {job.handle} on {self.server}?\n\n"
            "gearmand drops it, unrun, when a worker asks for it. AtoM's own job list is"
            " not updated."
        )
        if running:
            question += " It is running now: gearmand does not stop it, its worker finishes it."

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.run_worker(self._cancel(job.handle, running), name="jobs-cancel")
            else:
                self._result(f"Job {job.handle} left in the queue.", "information")

        self.app.push_screen(ConfirmScreen(question, "Drop the job"), answered)

    async def _cancel(self, handle: str, running: bool) -> None:
        try:
            await self.client.cancel_job(handle)
        except CommandRefused as exc:
            self._result(f"gearmand refused to cancel {handle}: {exc}", "error")
        except GearmanAdminError as exc:
            self._result(f"Could not cancel {handle}: {exc}", "error")
        else:
            outcome = "it runs on to its end" if running else "gearmand will drop it unrun"
            self._result(f"Job {handle} cancelled: {outcome}.", "information")
        self._wake.set()

    def _result(self, message: str, severity: SeverityLevel) -> None:
        """The outcome of a cancel, kept on screen and announced."""
        self.last_result = message
        self.result_line.update(Text(message, style=RESULT_STYLES[severity]))
        # Job handles and gearmand's words are outside text: never markup.
        self.notify(message, severity=severity, markup=False)
