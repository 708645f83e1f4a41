"""The Journal pane under a flood: ingest rate, key response, peak memory.

Run as root from the repository: `.venv/bin/python benchmarks/bench_journal.py`. Boots a lab
of its own (`bench-journal`, powered off at the end) unless `--lab NAME` names a running one.

1. Ingest: 50,000 lines are written into the lab's journal (systemd-cat, one identifier).
   Baseline: `journalctl -o json -t ID > /dev/null` on them, inside the lab. The pane: the
   console (headless, 80x24) with its scope set to that identifier and a backlog of 50,000,
   timed from creating the app until the last line is in its buffer (console start-up
   included). Both through nsenter; five of each, interleaved; medians compared.
2. Keys during a flood: the console follows while 50,000 new lines are written as fast as
   systemd-cat can; every 100 ms a `t` key event is sent the way the terminal driver sends
   it, and the time until the pane's action runs is recorded (three floods; one key before
   each flood warms up the footer, which Textual recomposes on the first key after focus).
3. Peak RSS: a fresh process per size ingests N lines (N = 50,000 and 500,000) with the
   default 10,000-line buffer; its VmHWM when the last line has arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from textual import events

from atomctl_tui.journal.scope import JournalSettings
from atomctl_tui.lab.state import LabState
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.journal.pane import JournalPane

LAB_CLI = [str(Path(sys.executable).with_name("atomctl-lab"))]
DEFAULT_LAB = "bench-journal"
SIZE = (80, 24)
FLOOD = 50_000
RSS_SIZES = (50_000, 500_000)


def flood(lab: LabState, identifier: str, count: int) -> None:
    """``count`` numbered lines into the lab's journal, as fast as systemd-cat takes them."""
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            f"for i in range(1, {count + 1}):\n"
            "    sys.stdout.write(f'flood {i:07d} lorem ipsum dolor sit amet, consectetur\\n')\n",
        ],
        stdout=subprocess.PIPE,
    )
    subprocess.run(lab.nsenter("systemd-cat", "-t", identifier), stdin=writer.stdout, check=True)
    writer.stdout.close()
    writer.wait()


def last_line(count: int) -> str:
    return f"flood {count:07d} lorem ipsum dolor sit amet, consectetur"


def wait_in_journal(lab: LabState, identifier: str, count: int) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        out = subprocess.run(
            lab.nsenter("journalctl", "-q", "-o", "cat", "-n", "1", "-t", identifier),
            capture_output=True,
            text=True,
        ).stdout.strip()
        if out == last_line(count):
            return
        time.sleep(0.2)
    raise SystemExit(f"the journal never got line {count} of {identifier}")


def time_baseline(lab: LabState, identifier: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        lab.nsenter("journalctl", "-o", "json", "-t", identifier),
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def cpu_seconds() -> tuple[float, float]:
    """CPU time of this process, and of its reaped children (nsenter and its journalctl)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def pane_settings(identifier: str, backlog: int) -> JournalSettings:
    return JournalSettings(
        worker_units=(), other_units=(), identifiers=(identifier,), backlog=backlog
    )


async def time_pane_ingest(lab: LabState, identifier: str, count: int) -> float:
    """Seconds from starting the console until the last of ``count`` lines is buffered."""
    start = time.perf_counter()
    app = AtomctlApp(lab.host(), journal=pane_settings(identifier, count))
    async with app.run_test(size=SIZE):
        view = app.query_one(JournalPane).view
        while not (view.entries and view.entries[-1].message == last_line(count)):
            await asyncio.sleep(0.005)
        return time.perf_counter() - start


def press(app: AtomctlApp, key: str) -> float:
    """A key event into the app's queue, as the terminal driver sends it; when it was sent."""
    event = events.Key(key, key)
    event.set_sender(app)
    sent = time.perf_counter()
    app._driver.send_message(event)
    return sent


async def key_response(lab: LabState, identifier: str) -> list[float]:
    """Seconds from key event to action, sampled every 100 ms while the pane ingests a flood."""
    app = AtomctlApp(lab.host(), journal=pane_settings(identifier, 0))
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(JournalPane)
        pane.focus()
        follower = app.journal_watches[0].follower
        while follower.runs < 1:
            await asyncio.sleep(0.01)
        handled: list[float] = []
        original = pane.action_toggle_time

        def timed_toggle() -> None:
            handled.append(time.perf_counter())
            original()

        pane.action_toggle_time = timed_toggle  # what the `t` binding calls
        await pilot.press("t")  # warm-up: the first key after focus recomposes the footer
        await asyncio.sleep(0.5)
        handled.clear()
        view = pane.view
        writer = asyncio.ensure_future(asyncio.to_thread(flood, lab, identifier, FLOOD))
        latencies = []
        while not (view.entries and view.entries[-1].message == last_line(FLOOD)):
            sent = press(app, "t")
            while len(handled) == len(latencies):
                await asyncio.sleep(0.001)
            latencies.append(handled[-1] - sent)
            await asyncio.sleep(0.1)
        await writer
    return latencies


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.95) - 1)]


