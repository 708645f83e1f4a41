"""The Journal pane's words and keys on real worker lines (``journal-workers.jsonl``, captured
with ``journalctl -o json`` in a lab), driven by keys under Pilot: the worker's time once,
systemd's lines labelled, ability lines folded, the job filter, context, and the scope after
an action. The lines are replayed by a fake journal watch; the lab tests of the pane read
them live."""

from __future__ import annotations

from typing import cast

from textual.app import App, ComposeResult

from atomctl_tui.journal.entries import JournalEntry
from atomctl_tui.journal.focus import JournalFocus
from atomctl_tui.journal.watch import JournalWatch
from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.journal.pane import JournalPane
from tests.fakes import FakeJournal, journal_fixture_entries
from tests.waiting import wait_until_async

WORKER_LINES = journal_fixture_entries("journal-workers.jsonl")
ABILITIES_PER_START = 17  # the lab's classes but qtSwordPluginWorker, "not defined"
FAILED_JOB = "798161"  # arObjectMoveJob, asked to fail, on atom-worker@2
DONE_JOB = "797950"  # arFindingAidJob, on atom-worker@1


class JournalApp(App[None]):
    def __init__(self, journal: FakeJournal, focus: JournalFocus, max_lines: int = 1000) -> None:
        super().__init__()
        self.journal = journal
        self.journal_focus = focus
        self.max_lines = max_lines

    def compose(self) -> ComposeResult:
        journals = [cast(JournalWatch, self.journal)]
        yield JournalPane(journals, self.journal_focus, max_lines=self.max_lines)


def console(entries: list[JournalEntry] = WORKER_LINES) -> tuple[JournalApp, FakeJournal]:
    journal = FakeJournal(Host(label="lab"), entries)
    return JournalApp(journal, JournalFocus()), journal


def pane_of(app: JournalApp) -> JournalPane:
    return app.query_one(JournalPane)


def rows_text(app: JournalApp) -> list[str]:
    """Every row of the view as drawn, without the time column."""
    view = pane_of(app).view
    return [view.line_text(entry).split(" ", 1)[1] for entry, _, _ in view.rows]


async def all_lines_in(app: JournalApp) -> None:
    await wait_until_async(
        lambda: len(pane_of(app).view.entries) == len(WORKER_LINES), what="the lines"
    )


async def test_worker_time_once_and_systemd_lines_labelled():
    app, _ = console()
    async with app.run_test(size=(80, 24)):
        await all_lines_in(app)
        rows = rows_text(app)
        assert "atom-worker@1 Job finished." in rows  # not "… 2026-12-02 14:13:18 > Job …"
        assert not any(" > " in row for row in rows)
        assert "systemd atom-worker@1 Main process exited, code=killed, status=9/KILL" in rows
        assert "systemd atom-worker@1 Failed with result 'signal'." in rows
        assert "systemd atom-worker@2 Started atom-worker@2.service - AtoM worker 2." in rows
        # The saved file keeps the lines whole.
        assert any(e.message.endswith("> Job finished.") for e in pane_of(app).view.entries)


async def test_ability_lines_fold_per_start_and_e_lists_them():
    app, _ = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await all_lines_in(app)
        pane = pane_of(app)
        pane.focus()
        folded = f"{ABILITIES_PER_START} abilities registered (e lists them)"
        rows = rows_text(app)
        # Three starts (two workers, then each again): one row each, and the line saying a
        # class is missing stays a row of its own, though it came among the abilities.
        assert rows.count(f"atom-worker@1 {folded}") == 2
        assert rows.count(f"atom-worker@2 {folded}") == 2
        assert not any("New ability" in row for row in rows)
        assert sum("Ability not defined: qtSwordPluginWorker" in row for row in rows) == 4
        start = rows.index(f"atom-worker@2 {folded}", rows.index("atom-worker@1 PID 38"))
        assert rows[start + 1].startswith("atom-worker@2 Ability not defined")
        assert rows[start + 2] == "atom-worker@2 Running worker..."

        await pilot.press("e")
        rows = rows_text(app)
        assert sum("New ability: " in row for row in rows) == 4 * ABILITIES_PER_START
        assert not any("abilities registered" in row for row in rows)
        await pilot.press("e")
        assert rows_text(app).count(f"atom-worker@1 {folded}") == 2


async def test_abilities_arriving_in_several_batches_fold_into_one_row():
    # A worker's start spread over batches, and two workers starting at once, interleaved.
    one = [e for e in WORKER_LINES if e.pid == "38"]
    two = [e for e in WORKER_LINES if e.pid == "45"]
    interleaved = [line for pair in zip(one, two, strict=False) for line in pair]
    app, journal = console(interleaved[:7])
    async with app.run_test(size=(80, 24)):
        await wait_until_async(lambda: len(pane_of(app).view.entries) == 7)
        journal.add(interleaved[7:])
        await wait_until_async(lambda: len(pane_of(app).view.entries) == len(interleaved))
        rows = rows_text(app)
        folded = f"{ABILITIES_PER_START} abilities registered (e lists them)"
        assert rows.count(f"atom-worker@1 {folded}") == 1
        assert rows.count(f"atom-worker@2 {folded}") == 1
        assert not any("New ability" in row for row in rows)


