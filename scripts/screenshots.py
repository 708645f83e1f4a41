"""Render SVG screenshots of the running console on a lab into screenshots/.

Run as root from the repository: `.venv/bin/python scripts/screenshots.py`. Boots a lab
named `shots` (and powers it off again) unless one is already running.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from atomctl_tui.config import resolve_settings
from atomctl_tui.lab.state import LabState
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.panes.journal import JournalPane
from atomctl_tui.ui.panes.queues import QueuesPane
from atomctl_tui.ui.panes.workers import WorkersPane

OUT = Path(__file__).resolve().parent.parent / "screenshots"
LAB_NAME = "shots"
SIZE = (100, 32)
LAB = [str(Path(sys.executable).with_name("atomctl-lab"))]
JOBS = [
    ("arFindingAidJob", 4, 120),
    ("arInformationObjectCsvExportJob", 3, 120),
    ("qtSwordPluginWorker", 2, 60),
]


async def wait_for(pilot: Pilot, ready: Callable[[], bool], what: str, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: no {what} after {timeout:.0f} s")
        await pilot.pause(0.1)


async def render(lab: LabState) -> list[Path]:
    written = []
    settings = resolve_settings(
        cli_servers=[lab.gearman_server], cli_atom_root=str(lab.paths.atom_root)
    )
    app = AtomctlApp(lab.host(), settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        queues = app.query_one(QueuesPane)
        await wait_for(pilot, lambda: queues.table.row_count > 0, "queue rows")
        await wait_for(pilot, lambda: app.query_one(WorkersPane).table.row_count > 2, "workers")
        journal = app.query_one(JournalPane).view
        await wait_for(pilot, lambda: len(journal.rows) > 5, "journal lines")
        workers = app.query_one(WorkersPane).table
        await wait_for(
            pilot,
            lambda: "abilities" in workers.get_cell("atom-worker@1.service", "gearman").plain,
            "Gearman registrations",
        )
        await pilot.pause(0.5)  # let the tables re-measure their columns
        written.append(Path(app.save_screenshot("main.svg", str(OUT))))
        await pilot.press("question_mark")
        await pilot.pause()
        written.append(Path(app.save_screenshot("help.svg", str(OUT))))
    return written


def main() -> int:
    OUT.mkdir(exist_ok=True)
    lab = LabState.load(LAB_NAME)
    booted = lab is None or not lab.is_running()
    if booted:
        subprocess.run([*LAB, "up", "--name", LAB_NAME, "--workers", "3"], check=True)
        lab = LabState.load(LAB_NAME)
        # Something to look at: long jobs keep the workers busy, more wait behind them.
        for job_class, count, seconds in JOBS:
            subprocess.run(
                [*LAB, "submit", "--name", LAB_NAME, job_class, "--count", str(count),
                 "--seconds", str(seconds)],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
    try:
        for path in asyncio.run(render(lab)):
            print(path)
    finally:
        if booted:
            subprocess.run([*LAB, "down", "--name", LAB_NAME], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
