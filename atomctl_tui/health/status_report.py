"""`atomctl-tui status`: one snapshot of every job server, and this machine's job server and
worker units as systemd says (when it can be asked), as JSON or as text, and an exit status a
monitoring check can use (0 all reachable, 2 a server unreachable).

A server's "up since" is when its gearmand started, read on this machine (a server at a
loopback address): its /proc, or its unit's ActiveEnterTimestamp; unknown otherwise.

Every name and error text in it was cleaned where it entered (``gearman.admin``), so the text
output is safe for a terminal, and JSON carries the same cleaned values (JSON-escaped too).
A server's functions are the busiest its snapshot keeps; ``functions_left_out`` counts the
rest, which its totals include.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.atom_db.report import SiteJobs, site_json
from atomctl_tui.atom_db.sites import read_fleet_sites, read_local_site
from atomctl_tui.config import Settings
from atomctl_tui.fleet import Fleet, open_fleet
from atomctl_tui.gearman.gearmand_start import start_reader
from atomctl_tui.gearman.poller import JobServersPoller
from atomctl_tui.gearman.queue_rows import QueueRow, build_queue_rows, find_alerts
from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.health.findings import is_worker
from atomctl_tui.health.sources import UnitsReading, server_hosts
from atomctl_tui.journal.worker_history import read_worker_history
from atomctl_tui.outside_text import clean_line
from atomctl_tui.remote.hosts import local_host
from atomctl_tui.systemd.unit_text import (
    natural_key,
    result_text,
    state_text,
    unit_label,
)
from atomctl_tui.systemd.units import UnitState

EXIT_OK = 0
EXIT_UNREACHABLE = 2
FORMAT_VERSION = 1
UNITS_WAIT_SECONDS = 5.0  # for systemd to list this machine's units; then they go unsaid
TIME_SHAPE = "%Y-%m-%dT%H:%M:%S%z"
RUNNING_STATES = frozenset({"active", "reloading", "deactivating"})  # its "since" still holds


@dataclass(frozen=True)
class LocalUnits:
    """This machine's job server and worker units, as systemd listed them."""

    host: str
    units: tuple[UnitState, ...] = ()
    error: str | None = None  # why they could not be read


@dataclass(frozen=True)
class StatusReading:
    """What `status` read: one snapshot per job server, and this machine's units."""

    snapshots: tuple[ServerSnapshot, ...]
    units: LocalUnits = field(default_factory=lambda: LocalUnits("", error="not read"))
    settings: Settings | None = None
    """The settings the servers came from, when the hosts' AtoM config chose them."""
    not_on_site: frozenset[str] = frozenset()
    """Job classes this machine's workers log as "Ability not defined": AtoM cannot queue
    them here, so no alert says they lack a worker."""
    atom_jobs: tuple[SiteJobs, ...] = ()
    """Each AtoM site's job summary from its database (or why it could not be read)."""


async def take_snapshots(settings: Settings) -> StatusReading:
    """This machine's units (``UNITS_WAIT_SECONDS`` at most), then a poll of every server;
    with remote hosts (``--host``, ``hosts:``) the servers their AtoM config names, reached
    as the console reaches them (over SSH when a server is local to its host)."""
    if settings.hosts:
        return await _take_remote(settings)
    patterns = [*settings.unit_patterns, JOB_SERVER_UNIT]
    fleet = Fleet.single(local_host(), patterns, read_only=True)
    member = fleet.members[0]
    reading = UnitsReading()
    unsubscribe = member.units.subscribe(reading)
    try:
        answered = await asyncio.to_thread(reading.done.wait, UNITS_WAIT_SECONDS)
        units = _local_units(member.label, reading, settings, answered=answered)
        history = await asyncio.to_thread(
            read_worker_history, member.host, settings.unit_patterns, timeout=UNITS_WAIT_SECONDS
        )
        not_on_site = frozenset(c for cs in history.undefined_abilities.values() for c in cs)
        targets = fleet.gearman_targets(settings)
        readers = {
            server: start_reader(member.host, member.units)
            for server in server_hosts(fleet, targets)
        }
        poller = JobServersPoller.of_targets(targets, start_readers=readers)
        atom_jobs = asyncio.to_thread(read_local_site, member.label, settings.atom_root, None)
        try:
            snapshots, site = await asyncio.gather(poller.poll(), atom_jobs)
        finally:
            await poller.close()
    finally:
        unsubscribe()
        fleet.close()
    return StatusReading(snapshots, units, not_on_site=not_on_site, atom_jobs=(site,))


