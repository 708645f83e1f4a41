"""A terminal for benchmarks: programs run in tmux panes of a fixed size, their screens read
back as text while they run — the same harness for atomctl-tui and for other consoles.

tmux runs on a private socket with no user config. Panes are started with an argv (tmux
runs a command of several words without a shell). The screens are read through one tmux
control-mode client (`tmux -C`), so a read is a line written to a pipe and the answer read
back — no process started per read, little CPU taken from the programs measured.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

COLUMNS, LINES = 80, 24
POLL_SECONDS = 0.002  # between two reads of a screen while waiting for a change


class TmuxTerminal:
    """A private tmux server; each program runs in a session of its own, COLUMNS x LINES."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="atomctl-bench-tmux-"))
        self.socket = str(self.directory / "socket")
        self._tmux("-f", "/dev/null", "new-session", "-d", "-s", "control", "sleep", "86400")
        self._tmux("set-option", "-g", "default-size", f"{COLUMNS}x{LINES}")
        self._tmux("set-option", "-g", "remain-on-exit", "off")
        self._control = subprocess.Popen(
            ["tmux", "-S", self.socket, "-C", "attach-session", "-t", "control"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._sessions = 0
        self._commands = 0

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True)
        if done.returncode != 0:  # tmux says why on stderr: keep it in the error
            raise RuntimeError(f"tmux {args[0]}: status {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def command(self, *words: str) -> list[str]:
        """One tmux command through the control client; the lines it printed.

        A marker command follows it on the same line, and the answer is the block just before
        the marker's: a block that tmux sends of its own accord (the attach, a notification
        of another client) can never be taken for the answer.
        """
        self._commands += 1
        mark = f"answered-{self._commands}"
        line = " ".join(_quote(word) for word in words)
        self._control.stdin.write(f"{line} ; display-message -p {mark}\n")
        self._control.stdin.flush()
        answer: list[str] = []
        while (block := self._block(words)) != [mark]:
            answer = block
        return answer

    def _block(self, words: Sequence[str]) -> list[str]:
        """The next answer block: the lines between %begin and %end."""
        lines: list[str] | None = None
        while True:
            line = self._control.stdout.readline()
            if not line:
                raise RuntimeError("the tmux control client ended")
            line = line.rstrip("\n")
            if lines is None:
                if line.startswith("%begin"):
                    lines = []
                continue  # notifications between blocks
            if line.startswith("%end"):
                return lines
            if line.startswith("%error"):
                raise RuntimeError(f"tmux {' '.join(words)}: {' '.join(lines)}")
            lines.append(line)

    def start(self, argv: Sequence[str]) -> tuple[str, float]:
        """Run ``argv`` in a new session; its name, and the moment it was asked for."""
        self._sessions += 1
        name = f"run{self._sessions}"
        started = time.perf_counter()
        self._tmux("new-session", "-d", "-s", name, "-x", str(COLUMNS), "-y", str(LINES), *argv)
        return name, started

    def screen(self, session: str) -> list[str]:
        return self.command("capture-pane", "-p", "-t", session)

    def wait_for(
        self, session: str, shows: Callable[[list[str]], bool], timeout: float = 60.0
    ) -> float:
        """Reads the screen until ``shows(lines)``; the perf_counter time of that read."""
        deadline = time.perf_counter() + timeout
        while True:
            lines = self.screen(session)
            seen = time.perf_counter()
            if shows(lines):
                return seen
            if seen > deadline:
                text = "\n".join(lines)
                raise TimeoutError(f"the screen of {session} never showed it:\n{text}")
            time.sleep(POLL_SECONDS)

    def send_keys(self, session: str, *keys: str) -> None:
        self.command("send-keys", "-t", session, *keys)

    def pane_pid(self, session: str) -> int:
        return int(self.command("display-message", "-p", "-t", session, "#{pane_pid}")[0])

    def is_running(self, session: str) -> bool:
        return session in self.command("list-sessions", "-F", "#{session_name}")

    def end(self, session: str, quit_keys: Sequence[str], timeout: float = 15.0) -> None:
        """Quits the program with its own keys; ends the session if it is still there."""
        self.send_keys(session, *quit_keys)
        deadline = time.monotonic() + timeout
        while self.is_running(session) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.is_running(session):
            self.command("kill-session", "-t", session)

    def close(self) -> None:
        self._control.stdin.close()
        self._control.wait(timeout=10)
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)
        shutil.rmtree(self.directory, ignore_errors=True)


def _quote(word: str) -> str:
    """A word for tmux's command parser: single quotes, as in sh."""
    return "'" + word.replace("'", "'\"'\"'") + "'"


def tree_cpu_seconds(root: int) -> float:
    """CPU time of a process and all its descendants, the ones they waited for included
    (utime + stime + cutime + cstime of each live process: a reaped child's time is in its
    parent's cutime/cstime, a live one's in its own, so nothing counts twice)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        ticks[pid] = sum(int(value) for value in fields[11:15])
    in_tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in in_tree and pid not in in_tree:
                in_tree.add(pid)
                grew = True
    return sum(ticks.get(pid, 0) for pid in in_tree) / os.sysconf("SC_CLK_TCK")
