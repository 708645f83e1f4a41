"""The Queues pane's columns chosen by width: the least useful dropped first, none off-screen."""

from __future__ import annotations

import itertools

from atomctl_tui.ui.queues.pane import CELL_PADDING, COLUMNS, choose_columns

WIDTHS = {c.key: len(c.label) + 1 for c in COLUMNS} | {
    "job_class": 36,  # arPhysicalObjectCsvHoldingsReportJob
    "trend": 14,
    "worker_type": 8,
    "description": 60,
    "server": 25,
}
COUNTS = ("alert", "waiting", "running", "workers")


def width_of(columns: tuple[str, ...], job_class_width: int | None) -> int:
    return sum(
        (job_class_width if key == "job_class" and job_class_width else WIDTHS[key]) + CELL_PADDING
        for key in columns
    )


def test_a_narrow_pane_keeps_the_counts_and_cuts_the_job_class_to_fit():
    shown, cut = choose_columns(WIDTHS, 40, several_servers=False)  # 80x24's Queues pane
    assert shown == (*COUNTS, "job_class")
    assert cut is not None and width_of(shown, cut) == 40


def test_wider_panes_add_columns_in_order_and_never_overflow():
    seen: list[tuple[str, ...]] = []
    for available in range(40, 260):
        shown, cut = choose_columns(WIDTHS, available, several_servers=False)
        assert width_of(shown, cut) <= available
        seen.append(shown)
    assert seen[-1] == tuple(c.key for c in COLUMNS)  # everything at last
    # Each wider pane shows what a narrower one did, and more: nothing comes and goes.
    assert all(set(a) <= set(b) for a, b in itertools.pairwise(seen))
    at_80 = choose_columns(WIDTHS, 80, several_servers=False)
    assert at_80 == ((*COUNTS, "job_class", "trend"), None)  # 120x36's Queues pane


def test_with_several_servers_the_server_is_kept_and_the_job_class_cut():
    shown, cut = choose_columns(WIDTHS, 70, several_servers=True)
    assert shown == (*COUNTS, "job_class", "server")
    assert cut is not None and width_of(shown, cut) <= 70
    shown, _ = choose_columns(WIDTHS, 70, several_servers=False)
    assert "server" not in shown