async def _take_remote(settings: Settings) -> StatusReading:
    """Connections without prompts (status runs from scripts and timers), one poll, and every
    connection closed again. The hosts' units are the console's and check's business."""
    patterns = [*settings.unit_patterns, JOB_SERVER_UNIT]
    fleet, fleet_settings = await asyncio.to_thread(
        open_fleet, settings, patterns, read_only=True, interactive=False, start_units=False
    )
    try:
        poller = JobServersPoller.of_targets(fleet.gearman_targets(fleet_settings))
        atom_jobs = asyncio.to_thread(read_fleet_sites, fleet, settings, None)
        try:
            snapshots, sites = await asyncio.gather(poller.poll(), atom_jobs)
        finally:
            await poller.close()
    finally:
        fleet.close()
    hosts = ", ".join(fleet.labels)
    units = LocalUnits(hosts, error="status reads no units on remote hosts (check does)")
    return StatusReading(snapshots, units, fleet_settings, atom_jobs=tuple(sites))


def _local_units(
    label: str, reading: UnitsReading, settings: Settings, *, answered: bool
) -> LocalUnits:
    units, _templates, status = reading.result()
    if not answered:
        return LocalUnits(label, error=f"no answer from systemd within {UNITS_WAIT_SECONDS:g} s")
    if not status.connected:
        return LocalUnits(label, error=status.detail)
    wanted = [
        unit
        for name, unit in units.items()
        if name == JOB_SERVER_UNIT or is_worker(name, settings.unit_patterns)
    ]
    # The job server first, then the workers in their numbers' order.
    wanted.sort(key=lambda unit: (unit.name != JOB_SERVER_UNIT, natural_key(unit.name)))
    return LocalUnits(label, tuple(wanted))


def exit_status(reading: StatusReading) -> int:
    return EXIT_OK if all(s.reachable for s in reading.snapshots) else EXIT_UNREACHABLE


def status_document(settings: Settings, reading: StatusReading) -> dict[str, Any]:
    settings = reading.settings or settings
    snapshots = reading.snapshots
    rows = build_queue_rows(
        snapshots,
        site_prefix=settings.site_prefix,
        worker_types=settings.worker_types,
        undefined=reading.not_on_site,
    )
    return {
        "format": FORMAT_VERSION,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "servers_source": settings.servers_source,
        "atom_root": str(settings.atom_root) if settings.atom_root else None,
        "site_prefix": settings.site_prefix,
        "warnings": list(settings.warnings),
        "servers": [_server(s, [r for r in rows if r.server == s.server]) for s in snapshots],
        "alerts": [asdict(a) for a in find_alerts(snapshots, rows)],
        "units": _units(reading.units),
        "atom_jobs": [site_json(site, with_jobs=False) for site in reading.atom_jobs],
    }


def _units(units: LocalUnits) -> dict[str, Any]:
    return {
        "host": units.host,
        "error": units.error,
        "units": [
            {
                "unit": unit.name,
                "state": state_text(unit),
                "active_state": unit.active_state,
                "sub_state": unit.sub_state,
                "unit_file_state": unit.unit_file_state,
                "main_pid": unit.main_pid or None,
                "active_since": _moment(unit.active_since_us / 1_000_000)
                if unit.active_since_us
                else None,
                "result": result_text(unit) or None,
            }
            for unit in units.units
        ],
    }


def _moment(seconds: float) -> str:
    return time.strftime(TIME_SHAPE, time.localtime(seconds))


