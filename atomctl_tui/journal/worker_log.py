"""One line an AtoM worker printed (its journal MESSAGE) as a typed event.

AtoM 2.9's ``jobs:worker`` prints every line as ``Y-m-d H:i:s > message`` on stdout, so in
its unit's journal (``jobWorkerTask::log``). What the messages are, from AtoM's code:

- at start: ``New ability: <class>`` or ``Ability not defined: <class>. Please ensure …``,
  then ``Running worker...`` and ``PID <pid>``;
- each job (``arBaseJob::run``): ``Job started.``, ``Parameters: <JSON with "id" and
  "name">``, its own lines, then ``Job finished.``; on an exception ``Exception: …``,
  ``File: …``, ``Line: …`` (the job's status becomes error); a sensitive job that waited too
  long, ``Maximum retries reached (N). …`` (error too);
- ``Job failed: <message>`` from Net_Gearman, for an exception that escaped the job (an
  invalid job id, a missing parameter); ``Jobs completed: N`` after each job it ran;
- on a signal ``Job worker termination requested.`` (SIGTERM), ``… requested by user.``
  (SIGINT), ``Job worker hang up requested.`` (SIGHUP), ``Job worker quit requested.``
  (SIGQUIT); at exit ``Job worker stopped.``;
- at a limit ``Max job count reached: N jobs completed.``, ``Max memory usage reached …``,
  ``Worker shutting down - max-job-count reached.`` (and ``max-mem-usage``).

The job's own lines carry no job id in AtoM's format (the id and name are in its database
log, ``job.output``, as ``Job <id> "<name>": <message>``). Some workers — the lab's stand-in
until now, and the issue's reporter — print that prefix on stdout too: both forms are read,
the id and name coming from the prefix when there is one, else from the ``Parameters:`` line.

Pure: no I/O. The text given is the journal message, already made safe to show
(``outside_text.clean_line``); a name decoded from JSON is made safe again, since JSON's
escapes can spell what the first cleaning removed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

from atomctl_tui.outside_text import clean_line

MAX_NAME_CHARS = 200
MAX_JOB_ID_DIGITS = 20

STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) > ")
JOB_PREFIX = re.compile(rf'^Job (\d{{1,{MAX_JOB_ID_DIGITS}}}) "(.*?)": ')
PARAMETER_ID = re.compile(rf'"id"\s*:\s*"?(\d{{1,{MAX_JOB_ID_DIGITS}}})')
PARAMETER_NAME = re.compile(r'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')
ABILITY_NOT_DEFINED = re.compile(r"^Ability not defined: (\S+?)\.(?: |$)")
JOBS_COMPLETED = re.compile(r"^Jobs completed: (\d+)$")
WORKER_PID = re.compile(r"^PID (\d+)$")

STOP_LINES = {
    "Job worker termination requested.": "SIGTERM",
    "Job worker termination requested by user.": "SIGINT",
    "Job worker hang up requested.": "SIGHUP",
    "Job worker quit requested.": "SIGQUIT",
}
STOPPED_LINES = frozenset({"Job worker stopped.", "Worker stopped"})  # AtoM's; the lab's
LIMIT_PREFIXES = (
    "Max job count reached",  # AtoM: "…: N jobs completed."; the lab: " (N), exiting"
    "Max memory usage reached",
    "Worker shutting down - max-",
)


class WorkerEventKind(StrEnum):
    JOB_STARTED = "job-started"
    JOB_PARAMETERS = "job-parameters"
    JOB_FINISHED = "job-finished"
    JOB_EXCEPTION = "job-exception"  # "Exception: …": the job ended in error
    JOB_EXCEPTION_WHERE = "job-exception-where"  # its "File: …" and "Line: …"
    JOB_RETRIES_EXHAUSTED = "job-retries-exhausted"  # "Maximum retries reached": error too
    JOB_FAILED = "job-failed"  # Net_Gearman's "Job failed: …"
    JOBS_COMPLETED = "jobs-completed"
    ABILITY_REGISTERED = "ability-registered"
    ABILITY_NOT_DEFINED = "ability-not-defined"
    WORKER_RUNNING = "worker-running"
    WORKER_PID = "worker-pid"
    STOP_REQUESTED = "stop-requested"
    WORKER_STOPPED = "worker-stopped"
    LIMIT_REACHED = "limit-reached"
    JOB_LINE = "job-line"  # another line of a job, in the prefixed form
    OTHER = "other"


# What ends the job a worker is running (besides another one starting, or its process going).
JOB_ENDINGS = frozenset(
    {
        WorkerEventKind.JOB_FINISHED,
        WorkerEventKind.JOB_EXCEPTION,
        WorkerEventKind.JOB_RETRIES_EXHAUSTED,
        WorkerEventKind.JOB_FAILED,
        WorkerEventKind.JOBS_COMPLETED,
        WorkerEventKind.STOP_REQUESTED,
        WorkerEventKind.WORKER_STOPPED,
        WorkerEventKind.LIMIT_REACHED,
        WorkerEventKind.WORKER_RUNNING,
    }
)
# What says a job went wrong (its status in AtoM's database becomes "error", or it never ran).
JOB_FAILURES = frozenset(
    {
        WorkerEventKind.JOB_EXCEPTION,
        WorkerEventKind.JOB_RETRIES_EXHAUSTED,
        WorkerEventKind.JOB_FAILED,
    }
)


@dataclass(frozen=True)
class WorkerEvent:
    kind: WorkerEventKind
    text: str
    """The message without the worker's time prefix (and without a ``Job <id> "<name>": ``)."""
    stamp: str | None = None
    """The worker's own ``Y-m-d H:i:s`` (its local time), when the line had it."""
    job_id: str | None = None
    """The AtoM job id (digits), from the line's prefix or its ``Parameters:`` JSON."""
    job_name: str | None = None
    """The job's name: its class, unless AtoM's caller gave a friendlier one."""
    detail: str = ""
    """The ability, the failure's message, the count or the signal, by kind."""


