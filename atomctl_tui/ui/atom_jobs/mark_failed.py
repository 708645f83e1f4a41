"""Marking an AtoM job failed, as AtoM itself marks a failed job: asked first in words, done
at once when confirmed (one transaction that changes the row only if it is still in
progress), audited like a unit action, refused in --read-only."""

from __future__ import annotations

import asyncio

from textual.screen import Screen

from atomctl_tui.atom_db.atom_site import AtomSite
from atomctl_tui.atom_db.connection import AtomDbError
from atomctl_tui.atom_db.jobs import JobRow, failed_note, mark_failed
from atomctl_tui.atom_db.jobs import consequence_words as consequence_words  # the story's
from atomctl_tui.atom_db.whereabouts import Place, Whereabouts
from atomctl_tui.systemd.audit import AuditError, acting_user, record
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen


def question_words(job: JobRow, where: Whereabouts, who: str) -> str:
    lines = [f"Mark AtoM job {job.id} ({job.name}) failed?", f"It is {where.words}."]
    if where.place in (Place.RUNNING, Place.WAITING):
        lines.append(
            "It still looks alive: marking it does not stop it, and its worker may still finish it."
        )
    lines.append(
        'Its row becomes "error", finished now, with an error note:'
        f' "{failed_note(who, where.words)}".'
    )
    lines.append("Changed only if it is still in progress when you confirm; nothing is deleted.")
    return "\n".join(lines)


class MarkFailedFlow:
    """One marking, from ``screen``: ``start`` asks, then marks and says what happened."""

    def __init__(self, screen: Screen[None], site: AtomSite, *, read_only: bool) -> None:
        self.screen = screen
        self.site = site
        self.read_only = read_only

    def start(self, job: JobRow, where: Whereabouts) -> None:
        notify = self.screen.notify
        if self.read_only:
            notify(
                f"Job {job.id} not marked: the console is read-only (--read-only).",
                title="Refused",
                severity="warning",
                markup=False,
            )
            return
        if not job.in_progress:
            notify(
                f"Job {job.id} is {job.status}: only a job in progress can be marked failed.",
                title="Nothing to mark",
                markup=False,
            )
            return
        who = acting_user().name

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.screen.run_worker(self._mark(job, failed_note(who, where.words)))

        self.screen.app.push_screen(
            ConfirmScreen(question_words(job, where, who), "Mark failed"), answered
        )

    async def _mark(self, job: JobRow, note: str) -> None:
        try:
            changed = await asyncio.to_thread(self._write, job.id, note)
        except AtomDbError as exc:
            self.screen.notify(
                f"Job {job.id} not marked: {exc}",
                title="Not marked",
                severity="error",
                markup=False,
            )
            return
        result = "done" if changed else "not in progress any more"
        try:
            await asyncio.to_thread(
                record, self.site.host, f"AtoM job {job.id}", "mark failed", result
            )
        except AuditError as exc:
            self.screen.notify(str(exc), title="Audit", severity="warning", markup=False)
        if changed:
            self.screen.notify(f"Job {job.id} ({job.name}) is marked failed.", markup=False)
        else:
            self.screen.notify(
                f"Job {job.id} was not changed: it finished or was marked meanwhile.",
                title="Not marked",
                severity="warning",
                markup=False,
            )
        self.site.watch.poll_now()

    def _write(self, job_id: int, note: str) -> bool:
        database = self.site.open_database()
        try:
            return database.write(lambda cursor: mark_failed(cursor, job_id, note))
        finally:
            database.close()
