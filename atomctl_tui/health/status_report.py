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
        try:
            snapshots = await poller.poll()
        finally:
            await poller.close()
    finally:
        unsubscribe()
        fleet.close()
    return StatusReading(snapshots, units, not_on_site=not_on_site)


async def _take_remote(settings: Settings) -> StatusReading:
    """Connections without prompts (status runs from scripts and timers), one poll, and every
    connection closed again. The hosts' units are the console's and check's business."""
    patterns = [*settings.unit_patterns, JOB_SERVER_UNIT]
    fleet, fleet_settings = await asyncio.to_thread(
        open_fleet, settings, patterns, read_only=True, interactive=False, start_units=False
    )
    try:
        poller = JobServersPoller.of_targets(fleet.gearman_targets(fleet_settings))
        try:
            snapshots = await poller.poll()
        finally:
            await poller.close()
    finally:
        fleet.close()
    hosts = ", ".join(fleet.labels)
    units = LocalUnits(hosts, error="status reads no units on remote hosts (check does)")
    return StatusReading(snapshots, units, fleet_settings)


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
