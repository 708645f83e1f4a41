"""The Queues pane on the host against the session lab's gearmand, compared with gearadmin."""

from __future__ import annotations

import asyncio
import re

import pytest
from textual.coordinate import Coordinate

from atomctl_tui.atom import site_prefix
from atomctl_tui.gearman.queue_rows import QueueRow
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.queues.pane import QueuesPane
from tests.gearman_lab import (
    drain,
    gearadmin_table,
    lab_settings,
    start_workers,
    stop_workers,
    submit,
    wait_in_thread,
)
from tests.ui.polls import PollRecorder

pytestmark = pytest.mark.lab

SMALL_TERMINAL = (80, 24)


def row_at(queues: QueuesPane, index: int) -> QueueRow:
    """The row at ``index`` as the pane has it (a narrow pane's job class cell may be cut)."""
    return queues.rows[queues.table.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value]


def class_at(queues: QueuesPane, index: int) -> str:
    return row_at(queues, index).job_class


MD5_PREFIX = re.compile(r"[0-9a-f]{32}-")
SUBMITTED = [  # several job classes, every priority, one class with two priorities
    ("arFindingAidJob", 3, "high"),
    ("arValidateCsvJob", 2, "low"),
    ("arInformationObjectCsvExportJob", 1, "normal"),
    ("arGenerateReportJob", 2, "normal"),
    ("arGenerateReportJob", 1, "high"),
]


async def test_queues_show_what_gearadmin_shows_and_alerts_clear_when_a_worker_starts(lab):
    stop_workers(lab)
    try:
        for job_class, count, priority in SUBMITTED:
            submit(lab, job_class, count, priority)
        app = AtomctlApp(lab.host(), settings=lab_settings(lab))
        async with app.run_test(size=SMALL_TERMINAL) as pilot:
            queues = app.query_one(QueuesPane)
            await wait_in_thread(
                lambda: sum(r.waiting for r in queues.rows.values()) == 9,
                what="the 9 submitted jobs in the Queues pane",
            )
            await pilot.pause()
            status = gearadmin_table(lab, "--status")
            priorities = gearadmin_table(lab, "--priority-status")
            table = queues.table

            def cell(function: str, column: str) -> str:
                # What the pane holds for the column, drawn or (at 80x24) left out for width.
                return str(table.shown[f"{lab.gearman_server} {function}"][column])

            shown = {key.value.split(" ", 1)[1] for key in table.rows}
            assert set(status) <= shown
            # One row more: an AtoM job type no worker of this default site registers.
            prefix = site_prefix(lab.paths.atom_root)
            assert shown - set(status) == {prefix + "qtSwordPluginWorker"}
            for function, (total, running, workers) in status.items():
                assert cell(function, "job_class") == function.split("-", 1)[1]
                assert not MD5_PREFIX.search(cell(function, "job_class"))
                assert cell(function, "site") == "this site"
                shown = [cell(function, c) for c in ("total", "running", "workers", "waiting")]
                assert shown == [str(total), str(running), str(workers), str(total - running)]
                high, normal, low, _ = priorities[function]
                assert [cell(function, c) for c in ("high", "normal", "low")] == [
                    str(high),
                    str(normal),
                    str(low),
                ]
            report = next(f for f in status if f.endswith("-arGenerateReportJob"))
            assert priorities[report][:3] == [1, 2, 0]  # the lab did queue what we asked
            assert cell(report, "alert") == "!!"
            assert "4 waiting w/o worker" in str(queues.border_subtitle)
            idle = next(f for f in status if f.endswith("-arObjectMoveJob"))
            assert cell(idle, "alert") == "!"  # AtoM would refuse this type: nobody can run it

            # New jobs re-sort the rows (most waiting first): the cursor stays on its row.
            table.focus()
            # The bottom row of a type this site can queue (one that is not on it cannot).
            last = max(i for i in range(table.row_count) if not row_at(queues, i).not_on_site)
            table.move_cursor(row=last - 1)
            await pilot.pause()
            selected = queues.selected_row()
            mover = class_at(queues, last)  # nothing waiting: at the bottom
            await asyncio.to_thread(submit, lab, mover, 5, "low")
            await wait_in_thread(
                lambda: sum(r.waiting for r in queues.rows.values()) == 14,
                what="5 more jobs in the Queues pane",
            )
            await pilot.pause()
            assert class_at(queues, 0) == mover
            assert queues.selected_row() == selected
            assert table.cursor_row == last  # the row moved down by one, and the cursor with it

            await asyncio.to_thread(start_workers, lab, ["atom-worker@1.service"])
            await wait_in_thread(lambda: not queues.alerts, what="the alerts to clear")
            await pilot.pause()
            assert cell(report, "alert") == cell(idle, "alert") == ""
            assert not queues.border_subtitle
            assert app.is_running
    finally:
        drain(lab)


async def test_rows_keep_the_cursor_sort_and_filter(lab):
    app = AtomctlApp(lab.host(), settings=lab_settings(lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        queues = app.query_one(QueuesPane)
        await wait_in_thread(lambda: len(queues.rows) >= 17, what="the lab's 17 functions")
        await pilot.pause()
        table = queues.table
        table.focus()
        await pilot.press("down", "down", "down")
        selected = queues.selected_row()
        polls = PollRecorder(app.job_servers)
        await wait_in_thread(lambda: polls.count >= 3, what="three more polls")
        polls.unsubscribe()
        await pilot.pause()
        assert table.cursor_row == 3 and queues.selected_row() == selected

        await pilot.press("s", "s", "s")  # Wait → Run → Wkrs → Job class
        assert queues.sort_column == "job_class" and not queues.sort_reverse
        names = [class_at(queues, i) for i in range(table.row_count)]
        assert names == sorted(names, key=str.lower)
        assert queues.selected_row() == selected  # the cursor followed its row
        await pilot.press("S")
        names = [class_at(queues, i) for i in range(table.row_count)]
        assert names == sorted(names, key=str.lower, reverse=True)

        await pilot.press("slash", *"validate")
        assert [class_at(queues, i) for i in range(table.row_count)] == ["arValidateCsvJob"]
        await pilot.press("enter")
        assert app.focused is table
        await pilot.press("escape")
        assert table.row_count == len(queues.rows)
