"""The `/` filter's job:ID and -C N forms, and which job each worker line belongs to."""

from __future__ import annotations

import pytest

from atomctl_tui.journal.entries import JournalEntry
from atomctl_tui.journal.line_filter import FilterError, parse_filter
from atomctl_tui.ui.journal.job_lines import JobLines


def test_job_filter_matches_the_job_id_only():
    job = parse_filter("job:37864")
    assert job is not None and job.job_id == "37864" and job.context == 0
    assert job.matches("atom-worker@1", "Job started.", "37864")
    assert not job.matches("atom-worker@1", "job:37864 in words", None)
    assert not job.matches("atom-worker@1", "Job started.", "378640")
    assert parse_filter("JOB: #12").job_id == "12"  # type: ignore[union-attr]
    assert parse_filter("job:abc").job_id is None  # type: ignore[union-attr]  (text)


def test_context_before_text_regex_or_job():
    text = parse_filter("-C 3 Job failed")
    assert text is not None and text.context == 3 and text.matches("x", "a JOB FAILED: b")
    assert not text.matches("x", "-C 3 Job")  # the -C part is not matched
    regex = parse_filter("-C2 /worker@[12]$/")
    assert regex is not None and regex.context == 2 and regex.matches("atom-worker@2", "")
    job = parse_filter("-C 1 job:5")
    assert job is not None and (job.context, job.job_id) == (1, "5")
    assert parse_filter("-Cfoo").context == 0  # type: ignore[union-attr]  (text)
    with pytest.raises(FilterError, match="at most 50"):
        parse_filter("-C 51 x")
    with pytest.raises(FilterError, match="needs something to match"):
        parse_filter("-C 3 ")


def line(n: int, message: str, pid: str = "38", unit: str = "atom-worker@1.service"):
    stamped = message if pid == "1" else f"2026-12-02 14:13:{n:02d} > {message}"
    return JournalEntry(f"c{n}", n, 6, unit, None, pid, "vm", stamped)


def jobs_of(lines: list[JournalEntry]) -> list[str | None]:
    job_lines = JobLines()
    for entry in lines:
        job_lines.take(entry)
    return [job_lines.job_of(entry) for entry in lines]


def test_a_job_killed_mid_way_keeps_systemds_lines_and_not_the_next_process():
    lines = [
        line(1, "Running worker..."),
        line(2, "Job started."),
        line(3, 'Parameters: {"name":"arFindingAidJob","id":37864}'),
        line(4, "Job started.", pid="40", unit="atom-worker@2.service"),  # another worker
        line(5, "Indexing 12 descriptions"),
        line(6, "atom-worker@1.service: Main process exited, code=killed", pid="1"),
        line(7, "atom-worker@1.service: Failed with result 'signal'.", pid="1"),
        line(8, "Started atom-worker@1.service - AtoM worker 1.", pid="1"),
        line(9, "Running worker...", pid="52"),
    ]
    assert jobs_of(lines) == [None, "37864", "37864", None, "37864", "37864", "37864", None, None]


def test_a_job_ends_at_jobs_completed_or_the_next_start():
    lines = [
        line(1, "Job started."),
        line(2, 'Parameters: {"name":"arObjectMoveJob","id":7}'),
        line(3, "Job finished."),
        line(4, "Jobs completed: 1"),
        line(5, "Max job count reached: 1 jobs completed."),
        line(6, "Job started."),
        line(7, 'Parameters: not json, "id":8'),
        line(8, "Job started."),  # the one before never ended: this is another
        line(9, "Job failed: Called a Gearman worker with an invalid QubitJob id."),
    ]
    assert jobs_of(lines) == ["7", "7", "7", "7", None, "8", "8", None, None]
