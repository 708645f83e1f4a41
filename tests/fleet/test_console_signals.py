"""The real `atomctl-tui` on a lab over SSH, in a pseudo-terminal, ended by a signal as an
admin's system ends it: nothing of it may remain — no ssh, no child, no private directory."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from atomctl_tui.lab.two_labs import NO_CONFIG
from atomctl_tui.remote.private_dir import OWNER_FILE, PREFIX, private_base, remove_stale_dirs
from tests.fleet.ssh_processes import ssh_processes
from tests.fleet.test_remote_trouble import one_host
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

CONSOLE = os.path.join(os.path.dirname(sys.executable), "atomctl-tui")


@dataclass
class Console:
    pid: int
    terminal: int  # the pty's master side
    output: bytearray = field(default_factory=bytearray)
    status: int | None = None  # the exit status, once reaped
    hang_up: Callable[[], None] = lambda: None

    def ended(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status is not None

    def private_dir(self) -> Path | None:
        for path in Path(private_base()).glob(f"{PREFIX}*"):
            with contextlib.suppress(OSError):
                if (path / OWNER_FILE).read_text().split()[0] == str(self.pid):
                    return path
        return None

    def descendants(self) -> set[int]:
        found: set[int] = set()
        todo = [self.pid]
        while todo:
            pid = todo.pop()
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with contextlib.suppress(OSError):
                    todo.extend(int(child) for child in (task / "children").read_text().split())
            found.add(pid)
        return found - {self.pid}


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # ended meanwhile
        return b""


def _drain(console: Console, stop: int) -> None:
    """Read what the console draws, so that it never blocks writing to its terminal."""
    with contextlib.suppress(OSError):  # EIO: the console and its terminal are gone
        while stop not in (ready := select.select([console.terminal, stop], [], [])[0]):
            if not (chunk := os.read(console.terminal, 65536)) and console.terminal in ready:
                return
            console.output += chunk


@contextlib.contextmanager
def console_in_a_pty(argv: list[str]) -> Iterator[Console]:
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the console, as an admin starts it in a terminal
        os.environ.update(NO_CONFIG, TERM="xterm-256color")
        os.execv(CONSOLE, [CONSOLE, *argv])
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    console = Console(pid, terminal)
    stop_read, stop_write = os.pipe()
    reader = threading.Thread(target=_drain, args=(console, stop_read), daemon=True)
    reader.start()

    def hang_up() -> None:
        """Close the terminal as a dropped SSH session does: the reader lets go of it first
        (a read in progress would keep it open)."""
        os.write(stop_write, b"x")
        reader.join()
        os.close(terminal)

    console.hang_up = hang_up
    try:
        yield console
    finally:
        if not console.ended():
            os.kill(pid, signal.SIGKILL)  # the console this test started
            os.waitpid(pid, 0)
        os.write(stop_write, b"x")
        reader.join()
        for fd in (terminal, stop_read, stop_write):
            with contextlib.suppress(OSError):
                os.close(fd)


def wait_until_following(console: Console) -> Path:
    """Until the console is up with an ssh client following the journal; its private dir."""
    private = wait_until(console.private_dir, what="the console's private directory")

    def following() -> bool:
        return any(b"--follow" in command_line(pid) for pid in ssh_processes(private))

    wait_until(following, timeout=30, what="journalctl --follow through the master")
    return private


@pytest.mark.parametrize(
    "how", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, "terminal closed"], ids=str
)
def test_a_signal_ends_the_console_and_leaves_nothing(lab, how):
    with console_in_a_pty(one_host(lab)) as console:
        private = wait_until_following(console)
        # Read together until a read is consistent: a short-lived ssh (a one-shot command
        # through the master) may start between the two listings.
        children = wait_until(
            lambda: (
                (ssh := set(ssh_processes(private)))
                and ssh <= (descendants := console.descendants())
                and descendants
            ),
            what="the console's ssh processes among its descendants",
        )
        if isinstance(how, signal.Signals):
            os.kill(console.pid, how)
            expected = 128 + how
        else:  # the admin's SSH session dropped: the kernel sends SIGHUP
            console.hang_up()
            expected = 128 + signal.SIGHUP
        wait_until(console.ended, what="the console to end")
        assert console.status == expected
        assert not private.exists()
        wait_until(
            lambda: not [pid for pid in children if is_alive(pid)],
            what="every process of the console to end",
        )


def test_after_kill_9_nothing_runs_on_and_the_next_start_removes_the_directory(lab):
    """A console killed outright cannot clean up: its master dies with it (a parent-death
    signal), and with the master every client through it — an orphaned journalctl --follow
    among them, which once kept the master alive for ever."""
    with console_in_a_pty(one_host(lab)) as console:
        private = wait_until_following(console)
        children = console.descendants()
        os.kill(console.pid, signal.SIGKILL)  # the console this test started
        wait_until(console.ended, what="the console to end")
        wait_until(
            lambda: not [pid for pid in children if is_alive(pid)],
            what="every process of the killed console to end",
        )
        assert private.exists()
        assert private in remove_stale_dirs(private_base())
        assert not private.exists()
