"""First paint only: atomctl-tui against the minimal Textual app, in record.py's harness.

Run as root from the repository: `.venv/bin/python benchmarks/bench_first_paint.py
[--runs N] [--lab NAME] [--compare DIR ...]`. Without --lab it boots a lab of its own
(`bench-first-paint`) and powers it off at the end. The method is record.py's first paint,
with nothing else of the record: the programs in tmux panes of 80x24 inside the lab (nsenter,
the same Python), the screen read every 2 ms; from asking tmux for the session to the
console's Workers row of atom-worker@2 with its state, to every pane filled, and to the
minimal app's one line. They are started in turn, run after run (one warm-up round first),
so that all see the same load; the load average is printed at the start and the end.
Bytecode is cached as record.py caches it (`python_env`); `--caller-bytecode` gives the
method before that. `--compare DIR` runs, in the same rounds, the console from another copy
of the package (DIR holds an `atomctl_tui/`, e.g. `git archive HEAD atomctl_tui | tar -x -C
DIR`; a directory the lab can see), to set code before and after a change side by side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace

import record
from record import (
    CONSOLE,
    LAB_CLI,
    Console,
    atomctl_local,
    boot,
    first_paints,
    minimal_app,
    power_off,
)
from terminal import TmuxTerminal

from atomctl_tui.lab.state import LabState

LAB_NAME = "bench-first-paint"


def console_from(console: Console, directory: str) -> Console:
    """The same console with the package imported from ``directory`` (first on sys.path)."""
    argv = list(console.argv)
    argv.insert(argv.index(CONSOLE), f"PYTHONPATH={directory}")
    return replace(console, label=f"atomctl-tui from {directory}", argv=argv)


def figures(values: list[float]) -> str:
    if not values:
        return "no run"
    ms = sorted(v * 1000 for v in values)
    return f"median {statistics.median(ms):4.0f} ms, min {ms[0]:4.0f}, max {ms[-1]:4.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="counted runs of each (default 10)")
    parser.add_argument("--lab", help="use this running lab instead of booting one")
    parser.add_argument(
        "--caller-bytecode",
        action="store_true",
        help="leave bytecode to the caller's environment (record.py's method before"
        " 2026-12-02: with PYTHONDONTWRITEBYTECODE set, the checkout compiles at every start)",
    )
    parser.add_argument(
        "--compare",
        metavar="DIR",
        action="append",
        default=[],
        help="also run the console from the atomctl_tui/ in DIR, in the same rounds",
    )
    args = parser.parse_args()
    record.BYTECODE = not args.caller_bytecode
    lab = LabState.load(args.lab) if args.lab else boot(LAB_NAME)
    if lab is None:
        sys.exit(f"no running lab named {args.lab!r} (`{LAB_CLI} up --name {args.lab}`)")
    load_before = os.getloadavg()
    unfilled: list[str] = []
    terminal = TmuxTerminal()
    try:
        floor = minimal_app(lab)
        consoles = [atomctl_local(lab)]
        consoles += [console_from(consoles[0], directory) for directory in args.compare]
        paints = first_paints(terminal, [*consoles, floor], args.runs, unfilled)
    finally:
        terminal.close()
        if not args.lab:
            power_off(lab.name)
    load_after = os.getloadavg()
    base = paints[floor.label]["state"]

    bytecode = "the caller's environment" if args.caller_bytecode else "cached (as installed)"
    print(time.strftime("%Y-%m-%d %H:%M %Z"), f"— {args.runs} runs of each, in turn")
    caller = os.environ.get("PYTHONDONTWRITEBYTECODE")
    print(f"bytecode: {bytecode} (PYTHONDONTWRITEBYTECODE here: {caller!r})")
    print(f"load average {load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end")
    print(f"minimal Textual app, its line: {figures(base)}")
    for console in consoles:
        print(console.label)
        for mark, words, goal in (("state", "Workers row", 1.3), ("filled", "every pane", 1.6)):
            values = paints[console.label][mark]
            ratio = statistics.median(values) / statistics.median(base) if values else 0.0
            print(f"  {words + ':':<13} {figures(values)} = {ratio:.2f}× (goal ≤ {goal}×)")
        if missed := unfilled.count(console.label):
            print(f"  panes not all filled within 10 s in {missed} run(s), warm-up included")
    return 0


if __name__ == "__main__":
    sys.exit(main())
