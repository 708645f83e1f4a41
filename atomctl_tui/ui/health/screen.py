"""The Health view: every finding — what is wrong, where, since when — with what to do, and
a key that does it through the usual unit-action flow (confirmations as in the Workers pane),
or, for a stuck AtoM job, through the AtoM jobs view's marking (confirmed, audited).

It shows the health monitor's reports as they come. Rows are keyed by finding and updated
in place, so the cursor stays on the finding the admin is reading while others come and go.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from atomctl_tui.fleet import Fleet
from atomctl_tui.health.findings import Finding, Severity
from atomctl_tui.health.monitor import HealthMonitor, HealthReport
from atomctl_tui.journal.focus import JournalFocus
from atomctl_tui.systemd.actions import Action
from atomctl_tui.systemd.unit_text import duration_text, unit_label
from atomctl_tui.ui.health.marks import MARKS, STYLES
from atomctl_tui.ui.keymap import key_display
from atomctl_tui.ui.messages import HealthReported
from atomctl_tui.ui.unit_action_flow import run_unit_action
from atomctl_tui.ui.widgets.keyed_table import KeyedTable

if TYPE_CHECKING:
    from atomctl_tui.atom_db.atom_site import AtomSite

AGE_SECONDS = 5.0  # how often the selected finding's age ("since … (5m10s)") is said again
COLUMNS = (("mark", ""), ("since", "Since"), ("where", "Where"), ("what", "What"))


class Mark(Text):
    """A finding's severity mark, and its place in the list (the table sorts by it)."""

    __slots__ = ("rank",)

    def __init__(self, mark: str, rank: int, *, style: str) -> None:
        super().__init__(mark, style=style)
        self.rank = rank


Rank = tuple[Severity, int]
"""The mark column's value: the finding's severity, and its place in the list."""


def finding_cell(column: str, value: Rank | str) -> Text:
    if isinstance(value, tuple):
        severity, rank = value
        return Mark(MARKS[severity], rank, style=STYLES[severity])
    return Text(value, no_wrap=True)


