"""AtoM's jobs read from a lab's real MariaDB: rows the lab's `submit` and stand-in workers
wrote as AtoM does, `jobs` run inside the lab as an admin runs it on the server (the local
socket) and from outside over `--host` (through the SSH master), a stuck job marked failed,
and a database that cannot be read said in words."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from atomctl_tui.atom_db.config_php import DEFAULT_SOCKET, read_local_settings
from atomctl_tui.atom_db.connection import AtomDatabase, AtomDbError, Endpoint, open_connection
from atomctl_tui.atom_db.jobs import (
    COMPLETED,
    ERROR,
    IN_PROGRESS,
    JobStory,
    failed_note,
    job_story,
    mark_failed,
)
from atomctl_tui.atom_db.sites import local_database
from atomctl_tui.lab.ssh import client_config_path
from atomctl_tui.lab.state import LabState
from tests.labs import boot, inside, lab_cli, unique_name
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

CLI = os.path.join(os.path.dirname(sys.executable), "atomctl-tui")
NO_CONFIG = "XDG_CONFIG_HOME=/nonexistent/atomctl-tui-tests"


@pytest.fixture(scope="module")
def lab() -> Iterator[LabState]:
    """A lab of its own: these tests fail jobs, stop MariaDB and spoil config.php."""
    if os.geteuid() != 0:
        pytest.fail("the lab tests must run as root: run ./scripts/test as root", pytrace=False)
    name = unique_name("atomdb")
    state = boot(name, "--workers", "2")
    yield state
    lab_cli("down", "--name", name)


def database(lab: LabState) -> AtomDatabase:
    """The lab's database as config.php says, reached from the test over the lab's TCP port
    (its socket is in the lab's own /run)."""
    root = lab.paths.atom_root
    return AtomDatabase(
        lambda: read_local_settings(root),
        lambda _settings: Endpoint("the lab", host="127.0.0.1", port=lab.mysql_port),
    )


def submit(lab: LabState, job_class: str, *options: str) -> int:
    done = lab_cli("submit", "--name", lab.name, job_class, "--json", *options)
    return int(json.loads(done.stdout)[0]["id"])


def story(lab: LabState, job_id: int) -> JobStory:
    found = database(lab).read(lambda cursor: job_story(cursor, job_id))
    assert found is not None
    return found


def finished(lab: LabState, job_id: int) -> JobStory | None:
    found = story(lab, job_id)
    return found if found.job.status_id in (COMPLETED, ERROR) else None


def jobs_in_lab(lab: LabState, *args: str) -> subprocess.CompletedProcess[str]:
    """`atomctl-tui jobs` run on the lab's machine, as root, as an admin would."""
    argv = ["env", NO_CONFIG, CLI, "jobs", "--atom-root", str(lab.paths.atom_root), *args]
    return subprocess.run(lab.nsenter(*argv), capture_output=True, text=True, timeout=60)


def test_jobs_json_shows_the_lab_rows(lab: LabState):
    done_id = submit(lab, "arFindingAidJob", "--seconds", "0.2", "--object", "lab-fonds")
    failed_id = submit(lab, "arObjectMoveJob", "--seconds", "0.2", "--fail", "--command-line")
    for job_id in (done_id, failed_id):
        wait_until(lambda job_id=job_id: finished(lab, job_id), what=f"job {job_id} to end")
    result = jobs_in_lab(lab, "--json")
    assert result.returncode == 0, result.stderr
    (site,) = json.loads(result.stdout)["sites"]
    assert site["error"] is None and site["atom_root"] == str(lab.paths.atom_root)
    by_id = {job["id"]: job for job in site["jobs"]}
    assert [job["id"] for job in site["jobs"]][:2] == [failed_id, done_id]  # newest first
    done, failed = by_id[done_id], by_id[failed_id]
    assert (done["name"], done["status"], done["status_id"]) == (
        "arFindingAidJob",
        "completed",
        184,
    )
    assert (done["user"], done["slug"]) == ("demo", "lab-fonds")
    assert done["queued_at"] <= done["completed_at"] and done["duration_seconds"] >= 0
    assert (failed["status"], failed["user"], failed["slug"]) == ("error", "Command line", None)
    errors = {e["name"]: e for e in site["summary"]["errors_by_name"]}
    assert errors["arObjectMoveJob"]["last_id"] == failed_id
    only_errors = json.loads(jobs_in_lab(lab, "--json", "--status", "error").stdout)
    assert {job["status"] for job in only_errors["sites"][0]["jobs"]} == {"error"}
    assert failed_id in {job["id"] for job in only_errors["sites"][0]["jobs"]}
    text = jobs_in_lab(lab, "--since", "1h")
    assert text.returncode == 0
    assert any(line.split()[:3] == [str(failed_id), "error", "arObjectMoveJob"]
               for line in text.stdout.splitlines())  # fmt: skip


def test_a_jobs_story_joins_row_notes_and_output(lab: LabState):
    job_id = submit(lab, "arObjectMoveJob", "--seconds", "0.2", "--fail", "--description", "move")
    found = wait_until(lambda: finished(lab, job_id), what="the job to fail")
    assert found.job.status == "error"
    assert [(note.is_error, note.content[0]) for note in found.notes][:2] == [
        (False, "move"),  # the caller's description, a note with no type
        (True, "Exception: The atomctl lab asked this job to fail."),
    ]
    assert found.output[0].endswith(f'Job {job_id} "arObjectMoveJob": Job started.')
    assert any(
        "Exception: The atomctl lab asked this job to fail." in line for line in found.output
    )


def test_mark_failed_changes_a_job_in_progress_and_not_a_finished_one(lab: LabState):
    stuck = submit(lab, "arFileImportJob", "--seconds", "120")
    assert story(lab, stuck).job.status_id == IN_PROGRESS
    note = failed_note("root on the test machine", "its worker was killed")
    db = database(lab)
    assert db.write(lambda cursor: mark_failed(cursor, stuck, note)) is True
    marked = story(lab, stuck)
    assert marked.job.status_id == ERROR and marked.job.completed_at is not None
    words = "Marked failed by root on the test machine with atomctl-tui: its worker was killed"
    assert (True, (words,)) in [(n.is_error, n.content) for n in marked.notes]
    # Marked once: a second try changes nothing.
    assert db.write(lambda cursor: mark_failed(cursor, stuck, note)) is False
    assert story(lab, stuck).notes == marked.notes
    done = submit(lab, "arFindingAidJob", "--seconds", "0.1")
    before = wait_until(lambda: finished(lab, done), what="the job to complete")
    assert db.write(lambda cursor: mark_failed(cursor, done, note)) is False
    assert story(lab, done) == before  # the finished job is not touched


def test_over_host_through_the_ssh_master(lab: LabState):
    job_id = submit(lab, "arFindingAidJob", "--seconds", "0.1")
    wait_until(lambda: finished(lab, job_id), what="the job to end")
    result = jobs_over_ssh(lab, "--json")
    assert result.returncode == 0, result.stderr
    (site,) = json.loads(result.stdout)["sites"]
    assert site["host"] == f"127.0.0.1:{lab.ssh_port}" and site["error"] is None
    assert job_id in {job["id"] for job in site["jobs"]}
    settings = read_local_settings(lab.paths.atom_root)
    assert settings.password not in result.stdout + result.stderr


def test_no_tls_over_a_unix_socket(lab: LabState):
    """A socket, here or at the end of an SSH forward, is private already: PyMySQL neither
    offers TLS over it nor loads the system's CA certificates for it at each connect."""
    settings = read_local_settings(lab.paths.atom_root)
    path = f"/proc/{lab.pid}/root/run/mysqld/mysqld.sock"  # (/var/run would lead out of it)
    connection = open_connection(settings, Endpoint("the lab's socket", unix_socket=path))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
        assert connection.ssl is False
    finally:
        connection.close()


def jobs_over_ssh(lab: LabState, *args: str) -> subprocess.CompletedProcess[str]:
    """`atomctl-tui jobs` from outside the lab, the lab as a remote host (its sshd)."""
    argv = [
        CLI, "jobs", "--host", f"root@127.0.0.1:{lab.ssh_port}",
        "--ssh-config", str(client_config_path()), "--atom-root", str(lab.paths.atom_root), *args,
    ]  # fmt: skip
    environ = {**os.environ, **_env(NO_CONFIG)}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=environ)


