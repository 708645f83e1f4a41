"""A fleet of labs as remote hosts: start-up, memory per host, change → screen, idle CPU and
keys under a journal flood.

Run as root from the repository: `.venv/bin/python benchmarks/bench_fleet.py [--labs 20]`.
It boots N labs of its own (`bench-fleet-01`…, each with its gearmand and one worker, four
booting at a time), powers every one of them off at the end — on an error or ctrl+c too —
and prints the figures benchmarks/README.md records. `--idle-only [--idle-seconds S]` runs
one console for start-up, memory and idle CPU only (to profile it meanwhile, e.g. py-spy);
`--running` measures labs of these names that are already up and leaves them up.

The console runs headless (`App.run_test`, 80x24) in a process of its own, started by this
script as `atomctl-tui --host …` would run it: `open_fleet` (interactive, as the command
line: masters in batch mode first), then the app. Headless, because the measures need the
console's own state — which rows hold a PID, which job servers answer, which hosts' lines
the journal holds, when a cell was written, when a key's action ran — and tmux would only
give the screen's text; a process of its own, because its whole tree (the console, its
systemd children, its ssh processes) is what the memory and CPU figures are about, and
this script's own labs and bookkeeping must not be in it.

Method:
- Start-up: from just before the console's process is started to the first frame painted
  once every pane is filled: every worker of every host in the Workers table with its PID,
  every host's job server reachable, journal lines of every host. "connected" is when
  `open_fleet` returned with every master up. `--runs` console processes (default 3).
- Memory: PSS (/proc/PID/smaps_rollup) of the console's whole process tree, 5 s after every
  pane was filled; once with N hosts, once with one host; per added host = the difference
  / (N - 1). PSS shares each shared page among the processes that map it, so the sum over
  the tree counts the interpreter, libraries and forked pages once.
- Idle CPU: the tree's CPU time (utime+stime of each process, with what it reaped) over 30 s
  with nothing changing on any host.
- Outside change → shown: `systemctl stop`/`start` of atom-worker@1 inside each lab in turn,
  outside the console; systemd's own StateChangeTimestamp of the unit (read from the lab's
  bus socket directly, not over SSH) against the moment the Workers pane wrote the new state
  into its cell. Two changes per host.
- Keys under a journal flood: a transient unit in every lab writes 1000/N lines a second to
  its journal (1,000 a second in all); the console follows every host's journal (the unit's
  identifier added to the journal scope). Every 100 ms a `t` key event is sent the way the
  terminal driver sends it, and the time until the Journal pane's action runs is recorded,
  for 20 s.
The load average (1 min) is printed with each figure: other work on the machine shows in it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from terminal import tree_cpu_seconds

from atomctl_tui.lab.many_labs import ManyLabs, lab_names, many_labs
from atomctl_tui.lab.state import LabState
from atomctl_tui.lab.two_labs import NO_CONFIG, boot_workers

PREFIX = "bench-fleet-"
SIZE = (80, 24)
SETTLE_SECONDS = 5.0
IDLE_SECONDS = 30.0
KEYS_SECONDS = 20.0
FILL_TIMEOUT_SECONDS = 60.0
FLOOD_LINES_PER_SECOND = 1000
CHATTER_ID = "bench-chatter"
CHATTER_UNIT = "bench-chatter.service"


# --- the console's process (run by this script with `console`) ---


def chatter_argv(lab: LabState, per_second: int) -> list[str]:
    """A transient unit in the lab writing ``per_second`` lines a second, in tenths."""
    batch = max(1, per_second // 10)
    program = (
        "import sys, time\n"
        "n = 0\n"
        "while True:\n"
        f"    for _ in range({batch}):\n"
        "        n += 1\n"
        "        sys.stdout.write(f'chatter {n:08d} lorem ipsum dolor sit amet\\n')\n"
        "    sys.stdout.flush()\n"
        "    time.sleep(0.1)\n"
    )
    return lab.nsenter(
        "systemd-run", f"--unit={CHATTER_UNIT}", "-p", f"SyslogIdentifier={CHATTER_ID}",
        "--", sys.executable, "-c", program,
    )  # fmt: skip


def inside(lab: LabState, *command: str, check: bool = True) -> str:
    return subprocess.run(
        lab.nsenter(*command), capture_output=True, text=True, check=check, timeout=120
    ).stdout


def state_change_time(lab: LabState, unit: str) -> float:
    from pystemd.dbuslib import DBusAddress, path_encode

    bus = DBusAddress(lab.dbus_address)
    bus.open()
    try:
        path = path_encode(b"/org/freedesktop/systemd1/unit", unit.encode())
        micro = bus.get_property(
            b"org.freedesktop.systemd1", path, b"org.freedesktop.systemd1.Unit",
            b"StateChangeTimestamp", b"t",
        )  # fmt: skip
    finally:
        bus.close()
    return micro / 1_000_000


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def console(names: list[str], phases: set[str]) -> None:
    from textual import events

    from atomctl_tui.atom import JOB_SERVER_UNIT
    from atomctl_tui.cli import build_parser, settings_from
    from atomctl_tui.fleet import open_fleet
    from atomctl_tui.journal.scope import JournalSettings
    from atomctl_tui.systemd.audit import AUDIT_IDENTIFIER
    from atomctl_tui.ui.app import AtomctlApp
    from atomctl_tui.ui.job_server.pane import JobServerPane
    from atomctl_tui.ui.journal.pane import JournalPane
    from atomctl_tui.ui.workers.pane import WorkersPane

    labs = [LabState.load(name) for name in names]
    assert all(labs)
    fleet_labs = ManyLabs(tuple(lab for lab in labs if lab is not None))
    settings = settings_from(
        build_parser().parse_args(fleet_labs.console_args()), environ=NO_CONFIG
    )
    patterns = [*settings.unit_patterns, JOB_SERVER_UNIT]
    say = lambda words: print(f"atomctl-tui: {words}", file=sys.stderr)  # noqa: E731
    fleet, fleet_settings = await asyncio.to_thread(
        open_fleet, settings, patterns, interactive=True, say=say
    )
    emit(event="connected", at=time.time(), up=sum(m.link.status.connected for m in fleet.members))
    journal = JournalSettings(identifiers=(AUDIT_IDENTIFIER, CHATTER_ID))
    written: dict[tuple[str, str], float] = {}
    original = WorkersPane._update_cells

    def update_cells(pane, key, cells):
        original(pane, key, cells)
        if "state" in cells:
            written[(key, cells["state"][0])] = time.time()

    WorkersPane._update_cells = update_cells
    try:
        app = AtomctlApp(fleet=fleet, settings=fleet_settings, journal=journal)
        async with app.run_test(size=SIZE) as pilot:
            workers = app.query_one(WorkersPane)
            job_servers = app.query_one(JobServerPane)
            journal_pane = app.query_one(JournalPane)
            labels = fleet.labels
            keys = [
                workers.row_key(label, unit)
                for label, lab in zip(labels, fleet_labs.labs, strict=True)
                for unit in boot_workers(lab)
            ]

            def journal_hosts() -> int:
                return len({entry.host for entry in journal_pane.view.entries} & set(labels))

            def rows_and_servers() -> bool:
                shown = workers.table.shown
                if not all(key in shown and shown[key]["pid"][0] for key in keys):
                    return False
                snapshots = job_servers.snapshots
                return len(snapshots) >= len(labels) and all(s.reachable for s in snapshots)

            def filled() -> bool:
                return rows_and_servers() and journal_hosts() == len(labels)

            # Bounded: a journal that never fills is said, not waited for for ever.
            deadline = time.monotonic() + FILL_TIMEOUT_SECONDS
            rows_at = None
            while not filled() and time.monotonic() < deadline:
                if rows_at is None and rows_and_servers():
                    rows_at = time.time()
                await pilot.pause(0.005)
            painted = asyncio.Event()
            app.call_after_refresh(painted.set)
            await painted.wait()
            emit(
                event="filled",
                at=time.time(),
                rows_at=rows_at or time.time(),
                complete=filled(),
                journal_hosts=journal_hosts(),
            )
            await asyncio.to_thread(sys.stdin.readline)  # the parent measures meanwhile
            if "latency" in phases:
                samples = []
                for label, lab in zip(labels, fleet_labs.labs, strict=True):
                    unit = boot_workers(lab)[0]
                    key = workers.row_key(label, unit)
                    for verb, state in (("stop", "inactive"), ("start", "active")):
                        written.pop((key, state), None)
                        await asyncio.to_thread(inside, lab, "systemctl", verb, unit)
                        while (key, state) not in written:
                            await pilot.pause(0.002)
                        samples.append(written[(key, state)] - state_change_time(lab, unit))
                    await asyncio.to_thread(
                        inside, lab, "systemctl", "reset-failed", unit, check=False
                    )
                emit(event="latency", samples=samples, load=os.getloadavg()[0])
            if "journal" in phases:
                per_lab = FLOOD_LINES_PER_SECOND // len(labels)
                for lab in fleet_labs.labs:
                    await asyncio.to_thread(subprocess.run, chatter_argv(lab, per_lab), check=True,
                                            capture_output=True)  # fmt: skip
                try:
                    journal_pane.focus()
                    handled: list[float] = []
                    toggle = journal_pane.action_toggle_time

                    def timed_toggle() -> None:
                        handled.append(time.perf_counter())
                        toggle()

                    journal_pane.action_toggle_time = timed_toggle
                    await pilot.press("t")  # the first key after focus recomposes the footer
                    await asyncio.sleep(2.0)  # the flood under way in every journal
                    handled.clear()
                    first = journal_pane.view.entries[-1] if journal_pane.view.entries else None
                    latencies = []
                    ended = time.perf_counter() + KEYS_SECONDS
                    while time.perf_counter() < ended:
                        event = events.Key("t", "t")
                        event.set_sender(app)
                        sent = time.perf_counter()
                        app._driver.send_message(event)
                        while len(handled) == len(latencies):
                            await asyncio.sleep(0.001)
                        latencies.append(handled[-1] - sent)
                        await asyncio.sleep(0.1)
                    entries = journal_pane.view.entries
                    hosts = {e.host for e in entries if CHATTER_ID in (e.identifier or "")}
                    emit(
                        event="keys",
                        samples=latencies,
                        load=os.getloadavg()[0],
                        hosts_flooding=len(hosts),
                        moved=bool(entries) and entries[-1] is not first,
                    )
                finally:
                    for lab in fleet_labs.labs:
                        await asyncio.to_thread(
                            inside, lab, "systemctl", "stop", CHATTER_UNIT, check=False
                        )
            app.exit()
    finally:
        await asyncio.to_thread(fleet.close)


# --- this script's side: the labs, the console's process, its tree ---


def tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found = [root]
    for pid in found:
        found.extend(child for child, parent in parents.items() if parent == pid)
    return found


def kind(pid: int, root: int) -> str:
    if pid == root:
        return "console"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "gone"
    name = os.path.basename(argv[0])
    if name == "ssh":
        return "ssh master" if "ControlMaster=yes" in argv else "ssh client"
    if "atomctl_tui.systemd.bus_process" in argv:
        return "systemd child"
    return name


def pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next(int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:"))


def tree_pss(root: int) -> tuple[float, dict[str, tuple[int, float]]]:
    """The tree's PSS in MB, and per kind of process: how many, MB."""
    by_kind: dict[str, tuple[int, float]] = {}
    for pid in tree(root):
        name = kind(pid, root)
        count, mb = by_kind.get(name, (0, 0.0))
        by_kind[name] = (count + 1, mb + pss_kib(pid) / 1024)
    return sum(mb for _count, mb in by_kind.values()), by_kind


