"""The performance record: atomctl-tui measured on labs, with isd beside it in the same
terminal harness, and the figures written into benchmarks/README.md.

Run as root from the repository: `.venv/bin/python benchmarks/record.py` (about 10 minutes;
`--quick` for a short trial run that writes nothing unless `--write` is given too). It boots
its own labs (`rec-main`, `rec-queues`, `rec-units`) and powers them off at the end, and
installs isd-tui 0.6.1 into `.bench-venv/` (never into the project's venv) the first time.

Method (the README section it writes says the same, next to the figures):
- Both consoles run in tmux panes of 80x24 (benchmarks/terminal.py), inside the lab the way
  an admin runs them on the server (`nsenter` into the lab: its systemd, its journal, its
  systemctl), or from this machine over SSH: atomctl-tui with `--host` (its own SSH
  connection), isd — which has no remote mode — in an `ssh -t` session to the lab. The
  screen is read back with tmux capture-pane every 2 ms through a control-mode client. Every
  program starts from cached bytecode, written in the warm-up run (``python_env``).
- First paint: from asking tmux for the session to the first screen read that shows
  atom-worker@2 with its state (atomctl-tui: its Workers row; isd, started with the search
  text `atom-worker@2` it keeps between runs: the unit's line), and to every pane filled
  (atomctl-tui: that row registered with Gearman, a Queues row, a journal line; isd: the
  unit's line and its status preview). One warm-up run, then the median and max of the runs.
  Beside them, the floor: a minimal Textual app that paints one line (benchmarks/minimal_app.py),
  started the same way (nsenter, the same Python), timed to its line on screen. The three are
  run in turn, run after run, so that each sees the same machine load; the console's medians
  are given as multiples of the floor's.
- Outside change → screen: `systemctl stop` / `start` of atom-worker@2 run inside the lab,
  outside the console; systemd's own StateChangeTimestamp of the unit against the first
  screen read that shows the new state (isd: its list marker or its status preview, which
  ever comes first). The next change waits until the whole screen agrees.
- Idle CPU: utime+stime of the console's process tree (its journalctl, ssh and systemctl
  children included, reaped ones too) over 60 s, from 5 s after every pane was filled.
- Journal ingest, the Queues refresh with 1,000 functions, and 200 worker units reuse
  bench_journal.py, bench_queues.py and bench_workers.py (their docstrings give the method).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pystemd
import textual

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
sys.path.insert(0, str(BENCHMARKS))

from bench_journal import (  # noqa: E402
    FLOOD,
    flood,
    time_baseline,
    time_pane_ingest,
    wait_in_journal,
)
from bench_journal import machine as journal_bench_machine  # noqa: E402
from bench_queues import FUNCTIONS, lab_run, queue_jobs, time_refreshes  # noqa: E402
from bench_workers import (  # noqa: E402
    EXTRA_INSTANCES,
    CellClock,
    add_instances,
    measure_many,
    state_change_time,
)
from minimal_app import LINE as MINIMAL_LINE  # noqa: E402
from terminal import COLUMNS, LINES, POLL_SECONDS, TmuxTerminal, tree_cpu_seconds  # noqa: E402

from atomctl_tui import __version__  # noqa: E402
from atomctl_tui.atom import site_prefix  # noqa: E402
from atomctl_tui.lab.ssh import client_config_path  # noqa: E402
from atomctl_tui.lab.state import LabState  # noqa: E402

README = BENCHMARKS / "README.md"
START_MARK = "<!-- performance-record:start -->"
END_MARK = "<!-- performance-record:end -->"
LAB_CLI = str(Path(sys.executable).with_name("atomctl-lab"))
CONSOLE = str(Path(sys.executable).with_name("atomctl-tui"))
MINIMAL_APP = str(BENCHMARKS / "minimal_app.py")
BENCH_VENV = REPO / ".bench-venv"
ISD_VERSION = "0.6.1"
UNIT = "atom-worker@2.service"
NO_CONFIG = "XDG_CONFIG_HOME=/nonexistent/atomctl-bench"
BYTECODE = True
"""Programs start from bytecode, as installed ones do (pip compiles it): see ``python_env``."""


def python_env(lab: LabState) -> list[str]:
    """`env` words that start every program measured alike, whatever the caller's shell says:
    no config file, and Python's bytecode cached in the lab's directory
    (PYTHONPYCACHEPREFIX), written in the warm-up run and read in the counted ones. Without
    it, a PYTHONDONTWRITEBYTECODE in the caller's environment (set in this project's shells)
    had the console compile all of the checkout's modules at every start (≈ 85 ms here),
    which no installed copy does, while Textual's were read from bytecode."""
    if not BYTECODE:  # as before: the caller's environment decides
        return ["env", NO_CONFIG]
    prefix = f"PYTHONPYCACHEPREFIX={lab.paths.root / 'pycache'}"
    return ["env", "-u", "PYTHONDONTWRITEBYTECODE", prefix, NO_CONFIG]


