"""When a job server's gearmand started: "up since" is the process's start, not the console's
first poll.

`getpid` gives gearmand's pid as its own pid namespace numbers it; the process's start is in
``/proc/<pid>/stat`` (field 22, clock ticks after boot), read on the host gearmand runs on
(``Host.argv``: this machine, a lab's namespace, or a remote host over its SSH connection),
where that pid means the same process. With ``/proc/uptime`` read at once, its age is known to
a hundredth of a second: its start is then said on this machine's clock (``/proc/stat``'s
``btime`` is whole seconds, and on the host's clock).
A pid whose process is not named ``gearmand`` there is another process (the server runs
elsewhere, in a container): then the job server unit's ActiveEnterTimestamp, when that unit's
MainPID is the pid, or nothing.

``StartReader`` calls block (a command on the host): call them from a thread.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.remote.hosts import Host
from atomctl_tui.systemd.unit_source import UnitSource

READ_TIMEOUT_SECONDS = 10.0
MAX_READ_BYTES = 64 * 1024  # two lines of a few hundred bytes
GEARMAND = "gearmand"
STARTTIME_FIELD = 22  # proc(5), counted from 1
# USER_HZ: the kernel's unit for starttime, 100 on every Linux architecture but alpha; part of
# the ABI, so this machine's value is the remote host's too.
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

StartReader = Callable[[int], float | None]
"""gearmand's pid -> its start (seconds since the epoch), or None when it cannot be told."""


def process_age(stat: bytes, pid: int, name: str = GEARMAND) -> float | None:
    """How long ago process ``pid`` named ``name`` started, in seconds, from
    ``/proc/<pid>/stat`` then ``/proc/uptime`` (as ``cat`` prints them one after the other);
    None when these do not say it."""
    text = stat.decode(errors="replace")
    own, _newline, uptime = text.partition("\n")
    head, close, tail = own.rpartition(")")  # the name may hold spaces and parentheses
    if not close or head.partition(" (") != (str(pid), " (", name):
        return None
    fields = tail.split()
    # After the name: field 3 (state) is fields[0].
    if len(fields) < STARTTIME_FIELD - 2 or not fields[STARTTIME_FIELD - 3].isdigit():
        return None
    try:
        since_boot = float(uptime.split()[0])
    except (IndexError, ValueError):
        return None
    return max(0.0, since_boot - int(fields[STARTTIME_FIELD - 3]) / CLOCK_TICKS)


def read_process_start(host: Host, pid: int) -> float | None:
    """When gearmand ``pid`` started on ``host`` (this machine's clock), read from its /proc
    there; None when it cannot be. Blocks."""
    if pid <= 0:
        return None
    try:
        done = subprocess.run(
            host.argv("cat", "--", f"/proc/{pid}/stat", "/proc/uptime"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=READ_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    age = process_age(done.stdout[:MAX_READ_BYTES], pid)
    return None if age is None else time.time() - age


def start_reader(host: Host, units: UnitSource | None) -> StartReader:
    """How to tell when the gearmand of a server running on ``host`` started: its /proc there,
    else its unit's ActiveEnterTimestamp (``units``: the host's watched units, if any)."""

    def read(pid: int) -> float | None:
        started = read_process_start(host, pid)
        if started is not None or units is None:
            return started
        unit = units.snapshot().get(JOB_SERVER_UNIT)
        if unit is None or unit.main_pid != pid or not unit.active_since_us:
            return None
        return unit.active_since_us / 1_000_000

    return read