def _server(snapshot: ServerSnapshot, rows: list[QueueRow]) -> dict[str, Any]:
    document = {
        "server": snapshot.server,
        "reachable": snapshot.reachable,
        "since": _moment(snapshot.since),
        "started": _moment(snapshot.started) if snapshot.started is not None else None,
        "error": snapshot.error,
        "version": snapshot.version,
        "pid": snapshot.pid,
        "rtt_ms": round(snapshot.rtt * 1000, 3) if snapshot.rtt is not None else None,
        "malformed_lines": snapshot.malformed,
    }
    if not snapshot.reachable:
        return document
    document["totals"] = {
        "queued": snapshot.total,
        "running": snapshot.running,
        "waiting": snapshot.waiting,
        "workers": len(snapshot.worker_connections),
    }
    document["functions_left_out"] = snapshot.functions_left_out
    document["functions"] = [
        {
            "function": r.function,
            "job_class": r.job_class,
            "worker_type": r.worker_type,
            "site": r.site,
            "total": r.total,
            "running": r.running,
            "waiting": r.waiting,
            "workers": r.workers,
            "high": r.high,
            "normal": r.normal,
            "low": r.low,
            "alerts": list(r.alerts),
            "not_on_site": r.not_on_site,
        }
        for r in rows
    ]
    document["workers"] = [
        {
            "fd": c.fd,
            "ip": c.ip,
            "client_id": c.client_id,
            "pid": c.pid,
            "functions": list(c.functions),
        }
        for c in snapshot.connections
    ]
    return document


def status_text(document: dict[str, Any]) -> str:
    """The same snapshot for a human at a shell: one block per server, the alerts, then this
    machine's units."""
    lines = [f"servers from {document['servers_source']}"]
    for server in document["servers"]:
        if not server["reachable"]:
            lines.append(f"{server['server']}  UNREACHABLE since {server['since']}")
            lines.append(f"  {server['error']}")
            continue
        totals = server["totals"]
        lines.append(
            f"{server['server']}  up since {server['started'] or '?'}"
            f"  gearmand {server['version']}  pid {server['pid']}  rtt {server['rtt_ms']:.1f} ms"
        )
        workers = totals["workers"]
        lines.append(
            f"  {workers} worker{'s' if workers != 1 else ''}, {totals['queued']} queued,"
            f" {totals['running']} running, {totals['waiting']} waiting"
        )
        if server["functions_left_out"]:
            lines.append(f"  {server['functions_left_out']:,} least busy functions not listed")
        busy = [f for f in server["functions"] if f["total"] or f["alerts"]]
        if busy:
            lines.append(f"  {'job class':<34} {'site':<11} total  run wait wkrs")
        for f in busy:
            lines.append(
                f"  {f['job_class'][:34]:<34} {f['site'][:11]:<11} {f['total']:>5}"
                f" {f['running']:>4} {f['waiting']:>4} {f['workers']:>4}"
            )
    for alert in document["alerts"]:
        lines.append(f"ALERT {alert['message']}")
    lines.extend(_unit_lines(document["units"]))
    lines.extend(_atom_jobs_lines(document["atom_jobs"]))
    return "\n".join(lines)


def _unit_lines(units: dict[str, Any]) -> list[str]:
    host = units["host"]
    if units["error"] is not None:
        return [f"units on {host}: not read ({units['error']})"]
    if not units["units"]:
        return [f"units on {host}: no job server or worker unit"]
    lines = [f"units on {host}:"]
    for unit in units["units"]:
        words = [unit["state"]]
        if unit["result"]:
            words[0] += f" ({unit['result']})"
        if unit["unit_file_state"]:
            words.append(unit["unit_file_state"])
        if unit["main_pid"]:
            words.append(f"PID {unit['main_pid']}")
        if unit["active_since"] and unit["active_state"] in RUNNING_STATES:
            words.append(f"since {unit['active_since']}")
        line = f"  {unit_label(unit['unit']):<24} {' · '.join(words)}"
        lines.append(clean_line(line))
    return lines


def _atom_jobs_lines(sites: list[dict[str, Any]]) -> list[str]:
    lines = []
    for site in sites:
        where = f"AtoM jobs on {site['host']}"
        if site["error"] is not None:
            lines.append(clean_line(f"{where}: not read ({site['error']})"))
            continue
        summary = site["summary"]
        words = f"{summary['in_progress']} in progress"
        oldest = summary["oldest_in_progress"]
        if oldest is not None:
            words += f" (oldest: job {oldest['id']} {oldest['name']}, queued {oldest['queued_at']})"
        at_least = "at least " if summary["errors_at_least"] else ""
        words += f", {at_least}{summary['errors_last_hour']} failed in the last hour"
        lines.append(clean_line(f"{where}: {words}"))
    return lines