# --- the consoles, as the terminal shows them ----------------------------------------------

ATOMCTL_ROW = re.compile(r"^│\s+atom-worker@2\s+(\S+)\s+(.*)$")  # the Workers pane's row
QUEUE_ROW = re.compile(r"│.*\b\d+\s+\d+\s+\d+\s+[a-z]{2}[A-Z]")  # wait, run, workers, class
JOURNAL_LINE = re.compile(r"^│ \d\d:\d\d:\d\d \S")
ISD_MARK = re.compile(r"([●○]) atom-worker@2\.service")
ISD_ACTIVE = re.compile(r"Active: (\S+)")


def atomctl_states(lines: list[str]) -> set[str]:
    return {m.group(1) for line in lines if (m := ATOMCTL_ROW.match(line))}


def atomctl_filled(lines: list[str]) -> bool:
    rows = [m for line in lines if (m := ATOMCTL_ROW.match(line))]
    return (
        any(m.group(1) == "active" and "abilities" in m.group(2) for m in rows)
        and any(QUEUE_ROW.search(line) for line in lines)
        and any(JOURNAL_LINE.match(line) for line in lines)
    )


def minimal_painted(lines: list[str]) -> bool:
    return any(MINIMAL_LINE in line for line in lines)


def isd_states(lines: list[str]) -> set[str]:
    """What isd's screen says of the unit: its list marker, and its status preview."""
    states = set()
    for line in lines:
        for mark in ISD_MARK.findall(line):
            states.add("active" if mark == "●" else "inactive")
        if match := ISD_ACTIVE.search(line):
            states.add(match.group(1))
    return states


def isd_filled(lines: list[str]) -> bool:
    return "active" in isd_states(lines) and any(ISD_ACTIVE.search(line) for line in lines)


@dataclass(frozen=True)
class Console:
    """One way of running a console in the terminal, and how to read its screen."""

    label: str
    argv: list[str]
    quit_keys: tuple[str, ...]
    states: Callable[[list[str]], set[str]]  # the states of atom-worker@2 on the screen
    filled: Callable[[list[str]], bool]  # every pane has its data
    prepare: Callable[[], None] = lambda: None  # before each start

    def shows_unit(self, lines: list[str]) -> bool:
        """First paint's first mark: atom-worker@2 on screen with its state."""
        return "active" in self.states(lines)


def atomctl_local(lab: LabState) -> Console:
    argv = lab.nsenter(*python_env(lab), CONSOLE, "--atom-root", str(lab.paths.atom_root))
    return Console("atomctl-tui", argv, ("q",), atomctl_states, atomctl_filled)


def minimal_app(lab: LabState) -> Console:
    """The floor: one line painted; both of its marks are that line."""
    argv = lab.nsenter(*python_env(lab), sys.executable, MINIMAL_APP)
    states = lambda lines: {"active"} if minimal_painted(lines) else set()  # noqa: E731
    return Console("minimal Textual app", argv, ("C-q",), states, minimal_painted)


def atomctl_ssh(lab: LabState) -> Console:
    argv = [*python_env(lab), CONSOLE, "--host", f"root@127.0.0.1:{lab.ssh_port}",
            "--ssh-config", str(client_config_path()),
            "--atom-root", str(lab.paths.atom_root)]  # fmt: skip
    return Console("atomctl-tui --host", argv, ("q",), atomctl_states, atomctl_filled)


def isd_environment(lab: LabState) -> tuple[list[str], Callable[[], None]]:
    """isd's settings, cache and data in the lab's directory, never in ~; and its search
    text, kept between runs in its cache, set to the unit before each start."""
    home = lab.paths.root / "isd-home"
    state = home / "cache" / "isd_tui" / ISD_VERSION / "state.json"

    def prepare() -> None:
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text('{"mode": "system", "search_term": "atom-worker@2"}')

    env = [f"XDG_{kind.upper()}_HOME={home / kind}" for kind in ("config", "cache", "data")]
    return [*python_env(lab), *env, str(BENCH_VENV / "bin" / "isd")], prepare


