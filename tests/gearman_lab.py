"""Driving a lab's gearmand and workers from tests, and reading them back with gearadmin."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TypeVar

from atomctl_tui.lab.state import LabState
from tests.labs import inside, lab_cli
from tests.waiting import wait_until

T = TypeVar("T")


def worker_units(lab: LabState) -> list[str]:
    return [f"atom-worker@{n}.service" for n in range(1, lab.workers + 1)]


def closed_port() -> int:
    """A port nothing listens on (the kernel's pick, released again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gearadmin(lab: LabState, *args: str) -> list[str]:
    """gearadmin inside the lab, its reply lines without the final '.'."""
    lines = inside(lab, "gearadmin", "--port", str(lab.gearman_port), *args).splitlines()
    return [line for line in lines if line != "."]


def gearadmin_table(lab: LabState, option: str) -> dict[str, list[int]]:
    """``--status`` or ``--priority-status`` as {function: numbers}."""
    table = {}
    for line in gearadmin(lab, option):
        function, *numbers = line.split("\t")
        table[function] = [int(n) for n in numbers]
    return table


def queued_total(lab: LabState) -> int:
    return sum(numbers[0] for numbers in gearadmin_table(lab, "--status").values())


def submit(lab: LabState, job_class: str, count: int, priority: str) -> list[str]:
    """Queue short jobs the way AtoM would; their handles."""
    result = lab_cli(
        "submit",
        job_class,
        "--count",
        str(count),
        "--priority",
        priority,
        "--seconds",
        "0.05",
        "--name",
        lab.name,
    )
    return result.stdout.split()


def stop_workers(lab: LabState) -> None:
    inside(lab, "systemctl", "stop", *worker_units(lab))


def start_workers(lab: LabState, units: list[str] | None = None) -> None:
    """Start workers again. Tests start them often: clear the unit's start limit
    (StartLimitBurst=3 per 24 h, as in AtoM's manual) so the start is not refused."""
    units = units or worker_units(lab)
    inside(lab, "systemctl", "reset-failed", *units, check=False)
    inside(lab, "systemctl", "start", *units)


def drain(lab: LabState) -> None:
    """Workers running, every queue empty: the shared lab as the next test expects it."""
    start_workers(lab)
    wait_until(lambda: queued_total(lab) == 0, timeout=60, what="the lab's queues to drain")


async def wait_in_thread(probe: Callable[[], T], *, timeout: float = 20.0, what: str = "") -> T:
    """wait_until off the event loop, so a running Textual app keeps polling meanwhile.

    Probes must only read state the app replaces whole (tuples, new dicts), never widgets.
    """
    return await asyncio.to_thread(wait_until, probe, timeout=timeout, what=what)


def lab_settings(lab: LabState, *, interval: float = 0.2, servers: list[str] | None = None):
    """The console's settings for a lab, ignoring any config file of the machine."""
    from atomctl_tui.config import resolve_settings

    return resolve_settings(
        cli_servers=servers or [lab.gearman_server],
        cli_atom_root=str(lab.paths.atom_root),
        cli_interval=interval,
        environ={"XDG_CONFIG_HOME": "/nonexistent/atomctl-tui-tests"},
    )
