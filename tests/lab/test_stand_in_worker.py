"""The lab's stand-in worker behaves as AtoM's `symfony jobs:worker` where the journal,
gearmand and systemd see it (docs/atom-worker.md says where each behaviour comes from).

Each test runs its own worker as a transient unit in the session lab, with `--abilities` of a
probe class only it has, so the lab's own workers never take its jobs.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections.abc import Iterator

import gearman
import pytest

from atomctl_tui.atom import site_prefix
from atomctl_tui.lab.layout import SITE_JOB_CLASSES
from atomctl_tui.lab.machine import gearman_admin
from atomctl_tui.lab.state import LabState
from atomctl_tui.lab.worker import JOB_CLASSES_FILE
from tests.labs import insert_job_row, inside, lab_cli, unit_property
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

PROBE_CLASS = "arLabStandInProbeJob"
NOT_DEFINED = (
    "Ability not defined: {}. Please ensure the job is in the lib/task/job directory"
    " or that the plugin is enabled."
)
INVALID_ID = "Called a Gearman worker with an invalid QubitJob id."
ATOM_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d > (.*)$")
_units = itertools.count(1)


@pytest.fixture
def probe_class(lab: LabState) -> Iterator[str]:
    """The site "has" one more job class (as when a plugin is enabled) while the test runs."""
    classes = lab.paths.atom_root / JOB_CLASSES_FILE
    before = classes.read_text()
    classes.write_text(before + f"{PROBE_CLASS}\n")
    yield PROBE_CLASS
    classes.write_text(before)


def start_worker(lab: LabState, *args: str, atom_root: str | None = None) -> str:
    """A worker as the lab's units run it, as a transient unit that is never restarted."""
    unit = f"stand-in-probe-{next(_units)}.service"
    inside(
        lab, "systemd-run", "--quiet", f"--unit={unit}", "-p", "User=www-data",
        "-p", "Group=www-data", "-p", f"WorkingDirectory={atom_root or lab.paths.atom_root}",
        "/usr/bin/python3", "symfony", "jobs:worker", *args,
    )  # fmt: skip
    return unit


def messages(lab: LabState, unit: str) -> list[str]:
    """What the worker wrote, without AtoM's date prefix (a line without one is kept whole)."""
    text = inside(lab, "journalctl", "--no-pager", "-o", "cat", f"_SYSTEMD_UNIT={unit}")
    return [m.group(1) if (m := ATOM_LINE.match(line)) else line for line in text.splitlines()]


def systemd_says(lab: LabState, unit: str) -> str:
    return inside(lab, "journalctl", "--no-pager", "-o", "cat", "_PID=1", f"UNIT={unit}")


def wait_for_message(lab: LabState, unit: str, start: str) -> list[str]:
    """The worker's messages once one starts with ``start``."""
    return wait_until(
        lambda: (
            (lines := messages(lab, unit)) and any(m.startswith(start) for m in lines) and lines
        ),
        what=f"{start!r} from {unit}",
    )


def stop_and_forget(lab: LabState, unit: str) -> None:
    inside(lab, "systemctl", "stop", unit, check=False)
    inside(lab, "systemctl", "reset-failed", unit, check=False)


def waiting_row(lab: LabState, job_class: str) -> list[str] | None:
    """gearmand's `status` row of a job class of the lab's site: total, running, workers."""
    function = site_prefix(lab.paths.atom_root) + job_class
    for line in gearman_admin(lab.gearman_port, "status"):
        name, *numbers = line.split("\t")
        if name == function:
            return numbers
    return None


def show_job(lab: LabState, handle: str) -> list[str] | None:
    """gearmand's `show jobs` row of a job: retries, ignore_job, job_queued."""
    for line in gearman_admin(lab.gearman_port, "show jobs"):
        name, *numbers = line.split("\t")
        if name == handle:
            return numbers
    return None


def registered(lab: LabState, unit: str) -> bool:
    pid = unit_property(lab, unit, "MainPID")
    return any(f" pid_{pid}_" in f" {line}" for line in gearman_admin(lab.gearman_port, "workers"))