PROMETHEUS_HELP = {
    "atomctl_gearman_server_up": "1 when the job server answered its admin protocol",
    "atomctl_gearman_queued_jobs": "jobs the server holds, running or waiting",
    "atomctl_gearman_running_jobs": "jobs a worker is running",
    "atomctl_gearman_waiting_jobs": "jobs waiting for a worker",
    "atomctl_gearman_worker_connections": "connections able to run at least one function",
    "atomctl_gearman_function_waiting_jobs": "jobs of the function waiting for a worker",
    "atomctl_gearman_function_running_jobs": "jobs of the function being run",
    "atomctl_gearman_function_workers": "connections able to run the function",
    "atomctl_unit_active": "1 when the unit is active (systemd ActiveState)",
    "atomctl_atom_database_up": "1 when AtoM's database could be read",
    "atomctl_atom_jobs_in_progress": "AtoM jobs with status in progress",
    "atomctl_atom_jobs_oldest_in_progress_seconds": "age of the oldest job in progress",
    "atomctl_atom_jobs_failed_last_hour": "AtoM jobs that ended in error in the last hour",
    "atomctl_atom_jobs_failed_last_hour_by_name": "the same, per job name",
}


def status_prometheus(document: dict[str, Any]) -> str:
    """The queue, worker and AtoM job figures in Prometheus' text exposition format (for
    node_exporter's textfile collector): every metric a gauge, labelled by server, function,
    unit or host."""
    samples: dict[str, list[str]] = {name: [] for name in PROMETHEUS_HELP}

    def add(name: str, labels: dict[str, str], value: float) -> None:
        pairs = ",".join(f'{key}="{_label_value(text)}"' for key, text in labels.items())
        samples[name].append(f"{name}{{{pairs}}} {value:g}")

    for server in document["servers"]:
        where = {"server": server["server"]}
        add("atomctl_gearman_server_up", where, 1 if server["reachable"] else 0)
        if not server["reachable"]:
            continue
        totals = server["totals"]
        add("atomctl_gearman_queued_jobs", where, totals["queued"])
        add("atomctl_gearman_running_jobs", where, totals["running"])
        add("atomctl_gearman_waiting_jobs", where, totals["waiting"])
        add("atomctl_gearman_worker_connections", where, totals["workers"])
        for function in server["functions"]:
            labels = {**where, "function": function["function"], "job_class": function["job_class"]}
            add("atomctl_gearman_function_waiting_jobs", labels, function["waiting"])
            add("atomctl_gearman_function_running_jobs", labels, function["running"])
            add("atomctl_gearman_function_workers", labels, function["workers"])
    units = document["units"]
    for unit in units["units"]:
        labels = {"host": units["host"], "unit": unit["unit"]}
        add("atomctl_unit_active", labels, 1 if unit["active_state"] == "active" else 0)
    for site in document["atom_jobs"]:
        where = {"host": site["host"]}
        summary = site["summary"]
        add("atomctl_atom_database_up", where, 1 if summary is not None else 0)
        if summary is None:
            continue
        add("atomctl_atom_jobs_in_progress", where, summary["in_progress"])
        oldest = summary["oldest_in_progress"]
        if oldest is not None and oldest["duration_seconds"] is not None:
            add("atomctl_atom_jobs_oldest_in_progress_seconds", where, oldest["duration_seconds"])
        add("atomctl_atom_jobs_failed_last_hour", where, summary["errors_last_hour"])
        for errors in summary["errors_by_name"]:
            labels = {**where, "name": errors["name"]}
            add("atomctl_atom_jobs_failed_last_hour_by_name", labels, errors["count"])
    lines = []
    for name, help_text in PROMETHEUS_HELP.items():
        if samples[name]:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples[name]]
    return "\n".join(lines) + "\n"


def _label_value(text: str) -> str:
    """A label value as the exposition format writes it: backslash, quote, newline escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
