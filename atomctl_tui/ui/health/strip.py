"""The health strip: one line at the top of the main screen saying whether anything is wrong.

It owns the console's ``HealthTracker``: it takes every poll of the job servers (from the Job
server pane), each host's units (its own subscription) and SSH connection, assesses them
after each poll and shortly after any change, and keeps the findings for the Health view.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.gearman.watch import JobServersWatch
from atomctl_tui.health.findings import Finding, HealthInputs, HealthRules, HealthTracker, Severity
from atomctl_tui.health.sources import (
    UnitsReading,
    connection_owners,
    gearman_servers_by_host,
    host_view,
    server_hosts,
)
from atomctl_tui.remote.ssh_link import LinkStatus
from atomctl_tui.ui.health.screen import HealthScreen
from atomctl_tui.ui.keymap import key_display
from atomctl_tui.ui.messages import HostLinkChanged, JobServersPolled, UnitsChanged

SETTLE_SECONDS = 0.2  # changes that come together are assessed together
TICK_SECONDS = 5.0  # findings that need time appear even when nothing else happens
MARKS = {Severity.CRITICAL: "✖", Severity.WARNING: "▲", Severity.INFO: "●"}
# The app's key for the Health view (ui/app.py binds it).
HEALTH_BINDING = Binding("h", "health", "Health", id="app.health")


class HealthStrip(Static):
    def __init__(
        self, rules: HealthRules, job_servers: JobServersWatch, *, id: str | None = None
    ) -> None:
        super().__init__("Health: checking…", id=id, markup=False)
        self.job_servers = job_servers
        self.tracker = HealthTracker(rules)
        self.findings: list[Finding] = []
        self.assessments = 0
        self._snapshots: tuple[ServerSnapshot, ...] | None = None
        self._readings: dict[str, UnitsReading] = {}
        self._links: dict[str, LinkStatus] = {}
        self._unsubscribes: list[Callable[[], None]] = []
        self._pending = False
        self._text = Text()  # what the strip shows
        self._said: tuple | None = None  # what the last poll said that findings rest on

    @property
    def ready(self) -> bool:
        """True once the findings rest on a poll of the job servers and on every reachable
        host's units (a Pilot script waits for this before reading them)."""
        if self._snapshots is None or not self.assessments:
            return False
        return all(
            reading.done.is_set() or (label in self._links and not self._links[label].connected)
            for label, reading in self._readings.items()
        )

    def on_mount(self) -> None:
        app = self.app
        fleet, settings = app.fleet, app.settings
        targets = fleet.gearman_targets(settings)
        self._gearman_servers = gearman_servers_by_host(fleet, settings)
        self._server_hosts = server_hosts(fleet, targets)
        self._owners = connection_owners(fleet, targets)
        for member in fleet.members:
            label = member.label
            self._readings[label] = UnitsReading()
            self._unsubscribes.append(
                member.units.subscribe(
                    lambda update, label=label: self.post_message(UnitsChanged(update, label))
                )
            )
            if member.link is not None:
                self._links[label] = member.link.status
                self._unsubscribes.append(
                    member.link.subscribe(
                        lambda status, label=label: self.post_message(
                            HostLinkChanged(label, status)
                        )
                    )
                )
        self._unsubscribes.append(
            self.job_servers.subscribe(
                lambda snapshots: self.post_message(JobServersPolled(snapshots))
            )
        )
        self.set_interval(TICK_SECONDS, self._tick)

    def on_unmount(self) -> None:
        for unsubscribe in self._unsubscribes:
            unsubscribe()

    def on_units_changed(self, message: UnitsChanged) -> None:
        reading = self._readings.get(message.host_label or "")
        if reading is not None:
            reading(message.update)
            self._assess_soon()

    def on_host_link_changed(self, message: HostLinkChanged) -> None:
        self._links[message.host_label] = message.status
        self._assess_soon()

    def on_job_servers_polled(self, message: JobServersPolled) -> None:
        """One poll of the job servers. Assessed once the panes have drawn it (the tables
        come first), and only when the job servers say something new: the timer assesses the
        findings that need time."""
        snapshots = message.snapshots
        self._snapshots = snapshots
        said = tuple(
            (s.server, s.reachable, s.error, s.functions, s.connections) for s in snapshots
        )
        if said != self._said:
            self._said = said
            self.call_after_refresh(self.assess)

    def _tick(self) -> None:
        # With nothing new, an assessment finds what the last one did, unless a finding
        # waits on time; the Health view, when open, also dates its findings ("(5s)" ago).
        health_view = any(isinstance(screen, HealthScreen) for screen in self.app.screen_stack)
        if health_view or self.tracker.waiting_on_time:
            self.assess()

    def _assess_soon(self) -> None:
        if not self._pending:
            self._pending = True
            self.set_timer(SETTLE_SECONDS, self.assess)

    def assess(self) -> None:
        self._pending = False
        app = self.app
        settings = app.settings
        hosts = tuple(
            host_view(
                label,
                reading.units,
                templates=reading.templates,
                systemd=reading.status,
                link=self._links.get(label),
                gearman_servers=self._gearman_servers.get(label),
                worker_patterns=app.worker_patterns,
            )
            for label, reading in self._readings.items()
        )
        inputs = HealthInputs(
            hosts=hosts,
            snapshots=self._snapshots,
            site_prefix=settings.site_prefix,
            worker_types=settings.worker_types,
            worker_patterns=app.worker_patterns,
            server_hosts=self._server_hosts,
            owners=self._owners,
        )
        self.findings = self.tracker.assess(inputs)
        self.assessments += 1
        self._show()
        # The Health view, when open, shows the same findings.
        for screen in app.screen_stack:
            if isinstance(screen, HealthScreen):
                screen.show(self.findings, ready=self.ready)

    def _show(self) -> None:
        problems = [f for f in self.findings if f.severity > Severity.INFO]
        for severity in Severity:
            self.set_class(bool(problems) and problems[0].severity == severity, f"-{severity.word}")
        self.set_class(not problems, "-healthy")
        key = key_display(self.app, HEALTH_BINDING)
        text = Text(no_wrap=True, overflow="ellipsis")
        if not self.ready:
            text.append(f"Health: checking… · {key}: Health view")
        elif not problems:
            notes = len(self.findings)
            text.append("● No problems found")
            if notes:
                text.append(f" · {notes} note{'s' if notes != 1 else ''}")
            text.append(f" · {key}: Health view")
        else:
            counts = [
                f"{MARKS[severity]} {sum(1 for f in problems if f.severity == severity)}"
                f" {severity.word}"
                for severity in (Severity.CRITICAL, Severity.WARNING)
                if any(f.severity == severity for f in problems)
            ]
            text.append(" · ".join(counts), style="bold")
            text.append(f" · {key}: details │ {problems[0].problem}")
        if text != self._text:  # most assessments change nothing: no repaint for those
            self._text = text
            self.update(text)
