"""AtoM's job records: the recent jobs, a summary, one job's story, the enabled plugins, and
marking a stuck job failed as AtoM itself does.

Every query is bounded (``LIMIT``) and walks an index — the ``job`` primary key newest first,
or ``job_FI_4`` (``status_id``, whose entries end with the id) — so a poll costs the same with
a hundred rows or a hundred thousand. Times are the database's own (``DATETIME`` in the
server's zone, as AtoM writes them) and durations are taken against its ``NOW()``, read in
the same transaction.

Every text read here (names, usernames, slugs, notes, output) is cleaned by ``clean_line``
where it enters.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from atomctl_tui.atom_db.php_serialized import PhpSerializedError, string_values, unserialize
from atomctl_tui.outside_text import clean_line

if TYPE_CHECKING:  # the driver (pymysql) is imported where a database is opened
    from atomctl_tui.atom_db.connection import Cursor

IN_PROGRESS = 183
COMPLETED = 184
ERROR = 185
ERROR_NOTE = 197
STATUS_WORDS = {IN_PROGRESS: "in progress", COMPLETED: "completed", ERROR: "error"}
STATUS_NAMES = {"in-progress": IN_PROGRESS, "completed": COMPLETED, "error": ERROR}
COMMAND_LINE = "Command line"  # AtoM's words for a job with no user
DELETED_USER = "Deleted user"

DEFAULT_LIMIT = 200
MAX_LIMIT = 10_000
ERRORS_WINDOW = timedelta(hours=1)
RECENT_ERRORS_EXAMINED = 1_000
IN_PROGRESS_LISTED = 100
"""Jobs in progress listed (oldest first) for the stuck-job findings; the rest are counted."""
ERROR_NOTE_CHARS = 300
"""Error rows, newest first, searched for those that ended in the last hour: more than this
many failures in an hour is said as "at least"."""
SINCE_PAGE = 500
MAX_NOTES = 200
MAX_NOTE_LINES = 200
MAX_OUTPUT_LINES = 2_000  # job.output is a TEXT: 65,535 bytes at most
NOTE_CULTURE = "en"  # sfPropel's default culture, which AtoM's workers write notes in

_COLUMNS = """
    SELECT j.id, j.name, j.status_id, j.user_id, u.username, s.slug, o.created_at,
           j.completed_at
    FROM job AS j
    JOIN object AS o ON o.id = j.id
    LEFT JOIN `user` AS u ON u.id = j.user_id
    LEFT JOIN slug AS s ON s.object_id = j.object_id
"""


@dataclass(frozen=True)
class JobRow:
    """One row of AtoM's jobs, as its Jobs page would show it."""

    id: int
    name: str
    status_id: int | None
    user: str
    slug: str | None
    queued_at: datetime | None
    """``object.created_at``: when the job was queued (AtoM inserts the row first)."""
    completed_at: datetime | None
    duration: timedelta | None
    """Queued to completed; for a job in progress, queued to now."""

    @property
    def status(self) -> str:
        return STATUS_WORDS.get(self.status_id or 0, f"status {self.status_id}")

    @property
    def in_progress(self) -> bool:
        return self.status_id == IN_PROGRESS


@dataclass(frozen=True)
class JobErrors:
    """Jobs of one name that ended in error in the last hour."""

    name: str
    count: int
    last_id: int
    last_note: str | None = None
    """The last one's first error note: its first line, cleaned (None: it has none)."""


@dataclass(frozen=True)
class JobsSummary:
    now: datetime
    """The database's clock when this was read."""
    in_progress: int
    oldest_in_progress: JobRow | None
    errors_last_hour: tuple[JobErrors, ...]
    errors_at_least: bool = False
    """More errors than were searched: the counts are lower bounds."""

    @property
    def error_count(self) -> int:
        return sum(errors.count for errors in self.errors_last_hour)


@dataclass(frozen=True)
class JobNote:
    id: int
    is_error: bool
    content: tuple[str, ...]
    """Its lines, cleaned."""


@dataclass(frozen=True)
class JobStory:
    job: JobRow
    download_path: str | None
    notes: tuple[JobNote, ...]
    output: tuple[str, ...]
    """``job.output``'s lines, cleaned (its ``[info] [time] Job <id> "<name>": …`` log)."""


@dataclass(frozen=True)
class JobsQuery:
    """Which jobs to list: newest first, at most ``limit``."""

    status_id: int | None = None
    since: datetime | None = None
    """Queued at or after this (the database's time)."""
    since_ago: timedelta | None = None
    """Queued within this long before the database's now."""
    limit: int = DEFAULT_LIMIT


def database_now(cursor: Cursor) -> datetime:
    cursor.execute("SELECT NOW()")
    row = cursor.fetchone()
    assert row is not None and isinstance(row[0], datetime)
    return row[0]


