"""`atomctl-tui check`: the health findings of this moment, said the way a Nagios or Icinga
plugin says them — one line, ``ATOMCTL <STATUS> - <what is wrong> | <perfdata>`` — and its
exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the check itself could not run).

It computes the same findings as the console's Health view, with the same module, but once
(the workers' journal read once too: ``journal/worker_history.py``; AtoM's database too,
after the job servers' poll, so a job it finds lost was lost already):
there is no history, so findings that need time (a restart loop seen as NRestarts rising,
waiting jobs growing, jobs not taken) are not reported; what systemd and gearmand say at
once is (a unit failed, with its Result; a unit caught in auto-restart; registrations).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.config import Settings
from atomctl_tui.fleet import Fleet, GearmanTarget, open_fleet
from atomctl_tui.gearman.poller import JobServersPoller
from atomctl_tui.gearman.queue_rows import NOT_ATOM, THIS_SITE, QueueRow, build_queue_rows
from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.health.findings import Finding, HealthRules, Severity
from atomctl_tui.health.sources import FleetFacts, UnitsReading
from atomctl_tui.health.tracker import HealthTracker
from atomctl_tui.journal.worker_history import read_worker_history
from atomctl_tui.remote.hosts import local_host
from atomctl_tui.remote.ssh_link import LinkStatus
from atomctl_tui.systemd.bus import ConnectionStatus

if TYPE_CHECKING:
    from atomctl_tui.atom_db.connection import AtomDatabase
    from atomctl_tui.atom_db.watch import JobsSnapshot

PLUGIN = "ATOMCTL"
EXIT_OK = 0
EXIT_WARNING = 1
EXIT_CRITICAL = 2
EXIT_UNKNOWN = 3
STATUS_WORDS = {EXIT_OK: "OK", EXIT_WARNING: "WARNING", EXIT_CRITICAL: "CRITICAL"}
STATUS_WORDS[EXIT_UNKNOWN] = "UNKNOWN"
DEFAULT_TIMEOUT = 10.0  # seconds for the whole check: Nagios's own default plugin timeout
MIN_POLL_SECONDS = 1.0  # what the job servers get even when systemd took the rest
RESULT_SECONDS = 0.3  # kept, when AtoM's databases are slow, to weigh and write the result
MAX_TEXT = 1500  # characters of findings before the perfdata (Nagios keeps 4 KB of output)
# Characters of perfdata: with the text, the line stays within Nagios's 4 KB whatever the
# servers list (an AtoM site's own 20-odd job types take about 2,000).
MAX_PERFDATA = 2500
OTHERS_ROOM = 120  # kept for the 'other …' count and sums
PERF_NAME_CHARS = 100
SEVERITY_STATUS = {
    Severity.CRITICAL: EXIT_CRITICAL,
    Severity.WARNING: EXIT_WARNING,
    Severity.INFO: EXIT_OK,
}


@dataclass(frozen=True)
class CheckResult:
    status: int
    line: str


def unknown(words: str) -> CheckResult:
    return CheckResult(EXIT_UNKNOWN, f"{PLUGIN} UNKNOWN - {_plain(words)}")


class CheckTimedOut(Exception):
    """The check's deadline passed (raised in the main thread by SIGALRM)."""


@dataclass
class _Progress:
    """What the check is doing now, for the words when its time runs out."""

    doing: str = "starting"


