"""Parsing gearmand admin replies, on output captured from gearman-job-server 1.1.20."""

from __future__ import annotations

from pathlib import Path

from atomctl_tui.gearman.admin import (
    QueuedJob,
    WorkerConnection,
    parse_error_line,
    parse_job_line,
    parse_priority_line,
    parse_status_line,
    parse_unique_line,
    parse_workers_line,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_workers_reply_parses_connections_and_pids():
    lines = (FIXTURES / "gearmand-workers.txt").read_text().splitlines()
    parsed = [parse_workers_line(line) for line in lines]
    assert parsed[0] == WorkerConnection(fd=39, ip="127.0.0.1", client_id=None, functions=())
    assert parsed[1].pid == 45
    assert parsed[1].functions[1].endswith("-arFindingAidJob")
    assert parsed[2].pid == 44
    assert parsed[3] is None  # the terminating "."


def test_odd_lines_are_rejected_not_crashed_on():
    for line in ["", "garbage", "x 127.0.0.1 id : f", "1 2 3 4 : f", "\x1b[31m :"]:
        assert parse_workers_line(line) is None
    assert WorkerConnection(1, "::1", "pid_x_y", ()).pid is None


def reply_lines(name: str) -> list[str]:
    """A captured reply as the client sees it: lines without their end mark."""
    lines = (FIXTURES / name).read_bytes().decode().splitlines()
    assert lines[-1] == "."
    return lines[:-1]


def test_status_and_priority_replies_parse_every_function():
    status = [parse_status_line(line) for line in reply_lines("gearmand-status.txt")]
    priorities = [parse_priority_line(line) for line in reply_lines("gearmand-prioritystatus.txt")]
    assert None not in status and None not in priorities
    assert len(status) == len(priorities) == 18
    finding_aid = next(s for s in status if s.function.endswith("-arFindingAidJob"))
    assert (finding_aid.total, finding_aid.running, finding_aid.workers) == (3, 0, 0)
    assert finding_aid.waiting == 3
    csv = next(p for p in priorities if p.function.endswith("-arValidateCsvJob"))
    assert (csv.high, csv.normal, csv.low, csv.workers) == (0, 0, 2, 0)


def test_show_jobs_tells_queued_from_cancelled():
    jobs = [parse_job_line(line) for line in reply_lines("gearmand-show-jobs-cancelled.txt")]
    assert len(jobs) == 6
    cancelled = [j for j in jobs if j.ignored]
    assert cancelled == [QueuedJob(handle="H:vm:3", retries=0, ignored=True, queued=False)]
    assert all(j.queued and not j.ignored for j in jobs if j.handle != "H:vm:3")


def test_err_lines_decode_to_words():
    lines = (FIXTURES / "gearmand-errors.txt").read_bytes().decode().splitlines()
    errors = [parse_error_line(line) for line in lines]
    assert [e.code for e in errors] == ["UNKNOWN_JOB", "INVALID_ARGUMENTS", "UNKNOWN_COMMAND"]
    assert errors[1].text == "An incomplete set of arguments was sent to this command maxqueue"
    assert str(errors[2]) == "UNKNOWN_COMMAND: Unknown server commandbogus"
    assert parse_error_line("ERR x a%20b+c").text == "a b c"
    assert parse_error_line("OK 1.1.20+ds") is None
    assert parse_error_line("ERRATIC\t1\t0\t0") is None  # a function may be named so


def test_malformed_lines_are_rejected_not_crashed_on():
    for line in [
        "",
        "\t1\t2\t3",
        "f\t1\t2",
        "f\t1\t2\t3\t4",
        "f\t-1\t0\t0",
        "f\tx\t0\t0",
        "f\t١\t0\t0",
    ]:
        assert parse_status_line(line) is None, line
    assert parse_priority_line("f\t1\t2\t3") is None
    assert parse_job_line("H:x:1\t0\t2\t0") is None  # flags are 0 or 1
    assert parse_unique_line("has space") is None
