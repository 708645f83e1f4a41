"""Each health finding made by a real fault in the lab, shown in the Health view (and fixed
from it where it offers a fix) and said by `atomctl-tui check` with the right exit status.

Against the shared lab, which every test puts back as booted.
"""

from __future__ import annotations

import shutil

import pytest

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.health.check import EXIT_CRITICAL, EXIT_OK, EXIT_WARNING
from atomctl_tui.health.findings import (
    HOST_DISCONNECTED,
    JOB_TYPE_NOT_ON_SITE,
    JOBS_NOT_TAKEN,
    NOT_REGISTERED,
    REGISTERED_ELSEWHERE,
    SERVER_UNREACHABLE,
    UNIT_FAILED,
    UNIT_RESTARTING,
    WAITING_GROWING,
    WAITING_WITHOUT_WORKER,
    Finding,
    Severity,
)
from atomctl_tui.health.monitor import HealthReport
from atomctl_tui.lab.machine import gearman_admin
from atomctl_tui.lab.ssh import client_config_path
from atomctl_tui.lab.state import LabState
from atomctl_tui.lab.two_labs import SSHD_UNIT
from atomctl_tui.ui.health.strip import HealthStrip
from tests.fleet.fleet_console import fleet_console
from tests.gearman_lab import (
    closed_port,
    gearadmin_table,
    lab_settings,
    queued_total,
    stop_workers,
    submit,
)
from tests.lab_units import BOOT_WORKERS, main_pid, restore_workers
from tests.labs import forget_atom_jobs, inside, lab_cli, unit_property
from tests.ui.conftest import MISPOINTED
from tests.ui.health_view import (
    QUICK_RULES,
    HealthView,
    check_in_lab,
    check_says,
    health_view_of,
    run_check,
)
from tests.ui.workers_console import SMALL_TERMINAL, RecordingApp, WorkersConsole
from tests.waiting import wait_until, wait_until_async

pytestmark = pytest.mark.lab

W1, W2 = BOOT_WORKERS
FAILING = "atom-worker@7.service"


@pytest.fixture
def shared_lab(lab: LabState):
    restore_workers(lab)
    forget_atom_jobs(lab)  # earlier tests' lost and failed jobs are not this test's findings
    yield lab
    inside(lab, "systemctl", "start", JOB_SERVER_UNIT)
    restore_workers(lab)
    wait_until(lambda: queued_total(lab) == 0, timeout=60, what="the lab's queues to drain")


def running(lab: LabState) -> int:
    return sum(numbers[1] for numbers in gearadmin_table(lab, "--status").values())


def console(lab: LabState, **settings) -> RecordingApp:
    return RecordingApp(lab.host(), settings=lab_settings(lab, **settings), health=QUICK_RULES)


async def take_the_fix(view: HealthView, finding: Finding, words: str, confirms: int) -> None:
    detail = await view.select(finding)
    assert f"⏎: {words}" in detail, detail
    await view.pilot.press("enter")
    workers = WorkersConsole(view.app, view.pilot)
    for _ in range(confirms):  # as in the Workers pane: a step on several units, or a restart
        await workers.answer(confirm=True)
    await view.wait_gone(finding.kind, unit=finding.unit)


async def test_a_healthy_lab_is_ok_on_the_strip_and_for_check(shared_lab):
    """The lab is a default AtoM site: qtSwordPluginWorker's plugin is not enabled, its
    workers log "Ability not defined" for it, and that is a note, never an alarm."""
    line = check_says(check_in_lab(shared_lab), EXIT_OK, "'arFindingAidJob workers'=2;;;0")
    assert line.startswith("ATOMCTL OK - 2 worker connections on 1 job server")
    assert "not on this site: qtSwordPluginWorker" in line
    app = console(shared_lab)
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        strip = app.query_one(HealthStrip)
        await wait_until_async(
            lambda: "checking" not in str(strip.render()), what="the first complete assessment"
        )
        assert "No problems found" in str(strip.render())
        view = HealthView(app, pilot)
        screen = await view.open()
        assert (await view.complete()).complete
        assert [f.kind for f in screen.findings.values()] == [JOB_TYPE_NOT_ON_SITE]


