"""AtoM's jobs for scripts: `atomctl-tui jobs` (a text table or JSON) and the ``atom_jobs``
part of `status --json`.

Every text in them was cleaned by ``clean_line`` where it was read (``jobs``); times are the
database's own (AtoM writes ``DATETIME`` in the server's zone), written ``YYYY-mm-ddTHH:MM:SS``
without a zone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from atomctl_tui.atom_db.jobs import JobRow, JobsSummary
from atomctl_tui.atom_db.watch import JobsSnapshot
from atomctl_tui.outside_text import clean_line

_DURATION = re.compile(
    r"(?:(\d{1,6})w)?(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,9})s)?"
)
_TIMESTAMP_SHAPES = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
)


class SinceError(ValueError):
    """A --since that is neither a duration nor a timestamp."""


def parse_since(text: str) -> datetime | timedelta:
    """``90m``, ``2h``, ``1d12h``, ``1w`` (before the database's now), or a timestamp
    ``YYYY-mm-dd[ HH:MM[:SS]]`` in the database's time."""
    text = text.strip()
    found = _DURATION.fullmatch(text)
    if text and found:
        weeks, days, hours, minutes, seconds = (int(part or 0) for part in found.groups())
        return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    for shape in _TIMESTAMP_SHAPES:
        try:
            return datetime.strptime(text, shape)
        except ValueError:
            continue
    raise SinceError(
        f"{text!r} is neither a duration (90m, 2h, 1d12h, 1w) nor a timestamp"
        " (YYYY-mm-dd[ HH:MM[:SS]])"
    )


@dataclass(frozen=True)
class SiteJobs:
    """One AtoM site's jobs as read once: where, and what (or why not)."""

    host: str
    atom_root: str | None
    snapshot: JobsSnapshot

    @property
    def readable(self) -> bool:
        return self.snapshot.readable


def moment(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S") if value is not None else None


def seconds(value: timedelta | None) -> int | None:
    return int(value.total_seconds()) if value is not None else None


def job_json(job: JobRow) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "status": job.status,
        "status_id": job.status_id,
        "user": job.user,
        "slug": job.slug,
        "queued_at": moment(job.queued_at),
        "completed_at": moment(job.completed_at),
        "duration_seconds": seconds(job.duration),
    }


def summary_json(summary: JobsSummary) -> dict[str, Any]:
    oldest = summary.oldest_in_progress
    return {
        "database_time": moment(summary.now),
        "in_progress": summary.in_progress,
        "oldest_in_progress": job_json(oldest) if oldest is not None else None,
        "errors_last_hour": summary.error_count,
        "errors_at_least": summary.errors_at_least,
        "errors_by_name": [
            {"name": e.name, "count": e.count, "last_id": e.last_id}
            for e in summary.errors_last_hour
        ],
    }


def site_json(site: SiteJobs, *, with_jobs: bool) -> dict[str, Any]:
    snapshot = site.snapshot
    document: dict[str, Any] = {
        "host": site.host,
        "atom_root": site.atom_root,
        "error": snapshot.error,
        "summary": summary_json(snapshot.summary) if snapshot.summary is not None else None,
    }
    if with_jobs:
        document["jobs"] = [job_json(job) for job in snapshot.jobs]
    return document


def jobs_document(sites: Sequence[SiteJobs], taken: str) -> dict[str, Any]:
    return {
        "format": 1,
        "time": taken,
        "sites": [site_json(site, with_jobs=True) for site in sites],
    }


def jobs_text(sites: Sequence[SiteJobs]) -> str:
    """A table per site, for a human at a shell."""
    lines: list[str] = []
    for site in sites:
        where = clean_line(f"{site.host}: {site.atom_root or 'no AtoM root'}")
        snapshot = site.snapshot
        if snapshot.error is not None:
            lines.append(f"{where}: database not read: {snapshot.error}")
            continue
        summary = snapshot.summary
        if summary is not None:
            lines.append(f"{where}: {summary_words(summary)}")
        if not snapshot.jobs:
            lines.append("  no such jobs")
            continue
        lines.append(
            f"  {'ID':>8} {'STATUS':<11} {'NAME':<28} {'USER':<14} {'QUEUED':<19}"
            f" {'FINISHED':<19} {'TOOK':>8}  SLUG"
        )
        for job in snapshot.jobs:
            lines.append(
                f"  {job.id:>8} {job.status:<11} {job.name[:28]:<28} {job.user[:14]:<14}"
                f" {_time_text(job.queued_at):<19} {_time_text(job.completed_at):<19}"
                f" {duration_text(job.duration):>8}  {job.slug or '-'}"
            )
    return "\n".join(lines)


def summary_words(summary: JobsSummary) -> str:
    words = f"{summary.in_progress} in progress"
    oldest = summary.oldest_in_progress
    if oldest is not None and oldest.duration is not None:
        words += f" (oldest: job {oldest.id} {oldest.name}, {duration_text(oldest.duration)})"
    count = summary.error_count
    at_least = "at least " if summary.errors_at_least else ""
    words += f", {at_least}{count} error{'s' if count != 1 else ''} in the last hour"
    return words


def _time_text(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def duration_text(value: timedelta | None) -> str:
    """``4 s``, ``12 min``, ``3 h 05``, ``2 d 04 h``."""
    if value is None:
        return "-"
    total = max(0, int(value.total_seconds()))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min"
    if total < 86400:
        return f"{total // 3600} h {total % 3600 // 60:02d}"
    return f"{total // 86400} d {total % 86400 // 3600:02d} h"
