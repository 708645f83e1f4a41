"""Queue rows, AtoM sites and alerts, built from replies captured from gearmand 1.1.20."""

from __future__ import annotations

from pathlib import Path

from atomctl_tui.atom import DEFAULT_WORKER_TYPES
from atomctl_tui.gearman.admin import parse_priority_line, parse_status_line
from atomctl_tui.gearman.queue_rows import (
    NO_CAPABLE_WORKER,
    NOT_ATOM,
    SERVER_UNREACHABLE,
    THIS_SITE,
    WAITING_WITHOUT_WORKER,
    build_queue_rows,
    find_alerts,
)
from atomctl_tui.gearman.snapshot import ServerSnapshot, join_functions
from atomctl_tui.gearman.trend import WaitingHistory, sparkline

FIXTURES = Path(__file__).parent / "fixtures"
# The captures come from a lab whose AtoM root has this prefix.
PREFIX = "1004a125d7221268b067376afed0386a-"
OTHER = "0123456789abcdef0123456789abcdef-"
ALL_CLASSES = [c for classes in DEFAULT_WORKER_TYPES.values() for c in classes]


def captured(name: str, parse) -> list:
    lines = (FIXTURES / name).read_text().splitlines()
    return [parse(line) for line in lines if line != "."]


def snapshot(extra_status: tuple[str, ...] = (), server: str = "127.0.0.1:4730"):
    """The captured moment: workers stopped, 3+2+1 jobs waiting, 18 functions known."""
    status = captured("gearmand-status.txt", parse_status_line)
    status += [parse_status_line(line) for line in extra_status]
    priorities = captured("gearmand-prioritystatus.txt", parse_priority_line)
    return ServerSnapshot(
        server=server,
        reachable=True,
        since=0.0,
        polled_at=0.0,
        functions=join_functions(status, priorities),
    )


def by_class(rows):
    return {row.job_class: row for row in rows}


def test_rows_strip_the_prefix_and_join_status_with_priorities():
    rows = by_class(
        build_queue_rows([snapshot()], site_prefix=PREFIX, worker_types=DEFAULT_WORKER_TYPES)
    )
    assert len(rows) == 18
    finding_aid = rows["arFindingAidJob"]
    assert (finding_aid.total, finding_aid.waiting, finding_aid.workers) == (3, 3, 0)
    assert (finding_aid.high, finding_aid.normal, finding_aid.low) == (3, 0, 0)
    assert (rows["arValidateCsvJob"].low, rows["qtSwordPluginWorker"].normal) == (2, 1)
    assert finding_aid.site == THIS_SITE
    assert finding_aid.function == PREFIX + "arFindingAidJob"
    assert rows["qtSwordPluginWorker"].description.startswith("Archivematica DIP upload")
    assert (finding_aid.worker_type, rows["qtSwordPluginWorker"].worker_type) == (
        "general",
        "sword",
    )


def test_other_sites_and_foreign_functions_are_grouped_not_mixed_in():
    extra = (f"{OTHER}arFindingAidJob\t4\t0\t1", "resize_image\t1\t0\t1")
    rows = build_queue_rows(
        [snapshot(extra)], site_prefix=PREFIX, worker_types=DEFAULT_WORKER_TYPES
    )
    sites = {(r.site, r.job_class) for r in rows if r.function in {e.split("\t")[0] for e in extra}}
    assert sites == {("site 012345", "arFindingAidJob"), (NOT_ATOM, "resize_image")}
    foreign = next(r for r in rows if r.job_class == "resize_image")
    assert (foreign.description, foreign.worker_type) == ("", "")


def test_waiting_without_worker_and_job_types_without_worker_are_alerts():
    snapshots = [snapshot()]
    rows = build_queue_rows(snapshots, site_prefix=PREFIX, worker_types=DEFAULT_WORKER_TYPES)
    alerts = find_alerts(snapshots, rows)
    waiting = {a.job_class for a in alerts if a.kind == WAITING_WITHOUT_WORKER}
    assert waiting == {"arFindingAidJob", "arValidateCsvJob", "qtSwordPluginWorker"}
    unserved = {a.job_class for a in alerts if a.kind == NO_CAPABLE_WORKER}
    assert unserved == set(ALL_CLASSES)
    message = next(a.message for a in alerts if a.job_class == "arFindingAidJob")
    assert message == "arFindingAidJob (this site): 3 waiting, no worker"


def test_a_served_job_type_raises_no_alert_even_on_another_server():
    served = ServerSnapshot(
        server="10.0.0.2:4730",
        reachable=True,
        since=0.0,
        polled_at=0.0,
        functions=join_functions([parse_status_line(f"{PREFIX}arFindingAidJob\t0\t0\t1")], []),
    )
    snapshots = [snapshot(), served]
    rows = build_queue_rows(
        snapshots, site_prefix=PREFIX, worker_types={"general": ["arFindingAidJob"]}
    )
    alerts = find_alerts(snapshots, rows)
    # Waiting on the first server with nobody there is still an outage for those jobs...
    assert [(a.kind, a.server) for a in alerts if a.job_class == "arFindingAidJob"] == [
        (WAITING_WITHOUT_WORKER, "127.0.0.1:4730")
    ]
    # ...but AtoM can queue the type: a worker somewhere can run it.
    assert not any(a.kind == NO_CAPABLE_WORKER for a in alerts)