async def test_jobs_queued_with_every_worker_stopped_and_started_from_the_view(shared_lab):
    stop_workers(shared_lab)
    submit(shared_lab, "arFindingAidJob", 3, "normal")
    check_says(
        check_in_lab(shared_lab),
        EXIT_CRITICAL,
        "3 jobs of arFindingAidJob waiting, and no worker can run them",
        "'arFindingAidJob waiting'=3;;;0",
    )

    app = console(shared_lab)
    async with health_view_of(app) as view:
        finding = await view.wait_finding(WAITING_WITHOUT_WORKER)
        assert finding.severity is Severity.CRITICAL
        assert finding.problem.startswith("3 jobs of arFindingAidJob waiting")
        await take_the_fix(view, finding, "start atom-worker@1, atom-worker@2", 1)
    assert [unit_property(shared_lab, u, "ActiveState") for u in BOOT_WORKERS] == ["active"] * 2
    wait_until(lambda: queued_total(shared_lab) == 0, timeout=30, what="the jobs done")


async def test_workers_stopped_by_sigstop_take_no_job(shared_lab):
    """SIGSTOP keeps a worker's connection, so gearmand still counts it as able: jobs wait
    with workers > 0 and nothing running. The console sees it after a while (the rules'
    stalled_for); a one-shot check cannot, but --warn counts the waiting jobs."""
    stopped = [main_pid(shared_lab, unit) for unit in BOOT_WORKERS]
    inside(shared_lab, "kill", "-STOP", *map(str, stopped))  # pids of the lab's namespace
    try:
        submit(shared_lab, "arFindingAidJob", 2, "normal")
        check_says(
            check_in_lab(shared_lab, "--warn", "1", "--crit", "10"),
            EXIT_WARNING,
            "2 jobs of arFindingAidJob waiting (limit 1)",
            "'arFindingAidJob waiting'=2;1;10;0",
        )

        app = console(shared_lab)
        async with health_view_of(app) as view:
            finding = await view.wait_finding(JOBS_NOT_TAKEN)
            assert finding.severity is Severity.WARNING
            await take_the_fix(view, finding, "restart atom-worker@1, atom-worker@2", 1)
        wait_until(lambda: queued_total(shared_lab) == 0, timeout=30, what="the jobs done")
        assert all(main_pid(shared_lab, unit) not in stopped for unit in BOOT_WORKERS)
    finally:
        # The ones this test stopped, by pid (a restarted one is gone: kill says so, no harm).
        inside(shared_lab, "kill", "-CONT", *map(str, stopped), check=False)


async def test_a_worker_pointed_at_another_port(shared_lab, mispointed_worker):
    elsewhere = mispointed_worker.server
    # Watching the server gearman.yml names, the worker is registered nowhere.
    app = console(shared_lab)
    async with health_view_of(app) as view:
        finding = await view.wait_finding(NOT_REGISTERED, unit=MISPOINTED)
        detail = await view.select(finding)
        assert f"{MISPOINTED} is active (PID {mispointed_worker.pid})" in detail
        assert "⏎: restart atom-worker@7" in detail
    # Watching both servers, it is registered where gearman.yml does not say.
    app = console(shared_lab, servers=[shared_lab.gearman_server, elsewhere])
    async with health_view_of(app) as view:
        finding = await view.wait_finding(REGISTERED_ELSEWHERE, unit=MISPOINTED)
        assert f"registered on {elsewhere}" in finding.problem
        assert view.find(NOT_REGISTERED) is None

    # check has no history: the worker's own ActiveEnterTimestamp starts its grace.
    def checked(*args: str):
        result = check_in_lab(shared_lab, *args)
        return result if result.returncode == EXIT_WARNING else None

    result = wait_until(checked, timeout=30, what="check to say WARNING")
    assert f"{MISPOINTED} is active (PID {mispointed_worker.pid}) but registered on no job" in (
        result.stdout
    )
    both = ("--gearman", shared_lab.gearman_server, "--gearman", elsewhere)
    check_says(
        check_in_lab(shared_lab, *both), EXIT_WARNING, f"{MISPOINTED} is registered on {elsewhere}"
    )


