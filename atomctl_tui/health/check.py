"""`atomctl-tui check`: the health findings of this moment, said the way a Nagios or Icinga
plugin says them — one line, ``ATOMCTL <STATUS> - <what is wrong> | <perfdata>`` — and its
exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the check itself could not run).

It computes the same findings as the console's Health view, with the same module, but once:
there is no history, so findings that need time (a restart loop seen as NRestarts rising,
waiting jobs growing, jobs not taken) are not reported; what systemd and gearmand say at
once is (a unit failed, with its Result; a unit caught in auto-restart; registrations).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.config import Settings
from atomctl_tui.fleet import Fleet, GearmanTarget, open_fleet
from atomctl_tui.gearman.poller import JobServersPoller
from atomctl_tui.gearman.queue_rows import NOT_ATOM, THIS_SITE, QueueRow, build_queue_rows
from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.health.findings import Finding, HealthRules, Severity
from atomctl_tui.health.sources import FleetFacts, UnitsReading
from atomctl_tui.health.tracker import HealthTracker
from atomctl_tui.remote.hosts import local_host
from atomctl_tui.remote.ssh_link import LinkStatus
from atomctl_tui.systemd.bus import ConnectionStatus

PLUGIN = "ATOMCTL"
EXIT_OK = 0
EXIT_WARNING = 1
EXIT_CRITICAL = 2
EXIT_UNKNOWN = 3
STATUS_WORDS = {EXIT_OK: "OK", EXIT_WARNING: "WARNING", EXIT_CRITICAL: "CRITICAL"}
STATUS_WORDS[EXIT_UNKNOWN] = "UNKNOWN"
DEFAULT_TIMEOUT = 10.0  # seconds for the whole check: Nagios's own default plugin timeout
MIN_POLL_SECONDS = 1.0  # what the job servers get even when systemd took the rest
MAX_TEXT = 1500  # characters of findings before the perfdata (Nagios keeps 4 KB of output)
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


def run_check(
    settings: Settings, rules: HealthRules, *, timeout: float = DEFAULT_TIMEOUT
) -> CheckResult:
    """Read every host's units and poll every job server once; the plugin's line and status."""
    deadline = time.monotonic() + timeout
    patterns = [*settings.unit_patterns, JOB_SERVER_UNIT]
    if settings.hosts:
        fleet, settings = open_fleet(
            settings, patterns, read_only=True, interactive=False, start_units=False
        )
    else:
        fleet = Fleet.single(local_host(), patterns, read_only=True)
    readings: dict[str, UnitsReading] = {}
    unsubscribes: list[Callable[[], None]] = []
    try:
        for member in fleet.members:
            if member.link is not None and not member.link.status.connected:
                continue  # said as "no SSH connection"
            readings[member.label] = reading = UnitsReading()
            unsubscribes.append(member.units.subscribe(reading))
        for reading in readings.values():
            reading.done.wait(max(0.0, deadline - time.monotonic()))
        targets = fleet.gearman_targets(settings)
        poll_seconds = max(MIN_POLL_SECONDS, deadline - time.monotonic())
        snapshots = asyncio.run(_poll_once(targets, poll_seconds))
        links: dict[str, LinkStatus] = {
            member.label: member.link.status for member in fleet.members if member.link is not None
        }
        inputs = FleetFacts(fleet, settings).inputs(
            readings,
            links,
            snapshots,
            now=time.time(),
            unanswered=ConnectionStatus(False, f"no answer from systemd within {timeout:g} s"),
        )
        findings = HealthTracker(rules, history=False).assess(inputs)
    finally:
        for unsubscribe in unsubscribes:
            unsubscribe()
        fleet.close()
    rows = build_queue_rows(
        snapshots, site_prefix=settings.site_prefix, worker_types=settings.worker_types
    )
    return plugin_result(findings, snapshots, rows, rules)


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
) -> CheckResult:
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
    perfdata = performance_data(rows, rules, several_servers=len(snapshots) > 1)
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


def performance_data(rows: Sequence[QueueRow], rules: HealthRules, *, several_servers: bool) -> str:
    """``'<function> waiting'=N;warn;crit;0`` and ``running``, ``workers``, per function."""
    warn = "" if rules.waiting_warning is None else str(rules.waiting_warning)
    crit = "" if rules.waiting_critical is None else str(rules.waiting_critical)
    items = []
    for row in rows:
        name = _perf_name(row)
        if several_servers:
            name = f"{row.server} {name}"
        items.append(f"'{name} waiting'={row.waiting};{warn};{crit};0")
        items.append(f"'{name} running'={row.running};;;0")
        items.append(f"'{name} workers'={row.workers};;;0")
    return " ".join(items)


def _perf_name(row: QueueRow) -> str:
    if row.site == THIS_SITE:
        name = row.job_class
    elif row.site == NOT_ATOM:
        name = row.function
    else:
        name = f"{row.site}/{row.job_class}"
    # A label is quoted; a quote or '=' in it would end it early.
    return name.replace("'", "_").replace("=", "_")


def _plain(text: str) -> str:
    """One line, with no '|' (Nagios reads what follows as performance data)."""
    return " ".join(text.replace("|", "/").split())
