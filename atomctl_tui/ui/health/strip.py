"""The health strip: one line at the top of the main screen saying whether anything is wrong,
as the health monitor last found."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from atomctl_tui.health.findings import Finding, Severity, plural
from atomctl_tui.health.monitor import HealthMonitor, HealthReport
from atomctl_tui.ui.health.marks import MARKS
from atomctl_tui.ui.keymap import key_display
from atomctl_tui.ui.messages import HealthReported

# The app's key for the Health view (ui/app.py binds it). Not in the footer: the strip names it,
# and at 80 columns the footer's room goes to the focused pane's keys.
HEALTH_BINDING = Binding("h", "health", "Health", show=False, id="app.health")


class HealthStrip(Static):
    def __init__(
        self, monitor: HealthMonitor, keymap: Mapping[str, str], *, id: str | None = None
    ) -> None:
        super().__init__("Health: checking…", id=id, markup=False)
        self.monitor = monitor
        self.keymap = keymap
        """The config file's `keys:`, to name the Health view's key where it now is."""
        self._unsubscribe: Callable[[], None] | None = None
        self._text = Text()
        """What the strip shows: a report that changes nothing of it repaints nothing."""

    def on_mount(self) -> None:
        self._unsubscribe = self.monitor.subscribe(
            lambda report: self.post_message(HealthReported(report))
        )

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def on_health_reported(self, message: HealthReported) -> None:
        self._show(message.report)

    def _show(self, report: HealthReport) -> None:
        findings = report.findings
        problems = [f for f in findings if f.severity > Severity.INFO]
        for severity in Severity:
            self.set_class(bool(problems) and problems[0].severity == severity, f"-{severity.word}")
        self.set_class(not problems, "-healthy")
        key = key_display(self.app, self.keymap, HEALTH_BINDING)
        text = Text(no_wrap=True, overflow="ellipsis")
        if not report.complete:
            text.append(f"Health: checking… · {key}: Health view")
        elif not problems:
            notes = len(findings)
            text.append("● No problems found")
            if notes:
                text.append(f" · {notes} note{'s' if notes != 1 else ''}")
            text.append(f" · {key}: Health view")
        else:
            counts = [
                f"{MARKS[severity]} {_count(problems, severity)}"
                for severity in (Severity.CRITICAL, Severity.WARNING)
                if any(f.severity == severity for f in problems)
            ]
            text.append(" · ".join(counts), style="bold")
            text.append(f" · {key}: details │ {problems[0].problem}")
        if text != self._text:
            self._text = text
            self.update(text)


def _count(problems: list[Finding], severity: Severity) -> str:
    """``2 warnings``, ``1 warning``; ``2 critical`` (an adjective: no plural)."""
    count = sum(1 for f in problems if f.severity == severity)
    if severity is Severity.CRITICAL:
        return f"{count} {severity.word}"
    return plural(count, severity.word)