def recent_jobs(cursor: Cursor, query: JobsQuery, now: datetime | None = None) -> list[JobRow]:
    """The jobs ``query`` asks for, newest (highest id) first."""
    now = now or database_now(cursor)
    limit = max(1, min(query.limit, MAX_LIMIT))
    since = query.since if query.since_ago is None else now - query.since_ago
    if since is None:
        return [_job(row, now) for row in _page(cursor, query.status_id, None, limit)]
    # Ids grow with time: page back from the newest until a page reaches past ``since``,
    # instead of asking the server to check every row's object for its date.
    found: list[JobRow] = []
    before: int | None = None
    page_size = max(limit, SINCE_PAGE)
    while len(found) < limit:
        rows = _page(cursor, query.status_id, before, page_size)
        jobs = [_job(row, now) for row in rows]
        found.extend(j for j in jobs if j.queued_at is not None and j.queued_at >= since)
        if len(rows) < page_size or any(
            j.queued_at is not None and j.queued_at < since for j in jobs
        ):
            break
        before = jobs[-1].id
    return found[:limit]


def _page(
    cursor: Cursor, status_id: int | None, before: int | None, limit: int
) -> tuple[tuple[Any, ...], ...]:
    conditions, values = [], []
    if status_id is not None:
        conditions.append("j.status_id = %s")
        values.append(status_id)
    if before is not None:
        conditions.append("j.id < %s")
        values.append(before)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    cursor.execute(f"{_COLUMNS} {where} ORDER BY j.id DESC LIMIT %s", (*values, limit))
    return cursor.fetchall()


def _job(row: tuple[Any, ...], now: datetime) -> JobRow:
    job_id, name, status_id, user_id, username, slug, created_at, completed_at = row
    if user_id is None:
        user = COMMAND_LINE
    else:
        user = clean_line(username, 255) if username is not None else DELETED_USER
    end = completed_at if completed_at is not None else now if status_id == IN_PROGRESS else None
    duration = end - created_at if end is not None and created_at is not None else None
    return JobRow(
        id=job_id,
        name=clean_line(name or "", 255),
        status_id=status_id,
        user=user,
        slug=clean_line(slug, 255) if slug is not None else None,
        queued_at=created_at,
        completed_at=completed_at,
        duration=duration,
    )


