"""Parsing gearmand admin replies, on output captured from gearman-job-server 1.1.20."""

from __future__ import annotations

from pathlib import Path

from atomctl_tui.gearman_admin import WorkerConnection, parse_workers_line

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