def test_a_job_type_the_server_never_heard_of_gets_a_row_and_an_alert():
    rows = build_queue_rows(
        [snapshot()],
        site_prefix=PREFIX,
        worker_types={"general": ["arFindingAidJob"], "new": ["arNewJob"]},
    )
    new = by_class(rows)["arNewJob"]
    assert (new.total, new.workers, new.alerts) == (0, 0, (NO_CAPABLE_WORKER,))
    assert new.worker_type == "new"
    assert new.site == THIS_SITE


def test_no_site_known_means_no_job_type_alerts():
    snapshots = [snapshot()]
    rows = build_queue_rows(snapshots, site_prefix=None, worker_types=DEFAULT_WORKER_TYPES)
    assert {r.site for r in rows} == {"site 1004a1"}
    assert not any(a.kind == NO_CAPABLE_WORKER for a in find_alerts(snapshots, rows))


def test_an_unreachable_server_is_an_alert_and_has_no_rows():
    down = ServerSnapshot(
        server="10.0.0.9:4730", reachable=False, since=0.0, polled_at=0.0, error="no route"
    )
    rows = build_queue_rows([down], site_prefix=PREFIX, worker_types=DEFAULT_WORKER_TYPES)
    alerts = find_alerts([down], rows)
    assert rows == []
    assert [(a.kind, a.message) for a in alerts] == [
        (SERVER_UNREACHABLE, "10.0.0.9:4730 unreachable: no route")
    ]


def test_sparkline_scales_to_its_peak_and_leaves_zero_blank():
    assert sparkline([0, 1, 2, 4, 8]) == " ▁▂▄█"
    assert sparkline([0, 0]) == "  "
    assert sparkline([5, 5]) == "██"


def test_history_keeps_the_peak_per_bucket_and_forgets_vanished_functions():
    now = [1000.0]
    history = WaitingHistory(width=4, bucket_seconds=10, clock=lambda: now[0])
    for waiting in (2, 8, 4):  # three polls in one bucket: the peak counts
        history.record([("f", waiting), ("g", 0)])
    now[0] += 10
    history.record([("f", 4), ("g", 0)])
    assert history.line("f") == "  █▄"
    assert history.line("g") == "    "
    now[0] += 25  # two buckets without a poll: shown as nothing waiting, then time moves on
    history.record([("f", 1)])
    assert history.line("f") == "█▄ ▁"
    assert history.line("g") == "    "  # gone from the server: forgotten
    assert set(history._buckets) == {"f"}
    now[0] += 100
    assert history.line("f") == "█▄ ▁"  # as of the latest poll...
    history.record([("f", 0)])
    assert history.line("f") == "    "  # ...and time moved on with the next one


def served_on(server: str, *lines: str) -> ServerSnapshot:
    status = [parse_status_line(line) for line in lines]
    return ServerSnapshot(
        server=server,
        reachable=True,
        since=0.0,
        polled_at=0.0,
        functions=join_functions(status, []),
    )


def test_only_a_worker_on_the_server_atom_asks_counts():
    # AtoM asks the last server of its gearman.yml; a worker on the first does not help.
    first = served_on("10.0.0.1:4730", f"{PREFIX}arFindingAidJob\t0\t0\t1")
    asked = served_on("10.0.0.2:4730")
    worker_types = {"general": ["arFindingAidJob"]}
    rows = build_queue_rows(
        [first, asked], site_prefix=PREFIX, worker_types=worker_types, asked_server=asked.server
    )
    assert [(r.server, r.alerts) for r in rows] == [
        ("10.0.0.1:4730", ()),  # served here, but AtoM does not ask this server
        ("10.0.0.2:4730", (NO_CAPABLE_WORKER,)),  # the row is on the server AtoM asks
    ]
    alerts = find_alerts([first, asked], rows, asked.server)
    assert [(a.kind, a.server, a.message) for a in alerts] == [
        (
            NO_CAPABLE_WORKER,
            "10.0.0.2:4730",
            "arFindingAidJob: no worker can run it on 10.0.0.2:4730, the server AtoM asks;"
            " AtoM refuses to queue it",
        )
    ]
    # The other way round: a worker on the asked server is enough.
    rows = build_queue_rows(
        [first, asked], site_prefix=PREFIX, worker_types=worker_types, asked_server=first.server
    )
    assert not find_alerts([first, asked], rows, first.server)


def test_a_job_type_not_defined_on_this_site_is_no_alert_and_says_so():
    # A default site: qtSwordPluginWorker's plugin is off, its workers say "Ability not defined".
    served = [f"{PREFIX}{c}\t0\t0\t1" for c in ALL_CLASSES if c != "qtSwordPluginWorker"]
    snapshots = [served_on("127.0.0.1:4730", *served)]
    rows = by_class(
        build_queue_rows(
            snapshots,
            site_prefix=PREFIX,
            worker_types=DEFAULT_WORKER_TYPES,
            undefined={"qtSwordPluginWorker"},
        )
    )
    sword = rows["qtSwordPluginWorker"]
    assert (sword.alerts, sword.not_on_site) == ((), True)
    assert not find_alerts(snapshots, list(rows.values()))
    # Without the workers' word it is a missing worker, as before.
    rows = by_class(
        build_queue_rows(snapshots, site_prefix=PREFIX, worker_types=DEFAULT_WORKER_TYPES)
    )
    assert rows["qtSwordPluginWorker"].alerts == (NO_CAPABLE_WORKER,)