def rss_child(lab_name: str, identifier: str, count: int) -> None:
    """In a fresh process: ingest ``count`` lines, print the peak RSS in MiB."""
    lab = LabState.load(lab_name)
    seconds = asyncio.run(time_pane_ingest(lab, identifier, count))
    # VmHWM, not ru_maxrss: Linux carries the parent's peak over fork and exec into the
    # latter, which would report the benchmark's own peak.
    status = Path("/proc/self/status").read_text().splitlines()
    peak_kib = int(next(line for line in status if line.startswith("VmHWM:")).split()[1])
    print(
        json.dumps({"lines": count, "seconds": round(seconds, 2), "peak_rss_mib": peak_kib / 1024})
    )


def measure_rss(lab: LabState, count: int) -> dict:
    identifier = f"bench-rss-{count}-{os.getpid()}"
    flood(lab, identifier, count)
    wait_in_journal(lab, identifier, count)
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", lab.name, identifier, str(count)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_gib = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    python = platform.python_version()
    return f"{model}, {os.cpu_count()} CPUs, {mem_gib:.0f} GiB, Python {python}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab", help="a running lab to use instead of booting one")
    parser.add_argument("--rss-child", nargs=3, metavar=("LAB", "ID", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--skip-rss", action="store_true", help="leave out the 500,000-line run")
    args = parser.parse_args()
    if args.rss_child:
        lab_name, identifier, count = args.rss_child
        rss_child(lab_name, identifier, int(count))
        return 0

    name = args.lab or DEFAULT_LAB
    booted = args.lab is None
    if booted:
        subprocess.run([*LAB_CLI, "up", "--name", name], check=True)
    lab = LabState.load(name)
    try:
        print(f"machine: {machine()}")
        print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
        identifier = f"bench-ingest-{os.getpid()}"
        flood(lab, identifier, FLOOD)
        wait_in_journal(lab, identifier, FLOOD)
        baseline, pane, pane_cpu, journalctl_cpu = [], [], [], []
        for _ in range(5):  # interleaved, so that both see the same machine load
            baseline.append(time_baseline(lab, identifier))
            before = cpu_seconds()
            pane.append(asyncio.run(time_pane_ingest(lab, identifier, FLOOD)))
            after = cpu_seconds()
            pane_cpu.append(after[0] - before[0])
            journalctl_cpu.append(after[1] - before[1])
        base_rate = FLOOD / statistics.median(baseline)
        pane_rate = FLOOD / statistics.median(pane)
        print(f"journalctl -o json > /dev/null: {base_rate:,.0f} lines/s  (runs {_fmt(baseline)})")
        print(f"journal pane ingest:           {pane_rate:,.0f} lines/s  (runs {_fmt(pane)})")
        print(f"ratio (medians): {pane_rate / base_rate:.2f}x")
        print(
            f"CPU per pane run (median): console {statistics.median(pane_cpu):.2f} s,"
            f" its journalctl (via nsenter) {statistics.median(journalctl_cpu):.2f} s"
        )

        latencies = []
        for run in range(3):
            latencies += asyncio.run(key_response(lab, f"bench-keys-{os.getpid()}-{run}"))
        ms = sorted(value * 1000 for value in latencies)
        print(
            f"keys while the pane ingests a {FLOOD:,}-line flood ({len(ms)} presses, 3 floods):"
            f" median {statistics.median(ms):.1f} ms, p95 {_p95(ms):.1f} ms,"
            f" max {ms[-1]:.1f} ms; over 100 ms: {sum(v > 100 for v in ms)}"
        )
        for count in RSS_SIZES[:1] if args.skip_rss else RSS_SIZES:
            print("peak RSS: " + json.dumps(measure_rss(lab, count)))
    finally:
        if booted:
            subprocess.run([*LAB_CLI, "down", "--name", name], check=True)
    return 0


def _fmt(seconds: list[float]) -> str:
    return ", ".join(f"{s:.2f} s" for s in seconds)


if __name__ == "__main__":
    sys.exit(main())
