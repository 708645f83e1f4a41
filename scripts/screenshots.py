"""Render SVG screenshots of the running console on a lab into screenshots/.

Run as root from the repository: `.venv/bin/python scripts/screenshots.py`. Boots a lab
named `shots` (and powers it off again) unless one is already running.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from atomctl_tui.config import resolve_settings
from atomctl_tui.lab.state import LabState
from atomctl_tui.ui.app import AtomctlApp

OUT = Path(__file__).resolve().parent.parent / "screenshots"
LAB_NAME = "shots"
SIZE = (100, 32)
LAB = [str(Path(sys.executable).with_name("atomctl-lab"))]


async def render(lab: LabState) -> list[Path]:
    written = []
    settings = resolve_settings(
        cli_servers=[lab.gearman_server], cli_atom_root=str(lab.paths.atom_root)
    )
    app = AtomctlApp(lab.host(), settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
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
        subprocess.run([*LAB, "up", "--name", LAB_NAME], check=True)
        lab = LabState.load(LAB_NAME)
    try:
        for path in asyncio.run(render(lab)):
            print(path)
    finally:
        if booted:
            subprocess.run([*LAB, "down", "--name", LAB_NAME], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
