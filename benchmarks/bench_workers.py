"""Workers pane speed on a lab: outside change → table, one update with 200 units, first paint.

Run as root from the repository: `.venv/bin/python benchmarks/bench_workers.py`. It boots its
own lab (`bench-workers`), powers it off at the end, and prints the figures that
benchmarks/README.md records.

Method:
- Latency: `systemctl stop`/`start` of atom-worker@2 run inside the lab (outside the console);
  for each, systemd's own StateChangeTimestamp (the moment the unit became inactive/active) is
  compared with the moment the Workers pane wrote the new state into its table cell. Same
  machine, same realtime clock. The headless app repaints on its next frame after that.
- 200 instances: atom-worker@3..202 enabled and started (a drop-in makes their ExecStart a
  `sleep`, so the figure is about the console, not 200 Python workers starting). "One table
  update" is the time the pane's handler takes for one message from the bus thread: one unit
  changed (an outside restart), and all of them at once (the first listing).
- First paint: from creating the app (Python and Textual already imported) to the end of the
  first screen refresh after its table holds every unit; headless at 80x24, 5 runs.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pystemd.dbuslib import DBusAddress, path_encode

from atomctl_tui.lab.state import LabState
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.workers.pane import WorkersPane

LAB_NAME = "bench-workers"
LAB = [str(Path(sys.executable).with_name("atomctl-lab"))]
SIZE = (80, 24)
ROUNDS = 15
EXTRA_INSTANCES = 200
UNIT = "atom-worker@2.service"


def inside(lab: LabState, *command: str) -> str:
    return subprocess.run(
        lab.nsenter(*command), capture_output=True, text=True, check=True, timeout=120
    ).stdout


def state_change_time(lab: LabState, unit: str) -> float:
    """When systemd last changed the unit's state (µs precision), read over its bus."""
    bus = DBusAddress(lab.dbus_address)
    bus.open()
    try:
        path = path_encode(b"/org/freedesktop/systemd1/unit", unit.encode())
        micro = bus.get_property(
            b"org.freedesktop.systemd1",
            path,
            b"org.freedesktop.systemd1.Unit",
            b"StateChangeTimestamp",
            b"t",
        )
    finally:
        bus.close()
    return micro / 1_000_000


class CellClock:
    """Notes when the pane writes each unit's state cell (wraps the pane's own method)."""

    def __init__(self) -> None:
        self.written: dict[tuple[str, str], float] = {}
        self.handler_seconds: list[tuple[int, float]] = []
        original_update = WorkersPane._update_cells
        original_handler = WorkersPane.on_units_changed
        clock = self

        def update_cells(pane, name, cells):
            original_update(pane, name, cells)
            if "state" in cells:
                clock.written[(name, cells["state"][0])] = time.time()

        def on_units_changed(pane, message):
            started = time.perf_counter()
            original_handler(pane, message)
            clock.handler_seconds.append(
                (len(message.update.changed), time.perf_counter() - started)
            )

        WorkersPane._update_cells = update_cells
        WorkersPane.on_units_changed = on_units_changed


async def wait_for(pilot, probe, timeout: float = 30.0, interval: float = 0.002):
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        await pilot.pause(interval)


async def measure_latency(lab: LabState, clock: CellClock) -> list[float]:
    samples = []
    app = AtomctlApp(lab.host())
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(WorkersPane)
        await wait_for(pilot, lambda: UNIT in pane.table.shown and pane.table.shown[UNIT]["pid"][0])
        for _ in range(ROUNDS):
            for verb, state in (("stop", "inactive"), ("start", "active")):
                clock.written.pop((UNIT, state), None)
                await asyncio.to_thread(inside, lab, "systemctl", verb, UNIT)
                await wait_for(pilot, lambda s=state: (UNIT, s) in clock.written)
                changed_at = state_change_time(lab, UNIT)
                samples.append(clock.written[(UNIT, state)] - changed_at)
            # AtoM's unit allows 3 starts per 24 h; reset-failed resets that count.
            await asyncio.to_thread(inside, lab, "systemctl", "reset-failed", UNIT)
    return samples


