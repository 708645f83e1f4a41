"""One SSH connection per remote host: an OpenSSH ControlMaster that everything else reuses.

The masters are opened before the console takes the terminal: first every host's at once in
batch mode (``begin``: no prompt is possible, so none can mix with another), then, one at a
time, those that failed in a way a prompt could mend — a password, a key's passphrase, a
second factor, a new host key — so ssh can ask there (it reads them from /dev/tty). ``-E``
sends its messages to a log file of ours, so a master that complains later never writes over
the console's screen.

Everything else for that host runs as a client of the master (``ControlMaster=no``): the
D-Bus bridge (``unixexec:`` address running ``systemd-stdio-bridge``), journalctl, reading
AtoM's config, and Gearman through a forwarded Unix socket. A client must never open a
connection of its own — one that could prompt for a password in the middle of the screen, or
that multiplies connections — so clients carry ``ProxyCommand=false``: with the master there,
ssh never looks at it; without, the client fails at once instead of connecting.

The master is the console's own child, never sent to the background (no ``-f``, and
``ControlPersist=no``): it is up once its control socket answers, the console always knows
its pid, and there is never more than one per host. Its life is tied to the console's:
``setpriv --pdeathsig`` has the kernel send it SIGTERM when the console dies, however it
dies (kill -9, OOM), and every client through it — a ``journalctl --follow`` left behind
among them — ends with it, since a client lives on the master's socket. (A master that
persisted would instead be kept alive by such an orphaned client, for ever.)

A supervisor thread makes the first, batch-mode attempt, waits (``start``) while the console
may open the master interactively instead, then waits for the master to end (a pidfd) and
opens it again with backoff, in batch mode (no prompt: the terminal belongs to the console by
then), then puts the forwards back. A host slow to answer keeps its own thread busy, and
nobody else. A master that died uncleanly leaves its control socket behind, and ssh, finding it
there, would connect without listening on it: the stale socket is removed first.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import string
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal, overload

from atomctl_tui.remote.host_spec import HostSpec
from atomctl_tui.remote.hosts import Host

DEFAULT_BRIDGE = "systemd-stdio-bridge"
SERVER_ALIVE_SECONDS = 3  # with 2 unanswered probes: a silent host is noticed within ~9 s
SERVER_ALIVE_COUNT = 2
CONNECT_TIMEOUT_SECONDS = 10
OPEN_TIMEOUT_SECONDS = 30  # batch mode only: the first, interactive open waits for the admin
COMMAND_TIMEOUT_SECONDS = 15
EXIT_TIMEOUT_SECONDS = 5  # for a master told to exit, before it is killed
LISTEN_POLL_SECONDS = 0.05  # while a master authenticates: is its control socket there yet?
FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 10.0
LOG_TAIL_BYTES = 4096

# The kernel sends the master this signal when the thread that started it ends: the
# console's main thread for the first master, the supervisor thread for the others.
DEATH_SIGNAL_PREFIX = ("setpriv", "--pdeathsig", "TERM", "--")

# D-Bus addresses: bytes outside this set must be written %XX (D-Bus specification,
# "Server Addresses").
_DBUS_PLAIN = frozenset((string.ascii_letters + string.digits + "-_/.\\*").encode())
_MASTER_PID = re.compile(r"Master running \(pid=(\d+)\)")


def dbus_escape(value: str) -> str:
    return "".join(chr(byte) if byte in _DBUS_PLAIN else f"%{byte:02x}" for byte in value.encode())


def unixexec_address(argv: list[str]) -> bytes:
    """A D-Bus address that runs ``argv`` and speaks D-Bus over its stdin and stdout."""
    items = ",".join(f"argv{index}={dbus_escape(arg)}" for index, arg in enumerate(argv))
    return f"unixexec:path={dbus_escape(argv[0])},{items}".encode()


@dataclass(frozen=True)
class SshOptions:
    """What --ssh-config and --ssh-option pass through to every ssh the console runs."""

    config_file: str | None = None
    options: tuple[str, ...] = ()


class LinkState(StrEnum):
    CONNECTING = "connecting"
    RECONNECTING = "reconnecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # and reconnecting, with backoff
    AUTH_FAILED = "authentication failed"
    CLOSED = "closed"


@dataclass(frozen=True)
class LinkStatus:
    state: LinkState
    reason: str = ""  # why it is not connected, in words
    retry_in: float | None = None  # seconds until the next attempt, when one is planned
    since: float = 0.0  # time.time() of this status

    @property
    def connected(self) -> bool:
        return self.state is LinkState.CONNECTED

    @property
    def text(self) -> str:
        words = str(self.state)
        if self.reason:
            words += f": {self.reason}"
        if self.retry_in == 0:
            words += "; reconnecting now"
        elif self.retry_in is not None:
            words += f"; reconnecting in {self.retry_in:g} s"
        return words


def describe_ssh_failure(log: str, returncode: int | None) -> tuple[LinkState, str]:
    """What ssh's own messages say went wrong, in words (and whether it was authentication)."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    text = "\n".join(lines)
    for needle in ("Permission denied", "Too many authentication failures"):
        line = _last_matching(lines, needle)
        if line is not None:  # "root@host: Permission denied (publickey)." from its needle on
            return LinkState.AUTH_FAILED, line[line.index(needle) :].rstrip(".")
    known = (
        ("Host key verification failed", "host key verification failed (see known_hosts)"),
        ("Could not resolve hostname", "unknown host name"),
        ("Connection refused", "connection refused (is sshd running there?)"),
        ("No route to host", "no route to the host"),
        ("Network is unreachable", "network unreachable"),
        ("timed out", "no answer: the connection timed out"),
        ("Timeout, server", "the host stopped answering"),
        ("closed by remote host", "the host closed the connection"),
        ("Connection reset", "the connection was reset"),
    )
    for needle, words in known:
        if needle in text:
            return LinkState.DISCONNECTED, words
    if lines:
        return LinkState.DISCONNECTED, lines[-1][:200]
    if returncode is None:
        return LinkState.DISCONNECTED, "the connection ended"
    return LinkState.DISCONNECTED, f"ssh exited with status {returncode}"