async def test_job_filter_shows_every_line_of_that_job():
    app, _ = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await all_lines_in(app)
        pane = pane_of(app)
        pane.focus()
        await pilot.press("slash", *f"job:{FAILED_JOB}", "enter")
        assert rows_text(app) == [
            "atom-worker@2 Job started.",
            'atom-worker@2 Parameters: {"seconds":0.0,"fail":true,"name":"arObjectMoveJob",'
            f'"id":{FAILED_JOB}}}',
            "atom-worker@2 Exception: The atomctl lab asked this job to fail.",
            "atom-worker@2 File: /var/lib/atomctl-lab/jhelp/runtime/atomctl_tui/lab/worker.py",
            "atom-worker@2 Line: 222",
            "atom-worker@2 Jobs completed: 1",
        ]
        assert f"filter job:{FAILED_JOB}" in pane.subtitle
        # The other job ran across worker 2's restart, on worker 1: only its own lines.
        await pilot.press("slash", "ctrl+a", "ctrl+k", *f"job:{DONE_JOB}", "enter")
        assert [row.split(" ", 1)[1][:12] for row in rows_text(app)] == [
            "Job started.",
            "Parameters: ",
            "Job finished",
            "Jobs complet",
        ]


async def test_context_shows_the_lines_around_a_match():
    app, journal = console(WORKER_LINES[:40])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(lambda: len(pane_of(app).view.entries) == 40)
        pane = pane_of(app)
        pane.focus()
        # The failure does not name the class: filtering on it alone hides the failure.
        await pilot.press("slash", *"arObjectMoveJob", "enter")
        journal.add(WORKER_LINES[40:])
        await all_lines_in(app)
        assert not any("Exception" in row for row in rows_text(app))

        await pilot.press("slash", "ctrl+a", "ctrl+k", *"-C 3 arObjectMoveJob", "enter")
        rows = rows_text(app)
        failure = rows.index("atom-worker@2 Exception: The atomctl lab asked this job to fail.")
        assert "arObjectMoveJob" in rows[failure - 1] and "Parameters" in rows[failure - 1]
        assert rows[failure + 2] == "atom-worker@2 Line: 222"
        assert "filter -C 3 arObjectMoveJob" in pane.subtitle


async def test_context_on_lines_arriving_after_the_filter():
    before = WORKER_LINES[:46]  # up to the failing job's Parameters: line
    app, journal = console(before)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(lambda: len(pane_of(app).view.entries) == len(before))
        pane = pane_of(app)
        pane.focus()
        await pilot.press("slash", *"-C 1 Exception", "enter")
        assert rows_text(app) == []
        journal.add(WORKER_LINES[len(before) :])
        await all_lines_in(app)
        rows = rows_text(app)
        assert [row.split(" ", 1)[1].split(" ")[0] for row in rows] == [
            "Parameters:",
            "Exception:",
            "File:",
        ]


async def test_after_an_action_the_narrowing_is_said_with_its_way_back_and_trouble_counted():
    first = [e for e in WORKER_LINES if "SIGKILL" in e.message or e.timestamp_us < 1796220802e6]
    app, journal = console(first)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = pane_of(app)
        pane.focus()
        await wait_until_async(lambda: len(pane.view.entries) == len(first))
        app.journal_focus.action_finished("atom-worker@2.service", "restart", "done")
        await wait_until_async(lambda: pane.view.unit_scope == "atom-worker@2.service")
        await pilot.pause()
        assert pane.subtitle.startswith(
            "only atom-worker@2, after restart · a: all workers · following"
        )
        # Worker 1 is killed meanwhile: out of view, but counted at the edge.
        journal.add([e for e in WORKER_LINES if e not in first])
        await all_lines_in(app)
        await pilot.pause()
        assert "2 problems elsewhere" in pane.subtitle  # "Main process exited", "Failed"
        assert {entry.unit for entry, _, _ in pane.view.rows} == {"atom-worker@2.service"}

        await pilot.press("a")
        assert pane.subtitle == "all workers · following"
        assert "systemd atom-worker@1 Failed with result 'signal'." in rows_text(app)
        # Asked for (the Workers pane's Enter): narrowed, said so, without a reason.
        app.journal_focus.show("atom-worker@1.service")
        await wait_until_async(lambda: pane.view.unit_scope == "atom-worker@1.service")
        await pilot.pause()
        assert pane.subtitle == "only atom-worker@1 · a: all workers · following"
