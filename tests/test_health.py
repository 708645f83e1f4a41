"""Health findings from lab moments captured for real (tests/fixtures/health/*.json: each
says how its fault was made; units as the console's UnitWatch read them over D-Bus, gearmand's
replies as gearadmin printed them)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from atomctl_tui.atom import DEFAULT_WORKER_TYPES, WORKER_UNIT_PATTERNS
from atomctl_tui.gearman.admin import parse_priority_line, parse_status_line, parse_workers_line
from atomctl_tui.gearman.queue_rows import build_queue_rows
from atomctl_tui.gearman.snapshot import ServerSnapshot, join_functions
from atomctl_tui.health.check import EXIT_CRITICAL, EXIT_OK, EXIT_WARNING, plugin_result
from atomctl_tui.health.findings import (
    HOST_DISCONNECTED,
    JOB_TYPE_NOT_ON_SITE,
    JOBS_FAILED,
    JOBS_NOT_TAKEN,
    MAX_JOB_COUNT,
    NO_CAPABLE_WORKER,
    NOT_REGISTERED,
    QUEUE_LONG,
    REGISTERED_ELSEWHERE,
    SERVER_UNREACHABLE,
    UNIT_FAILED,
    UNIT_NOT_RUNNING,
    UNIT_RESTARTING,
    WAITING_GROWING,
    WAITING_WITHOUT_WORKER,
    HealthInputs,
    HealthRules,
    HostView,
    Severity,
)
from atomctl_tui.health.tracker import HealthTracker
from atomctl_tui.health.unit_rules import server_key
from atomctl_tui.journal.worker_activity import ActivitySnapshot, FailedJob
from atomctl_tui.remote.ssh_link import LinkState, LinkStatus
from atomctl_tui.systemd.actions import Action
from atomctl_tui.systemd.bus import ConnectionStatus
from atomctl_tui.systemd.units import UnitState

SCENES = Path(__file__).parent / "fixtures" / "health"
HOST = "lab"
MAIN = "127.0.0.1:4730"
ELSEWHERE = "127.0.0.1:14730"
W1, W2, W3 = (f"atom-worker@{n}.service" for n in (1, 2, 3))


def load(name: str) -> dict:
    return json.loads((SCENES / f"{name}.json").read_text())


def snapshot(server: str, entry: dict, at: float) -> ServerSnapshot:
    if "unreachable" in entry:
        return ServerSnapshot(
            server, reachable=False, since=at - 30, polled_at=at, error=entry["unreachable"]
        )
    status = [parse_status_line(line) for line in entry["status"] if line != "."]
    priorities = [parse_priority_line(line) for line in entry["prioritystatus"] if line != "."]
    functions = join_functions(status, priorities)
    return ServerSnapshot(
        server,
        reachable=True,
        since=at - 600,
        polled_at=at,
        functions=functions,
        connections=tuple(parse_workers_line(line) for line in entry["workers"] if line != "."),
        total=sum(f.total for f in functions),
        running=sum(f.running for f in functions),
        waiting=sum(f.waiting for f in functions),
    )


def scene(
    name: str,
    *,
    watched: tuple[str, ...] = (MAIN,),
    units: dict[str, UnitState] | None = None,
    link: LinkStatus | None = None,
    at: float | None = None,
) -> HealthInputs:
    """The captured moment as the console sees it, watching ``watched`` (the lab's
    gearman.yml names 127.0.0.1:4730)."""
    doc = load(name)
    now = doc["captured_at"] if at is None else at
    states = {n: UnitState(**fields) for n, fields in doc["units"].items()}
    host = HostView(
        HOST,
        units if units is not None else states,
        systemd=ConnectionStatus(True),
        link=link,
        gearman_servers=(MAIN,),
        can_add_worker=bool(doc["templates"]),
    )
    return HealthInputs(
        hosts=(host,),
        snapshots=tuple(snapshot(s, doc["servers"][s], now) for s in watched),
        site_prefix=doc["site_prefix"],
        worker_types=DEFAULT_WORKER_TYPES,
        worker_patterns=WORKER_UNIT_PATTERNS,
        server_hosts={MAIN: HOST},
        now=now,
    )


def once(inputs: HealthInputs, rules: HealthRules | None = None):
    """What `atomctl-tui check` finds: no history."""
    return HealthTracker(rules, history=False).assess(inputs)


def kinds(findings) -> list[str]:
    return [f.kind for f in findings]


def units_of(name: str) -> dict[str, UnitState]:
    return {n: UnitState(**fields) for n, fields in load(name)["units"].items()}


def test_a_healthy_lab_has_no_finding():
    assert once(scene("healthy")) == []
    assert HealthTracker().assess(scene("healthy")) == []


def test_workers_stopped_with_jobs_queued():
    findings = once(scene("workers-stopped"))
    assert kinds(findings) == [WAITING_WITHOUT_WORKER] * 2 + [NO_CAPABLE_WORKER]
    waiting = {f.subject: f for f in findings if f.kind == WAITING_WITHOUT_WORKER}
    assert waiting["arFindingAidJob"].problem == (
        "2 jobs of arFindingAidJob waiting, and no worker can run them."
    )
    assert waiting["qtSwordPluginWorker"].problem.startswith("1 job of qtSwordPluginWorker")
    unserved = findings[-1]
    assert unserved.severity is Severity.CRITICAL
    assert unserved.problem.startswith("18 AtoM job types without a capable worker:")
    assert "AtoM refuses to queue them" in unserved.problem
    # The enabled workers are started; atom-worker.service (installed, disabled) is not.
    for finding in findings:
        assert finding.fix is not None and finding.fix.host == HOST
        assert finding.fix.steps == ((Action.START, (W1, W2)),)
        assert finding.fix.words == "start atom-worker@1, atom-worker@2"


def test_the_job_server_stopped_says_its_unit_is_inactive_and_offers_to_start_it():
    (finding,) = [f for f in once(scene("gearman-stopped")) if f.kind == SERVER_UNREACHABLE]
    assert finding.severity is Severity.CRITICAL
    assert finding.problem == (
        "Job server 127.0.0.1:4730 unreachable: gearman-job-server.service on lab is inactive."
    )
    assert finding.fix.steps == ((Action.START, ("gearman-job-server.service",)),)
    assert finding.journal == "gearman-job-server.service"
    assert finding.since == load("gearman-stopped")["captured_at"] - 30  # the server's own


def test_a_job_server_that_does_not_answer_while_its_unit_is_active():
    # The lab's units as captured, with nothing listening where the console looks.
    inputs = scene("healthy")
    wrong = replace(inputs.snapshots[0], reachable=False, error="connection refused")
    findings = once(replace(inputs, snapshots=(wrong,)))
    assert kinds(findings) == [SERVER_UNREACHABLE]
    assert findings[0].problem == (
        "Job server 127.0.0.1:4730 does not answer (connection refused) while"
        " gearman-job-server.service on lab is active."
    )
    assert "PARAMS" in findings[0].advice and findings[0].fix is None
    # Every worker is unregistered then, but that is the server's doing: not said again.
    assert NOT_REGISTERED not in kinds(findings)


def test_start_limit_hit_offers_reset_failed_then_start():
    (finding,) = once(scene("start-limit-hit"))
    assert (finding.kind, finding.severity, finding.unit) == (UNIT_FAILED, Severity.WARNING, W2)
    assert finding.problem == f"{W2} failed: started too often (start-limit-hit)."
    # The words are the unit's own: unread in this capture, then as systemd says.
    assert "its unit's start limit is spent" in finding.advice
    units = units_of("start-limit-hit")
    read = replace(units[W2], start_limit_burst=3, start_limit_interval_us=86_400_000_000)
    (told,) = once(scene("start-limit-hit", units={**units, W2: read}))
    assert "its unit allows 3 starts in 24 h, restarts included" in told.advice
    assert finding.fix.steps == ((Action.RESET_FAILED, (W2,)), (Action.START, (W2,)))
    assert finding.fix.words == "reset-failed and start atom-worker@2"
    assert finding.since == load("start-limit-hit")["units"][W2]["state_since_us"] / 1e6


def test_a_unit_failing_three_times_is_failed_with_its_exit_status():
    (finding,) = once(scene("failed-exit-code"))
    assert finding.kind == UNIT_FAILED
    assert finding.problem == f"{W3} failed (exit-code, status 3) after 3 restarts."
    assert finding.journal == W3


def test_a_unit_caught_in_auto_restart_is_restarting():
    (finding,) = once(scene("restarting"))
    assert (finding.kind, finding.severity) == (UNIT_RESTARTING, Severity.WARNING)
    assert finding.problem == (
        f"{W3} is restarting: its last run ended (exit-code, status 3); NRestarts 0."
    )


def test_exit_111_is_the_max_job_count_and_not_an_error():
    findings = once(scene("max-job-count"))
    (note,) = [f for f in findings if f.unit == W3]
    assert (note.kind, note.severity) == (MAX_JOB_COUNT, Severity.INFO)
    assert "status 111" in note.problem and "not an error" in note.advice
    # AtoM's repository unit: Restart=no, no start limit — said as that unit does.
    units = units_of("max-job-count")
    bare = replace(units[W3], restart_policy="no", start_limit_burst=0, start_limit_interval_us=0)
    (told,) = [f for f in once(scene("max-job-count", units={**units, W3: bare})) if f.unit == W3]
    assert "Restart=no: nothing starts it again" in told.advice


def restart_loop(tracker: HealthTracker) -> list[tuple[HealthInputs, list]]:
    """The healthy lab with W1's NRestarts at 0, 1, then 2, a minute apart: each moment and
    what ``tracker`` finds in it."""
    states = units_of("healthy")
    start = load("healthy")["captured_at"]
    moments = []
    for minute, restarts in enumerate((0, 1, 2)):
        units = {**states, W1: replace(states[W1], restarts=restarts)}
        inputs = scene("healthy", units=units, at=start + 60 * minute)
        moments.append((inputs, tracker.assess(inputs)))
    return moments


def test_nrestarts_rising_is_a_loop_only_with_history():
    inputs, findings = restart_loop(HealthTracker())[-1]
    assert kinds(findings) == [UNIT_RESTARTING]
    assert findings[0].problem == (
        f"{W1} is restarting in a loop; NRestarts rose from 0 to 2 in the last 10m00s."
    )
    assert once(inputs) == []  # one look cannot see a rise


def test_a_loop_of_exits_111_is_a_note():
    """Once running again, a unit shows no exit status: the one seen in auto-restart counts."""
    tracker = HealthTracker()
    captured = units_of("max-job-count")
    at = load("max-job-count")["captured_at"]
    tracker.assess(scene("max-job-count", at=at))  # seen in auto-restart, status 111
    running = replace(
        captured[W3], active_state="active", sub_state="running", exit_status=0, result="success"
    )
    for minute, restarts in enumerate((1, 2), start=1):
        units = {**captured, W3: replace(running, restarts=restarts)}
        # No poll: only what systemd says counts here.
        inputs = replace(scene("max-job-count", units=units, at=at + 60 * minute), snapshots=None)
        findings = tracker.assess(inputs)
    # (The other workers were stopped for this moment: enabled, so said as not running.)
    assert [(f.kind, f.unit) for f in findings if f.unit == W3] == [(MAX_JOB_COUNT, W3)]


def test_a_stopped_worker_holding_its_connection_is_seen_only_with_time():
    """SIGSTOP: systemd says active/running, gearmand still counts the worker (2 capable,
    1 job running, 2 waiting): nothing wrong at first sight; with time, jobs not taken."""
    inputs = scene("sigstop")
    assert once(inputs) == []
    tracker = HealthTracker()
    assert tracker.assess(inputs) == []
    later = replace(inputs, now=inputs.now + 61)
    (finding,) = tracker.assess(later)
    assert (finding.kind, finding.severity) == (JOBS_NOT_TAKEN, Severity.WARNING)
    assert finding.problem == (
        "2 jobs of arFindingAidJob waiting for 1m01s, though gearmand counts 2 capable workers"
        " and only 1 job running."
    )
    assert finding.since == inputs.now
    assert finding.fix.steps == ((Action.RESTART, (W1, W2)),)  # the workers it names


def test_after_a_gearmand_restart_the_stopped_worker_is_not_registered():
    """gearmand restarted 10 s before the moment: for a minute that is the news (workers
    reconnect by themselves); then the worker that did not come back is a warning."""
    (finding,) = once(scene("sigstop-gearmand-restarted"))
    assert (finding.kind, finding.severity, finding.unit) == (NOT_REGISTERED, Severity.INFO, W2)
    assert finding.problem == (
        f"{W2} is active (PID 239) but not registered: the job server 127.0.0.1:4730"
        " restarted 10s ago."
    )
    assert "reconnect by themselves" in finding.advice
    assert "php symfony cc" not in finding.advice  # gearman.yml is not the cause
    assert finding.fix.steps == ((Action.RESTART, (W2,)),)
    at = load("sigstop-gearmand-restarted")["captured_at"]
    (later,) = once(scene("sigstop-gearmand-restarted", at=at + 60))
    assert (later.kind, later.severity) == (NOT_REGISTERED, Severity.WARNING)
    assert later.problem.endswith("restarted 1m10s ago.")
    assert "has not reconnected" in later.advice
    # With history, the console waits out the registration grace first.
    tracker = HealthTracker(HealthRules(registration_grace=10))
    inputs = scene("sigstop-gearmand-restarted")
    assert tracker.assess(inputs) == []
    assert kinds(tracker.assess(replace(inputs, now=inputs.now + 11))) == [NOT_REGISTERED]


def test_not_registered_without_a_job_server_restart_points_at_gearman_yml():
    """A worker that started after the job server did: gearman.yml or the cache is why."""
    inputs = scene("sigstop-gearmand-restarted")
    host = inputs.hosts[0]
    w2 = host.units[W2]
    late = replace(w2, active_since_us=host.units["gearman-job-server.service"].active_since_us + 1)
    units = {**host.units, W2: late}
    (finding,) = once(replace(inputs, hosts=(replace(host, units=units),), now=inputs.now + 11))
    assert (finding.kind, finding.severity) == (NOT_REGISTERED, Severity.WARNING)
    assert "php symfony cc" in finding.advice


def test_an_enabled_worker_stopped_past_the_grace_is_a_warning():
    at = load("workers-stopped")["captured_at"]
    assert UNIT_NOT_RUNNING not in kinds(once(scene("workers-stopped")))  # stopped 0.8 s ago
    findings = once(scene("workers-stopped", at=at + 11))
    stopped = [f for f in findings if f.kind == UNIT_NOT_RUNNING]
    assert [(f.unit, f.severity) for f in stopped] == [
        (W1, Severity.WARNING),
        (W2, Severity.WARNING),
    ]
    assert stopped[0].problem == f"{W1} is enabled but not running."
    assert stopped[0].fix.steps == ((Action.START, (W1,)),)
    # atom-worker.service is installed but disabled: not meant to run, nothing said.
    assert all(f.unit != "atom-worker.service" for f in findings)


def test_a_reset_counter_after_a_fix_is_no_restart_loop():
    """NRestarts 0, 1, 2 (a loop), then the Health view's fix: reset-failed sets it back to
    0 and the unit runs. No 'rose from 0 to 0'."""
    tracker = HealthTracker()
    moments = restart_loop(tracker)
    assert kinds(moments[-1][1]) == [UNIT_RESTARTING]
    inputs = moments[-1][0]
    states = units_of("healthy")
    reset = {**states, W1: replace(states[W1], restarts=0)}
    after_fix = replace(inputs, hosts=(replace(inputs.hosts[0], units=reset),), now=inputs.now + 60)
    assert tracker.assess(after_fix) == []


def test_a_worker_registered_on_another_server_than_gearman_yml_names():
    both = once(scene("registered-elsewhere", watched=(MAIN, ELSEWHERE)))
    assert kinds(both) == [REGISTERED_ELSEWHERE]
    assert both[0].problem == (
        "atom-worker@7.service is registered on 127.0.0.1:14730, but lab's gearman.yml names"
        " 127.0.0.1:4730."
    )
    # Watching only the server gearman.yml names, the same worker is simply not there —
    # once it has had the time to register (it was captured 1.5 s after its start).
    assert once(scene("registered-elsewhere")) == []
    started = load("registered-elsewhere")["units"]["atom-worker@7.service"]["active_since_us"]
    main_only = once(scene("registered-elsewhere", at=started / 1e6 + 11))
    assert [(f.kind, f.unit) for f in main_only] == [(NOT_REGISTERED, "atom-worker@7.service")]


def test_waiting_growing_while_every_worker_is_busy_offers_another_worker():
    tracker = HealthTracker()
    first = scene("busy")
    assert tracker.assess(first) == []
    later = scene("busy-later", at=first.now + 301)
    (finding,) = tracker.assess(later)
    assert (finding.kind, finding.severity) == (WAITING_GROWING, Severity.WARNING)
    assert finding.problem == (
        "Jobs of arFindingAidJob waiting grew from 3 to 6 in 5m01s, every capable worker busy"
        " all along."
    )
    assert finding.fix.steps == ((Action.ADD_WORKER, ()),) and finding.fix.host == HOST
    assert once(later) == []


def test_a_disconnected_host_says_so_and_nothing_about_its_units():
    lost = LinkStatus(LinkState.DISCONNECTED, "connection refused (is sshd running there?)", 4)
    inputs = scene("start-limit-hit", link=lost)
    host = replace(inputs.hosts[0], systemd=ConnectionStatus(False, "lost the connection"))
    findings = once(replace(inputs, hosts=(host,)))
    assert kinds(findings) == [HOST_DISCONNECTED]
    assert findings[0].problem == (
        "No SSH connection to lab: disconnected: connection refused (is sshd running there?);"
        " reconnecting in 4 s."
    )


def test_waiting_thresholds_of_the_check():
    at_two = HealthRules(waiting_warning=2, waiting_critical=5)
    long = [f for f in once(scene("workers-stopped"), at_two) if f.kind == QUEUE_LONG]
    assert [(f.subject, f.severity) for f in long] == [("arFindingAidJob", Severity.WARNING)]
    critical = HealthRules(waiting_warning=1, waiting_critical=2)
    long = [f for f in once(scene("workers-stopped"), critical) if f.kind == QUEUE_LONG]
    assert {(f.subject, f.severity) for f in long} == {
        ("arFindingAidJob", Severity.CRITICAL),
        ("qtSwordPluginWorker", Severity.WARNING),
    }


def test_a_finding_that_goes_away_and_comes_back_is_dated_afresh():
    tracker = HealthTracker()
    inputs = scene("workers-stopped")
    first = tracker.assess(inputs)[0]
    assert (first.kind, first.since) == (WAITING_WITHOUT_WORKER, inputs.now)  # first seen
    assert tracker.assess(replace(inputs, now=inputs.now + 5))[0].since == inputs.now
    assert tracker.assess(replace(scene("healthy"), now=inputs.now + 10)) == []
    again = tracker.assess(replace(inputs, now=inputs.now + 50))[0]
    assert again.since == inputs.now + 50


def test_findings_wait_on_time_only_while_a_condition_needs_it():
    """The console re-assesses unchanged inputs only while time alone could change the
    findings: when the tracker says none waits, a later look must find the same."""
    waits = {}
    for path in sorted(SCENES.glob("*.json")):
        tracker = HealthTracker(HealthRules(registration_grace=10))
        inputs = scene(path.stem)
        findings = tracker.assess(inputs)
        waits[path.stem] = tracker.waiting_on_time
        if not tracker.waiting_on_time:
            for later in (61, 301, 3600):
                assert tracker.assess(replace(inputs, now=inputs.now + later)) == findings, (
                    path.stem
                )
    # Jobs waiting while gearmand counts an idle worker (not taken, once it lasts), the
    # workers all busy (growth), a worker not registered on the watched server (its grace),
    # enabled workers stopped a moment ago (their grace).
    assert {name for name, waiting in waits.items() if waiting} == {
        "sigstop",
        "busy",
        "busy-later",
        "sigstop-gearmand-restarted",
        "registered-elsewhere",
        "max-job-count",
        "workers-stopped",
        "gearman-stopped",
    }, waits


def test_a_restart_loop_waits_on_time_until_its_rises_leave_the_window():
    tracker = HealthTracker()
    moments = restart_loop(tracker)
    assert [kinds(findings) for _inputs, findings in moments] == [[], [], [UNIT_RESTARTING]]
    assert tracker.waiting_on_time
    inputs = moments[-1][0]
    later = replace(inputs, now=inputs.now + tracker.rules.restart_window + 1)
    assert tracker.assess(later) == []
    assert not tracker.waiting_on_time


def test_server_addresses_compare_whatever_their_spelling():
    assert {server_key(s) for s in ("127.0.0.1:4730", "localhost:4730", "[::1]:4730")} == {
        "loopback:4730"
    }
    assert server_key("127.0.0.1:4730 via web1") == "loopback:4730"
    assert server_key("Gearman1") == "gearman1:4730"


def perfdata(line: str) -> dict[str, str]:
    """``'label'=value;warn;crit;min`` items (labels hold spaces: they are quoted)."""
    return dict(re.findall(r"'([^']*)'=(\S+)", line.split(" | ", 1)[1]))


def plugin(name: str, rules: HealthRules | None = None, **options):
    inputs = scene(name, **options)
    rules = rules or HealthRules()
    rows = build_queue_rows(
        inputs.snapshots, site_prefix=inputs.site_prefix, worker_types=DEFAULT_WORKER_TYPES
    )
    return plugin_result(once(inputs, rules), inputs.snapshots, rows, rules)


def test_the_plugin_line_of_a_healthy_lab():
    result = plugin("healthy")
    assert result.status == EXIT_OK
    assert result.line.split(" | ")[0] == (
        "ATOMCTL OK - 2 worker connections on 1 job server, 0 waiting"
    )
    values = perfdata(result.line)
    assert values["arFindingAidJob waiting"] == "0;;;0"
    assert values["arFindingAidJob workers"] == "2;;;0"
    assert len(values) == 18 * 3
    assert "\n" not in result.line


def test_the_plugin_line_of_a_fault_names_it_and_exits_by_severity():
    result = plugin("workers-stopped", HealthRules(waiting_warning=5, waiting_critical=10))
    assert result.status == EXIT_CRITICAL
    assert result.line.startswith(
        "ATOMCTL CRITICAL - 3 critical: 2 jobs of arFindingAidJob waiting, and no worker can"
        " run them; 1 job of qtSwordPluginWorker"
    )
    assert perfdata(result.line)["arFindingAidJob waiting"] == "2;5;10;0"
    assert plugin("start-limit-hit").status == EXIT_WARNING
    note = plugin("healthy", units=units_of("healthy") | {W3: units_of("max-job-count")[W3]})
    assert note.status == EXIT_OK and "status 111" in note.line


def test_perfdata_names_other_sites_and_servers_apart():
    values = perfdata(plugin("registered-elsewhere", watched=(MAIN, ELSEWHERE)).line)
    assert values["127.0.0.1:4730 arFindingAidJob workers"] == "2;;;0"
    # Another site's functions without work are summed, not listed one by one: the perfdata
    # stays bounded whatever the servers list (health.check.performance_data).
    assert not any(label.startswith("127.0.0.1:14730 ") for label in values)
    assert values["other functions"] == "22;;;0"


def test_only_the_server_atom_asks_counts_for_capable_workers():
    """AtoM asks the last server of gearman.yml whether a worker can take a job: workers
    registered on another watched server do not make the job types queueable."""
    inputs = scene("healthy")
    empty = ServerSnapshot(ELSEWHERE, reachable=True, since=inputs.now - 60, polled_at=inputs.now)
    both = replace(inputs, snapshots=(inputs.snapshots[0], empty))
    assert once(replace(both, asked_server=MAIN)) == []
    (finding,) = once(replace(both, asked_server=ELSEWHERE))
    assert (finding.kind, finding.server) == (NO_CAPABLE_WORKER, ELSEWHERE)
    assert finding.problem.endswith(
        "AtoM asks only 127.0.0.1:14730, the last server its gearman.yml names: a worker"
        " registered elsewhere does not count."
    )
    assert once(both) == []  # not known which one AtoM asks: any capable worker counts


def activity(**fields) -> dict[str, ActivitySnapshot]:
    return {HOST: ActivitySnapshot(HOST, **fields)}


def test_a_job_type_its_workers_do_not_define_is_a_note_not_a_missing_worker():
    """A default site: qtSwordPluginWorker's plugin is not enabled; its workers say so."""
    inputs = scene("healthy")
    prefix = inputs.site_prefix
    sword = f"{prefix}qtSwordPluginWorker"
    snapshot = inputs.snapshots[0]
    without_sword = tuple(f for f in snapshot.functions if f.function != sword)
    site = replace(inputs, snapshots=(replace(snapshot, functions=without_sword),))
    (missing,) = once(site)
    assert (missing.kind, missing.severity) == (NO_CAPABLE_WORKER, Severity.CRITICAL)
    undefined = {W1: ("qtSwordPluginWorker",), W2: ("qtSwordPluginWorker",)}
    (note,) = once(replace(site, activities=activity(undefined_abilities=undefined)))
    assert (note.kind, note.severity) == (JOB_TYPE_NOT_ON_SITE, Severity.INFO)
    assert note.problem.startswith("1 AtoM job type not on this site: qtSwordPluginWorker.")
    assert "so AtoM cannot queue it here" in note.problem


