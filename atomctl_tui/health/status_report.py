"""`atomctl-tui status`: one snapshot of every job server, as JSON or as text, and an exit
status a monitoring check can use (0 all reachable, 2 a server unreachable).

Every name and error text in it was cleaned where it entered (``gearman.admin``), so the text
output is safe for a terminal, and JSON carries the same cleaned values (JSON-escaped too).
A server's functions are the busiest its snapshot keeps; ``functions_left_out`` counts the
rest, which its totals include.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from atomctl_tui.config import Settings
from atomctl_tui.gearman.poller import JobServersPoller
from atomctl_tui.gearman.queue_rows import QueueRow, build_queue_rows, find_alerts
from atomctl_tui.gearman.snapshot import ServerSnapshot

EXIT_OK = 0
EXIT_UNREACHABLE = 2
FORMAT_VERSION = 1


async def take_snapshots(settings: Settings) -> tuple[ServerSnapshot, ...]:
    poller = JobServersPoller(settings.servers)
    try:
        return await poller.poll()
    finally:
        await poller.close()


def exit_status(snapshots: tuple[ServerSnapshot, ...]) -> int:
    return EXIT_OK if all(s.reachable for s in snapshots) else EXIT_UNREACHABLE


def status_document(settings: Settings, snapshots: tuple[ServerSnapshot, ...]) -> dict[str, Any]:
    rows = build_queue_rows(
        snapshots, site_prefix=settings.site_prefix, worker_types=settings.worker_types
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
    }


def _server(snapshot: ServerSnapshot, rows: list[QueueRow]) -> dict[str, Any]:
    document = {
        "server": snapshot.server,
        "reachable": snapshot.reachable,
        "since": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(snapshot.since)),
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
    """The same snapshot for a human at a shell: one block per server, then the alerts."""
    lines = [f"servers from {document['servers_source']}"]
    for server in document["servers"]:
        if not server["reachable"]:
            lines.append(f"{server['server']}  UNREACHABLE since {server['since']}")
            lines.append(f"  {server['error']}")
            continue
        totals = server["totals"]
        lines.append(
            f"{server['server']}  up since {server['since']}  gearmand {server['version']}"
            f"  pid {server['pid']}  rtt {server['rtt_ms']:.1f} ms"
        )
        lines.append(
            f"  {totals['workers']} workers, {totals['queued']} queued,"
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
    return "\n".join(lines)
