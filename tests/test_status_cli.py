"""`atomctl-tui status [--json]` as a script runs it, against the session lab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

import pytest

from atomctl_tui.atom import site_prefix
from atomctl_tui.lab.ssh import client_config_path
from tests.gearman_lab import closed_port, gearadmin_table, worker_units
from tests.labs import inside, unit_property

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
    # On the AtoM machine, as an admin runs it: its workers' journal is there to read.
    result = subprocess.run(
        lab.nsenter("env", "XDG_CONFIG_HOME=/nonexistent/atomctl-tui-tests", CLI, "status",
                    "--json", "--gearman", lab.gearman_server,
                    "--atom-root", str(lab.paths.atom_root)),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["servers_source"] == "--gearman"
    assert document["site_prefix"] == site_prefix(lab.paths.atom_root)
    (server,) = document["servers"]
    assert server["server"] == lab.gearman_server and server["reachable"] is True
    assert server["pid"] == int(unit_property(lab, "gearman-job-server.service", "MainPID"))
    listed = gearadmin_table(lab, "--status")
    functions = {f["function"]: f for f in server["functions"]}
    # qtSwordPluginWorker, which this default site's workers log as "Ability not defined":
    # not on this site, so no alert (listed by gearmand too once a job of it was queued).
    sword = site_prefix(lab.paths.atom_root) + "qtSwordPluginWorker"
    assert functions.pop(sword)["not_on_site"] is True
    listed.pop(sword, None)
    assert {name: [f["total"], f["running"], f["workers"]] for name, f in functions.items()} == (
        listed
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


def status_on_the_lab(lab, *args: str) -> subprocess.CompletedProcess[str]:
    """`status` run on the lab's own machine (its namespaces): its /proc, its systemd."""
    command = lab.nsenter("env", "XDG_CONFIG_HOME=/nonexistent/atomctl-tui-tests", CLI, "status")
    return subprocess.run(
        [*command, "--gearman", lab.gearman_server, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.lab
def test_status_says_when_gearmand_started_and_how_the_units_are(lab):
    result = status_on_the_lab(lab, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    (server,) = document["servers"]
    started = datetime.strptime(server["started"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
    when = unit_property(lab, "gearman-job-server.service", "ExecMainStartTimestamp")
    assert abs(started - int(inside(lab, "date", "-d", when, "+%s"))) < 1.5
    units = {unit["unit"]: unit for unit in document["units"]["units"]}
    assert document["units"]["error"] is None
    running = {"gearman-job-server.service", *worker_units(lab)}
    assert running <= set(units)  # with the lab's atom-worker.service, stopped and disabled
    for name in running:
        unit = units[name]
        assert unit["state"] == "active", unit
        assert unit["main_pid"] == int(unit_property(lab, name, "MainPID"))

    text = status_on_the_lab(lab).stdout
    assert f"up since {server['started']}" in text
    assert f"units on {document['units']['host']}:" in text
    for name in worker_units(lab):
        label = name.removesuffix(".service")
        assert any(line.split()[:2] == [label, "active"] for line in text.splitlines()), text


@pytest.mark.lab
def test_status_on_another_machine_than_gearmands_does_not_invent_its_start(lab):
    # From outside the lab, gearmand's pid names another process (or none) in this /proc.
    result = run_status("--json", "--gearman", lab.gearman_server)
    (server,) = json.loads(result.stdout)["servers"]
    assert server["reachable"] is True and server["started"] is None
    assert "up since ?" in run_status("--gearman", lab.gearman_server).stdout


@pytest.mark.lab
def test_status_over_ssh_polls_the_servers_the_hosts_name(lab):
    """hosts: or --host: the servers each host's AtoM config names, reached through SSH."""
    result = run_status(
        "--json",
        "--host",
        f"root@127.0.0.1:{lab.ssh_port}",
        "--ssh-config",
        str(client_config_path()),
        "--atom-root",
        str(lab.paths.atom_root),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    (server,) = document["servers"]
    assert server["server"] == f"{lab.gearman_server} via 127.0.0.1:{lab.ssh_port}"
    assert server["reachable"] is True
    assert server["pid"] == int(unit_property(lab, "gearman-job-server.service", "MainPID"))
    assert "status reads no units on remote hosts" in document["units"]["error"]