def run_check(
    settings: Settings, rules: HealthRules, *, timeout: float = DEFAULT_TIMEOUT
) -> CheckResult:
    """Read every host's units and poll every job server once; the plugin's line and status.

    ``timeout`` bounds the whole run, SSH connections and reading replies included: what is
    not done by then is an UNKNOWN that says what was under way.
    """
    progress = _Progress()
    # ssh on its own would wait its ConnectTimeout (10 s) for a host that says nothing; the
    # first value ssh sees wins, so this one, a little after the deadline, bounds it.
    connect_timeout = f"ConnectTimeout={math.ceil(timeout) + 1}"
    settings = replace(settings, ssh_options=(connect_timeout, *settings.ssh_options))
    try:
        with _deadline(timeout):
            return _check_once(settings, rules, timeout, progress)
    except CheckTimedOut:
        return unknown(f"timed out after {timeout:g} s while {progress.doing}")


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise CheckTimedOut in this thread after ``seconds``, wherever it is blocked or busy:
    an SSH handshake, a wait for systemd, a job server's reply, parsing one.

    A signal reaches only the main thread; elsewhere (a test's thread) the timeouts of each
    step are all there is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise CheckTimedOut

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _check_once(
    settings: Settings, rules: HealthRules, timeout: float, progress: _Progress
) -> CheckResult:
    deadline = time.monotonic() + timeout
    patterns = [*settings.unit_patterns, JOB_SERVER_UNIT]
    if settings.hosts:

        def say(words: str) -> None:
            label, _, state = words.partition(": ")
            if state == "connecting…":
                progress.doing = f"connecting to {label} over SSH"
            else:  # connected or not: the next host, or every host's AtoM config, follows
                progress.doing = "reading AtoM's config on the hosts over SSH"

        progress.doing = "connecting over SSH"
        fleet, settings = open_fleet(
            settings, patterns, read_only=True, interactive=False, start_units=False, say=say
        )
    else:
        fleet = Fleet.single(local_host(), patterns, read_only=True)
    readings: dict[str, UnitsReading] = {}
    unsubscribes: list[Callable[[], None]] = []
    try:
        progress.doing = "reading the units from systemd"
        for member in fleet.members:
            if member.link is not None and not member.link.status.connected:
                continue  # said as "no SSH connection"
            readings[member.label] = reading = UnitsReading()
            unsubscribes.append(member.units.subscribe(reading))
        for label, reading in readings.items():
            progress.doing = f"waiting for systemd on {label}"
            reading.done.wait(max(0.0, deadline - time.monotonic()))
        targets = fleet.gearman_targets(settings)
        progress.doing = "polling the job servers"
        poll_seconds = max(MIN_POLL_SECONDS, deadline - time.monotonic())
        snapshots = asyncio.run(_poll_once(targets, poll_seconds))
        atom_reads = AtomReads(_atom_databases(fleet, settings))  # after the poll: see above
        activities = {}
        for label in readings:
            progress.doing = f"reading the workers' journal on {label}"
            activities[label] = read_worker_history(
                fleet.member(label).host,
                settings.unit_patterns,
                timeout=max(MIN_POLL_SECONDS, deadline - time.monotonic()),
            )
        progress.doing = "reading AtoM's database"
        atom_jobs = atom_reads.results(deadline - RESULT_SECONDS, timeout)
        progress.doing = "weighing the findings"
        links: dict[str, LinkStatus] = {
            member.label: member.link.status for member in fleet.members if member.link is not None
        }
        inputs = FleetFacts(fleet, settings).inputs(
            readings,
            links,
            snapshots,
            now=time.time(),
            unanswered=ConnectionStatus(False, f"no answer from systemd within {timeout:g} s"),
            activities=activities,
            atom_jobs=atom_jobs,
        )
        findings = HealthTracker(rules, history=False).assess(inputs)
        rows = build_queue_rows(
            snapshots, site_prefix=settings.site_prefix, worker_types=settings.worker_types
        )
        progress.doing = "writing the result"
        return plugin_result(
            findings, snapshots, rows, rules, several_hosts=fleet.several, atom_jobs=atom_jobs
        )
    finally:
        for unsubscribe in unsubscribes:
            unsubscribe()
        fleet.close()


def _atom_databases(fleet: Fleet, settings: Settings) -> dict[str, Callable[[], AtomDatabase]]:
    """Each host's AtoM database, as the console finds them: this machine's (its
    --atom-root, when a site is known), each remote host's through its SSH master."""
    from atomctl_tui.atom_db.sites import local_database, remote_database

    found: dict[str, Callable[[], AtomDatabase]] = {}
    if not settings.hosts:
        root = settings.atom_root
        if root is not None:
            found[fleet.members[0].label] = partial(local_database, root)
        return found
    for member, configured in zip(fleet.members, settings.hosts, strict=False):
        link = member.link
        if link is None or not link.status.connected:
            continue  # said as "no SSH connection"
        site_root = member.site.atom_root if member.site is not None else None
        root_there = site_root or configured.atom_root
        found[member.label] = partial(remote_database, link, root_there)
    return found


class AtomReads:
    """AtoM's databases read once, all at once, each on a thread of its own: daemon threads,
    so one that outlasts the check never holds its exit."""

    def __init__(self, databases: Mapping[str, Callable[[], AtomDatabase]]) -> None:
        self._results: dict[str, JobsSnapshot] = {}
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._read, args=(label, open_database), daemon=True)
            for label, open_database in databases.items()
        ]
        self._labels = list(databases)
        for thread in self._threads:
            thread.start()

    def _read(self, label: str, open_database: Callable[[], AtomDatabase]) -> None:
        from atomctl_tui.atom_db.watch import read_jobs

        database = open_database()
        try:
            snapshot = read_jobs(database, None)
        finally:
            database.close()
        with self._lock:
            self._results[label] = snapshot

    def results(self, until: float, timeout: float) -> dict[str, JobsSnapshot]:
        """Each read, waited for until ``until`` (time.monotonic()); one not done by then is
        said as not read in time."""
        from atomctl_tui.atom_db.watch import JobsSnapshot

        for thread in self._threads:
            thread.join(max(0.0, until - time.monotonic()))
        with self._lock:
            results = dict(self._results)
        late = f"no answer within the check's {timeout:g} s"
        return {
            label: results.get(label) or JobsSnapshot(time.time(), error=late)
            for label in self._labels
        }


