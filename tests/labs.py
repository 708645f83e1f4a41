"""Booting and driving labs from tests, through the `atomctl-lab` CLI as an admin would."""

from __future__ import annotations

import os
import subprocess
import sys

from atomctl_tui.lab import job_rows, mariadb
from atomctl_tui.lab.state import LabState

# The installed entry point, as an admin runs it.
LAB_CLI = [os.path.join(os.path.dirname(sys.executable), "atomctl-lab")]


def lab_cli(*args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [*LAB_CLI, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"atomctl-lab {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return result


def unique_name(role: str) -> str:
    """Names tied to this test run, so parallel runs and leftovers never collide."""
    return f"t{os.getpid() % 100000}-{role}"


def boot(name: str, *args: str) -> LabState:
    lab_cli("up", "--name", name, *args)
    state = LabState.load(name)
    assert state is not None and state.is_running()
    return state


def inside(lab: LabState, *command: str, check: bool = True) -> str:
    """Run a command inside the lab; its stdout."""
    result = subprocess.run(
        lab.nsenter(*command), capture_output=True, text=True, timeout=60, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{command} failed in the lab: {result.stderr}")
    return result.stdout


def insert_job_row(lab: LabState, name: str) -> int:
    """A job's rows in the lab's database, in progress, as AtoM writes them before queueing
    it (for tests that hand a job to gearmand themselves); its id."""
    connection = mariadb.connect(lab)
    try:
        with connection.cursor() as cursor:
            job_id = job_rows.insert_job(
                cursor, name, user_id=None, object_id=None, description=None
            )
        connection.commit()
    finally:
        connection.close()
    return job_id


def forget_atom_jobs(lab: LabState) -> None:
    """Remove every AtoM job row from the lab's database (with its object row and notes).

    For tests on the shared lab that assert on its health: rows of earlier tests (jobs lost in
    a gearmand restart, jobs failed on purpose) would be stuck or failed jobs for them."""
    connection = mariadb.connect(lab)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM job")
            ids = [row[0] for row in cursor.fetchall()]
            if ids:
                marks = ", ".join(["%s"] * len(ids))
                # The job, note and note_i18n rows go with their object (ON DELETE CASCADE).
                cursor.execute(f"DELETE FROM object WHERE id IN ({marks})", ids)
        connection.commit()
    finally:
        connection.close()


def unit_property(lab: LabState, unit: str, prop: str) -> str:
    return inside(lab, "systemctl", "show", "--value", "-p", prop, unit).strip()