def test_status_json_gains_the_job_summary(lab: LabState):
    argv = ["env", NO_CONFIG, CLI, "status", "--json", "--atom-root", str(lab.paths.atom_root),
            "--gearman", lab.gearman_server]  # fmt: skip
    result = subprocess.run(lab.nsenter(*argv), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    (site,) = document["atom_jobs"]
    assert site["error"] is None and site["summary"]["in_progress"] >= 0
    assert document["servers"][0]["reachable"]


def test_no_database_is_said_in_words(lab: LabState):
    inside(lab, "systemctl", "stop", "mariadb.service")
    try:
        result = jobs_in_lab(lab)
        assert result.returncode == 2
        assert result.stdout.strip() == (
            f"{_host(lab)}: {lab.paths.atom_root}: database not read: no database server at"
            f" socket {DEFAULT_SOCKET} (no such socket: is MariaDB running?)"
        )
        # Everything else in status works as before.
        argv = ["env", NO_CONFIG, CLI, "status", "--json", "--atom-root",
                str(lab.paths.atom_root), "--gearman", lab.gearman_server]  # fmt: skip
        status = subprocess.run(lab.nsenter(*argv), capture_output=True, text=True, timeout=60)
        assert status.returncode == 0
        document = json.loads(status.stdout)
        assert document["servers"][0]["reachable"]
        assert document["atom_jobs"][0]["error"].startswith("no database server at socket")
        # Over SSH the forward accepts, then finds nothing at the far end.
        remote = jobs_over_ssh(lab)
        assert remote.returncode == 2
        assert remote.stdout.strip() == (
            f"127.0.0.1:{lab.ssh_port}: {lab.paths.atom_root}: database not read: no database"
            f" server answers at socket {DEFAULT_SOCKET} on 127.0.0.1:{lab.ssh_port} (is MariaDB"
            " running there?)"
        )
    finally:
        inside(lab, "systemctl", "start", "mariadb.service")
    assert jobs_in_lab(lab).returncode == 0


@pytest.fixture
def config_php(lab: LabState) -> Iterator[Path]:
    """The lab's config.php, put back as it was after the test."""
    path = lab.paths.atom_root / "config" / "config.php"
    text, info = path.read_bytes(), path.stat()
    yield path
    path.write_bytes(text)
    os.chown(path, info.st_uid, info.st_gid)
    path.chmod(info.st_mode)


def test_a_wrong_password_is_said_in_words(lab: LabState, config_php: Path):
    right = read_local_settings(lab.paths.atom_root).password
    config_php.write_text(config_php.read_text().replace(right, "not-the-password"))
    result = jobs_in_lab(lab)
    assert result.returncode == 2
    assert result.stdout.strip() == (
        f"{_host(lab)}: {lab.paths.atom_root}: database not read: access denied for user"
        f" 'atom' at socket {DEFAULT_SOCKET} (the password in {config_php} is not accepted)"
    )
    assert "not-the-password" not in result.stdout + result.stderr


def test_an_unreadable_config_php_is_said_in_words(lab: LabState, config_php: Path):
    assert (config_php.stat().st_mode & 0o777, config_php.group()) == (0o640, "www-data")
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # as nobody, who is not in www-data
        os.close(reader)
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            local_database(lab.paths.atom_root).read(lambda cursor: None)
            words = "read it"
        except AtomDbError as exc:
            words = str(exc)
        os.write(writer, words.encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        words = pipe.read()
    os.waitpid(child, 0)
    assert words == (
        f"{config_php} cannot be read by nobody (permission denied); readable by root and"
        " members of group www-data (mode 0640)"
    )


def _host(lab: LabState) -> str:
    return inside(lab, "hostname").strip()


def _env(assignment: str) -> dict[str, str]:
    key, _, value = assignment.partition("=")
    return {key: value}