def isd_local(lab: LabState) -> Console:
    command, prepare = isd_environment(lab)
    return Console("isd", lab.nsenter(*command), ("C-q",), isd_states, isd_filled, prepare)


def isd_ssh(lab: LabState) -> Console:
    command, prepare = isd_environment(lab)
    argv = ["ssh", "-F", str(client_config_path()), "-t", "-p", str(lab.ssh_port),
            "root@127.0.0.1", *command]  # fmt: skip
    return Console("isd in ssh -t", argv, ("C-q",), isd_states, isd_filled, prepare)


# --- measures in the terminal --------------------------------------------------------------


@dataclass
class Figures:
    first_paint: dict[str, list[float]] = field(default_factory=dict)  # mark -> seconds
    latency: list[float] = field(default_factory=list)
    idle_cpu: float | None = None


def first_paints(
    terminal: TmuxTerminal,
    consoles: list[Console],
    runs: int,
    unfilled: list[str] | None = None,
) -> dict[str, dict[str, list[float]]]:
    """Each console's first paints, label -> mark -> seconds; the consoles started in turn,
    run after run, so that a change in the machine's load falls on all of them alike.
    ``unfilled``: a run whose panes are not all filled within 10 s is noted there (its label)
    and has no "filled" figure, instead of ending the measure."""
    marks = {console.label: {"state": [], "filled": []} for console in consoles}
    for run in range(runs + 1):  # the first one warms the page cache; not counted
        for console in consoles:
            console.prepare()
            session, started = terminal.start(console.argv)
            state = terminal.wait_for(session, console.shows_unit)
            try:
                filled: float | None = terminal.wait_for(
                    session, console.filled, timeout=60.0 if unfilled is None else 10.0
                )
            except TimeoutError:
                if unfilled is None:
                    raise
                unfilled.append(console.label)
                filled = None
            terminal.end(session, console.quit_keys)
            if run:
                marks[console.label]["state"].append(state - started)
                if filled is not None:
                    marks[console.label]["filled"].append(filled - started)
    return marks


def outside_changes(
    terminal: TmuxTerminal, console: Console, lab: LabState, rounds: int
) -> list[float]:
    console.prepare()
    session, _ = terminal.start(console.argv)
    samples = []
    try:
        terminal.wait_for(session, console.filled)
        wall_offset = time.time() - time.perf_counter()
        for _ in range(rounds):
            for verb, state in (("stop", "inactive"), ("start", "active")):
                # Read the screen while systemctl runs: the change can show before it returns.
                change = subprocess.Popen(lab.nsenter("systemctl", verb, UNIT))
                seen = terminal.wait_for(session, lambda lines, s=state: s in console.states(lines))
                change.wait(timeout=60)
                samples.append(seen + wall_offset - state_change_time(lab, UNIT))
                terminal.wait_for(session, lambda lines, s=state: console.states(lines) == {s})
            # AtoM's unit allows 3 starts per 24 h; reset-failed resets that count.
            lab_run(lab, "systemctl", "reset-failed", UNIT)
    finally:
        terminal.end(session, console.quit_keys)
    return samples


def idle_cpu(
    terminal: TmuxTerminal,
    console: Console,
    seconds: float,
    ready: Callable[[list[str]], bool] | None = None,
) -> float:
    """% of one core used by the console's process tree while nothing happens."""
    console.prepare()
    session, _ = terminal.start(console.argv)
    try:
        terminal.wait_for(session, ready or console.filled)
        time.sleep(5)  # start-up work (first polls, the journal backlog) is not idle
        pid = terminal.pane_pid(session)
        before, started = tree_cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)  # the measuring window itself
        used = tree_cpu_seconds(pid) - before
        return 100 * used / (time.monotonic() - started)
    finally:
        terminal.end(session, console.quit_keys)


# --- the run -------------------------------------------------------------------------------


def boot(name: str, workers: int = 2) -> LabState:
    subprocess.run([LAB_CLI, "up", "--name", name, "--workers", str(workers)], check=True)
    lab = LabState.load(name)
    assert lab is not None
    return lab


def power_off(name: str) -> None:
    subprocess.run([LAB_CLI, "down", "--name", name], check=True)


