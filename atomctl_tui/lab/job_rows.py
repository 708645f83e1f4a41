"""AtoM's job records in the lab's database, written as AtoM 2.9 writes them.

``QubitJob::runJob()`` inserts an ``object`` row and a ``job`` row (in progress) and the
caller's description as a note; arJobLogger appends every line a job logs to ``job.output``;
``setStatusCompleted()``/``setStatusError()`` set the status and ``completed_at``, and an
error also adds an error note. Used by ``atomctl-lab submit`` (outside the lab) and by the
stand-in worker (inside it). Times are local, as PHP's ``date()`` and ``new DateTime``.
"""

from __future__ import annotations

import time

from pymysql.cursors import Cursor

STATUS_IN_PROGRESS = 183
STATUS_COMPLETED = 184
STATUS_ERROR = 185
ERROR_NOTE_TYPE = 197
OUTPUT_LIMIT = 65534
"""arJobLogger keeps ``job.output`` to this many characters (SUBSTR(…, 1, 65534))."""
CULTURE = "en"
"""sfPropel's default culture: the source culture of notes and their i18n rows."""


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def add_note(cursor: Cursor, object_id: int, content: str, type_id: int | None) -> None:
    """QubitJob::addNoteText(): a note on the job, its text in note_i18n."""
    cursor.execute(
        "INSERT INTO note (object_id, type_id, source_culture) VALUES (%s, %s, %s)",
        (object_id, type_id, CULTURE),
    )
    cursor.execute(
        "INSERT INTO note_i18n (content, id, culture) VALUES (%s, %s, %s)",
        (content, cursor.lastrowid, CULTURE),
    )


def insert_job(
    cursor: Cursor,
    name: str,
    *,
    user_id: int | None,
    object_id: int | None,
    description: str | None,
) -> int:
    """runJob()'s rows: ``object`` (its id is the job's), ``job`` in progress, the description
    note. The caller commits before queueing, as runJob() does."""
    stamp = now()
    cursor.execute(
        "INSERT INTO object (class_name, created_at, updated_at) VALUES ('QubitJob', %s, %s)",
        (stamp, stamp),
    )
    job_id: int = cursor.lastrowid
    cursor.execute(
        "INSERT INTO job (id, name, user_id, object_id, status_id) VALUES (%s, %s, %s, %s, %s)",
        (job_id, name, user_id, object_id, STATUS_IN_PROGRESS),
    )
    if description is not None:
        add_note(cursor, job_id, description, None)
    return job_id


def job_name(cursor: Cursor, job_id: int) -> str | None:
    """QubitJob::getById(): the job's name, or None when there is no such job."""
    cursor.execute("SELECT name FROM job WHERE id = %s", (job_id,))
    row = cursor.fetchone()
    return None if row is None else str(row[0] or "")


def append_output(cursor: Cursor, job_id: int, name: str, priority: str, message: str) -> None:
    """arJobLogger::doLog(): ``[priority] [date] Job <id> "<name>": <message>`` and a newline
    appended to ``job.output``, the whole kept to OUTPUT_LIMIT characters."""
    line = f'[{priority}] [{now()}] Job {job_id} "{name}": {message}'
    cursor.execute(
        "UPDATE job SET output = SUBSTR(CONCAT_WS('', output, %s), 1, %s) WHERE id = %s",
        (line + "\n", OUTPUT_LIMIT, job_id),
    )


def _set_status(cursor: Cursor, job_id: int, status: int) -> None:
    """The job's save(): its status and completion time; Propel counts the object's
    serial number up on every update."""
    cursor.execute(
        "UPDATE job SET status_id = %s, completed_at = %s WHERE id = %s",
        (status, now(), job_id),
    )
    cursor.execute("UPDATE object SET serial_number = serial_number + 1 WHERE id = %s", (job_id,))


def mark_completed(cursor: Cursor, job_id: int) -> None:
    """setStatusCompleted() and save(), as AtoM's job classes end their runJob()."""
    _set_status(cursor, job_id, STATUS_COMPLETED)


def mark_error(cursor: Cursor, job_id: int, message: str) -> None:
    """arBaseJob::error()'s setStatusError($message) and save(): an error note with the
    message, status error, completed now."""
    add_note(cursor, job_id, message, ERROR_NOTE_TYPE)
    _set_status(cursor, job_id, STATUS_ERROR)