async def test_a_worker_failing_three_times_is_shown_and_started_once_mended(shared_lab):
    dropin = shared_lab.paths.unit_dir / f"{FAILING}.d"
    dropin.mkdir()
    (dropin / "fail.conf").write_text(
        "[Service]\nExecStart=\nExecStart=/bin/sh -c 'echo failing on purpose; exit 3'\n"
    )
    try:
        inside(shared_lab, "systemctl", "daemon-reload")
        inside(shared_lab, "systemctl", "enable", FAILING)
        inside(shared_lab, "systemctl", "start", FAILING, check=False)
        # Restart=on-failure tries again until AtoM's start limit (3 a day) stops it.
        wait_until(
            lambda: unit_property(shared_lab, FAILING, "ActiveState") == "failed",
            timeout=30,
            what=f"{FAILING} failed",
        )
        problem = f"{FAILING} failed (exit-code, status 3) after 3 restarts"
        check_says(check_in_lab(shared_lab), EXIT_WARNING, problem)

        app = console(shared_lab)
        async with health_view_of(app) as view:
            finding = await view.wait_finding(UNIT_FAILED, unit=FAILING)
            assert finding.problem == f"{problem}."
            reports: list[HealthReport] = []
            unsubscribe = app.health_monitor.subscribe(reports.append)
            # The admin mends the cause, then takes the suggestion.
            shutil.rmtree(dropin)
            inside(shared_lab, "systemctl", "daemon-reload")
            await take_the_fix(view, finding, "reset-failed and start atom-worker@7", 0)
            assert unit_property(shared_lab, FAILING, "ActiveState") == "active"
            # reset-failed set NRestarts back to 0: no restart loop "from 0 to 0" after it
            # (it came in the very report that no longer had the unit failed).
            unsubscribe()
            assert not [
                f
                for r in reports
                for f in r.findings
                if (f.kind, f.unit) == (UNIT_RESTARTING, FAILING)
            ]
    finally:
        if dropin.exists():
            shutil.rmtree(dropin)
        inside(shared_lab, "systemctl", "daemon-reload")


async def test_a_worker_restarted_too_often_is_start_limit_hit(shared_lab):
    # AtoM's unit allows 3 starts a day (StartLimitBurst=3): the fourth restart is refused.
    for _ in range(3):
        inside(shared_lab, "systemctl", "restart", W2)
    inside(shared_lab, "systemctl", "restart", W2, check=False)
    assert unit_property(shared_lab, W2, "Result") == "start-limit-hit"
    problem = f"{W2} failed: started too often (start-limit-hit)"
    check_says(check_in_lab(shared_lab), EXIT_WARNING, problem)

    app = console(shared_lab)
    async with health_view_of(app) as view:
        finding = await view.wait_finding(UNIT_FAILED, unit=W2)
        assert finding.problem == f"{problem}."
        await take_the_fix(view, finding, "reset-failed and start atom-worker@2", 0)
    assert unit_property(shared_lab, W2, "ActiveState") == "active"


async def test_the_job_server_stopped_is_critical_and_started_from_the_view(shared_lab):
    inside(shared_lab, "systemctl", "stop", JOB_SERVER_UNIT)
    check_says(check_in_lab(shared_lab), EXIT_CRITICAL, f"unreachable: {JOB_SERVER_UNIT} on")

    app = console(shared_lab)
    async with health_view_of(app) as view:
        finding = await view.wait_finding(SERVER_UNREACHABLE)
        assert finding.severity is Severity.CRITICAL
        assert f"{JOB_SERVER_UNIT} on" in finding.problem and "is inactive" in finding.problem
        await take_the_fix(view, finding, "start gearman-job-server", 0)
    assert unit_property(shared_lab, JOB_SERVER_UNIT, "ActiveState") == "active"


