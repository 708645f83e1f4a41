"""Two remote hosts over SSH: first full paint, outside change → screen, and a stalled host.

Run as root from the repository: `.venv/bin/python benchmarks/bench_fleet.py`. It boots two
labs of its own (`bench-fleet-a` runs gearmand and two workers, `bench-fleet-b` two workers
registered with A's gearmand), powers them off at the end, and prints the figures that
benchmarks/README.md records. The console reaches both only through the labs' sshd, over
loopback, as `atomctl-tui --host root@127.0.0.1:<port> …` does.

Method:
- First full paint: 5 runs, each timed from the moment the SSH connections start to open
  (what `atomctl-tui` does before the UI: the masters, each host's AtoM config and
  addresses) to the app's creation ("app"), then to the first frame painted after each part
  is filled: the Workers table holds every worker of both hosts with its PID ("workers"),
  both job server entries are reachable ("servers"), the journal holds lines from both
  hosts ("journal"); "full" is the last of them. Headless, 80x24.
- Outside change → shown: `systemctl stop`/`start` of B's atom-worker@2 run inside lab B,
  outside the console; systemd's own StateChangeTimestamp of the unit (read from lab B's bus
  socket directly, not over SSH) is compared with the moment the Workers pane wrote the new
  state into its cell. Same machine, same clock. 30 changes.
- Stalled host: lab B's systemd-stdio-bridge is stopped (SIGSTOP) while a D-Bus call to it
  is under way, once with pystemd in the console's own process (as the local bus is) and once
  with the bus in its child process (as remote hosts are). A thread of the console process
  ticks every 5 ms meanwhile; its longest gap is how long the console could not run Python —
  no key, no paint. Then SIGCONT.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pystemd.dbuslib import DBusAddress, path_encode

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.cli import build_parser, settings_from
from atomctl_tui.fleet import open_fleet
from atomctl_tui.lab.ssh import client_config_path
from atomctl_tui.lab.state import LabState
from atomctl_tui.remote.host_spec import parse_host_spec
from atomctl_tui.remote.ssh_link import SshLink, SshOptions
from atomctl_tui.systemd.actions import Action
from atomctl_tui.systemd.bus_process import ProcessUnitWatch
from atomctl_tui.systemd.units import UnitWatch
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.job_server.pane import JobServerPane
from atomctl_tui.ui.journal.pane import JournalPane
from atomctl_tui.ui.workers.pane import WorkersPane

# The tests' way of making two labs a job server host and a worker host.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from atomctl_tui.lab.two_labs import NO_CONFIG, link_atom_root, point_workers_at

LAB = [str(Path(sys.executable).with_name("atomctl-lab"))]
NAMES = ("bench-fleet-a", "bench-fleet-b")
SIZE = (80, 24)
ROUNDS = 15
PAINTS = 5
UNIT = "atom-worker@2.service"
WORKERS = ("atom-worker@1.service", "atom-worker@2.service")


def inside(lab: LabState, *command: str) -> str:
    return subprocess.run(
        lab.nsenter(*command), capture_output=True, text=True, check=True, timeout=120
    ).stdout


def state_change_time(lab: LabState, unit: str) -> float:
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


def argv(a: LabState, b: LabState) -> list[str]:
    return [
        "--host", f"root@127.0.0.1:{a.ssh_port}",
        "--host", f"root@127.0.0.1:{b.ssh_port}",
        "--ssh-config", str(client_config_path()),
        "--atom-root", "/run/atomctl-atom",
    ]  # fmt: skip


def open_console(a: LabState, b: LabState):
    settings = settings_from(build_parser().parse_args(argv(a, b)), environ=NO_CONFIG)
    patterns = [*settings.unit_patterns, JOB_SERVER_UNIT]
    return open_fleet(settings, patterns, interactive=False)


def painted_parts(app: AtomctlApp, labels: list[str]) -> set[str]:
    """Which parts of the screen are filled: "workers" (every worker of both hosts with its
    PID), "servers" (both job server entries reachable), "journal" (lines of both hosts)."""
    parts: set[str] = set()
    if not (app.is_running and app.screen_stack):
        return parts
    panes = list(app.query(WorkersPane))
    if not panes:
        return parts
    workers = panes[0]
    keys = [workers.row_key(label, unit) for label in labels for unit in WORKERS]
    if all(key in workers.table.shown and workers.table.shown[key]["pid"][0] for key in keys):
        parts.add("workers")
    snapshots = app.query_one(JobServerPane).snapshots
    if len(snapshots) >= 2 and all(s.reachable for s in snapshots):
        parts.add("servers")
    if {entry.host for entry in app.query_one(JournalPane).view.entries} >= set(labels):
        parts.add("journal")
    return parts


async def first_paint(a: LabState, b: LabState) -> dict[str, float]:
    """Seconds from the command to each part painted, and to the app's start ("app")."""
    started = time.perf_counter()
    fleet, settings = await asyncio.to_thread(open_console, a, b)
    marks = {"app": time.perf_counter() - started}
    try:
        app = AtomctlApp(fleet=fleet, settings=settings)
        running = asyncio.create_task(app.run_async(headless=True, size=SIZE))
        while len(marks) < 4:
            for part in painted_parts(app, fleet.labels) - set(marks):
                painted = asyncio.Event()
                app.call_after_refresh(painted.set)
                await painted.wait()
                marks[part] = time.perf_counter() - started
            await asyncio.sleep(0.002)
        app.exit()
        await running
    finally:
        fleet.close()
    return marks


