"""`atomctl-tui check` run wrongly still answers as a monitoring plugin: one UNKNOWN line on
stdout and exit status 3, whatever part of the command line or config is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from atomctl_tui.health.check import EXIT_UNKNOWN

CLI = os.path.join(os.path.dirname(sys.executable), "atomctl-tui")


def check(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CONFIG_HOME": "/nonexistent/atomctl-tui-tests"}
    env.pop("ATOMCTL_TUI_CONFIG", None)
    return subprocess.run(
        [CLI, "check", *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--interval", "2"], "unrecognized arguments: --interval 2"),  # check polls once
        (["--warn", "x"], "argument --warn: 'x' is not a whole number of jobs"),
        (["--warn", "5", "--crit", "2"], "--warn 5 is above --crit 2"),
        (["--host", "-oProxyCommand=x"], "a host beginning with '-' is refused"),
        (["--timeout", "0"], "argument --timeout: must be more than 0 seconds"),
    ],
)
def test_bad_usage_is_one_unknown_line(args: list[str], words: str):
    result = check(*args)
    assert result.returncode == EXIT_UNKNOWN, result
    line, *rest = result.stdout.splitlines()
    assert not rest and line.startswith("ATOMCTL UNKNOWN - ") and words in line, result.stdout


def test_a_broken_config_file_is_unknown(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("servers: [\n")
    result = check("--config", str(config))
    assert result.returncode == EXIT_UNKNOWN, result
    assert result.stdout.startswith(f"ATOMCTL UNKNOWN - {config}:"), result.stdout
    assert "not valid YAML" in result.stdout


def test_other_commands_keep_their_own_bad_usage_status():
    for argv in (["status", "--bogus"], ["--bogus"]):
        result = subprocess.run([CLI, *argv], capture_output=True, text=True, timeout=60)
        assert result.returncode == 1, result
        assert "unrecognized arguments: --bogus" in result.stderr and not result.stdout
