"""The lab is real: systemd, gearmand, workers, journal and sshd behave as on an AtoM host."""

from __future__ import annotations

import json
import subprocess

import pytest

from atomctl_tui.atom import DEFAULT_WORKER_TYPES, site_prefix
from atomctl_tui.lab import ssh
from atomctl_tui.lab.layout import SITE_JOB_CLASSES
from atomctl_tui.lab.machine import gearman_admin
from atomctl_tui.lab.state import LabState
from atomctl_tui.lab.worker import JOB_CLASSES_FILE
from tests.labs import inside, lab_cli, unit_property
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

ALL_JOB_CLASSES = {c for classes in DEFAULT_WORKER_TYPES.values() for c in classes}


def queue_totals(lab: LabState) -> dict[str, int]:
    totals = {}
    for line in gearman_admin(lab.gearman_port, "status"):
        function, total, _running, _workers = line.split("\t")
        totals[function] = int(total)
    return totals


def journal(lab: LabState, *args: str) -> str:
    return inside(lab, "journalctl", "--no-pager", "-o", "cat", *args)


def test_lab_boots_running_with_no_failed_units(lab):
    assert inside(lab, "systemctl", "is-system-running").strip() == "running"
    failed = inside(lab, "systemctl", "list-units", "--failed", "--plain", "--no-legend")
    assert failed.strip() == ""


def test_lab_systemd_is_pid_1_of_its_own_namespace(lab):
    assert inside(lab, "cat", "/proc/1/comm").strip() == "systemd"
    assert inside(lab, "findmnt", "-no", "FSTYPE", "/tmp").strip() == "tmpfs"
    assert inside(lab, "findmnt", "-no", "FSTYPE", "/run").strip() == "tmpfs"


def test_gearmand_answers_version_on_the_lab_port(lab):
    assert gearman_admin(lab.gearman_port, "version")[0].startswith("OK 1.1")
    assert unit_property(lab, "gearman-job-server.service", "ActiveState") == "active"


def test_each_worker_unit_has_one_gearman_connection_with_its_pid(lab):
    prefix = site_prefix(lab.paths.atom_root)
    connections = [line.split() for line in gearman_admin(lab.gearman_port, "workers")]
    for index in (1, 2):
        unit = f"atom-worker@{index}.service"
        main_pid = unit_property(lab, unit, "MainPID")
        mine = [c for c in connections if c[2].startswith(f"pid_{main_pid}_")]
        assert len(mine) == 1, f"{unit} (MainPID {main_pid}): {connections}"
        functions = set(mine[0][4:])
        # A default site's classes: qtSwordPluginWorker's plugin is not enabled.
        assert functions == {prefix + job_class for job_class in SITE_JOB_CLASSES}
        assert "qtSwordPluginWorker" in ALL_JOB_CLASSES - set(SITE_JOB_CLASSES)


def test_submitted_jobs_are_processed_and_logged(failing_jobs_lab):
    lab = failing_jobs_lab  # one job fails: a finding for an hour in the main lab
    # The cursor of a worker line: --after-cursor with -u skips one matching entry when the
    # cursor's own entry does not match (systemd 252), e.g. after other tests' journal lines.
    cursor = inside(
        lab, "journalctl", "-n", "1", "--show-cursor", "--no-pager", "-u", "atom-worker@*"
    ).split()[-1]
    assert cursor.startswith("s=")
    handles = lab_cli(
        "submit", "--name", lab.name, "arFindingAidJob", "--count", "3", "--seconds", "0.2"
    ).stdout.split()
    failing = lab_cli(
        "submit", "--name", lab.name, "arFileImportJob", "--fail", "--priority", "high"
    ).stdout.split()
    assert len(handles) == 3 and len(failing) == 1
    wait_until(lambda: not any(queue_totals(lab).values()), what="the queues to drain")

    def logged() -> str:
        text = journal(lab, f"--after-cursor={cursor}", "-u", "atom-worker@*")
        return text if text.count("Job finished.") >= 3 and "Exception:" in text else ""

    # As AtoM's worker logs them: a job names itself only in its "Parameters:" line; an
    # exception inside a job is caught, logged, and the job completes for gearmand.
    text = wait_until(logged, what="the workers' log lines in the journal")
    assert text.count("Job started.") == 4
    assert text.count('"name":"arFindingAidJob"') == 3
    assert "Exception: " in text and '"name":"arFileImportJob"' in text
    assert "Jobs completed:" in text


