"""Benchmark: the Queues refresh with 1,000 functions, and the console's idle CPU.

Run as root from the repository: `.venv/bin/python benchmarks/bench_queues.py`. Boots a lab
named `bench-queues` (powered off at the end), stops its workers and queues jobs on 1,000
functions, then measures:

1. one refresh — fetch (getpid, status, prioritystatus, workers over TCP from the lab's
   gearmand) + parse + DataTable update — in the console running headless at 80x24, with
   nothing changed since the last refresh, and with 50 functions changed (one more job each,
   queued between two refreshes, outside the timing); then the same followed by the repaint;
2. the console's CPU while idle at `--interval 1` for 60 s: the real `atomctl-tui` in a
   pseudo-terminal (TERM=xterm, 80x24), utime+stime from /proc before and after, once with
   the lab's 18 AtoM functions and once with the 1,000.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import pty
import random
import select
import statistics
import struct
import subprocess
import sys
import termios
import time
from fcntl import ioctl
from pathlib import Path

import gearman

from atomctl_tui.atom import site_prefix
from atomctl_tui.config import resolve_settings
from atomctl_tui.lab.state import LabState
from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.messages import JobServersPolled
from atomctl_tui.ui.queues.pane import QueuesPane

LAB_NAME = "bench-queues"
LAB = [str(Path(sys.executable).with_name("atomctl-lab"))]
CONSOLE = str(Path(sys.executable).with_name("atomctl-tui"))
FUNCTIONS = 1000
NO_CONFIG = {"XDG_CONFIG_HOME": "/nonexistent/atomctl-bench"}


def lab_run(lab: LabState, *command: str) -> None:
    subprocess.run(lab.nsenter(*command), check=True, capture_output=True)


def queue_jobs(lab: LabState, functions: list[str], per_function: int = 1) -> None:
    client = gearman.GearmanClient([lab.gearman_server])
    priorities = [gearman.PRIORITY_HIGH, gearman.PRIORITY_NONE, gearman.PRIORITY_LOW]
    jobs = [
        {"task": f, "data": "{}", "priority": priorities[i % 3]}
        for i, f in enumerate(functions)
        for _ in range(per_function)
    ]
    try:
        client.submit_multiple_jobs(jobs, background=True, wait_until_complete=False)
    finally:
        client.shutdown()


def settings(lab: LabState, interval: float):
    return resolve_settings(
        cli_servers=[lab.gearman_server],
        cli_atom_root=str(lab.paths.atom_root),
        cli_interval=interval,
        environ=NO_CONFIG,
    )


async def time_refreshes(lab: LabState, functions: list[str], rounds: int) -> dict[str, list]:
    """From asking the watch for a poll to the Queues pane having taken it (and, for
    ``changed+paint``, the screen painted): the poll on its thread, the message, the rows."""
    # A long interval: the watch polls once, then every poll here is one we asked for.
    app = AtomctlApp(Host(label="bench"), settings=settings(lab, interval=3600))
    timings: dict[str, list[float]] = {"steady": [], "changed": [], "changed+paint": []}
    handled: list[float] = []
    original = QueuesPane.on_job_servers_polled

    def on_polled(pane: QueuesPane, message: JobServersPolled) -> None:
        original(pane, message)
        handled.append(time.perf_counter())

    QueuesPane.on_job_servers_polled = on_polled
    try:
        async with app.run_test(size=(80, 24)) as pilot:

            async def poll(paint: bool) -> float:
                seen = len(handled)
                started = time.perf_counter()
                app.job_servers.poll_now()
                while len(handled) == seen:
                    await asyncio.sleep(0.0005)
                if not paint:
                    return handled[-1] - started
                await pilot.pause()  # the compositor renders the changed screen
                return time.perf_counter() - started

            while not handled:
                await pilot.pause(0.05)
            await pilot.pause()
            for _ in range(rounds):
                timings["steady"].append(await poll(paint=False))
                await pilot.pause()
            for paint in (False, True):
                for _ in range(rounds):
                    queue_jobs(lab, random.sample(functions, 50))
                    timings["changed+paint" if paint else "changed"].append(await poll(paint))
                    await pilot.pause()
            rows = len(app.query_one(QueuesPane).rows)
    finally:
        QueuesPane.on_job_servers_polled = original
    assert rows >= FUNCTIONS, f"only {rows} rows in the Queues pane"
    return timings


def idle_cpu(lab: LabState, seconds: float) -> float:
    """% of one core used by the real console over ``seconds`` of idle polling."""
    pid, fd = pty.fork()
    if pid == 0:
        # The terminal has its size before the console starts, as a real one does.
        ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.environ.update(NO_CONFIG, TERM="xterm")
        os.execv(
            CONSOLE,
            [
                CONSOLE,
                "--gearman",
                lab.gearman_server,
                "--atom-root",
                str(lab.paths.atom_root),
                "--interval",
                "1",
            ],
        )

    def drain(until: float) -> None:
        while time.monotonic() < until:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    os.read(fd, 65536)
                except OSError:
                    return

    def cpu_ticks() -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime

    try:
        drain(time.monotonic() + 5)  # start-up and first polls are not idle
        before, started = cpu_ticks(), time.monotonic()
        drain(started + seconds)
        used = (cpu_ticks() - before) / os.sysconf("SC_CLK_TCK")
        elapsed = time.monotonic() - started
    finally:
        os.kill(pid, 15)
        os.waitpid(pid, 0)
        os.close(fd)
    return 100 * used / elapsed


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    return f"median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="refreshes per case")
    parser.add_argument("--idle-seconds", type=float, default=60)
    args = parser.parse_args()

    subprocess.run([*LAB, "up", "--name", LAB_NAME, "--workers", "2"], check=True)
    lab = LabState.load(LAB_NAME)
    try:
        cpu_18 = idle_cpu(lab, args.idle_seconds)
        lab_run(lab, "systemctl", "stop", "atom-worker@1.service", "atom-worker@2.service")
        prefix = site_prefix(lab.paths.atom_root)
        functions = [f"{prefix}benchJob{n:04d}" for n in range(FUNCTIONS)]
        queue_jobs(lab, functions)
        timings = asyncio.run(time_refreshes(lab, functions, args.rounds))
        cpu_1000 = idle_cpu(lab, args.idle_seconds)
    finally:
        subprocess.run([*LAB, "down", "--name", LAB_NAME], check=True)

    print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.processor() or '?'}")
    print(f"python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    print(f"refresh, {FUNCTIONS} functions, nothing changed:    {summary(timings['steady'])}")
    print(f"refresh, {FUNCTIONS} functions, 50 changed:         {summary(timings['changed'])}")
    print(f"refresh + repaint, 50 changed:                 {summary(timings['changed+paint'])}")
    print(f"idle CPU at --interval 1, {args.idle_seconds:.0f} s, 18 functions:   {cpu_18:.2f} %")
    print(f"idle CPU at --interval 1, {args.idle_seconds:.0f} s, 1000 functions: {cpu_1000:.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