async def test_a_job_server_address_nobody_answers_while_its_unit_is_active(shared_lab):
    nobody = f"127.0.0.1:{closed_port()}"  # on the lab's host, where gearmand listens elsewhere
    check_says(
        check_in_lab(shared_lab, "--gearman", nobody),
        EXIT_CRITICAL,
        f"Job server {nobody} does not answer (connection refused) while {JOB_SERVER_UNIT}",
    )
    async with health_view_of(console(shared_lab, servers=[nobody])) as view:
        finding = await view.wait_finding(SERVER_UNREACHABLE, server=nobody)
        assert "is active" in finding.problem and finding.fix is None
        assert "compare its --listen and --port" in await view.select(finding)


async def test_waiting_growing_while_every_worker_is_busy_gets_a_worker_added(shared_lab):
    """Both workers busy with long jobs; short ones queue behind them, more and more. A
    one-shot check cannot see growth (it has one sample); --warn counts the waiting jobs."""
    long_jobs = lab_cli("submit", "arFindingAidJob", "--count", "2", "--seconds", "600",
                        "--name", shared_lab.name).stdout.split()  # fmt: skip
    wait_until(lambda: running(shared_lab) == 2, what="both workers busy")
    try:
        submit(shared_lab, "arFindingAidJob", 1, "normal")
        check_says(
            check_in_lab(shared_lab, "--warn", "1"),
            EXIT_WARNING,
            "1 job of arFindingAidJob waiting (limit 1)",
        )
        async with health_view_of(console(shared_lab)) as view:
            await view.complete()
            submit(shared_lab, "arFindingAidJob", 2, "normal")
            finding = await view.wait_finding(WAITING_GROWING)
            assert finding.problem.startswith("Jobs of arFindingAidJob waiting grew from 1 to 3")
            await take_the_fix(view, finding, "add a worker on", 0)
        wait_until(lambda: queued_total(shared_lab) == 2, what="the short jobs done by @3")
        assert unit_property(shared_lab, "atom-worker@3.service", "ActiveState") == "active"
    finally:
        # A worker stopped mid-job gives its job back to gearmand, which queues it again
        # (docs/atom-worker.md): with the workers stopped, the long jobs are cancelled.
        stop_workers(shared_lab)
        for handle in long_jobs:
            gearman_admin(shared_lab.gearman_port, f"cancel job {handle}")
        restore_workers(shared_lab)


async def test_a_host_whose_sshd_stops_is_disconnected(shared_lab):
    host = f"root@127.0.0.1:{shared_lab.ssh_port}"
    over_ssh = ("--host", host, "--ssh-config", str(client_config_path()),
                "--atom-root", str(shared_lab.paths.atom_root))  # fmt: skip
    check_says(run_check(*over_ssh), EXIT_OK, "ATOMCTL OK")
    with fleet_console(list(over_ssh)) as app:
        async with health_view_of(app) as view:
            try:
                inside(shared_lab, "systemctl", "stop", SSHD_UNIT)
                finding = await view.wait_finding(HOST_DISCONNECTED)
                assert finding.severity is Severity.CRITICAL
                detail = await view.select(finding)
                assert f"No SSH connection to 127.0.0.1:{shared_lab.ssh_port}" in detail
                check_says(
                    run_check(*over_ssh),
                    EXIT_CRITICAL,
                    f"No SSH connection to 127.0.0.1:{shared_lab.ssh_port}",
                )
            finally:
                inside(shared_lab, "systemctl", "start", SSHD_UNIT)
            await view.wait_gone(HOST_DISCONNECTED)
