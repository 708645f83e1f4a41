"""The health monitor: the lab moments of tests/fixtures/health, handed to it as its sources
would, come back as reports — complete once a poll and the host's units are in, and only
when they change."""

from __future__ import annotations

import threading
from collections.abc import Callable
from itertools import pairwise

from atomctl_tui.atom import DEFAULT_WORKER_TYPES
from atomctl_tui.config import Settings
from atomctl_tui.fleet import Fleet, FleetMember
from atomctl_tui.gearman.servers import parse_server_address
from atomctl_tui.gearman.watch import Snapshots
from atomctl_tui.health.findings import SERVER_UNREACHABLE, HealthRules
from atomctl_tui.health.monitor import HealthMonitor, HealthReport
from atomctl_tui.remote.hosts import Host
from atomctl_tui.systemd.bus import ConnectionStatus
from atomctl_tui.systemd.units import UnitsUpdate
from tests.test_health import HOST, MAIN, load, snapshot, units_of
from tests.waiting import wait_until


class Source:
    """Stands for a unit watch or the job servers' watch: one listener, told what the test
    says."""

    def __init__(self, first: UnitsUpdate | None = None) -> None:
        self.first = first
        self.listener: Callable | None = None

    def subscribe(self, listener: Callable) -> Callable[[], None]:
        if self.first is not None:
            listener(self.first)
        self.listener = listener

        def unsubscribe() -> None:
            self.listener = None

        return unsubscribe

    def tell(self, news: Snapshots) -> None:
        assert self.listener is not None
        self.listener(news)


class Reports:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reports: list[HealthReport] = []

    def __call__(self, report: HealthReport) -> None:
        with self._lock:
            self.reports.append(report)

    def wait(self, count: int) -> list[HealthReport]:
        def arrived() -> list[HealthReport] | None:
            with self._lock:
                return list(self.reports) if len(self.reports) >= count else None

        return wait_until(arrived, what=f"{count} reports (have {self.reports})")


def healthy_lab() -> tuple[dict, Source, Source, Fleet, Settings]:
    """The healthy lab moment: its document, its units' and polls' sources, fleet, settings."""
    doc = load("healthy")
    units = Source(
        UnitsUpdate(
            changed=units_of("healthy"),
            status=ConnectionStatus(True),
            templates=tuple(doc["templates"]),
            listed=True,
        )
    )
    polls = Source()
    fleet = Fleet([FleetMember(Host(HOST), units)])
    settings = Settings(
        servers=(parse_server_address(MAIN),),
        servers_source="the test",
        atom_root=None,
        site_prefix=doc["site_prefix"],
        worker_types=DEFAULT_WORKER_TYPES,
    )
    return doc, units, polls, fleet, settings


def test_reports_are_complete_with_a_poll_and_said_only_when_they_change():
    doc, units, polls, fleet, settings = healthy_lab()
    monitor = HealthMonitor(fleet, settings, HealthRules(), polls)
    reports = Reports()
    monitor.subscribe(reports)
    try:
        (first,) = reports.wait(1)
        assert first == HealthReport((), complete=False)  # the units alone: no poll yet

        at = doc["captured_at"]
        polls.tell((snapshot(MAIN, doc["servers"][MAIN], at),))
        assert reports.wait(2)[1] == HealthReport((), complete=True)
        polls.tell((snapshot(MAIN, doc["servers"][MAIN], at + 5),))  # nothing new said
        polls.tell((snapshot(MAIN, {"unreachable": "connection refused"}, at + 10),))
        reports_now = reports.wait(3)
        assert [f.kind for f in reports_now[2].findings] == [SERVER_UNREACHABLE]
        assert all(a != b for a, b in pairwise(reports_now))
    finally:
        monitor.close()
    assert units.listener is None and polls.listener is None


def test_atom_sites_are_read_once_the_first_report_is_complete():
    """AtoM's databases wait for every host's units and a poll: they would compete with the
    panes' first data."""
    doc, _units, polls, fleet, settings = healthy_lab()
    reports = Reports()
    seen_when_asked: list[list[HealthReport]] = []

    def atom_jobs() -> dict:
        seen_when_asked.append(list(reports.reports))
        return {}

    monitor = HealthMonitor(fleet, settings, HealthRules(), polls, atom_jobs=atom_jobs)
    monitor.subscribe(reports)
    try:
        (first,) = reports.wait(1)
        assert not first.complete
        polls.tell((snapshot(MAIN, doc["servers"][MAIN], doc["captured_at"]),))
        wait_until(lambda: seen_when_asked, what="the AtoM sites asked for")
        (seen,) = seen_when_asked
        assert [report.complete for report in seen] == [False, True]
    finally:
        monitor.close()


def test_atom_sites_are_read_in_time_when_the_report_is_never_complete(monkeypatch):
    """A host whose units never come (nor a poll): AtoM's databases are read all the same,
    ``SITES_AFTER_SECONDS`` after the start."""
    monkeypatch.setattr("atomctl_tui.health.monitor.SITES_AFTER_SECONDS", 0.2)
    _doc, _units, polls, _fleet, settings = healthy_lab()
    silent = Fleet([FleetMember(Host(HOST), Source())])  # never lists its units
    asked = threading.Event()

    def atom_jobs() -> dict:
        asked.set()
        return {}

    monitor = HealthMonitor(silent, settings, HealthRules(), polls, atom_jobs=atom_jobs)
    reports = Reports()
    monitor.subscribe(reports)
    try:
        wait_until(asked.is_set, what="the AtoM sites asked for")
        assert not any(report.complete for report in reports.reports)
    finally:
        monitor.close()
