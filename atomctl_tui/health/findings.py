"""Health findings: what is wrong, in words, what to do, and since when — and their inputs.

The inputs are what the backends already produce: each job server's poll
(``ServerSnapshot``), each host's units (``UnitState``) and connections (systemd, SSH), the
workers' journal and AtoM's own database (``JobsSnapshot``). The rules that turn them into
findings are ``queue_rules``, ``unit_rules``, ``job_rules`` and ``atom_job_rules``, run
together by ``tracker.HealthTracker``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property
from typing import TYPE_CHECKING, TypedDict

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.gearman.registration import Owners
from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.journal.worker_activity import ActivitySnapshot
from atomctl_tui.remote.ssh_link import LinkStatus
from atomctl_tui.systemd.actions import Action
from atomctl_tui.systemd.bus import ConnectionStatus
from atomctl_tui.systemd.unit_text import unit_label
from atomctl_tui.systemd.units import UnitState, is_template, matches

if TYPE_CHECKING:  # AtoM's database is read only where a site is known, and not at start-up
    from atomctl_tui.atom_db.jobs import JobRow
    from atomctl_tui.atom_db.watch import JobsSnapshot
    from atomctl_tui.atom_db.whereabouts import Whereabouts

# Finding kinds (stable: scripts may read them).
HOST_DISCONNECTED = "host-disconnected"
SYSTEMD_UNREACHABLE = "systemd-unreachable"
SERVER_UNREACHABLE = "server-unreachable"
WAITING_WITHOUT_WORKER = "waiting-without-worker"
NO_CAPABLE_WORKER = "no-capable-worker"
QUEUE_LONG = "queue-long"
JOBS_NOT_TAKEN = "jobs-not-taken"
WAITING_GROWING = "waiting-growing"
UNIT_FAILED = "unit-failed"
UNIT_RESTARTING = "unit-restarting"
MAX_JOB_COUNT = "max-job-count"
NOT_REGISTERED = "not-registered"
REGISTERED_ELSEWHERE = "registered-elsewhere"
UNIT_NOT_RUNNING = "unit-not-running"
JOBS_FAILED = "jobs-failed"
JOB_TYPE_NOT_ON_SITE = "job-type-not-on-site"
ATOM_JOB_STUCK = "atom-job-stuck"
ATOM_DB_UNREADABLE = "atom-db-unreadable"
# Within a severity, causes before their consequences: a host before its servers, a server
# before its queues, jobs waiting before job types merely unserved.
KIND_ORDER = (
    HOST_DISCONNECTED,
    SYSTEMD_UNREACHABLE,
    SERVER_UNREACHABLE,
    WAITING_WITHOUT_WORKER,
    NO_CAPABLE_WORKER,
    QUEUE_LONG,
    UNIT_FAILED,
    UNIT_RESTARTING,
    UNIT_NOT_RUNNING,
    NOT_REGISTERED,
    REGISTERED_ELSEWHERE,
    JOBS_NOT_TAKEN,
    WAITING_GROWING,
    ATOM_JOB_STUCK,
    JOBS_FAILED,
    MAX_JOB_COUNT,
    JOB_TYPE_NOT_ON_SITE,
    ATOM_DB_UNREADABLE,
)
KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}

LISTED_AT_MOST = 4  # job classes or units named in one finding's words


class Severity(IntEnum):
    INFO = 0  # worth knowing, not a problem (a worker that reached its max job count)
    WARNING = 1
    CRITICAL = 2

    @property
    def word(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class HealthRules:
    """The thresholds of the findings that need time (seconds) or a count."""

    registration_grace: float = 10.0  # an active worker may take this long to register
    reconnect_grace: float = 60.0
    """After a job server restart, how long workers have to register with it again."""
    restart_window: float = 600.0
    restart_loop: int = 2  # NRestarts rises within restart_window that make a loop
    growing_for: float = 300.0
    stalled_for: float = 60.0
    waiting_warning: int | None = None  # jobs waiting on one function (check --warn)
    waiting_critical: int | None = None  # (check --crit)


@dataclass(frozen=True)
class Fix:
    """The suggested action: unit actions on one host, done in order (each as the Workers
    pane does it, confirmations included)."""

    host: str
    steps: tuple[tuple[Action, tuple[str, ...]], ...]

    @cached_property  # said in the advice of every finding it fixes: once is enough
    def words(self) -> str:
        actions = [action for action, _units in self.steps]
        units = list(dict.fromkeys(unit for _action, names in self.steps for unit in names))
        if actions == [Action.ADD_WORKER]:
            return f"add a worker on {self.host}"
        verbs = {
            Action.RESET_FAILED: "reset-failed",
            Action.START: "start",
            Action.RESTART: "restart",
        }
        verb = " and ".join(verbs.get(action, str(action)) for action in dict.fromkeys(actions))
        return f"{verb} {listed(unit_label(unit) for unit in units)}"


@dataclass(frozen=True)
class StuckJob:
    """An AtoM job a finding is about, and where it is: what the Health view's fix key marks
    failed (as the AtoM jobs view does)."""

    job: JobRow
    whereabouts: Whereabouts


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: Severity
    subject: str  # what it is about, shortest: a unit, a job class, a server, a host
    problem: str  # what is wrong, in words
    advice: str  # what to do
    host: str | None = None
    unit: str | None = None
    server: str | None = None
    function: str | None = None
    since: float | None = None  # time.time() when it began, when known
    fix: Fix | None = None  # what the Health view's fix key does
    journal: str | None = None  # a unit (on ``host``) whose journal says more
    atom_job: StuckJob | None = None  # a stuck AtoM job: the fix key marks it failed

    def dated(self, since: float) -> Finding:
        """This finding, ``since`` set: ``dataclasses.replace`` without its field-by-field
        work, which was most of an assessment's time with a thousand findings."""
        copy = object.__new__(Finding)
        copy.__dict__.update(self.__dict__, since=since)
        return copy

    @property
    def key(self) -> str:
        """The same finding from one assessment to the next."""
        key = "|".join(
            part or "" for part in (self.kind, self.host, self.unit, self.server, self.function)
        )
        return key if self.atom_job is None else f"{key}|{self.atom_job.job.id}"


