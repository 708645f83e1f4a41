"""`atomctl-tui check` run wrongly still answers as a monitoring plugin: one UNKNOWN line on
stdout and exit status 3, whatever part of the command line or config is wrong."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from atomctl_tui.health.check import EXIT_CRITICAL, EXIT_UNKNOWN

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


SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
SLOW_REPLY_SECONDS = 1.4  # under a call's own timeout (half the check's 3 s)
TIMEOUT = 3
SLACK = 2.0  # a bound on our own promise, asserted loosely: not a speed figure


@contextlib.contextmanager
def stalling_server(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server on 127.0.0.1 that hands each connection to ``answer``; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed
            held.append(conn)
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone does not
        listener.close()
        for conn in held:
            conn.close()
        thread.join(10)


def say_nothing(conn: socket.socket) -> None:
    """Accept and stay silent: a host whose sshd hangs, or a port that blackholes."""


def banner_then_nothing(conn: socket.socket) -> None:
    conn.sendall(SSH_BANNER)


def answer_slowly(conn: socket.socket) -> None:
    """A job server that answers every admin command, each just before a call would give up."""
    with contextlib.suppress(OSError), conn.makefile("rb") as lines:
        for line in lines:
            time.sleep(SLOW_REPLY_SECONDS)
            command = line.strip()
            if command == b"getpid":
                conn.sendall(b"OK 4242\n")
            elif command == b"version":
                conn.sendall(b"OK 1.1.20\n")
            else:
                conn.sendall(b".\n")  # an empty listing


def timed_check(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = check(*args, "--timeout", str(TIMEOUT))
    return result, time.monotonic() - started


@pytest.mark.parametrize("answer", [say_nothing, banner_then_nothing], ids=["silent", "banner"])
def test_a_stalling_ssh_host_is_unknown_within_the_timeout(answer):
    with stalling_server(answer) as port:
        result, took = timed_check("--host", f"root@127.0.0.1:{port}")
    assert took < TIMEOUT + SLACK, (took, result)
    assert result.returncode == EXIT_UNKNOWN, result
    assert result.stdout == (
        f"ATOMCTL UNKNOWN - timed out after {TIMEOUT} s while connecting to"
        f" 127.0.0.1:{port} over SSH\n"
    ), result
    assert not result.stderr, result.stderr


def test_a_job_server_slow_at_every_command_is_critical_within_the_timeout():
    """Each command is answered just before a call of its own would give up; a poll sends all
    five as one call, so their replies together outlast that call, never the check."""
    with stalling_server(answer_slowly) as port:
        result, took = timed_check("--gearman", f"127.0.0.1:{port}")
    assert took < TIMEOUT + SLACK, (took, result)
    assert result.returncode == EXIT_CRITICAL, result
    line, *rest = result.stdout.splitlines()
    assert not rest and line.startswith("ATOMCTL CRITICAL - "), result
    assert f"127.0.0.1:{port} unreachable: no complete reply to 'version' within 1.5 s" in line
    assert "Traceback" not in result.stderr, result.stderr


def test_the_checks_own_failure_is_unknown_never_warning(monkeypatch, capsys):
    """Nagios reads exit 1 as WARNING: a bug in the check must not say that."""
    from atomctl_tui import cli
    from atomctl_tui.health import check as check_module

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(check_module, "run_check", broken)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent/atomctl-tui-tests")
    assert cli.main(["check", "--gearman", "127.0.0.1:1"]) == EXIT_UNKNOWN
    out = capsys.readouterr().out
    assert out == "ATOMCTL UNKNOWN - the check itself failed: RuntimeError: a bug\n"
