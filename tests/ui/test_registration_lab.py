"""The Workers pane's Gearman column end to end: real systemd, real gearmand, real poller.

A worker whose AtoM root names another job server than the one the console watches — the
"wrong server in gearman.yml" fault — is active in systemd but registered nowhere the console
looks: the column warns. A worker that does register shows its abilities.
"""

from __future__ import annotations

import shutil

import pytest

from atomctl_tui.atom import DEFAULT_WORKER_TYPES, gearman_yml_text
from atomctl_tui.lab import preflight
from atomctl_tui.lab.state import LabState
from tests.gearman_lab import lab_settings
from tests.lab_units import BOOT_WORKERS, main_pid, restore_workers
from tests.labs import inside
from tests.ui.screen_text import screen_text
from tests.ui.workers_console import SMALL_TERMINAL, RecordingApp, WorkersConsole

ELSEWHERE_UNIT = "atomctl-test-gearmand-elsewhere"
MISPOINTED = "atom-worker@7.service"


@pytest.fixture
def mispointed_worker(lab: LabState):
    """atom-worker@7 running against a second gearmand, on another port of the lab."""
    port = preflight.free_port(14730, {lab.gearman_port, lab.ssh_port})
    inside(lab, "systemd-run", f"--unit={ELSEWHERE_UNIT}", "/usr/sbin/gearmand",
           "--listen=127.0.0.1", f"--port={port}", "--log-file=none")  # fmt: skip
    elsewhere = lab.paths.root / "atom-elsewhere"
    (elsewhere / "config").mkdir(parents=True)
    (elsewhere / "config/gearman.yml").write_text(
        gearman_yml_text({"default": f"127.0.0.1:{port}"}, DEFAULT_WORKER_TYPES)
    )
    shutil.copy2(lab.paths.atom_root / "symfony", elsewhere / "symfony")
    for path in (elsewhere, elsewhere / "config"):
        path.chmod(0o755)
    dropin = lab.paths.unit_dir / f"{MISPOINTED}.d"
    dropin.mkdir()
    (dropin / "elsewhere.conf").write_text(f"[Service]\nWorkingDirectory={elsewhere}\n")
    inside(lab, "systemctl", "daemon-reload")
    inside(lab, "systemctl", "start", MISPOINTED)
    try:
        yield main_pid(lab, MISPOINTED)
    finally:
        inside(lab, "systemctl", "stop", MISPOINTED, ELSEWHERE_UNIT, check=False)
        shutil.rmtree(dropin)
        shutil.rmtree(elsewhere)
        inside(lab, "systemctl", "daemon-reload")
        restore_workers(lab)


async def test_an_active_worker_registered_elsewhere_is_flagged(lab, mispointed_worker):
    app = RecordingApp(lab.host(), settings=lab_settings(lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.wait_cell(MISPOINTED, "pid", str(mispointed_worker))
        await console.wait_cell(MISPOINTED, "gearman", "not registered")
        assert console.pane.table.get_cell(MISPOINTED, "gearman").style  # the warning colour
        for unit in BOOT_WORKERS:
            await console.wait_cell(unit, "gearman", "18 abilities")
            assert not console.pane.table.get_cell(unit, "gearman").style
        # Drawn whole at once: the column widened before the table drew the new text.
        await pilot.pause()
        assert "18 abilities" in screen_text(app)
        assert "not registered" in screen_text(app)