def ensure_isd() -> str:
    """isd-tui in its own venv, .bench-venv/ (git-ignored); its version."""
    python = BENCH_VENV / "bin" / "python"
    if not (BENCH_VENV / "bin" / "isd").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(BENCH_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"isd-tui=={ISD_VERSION}"], check=True
        )
    return subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('isd-tui'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


@dataclass
class Options:
    runs: int
    rounds: int
    idle_seconds: float
    refresh_rounds: int


def record_terminal(lab: LabState, options: Options, results: dict) -> None:
    terminal = TmuxTerminal()
    try:
        side_by_side = [atomctl_local(lab), minimal_app(lab), isd_local(lab)]
        print("first paint: " + ", ".join(c.label for c in side_by_side) + " in turn", flush=True)
        # A run whose panes never fill is said in the record, not the end of it.
        results["unfilled"] = unfilled = []
        paints = first_paints(terminal, side_by_side, options.runs, unfilled)
        results["minimal"] = Figures(first_paint=paints["minimal Textual app"])
        for make in (atomctl_local, isd_local, atomctl_ssh, isd_ssh):
            console = make(lab)
            figures = Figures()
            if console.label in paints:
                figures.first_paint = paints[console.label]
            else:
                print(f"{console.label}: first paint", flush=True)
                figures.first_paint = first_paints(terminal, [console], options.runs)[console.label]
            print(f"{console.label}: outside changes", flush=True)
            figures.latency = outside_changes(terminal, console, lab, options.rounds)
            if make in (atomctl_local, isd_local):
                print(f"{console.label}: idle CPU", flush=True)
                figures.idle_cpu = idle_cpu(terminal, console, options.idle_seconds)
            results[console.label] = figures
    finally:
        terminal.close()


def record_journal(lab: LabState, results: dict) -> None:
    print("journal ingest", flush=True)
    identifier = f"bench-ingest-{os.getpid()}"
    flood(lab, identifier, FLOOD)
    wait_in_journal(lab, identifier, FLOOD)
    baseline, pane = [], []
    for _ in range(5):  # interleaved, so that both see the same machine load
        baseline.append(time_baseline(lab, identifier))
        pane.append(asyncio.run(time_pane_ingest(lab, identifier, FLOOD)))
    results["journal"] = {
        "journalctl": FLOOD / statistics.median(baseline),
        "pane": FLOOD / statistics.median(pane),
    }


def record_queues(options: Options, results: dict) -> None:
    lab = boot("rec-queues")
    try:
        print("1,000 functions: refresh", flush=True)
        lab_run(lab, "systemctl", "stop", "atom-worker@1.service", "atom-worker@2.service")
        prefix = site_prefix(lab.paths.atom_root)
        functions = [f"{prefix}benchJob{n:04d}" for n in range(FUNCTIONS)]
        queue_jobs(lab, functions)
        results["refresh"] = asyncio.run(time_refreshes(lab, functions, options.refresh_rounds))
        print("1,000 functions: idle CPU", flush=True)
        terminal = TmuxTerminal()
        try:

            def ready(lines: list[str]) -> bool:
                return "inactive" in atomctl_states(lines) and any(
                    "benchJob" in line for line in lines
                )

            results["idle_1000"] = idle_cpu(
                terminal, atomctl_local(lab), options.idle_seconds, ready
            )
        finally:
            terminal.close()
    finally:
        power_off(lab.name)


def record_units(results: dict) -> None:
    lab = boot("rec-units")
    try:
        print(f"{EXTRA_INSTANCES} more worker units", flush=True)
        clock = CellClock()
        add_instances(lab)
        results["units"] = asyncio.run(measure_many(lab, clock))
    finally:
        power_off(lab.name)


def machine(lab_systemd: str) -> str:
    debian = Path("/etc/debian_version").read_text().strip()
    tmux = subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    hardware, python = journal_bench_machine().rsplit(", ", 1)
    return (
        f"{hardware}, Debian {debian}; {python}, Textual {textual.__version__},"
        f" pystemd {pystemd.__version__}, {tmux}, {ssh.split(',')[0]}; {lab_systemd} in the labs"
    )


# --- the README section --------------------------------------------------------------------


def ms(values: list[float]) -> list[float]:
    return sorted(v * 1000 for v in values)


def median_max(values: list[float]) -> str:
    m = ms(values)
    return f"{statistics.median(m):.0f} / {m[-1]:.0f} ms"


def times_floor(values: list[float], floor: list[float]) -> str:
    """A console's median first paint as a multiple of the minimal app's median."""
    return f"{statistics.median(values) / statistics.median(floor):.2f}×"


def spread(values: list[float]) -> str:
    m = ms(values)
    p90 = m[max(0, int(len(m) * 0.9) - 1)]
    return f"**{statistics.median(m):.1f} ms** median, {p90:.1f} p90, {m[-1]:.1f} max"


def section(results: dict, about: dict) -> str:
    atom, isd = results["atomctl-tui"], results["isd"]
    floor = results["minimal"].first_paint["state"]
    atom_ssh, isd_ssh = results["atomctl-tui --host"], results["isd in ssh -t"]
    refresh, units, journal = results["refresh"], results["units"], results["journal"]
    changes = len(atom.latency)
    missed = results["unfilled"].count("atomctl-tui")
    never_filled = (
        f"; atomctl-tui's panes not all filled within 10 s in {missed} of"
        f" {len(atom.first_paint['state']) + 1} runs, the warm-up included: no figure for those"
        if missed
        else ""
    )
    rows = [
        ("First paint: atom-worker@2 and its state on screen (median / max of "
         f"{len(atom.first_paint['state'])})", median_max(atom.first_paint["state"]),
         median_max(isd.first_paint["state"]), "—"),
        ("First paint: every pane filled (isd: the unit's line and its status preview"
         f"{never_filled})",
         median_max(atom.first_paint["filled"]), median_max(isd.first_paint["filled"]), "—"),
        ("First paint: a minimal Textual app's one line on screen, run in turn with the two"
         " above (the floor; benchmarks/minimal_app.py)", median_max(floor), "—", "—"),
        ("First paint as a multiple of the floor's (medians): atom-worker@2 and its state",
         f"**{times_floor(atom.first_paint['state'], floor)}**",
         times_floor(isd.first_paint["state"], floor), "≤ 1.3×"),
        ("First paint as a multiple of the floor's (medians): every pane filled",
         f"**{times_floor(atom.first_paint['filled'], floor)}**",
         times_floor(isd.first_paint["filled"], floor), "≤ 1.6×"),
        ("First paint over SSH, every pane filled (atomctl-tui `--host`; isd in `ssh -t`)",
         median_max(atom_ssh.first_paint["filled"]), median_max(isd_ssh.first_paint["filled"]),
         "—"),
        (f"Outside change → screen, in the lab ({changes} changes)", spread(atom.latency),
         spread(isd.latency), "≤ 100 ms median"),
        (f"Outside change → screen, over SSH ({changes} changes)", spread(atom_ssh.latency),
         spread(isd_ssh.latency), "≤ 150 ms median"),
        (f"Idle CPU, {about['idle']:.0f} s, the lab's 18 functions and 2 workers (process tree)",
         f"**{atom.idle_cpu:.2f} %**", f"{isd.idle_cpu:.2f} %", "≤ 1 % of a core"),
        (f"Idle CPU, {about['idle']:.0f} s, 1,000 functions", f"**{results['idle_1000']:.2f} %**",
         "—", "≤ 1 % of a core"),
        ("Journal ingest vs `journalctl -o json > /dev/null` (medians of 5)",
         f"**{journal['pane'] / journal['journalctl']:.2f}×** ({journal['pane']:,.0f} vs"
         f" {journal['journalctl']:,.0f} lines/s)", "—", "≥ 0.9×"),
        ("Queues refresh, 1,000 functions, nothing changed / 50 changed (median)",
         f"**{statistics.median(ms(refresh['steady'])):.1f} / "
         f"{statistics.median(ms(refresh['changed'])):.1f} ms**", "—", "≤ 50 ms median"),
        (f"{EXTRA_INSTANCES + 3} worker units: one unit's update / all at once",
         f"**{units['update_one_median'] * 1000:.2f} / {units['update_all'] * 1000:.1f} ms**",
         "—", "≤ 50 ms"),
        (f"{EXTRA_INSTANCES + 3} worker units: first paint (headless, median / max of 5)",
         f"**{units['first_paint_median'] * 1000:.0f} / {units['first_paint_max'] * 1000:.0f}"
         " ms**", "—", "≤ 0.5 s"),
    ]  # fmt: skip
    table = [
        f"| Measure | atomctl-tui {__version__} | isd {about['isd']} | Goal |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
    ]
    return "\n".join(
        [
            START_MARK,
            "## The performance record (issue 7) — `record.py`",
            "",
            "`.venv/bin/python benchmarks/record.py` (root; about 10 minutes) measures all of"
            " this in one run and rewrites this section; the sections below it are the history"
            " of each pane's own benchmark script.",
            "",
            f"Machine: {about['machine']}. Date: {about['date']}. Load average"
            f" {about['load_before']:.2f} at the start, {about['load_after']:.2f} at the end"
            " (the machine is shared with other engineers' test suites).",
            "",
            *table,
            "",
            "Method:",
            f"- *Terminal*: both consoles run in tmux panes of {COLUMNS}×{LINES}"
            " (`benchmarks/terminal.py`), inside the lab as an admin runs them on the server"
            " (`nsenter` into the lab: its systemd, journal and systemctl), or from this"
            " machine over SSH: atomctl-tui with `--host` and its own SSH connection; isd, which"
            " has no remote mode, in an `ssh -t` session to the lab (loopback). The screen is read"
            f" with `tmux capture-pane` every {POLL_SECONDS * 1000:.0f} ms through one"
            " control-mode client (a read costs ≈ 0.06 ms, no process per read), so a figure is"
            " late by at most a read interval. Every program starts from cached bytecode, as an"
            " installed copy does (`PYTHONPYCACHEPREFIX` in the lab's directory, written in the"
            " warm-up run), whatever the caller's `PYTHONDONTWRITEBYTECODE` says.",
            "- *First paint*: from asking tmux for the session to the first screen read showing"
            " atom-worker@2 with its state (atomctl-tui: its Workers row; isd, started with the"
            " search text `atom-worker@2`, which it keeps between runs: the unit's line), and to"
            " every pane filled (atomctl-tui: that row registered with Gearman, a Queues row and"
            " a journal line; isd: the line and the unit's status preview). Python start-up is"
            " included; one warm-up run first. The floor: a minimal Textual app whose compose"
            " yields one Static line (`benchmarks/minimal_app.py`), started the same way (nsenter,"
            " the same Python and environment), timed to that line; it and the two consoles are"
            " started in turn, run after run, so that each sees the same load.",
            "- *Outside change → screen*: `systemctl stop` / `start` of atom-worker@2 inside the"
            " lab, outside the console; systemd's own StateChangeTimestamp of the unit against"
            " the first screen read showing the new state (isd: its list marker or its status"
            " preview, whichever first). atomctl-tui gets the change as a D-Bus signal; isd polls"
            " `systemctl` for the highlighted unit every second.",
            "- *Idle CPU*: utime + stime of the console's whole process tree (journalctl, the"
            " systemctl runs of isd, reaped ones included) over the window, from 5 s after every"
            " pane was filled; with 1,000 functions the lab's workers are stopped and each"
            " function has a job waiting.",
            "- *Journal ingest*, *Queues refresh* and *200 worker units* run the code of"
            " `bench_journal.py`, `bench_queues.py` and `bench_workers.py` (methods in their"
            " sections below): headless, 80×24, against labs.",
            END_MARK,
        ]
    )


def write_section(text: str) -> None:
    readme = README.read_text()
    if START_MARK in readme:
        head, rest = readme.split(START_MARK, 1)
        readme = head + text + rest.split(END_MARK, 1)[1]
    else:  # first record: the headline, above every pane's own section
        head, rest = readme.split("\n## ", 1)
        readme = f"{head}\n{text}\n\n## {rest}"
    README.write_text(readme)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short trial: fewer runs")
    parser.add_argument("--write", action="store_true", help="with --quick: write it anyway")
    args = parser.parse_args()
    options = (
        Options(runs=1, rounds=2, idle_seconds=10, refresh_rounds=5)
        if args.quick
        else Options(runs=5, rounds=10, idle_seconds=60, refresh_rounds=30)
    )
    random.seed(7)
    about = {"isd": ensure_isd(), "idle": options.idle_seconds}
    about["load_before"] = os.getloadavg()[0]
    about["date"] = time.strftime("%Y-%m-%d %H:%M %Z")
    results: dict = {}
    lab = boot("rec-main")
    try:
        systemd = (
            subprocess.run(
                lab.nsenter("systemctl", "--version"), capture_output=True, text=True, check=True
            )
            .stdout.split("(")[0]
            .strip()
        )
        record_terminal(lab, options, results)
        record_journal(lab, results)
    finally:
        power_off(lab.name)
    record_queues(options, results)
    record_units(results)
    about["load_after"] = os.getloadavg()[0]
    about["machine"] = machine(systemd)
    text = section(results, about)
    print(text)
    if args.write or not args.quick:
        write_section(text)
        print(f"written to {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
