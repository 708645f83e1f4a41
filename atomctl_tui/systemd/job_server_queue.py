"""Where gearmand keeps its queue, and so what restarting ``gearman-job-server`` does to it.

gearmand keeps jobs in memory unless it runs with a persistent queue (``-q``/``--queue-type``
other than ``builtin``: libsqlite3, mysql, libpq, redis, libmemcached…), either on its command
line or in its config file (``--config-file``, by default ``/etc/gearmand.conf``, lines such
as ``queue-type=mysql``). Debian's unit passes ``$PARAMS`` from
/etc/default/gearman-job-server, so the running process's command line is what counts: it is
read from ``/proc/<MainPID>/cmdline`` on the unit's host. AtoM submits background jobs only,
which is what a persistent queue keeps.

``read_queue`` runs commands on the host: it blocks, call it from a thread.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from atomctl_tui.outside_text import clean_line
from atomctl_tui.remote.hosts import Host

DEFAULT_CONFIG_FILE = "/etc/gearmand.conf"
IN_MEMORY = "builtin"
READ_TIMEOUT_SECONDS = 10.0
MAX_READ_BYTES = 64 * 1024
NOT_RUNNING = "gearmand is not running"


@dataclass(frozen=True)
class JobServerQueue:
    queue_type: str | None
    """``builtin`` (in memory) or the persistent store; None: could not be read."""
    source: str = ""
    """Where it was read: "its command line", the config file's path; or why it was not."""


def queue_from(argv: Sequence[str], config_text: str | None) -> str:
    """The queue type of a gearmand started with ``argv`` (the command line wins over the
    config file's ``queue-type``)."""
    found = _option(argv, "-q", "--queue-type")
    if found is not None:
        return found
    for line in (config_text or "").splitlines():
        key, equals, value = line.strip().partition("=")
        if equals and key.strip() in ("queue-type", "q"):
            return value.strip()
    return IN_MEMORY


def config_file_of(argv: Sequence[str]) -> str:
    return _option(argv, None, "--config-file") or DEFAULT_CONFIG_FILE


def _option(argv: Sequence[str], short: str | None, long: str) -> str | None:
    """The last value of an option given as ``-q X``, ``-qX``, ``--queue-type X`` or
    ``--queue-type=X``."""
    value = None
    words = list(argv[1:])
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else None
        if word in (long, short) and following is not None:
            value = following
        elif word.startswith(long + "="):
            value = word.removeprefix(long + "=")
        elif short and word.startswith(short) and len(word) > len(short) and word[1] != "-":
            value = word[len(short) :]
    return value


def read_queue(host: Host, main_pid: int) -> JobServerQueue:
    """Read the running gearmand's queue type on ``host``; blocks."""
    if not main_pid:
        return JobServerQueue(None, NOT_RUNNING)
    try:
        cmdline = _read(host, f"/proc/{main_pid}/cmdline")
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        return JobServerQueue(None, f"its command line could not be read: {exc}")
    argv = [clean_line(word.decode(errors="replace"), 200) for word in cmdline.split(b"\0") if word]
    if _option(argv, "-q", "--queue-type") is not None:
        return JobServerQueue(queue_from(argv, None), "its command line")
    config_file = config_file_of(argv)
    try:
        config_text: str | None = _read(host, config_file).decode(errors="replace")
    except ValueError as exc:
        if "No such file" not in str(exc):
            return JobServerQueue(None, f"{config_file} could not be read: {exc}")
        config_text = None  # no config file: only the command line counts
    except (OSError, subprocess.TimeoutExpired) as exc:
        return JobServerQueue(None, f"{config_file} could not be read: {exc}")
    source = f"its command line and {config_file}" if config_text else "its command line"
    return JobServerQueue(queue_from(argv, config_text), source)


def _read(host: Host, path: str) -> bytes:
    """A file's bytes on ``host`` (bounded); ValueError when it cannot be read there."""
    done = subprocess.run(
        host.argv("cat", "--", path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=READ_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip().splitlines()
        raise ValueError(clean_line(error[-1], 200) if error else f"cat: exit {done.returncode}")
    return done.stdout[:MAX_READ_BYTES]


def restart_words(queue: JobServerQueue) -> str:
    """What a restart (or stop) of the job server does to the jobs it holds."""
    if queue.source == NOT_RUNNING:
        return f"{NOT_RUNNING}: it holds no job now."
    if queue.queue_type is None:
        return (
            f"Whether gearmand keeps a persistent queue is not known ({queue.source}): without"
            " one, every queued job is lost."
        )
    if queue.queue_type == IN_MEMORY:
        return (
            f"gearmand keeps its queue in memory (no -q/--queue-type in {queue.source}): every"
            " queued job is lost, and the jobs running now lose their job server; AtoM keeps"
            " showing those jobs as in progress."
        )
    safe_type = clean_line(queue.queue_type, 60)
    return (
        f"gearmand keeps a persistent queue ({safe_type}, from {queue.source}): queued"
        " background jobs (AtoM's) are kept and loaded again when it starts."
    )
