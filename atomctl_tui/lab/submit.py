"""Queue AtoM-like background jobs on a lab's gearmand, as AtoM's web interface would."""

from __future__ import annotations

import itertools
import json
import re
import time

import gearman

from atomctl_tui.atom import site_prefix
from atomctl_tui.lab.state import LabError, LabState

PRIORITIES = {
    "high": gearman.PRIORITY_HIGH,
    "normal": gearman.PRIORITY_NONE,
    "low": gearman.PRIORITY_LOW,
}
JOB_CLASS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Positive, as AtoM's job ids (rows of its object table); the stand-in refuses others.
_job_ids = itertools.count(int(time.time() * 1000) % 1_000_000 + 1)


def job_parameters(job_class: str, *, seconds: float, fail: bool) -> str:
    """The JSON AtoM's QubitJob::runJob() sends: the job's own parameters, then ``name`` and
    ``id`` appended. The stand-in's own are how long to work and whether to fail."""
    own: dict[str, object] = {"seconds": seconds}
    if fail:
        own["fail"] = True
    return json.dumps({**own, "name": job_class, "id": next(_job_ids)}, separators=(",", ":"))


def submit(
    state: LabState,
    job_class: str,
    *,
    count: int = 1,
    priority: str = "normal",
    fail: bool = False,
    seconds: float = 2.0,
) -> list[str]:
    """Queue ``count`` jobs in the background; returns their Gearman job handles."""
    if not JOB_CLASS.match(job_class):
        raise LabError(f"{job_class!r} is not a job class name (e.g. arFindingAidJob)")
    if count < 1:
        raise LabError("--count must be at least 1")
    function = site_prefix(state.paths.atom_root) + job_class
    client = gearman.GearmanClient([state.gearman_server])
    jobs = [
        {
            "task": function,
            "data": job_parameters(job_class, seconds=seconds, fail=fail),
            "priority": PRIORITIES[priority],
        }
        for _ in range(count)
    ]
    try:
        requests = client.submit_multiple_jobs(
            jobs, background=True, wait_until_complete=False, poll_timeout=10.0
        )
    except gearman.errors.ServerUnavailable as exc:
        raise LabError(f"gearmand of lab {state.name!r} is not reachable ({exc})") from exc
    finally:
        client.shutdown()
    handles = [r.job.handle for r in requests if r.job.handle]
    if len(handles) != count:
        raise LabError(f"gearmand accepted {len(handles)} of {count} jobs")
    return [h.decode() if isinstance(h, bytes) else h for h in handles]
