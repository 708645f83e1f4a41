"""The console's health, watched: every host's units and SSH connection, every poll of the
job servers, the workers' journal and each AtoM site's database, assessed by one
``HealthTracker`` kept between assessments, its findings handed to each listener.

Assessments run on a thread of their own: the sources' listeners only note the latest inputs
and wake it. It waits ``SETTLE_SECONDS`` (changes that come together are assessed together,
and the panes draw a poll first), then assesses; while some finding waits on time (a grace, a
window) it also assesses every ``TICK_SECONDS``. When nothing happens it costs nothing: a poll
that says nothing new wakes no one, and a report the same as the last is not handed on.

AtoM's databases are read once the first complete report is out (every host's units and a
poll), or ``SITES_AFTER_SECONDS`` after the start at the latest: finding the sites, importing
the driver and connecting to each (through its SSH master) would otherwise compete with the
panes' first data, which matters more (a fleet of 20 filled its panes up to a second later).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from atomctl_tui.config import Settings
from atomctl_tui.fleet import Fleet
from atomctl_tui.gearman.watch import JobServersWatch, Snapshots
from atomctl_tui.health.findings import Finding, HealthRules
from atomctl_tui.health.sources import FleetFacts, UnitsReading
from atomctl_tui.health.tracker import HealthTracker
from atomctl_tui.journal.worker_activity import ActivitySnapshot, WorkerActivity
from atomctl_tui.remote.ssh_link import LinkStatus
from atomctl_tui.systemd.units import UnitsUpdate

if TYPE_CHECKING:  # the database's modules are imported on the monitor's thread, when used
    from atomctl_tui.atom_db.watch import AtomJobsWatch, JobsSnapshot

SETTLE_SECONDS = 0.2
TICK_SECONDS = 5.0
SITES_AFTER_SECONDS = 5.0


@dataclass(frozen=True)
class HealthReport:
    """The findings of one assessment, most severe first."""

    findings: tuple[Finding, ...]
    complete: bool
    """They rest on a poll of the job servers and on every reachable host's units (until
    then, what is missing may still be only unread)."""


Listener = Callable[[HealthReport], object]
# What a poll says that findings rest on; its time alone is not news.
PollWords = tuple[tuple[object, ...], ...]
AtomJobsWatches = Callable[[], Mapping[str, "AtomJobsWatch"]]
"""Each AtoM site's jobs watch, by host label: found on the monitor's thread once the first
complete report is out (finding them reads settings and imports the database's driver)."""


class HealthMonitor:
    """Assesses the fleet's health while anyone listens: the sources are watched and the
    thread starts with the first listener; ``close()`` ends both, for good."""

    def __init__(
        self,
        fleet: Fleet,
        settings: Settings,
        rules: HealthRules,
        job_servers: JobServersWatch,
        activities: Sequence[WorkerActivity] = (),
        atom_jobs: AtomJobsWatches | None = None,
    ) -> None:
        """``activities``: what each host's workers log (failed jobs, abilities not defined);
        ``atom_jobs``: the AtoM sites' jobs watches (stuck and failed jobs, plugins)."""
        self._fleet = fleet
        self._settings = settings
        self._job_servers = job_servers
        self._activities = tuple(activities)
        self._activity: dict[str, ActivitySnapshot] = {}
        self._atom_watches = atom_jobs
        self._watches: Mapping[str, AtomJobsWatch] = {}
        self._atom_jobs: dict[str, JobsSnapshot] = {}
        self._tracker = HealthTracker(rules)
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._report: HealthReport | None = None
        self._readings = {label: UnitsReading() for label in fleet.labels}
        self._links: dict[str, LinkStatus] = {}
        self._snapshots: Snapshots | None = None
        self._said: PollWords | None = None
        self._unsubscribes: list[Callable[[], None]] = []
        self._started = False
        self._wake = threading.Event()
        self._closed = threading.Event()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with the last report now (if there was one) and with each new
        one, on the monitor's thread; returns unsubscribe. Listeners must return quickly
        and never call back into the monitor."""
        with self._lock:
            if self._report is not None:
                listener(self._report)
            self._listeners.append(listener)
            start = not self._started and not self._closed.is_set()
            self._started = True
        if start:
            self._start()

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def close(self) -> None:
        """Stop watching and assessing, for good: the thread ends after the assessment in
        progress, if any. Never waits: the UI thread calls it."""
        self._closed.set()
        self._wake.set()
        with self._lock:
            unsubscribes, self._unsubscribes = self._unsubscribes, []
            self._listeners.clear()
        for unsubscribe in unsubscribes:
            unsubscribe()

    # --- the sources' listeners (their threads) ---

    def _start(self) -> None:
        unsubscribes = []
        for member in self._fleet.members:
            unsubscribes.append(member.units.subscribe(self._units_listener(member.label)))
            if member.link is not None:
                unsubscribes.append(member.link.subscribe(self._link_listener(member.label)))
        unsubscribes.append(self._job_servers.subscribe(self._polled))
        unsubscribes.extend(activity.subscribe(self._logged) for activity in self._activities)
        with self._lock:
            self._unsubscribes.extend(unsubscribes)
        threading.Thread(target=self._run, name="health-monitor", daemon=True).start()
        if self._closed.is_set():  # closed while starting: undo what close() did not see
            self.close()

    def _units_listener(self, label: str) -> Callable[[UnitsUpdate], None]:
        reading = self._readings[label]

        def listener(update: UnitsUpdate) -> None:
            reading(update)
            self._wake.set()

        return listener

    def _link_listener(self, label: str) -> Callable[[LinkStatus], None]:
        def listener(status: LinkStatus) -> None:
            with self._lock:
                self._links[label] = status
            self._wake.set()

        return listener

    def _polled(self, snapshots: Snapshots) -> None:
        said = tuple(
            (s.server, s.reachable, s.error, s.functions, s.connections) for s in snapshots
        )
        with self._lock:
            self._snapshots = snapshots
            news = said != self._said
            self._said = said
        if news:  # the tick assesses the findings that need time
            self._wake.set()

    def _logged(self, activity: ActivitySnapshot) -> None:
        with self._lock:
            before = self._activity.get(activity.host_label)
            self._activity[activity.host_label] = activity
        if before is not None and before.running != activity.running:
            # A worker started or ended a job: its row has changed in the database too, and a
            # job that ended must not look lost on the database's last read.
            for watch in self._watches.values():
                watch.poll_now()
        if before is None or (before.undefined_abilities, before.failures) != (
            activity.undefined_abilities,
            activity.failures,
        ):
            self._wake.set()  # a job started or ended changes no finding by itself

    def _atom_jobs_listener(self, label: str) -> Callable[[JobsSnapshot], None]:
        def listener(snapshot: JobsSnapshot) -> None:
            with self._lock:
                before = self._atom_jobs.get(label)
                self._atom_jobs[label] = snapshot
            if before is None or self._tracker.waiting_on_time or _said(before) != _said(snapshot):
                self._wake.set()

        return listener

    def _watch_atom_sites(self) -> None:
        """Subscribe to each AtoM site's jobs watch (on the monitor's thread)."""
        if self._atom_watches is None:
            return
        watches = self._atom_watches()
        unsubscribes = []
        with self._lock:
            self._watches = watches
        for label, watch in watches.items():
            unsubscribes.append(watch.subscribe(self._atom_jobs_listener(label), background=True))
        with self._lock:
            closed = self._closed.is_set()
            if not closed:
                self._unsubscribes.extend(unsubscribes)
        if closed:  # closed meanwhile: close() did not see these
            for unsubscribe in unsubscribes:
                unsubscribe()

    # --- the monitor's thread ---

    def _run(self) -> None:
        facts = FleetFacts(self._fleet, self._settings)  # reads gearman.yml: not on the UI thread
        sites_due: float | None = time.monotonic() + SITES_AFTER_SECONDS
        while not self._closed.is_set():
            tick = TICK_SECONDS if self._tracker.waiting_on_time else None
            if sites_due is not None:
                left = max(0.0, sites_due - time.monotonic())
                tick = left if tick is None else min(tick, left)
            if self._wake.wait(tick):
                self._closed.wait(SETTLE_SECONDS)
            if self._closed.is_set():
                return
            self._wake.clear()
            complete = self._assess(facts)
            if sites_due is not None and (complete or time.monotonic() >= sites_due):
                sites_due = None
                self._watch_atom_sites()

    def _assess(self, facts: FleetFacts) -> bool:
        """Assess, and hand on a report that differs from the last; whether it is complete."""
        with self._lock:
            snapshots, links = self._snapshots, dict(self._links)
            activities = dict(self._activity)
            atom_jobs = dict(self._atom_jobs)
        inputs = facts.inputs(
            self._readings, links, snapshots, activities=activities, atom_jobs=atom_jobs
        )
        findings = self._tracker.assess(inputs)
        complete = snapshots is not None and all(
            reading.done.is_set() or (label in links and not links[label].connected)
            for label, reading in self._readings.items()
        )
        report = HealthReport(tuple(findings), complete)
        with self._lock:
            if report == self._report or self._closed.is_set():
                return complete
            self._report = report
            for listener in list(self._listeners):
                listener(report)
        return complete


def _said(snapshot: JobsSnapshot) -> tuple[object, ...]:
    """What a read of AtoM's database says that findings rest on (not its time)."""
    summary = snapshot.summary
    errors = summary.errors_last_hour if summary is not None else ()
    in_progress = tuple(job.id for job in snapshot.in_progress)
    return (snapshot.error, errors, in_progress, snapshot.plugins)
