"""One AtoM job's whole story: its row, its notes (errors marked), its output log, the worker
that ran it and that worker's journal lines about it, and where it is now."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from atomctl_tui.atom_db.atom_site import AtomSite
from atomctl_tui.atom_db.connection import AtomDbError
from atomctl_tui.atom_db.jobs import JobRow, JobStory, job_story
from atomctl_tui.atom_db.whereabouts import Place, Whereabouts
from atomctl_tui.journal.entries import JournalEntry
from atomctl_tui.journal.worker_lines import WorkerLinesError, read_window
from atomctl_tui.ui.atom_jobs.mark_failed import MarkFailedFlow, consequence_words
from atomctl_tui.ui.journal.job_lines import JobLines
from atomctl_tui.ui.journal.line_words import is_systemd_about_unit, shown_message, source_label

JOURNAL_TIMEOUT = 10.0
MAX_JOURNAL_LINES_SHOWN = 500


def job_journal_lines(entries: Sequence[JournalEntry], job_id: int) -> list[JournalEntry]:
    """The lines of ``entries`` that belong to job ``job_id`` (as the journal pane tells)."""
    tracker = JobLines()
    tracker.take_all(list(entries))
    return [entry for entry in entries if tracker.job_of(entry) == str(job_id)]


def worker_words(lines: Sequence[JournalEntry]) -> str | None:
    """``atom-worker@1 (pid 1234)``: the unit and process that logged the job, if any."""
    for entry in lines:
        if entry.unit and not is_systemd_about_unit(entry):
            return f"{entry.unit.removesuffix('.service')} (pid {entry.pid or '?'})"
    return None


def story_text(
    job: JobRow,
    where: Whereabouts,
    story: JobStory | str,
    journal: list[JournalEntry] | str | None,
) -> Text:
    """The story as plain text (never markup): ``story`` and ``journal`` are what was read,
    or why it could not be (None: still reading)."""
    text = Text()
    text.append(f"Job {job.id} · {job.name} · {job.status}\n", style="bold")
    queued = job.queued_at.strftime("%Y-%m-%d %H:%M:%S") if job.queued_at else "?"
    text.append(f"Queued {queued} by {job.user}")
    if job.completed_at:
        text.append(f" · finished {job.completed_at.strftime('%Y-%m-%d %H:%M:%S')}")
    if job.slug:
        text.append(f" · works on {job.slug}")
    text.append("\nNow: ")
    text.append(where.words, style="bold red" if where.place is Place.LOST else "bold")
    if where.place is Place.LOST:
        text.append(f"\n{consequence_words(job)} x marks it failed.", style="red")
    if isinstance(journal, list):
        worker = worker_words(journal)
        text.append(f"\nWorker: {worker or 'none named in the journal read'}")
    if isinstance(story, str):
        text.append(f"\n\n{story}", style="yellow")
        return text
    if story.download_path:
        text.append(f"\nDownload: {story.download_path}")
    text.append("\n\nNotes\n", style="bold")
    if not story.notes:
        text.append("  none\n", style="dim")
    for note in story.notes:
        mark, style = ("error: ", "red") if note.is_error else ("", "")
        for index, line in enumerate(note.content or ("",)):
            text.append(f"  {mark if index == 0 else ' ' * len(mark)}{line}\n", style=style)
    text.append(f"\nOutput ({len(story.output)} lines)\n", style="bold")
    for line in story.output:
        text.append(f"  {line}\n", style="red" if line.startswith("[err]") else "")
    text.append("\nJournal\n", style="bold")
    if journal is None:
        text.append("  reading…\n", style="dim")
    elif isinstance(journal, str):
        text.append(f"  {journal}\n", style="yellow")
    elif not journal:
        text.append("  no worker line names this job in the journal\n", style="dim")
    else:
        for entry in journal[-MAX_JOURNAL_LINES_SHOWN:]:
            # As the journal pane shows it: the time once, the unit, the sanitized message.
            stamp = entry_time(entry)
            text.append(f"  {stamp} {source_label(entry)} {shown_message(entry)}\n")
    return text


def entry_time(entry: JournalEntry) -> str:
    return time.strftime("%H:%M:%S", time.localtime(entry.timestamp))


class JobStoryScreen(Screen[None]):
    SCREEN_TITLE = "AtoM job"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="job_story.back"),
        Binding("x", "mark_failed", "Mark failed", id="job_story.mark_failed"),
        Binding("r", "reload", "Read again", id="job_story.reload"),
    ]

    def __init__(
        self,
        site: AtomSite,
        job: JobRow,
        where: Whereabouts,
        worker_patterns: Sequence[str],
        *,
        read_only: bool,
    ) -> None:
        super().__init__()
        self.site = site
        self.job = job
        self.where = where
        self.worker_patterns = worker_patterns
        self.read_only = read_only
        self.story: JobStory | str = "reading AtoM's database…"
        self.journal: list[JournalEntry] | str | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="job-story"):
            yield Static(id="job-story-text")
        yield Footer()

    def on_mount(self) -> None:
        self._draw()
        self.run_worker(self._load(), exclusive=True)

    def _draw(self) -> None:
        text = story_text(self.job, self.where, self.story, self.journal)
        self.query_one("#job-story-text", Static).update(text)

    async def _load(self) -> None:
        story, journal = await asyncio.gather(
            asyncio.to_thread(self._read_story), asyncio.to_thread(self._read_journal)
        )
        self.story, self.journal = story, journal
        if isinstance(story, JobStory):
            self.job = story.job
        self._draw()

    def _read_story(self) -> JobStory | str:
        database = self.site.open_database()
        try:
            story = database.read(lambda cursor: job_story(cursor, self.job.id))
        except AtomDbError as exc:
            return f"AtoM's database could not be read: {exc}"
        finally:
            database.close()
        return story if story is not None else f"Job {self.job.id} is no longer in the database."

    def _read_journal(self) -> list[JournalEntry] | str:
        if self.job.queued_at is None:
            return "its queueing time is unknown: no window to read"
        try:
            entries = read_window(
                self.site.host,
                self.worker_patterns,
                self.job.queued_at,
                self.job.completed_at,
                timeout=JOURNAL_TIMEOUT,
            )
        except WorkerLinesError as exc:
            return f"the journal could not be read: {exc}"
        return job_journal_lines(entries, self.job.id)

    def action_reload(self) -> None:
        self.run_worker(self._load(), exclusive=True)

    def action_mark_failed(self) -> None:
        MarkFailedFlow(self, self.site, read_only=self.read_only).start(self.job, self.where)