def submit_probe(lab: LabState, seconds: float, *extra: str) -> str:
    return lab_cli(
        "submit", "--name", lab.name, PROBE_CLASS, "--seconds", str(seconds), *extra
    ).stdout.strip()


def test_a_job_and_the_job_limit_in_atoms_words(lab, probe_class):
    unit = start_worker(lab, f"--abilities={probe_class},qtSwordPluginWorker", "--max-job-count=1")
    try:
        wait_until(lambda: registered(lab, unit), what="the worker to register")
        pid = unit_property(lab, unit, "MainPID")
        submit_probe(lab, 0.1)
        lines = wait_for_message(lab, unit, "Job worker stopped.")
        job_id = json.loads(lines[6].removeprefix("Parameters: "))["id"]
        assert lines == [
            "Worker will shut down after 1 jobs have completed.",
            f"New ability: {probe_class}",
            NOT_DEFINED.format("qtSwordPluginWorker"),
            "Running worker...",
            f"PID {pid}",
            "Job started.",
            f'Parameters: {{"seconds":0.1,"name":"{probe_class}","id":{job_id}}}',
            "Job finished.",
            "Jobs completed: 1",
            "Max job count reached: 1 jobs completed.",
            "Worker shutting down - max-job-count reached.",
            "Job worker stopped.",
        ]
        text = inside(lab, "journalctl", "--no-pager", "-o", "short", f"_SYSTEMD_UNIT={unit}")
        assert all(ATOM_LINE.match(line.split(": ", 1)[1]) for line in text.splitlines())
        wait_until(lambda: "status=111" in systemd_says(lab, unit), what="exit status 111")
    finally:
        stop_and_forget(lab, unit)


@pytest.mark.parametrize(
    ("signal", "said"),
    [
        ("SIGTERM", ["Job worker termination requested.", "Job worker stopped."]),
        ("SIGINT", ["Job worker termination requested by user.", "Job worker stopped."]),
        ("SIGHUP", ["Job worker hang up requested.", "Job worker stopped."]),
        ("SIGQUIT", ["Job worker quit requested.", "Job worker stopped."]),
        ("SIGKILL", []),
    ],
)
def test_a_worker_stopped_mid_job_leaves_it_to_gearmand_to_run_again(
    lab, probe_class, signal, said
):
    unit = start_worker(lab, f"--abilities={probe_class}")
    again = None
    try:
        wait_until(lambda: registered(lab, unit), what="the worker to register")
        handle = submit_probe(lab, 3)
        lines = wait_for_message(lab, unit, "Parameters: ")
        assert lines[-2:-1] == ["Job started."]
        inside(lab, "systemctl", "kill", f"--signal={signal}", "--kill-whom=main", unit)
        ended = "status=9/KILL" if signal == "SIGKILL" else "Deactivated successfully."
        wait_until(lambda: ended in systemd_says(lab, unit), what=f"systemd: {ended}")
        wait_until(lambda: messages(lab, unit)[len(lines) :] == said, what=f"{said} at the end")
        # Not reported failed: gearmand puts it back in the queue, one retry counted...
        assert show_job(lab, handle) == ["1", "0", "1"]
        assert waiting_row(lab, probe_class) == ["1", "0", "0"]
        # ...and runs it again, from the start, on the next worker that can.
        again = start_worker(lab, f"--abilities={probe_class}")
        rerun = wait_for_message(lab, again, "Jobs completed: 1")
        assert rerun[-4:] == ["Job started.", lines[-1], "Job finished.", "Jobs completed: 1"]
        wait_until(lambda: show_job(lab, handle) is None, what="the job to leave gearmand")
    finally:
        for probe in (unit, again):
            if probe:
                stop_and_forget(lab, probe)


def foreground(lab: LabState, data: str) -> gearman.job.GearmanJobRequest:
    """A job whose outcome comes back: WORK_COMPLETE or WORK_FAIL, as gearmand relays it."""
    client = gearman.GearmanClient([lab.gearman_server])
    try:
        function = site_prefix(lab.paths.atom_root) + PROBE_CLASS
        return client.submit_job(function, data, poll_timeout=20)
    finally:
        client.shutdown()


