"""The Workers pane's Gearman column end to end: real systemd, real gearmand, real poller.

A worker whose AtoM root names another job server than the one the console watches — the
"wrong server in gearman.yml" fault — is active in systemd but registered nowhere the console
looks: the column warns. A worker that does register shows its abilities.
"""

from __future__ import annotations

import pytest

from atomctl_tui.lab.layout import SITE_JOB_CLASSES
from tests.gearman_lab import lab_settings
from tests.lab_units import BOOT_WORKERS
from tests.ui.conftest import MISPOINTED
from tests.ui.screen_text import screen_text
from tests.ui.workers_console import SMALL_TERMINAL, RecordingApp, WorkersConsole

pytestmark = pytest.mark.lab


async def test_an_active_worker_registered_elsewhere_is_flagged(lab, mispointed_worker):
    app = RecordingApp(lab.host(), settings=lab_settings(lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.wait_cell(MISPOINTED, "pid", str(mispointed_worker.pid))
        await console.wait_cell(MISPOINTED, "gearman", "not registered")
        assert console.pane.table.get_cell(MISPOINTED, "gearman").style  # the warning colour
        # A default site's workers register its job classes (qtSwordPluginWorker not among them).
        abilities = f"{len(SITE_JOB_CLASSES)} abilities"
        for unit in BOOT_WORKERS:
            await console.wait_cell(unit, "gearman", abilities)
            assert not console.pane.table.get_cell(unit, "gearman").style
        # Drawn whole at once: the column widened before the table drew the new text.
        await pilot.pause()
        assert abilities in screen_text(app)
        assert "not registered" in screen_text(app)