class Where(TypedDict, total=False):
    """The fields of a ``Finding`` that say where it is, for the rules to fill in once."""

    host: str | None
    unit: str | None
    server: str | None
    function: str | None
    since: float | None
    journal: str | None


@dataclass(frozen=True)
class HostView:
    """One host as the health findings need it."""

    label: str
    units: Mapping[str, UnitState] = field(default_factory=dict)  # workers and the job server
    systemd: ConnectionStatus | None = None  # None: not known yet
    link: LinkStatus | None = None  # None: reached without SSH (this machine, a lab)
    gearman_servers: tuple[str, ...] | None = None  # the servers its gearman.yml names
    can_add_worker: bool = False  # a worker template is installed


@dataclass(frozen=True)
class HealthInputs:
    hosts: tuple[HostView, ...]
    snapshots: tuple[ServerSnapshot, ...] | None  # None: no poll yet
    site_prefix: str | None
    worker_types: Mapping[str, Sequence[str]]
    worker_patterns: Sequence[str]
    server_hosts: Mapping[str, str] = field(default_factory=dict)  # server → host it runs on
    owners: Owners | None = None  # several hosts: which hosts a connection may come from
    now: float = 0.0
    asked_server: str | None = None
    """The watched server AtoM asks whether a worker can take a job (the last one its
    gearman.yml names); None: not known, or not watched."""
    activities: Mapping[str, ActivitySnapshot] = field(default_factory=dict)
    """What each host's workers logged (by host label): jobs failed, abilities not defined."""
    atom_jobs: Mapping[str, JobsSnapshot] = field(default_factory=dict)
    """The latest read of each host's AtoM database (by host label; hosts whose site the
    console does not reach have none): jobs in progress, errors, enabled plugins."""


def listed(names: Iterable[str]) -> str:
    """``names``, at most ``LISTED_AT_MOST`` of them, then how many more."""
    names = list(names)
    shown = ", ".join(names[:LISTED_AT_MOST])
    more = len(names) - LISTED_AT_MOST
    return f"{shown} and {more} more" if more > 0 else shown


def plural(count: int, word: str) -> str:
    return f"{count} {word if count == 1 else word + 's'}"


def is_worker(name: str, patterns: Sequence[str]) -> bool:
    """A worker unit the findings are about: not the job server, not a template."""
    return name != JOB_SERVER_UNIT and not is_template(name) and matches(name, patterns)
