"""Benchmark: a job server that lists 100,000 functions — the console's memory, its time to
first data and its key latency, and `status --json`'s memory.

Run as root from the repository: `.venv/bin/python benchmarks/bench_many_functions.py`. Boots a
lab named `bench-many` (powered off at the end), stops its workers and queues one job on each
of 100,000 functions (gearmand then lists them all in `status` and `prioritystatus`), then:

1. the console runs headless (`App.run_test`, 80x24, `--interval 1`) in this process: time to
   first data is from creating the app to the Queues table's first rows; memory is this
   process's peak RSS (ru_maxrss) after 10 more polls, and its RSS then;
2. key latency while it polls: `down` pressed 50 times, each timed from `pilot.press` to the
   repaint after it (`pilot.pause()`), polls landing in between as they come;
3. `atomctl-tui status --json` as a child process: its wall time and peak RSS (wait4).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_queues import lab_run, queue_jobs, settings, summary

from atomctl_tui.atom import site_prefix
from atomctl_tui.gearman.poller import MAX_FUNCTIONS_KEPT
from atomctl_tui.lab.state import LabState
from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.app import AtomctlApp

LAB_NAME = "bench-many"
LAB = [str(Path(sys.executable).with_name("atomctl-lab"))]
CONSOLE = str(Path(sys.executable).with_name("atomctl-tui"))
FUNCTIONS = 100_000
BATCH = 5_000


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def console_figures(lab: LabState) -> dict[str, object]:
    started = time.perf_counter()
    app = AtomctlApp(Host(label="bench"), settings=settings(lab, interval=1))
    figures: dict[str, object] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one("#queues-table")
        while not table.row_count:
            await pilot.pause(0.01)
        figures["first_data_s"] = time.perf_counter() - started
        figures["rows"] = table.row_count
        polls: list[float] = []
        unsubscribe = app.job_servers.subscribe(lambda _: polls.append(time.perf_counter()))
        while len(polls) < 10:
            await pilot.pause(0.05)
        table.focus()
        await pilot.pause()
        latencies = []
        for _ in range(50):
            before = time.perf_counter()
            await pilot.press("down")
            await pilot.pause()
            latencies.append(time.perf_counter() - before)
            await asyncio.sleep(0.05)
        unsubscribe()
        figures["latencies"] = latencies
        figures["rss_mb"] = rss_mb()
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def status_json(lab: LabState) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit status of `atomctl-tui status --json`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [CONSOLE, "status", "--json", "--gearman", lab.gearman_server,
         "--atom-root", str(lab.paths.atom_root)],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "XDG_CONFIG_HOME": "/nonexistent/atomctl-bench"},
    )  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=FUNCTIONS)
    args = parser.parse_args()

    subprocess.run([*LAB, "up", "--name", LAB_NAME, "--workers", "2"], check=True)
    lab = LabState.load(LAB_NAME)
    try:
        lab_run(lab, "systemctl", "stop", "atom-worker@1.service", "atom-worker@2.service")
        prefix = site_prefix(lab.paths.atom_root)
        functions = [f"{prefix}manyJob{n:06d}" for n in range(args.functions)]
        loading = time.perf_counter()
        for start in range(0, len(functions), BATCH):
            queue_jobs(lab, functions[start : start + BATCH])
        loaded = time.perf_counter() - loading
        status_seconds, status_rss, status_exit = status_json(lab)
        figures = asyncio.run(console_figures(lab))
    finally:
        subprocess.run([*LAB, "down", "--name", LAB_NAME], check=True)

    print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.processor() or '?'}")
    print(f"python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    print(f"{args.functions:,} functions queued in {loaded:.1f} s")
    print(f"console: first data after {figures['first_data_s']:.2f} s,"
          f" {figures['rows']} rows (MAX_FUNCTIONS_KEPT {MAX_FUNCTIONS_KEPT:,})")  # fmt: skip
    print(f"console: RSS {figures['rss_mb']:.0f} MB, peak {figures['peak_rss_mb']:.0f} MB")
    print(f"console: key latency (down + repaint, 50 presses): {summary(figures['latencies'])}")
    print(f"status --json: {status_seconds:.2f} s, peak RSS {status_rss:.0f} MB,"
          f" exit {status_exit}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
