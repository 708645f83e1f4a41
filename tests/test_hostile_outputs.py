"""`status` and `check`'s outputs against a hostile gearmand: data, never terminal control;
an unusable reply is an error in words with the documented exit status; bounded perfdata."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from atomctl_tui.gearman.queue_rows import NOT_ATOM, THIS_SITE, QueueRow
from atomctl_tui.health.check import MAX_PERFDATA, performance_data
from atomctl_tui.health.findings import HealthRules
from atomctl_tui.health.status_report import EXIT_UNREACHABLE
from tests.test_gearman_admin_hostile import HOSTILE_REPLIES, hostile_gearmand

CLI = os.path.join(os.path.dirname(sys.executable), "atomctl-tui")


def status(port: int, *args: str, root: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": "/nonexistent/atomctl-tui-tests"}
    env.pop("ATOMCTL_TUI_CONFIG", None)
    return subprocess.run(
        [CLI, "status", "--gearman", f"127.0.0.1:{port}", "--atom-root", root, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_status_text_shows_hostile_names_as_data(tmp_path):
    replies = {**HOSTILE_REPLIES, b"status": "f\u202eoo\t5\t0\t0\n[/x]\x1b\t1\t0\t0\n.\n".encode()}
    with hostile_gearmand(replies) as port:
        result = status(port, root=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "gearmand 1.1.20red" in result.stdout
    assert "f\\u202eoo" in result.stdout
    assert "2 workers" in result.stdout  # the third `workers` line is malformed


def test_status_json_carries_the_same_cleaned_values(tmp_path):
    with hostile_gearmand() as port:
        result = status(port, "--json", root=str(tmp_path))
    assert result.returncode == 0, result.stderr
    server = json.loads(result.stdout)["servers"][0]
    assert server["version"] == "1.1.20red"
    functions = [f["function"] for f in server["functions"]]
    assert functions[:2] == ["job\\u202eSdaolnwod", "[/oops]"]  # then AtoM's job types
    assert server["malformed_lines"] == 3 and server["functions_left_out"] == 0


def test_a_getpid_that_is_no_pid_is_an_unreachable_server_not_a_traceback(tmp_path):
    with hostile_gearmand({**HOSTILE_REPLIES, b"getpid": "OK \u00b2\n".encode()}) as port:
        result = status(port, root=str(tmp_path))
    assert result.returncode == EXIT_UNREACHABLE, result.stderr
    assert "Traceback" not in result.stderr
    assert "'getpid' answered '²', not a pid" in result.stdout


def row(function: str, site: str, waiting: int, workers: int = 0) -> QueueRow:
    return QueueRow(
        server="s",
        function=function,
        job_class=function.rsplit("-", 1)[-1],
        worker_type="",
        site=site,
        description="",
        total=waiting,
        running=0,
        waiting=waiting,
        workers=workers,
        high=0,
        normal=waiting,
        low=0,
    )


def test_check_perfdata_stays_within_a_few_kb_whatever_the_server_lists():
    own = [row(f"p-arJob{n}", THIS_SITE, 0, workers=1) for n in range(18)]
    busy = [row(f"other{n}", NOT_ATOM, n % 3) for n in range(100_000)]
    data = performance_data([*own, *busy], HealthRules(), several_servers=False)
    assert len(data) <= MAX_PERFDATA
    assert all(f"'arJob{n} waiting'=0" in data for n in range(18))  # AtoM's own, always
    assert "'other2 waiting'=2" in data  # the busiest of the rest
    assert "'other1 waiting'" not in data  # less busy: summed
    listed = data.count(" waiting'=") - 1  # but 'other waiting'
    assert f"'other functions'={100_018 - listed};;;0" in data
    assert f"'other waiting'={sum(r.waiting for r in busy) - 2 * (listed - 18)};;;0" in data
