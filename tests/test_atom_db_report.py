"""`jobs` and `status`'s AtoM job figures: --since, the text table, and Prometheus' format."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from atomctl_tui.atom_db.jobs import COMPLETED, IN_PROGRESS, JobErrors, JobRow, JobsSummary
from atomctl_tui.atom_db.report import (
    SinceError,
    SiteJobs,
    duration_text,
    jobs_document,
    jobs_text,
    parse_since,
    site_json,
)
from atomctl_tui.atom_db.watch import JobsSnapshot
from atomctl_tui.cli import build_parser
from atomctl_tui.health.status_report import status_prometheus

NOW = datetime(2026, 12, 2, 15, 0, 0)


@pytest.mark.parametrize(
    ("text", "since"),
    [
        ("90m", timedelta(minutes=90)),
        ("2h", timedelta(hours=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w", timedelta(weeks=1)),
        ("45s", timedelta(seconds=45)),
        ("2026-12-01", datetime(2026, 12, 1)),
        ("2026-12-01 08:30", datetime(2026, 12, 1, 8, 30)),
        ("2026-12-01T08:30:15", datetime(2026, 12, 1, 8, 30, 15)),
    ],
)
def test_since(text: str, since: datetime | timedelta):
    assert parse_since(text) == since


@pytest.mark.parametrize("text", ["", "yesterday", "2h1d", "1.5h", "2026-13-01", "-1h"])
def test_a_bad_since_is_said(text: str):
    with pytest.raises(SinceError, match="neither a duration"):
        parse_since(text)


def test_bad_options_are_usage_errors(capsys: pytest.CaptureFixture[str]):
    for argv in (["jobs", "--since", "soon"], ["jobs", "--limit", "0"], ["jobs", "--status", "x"]):
        with pytest.raises(SystemExit) as exit:
            build_parser().parse_args(argv)
        assert exit.value.code == 1
    assert "'soon' is neither a duration" in capsys.readouterr().err


def job(job_id: int, status_id: int, **changes: object) -> JobRow:
    values: dict[str, object] = {
        "id": job_id,
        "name": "arFindingAidJob",
        "status_id": status_id,
        "user": "Command line",
        "slug": None,
        "queued_at": NOW - timedelta(minutes=10),
        "completed_at": None if status_id == IN_PROGRESS else NOW,
        "duration": timedelta(minutes=10),
    }
    values.update(changes)
    return JobRow(**values)  # type: ignore[arg-type]


SUMMARY = JobsSummary(
    now=NOW,
    in_progress=1,
    oldest_in_progress=job(7, IN_PROGRESS),
    errors_last_hour=(JobErrors('odd "name"\\x', 2, 9), JobErrors("arObjectMoveJob", 1, 8)),
)


def test_the_text_table():
    site = SiteJobs(
        "web1",
        "/srv/atom",
        JobsSnapshot(
            time.time(), (job(9, COMPLETED, slug="fonds-1"), job(7, IN_PROGRESS)), SUMMARY
        ),
    )
    unreadable = SiteJobs("web2", None, JobsSnapshot(time.time(), error="no database server"))
    assert jobs_text([site, unreadable]).splitlines() == [
        "web1: /srv/atom: 1 in progress (oldest: job 7 arFindingAidJob, 10 min), 3 errors in"
        " the last hour",
        "        ID STATUS      NAME                         USER           QUEUED             "
        " FINISHED                TOOK  SLUG",
        "         9 completed   arFindingAidJob              Command line   2026-12-02 14:50:00"
        " 2026-12-02 15:00:00   10 min  fonds-1",
        "         7 in progress arFindingAidJob              Command line   2026-12-02 14:50:00"
        " -                     10 min  -",
        "web2: no AtoM root: database not read: no database server",
    ]


def test_the_json_of_a_site():
    site = SiteJobs("web1", "/srv/atom", JobsSnapshot(1.0, (job(7, IN_PROGRESS),), SUMMARY))
    document = jobs_document([site], "2026-12-02T15:00:00+0000")
    assert document["sites"][0]["jobs"] == [
        {
            "id": 7,
            "name": "arFindingAidJob",
            "status": "in progress",
            "status_id": 183,
            "user": "Command line",
            "slug": None,
            "queued_at": "2026-12-02T14:50:00",
            "completed_at": None,
            "duration_seconds": 600,
        }
    ]
    summary = document["sites"][0]["summary"]
    assert summary["in_progress"] == 1 and summary["errors_last_hour"] == 3
    assert "jobs" not in site_json(site, with_jobs=False)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(4, "4 s"), (720, "12 min"), (3 * 3600 + 300, "3 h 05"), (2 * 86400 + 4 * 3600, "2 d 04 h")],
)
def test_durations(seconds: int, words: str):
    assert duration_text(timedelta(seconds=seconds)) == words


def test_prometheus_text():
    site = SiteJobs("web1", "/srv/atom", JobsSnapshot(1.0, (), SUMMARY))
    down = SiteJobs("web2", None, JobsSnapshot(1.0, error="access denied"))
    document = {
        "servers": [
            {
                "server": "127.0.0.1:4730",
                "reachable": True,
                "totals": {"queued": 3, "running": 1, "waiting": 2, "workers": 2},
                "functions": [
                    {
                        "function": "abc-arFindingAidJob",
                        "job_class": "arFindingAidJob",
                        "waiting": 2,
                        "running": 1,
                        "workers": 2,
                    }
                ],
            },
            {"server": "10.0.0.9:4730", "reachable": False},
        ],
        "units": {
            "host": "web1",
            "units": [
                {"unit": "atom-worker@1.service", "active_state": "active"},
                {"unit": "atom-worker@2.service", "active_state": "failed"},
            ],
        },
        "atom_jobs": [site_json(site, with_jobs=False), site_json(down, with_jobs=False)],
    }
    lines = status_prometheus(document).splitlines()
    assert lines[:3] == [
        "# HELP atomctl_gearman_server_up 1 when the job server answered its admin protocol",
        "# TYPE atomctl_gearman_server_up gauge",
        'atomctl_gearman_server_up{server="127.0.0.1:4730"} 1',
    ]
    samples = [line for line in lines if not line.startswith("#")]
    assert samples == [
        'atomctl_gearman_server_up{server="127.0.0.1:4730"} 1',
        'atomctl_gearman_server_up{server="10.0.0.9:4730"} 0',
        'atomctl_gearman_queued_jobs{server="127.0.0.1:4730"} 3',
        'atomctl_gearman_running_jobs{server="127.0.0.1:4730"} 1',
        'atomctl_gearman_waiting_jobs{server="127.0.0.1:4730"} 2',
        'atomctl_gearman_worker_connections{server="127.0.0.1:4730"} 2',
        'atomctl_gearman_function_waiting_jobs{server="127.0.0.1:4730",'
        'function="abc-arFindingAidJob",job_class="arFindingAidJob"} 2',
        'atomctl_gearman_function_running_jobs{server="127.0.0.1:4730",'
        'function="abc-arFindingAidJob",job_class="arFindingAidJob"} 1',
        'atomctl_gearman_function_workers{server="127.0.0.1:4730",'
        'function="abc-arFindingAidJob",job_class="arFindingAidJob"} 2',
        'atomctl_unit_active{host="web1",unit="atom-worker@1.service"} 1',
        'atomctl_unit_active{host="web1",unit="atom-worker@2.service"} 0',
        'atomctl_atom_database_up{host="web1"} 1',
        'atomctl_atom_database_up{host="web2"} 0',
        'atomctl_atom_jobs_in_progress{host="web1"} 1',
        'atomctl_atom_jobs_oldest_in_progress_seconds{host="web1"} 600',
        'atomctl_atom_jobs_failed_last_hour{host="web1"} 3',
        'atomctl_atom_jobs_failed_last_hour_by_name{host="web1",name="odd \\"name\\"\\\\x"} 2',
        'atomctl_atom_jobs_failed_last_hour_by_name{host="web1",name="arObjectMoveJob"} 1',
    ]
    # Each metric's HELP and TYPE once, before its samples.
    types = [line.split()[2] for line in lines if line.startswith("# TYPE ")]
    assert len(types) == len(set(types)) == 14
