"""Driving the Health view in Pilot tests, and running `atomctl-tui check` as a monitoring
system would: on the host it checks (inside a lab), or from outside with --host."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator

from textual.pilot import Pilot

from atomctl_tui.health.findings import Finding, HealthRules
from atomctl_tui.health.monitor import HealthReport
from atomctl_tui.lab.state import LabState
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.health.screen import HealthScreen
from tests.ui.workers_console import SMALL_TERMINAL
from tests.waiting import wait_until_async

CLI = os.path.join(os.path.dirname(sys.executable), "atomctl-tui")
NO_CONFIG = {"XDG_CONFIG_HOME": "/nonexistent/atomctl-tui-tests"}
# The findings that need time, shortened so a test sees them within seconds.
QUICK_RULES = HealthRules(registration_grace=2.0, stalled_for=2.0, growing_for=4.0)


def run_check(*args: str, lab: LabState | None = None) -> subprocess.CompletedProcess:
    """`atomctl-tui check ARGS` — inside ``lab`` when given (its systemd is "this machine"),
    never reading the machine's own config file."""
    argv = [CLI, "check", *args]
    if lab is not None:
        argv = lab.nsenter("env", *(f"{k}={v}" for k, v in NO_CONFIG.items()), *argv)
    env = {**os.environ, **NO_CONFIG}
    env.pop("ATOMCTL_TUI_CONFIG", None)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)


def check_says(result: subprocess.CompletedProcess, status: int, *texts: str) -> str:
    """The check's line, once its exit status is ``status`` and it says each of ``texts``."""
    output = result.stdout + result.stderr
    assert result.returncode == status, output
    for text in texts:
        assert text in result.stdout, output
    return result.stdout


def check_in_lab(lab: LabState, *args: str) -> subprocess.CompletedProcess:
    return run_check("--atom-root", str(lab.paths.atom_root), *args, lab=lab)


class HealthView:
    def __init__(self, app: AtomctlApp, pilot: Pilot) -> None:
        self.app = app
        self.pilot = pilot

    async def open(self) -> HealthScreen:
        await self.pilot.press("h")  # the key an admin presses
        return await wait_until_async(
            lambda: self.app.screen if isinstance(self.app.screen, HealthScreen) else None,
            what="the Health view",
        )

    @property
    def screen(self) -> HealthScreen:
        screen = self.app.screen
        assert isinstance(screen, HealthScreen), screen
        return screen

    async def complete(self) -> HealthReport:
        """The report the view shows, once it rests on a poll and every host's units."""

        def shown() -> HealthReport | None:
            report = self.screen.report
            return report if report is not None and report.complete else None

        return await wait_until_async(shown, what="the Health view showing a complete report")

    def kinds(self) -> list[str]:
        return [finding.kind for finding in self.screen.findings.values()]

    def find(self, kind: str, **where: str) -> Finding | None:
        for finding in self.screen.findings.values():
            if finding.kind == kind and all(getattr(finding, k) == v for k, v in where.items()):
                return finding
        return None

    async def wait_finding(self, kind: str, timeout: float = 30, **where: str) -> Finding:
        return await wait_until_async(
            lambda: self.find(kind, **where),
            timeout=timeout,
            what=f"a {kind} finding {where or ''} (have {self.kinds()})",
        )

    async def wait_gone(self, kind: str, timeout: float = 30, **where: str) -> None:
        await wait_until_async(
            lambda: self.find(kind, **where) is None,
            timeout=timeout,
            what=f"the {kind} finding gone (have {self.kinds()})",
        )

    async def select(self, finding: Finding) -> str:
        """Move the cursor onto ``finding`` with the keys; the detail text shown for it."""
        await self.pilot.press("home")
        for _ in range(len(self.screen.findings)):
            selected = self.screen.selected()
            if selected is not None and selected.key == finding.key:
                break
            await self.pilot.press("down")
        selected = self.screen.selected()
        assert selected is not None and selected.key == finding.key, (finding, self.kinds())
        await self.pilot.pause()
        return self.detail()

    def detail(self) -> str:
        return str(self.screen.detail.render())


@contextlib.asynccontextmanager
async def health_view_of(app: AtomctlApp) -> AsyncIterator[HealthView]:
    """The console running at 80×24, its Health view opened with its key."""
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        view = HealthView(app, pilot)
        await view.open()
        yield view
