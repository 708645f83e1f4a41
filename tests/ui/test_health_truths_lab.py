"""Health and check say only what is true, on a real lab: an enabled worker that is stopped,
a worker not back yet after a job server restart, AtoM jobs that failed."""

from __future__ import annotations

import subprocess

import pytest

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.health.check import EXIT_OK, EXIT_WARNING
from atomctl_tui.lab.state import LabState
from tests.gearman_lab import queued_total
from tests.lab_units import BOOT_WORKERS, main_pid, restore_workers
from tests.labs import forget_atom_jobs, inside, lab_cli
from tests.ui.health_view import check_in_lab, check_says
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

W1, W2 = BOOT_WORKERS


@pytest.fixture
def shared_lab(lab: LabState):
    restore_workers(lab)
    forget_atom_jobs(lab)  # earlier tests' lost and failed jobs are not this test's findings
    yield lab
    inside(lab, "systemctl", "start", JOB_SERVER_UNIT)
    restore_workers(lab)


def check_saying(lab: LabState, words: str) -> subprocess.CompletedProcess | None:
    """check's result, when its line says ``words``."""
    result = check_in_lab(lab)
    return result if words in result.stdout else None


def test_an_enabled_worker_stopped_is_a_warning_once_its_grace_is_over(shared_lab):
    inside(shared_lab, "systemctl", "stop", W2)
    words = f"{W2} is enabled but not running"
    result = wait_until(
        lambda: check_saying(shared_lab, words), timeout=40, what="check to name it"
    )
    check_says(result, EXIT_WARNING, words)


def test_a_worker_not_back_right_after_a_job_server_restart_is_a_note(shared_lab):
    """W2 stopped (SIGSTOP) cannot register again: for a minute after the job server's
    restart, that is what check says, as a note — not gearman.yml and php symfony cc."""
    pid = main_pid(shared_lab, W2)
    inside(shared_lab, "kill", "-STOP", str(pid))
    try:
        inside(shared_lab, "systemctl", "restart", JOB_SERVER_UNIT)
        # W1 comes back by itself within seconds (until then AtoM refuses jobs: critical).
        words = (
            f"{W2} is active (PID {pid}) but not registered: the job server"
            f" {shared_lab.gearman_server} restarted"
        )
        result = wait_until(
            lambda: (r := check_saying(shared_lab, words)) and W1 not in r.stdout and r,
            timeout=40,
            what="W1 back and W2's note",
        )
        line = check_says(result, EXIT_OK, words)
        assert "php symfony cc" not in line
    finally:
        inside(shared_lab, "kill", "-CONT", str(pid))


def test_jobs_that_failed_in_the_last_hour_are_a_warning(failing_jobs_lab):
    lab = failing_jobs_lab
    lab_cli("submit", "--name", lab.name, "arFileImportJob", "--fail", "--seconds", "0")
    wait_until(lambda: queued_total(lab) == 0, what="the failing job run")
    words = "of arFileImportJob failed in the last hour"
    result = wait_until(lambda: check_saying(lab, words), what="check to see the failed job")
    check_says(result, EXIT_WARNING, words, "The atomctl lab asked this job to fail")
