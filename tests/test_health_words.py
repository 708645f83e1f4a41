"""The health words an admin reads: counts in the plural, and no phrase said twice."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, ComposeResult

from atomctl_tui.health.findings import (
    UNIT_FAILED,
    Finding,
    HealthRules,
    HostView,
    Severity,
)
from atomctl_tui.health.monitor import HealthReport
from atomctl_tui.health.unit_rules import UnitRules
from atomctl_tui.systemd.bus import ConnectionStatus
from atomctl_tui.ui.health.strip import HealthStrip


def systemd_finding(detail: str) -> str:
    host = HostView("archive-01", systemd=ConnectionStatus(False, detail))
    (finding,) = UnitRules(HealthRules(), history=False).host_findings([host])
    return finding.problem


def test_the_systemd_finding_says_the_connections_words_once():
    detail = "cannot reach systemd on archive-01 (Connection refused); reconnecting in 4 s"
    assert systemd_finding(detail) == (
        "Cannot reach systemd on archive-01 (Connection refused); reconnecting in 4 s."
    )


def test_the_systemd_finding_names_the_host_when_the_words_do_not():
    assert systemd_finding("no answer from systemd within 10 s") == (
        "Cannot reach systemd on archive-01: no answer from systemd within 10 s."
    )


class OneReport:
    """A health monitor that has made one report."""

    def __init__(self, report: HealthReport) -> None:
        self.report = report

    def subscribe(self, listener: Callable[[HealthReport], object]) -> Callable[[], None]:
        listener(self.report)
        return lambda: None


def warning(unit: str, severity: Severity = Severity.WARNING) -> Finding:
    return Finding(UNIT_FAILED, severity, unit, f"{unit} failed.", "Read its journal.")


async def strip_text(findings: list[Finding]) -> str:
    monitor = OneReport(HealthReport(tuple(findings), complete=True))

    class StripApp(App[None]):
        def compose(self) -> ComposeResult:
            yield HealthStrip(monitor, {}, id="strip")  # type: ignore[arg-type]

    app = StripApp()
    async with app.run_test(size=(100, 3)) as pilot:
        await pilot.pause()
        return str(app.query_one(HealthStrip).content)


async def test_the_strip_counts_warnings_in_the_plural():
    text = await strip_text([warning("atom-worker@1"), warning("atom-worker@2")])
    assert text.startswith("▲ 2 warnings ·"), text
    assert (await strip_text([warning("atom-worker@1")])).startswith("▲ 1 warning ·")


async def test_critical_is_an_adjective_and_keeps_its_form():
    both = [warning("h1", Severity.CRITICAL), warning("h2", Severity.CRITICAL), warning("w")]
    text = await strip_text(both)
    assert "2 critical · ▲ 1 warning ·" in text, text