def split_stamp(message: str) -> tuple[str | None, str]:
    """The worker's ``Y-m-d H:i:s`` and the rest of the line; (None, message) without one."""
    found = STAMP.match(message)
    if found is None:
        return None, message
    return found.group(1), message[found.end() :]


def parse_worker_line(message: str) -> WorkerEvent:
    """What one line of a worker's journal says."""
    stamp, text = split_stamp(message)
    job_id = job_name = None
    if prefixed := JOB_PREFIX.match(text):
        job_id, job_name = prefixed.group(1), _bounded(prefixed.group(2))
        text = text[prefixed.end() :]
    kind, detail = _kind_of(text)
    if kind is WorkerEventKind.JOB_PARAMETERS:
        found_id, found_name = _parameters(detail)
        job_id, job_name = job_id or found_id, job_name or found_name
    elif kind is WorkerEventKind.OTHER and prefixed:
        kind = WorkerEventKind.JOB_LINE
    return WorkerEvent(kind, text, stamp, job_id, job_name, detail)


def _kind_of(text: str) -> tuple[WorkerEventKind, str]:
    if text == "Job started.":
        return WorkerEventKind.JOB_STARTED, ""
    if text == "Job finished.":
        return WorkerEventKind.JOB_FINISHED, ""
    if text.startswith("Parameters: "):
        return WorkerEventKind.JOB_PARAMETERS, text.removeprefix("Parameters: ")
    if text.startswith("Exception: "):
        return WorkerEventKind.JOB_EXCEPTION, text.removeprefix("Exception: ")
    if text.startswith(("File: ", "Line: ")):
        return WorkerEventKind.JOB_EXCEPTION_WHERE, text
    if text.startswith("Maximum retries reached"):
        return WorkerEventKind.JOB_RETRIES_EXHAUSTED, text
    if text.startswith("Job failed: "):
        return WorkerEventKind.JOB_FAILED, text.removeprefix("Job failed: ")
    if found := JOBS_COMPLETED.match(text):
        return WorkerEventKind.JOBS_COMPLETED, found.group(1)
    if text.startswith("New ability: "):
        return WorkerEventKind.ABILITY_REGISTERED, _bounded(text.removeprefix("New ability: "))
    if found := ABILITY_NOT_DEFINED.match(text):
        return WorkerEventKind.ABILITY_NOT_DEFINED, _bounded(found.group(1))
    if text == "Running worker...":
        return WorkerEventKind.WORKER_RUNNING, ""
    if found := WORKER_PID.match(text):
        return WorkerEventKind.WORKER_PID, found.group(1)
    if text in STOP_LINES:
        return WorkerEventKind.STOP_REQUESTED, STOP_LINES[text]
    if text in STOPPED_LINES:
        return WorkerEventKind.WORKER_STOPPED, ""
    if text.startswith(LIMIT_PREFIXES):
        return WorkerEventKind.LIMIT_REACHED, text
    return WorkerEventKind.OTHER, ""


def _parameters(text: str) -> tuple[str | None, str | None]:
    """The job id and name in a ``Parameters:`` JSON object; read field by field when the
    object does not parse (a long line cut short for display)."""
    try:
        parameters = json.loads(text)
    except ValueError:
        parameters = None
    if isinstance(parameters, dict):
        raw_id, raw_name = parameters.get("id"), parameters.get("name")
        job_id = str(raw_id) if isinstance(raw_id, int | str) else None
        if job_id is not None and not (job_id.isdigit() and len(job_id) <= MAX_JOB_ID_DIGITS):
            job_id = None
        return job_id, _safe(raw_name) if isinstance(raw_name, str) else None
    found_id, found_name = PARAMETER_ID.search(text), PARAMETER_NAME.search(text)
    name = None
    if found_name:
        try:
            name = _safe(json.loads(f'"{found_name.group(1)}"'))
        except ValueError:
            name = None
    return (found_id.group(1) if found_id else None), name


def _safe(text: str) -> str:
    return clean_line(text, max_chars=MAX_NAME_CHARS)


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 1] + "…"


STAMP_CHARS = len("2026-12-02 00:39:54 > ")
ABILITY_REGISTERED_PREFIX = "New ability: "


def registers_ability(message: str) -> bool:
    """Whether the line is a worker's ``New ability: <class>``, as ``parse_worker_line`` would
    say, cheaply enough to ask of every line of a flood."""
    return (
        message.startswith(ABILITY_REGISTERED_PREFIX, STAMP_CHARS)
        and STAMP.match(message) is not None
    )
