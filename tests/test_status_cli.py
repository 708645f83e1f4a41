"""`atomctl-tui status [--json]` as a script runs it, against the session lab."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from atomctl_tui.atom import site_prefix
from tests.gearman_lab import closed_port, gearadmin_table, worker_units
from tests.labs import unit_property

CLI = os.path.join(os.path.dirname(sys.executable), "atomctl-tui")


def run_cli(*args: str, config_home: str = "/nonexistent/atomctl-tui-tests"):
    """The command as installed, never reading the machine's own config file."""
    env = {**os.environ, "XDG_CONFIG_HOME": config_home}
    env.pop("ATOMCTL_TUI_CONFIG", None)
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def run_status(*args: str, **options):
    return run_cli("status", *args, **options)


@pytest.mark.lab
def test_status_json_matches_the_lab(lab):
    result = run_status(
        "--json", "--gearman", lab.gearman_server, "--atom-root", str(lab.paths.atom_root)
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["servers_source"] == "--gearman"
    assert document["site_prefix"] == site_prefix(lab.paths.atom_root)
    (server,) = document["servers"]
    assert server["server"] == lab.gearman_server and server["reachable"] is True
    assert server["pid"] == int(unit_property(lab, "gearman-job-server.service", "MainPID"))
    functions = {f["function"]: f for f in server["functions"]}
    assert {name: [f["total"], f["running"], f["workers"]] for name, f in functions.items()} == (
        gearadmin_table(lab, "--status")
    )
    assert {f["site"] for f in functions.values()} == {"this site"}
    assert {f["job_class"] for f in functions.values()} == {
        name.split("-", 1)[1] for name in functions
    }
    main_pids = {int(unit_property(lab, unit, "MainPID")) for unit in worker_units(lab)}
    assert {w["pid"] for w in server["workers"] if w["functions"]} == main_pids
    assert server["totals"]["workers"] == lab.workers
    assert document["alerts"] == []


@pytest.mark.lab
def test_status_exits_2_and_says_why_when_a_server_is_unreachable(lab):
    port = closed_port()
    args = ("--gearman", lab.gearman_server, "--gearman", f"127.0.0.1:{port}")
    result = run_status("--json", *args)
    assert result.returncode == 2, result.stderr
    up, down = json.loads(result.stdout)["servers"]
    assert up["reachable"] is True
    assert (down["reachable"], down["error"]) == (False, "connection refused")
    assert "functions" not in down

    text = run_status(*args)
    assert text.returncode == 2
    assert f"127.0.0.1:{port}  UNREACHABLE" in text.stdout
    assert f"ALERT 127.0.0.1:{port} unreachable: connection refused" in text.stdout


def test_status_with_a_broken_config_file_exits_1_naming_file_and_line(tmp_path):
    (tmp_path / "atomctl-tui").mkdir()
    (tmp_path / "atomctl-tui" / "config.yaml").write_text("servers:\n  - [nested]\n")
    result = run_status("--json", config_home=str(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{tmp_path}/atomctl-tui/config.yaml:2: expected 'servers'" in result.stderr


@pytest.mark.lab
def test_options_are_taken_before_and_after_the_subcommand(lab):
    port = closed_port()
    result = run_cli(
        "--gearman", lab.gearman_server, "status", "--json", "--gearman", f"[::1]:{port}"
    )
    servers = [s["server"] for s in json.loads(result.stdout)["servers"]]
    assert servers == [lab.gearman_server, f"[::1]:{port}"]