def _on_its_host(finding: Finding) -> Finding:
    if finding.host is None or finding.host in finding.problem:
        return finding
    return replace(finding, problem=f"{finding.host}: {finding.problem}")


async def _poll_once(
    targets: Sequence[GearmanTarget], seconds: float
) -> tuple[ServerSnapshot, ...]:
    # Connect and call timeouts share what is left: a silent server cannot outlast the check.
    each = max(0.5, seconds / 2)
    poller = JobServersPoller.of_targets(targets, connect_timeout=each, call_timeout=each)
    try:
        return await poller.poll()
    finally:
        await poller.close()


def plugin_result(
    findings: Sequence[Finding],
    snapshots: Sequence[ServerSnapshot],
    rows: Sequence[QueueRow],
    rules: HealthRules,
    *,
    several_hosts: bool = False,
    atom_jobs: Mapping[str, JobsSnapshot] | None = None,
) -> CheckResult:
    """``several_hosts``: each finding's words name its host (a unit's name alone does not
    say which of the hosts it is on); ``atom_jobs``: each host's AtoM database as read, for
    its figures."""
    if several_hosts:
        findings = [_on_its_host(f) for f in findings]
    status = max((SEVERITY_STATUS[f.severity] for f in findings), default=EXIT_OK)
    problems = [f for f in findings if f.severity > Severity.INFO]
    if problems:
        counts = [
            f"{sum(1 for f in problems if f.severity == severity)} {severity.word}"
            for severity in (Severity.CRITICAL, Severity.WARNING)
            if any(f.severity == severity for f in problems)
        ]
        text = f"{', '.join(counts)}: " + "; ".join(f.problem.rstrip(".") for f in findings)
    else:
        text = _all_well(snapshots) + "".join(f"; {f.problem.rstrip('.')}" for f in findings)
    text = _plain(text)
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    atom_items = atom_jobs_perfdata(atom_jobs or {}, several_hosts=several_hosts)
    room = MAX_PERFDATA - sum(len(item) + 1 for item in atom_items)
    queues = performance_data(rows, rules, several_servers=len(snapshots) > 1, room=room)
    perfdata = " ".join([*atom_items, queues] if queues else atom_items)
    line = f"{PLUGIN} {STATUS_WORDS[status]} - {text}"
    return CheckResult(status, f"{line} | {perfdata}" if perfdata else line)