async def first_paint(lab: LabState, expected: int) -> float:
    """Seconds from creating the app to the first frame painted with ``expected`` rows."""
    started = time.perf_counter()
    app = AtomctlApp(lab.host())
    running = asyncio.create_task(app.run_async(headless=True, size=SIZE))
    painted = asyncio.Event()
    while True:
        tables = list(app.query("#workers-table")) if app.is_running and app.screen_stack else []
        if tables and tables[0].row_count >= expected:
            break
        await asyncio.sleep(0.002)
    app.call_after_refresh(painted.set)
    await painted.wait()
    seconds = time.perf_counter() - started
    app.exit()
    await running
    return seconds


async def measure_many(lab: LabState, clock: CellClock) -> dict[str, float]:
    expected = 2 + EXTRA_INSTANCES + 1  # @1, @2, the extras and atom-worker.service
    paints = [await first_paint(lab, expected) for _ in range(5)]
    clock.handler_seconds.clear()
    app = AtomctlApp(lab.host())
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(WorkersPane)
        await wait_for(
            pilot, lambda: all(c["pid"][0] for n, c in pane.table.shown.items() if "@" in n)
        )
        whole = max(seconds for count, seconds in clock.handler_seconds if count >= expected)
        singles = []
        for round_ in range(ROUNDS):
            unit = f"atom-worker@{3 + round_}.service"
            clock.handler_seconds.clear()
            await asyncio.to_thread(inside, lab, "systemctl", "restart", unit)
            await wait_for(pilot, lambda: any(c == 1 for c, _ in clock.handler_seconds))
            singles.extend(seconds for count, seconds in clock.handler_seconds if count == 1)
    return {
        "first_paint_median": statistics.median(paints),
        "first_paint_max": max(paints),
        "update_all": whole,
        "update_one_median": statistics.median(singles),
        "update_one_max": max(singles),
    }


def add_instances(lab: LabState) -> None:
    dropin = lab.paths.unit_dir / "atom-worker@.service.d"
    dropin.mkdir(exist_ok=True)
    (dropin / "bench.conf").write_text(
        "[Service]\nExecStart=\nExecStart=/bin/sleep infinity\nUser=nobody\n"
    )
    names = [f"atom-worker@{n}.service" for n in range(3, 3 + EXTRA_INSTANCES)]
    inside(lab, "systemctl", "daemon-reload")
    inside(lab, "systemctl", "enable", "--now", *names)


def main() -> int:
    subprocess.run([*LAB, "up", "--name", LAB_NAME, "--workers", "2"], check=True)
    lab = LabState.load(LAB_NAME)
    assert lab is not None
    clock = CellClock()
    try:
        latency = asyncio.run(measure_latency(lab, clock))
        add_instances(lab)
        many = asyncio.run(measure_many(lab, clock))
    finally:
        subprocess.run([*LAB, "down", "--name", LAB_NAME], check=True)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"machine: {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"date: {time.strftime('%Y-%m-%d')}")
    ms = sorted(sample * 1000 for sample in latency)
    print(
        f"outside change -> table cell: median {statistics.median(ms):.1f} ms,"
        f" p90 {ms[int(len(ms) * 0.9) - 1]:.1f} ms, max {ms[-1]:.1f} ms ({len(ms)} changes)"
    )
    print(
        f"{EXTRA_INSTANCES + 3} units: first paint {many['first_paint_median'] * 1000:.0f} ms"
        f" median of 5, {many['first_paint_max'] * 1000:.0f} ms max"
    )
    print(
        f"{EXTRA_INSTANCES + 3} units: one unit's update {many['update_one_median'] * 1000:.2f} ms"
        f" median, {many['update_one_max'] * 1000:.2f} ms max;"
        f" all units at once {many['update_all'] * 1000:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