class HealthScreen(Screen[None]):
    SCREEN_TITLE = "Health"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back to the panes", id="health.close"),
        Binding("enter", "fix", "Do what it suggests", id="health.fix"),
        Binding("j", "journal", "Its journal", id="health.journal"),
        Binding("up", "cursor_up", "Previous finding", show=False, id="health.up"),
        Binding("down", "cursor_down", "Next finding", show=False, id="health.down"),
        Binding("home", "first", "First finding", show=False, id="health.first"),
        Binding("end", "last", "Last finding", show=False, id="health.last"),
    ]

    def __init__(
        self,
        monitor: HealthMonitor,
        fleet: Fleet,
        journal_focus: JournalFocus,
        keymap: Mapping[str, str],
        *,
        read_only: bool,
        worker_patterns: Sequence[str],
        atom_sites: Sequence[AtomSite] = (),
    ) -> None:
        """``fleet`` and ``worker_patterns``: where a fix acts, and on which units;
        ``atom_sites``: where a stuck AtoM job is marked failed."""
        super().__init__()
        self.atom_sites = {site.host.label: site for site in atom_sites}
        self.monitor = monitor
        self.fleet = fleet
        self.journal_focus = journal_focus
        self.read_only = read_only
        self.worker_patterns = worker_patterns
        self.keymap = keymap
        """The config file's `keys:`, to name the keys where they now are."""
        self.table: KeyedTable[Rank | str] = KeyedTable(finding_cell, id="health-table")
        self.table.can_focus = False  # the screen drives its cursor (enter acts on a finding)
        for key, label in COLUMNS:
            self.table.add_column(label, key=key)
        self.table.order_by("mark", key=lambda mark: mark.rank)
        self.findings: dict[str, Finding] = {}
        self.report: HealthReport | None = None
        """The report shown (None until the first arrives)."""
        self._unsubscribe: Callable[[], None] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="health", classes="pane") as frame:
            frame.border_title = Text("Health")  # not markup
            yield Static(Text(""), id="health-summary")
            yield self.table
            yield Static(Text(""), id="health-detail")
        yield Footer()

    def on_mount(self) -> None:
        # Kept, not queried: an update may arrive while the screen is being taken down.
        self.summary = self.query_one("#health-summary", Static)
        self.detail = self.query_one("#health-detail", Static)
        self._show_summary()  # "Checking…" until the first report
        self._unsubscribe = self.monitor.subscribe(
            lambda report: self.post_message(HealthReported(report))
        )
        self.set_interval(AGE_SECONDS, self._show_age)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def on_health_reported(self, message: HealthReported) -> None:
        self.show(message.report)

    # --- showing ---

    def show(self, report: HealthReport) -> None:
        """Show ``report``'s findings (most severe first): rows updated by key, the cursor kept
        on the finding it was on."""
        table = self.table
        wanted = {finding.key: finding for finding in report.findings}
        table.keep_rows(wanted)
        now = time.time()
        for rank, (key, finding) in enumerate(wanted.items()):
            table.upsert(key, self._values(finding, rank, now))
        table.resort()
        self.findings = wanted
        self.report = report
        self._show_summary()
        self._show_detail()
        self.refresh_bindings()

    def _values(self, finding: Finding, rank: int, now: float) -> dict[str, Rank | str]:
        since = ""
        if finding.since is not None:
            shape = "%H:%M:%S" if now - finding.since < 86400 else "%Y-%m-%d"
            since = time.strftime(shape, time.localtime(finding.since))
        return {
            "mark": (finding.severity, rank),
            "since": since,
            "where": self._where(finding),
            "what": finding.problem,
        }

    def _where(self, finding: Finding) -> str:
        """The unit (and its host, with several hosts), else the finding's subject."""
        if finding.unit is None:
            return finding.subject
        where = unit_label(finding.unit)
        return f"{where} on {finding.host}" if self.fleet.several else where

    def _show_summary(self) -> None:
        findings = list(self.findings.values())
        text = Text()
        if self.report is None or not self.report.complete:
            text.append("Checking: waiting for the job servers and systemd…  ")
        elif not findings:
            text.append("● No problems found.", style="green")
        for severity in Severity:
            count = sum(1 for f in findings if f.severity == severity)
            if count:
                word = severity.word if severity != Severity.INFO else "note"
                text.append(f"{MARKS[severity]} {count} {word}  ", style=STYLES[severity])
        self.summary.update(text)

    def _show_age(self) -> None:
        finding = self.selected()
        if finding is not None and finding.since is not None:
            self._show_detail()

    def selected(self) -> Finding | None:
        return self.findings.get(self.current_key() or "")

    def current_key(self) -> str | None:
        return self.table.cursor_key

    def _show_detail(self) -> None:
        finding = self.selected()
        text = Text()
        if finding is not None:
            severity = finding.severity
            text.append(f"{MARKS[severity]} {severity.word}", STYLES[severity])
            text.append(f" · {self._where(finding)}")
            if finding.since is not None:
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(finding.since))
                text.append(f" · since {when} ({duration_text(time.time() - finding.since)})")
            text.append(f"\n{finding.problem}\n")
            text.append("What to do: ", style="bold")
            text.append(finding.advice)
            keys = self._suggested_keys(finding)
            if keys:
                text.append(f"\n{keys}", style="bold")
        self.detail.update(text)

    def _suggested_keys(self, finding: Finding) -> str:
        keys = []
        bindings = {b.id: b for b in Binding.make_bindings(self.BINDINGS)}
        if self._can_fix(finding) and not self.read_only:
            key = key_display(self.app, self.keymap, bindings["health.fix"])
            keys.append(f"{key}: {self._fix_words(finding)}")
        if finding.journal is not None:
            key = key_display(self.app, self.keymap, bindings["health.journal"])
            keys.append(f"{key}: the journal of {unit_label(finding.journal)}")
        return " · ".join(keys)

    # --- keys ---

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "fix":
            if self.read_only:
                return False  # not offered at all, as in the Workers pane
            finding = self.selected()
            return True if finding is not None and self._can_fix(finding) else None
        if action == "journal":
            finding = self.selected()
            return True if finding is not None and finding.journal is not None else None
        return True

    def _moved(self) -> None:
        self._show_detail()
        self.refresh_bindings()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()
        self._moved()

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()
        self._moved()

    def action_first(self) -> None:
        self.table.move_cursor(row=0)
        self._moved()

    def action_last(self) -> None:
        self.table.move_cursor(row=max(0, self.table.row_count - 1))
        self._moved()

    def action_journal(self) -> None:
        finding = self.selected()
        if finding is None or finding.journal is None:
            return
        host = finding.host if self.fleet.several else None
        self.app.pop_screen()
        self.journal_focus.show(finding.journal, host)

    def _can_fix(self, finding: Finding) -> bool:
        if finding.atom_job is not None:
            return finding.host in self.atom_sites
        return finding.fix is not None

    def _fix_words(self, finding: Finding) -> str:
        if finding.atom_job is not None:
            return f"mark job {finding.atom_job.job.id} failed"
        assert finding.fix is not None
        return finding.fix.words

    def action_fix(self) -> None:
        finding = self.selected()
        if finding is None or not self._can_fix(finding):
            return
        if finding.atom_job is not None:
            from atomctl_tui.ui.atom_jobs.mark_failed import MarkFailedFlow

            site = self.atom_sites[finding.host or ""]
            stuck = finding.atom_job
            MarkFailedFlow(self, site, read_only=self.read_only).start(stuck.job, stuck.whereabouts)
            return
        self.run_worker(self._fix(finding), group="unit-actions")

    async def _fix(self, finding: Finding) -> None:
        fix = finding.fix
        assert fix is not None
        actions = self.fleet.member(fix.host).units.actions(self.worker_patterns)
        for action, units in fix.steps:
            outcomes = await run_unit_action(
                self, [(actions, list(units))], action, self.journal_focus
            )
            if not outcomes or not all(outcome.ok for outcome in outcomes):
                return  # cancelled, or it failed (the notification says why): stop there
            if action is Action.ADD_WORKER:
                return