PROMPT_COULD_HELP = (
    "Permission denied",  # a password, a passphrase, a second factor
    "Too many authentication failures",
    "Host key verification failed",  # a new host key, to be accepted
)


def prompt_could_help(log: str) -> bool:
    """Whether ssh's messages say it failed where, allowed to ask, it would have asked."""
    return any(needle in log for needle in PROMPT_COULD_HELP)


def _last_matching(lines: list[str], needle: str) -> str | None:
    return next((line for line in reversed(lines) if needle in line), None)


Listener = Callable[[LinkStatus], object]  # what it returns is ignored (a posted message)


class SshLink:
    """The master connection to one host, and the argv of everything that reuses it."""

    def __init__(
        self,
        spec: HostSpec,
        options: SshOptions,
        runtime_dir: Path,
        *,
        name: str,
        label: str | None = None,
        bridge: str = DEFAULT_BRIDGE,
    ) -> None:
        self.spec = spec
        self.options = options
        self.label = label or spec.label
        self.bridge = bridge
        # Short names: a Unix socket path must fit in 108 bytes.
        self.runtime_dir = runtime_dir
        self.control_path = runtime_dir / f"{name}.ctl"
        self.log_path = runtime_dir / f"{name}.log"
        self._name = name
        self._forwards: dict[tuple[str, int], Path] = {}
        self._master: subprocess.Popen[bytes] | None = None
        """The master process while it runs (listening or still authenticating)."""
        self._master_lock = threading.Lock()  # _master, between the supervisor and close()
        self._up = False  # the master answers on its control socket
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._status = LinkStatus(LinkState.CONNECTING, since=time.time())
        self._stopping = threading.Event()
        self._wake_read, self._wake_write = os.pipe()
        self._thread: threading.Thread | None = None
        self._first_attempt_done = threading.Event()
        self._attempted: Callable[[], object] | None = None
        self._go = threading.Event()
        """Set by ``start``: the supervisor carries on after its first attempt."""
        self._ever_up = False
        self.prompt_could_help = False
        """The last attempt failed where ssh, allowed to prompt, would have asked."""

    # --- argv ---

    def _common(self) -> list[str]:
        argv = ["ssh"]
        if self.options.config_file:
            argv += ["-F", self.options.config_file]
        return [*argv, "-o", f"ControlPath={self.control_path}"]

    def _user_options(self) -> list[str]:
        # After ours: the first value ssh sees for an option wins, so these cannot undo the
        # control settings, and come before the defaults below, which they may change.
        return [item for option in self.options.options for item in ("-o", option)]

    def _destination(self) -> list[str]:
        argv = []
        if self.spec.port is not None:
            argv += ["-p", str(self.spec.port)]
        if self.spec.user is not None:
            argv += ["-l", self.spec.user]
        return [*argv, "--", self.spec.hostname]

    def master_argv(self, *, batch: bool) -> list[str]:
        argv = [
            *self._common(),
            "-o", "ControlMaster=yes",
            "-o", "ControlPersist=no",  # the console's child, never in the background
            "-o", "StreamLocalBindUnlink=yes",  # a forward's stale socket file is replaced
        ]  # fmt: skip
        if batch:
            argv += ["-o", "BatchMode=yes"]
        return [
            *argv,
            *self._user_options(),
            "-o", f"ServerAliveInterval={SERVER_ALIVE_SECONDS}",
            "-o", f"ServerAliveCountMax={SERVER_ALIVE_COUNT}",
            "-o", f"ConnectTimeout={CONNECT_TIMEOUT_SECONDS}",
            "-E", str(self.log_path),
            "-N",
            *self._destination(),
        ]  # fmt: skip

    def client_prefix(self) -> tuple[str, ...]:
        """ssh through the master; the remote command follows as one quoted string."""
        return (
            *self._common(),
            "-o", "ControlMaster=no",
            "-o", "ProxyCommand=false",  # never a connection of its own (see the docstring)
            "-q", "-T",
            *self._user_options(),
            *self._destination(),
        )  # fmt: skip

    def control_argv(self, *command: str) -> list[str]:
        return [*self._common(), *command, *self._destination()]

    def host(self) -> Host:
        """The host as the backends see it: commands and the system bus through the master."""
        prefix = self.client_prefix()
        return Host(
            label=self.label,
            run_prefix=prefix,
            dbus_address=unixexec_address([*prefix, self.bridge]),
            remote_shell=True,
            bus_bridge=self.bridge,
        )

    # --- status ---

    @property
    def status(self) -> LinkStatus:
        with self._lock:
            return self._status

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with the status now and at each change (on the supervisor thread);
        returns unsubscribe."""
        with self._lock:
            self._listeners.append(listener)
            listener(self._status)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _set(self, state: LinkState, reason: str = "", retry_in: float | None = None) -> None:
        status = LinkStatus(state, reason, retry_in, since=time.time())
        with self._lock:
            self._status = status
            for listener in self._listeners:
                listener(status)

    # --- the master ---

    def open(self, *, interactive: bool) -> LinkStatus:
        """Open the master; blocks until authenticated or failed. Interactive: ssh may prompt
        on the terminal and is given all the time the admin needs. A master of this link that
        still runs is ended first: one master per host."""
        self._set(LinkState.RECONNECTING if self._ever_up else LinkState.CONNECTING)
        self.prompt_could_help = False
        self._end_master()
        # Left by a master that did not end cleanly (killed, OOM). Ours alone (the private
        # directory), and no master of ours runs now.
        with contextlib.suppress(FileNotFoundError):
            self.control_path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.log_path.unlink()  # -E appends: keep only this attempt's messages
        with self._master_lock:
            if self._stopping.is_set():  # close() came first: start nothing it would miss
                return self.status
            try:
                master = subprocess.Popen(
                    [*DEATH_SIGNAL_PREFIX, *self.master_argv(batch=not interactive)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    # The terminal for a first open (ssh's banner); its messages go to the log.
                    stderr=None if interactive else subprocess.DEVNULL,
                    # Without a terminal, batch mode or not, ssh can never prompt.
                    start_new_session=not interactive,
                )
            except OSError as exc:
                self._set(LinkState.DISCONNECTED, f"cannot run ssh ({exc.strerror or exc})")
                return self.status
            self._master = master
        if not self._wait_until_listening(master, None if interactive else OPEN_TIMEOUT_SECONDS):
            returncode = master.poll()
            self._end_master()
            log = self._log_tail()
            state, reason = describe_ssh_failure(log, returncode)
            self.prompt_could_help = prompt_could_help(log)
            self._set(state, reason)
            return self.status
        self._up = self._ever_up = True
        self._apply_forwards()
        self._set(LinkState.CONNECTED)
        return self.status

    def _wait_until_listening(self, master: subprocess.Popen[bytes], timeout: float | None) -> bool:
        """Wait for ``master`` to answer on its control socket (ssh makes it once
        authenticated); False when it ended first, or ``timeout`` passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            if self.control_path.exists():
                return self._check_master() == master.pid
            try:
                master.wait(LISTEN_POLL_SECONDS)
            except subprocess.TimeoutExpired:
                continue
            return False
        return False

    def _end_master(self) -> None:
        """End the master, if one runs: told to exit (its forwards and socket go with it),
        else terminated, else killed; and reaped."""
        with self._master_lock:
            master, self._master = self._master, None
        self._up = False
        if master is None:
            return
        if master.poll() is None:
            if self.control_path.exists():
                with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                    subprocess.run(
                        self.control_argv("-O", "exit"),
                        stdin=subprocess.DEVNULL,
                        capture_output=True,
                        timeout=COMMAND_TIMEOUT_SECONDS,
                        check=False,
                    )
            else:  # still authenticating
                master.terminate()
        try:
            master.wait(EXIT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()

    def _check_master(self) -> int | None:
        try:
            done = subprocess.run(
                self.control_argv("-O", "check"),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        found = _MASTER_PID.search(done.stderr)
        return int(found.group(1)) if done.returncode == 0 and found else None

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - LOG_TAIL_BYTES))
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def begin(self, attempted: Callable[[], object] | None = None) -> None:
        """Make a first attempt now, in batch mode, on the supervisor thread, and call
        ``attempted`` there when it has ended; the thread then waits for ``start`` (meanwhile
        ``open(interactive=True)`` may be tried from another thread)."""
        self._attempted = attempted
        self._start_supervisor()

    def first_attempt(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds for the first attempt of ``begin`` to end; whether
        it has."""
        return self._first_attempt_done.wait(timeout)

    def start(self) -> None:
        """Watch the master from now on, opening it again whenever it ends."""
        self._go.set()
        self._start_supervisor()

    def _start_supervisor(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._supervise, name=f"ssh {self.label}", daemon=True
            )
            self._thread.start()

    def _supervise(self) -> None:
        retry = FIRST_RETRY_SECONDS
        while not self._stopping.is_set():
            if not self._up:
                self.open(interactive=False)
                if not self._first_attempt_done.is_set():
                    self._first_attempt_done.set()
                    if self._attempted is not None:
                        self._attempted()
                self._go.wait()  # until start(): the console may open it interactively
                if self._stopping.is_set():
                    break
                if not self._up:
                    status = self.status  # this attempt's, or the interactive one's
                    self._set(status.state, status.reason, retry)
                    self._pause(retry)
                    retry = min(retry * 2, MAX_RETRY_SECONDS)
                    continue
                retry = FIRST_RETRY_SECONDS
            self._wait_for_master_end()
            if self._stopping.is_set():
                break
            self._end_master()  # reaped
            _state, reason = describe_ssh_failure(self._log_tail(), None)
            self._set(LinkState.DISCONNECTED, reason, 0)

    def _wait_for_master_end(self) -> None:
        master = self._master
        if master is None:
            return
        try:
            pidfd = os.pidfd_open(master.pid)  # a child not yet reaped: its pid is still its own
        except ProcessLookupError:
            return
        try:
            select.select([pidfd, self._wake_read], [], [])
        finally:
            os.close(pidfd)

    def _pause(self, seconds: float) -> None:
        select.select([self._wake_read], [], [], seconds)

    def close(self) -> None:
        """Stop watching and end the master (its clients and forwards end with it)."""
        self._stopping.set()
        self._go.set()
        os.write(self._wake_write, b"x")
        # Also a master still authenticating in the supervisor: ending it ends that wait.
        self._end_master()
        if self._thread is not None:
            self._thread.join(timeout=COMMAND_TIMEOUT_SECONDS + EXIT_TIMEOUT_SECONDS)
        self._end_master()  # one the supervisor started as close() began
        self._set(LinkState.CLOSED)
        os.close(self._wake_read)
        os.close(self._wake_write)

    # --- forwards and commands ---

    def forward(self, remote_host: str, remote_port: int) -> Path:
        """A local Unix socket reaching ``remote_host:remote_port`` as seen from the host.

        Set up now if the master is up, and again after every reconnection. The socket lives
        in the console's private directory (mode 0700): no other local user can use it.
        """
        key = (remote_host, remote_port)
        path = self._forwards.get(key)
        if path is None:
            path = self.runtime_dir / f"{self._name}-fwd{len(self._forwards)}.sock"
            self._forwards[key] = path
            if self._up:
                self._apply_forwards([key])
        return path

    def _apply_forwards(self, keys: list[tuple[str, int]] | None = None) -> None:
        for remote_host, remote_port in keys if keys is not None else list(self._forwards):
            path = self._forwards[(remote_host, remote_port)]
            target = f"[{remote_host}]" if ":" in remote_host else remote_host
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                # A failure shows later, in words, as the job server being unreachable.
                subprocess.run(
                    self.control_argv("-O", "forward", "-L", f"{path}:{target}:{remote_port}"),
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=COMMAND_TIMEOUT_SECONDS,
                    check=False,
                )

    @overload
    def run(
        self, *command: str, timeout: float = ..., text: Literal[True] = ...
    ) -> subprocess.CompletedProcess[str]: ...
    @overload
    def run(
        self, *command: str, timeout: float = ..., text: Literal[False]
    ) -> subprocess.CompletedProcess[bytes]: ...

    def run(
        self, *command: str, timeout: float = COMMAND_TIMEOUT_SECONDS, text: bool = True
    ) -> subprocess.CompletedProcess[str] | subprocess.CompletedProcess[bytes]:
        """Run ``command`` on the host through the master; its output (as text, or bytes).
        Blocks."""
        return subprocess.run(
            self.host().argv(*command),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=text,
            errors="replace" if text else None,
            timeout=timeout,
            check=False,
        )