def test_max_job_count_exits_111_and_systemd_restarts_the_worker(lab):
    unit = "atom-worker@9.service"
    only_this_worker = "arLabMaxJobCountProbe"  # a class no other worker of the lab has
    dropin = lab.paths.unit_dir / f"{unit}.d"
    dropin.mkdir()
    (dropin / "max-job-count.conf").write_text(
        "[Service]\nExecStart=\nExecStart=/usr/bin/python3 symfony jobs:worker"
        f" --abilities={only_this_worker} --max-job-count=1\n"
    )
    classes = lab.paths.atom_root / JOB_CLASSES_FILE
    site_classes = classes.read_text()
    classes.write_text(site_classes + f"{only_this_worker}\n")  # as if a plugin brought it
    try:
        inside(lab, "systemctl", "daemon-reload")
        inside(lab, "systemctl", "start", unit)
        first_pid = unit_property(lab, unit, "MainPID")
        prefix = site_prefix(lab.paths.atom_root)
        wait_until(
            lambda: any(
                f"pid_{first_pid}_" in line and line.endswith(prefix + only_this_worker)
                for line in gearman_admin(lab.gearman_port, "workers")
            ),
            what="the limited worker to register",
        )
        lab_cli("submit", "--name", lab.name, only_this_worker, "--seconds", "0.1")
        wait_until(lambda: unit_property(lab, unit, "NRestarts") == "1", what="a restart")
        text = journal(lab, "-o", "short", "-u", unit)
        assert "status=111" in text
        assert "Max job count reached" in text
        wait_until(lambda: unit_property(lab, unit, "ActiveState") == "active", what="active")
        assert unit_property(lab, unit, "MainPID") != first_pid
    finally:
        inside(lab, "systemctl", "stop", unit, check=False)
        classes.write_text(site_classes)
        for path in dropin.iterdir():
            path.unlink()
        dropin.rmdir()
        inside(lab, "systemctl", "daemon-reload")
        inside(lab, "systemctl", "reset-failed", unit, check=False)


def test_ssh_with_the_lab_config_sees_the_workers(lab):
    config = lab_cli("ssh-config").stdout.strip()
    assert config == str(ssh.client_config_path())
    result = subprocess.run(
        ["ssh", "-F", config, "-p", str(lab.ssh_port), "root@127.0.0.1", "--",
         "systemctl", "list-units", "atom-worker@*", "--plain", "--no-legend"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    units = [line.split()[0] for line in result.stdout.splitlines()]
    assert {"atom-worker@1.service", "atom-worker@2.service"} <= set(units)


def test_commands_over_ssh_leave_the_hosts_bashrc_alone(lab):
    """The lab shares /root with the host; bash started by the lab's sshd must not run the
    host's ~/.bashrc (SHLVL=1 from sshd makes this bash level 2, and bash reads ~/.bashrc
    for sshd only at level 1)."""
    result = subprocess.run(
        ["ssh", "-F", str(ssh.client_config_path()), "-p", str(lab.ssh_port), "root@127.0.0.1",
         "--", "echo", "$SHLVL"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"


def test_status_json_describes_the_lab(lab):
    info = json.loads(lab_cli("status", "--name", lab.name, "--json").stdout)
    assert info["pid"] == lab.pid
    assert info["gearman_server"] == f"127.0.0.1:{lab.gearman_port}"
    assert info["units"]["atom-worker@1.service"] == "active/running"
    assert info["units"]["gearman-job-server.service"] == "active/running"


def test_exec_runs_inside_the_lab(lab):
    result = lab_cli("exec", "--name", lab.name, "--", "systemctl", "is-active", "atom-worker@1")
    assert result.stdout.strip() == "active"


def test_up_on_a_running_lab_says_so(lab):
    result = lab_cli("up", "--name", lab.name, check=False)
    assert result.returncode == 1
    assert "already running" in result.stderr