def test_jobs_failed_in_the_last_hour_are_a_warning_per_job_name():
    inputs = scene("healthy")
    failures = (
        FailedJob(W1, "225", inputs.now - 600, "Exception: no such file", "41", "arFileImportJob"),
        FailedJob(W2, "239", inputs.now - 60, "Exception: bad CSV", "42", "arFileImportJob"),
    )
    (finding,) = once(replace(inputs, activities=activity(failures=failures)))
    assert (finding.kind, finding.severity) == (JOBS_FAILED, Severity.WARNING)
    assert finding.problem == (
        "2 jobs of arFileImportJob failed in the last hour; job 42 on atom-worker@2:"
        " Exception: bad CSV"
    )
    assert (finding.journal, finding.host, finding.since) == (W2, HOST, inputs.now - 600)


def test_with_several_hosts_each_finding_of_the_check_names_its_host():
    inputs = scene("start-limit-hit")
    findings = once(inputs)
    rows = build_queue_rows(inputs.snapshots, site_prefix=inputs.site_prefix, worker_types={})
    line = plugin_result(findings, inputs.snapshots, rows, HealthRules(), several_hosts=True).line
    assert f"1 warning: {HOST}: {W2} failed: started too often" in line
    alone = plugin_result(findings, inputs.snapshots, rows, HealthRules()).line
    assert f"1 warning: {W2} failed" in alone
