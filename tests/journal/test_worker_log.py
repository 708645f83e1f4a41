"""A worker's journal lines as events: AtoM 2.9's own lines and the prefixed form."""

from __future__ import annotations

import pytest

from atomctl_tui.journal.worker_log import WorkerEventKind as Kind
from atomctl_tui.journal.worker_log import parse_worker_line, split_stamp

# What AtoM 2.9's jobs:worker prints for one job that goes well (arBaseJob::run, through
# jobWorkerTask::log), as journald keeps it in MESSAGE.
ATOM_JOB = [
    "2024-05-02 10:15:01 > Job started.",
    '2024-05-02 10:15:01 > Parameters: {"objectId":"12","name":"arFindingAidJob",'
    '"description":"Generating finding aid for: Fonds A","id":37864}',
    "2024-05-02 10:15:09 > Job finished.",
    "2024-05-02 10:15:09 > Jobs completed: 4",
]


def test_the_stamp_is_split_off():
    assert split_stamp("2024-05-02 10:15:01 > Job started.") == (
        "2024-05-02 10:15:01",
        "Job started.",
    )
    assert split_stamp("Job started.") == (None, "Job started.")
    assert split_stamp("2024-05-02 10:15 > not a stamp") == (None, "2024-05-02 10:15 > not a stamp")


def test_atom_form_job_lines():
    events = [parse_worker_line(line) for line in ATOM_JOB]
    assert [e.kind for e in events] == [
        Kind.JOB_STARTED,
        Kind.JOB_PARAMETERS,
        Kind.JOB_FINISHED,
        Kind.JOBS_COMPLETED,
    ]
    assert events[0].stamp == "2024-05-02 10:15:01" and events[0].text == "Job started."
    assert (events[0].job_id, events[0].job_name) == (None, None)  # AtoM's line has no id
    assert (events[1].job_id, events[1].job_name) == ("37864", "arFindingAidJob")
    assert events[3].detail == "4"


def test_prefixed_form_job_lines():
    started = parse_worker_line('2024-05-02 10:15:01 > Job 37864 "arFindingAidJob": Job started.')
    assert started.kind is Kind.JOB_STARTED
    assert (started.job_id, started.job_name) == ("37864", "arFindingAidJob")
    assert started.text == "Job started."
    finished = parse_worker_line('2024-05-02 10:15:09 > Job 37864 "arFindingAidJob": Job finished.')
    assert (finished.kind, finished.job_id) == (Kind.JOB_FINISHED, "37864")
    own = parse_worker_line('2024-05-02 10:15:03 > Job 37864 "Export: CSV": Exporting 12 rows')
    assert (own.kind, own.job_name, own.text) == (Kind.JOB_LINE, "Export: CSV", "Exporting 12 rows")
    # The prefix wins over the parameters.
    params = parse_worker_line('2024-05-02 10:15:01 > Job 5 "x": Parameters: {"id":6,"name":"y"}')
    assert (params.kind, params.job_id, params.job_name) == (Kind.JOB_PARAMETERS, "5", "x")


def test_failures():
    exception = parse_worker_line(
        "2024-05-02 10:16:00 > Exception: SQLSTATE[HY000] [2002] Connection refused"
    )
    assert exception.kind is Kind.JOB_EXCEPTION
    assert exception.detail == "SQLSTATE[HY000] [2002] Connection refused"
    assert (
        parse_worker_line(
            "2024-05-02 10:16:00 > File: /usr/share/nginx/atom/lib/job/arFindingAidJob.class.php"
        ).kind
        is Kind.JOB_EXCEPTION_WHERE
    )
    assert parse_worker_line("2024-05-02 10:16:00 > Line: 142").kind is Kind.JOB_EXCEPTION_WHERE
    failed = parse_worker_line(
        "2024-05-02 10:16:00 > Job failed: Called a Gearman worker with an invalid QubitJob id."
    )
    assert (failed.kind, failed.detail) == (
        Kind.JOB_FAILED,
        "Called a Gearman worker with an invalid QubitJob id.",
    )
    retries = parse_worker_line(
        "2024-05-02 10:16:00 > Maximum retries reached (10). Please, try to launch the job again"
        " when other sensitive jobs are finished or contact an administrator"
    )
    assert retries.kind is Kind.JOB_RETRIES_EXHAUSTED


@pytest.mark.parametrize(
    ("line", "kind", "detail"),
    [
        (
            "2024-05-02 10:00:00 > New ability: arFindingAidJob",
            Kind.ABILITY_REGISTERED,
            "arFindingAidJob",
        ),
        (
            "2024-05-02 10:00:00 > Ability not defined: qtSwordPluginWorker. Please ensure the job"
            " is in the lib/task/job directory or that the plugin is enabled.",
            Kind.ABILITY_NOT_DEFINED,
            "qtSwordPluginWorker",
        ),
        ("2024-05-02 10:00:00 > Running worker...", Kind.WORKER_RUNNING, ""),
        ("2024-05-02 10:00:00 > PID 4242", Kind.WORKER_PID, "4242"),
        ("2024-05-02 10:00:00 > Job worker termination requested.", Kind.STOP_REQUESTED, "SIGTERM"),
        (
            "2024-05-02 10:00:00 > Job worker termination requested by user.",
            Kind.STOP_REQUESTED,
            "SIGINT",
        ),
        ("2024-05-02 10:00:00 > Job worker hang up requested.", Kind.STOP_REQUESTED, "SIGHUP"),
        ("2024-05-02 10:00:00 > Job worker quit requested.", Kind.STOP_REQUESTED, "SIGQUIT"),
        ("2024-05-02 10:00:00 > Job worker stopped.", Kind.WORKER_STOPPED, ""),
        (
            "2024-05-02 10:00:00 > Max job count reached: 10 jobs completed.",
            Kind.LIMIT_REACHED,
            "Max job count reached: 10 jobs completed.",
        ),
        (
            "2024-05-02 10:00:00 > Worker shutting down - max-mem-usage reached.",
            Kind.LIMIT_REACHED,
            "Worker shutting down - max-mem-usage reached.",
        ),
        (
            "2024-05-02 10:00:00 > Worker will shut down after 10 jobs have completed.",
            Kind.OTHER,
            "",
        ),
        ("PHP Warning:  Undefined index: foo", Kind.OTHER, ""),
    ],
)
def test_worker_lines(line, kind, detail):
    event = parse_worker_line(line)
    assert (event.kind, event.detail) == (kind, detail)


def test_parameters_cut_short_still_give_id_and_name():
    line = (
        '2024-05-02 10:15:01 > Parameters: {"name":"arFileImportJob","id":"91","file":"' + "x" * 50
    )
    event = parse_worker_line(line)
    assert (event.job_id, event.job_name) == ("91", "arFileImportJob")


def test_hostile_parameters_are_made_safe_and_bounded():
    # JSON escapes can spell control characters the journal's cleaning removed.
    event = parse_worker_line('Parameters: {"id":1,"name":"evil\\u001b[31mred\\u202e","x":1}')
    assert event.job_name is not None
    assert event.job_name.isprintable()
    assert "\x1b" not in event.job_name and "\u202e" not in event.job_name
    long = parse_worker_line('Parameters: {"id":1,"name":"' + "n" * 5000 + '"}')
    assert long.job_name is not None and len(long.job_name) < 300
    assert parse_worker_line('Parameters: {"id":"1; rm","name":"x"}').job_id is None
    assert parse_worker_line('Parameters: {"id":' + "9" * 40 + ',"name":"x"}').job_id is None
    assert parse_worker_line("Parameters: [1, 2]").job_id is None
