"""Make AtoM jobs stuck for real: what leaves a job's row "in progress" (183) on a site.

- ``kill_busy_worker``: SIGKILL to the main process of a worker unit while it runs a job, as
  the kernel's OOM killer would. Nothing marks the row: gearmand puts the job back in its
  queue and the next capable worker runs it again from the start (docs/atom-worker.md).
- ``restart_job_server``: gearmand restarted while it holds jobs. Without a persistent queue
  (Debian's default, and the lab's) they are gone, and their rows stay in progress forever.

Only processes of the lab are ever signalled: the pid comes from the lab's systemd, and the
process is checked to be in the lab's PID namespace through a pidfd before the signal.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from atomctl_tui.lab import layout, machine
from atomctl_tui.lab.state import LabError, LabState

ATOM_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d > (.*)$")
JOB_ENDED = ("Jobs completed: ", "Job failed: ")
"""The worker's lines after a job, whatever became of it (Net_Gearman's callbacks)."""
POLL_SECONDS = 0.1
JOB_SERVER_SECONDS = 15.0


@dataclass(frozen=True)
class BusyWorker:
    unit: str
    pid: int
    """The worker's main pid inside the lab (its systemd's MainPID)."""
    job_id: int


def _inside(state: LabState, *command: str) -> str:
    return subprocess.run(
        state.nsenter(*command), capture_output=True, text=True, check=True, timeout=30
    ).stdout


def _running_job(state: LabState, unit: str, pid: int) -> int | None:
    """The AtoM job id the process is running: its last ``Parameters:`` line with no line
    after it saying the job ended."""
    text = _inside(
        state, "journalctl", "--no-pager", "-o", "cat", f"_SYSTEMD_UNIT={unit}", f"_PID={pid}"
    )
    job_id = None
    for line in text.splitlines():
        match = ATOM_LINE.match(line)
        message = match.group(1) if match else line
        if message.startswith("Parameters: "):
            try:
                job_id = int(json.loads(message.removeprefix("Parameters: "))["id"])
            except (ValueError, KeyError, TypeError):
                job_id = None
        elif message.startswith(JOB_ENDED):
            job_id = None
    return job_id


def _main_pid(state: LabState, unit: str) -> int:
    return int(_inside(state, "systemctl", "show", "--value", "-p", "MainPID", unit).strip())


def find_busy_worker(state: LabState, job_id: int | None) -> BusyWorker | None:
    units = machine.unit_states(state, ["atom-worker*"])
    for unit in sorted(u["unit"] for u in units if u["sub"] == "running"):
        pid = _main_pid(state, unit)
        running = _running_job(state, unit, pid) if pid else None
        if running is not None and (job_id is None or running == job_id):
            return BusyWorker(unit, pid, running)
    return None


def _host_pid(state: LabState, lab_pid: int) -> int | None:
    """The host's pid of the lab's process ``lab_pid`` (the last pid of its NSpid line)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "ns" / "pid") != state.pid_namespace:
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("NSpid:") and int(line.split()[-1]) == lab_pid:
                return int(entry.name)
    return None


def _sigkill_lab_process(state: LabState, lab_pid: int) -> int:
    """SIGKILL through a pidfd taken, then checked, so a pid reused meanwhile is never hit."""
    host_pid = _host_pid(state, lab_pid)
    if host_pid is None:
        raise LabError(f"process {lab_pid} of lab {state.name!r} is already gone")
    descriptor = os.pidfd_open(host_pid)
    try:
        if _host_pid(state, lab_pid) != host_pid:
            raise LabError(f"process {lab_pid} of lab {state.name!r} is already gone")
        signal.pidfd_send_signal(descriptor, signal.SIGKILL)
    finally:
        os.close(descriptor)
    return host_pid


def kill_busy_worker(state: LabState, job_id: int | None, timeout: float) -> list[str]:
    """Wait up to ``timeout`` s for a worker running job ``job_id`` (any job when None),
    then SIGKILL its main process. Returns what was done, in words."""
    deadline = time.monotonic() + timeout
    busy = find_busy_worker(state, job_id)
    while busy is None:
        if time.monotonic() > deadline:
            what = f"job {job_id}" if job_id is not None else "a job"
            raise LabError(f"no worker of lab {state.name!r} ran {what} within {timeout:g} s")
        time.sleep(POLL_SECONDS)
        busy = find_busy_worker(state, job_id)
    host_pid = _sigkill_lab_process(state, busy.pid)
    return [
        f"killed {busy.unit} (pid {busy.pid} in the lab, {host_pid} on the host) with SIGKILL"
        f" while it ran job {busy.job_id}",
        f"job {busy.job_id} stays in progress (183): gearmand puts it back in its queue and"
        " the next capable worker runs it again from the start",
    ]


def _jobs_waiting(state: LabState) -> int:
    """Jobs gearmand holds that no worker runs yet, over all functions (``status``: total
    minus running). A running job's worker still finishes it and writes its row."""
    waiting = 0
    for line in machine.gearman_admin(state.gearman_port, "status"):
        _function, total, running, _workers = line.split("\t")
        waiting += int(total) - int(running)
    return waiting


def restart_job_server(state: LabState) -> list[str]:
    """Restart the lab's gearmand while jobs wait in it: they are lost, their rows stay 183."""
    waiting = _jobs_waiting(state)
    if waiting == 0:
        raise LabError(
            f"no job waits in gearmand of lab {state.name!r}, so a restart would lose none;"
            " queue one first (e.g. `atomctl-lab submit qtSwordPluginWorker`, which no worker"
            " of a default site takes)"
        )
    _inside(state, "systemctl", "restart", layout.GEARMAN_UNIT)
    deadline = time.monotonic() + JOB_SERVER_SECONDS
    while True:
        try:
            left = _jobs_waiting(state)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise LabError(
                    f"gearmand of lab {state.name!r} did not answer within"
                    f" {JOB_SERVER_SECONDS:g} s of its restart"
                ) from None
            time.sleep(POLL_SECONDS)
    return [
        f"restarted {layout.GEARMAN_UNIT}: {waiting} job(s) waited in it, now {left} do",
        "the lost jobs' rows stay in progress (183): nothing in AtoM resets them",
    ]
