"""Queue AtoM-like background jobs on a lab, as AtoM's web interface would.

As ``QubitJob::runJob()``: the job's rows go into the lab's database first (``object``, then
``job`` in progress, then the description note), are committed, and only then is the job
submitted to gearmand in the background, its JSON parameters ending with ``name`` and ``id``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import gearman
import pymysql

from atomctl_tui.atom import site_prefix
from atomctl_tui.lab import job_rows, mariadb
from atomctl_tui.lab.state import LabError, LabState

PRIORITIES = {
    "high": gearman.PRIORITY_HIGH,
    "normal": gearman.PRIORITY_NONE,
    "low": gearman.PRIORITY_LOW,
}
JOB_CLASS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SubmittedJob:
    """A job's row id in the lab's database and its handle in gearmand."""

    id: int
    handle: str


def job_parameters(
    job_class: str,
    job_id: int,
    *,
    seconds: float,
    fail: bool,
    object_id: int | None = None,
    description: str | None = None,
) -> str:
    """The JSON AtoM's QubitJob::runJob() sends: the caller's parameters, then ``name`` and
    ``id`` appended. The stand-in's own are how long to work and whether to fail; AtoM's
    callers pass ``objectId`` and ``description`` when they have them."""
    own: dict[str, object] = {"seconds": seconds}
    if fail:
        own["fail"] = True
    if object_id is not None:
        own["objectId"] = object_id
    if description is not None:
        own["description"] = description
    return json.dumps({**own, "name": job_class, "id": job_id}, separators=(",", ":"))


def _one_id(cursor: pymysql.cursors.Cursor, query: str, value: str, what: str) -> int:
    cursor.execute(query, (value,))
    row = cursor.fetchone()
    if row is None:
        raise LabError(f"the lab's database has no {what} {value!r}")
    return int(row[0])


def _insert_rows(
    state: LabState,
    job_class: str,
    count: int,
    *,
    username: str | None,
    object_slug: str | None,
    description: str | None,
) -> tuple[list[int], int | None]:
    """The rows of ``count`` jobs, committed; their ids and the object they work on."""
    connection = mariadb.connect(state)
    try:
        with connection.cursor() as cursor:
            user_id = (
                None
                if username is None
                else _one_id(cursor, "SELECT id FROM user WHERE username = %s", username, "user")
            )
            object_id = (
                None
                if object_slug is None
                else _one_id(
                    cursor, "SELECT object_id FROM slug WHERE slug = %s", object_slug, "slug"
                )
            )
            ids = [
                job_rows.insert_job(
                    cursor,
                    job_class,
                    user_id=user_id,
                    object_id=object_id,
                    description=description,
                )
                for _ in range(count)
            ]
        connection.commit()  # before gearmand hears of the jobs, as runJob() does
    except pymysql.err.MySQLError as exc:
        raise LabError(f"the database of lab {state.name!r} refused the job rows ({exc})") from exc
    finally:
        connection.close()
    return ids, object_id


def submit(
    state: LabState,
    job_class: str,
    *,
    count: int = 1,
    priority: str = "normal",
    fail: bool = False,
    seconds: float = 2.0,
    username: str | None = mariadb.DEMO_USERNAME,
    object_slug: str | None = None,
    description: str | None = None,
) -> list[SubmittedJob]:
    """Queue ``count`` jobs in the background, each with its row in the database.

    ``username`` None is a job queued from the command line (no user); ``object_slug`` names
    what the jobs work on; ``description`` becomes each job's first note.
    """
    if not JOB_CLASS.match(job_class):
        raise LabError(f"{job_class!r} is not a job class name (e.g. arFindingAidJob)")
    if count < 1:
        raise LabError("--count must be at least 1")
    ids, object_id = _insert_rows(
        state,
        job_class,
        count,
        username=username,
        object_slug=object_slug,
        description=description,
    )
    function = site_prefix(state.paths.atom_root) + job_class
    client = gearman.GearmanClient([state.gearman_server])
    jobs = [
        {
            "task": function,
            "data": job_parameters(
                job_class,
                job_id,
                seconds=seconds,
                fail=fail,
                object_id=object_id,
                description=description,
            ),
            "priority": PRIORITIES[priority],
        }
        for job_id in ids
    ]
    try:
        requests = client.submit_multiple_jobs(
            jobs, background=True, wait_until_complete=False, poll_timeout=10.0
        )
    except gearman.errors.ServerUnavailable as exc:
        raise LabError(
            f"gearmand of lab {state.name!r} is not reachable ({exc}); the rows of jobs"
            f" {', '.join(map(str, ids))} stay in progress, as AtoM leaves them"
        ) from exc
    finally:
        client.shutdown()
    handles = [r.job.handle for r in requests if r.job.handle]
    if len(handles) != count:
        raise LabError(f"gearmand accepted {len(handles)} of {count} jobs")
    return [
        SubmittedJob(job_id, handle.decode() if isinstance(handle, bytes) else handle)
        for job_id, handle in zip(ids, handles, strict=True)
    ]
