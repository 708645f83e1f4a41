"""GET_STATUS against the lab's real gearmand: one worker busy with a long job, another job of
the same class waiting behind it, a handle gearmand never gave; and the running job, cancelled,
still running."""

from __future__ import annotations

import pytest

from atomctl_tui.atom import site_prefix
from atomctl_tui.gearman.admin import GearmanAdminClient
from atomctl_tui.gearman.job_status import JobStatusClient
from tests.gearman_lab import drain, gearadmin, gearadmin_table, worker_units
from tests.labs import inside, lab_cli
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

JOB_CLASS = "arFindingAidJob"
LONG_JOB_SECONDS = 8  # long enough to ask while it runs; drain() waits it out


def submit_job(lab, seconds: float) -> str:
    result = lab_cli("submit", JOB_CLASS, "--seconds", str(seconds), "--name", lab.name)
    (handle,) = result.stdout.split()
    return handle


def running_of(lab, function: str) -> int:
    return gearadmin_table(lab, "--status").get(function, [0, 0, 0])[1]


def show_jobs(lab) -> dict[str, list[str]]:
    """gearadmin --show-jobs: handle → [retries, ignore_job, job_queued]."""
    return {line.split("\t")[0]: line.split("\t")[1:] for line in gearadmin(lab, "--show-jobs")}


async def test_a_running_job_is_told_from_a_queued_one(lab):
    function = site_prefix(lab.paths.atom_root) + JOB_CLASS
    busy_worker, *others = worker_units(lab)
    inside(lab, "systemctl", "stop", *others)
    try:
        running = submit_job(lab, LONG_JOB_SECONDS)
        wait_until(lambda: running_of(lab, function) == 1, what=f"{busy_worker} to take {running}")
        waiting = submit_job(lab, 0.05)  # the only worker is busy: it waits
        async with JobStatusClient("127.0.0.1", lab.gearman_port) as client:
            statuses = await client.statuses([running, waiting, "H:nowhere:1"])
            listed = show_jobs(lab)
            # Cancelling a running job marks it cancelled; it runs on all the same.
            async with GearmanAdminClient("127.0.0.1", lab.gearman_port) as admin:
                await admin.cancel_job(running)
            after_cancel = (await client.statuses([running])).by_handle[running]
            listed_after_cancel = show_jobs(lab)[running]
        still_running = running_of(lab, function)
    finally:
        drain(lab)
    assert (statuses.asked, statuses.malformed, statuses.left_out) == (3, 0, 0)
    assert after_cancel.running and listed_after_cancel == ["0", "1", "0"]
    assert still_running == 1
    # `show jobs` cannot tell them apart...
    assert listed[running] == listed[waiting] == ["0", "0", "1"]
    # ...GET_STATUS can.
    assert statuses.by_handle[running].known and statuses.by_handle[running].running
    assert statuses.by_handle[waiting].known and not statuses.by_handle[waiting].running
    nowhere = statuses.by_handle["H:nowhere:1"]
    assert not nowhere.known and not nowhere.running