def jobs_summary(cursor: Cursor, now: datetime | None = None) -> JobsSummary:
    """How many jobs are in progress, the oldest of them, and the errors of the last hour."""
    now = now or database_now(cursor)
    cursor.execute("SELECT COUNT(*) FROM job WHERE status_id = %s", (IN_PROGRESS,))
    counted = cursor.fetchone()
    in_progress = int(counted[0]) if counted else 0
    cursor.execute(f"{_COLUMNS} WHERE j.status_id = %s ORDER BY j.id ASC LIMIT 1", (IN_PROGRESS,))
    oldest = cursor.fetchone()
    cursor.execute(
        "SELECT id, name, completed_at FROM job WHERE status_id = %s ORDER BY id DESC LIMIT %s",
        (ERROR, RECENT_ERRORS_EXAMINED),
    )
    errors = cursor.fetchall()
    window_start = now - ERRORS_WINDOW
    recent = [
        (job_id, clean_line(name or "", 255))
        for job_id, name, completed_at in errors
        if completed_at is not None and completed_at >= window_start
    ]
    counts = Counter(name for _id, name in recent)
    last_ids: dict[str, int] = {}
    for job_id, name in recent:
        last_ids.setdefault(name, job_id)
    notes = _last_error_notes(cursor, tuple(last_ids.values()))
    per_name = tuple(
        JobErrors(name, count, last_ids[name], notes.get(last_ids[name]))
        for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
    return JobsSummary(
        now=now,
        in_progress=in_progress,
        oldest_in_progress=_job(oldest, now) if oldest else None,
        errors_last_hour=per_name,
        errors_at_least=len(errors) == RECENT_ERRORS_EXAMINED and len(recent) == len(errors),
    )


def _last_error_notes(cursor: Cursor, job_ids: tuple[int, ...]) -> dict[int, str]:
    """The first line of each job's first error note, by job id (through the note's
    ``object_id`` index). The first says what went wrong: after an exception AtoM's worker
    adds "Exception: …", then "File: …" and "Line: …", each an error note of its own."""
    if not job_ids:
        return {}
    marks = ", ".join(["%s"] * len(job_ids))
    cursor.execute(
        "SELECT n.object_id, i.content FROM note AS n"
        " JOIN note_i18n AS i ON i.id = n.id AND i.culture = n.source_culture"
        f" WHERE n.object_id IN ({marks}) AND n.type_id = %s ORDER BY n.id LIMIT %s",
        (*job_ids, ERROR_NOTE, 4 * len(job_ids)),
    )
    notes: dict[int, str] = {}
    for job_id, content in cursor.fetchall():
        first = next((line for line in (content or "").splitlines() if line.strip()), "")
        if first:
            notes.setdefault(job_id, clean_line(first, ERROR_NOTE_CHARS))
    return notes


def in_progress_jobs(
    cursor: Cursor, now: datetime, limit: int = IN_PROGRESS_LISTED
) -> list[JobRow]:
    """The jobs in progress, oldest first, at most ``limit`` (through the status index)."""
    cursor.execute(
        f"{_COLUMNS} WHERE j.status_id = %s ORDER BY j.id LIMIT %s", (IN_PROGRESS, limit)
    )
    return [_job(row, now) for row in cursor.fetchall()]


def job_story(cursor: Cursor, job_id: int) -> JobStory | None:
    """Job ``job_id``'s row, notes and output; None when there is no such job."""
    now = database_now(cursor)
    cursor.execute(f"{_COLUMNS} WHERE j.id = %s", (job_id,))
    row = cursor.fetchone()
    if row is None:
        return None
    cursor.execute("SELECT download_path, output FROM job WHERE id = %s", (job_id,))
    extra = cursor.fetchone()
    download_path, output = extra if extra else (None, None)
    cursor.execute(
        "SELECT n.id, n.type_id, i.content FROM note AS n"
        " LEFT JOIN note_i18n AS i ON i.id = n.id"
        " WHERE n.object_id = %s ORDER BY n.id, i.culture = n.source_culture DESC LIMIT %s",
        (job_id, MAX_NOTES),
    )
    notes: dict[int, JobNote] = {}
    for note_id, type_id, content in cursor.fetchall():
        notes.setdefault(note_id, JobNote(note_id, type_id == ERROR_NOTE, _lines(content or "")))
    return JobStory(
        job=_job(row, now),
        download_path=clean_line(download_path, 1024) if download_path else None,
        notes=tuple(notes.values()),
        output=_lines(output or "", MAX_OUTPUT_LINES),
    )


def _lines(text: str, limit: int = MAX_NOTE_LINES) -> tuple[str, ...]:
    lines = text.splitlines()
    kept = [clean_line(line) for line in lines[-limit:]]
    if len(lines) > limit:
        kept.insert(0, f"… {len(lines) - limit:,} earlier lines not shown")
    return tuple(kept)


def enabled_plugins(cursor: Cursor) -> tuple[str, ...] | None:
    """The ``plugins`` setting's plugins; None when there is no such setting or it cannot be
    read (a value that is not a serialized list of names)."""
    cursor.execute(
        "SELECT i.value FROM setting AS s JOIN setting_i18n AS i ON i.id = s.id"
        " WHERE s.name = 'plugins' ORDER BY i.culture = s.source_culture DESC, s.id LIMIT 1"
    )
    row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    return parse_plugins(row[0])


def parse_plugins(value: str | bytes) -> tuple[str, ...] | None:
    data = value.encode() if isinstance(value, str) else value
    try:
        names = string_values(unserialize(data))
    except PhpSerializedError:
        return None
    return tuple(clean_line(name, 255) for name in names if re.fullmatch(r"[A-Za-z0-9_]+", name))


MAX_NOTE_CHARS = 2_000


def mark_failed(cursor: Cursor, job_id: int, note: str) -> bool:
    """Mark job ``job_id`` failed, as AtoM's ``setStatusError`` does: status error,
    ``completed_at`` now, the object row's update stamp, and an error note with ``note`` —
    only if the job is still in progress (True), else nothing is changed (False). Run it in
    one transaction (``AtomDatabase.write``). Never deletes."""
    changed = cursor.execute(
        "UPDATE job SET status_id = %s, completed_at = NOW() WHERE id = %s AND status_id = %s",
        (ERROR, job_id, IN_PROGRESS),
    )
    if changed != 1:
        return False
    cursor.execute(
        "UPDATE object SET updated_at = NOW(), serial_number = serial_number + 1 WHERE id = %s",
        (job_id,),
    )
    cursor.execute(
        "INSERT INTO note (object_id, type_id, source_culture) VALUES (%s, %s, %s)",
        (job_id, ERROR_NOTE, NOTE_CULTURE),
    )
    cursor.execute(
        "INSERT INTO note_i18n (content, id, culture) VALUES (%s, LAST_INSERT_ID(), %s)",
        (note[:MAX_NOTE_CHARS], NOTE_CULTURE),
    )
    return True


ONE_AT_A_TIME_CLASSES = frozenset({"arObjectMoveJob", "arFileImportJob"})
"""AtoM runs these one at a time in queueing order: a later one waits behind an unfinished
one (10 tries, 10 s apart) and then fails with "Maximum retries reached"."""


def consequence_words(job: JobRow) -> str:
    """What a stuck ``job`` does to the site, beyond itself."""
    if job.name in ONE_AT_A_TIME_CLASSES:
        return (
            f"Until it is marked, every later {' and '.join(sorted(ONE_AT_A_TIME_CLASSES))}"
            ' waits behind it and then fails with "Maximum retries reached".'
        )
    return "AtoM's Jobs page shows it in progress for ever; nothing else waits on it."


def failed_note(who: str, why: str) -> str:
    """The error note's words: who marked the job failed, and why."""
    return f"Marked failed by {who} with atomctl-tui: {why}"
