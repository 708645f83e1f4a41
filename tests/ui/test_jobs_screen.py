"""Cancelling a queued job from the Jobs view, on the session lab's gearmand."""

from __future__ import annotations

import pytest

from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.queues.jobs_screen import JobsScreen
from atomctl_tui.ui.queues.pane import QueuesPane
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from tests.gearman_lab import drain, gearadmin, lab_settings, stop_workers, submit, wait_in_thread
from tests.labs import inside
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

SMALL_TERMINAL = (80, 24)


def show_jobs(lab) -> dict[str, list[str]]:
    """gearadmin --show-jobs: handle → [retries, ignore_job, job_queued]."""
    return {line.split("\t")[0]: line.split("\t")[1:] for line in gearadmin(lab, "--show-jobs")}


def journal_cursor(lab) -> str:
    out = inside(lab, "journalctl", "-n", "0", "--show-cursor", "--no-pager")
    return out.strip().rsplit("-- cursor: ", 1)[1]


def journal_since(lab, cursor: str) -> str:
    # No unit filter: with one, systemd 252 may skip the first entry after the cursor.
    return inside(lab, "journalctl", f"--after-cursor={cursor}", "-o", "cat", "--no-pager")


async def test_cancel_a_queued_job_from_the_jobs_view(lab):
    cursor = journal_cursor(lab)
    stop_workers(lab)
    try:
        (kept,) = submit(lab, "arFindingAidJob", 1, "normal")
        (victim,) = submit(lab, "arGenerateReportJob", 1, "normal")
        app = AtomctlApp(lab.host(), settings=lab_settings(lab))
        async with app.run_test(size=SMALL_TERMINAL) as pilot:
            queues = app.query_one(QueuesPane)
            await wait_in_thread(lambda: queues.rows, what="the first poll")
            queues.table.focus()
            await pilot.press("j")
            screen = app.screen
            assert isinstance(screen, JobsScreen)
            await wait_in_thread(lambda: victim in screen.jobs, what=f"{victim} listed")
            await pilot.pause()
            screen.table.move_cursor(row=screen.table.get_row_index(victim))

            # The dialog opens on Cancel: enter there changes nothing.
            await pilot.press("c")
            assert isinstance(app.screen, ConfirmScreen)
            assert app.focused.id == "confirm-cancel"
            await pilot.press("enter")
            assert app.screen is screen
            assert "left in the queue" in screen.last_result
            assert show_jobs(lab)[victim] == ["0", "0", "1"]

            await pilot.press("c", "right", "enter")
            await wait_in_thread(lambda: "cancelled" in screen.last_result, what="the result")
            assert screen.last_result == f"Job {victim} cancelled: gearmand will drop it unrun."
            # gearmand keeps a cancelled job listed, ignored and unqueued, until a worker asks.
            assert show_jobs(lab)[victim] == ["0", "1", "0"]
            assert show_jobs(lab)[kept] == ["0", "0", "1"]
            await wait_in_thread(
                lambda: screen.jobs[victim].ignored, what="the cancel in the Jobs view"
            )
            await pilot.pause()
            assert screen.table.get_cell(victim, "state").plain == "cancelled"

            await pilot.press("c")  # a second cancel is refused before asking gearmand
            assert "already cancelled" in screen.last_result
            await pilot.press("escape")
            assert app.screen is not screen
    finally:
        drain(lab)
    assert victim not in show_jobs(lab)  # dropped when the workers came back...

    def journal_with_the_kept_job() -> str | None:
        # AtoM's worker names a job only in its "Parameters: {json}" line.
        lines = journal_since(lab, cursor).splitlines()
        kept_at = next(
            (i for i, line in enumerate(lines) if '"name":"arFindingAidJob"' in line), None
        )
        finished = kept_at is not None and any("Job finished." in line for line in lines[kept_at:])
        return "\n".join(lines) if finished else None

    journal = wait_until(journal_with_the_kept_job, what="the kept job in the journal")
    assert '"name":"arGenerateReportJob"' not in journal  # ...and never run


async def test_help_on_the_jobs_view_lists_its_keys(lab):
    app = AtomctlApp(lab.host(), settings=lab_settings(lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        app.query_one(QueuesPane).table.focus()
        await pilot.press("j", "question_mark")
        listed = str(app.screen.render_sections())
        for description in ("Cancel the selected job", "Refresh now", "Back to the panes"):
            assert description in listed