def cpu_by_kind(root: int) -> dict[str, float]:
    """CPU seconds of the tree's processes by kind (with what each reaped)."""
    seconds: dict[str, float] = {}
    for pid in tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = kind(pid, root)
        ticks = sum(int(value) for value in fields[11:15])
        seconds[name] = seconds.get(name, 0.0) + ticks / os.sysconf("SC_CLK_TCK")
    return seconds


PYCACHE = Path("/var/tmp/bench-fleet-pycache")  # outside the checkout; removed at the end


def console_env() -> dict[str, str]:
    """The console starts from cached bytecode, as an installed copy does, whatever the
    caller's PYTHONDONTWRITEBYTECODE says (this project's shells set it; then every start
    compiled the checkout's modules). Written before each run; compileall skips what is up
    to date."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    package = Path(__file__).resolve().parent.parent / "atomctl_tui"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], env=env, check=True)
    return env


def run_console(names: list[str], phases: set[str], idle_seconds: float = IDLE_SECONDS) -> dict:
    """One console process: its figures, and those read from outside its tree."""
    env = console_env()
    started = time.time()
    child = subprocess.Popen(
        [sys.executable, __file__, "console", "--phases", ",".join(sorted(phases)), *names],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    figures: dict = {"load_start": os.getloadavg()[0]}
    try:
        for line in child.stdout:
            message = json.loads(line)
            if message["event"] == "connected":
                figures["connected"] = message["at"] - started
            elif message["event"] == "filled":
                figures["filled"] = message["at"] - started
                figures["rows"] = message["rows_at"] - started
                figures["complete"] = message["complete"]
                figures["journal_hosts"] = message["journal_hosts"]
                figures["load_filled"] = os.getloadavg()[0]
                time.sleep(SETTLE_SECONDS)
                figures["pss"], figures["pss_by_kind"] = tree_pss(child.pid)
                if "idle" in phases:
                    before, kinds = tree_cpu_seconds(child.pid), cpu_by_kind(child.pid)
                    time.sleep(idle_seconds)
                    figures["idle_cpu"] = (tree_cpu_seconds(child.pid) - before) / idle_seconds
                    figures["idle_by_kind"] = {
                        name: (spent - kinds.get(name, 0.0)) / idle_seconds
                        for name, spent in cpu_by_kind(child.pid).items()
                    }
                    figures["load_idle"] = os.getloadavg()[0]
                child.stdin.write("go\n")
                child.stdin.flush()
            else:
                figures[message["event"]] = message
        if child.wait(60) != 0:
            raise RuntimeError(f"the console process ended with status {child.returncode}")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return figures


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def ms(values: list[float]) -> str:
    values = sorted(v * 1000 for v in values)
    p90 = values[max(0, round(len(values) * 0.9) - 1)]
    return f"median {statistics.median(values):.1f} ms, p90 {p90:.1f}, max {values[-1]:.1f}"


def report(count: int, runs: list[dict], single: dict) -> None:
    print(f"machine: {machine()}; date {time.strftime('%Y-%m-%d %H:%M')}")
    for index, run in enumerate(runs, 1):
        print(
            f"run {index}: connected {run['connected']:.2f} s, rows and job servers"
            f" {run['rows']:.2f} s, every pane filled"
            f" {run['filled']:.2f} s (load {run['load_start']:.2f} → {run['load_filled']:.2f});"
            f" tree PSS {run['pss']:.0f} MB"
            + (
                ""
                if run["complete"]
                else f" — NOT filled after {FILL_TIMEOUT_SECONDS:.0f} s: journal lines of"
                f" {run['journal_hosts']} of {count} hosts"
            )
        )
    filled = [run["filled"] for run in runs]
    print(f"start-up, {count} hosts: every pane filled, median {statistics.median(filled):.2f} s,"
          f" max {max(filled):.2f} s")  # fmt: skip
    full = runs[0]
    per_host = (full["pss"] - single["pss"]) / (count - 1)
    print(f"PSS: {count} hosts {full['pss']:.0f} MB, 1 host {single['pss']:.0f} MB →"
          f" {per_host:.1f} MB per added host")  # fmt: skip
    for name, (processes, mb) in sorted(full["pss_by_kind"].items()):
        print(f"  {name:14} {processes:3} processes {mb:7.1f} MB")
    print(f"idle CPU of the tree: {full['idle_cpu'] * 100:.2f} % of a core over {IDLE_SECONDS:.0f}"
          f" s (load {full['load_idle']:.2f})")  # fmt: skip
    for name, share in sorted(full["idle_by_kind"].items()):
        print(f"  {name:14} {share * 100:5.2f} %")
    latency = full["latency"]
    print(f"outside change → cell ({len(latency['samples'])} changes, {count} hosts):"
          f" {ms(latency['samples'])} (load {latency['load']:.2f})")  # fmt: skip
    keys = full["keys"]
    print(f"keys under {FLOOD_LINES_PER_SECOND} lines/s from {keys['hosts_flooding']} hosts"
          f" ({len(keys['samples'])} keys): {ms(keys['samples'])}, journal moving:"
          f" {keys['moved']} (load {keys['load']:.2f})")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labs", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="start-up runs (console processes)")
    parser.add_argument("--workers", type=int, default=1, help="workers per lab")
    parser.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS)
    parser.add_argument(
        "--idle-only", action="store_true", help="one console: start-up, memory and idle CPU"
    )
    parser.add_argument(
        "--running",
        action="store_true",
        help=f"use the labs {PREFIX}01… already up (each booted with `atomctl-lab up --name`"
        " and its AtoM root linked as this script does), and leave them up",
    )
    sub = parser.add_subparsers(dest="mode")
    inner = sub.add_parser("console", help="(internal) the console's process")
    inner.add_argument("--phases", default="")
    inner.add_argument("names", nargs="+")
    args = parser.parse_args()
    if args.mode == "console":
        asyncio.run(console(args.names, set(filter(None, args.phases.split(",")))))
        return 0
    if args.labs < 2:
        parser.error("--labs must be 2 or more (memory per added host)")
    started = time.monotonic()
    try:
        return measure(args, started)
    finally:
        shutil.rmtree(PYCACHE, ignore_errors=True)


def running_labs(count: int) -> contextlib.AbstractContextManager[ManyLabs]:
    """The labs ``<PREFIX>01``… booted earlier (`atomctl-lab up --name …`), left up."""
    labs = [LabState.load(name) for name in lab_names(PREFIX, count)]
    missing = [name for name, lab in zip(lab_names(PREFIX, count), labs, strict=True) if not lab]
    if missing:
        sys.exit(f"not running: {', '.join(missing)}")
    return contextlib.nullcontext(ManyLabs(tuple(lab for lab in labs if lab is not None)))


def measure(args: argparse.Namespace, started: float) -> int:
    fleet_labs = (
        running_labs(args.labs)
        if args.running
        else many_labs(PREFIX, args.labs, workers=args.workers)
    )
    with fleet_labs as labs:
        names = [lab.name for lab in labs.labs]
        print(f"{args.labs} labs ready in {time.monotonic() - started:.0f} s", flush=True)
        if args.idle_only:
            run = run_console(names, {"idle"}, args.idle_seconds)
            print(json.dumps(run, indent=1))
            return 0
        runs = [run_console(names, {"idle", "latency", "journal"})]
        runs += [run_console(names, set()) for _ in range(args.runs - 1)]
        single = run_console(names[:1], set())
    report(args.labs, runs, single)
    return 0


if __name__ == "__main__":
    sys.exit(main())