def test_job_failures_are_logged_and_reported_as_atom_does(lab, probe_class):
    unit = start_worker(lab, f"--abilities={probe_class}")
    try:
        wait_until(lambda: registered(lab, unit), what="the worker to register")
        start = len(messages(lab, unit))

        # Exceptions that escape the job: WORK_FAIL, not counted as completed.
        for data, said in [
            ('{"name":"x"}', "Job failed: Required parameter not found for job: id"),
            ("not json", "Job failed: Required parameter not found for job: id"),
            ('{"id":1}', "Job failed: Required parameter not found for job: name"),
            ('{"name":"x","id":0}', "Job failed: " + INVALID_ID),
        ]:  # fmt: skip
            request = foreground(lab, data)
            assert request.state == gearman.JOB_FAILED, data
            # Net_Gearman sends WORK_FAIL first, then its callback logs the line.
            wait_until(lambda: messages(lab, unit)[start:] == [said], what=said)  # noqa: B023
            start += 1

        # An exception inside the job: arBaseJob catches it, the job completes.
        data = f'{{"seconds":0,"fail":"disk full","name":"x","id":{insert_job_row(lab, "x")}}}'
        request = foreground(lab, data)
        assert (request.state, request.result) == (gearman.JOB_COMPLETE, b'{"result":null}')
        lines = wait_for_message(lab, unit, "Jobs completed: 1")[start:]
        assert lines[:3] == ["Job started.", f"Parameters: {data}", "Exception: disk full"]
        assert lines[3].startswith("File: /") and lines[3].endswith("/atomctl_tui/lab/worker.py")
        assert re.fullmatch(r"Line: \d+", lines[4])
        assert lines[5:] == ["Jobs completed: 1"]
    finally:
        stop_and_forget(lab, unit)


def test_without_a_job_server_the_worker_fails_as_symfony_prints_it(lab):
    root = lab.paths.root / "atom-without-server"
    shutil.copytree(lab.paths.atom_root, root)
    unit = None
    try:
        config = root / "config" / "gearman.yml"
        config.write_text(config.read_text().replace(f":{lab.gearman_port}", ":9"))
        unit = start_worker(lab, "--max-job-count=5", atom_root=str(root))
        wait_until(lambda: "status=1/FAILURE" in systemd_says(lab, unit), what="exit status 1")
        # symfony's padded block on stderr; the journal keeps its lines, not all their spaces.
        assert [line.rstrip() for line in messages(lab, unit) if line.strip()] == [
            "Worker will shut down after 5 jobs have completed.",
            "  Couldn't connect to any available servers",
        ]
    finally:
        if unit:
            stop_and_forget(lab, unit)
        shutil.rmtree(root)


def test_a_default_site_has_no_sword_worker_so_its_jobs_wait(lab):
    assert "qtSwordPluginWorker" not in SITE_JOB_CLASSES
    unit = "atom-worker@1.service"
    pid = unit_property(lab, unit, "MainPID")
    journal = inside(lab, "journalctl", "--no-pager", "-o", "cat", f"_PID={pid}")
    assert NOT_DEFINED.format("qtSwordPluginWorker") in journal
    prefix = site_prefix(lab.paths.atom_root)
    workers = gearman_admin(lab.gearman_port, "workers")
    assert not any(prefix + "qtSwordPluginWorker" in line for line in workers)

    lab_cli("submit", "--name", lab.name, "qtSwordPluginWorker", "--seconds", "0")
    drain = None
    classes = lab.paths.atom_root / JOB_CLASSES_FILE
    before = classes.read_text()
    try:
        assert waiting_row(lab, "qtSwordPluginWorker") == ["1", "0", "0"]
        # Enabling the plugin (here: the class list) and running a sword worker drains it.
        classes.write_text(before + "qtSwordPluginWorker\n")
        drain = start_worker(lab, "--types=sword")
        wait_for_message(lab, drain, "Jobs completed: 1")
        assert waiting_row(lab, "qtSwordPluginWorker") == ["0", "0", "1"]
    finally:
        classes.write_text(before)
        if drain:
            stop_and_forget(lab, drain)