def _all_well(snapshots: Sequence[ServerSnapshot]) -> str:
    workers = {(s.server, c.client_id or c.fd) for s in snapshots for c in s.worker_connections}
    waiting = sum(s.waiting for s in snapshots)
    servers = len(snapshots)
    return (
        f"{len(workers)} worker connection{'s' if len(workers) != 1 else ''} on"
        f" {servers} job server{'s' if servers != 1 else ''}, {waiting} waiting"
    )


def atom_jobs_perfdata(atom_jobs: Mapping[str, JobsSnapshot], *, several_hosts: bool) -> list[str]:
    """``'atom_jobs_in_progress'=N;;;0`` and ``'atom_jobs_errors_last_hour'=N;;;0`` for each
    site whose database was read (named by host, with several)."""
    items = []
    for label, snapshot in atom_jobs.items():
        summary = snapshot.summary
        if summary is None:
            continue
        host = _perf_name_part(label) + " " if several_hosts else ""
        items.append(f"'{host}atom_jobs_in_progress'={summary.in_progress};;;0")
        items.append(f"'{host}atom_jobs_errors_last_hour'={summary.error_count};;;0")
    return items


def performance_data(
    rows: Sequence[QueueRow],
    rules: HealthRules,
    *,
    several_servers: bool,
    room: int = MAX_PERFDATA,
) -> str:
    """``'<function> waiting'=N;warn;crit;0``, ``running`` and ``workers`` for this site's AtoM
    job types, then for functions with jobs (most waiting first, then those with workers),
    within ``room`` characters; every other function in one ``'other functions'`` count and
    sums."""
    warn = "" if rules.waiting_warning is None else str(rules.waiting_warning)
    crit = "" if rules.waiting_critical is None else str(rules.waiting_critical)
    # Busiest first; among the idle, those some worker serves before those nobody does (a
    # function a departed worker left registered says least).
    busiest_first = sorted(rows, key=lambda row: (-row.waiting, -row.running, not row.workers))
    chosen = [row for row in busiest_first if row.site == THIS_SITE]
    chosen += [row for row in busiest_first if row.site != THIS_SITE and row.total]
    items: list[str] = []
    used = 0
    listed: set[int] = set()
    for row in chosen:
        name = _perf_name(row)
        if several_servers:
            name = _perf_name_part(row.server) + " " + name
        metrics = [
            f"'{name} waiting'={row.waiting};{warn};{crit};0",
            f"'{name} running'={row.running};;;0",
            f"'{name} workers'={row.workers};;;0",
        ]
        length = sum(len(metric) + 1 for metric in metrics)
        if used + length > room - OTHERS_ROOM:
            break
        items.extend(metrics)
        used += length
        listed.add(id(row))
    others = [row for row in rows if id(row) not in listed]
    if others:
        items.append(f"'other functions'={len(others)};;;0")
        items.append(f"'other waiting'={sum(row.waiting for row in others)};;;0")
        items.append(f"'other running'={sum(row.running for row in others)};;;0")
        items.append(f"'other workers'={sum(row.workers for row in others)};;;0")
    return " ".join(items)


def _perf_name(row: QueueRow) -> str:
    if row.site == THIS_SITE:
        name = row.job_class
    elif row.site == NOT_ATOM:
        name = row.function
    else:
        name = f"{row.site}/{row.job_class}"
    return _perf_name_part(name)


def _perf_name_part(name: str) -> str:
    # A label is quoted; a quote or '=' in it would end it early, a '|' start perfdata anew.
    return name.replace("'", "_").replace("=", "_").replace("|", "_")[:PERF_NAME_CHARS]


def _plain(text: str) -> str:
    """One line, with no '|' (Nagios reads what follows as performance data)."""
    return " ".join(text.replace("|", "/").split())
