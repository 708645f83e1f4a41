"""Every admin command of the client against the lab's real gearmand, checked with gearadmin
and systemd in the lab."""

from __future__ import annotations

import pytest

from atomctl_tui.gearman.admin import CommandRefused, GearmanAdminClient, parse_workers_line
from tests.gearman_lab import gearadmin, gearadmin_table, worker_units
from tests.labs import unit_property

pytestmark = pytest.mark.lab


def lab_client(lab) -> GearmanAdminClient:
    return GearmanAdminClient("127.0.0.1", lab.gearman_port)


async def test_version_and_pid_are_gearmand_s(lab):
    async with lab_client(lab) as admin:
        assert await admin.version() == gearadmin(lab, "--server-version")[0]
        pid = await admin.getpid()
    assert pid == int(unit_property(lab, "gearman-job-server.service", "MainPID"))


async def test_status_tables_match_gearadmin(lab):
    async with lab_client(lab) as admin:
        status = await admin.status()
        priorities = await admin.priority_status()
    assert status.malformed == priorities.malformed == 0
    assert {s.function: [s.total, s.running, s.workers] for s in status.items} == (
        gearadmin_table(lab, "--status")
    )
    assert {p.function: [p.high, p.normal, p.low, p.workers] for p in priorities.items} == (
        gearadmin_table(lab, "--priority-status")
    )


async def test_workers_are_the_units_main_processes(lab):
    async with lab_client(lab) as admin:
        workers = await admin.workers()
    assert workers.malformed == 0
    ours = {c for c in workers.items if c.functions}  # without clients: gearadmin, us
    theirs = {parse_workers_line(line) for line in gearadmin(lab, "--workers")}
    assert ours == {c for c in theirs if c.functions}
    main_pids = {int(unit_property(lab, unit, "MainPID")) for unit in worker_units(lab)}
    assert {c.pid for c in ours} == main_pids


async def test_job_lists_cancel_and_maxqueue_answer(lab):
    async with lab_client(lab) as admin:
        jobs = await admin.show_jobs()
        unique = await admin.show_unique_jobs()
        with pytest.raises(CommandRefused) as refused:
            await admin.cancel_job("H:nowhere:1")
        # A function nobody has: gearmand accepts the limit and creates nothing.
        await admin.maxqueue("atomctl-test-nothing", 5)
        await admin.maxqueue("atomctl-test-nothing", 5, 4, 3)
        status = await admin.status()
    assert refused.value.code == "UNKNOWN_JOB"
    assert [j.handle for j in jobs.items] == [
        line.split("\t")[0] for line in gearadmin(lab, "--show-jobs")
    ]
    assert list(unique.items) == gearadmin(lab, "--show-unique-jobs")
    assert "atomctl-test-nothing" not in {s.function for s in status.items}