class CellClock:
    """Notes when the Workers pane writes each row's state cell."""

    def __init__(self) -> None:
        self.written: dict[tuple[str, str], float] = {}
        original = WorkersPane._update_cells
        clock = self

        def update_cells(pane, key, cells):
            original(pane, key, cells)
            if "state" in cells:
                clock.written[(key, cells["state"][0])] = time.time()

        WorkersPane._update_cells = update_cells


async def outside_changes(a: LabState, b: LabState) -> list[float]:
    clock = CellClock()
    samples = []
    fleet, settings = await asyncio.to_thread(open_console, a, b)
    try:
        app = AtomctlApp(fleet=fleet, settings=settings)
        async with app.run_test(size=SIZE) as pilot:
            pane = app.query_one(WorkersPane)
            key = pane.row_key(fleet.labels[1], UNIT)
            while not (key in pane.table.shown and pane.table.shown[key]["pid"][0]):
                await pilot.pause(0.01)
            for _ in range(ROUNDS):
                for verb, state in (("stop", "inactive"), ("start", "active")):
                    clock.written.pop((key, state), None)
                    await asyncio.to_thread(inside, b, "systemctl", verb, UNIT)
                    while (key, state) not in clock.written:
                        await pilot.pause(0.002)
                    samples.append(clock.written[(key, state)] - state_change_time(b, UNIT))
                await asyncio.to_thread(inside, b, "systemctl", "reset-failed", UNIT)
    finally:
        fleet.close()
    return samples


def bridge_pids(lab: LabState) -> list[str]:
    found = subprocess.run(
        lab.nsenter("pgrep", "-x", "systemd-stdio-b"), capture_output=True, text=True, check=False
    )
    return found.stdout.split()


def longest_stall(during) -> float:
    """The longest gap of a 5 ms ticker thread while ``during()`` runs."""
    gaps = [0.0]
    stop = threading.Event()

    def tick() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last - 0.005)
            last = now

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        during()
    finally:
        stop.set()
        ticker.join()
    return max(gaps)


def stalled_host(b: LabState) -> dict[str, float]:
    """One D-Bus call to a host whose bridge stops answering, in-process and in the child."""
    runtime = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    spec = parse_host_spec(f"root@127.0.0.1:{b.ssh_port}")
    link = SshLink(spec, SshOptions(str(client_config_path())), runtime, name="h0")
    link.open(interactive=False)
    host = link.host()
    results = {}
    try:
        # In-process, as for the local machine: the call holds the interpreter lock.
        watch = UnitWatch(host, ["atom-worker@*.service"])
        unsubscribe = watch.subscribe(lambda update: None)
        while watch.bus is None or not watch.snapshot():
            time.sleep(0.05)
        actions = watch.actions(["atom-worker@*.service"])
        results["in-process"] = _stall_during(
            b, lambda: actions.perform(Action.RESET_FAILED, [UNIT])
        )
        unsubscribe()
        # In the child process, as for remote hosts.
        child_watch = ProcessUnitWatch(host, ["atom-worker@*.service"])
        unsubscribe = child_watch.subscribe(lambda update: None)
        while not child_watch.snapshot():
            time.sleep(0.05)
        child_actions = child_watch.actions(["atom-worker@*.service"])
        results["child process"] = _stall_during(
            b, lambda: child_actions.perform(Action.RESET_FAILED, [UNIT])
        )
        unsubscribe()
    finally:
        link.close()
        shutil.rmtree(runtime, ignore_errors=True)
    return results


def _stall_during(b: LabState, call) -> float:
    pids = bridge_pids(b)
    for pid in pids:
        inside(b, "kill", "-STOP", pid)
    outcome: list = []
    resume = threading.Timer(30.0, lambda: [inside(b, "kill", "-CONT", p) for p in pids])
    resume.start()  # in case the call never returns by itself
    try:
        stall = longest_stall(lambda: outcome.append(call()))
    finally:
        resume.cancel()
        for pid in pids:
            subprocess.run(b.nsenter("kill", "-CONT", pid), check=False)
    print(f"  outcome: {outcome[0][0].message if outcome and outcome[0] else outcome}")
    return stall


def main() -> int:
    labs = []
    try:
        for name in NAMES:
            subprocess.run([*LAB, "up", "--name", name, "--workers", "2"], check=True)
            lab = LabState.load(name)
            assert lab is not None
            labs.append(lab)
            link_atom_root(lab)
        a, b = labs
        point_workers_at(b, a)
        paints = [asyncio.run(first_paint(a, b)) for _ in range(PAINTS)]
        latency = asyncio.run(outside_changes(a, b))
        stalls = stalled_host(b)
    finally:
        for lab in labs:
            subprocess.run([*LAB, "down", "--name", lab.name], check=True)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"machine: {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"date: {time.strftime('%Y-%m-%d')}, load average {os.getloadavg()[0]:.2f}")
    print(f"first paint, 2 hosts, ms from the command ({PAINTS} runs, median / max):")
    for part in ("app", "workers", "servers", "journal"):
        ms = sorted(marks[part] * 1000 for marks in paints)
        print(f"  {part:8} {statistics.median(ms):6.0f} / {ms[-1]:.0f}")
    full = sorted(max(marks.values()) * 1000 for marks in paints)
    print(f"  full     {statistics.median(full):6.0f} / {full[-1]:.0f}")
    ms = sorted(sample * 1000 for sample in latency)
    print(
        f"outside change on host B -> table cell: median {statistics.median(ms):.1f} ms,"
        f" p90 {ms[int(len(ms) * 0.9) - 1]:.1f} ms, max {ms[-1]:.1f} ms ({len(ms)} changes)"
    )
    for where, seconds in stalls.items():
        print(f"stalled host, bus {where}: the console's longest pause {seconds * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
