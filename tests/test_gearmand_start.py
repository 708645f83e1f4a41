"""When gearmand started, from /proc as a lab's gearmand printed it; and "up since" in the
lab is gearmand's start, read through the host, not the console's first poll."""

from __future__ import annotations

import asyncio
import time

import pytest

from atomctl_tui.fleet import GearmanTarget
from atomctl_tui.gearman.gearmand_start import (
    CLOCK_TICKS,
    process_age,
    read_process_start,
    start_reader,
)
from atomctl_tui.gearman.poller import JobServersPoller
from atomctl_tui.gearman.servers import parse_server_address
from atomctl_tui.remote.hosts import Host, local_host
from atomctl_tui.systemd.units import UnitState
from tests.labs import inside, unit_property

# `cat /proc/37/stat /proc/uptime` in a lab: gearmand, started 1161838 ticks after boot.
LAB_STAT = (
    b"37 (gearmand) S 1 37 37 0 -1 4194368 160 0 0 0 0 0 0 0 20 0 7 0 1161838 410263552 1210"
    b" 18446744073709551615 94409368956928 94409369147961 140736207820784 0 0 0 0 4096 18155"
    b" 0 0 0 17 0 0 0 0 0 0 94409369247488 94409369256696 94410001653760 140736207826433"
    b" 140736207826572 140736207826572 140736207826917 0\n"
    b"11633.33 21281.94\n"
)


def test_the_age_is_uptime_less_the_start_in_clock_ticks():
    assert process_age(LAB_STAT, 37) == pytest.approx(11633.33 - 1161838 / CLOCK_TICKS)


def test_another_process_at_that_pid_says_nothing():
    # gearmand's pid in its own namespace, read where it numbers another process.
    other = LAB_STAT.replace(b"(gearmand)", b"(kworker/0:1)")
    assert process_age(other, 37) is None
    assert process_age(LAB_STAT, 38) is None
    assert process_age(b"", 37) is None
    assert process_age(LAB_STAT.split(b"\n")[0] + b"\n", 37) is None  # no uptime: no age


def test_a_name_with_spaces_and_parentheses_is_read_from_its_last_parenthesis():
    stat = LAB_STAT.replace(b"(gearmand)", b"(gear) (mand)")
    assert process_age(stat, 37, "gear) (mand") is not None


def test_a_host_that_cannot_run_the_command_gives_no_start():
    assert read_process_start(Host("nowhere", run_prefix=("/nonexistent/ssh",)), 37) is None
    assert read_process_start(local_host(), 0) is None


class Units:
    """The job server unit as a host's unit watch last listed it."""

    def __init__(self, unit: UnitState) -> None:
        self.unit = unit

    def snapshot(self) -> dict[str, UnitState]:
        return {self.unit.name: self.unit}


def test_without_proc_the_units_active_enter_timestamp_says_it_when_its_pid_is_gearmands():
    unit = UnitState(
        "gearman-job-server.service", active_state="active", main_pid=37, active_since_us=5_000_000
    )
    nowhere = Host("nowhere", run_prefix=("/nonexistent/ssh",))
    assert start_reader(nowhere, Units(unit))(37) == 5.0  # type: ignore[arg-type]
    assert start_reader(nowhere, Units(unit))(38) is None  # type: ignore[arg-type]
    assert start_reader(nowhere, None)(37) is None


@pytest.mark.lab
def test_the_lab_gearmands_start_is_read_through_the_host(lab):
    pid = int(unit_property(lab, "gearman-job-server.service", "MainPID"))
    started = read_process_start(lab.host(), pid)
    assert started is not None
    # systemd's own word, to the second: when it ran gearmand.
    when = unit_property(lab, "gearman-job-server.service", "ExecMainStartTimestamp")
    exec_start = inside(lab, "date", "-d", when, "+%s")
    assert abs(started - int(exec_start)) < 1.5
    # The same pid on this machine is another process, or none: nothing is said.
    assert read_process_start(local_host(), pid) is None


@pytest.mark.lab
def test_a_poll_carries_gearmands_start_and_keeps_it_without_reading_again(lab):
    address = parse_server_address(lab.gearman_server)
    reads: list[int] = []

    def reader(pid: int) -> float | None:
        reads.append(pid)
        return read_process_start(lab.host(), pid)

    async def two_polls():
        target = GearmanTarget(address)
        poller = JobServersPoller.of_targets([target], start_readers={target.name: reader})
        try:
            return (await poller.poll())[0], (await poller.poll())[0]
        finally:
            await poller.close()

    first, second = asyncio.run(two_polls())
    assert first.started is not None and first.started < time.time()
    assert second.started == first.started
    assert reads == [first.pid]
