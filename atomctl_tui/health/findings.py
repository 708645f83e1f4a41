"""Health findings: what is wrong, in words, what to do, and since when.

Pure: the inputs are what the backends already produce — each job server's poll
(``ServerSnapshot``), each host's units (``UnitState``) and connections (systemd, SSH) — and
the output is a list of ``Finding``. The console's Health view and strip and
``atomctl-tui check`` use the same ``HealthTracker``; only the console keeps it between
assessments, so only the console has the history some findings need:

- "since when" for findings whose data carries no time of its own (the tracker notes when it
  first saw them; a server's reachability, an SSH connection and a unit's state carry theirs);
- a worker restarting in a loop: NRestarts rising within ``restart_window`` (a one-shot check
  sees only a unit caught in ``auto-restart``, or one that ended ``failed``);
- jobs waiting and growing for ``growing_for`` while every capable worker is busy;
- jobs waiting for ``stalled_for`` while a capable worker sits idle on the job server (a
  worker that is stopped or hung keeps its connection, so gearmand still counts it).

Every buffer is bounded: history is kept only for units, functions and findings present in
the latest inputs, and samples are trimmed to their window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property
from itertools import pairwise

from atomctl_tui.atom import JOB_SERVER_UNIT, WORKER_EXIT_LIMIT_REACHED, split_function_name
from atomctl_tui.fleet import is_loopback
from atomctl_tui.gearman.admin import WorkerConnection
from atomctl_tui.gearman.registration import Owners, RegistrationKind, registration_of
from atomctl_tui.gearman.servers import ServerAddressError, parse_server_address
from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.remote.ssh_link import LinkStatus
from atomctl_tui.systemd.actions import Action
from atomctl_tui.systemd.bus import ConnectionStatus
from atomctl_tui.systemd.unit_text import duration_text, natural_key, result_text, unit_label
from atomctl_tui.systemd.units import UnitState, is_template, matches

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
    NOT_REGISTERED,
    REGISTERED_ELSEWHERE,
    JOBS_NOT_TAKEN,
    WAITING_GROWING,
    MAX_JOB_COUNT,
)
KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}

ENABLED = frozenset({"enabled", "enabled-runtime"})  # unit file states meant to run at boot
LISTED_AT_MOST = 4  # job classes or units named in one finding's words
SAMPLE_SPACING = 1.0  # seconds between two kept samples of a waiting count
MAX_RESTART_SAMPLES = 64


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
        return f"{verb} {_listed(unit_label(unit) for unit in units)}"


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

    def dated(self, since: float) -> Finding:
        """This finding, ``since`` set: ``dataclasses.replace`` without its field-by-field
        work, which was most of an assessment's time with a thousand findings."""
        copy = object.__new__(Finding)
        copy.__dict__.update(self.__dict__, since=since)
        return copy

    @property
    def key(self) -> str:
        """The same finding from one assessment to the next."""
        return "|".join(
            part or "" for part in (self.kind, self.host, self.unit, self.server, self.function)
        )


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


def server_key(name: str) -> str:
    """A job server's address, comparable whatever its spelling: ``loopback:4730`` for
    127.0.0.1, ::1 or localhost; ``" via HOST"`` (the SSH connection reaching it) dropped."""
    address = name.split(" via ", 1)[0]
    try:
        parsed = parse_server_address(address)
    except ServerAddressError:
        return address.lower()
    host = "loopback" if is_loopback(parsed.host) else parsed.host.lower()
    return f"{host}:{parsed.port}"


def _listed(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:LISTED_AT_MOST])
    more = len(names) - LISTED_AT_MOST
    return f"{shown} and {more} more" if more > 0 else shown


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _seconds(us: int) -> float | None:
    return us / 1_000_000 if us else None


@dataclass
class _Streak:
    """A condition that has held since ``since``, with the waiting counts seen meanwhile."""

    since: float
    samples: deque[tuple[float, int]] = field(default_factory=deque)


class HealthTracker:
    """Assesses inputs; kept between assessments (the console), it also remembers."""

    def __init__(self, rules: HealthRules | None = None, *, history: bool = True) -> None:
        """``history=False`` (a one-shot check): conditions count from what the data says
        (a unit's ActiveEnterTimestamp), never from a previous assessment."""
        self.rules = rules or HealthRules()
        self.history = history
        self._first_seen: dict[str, float] = {}
        self._restarts: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self._last_exit: dict[tuple[str, str], int] = {}  # exit status seen ending a run
        self._missing: dict[tuple[str, str], float] = {}  # active and not registered since
        self._stalled: dict[tuple[str, str], _Streak] = {}
        self._growing: dict[tuple[str, str], _Streak] = {}

    @property
    def waiting_on_time(self) -> bool:
        """Whether time alone could change the findings: a condition that becomes one once
        it has lasted (a worker's registration grace, jobs not taken, waiting growing), or a
        restart loop that ends when its rises leave the window. Otherwise, assessing the same
        inputs again finds the same."""
        return bool(
            self._missing
            or self._stalled
            or self._growing
            or any(len(samples) > 1 for samples in self._restarts.values())
        )

    def assess(self, inputs: HealthInputs) -> list[Finding]:
        now = inputs.now or time.time()
        findings: list[Finding] = []
        connected = {}
        for host in inputs.hosts:
            finding = self._host_finding(host)
            if finding is not None:
                findings.append(finding)
            connected[host.label] = host.systemd is not None and host.systemd.connected
        snapshots = inputs.snapshots
        if snapshots is not None:
            findings.extend(self._server_findings(inputs, snapshots))
            findings.extend(self._function_findings(inputs, snapshots, now))
        findings.extend(self._unit_findings(inputs, connected, now))
        return self._dated(findings, now)

    # --- hosts ---

    def _host_finding(self, host: HostView) -> Finding | None:
        if host.link is not None and not host.link.connected:
            return Finding(
                HOST_DISCONNECTED,
                Severity.CRITICAL,
                host.label,
                f"No SSH connection to {host.label}: {host.link.text}.",
                "Its units, journal and the job servers reached through it are as last seen;"
                " the console reconnects by itself. Is the host up, and sshd running there?",
                host=host.label,
                since=host.link.since or None,
            )
        if host.systemd is not None and not host.systemd.connected:
            return Finding(
                SYSTEMD_UNREACHABLE,
                Severity.CRITICAL,
                host.label,
                f"Cannot reach systemd on {host.label}: {host.systemd.detail}.",
                "Its worker units are as last seen; the console reconnects by itself.",
                host=host.label,
            )
        return None

    # --- job servers ---

    def _server_findings(
        self, inputs: HealthInputs, snapshots: Sequence[ServerSnapshot]
    ) -> Iterable[Finding]:
        hosts = {host.label: host for host in inputs.hosts}
        for snapshot in snapshots:
            if snapshot.reachable:
                continue
            label = inputs.server_hosts.get(snapshot.server)
            host = hosts.get(label) if label is not None else None
            yield self._unreachable(snapshot, host)

    def _unreachable(self, snapshot: ServerSnapshot, host: HostView | None) -> Finding:
        server, error = snapshot.server, snapshot.error or "no answer"
        base = {"host": host.label if host else None, "server": server, "since": snapshot.since}
        unit = None
        if host is not None and host.systemd is not None and host.systemd.connected:
            unit = host.units.get(JOB_SERVER_UNIT)
        if host is not None and host.link is not None and not host.link.connected:
            problem = f"Job server {server} unreachable: {error}."
            advice = f"It is reached through {host.label}'s SSH connection, which is down."
            return Finding(SERVER_UNREACHABLE, Severity.CRITICAL, server, problem, advice, **base)
        if unit is None or not unit.is_loaded or unit.load_state != "loaded":
            problem = f"Job server {server} unreachable: {error}."
            advice = (
                "AtoM can queue no job and no worker can take one. Is gearmand running there,"
                " and do its address and port match gearman.yml?"
            )
            return Finding(SERVER_UNREACHABLE, Severity.CRITICAL, server, problem, advice, **base)
        where = f"{JOB_SERVER_UNIT} on {host.label}"
        if unit.active_state == "active":
            problem = f"Job server {server} does not answer ({error}) while {where} is active."
            advice = (
                "gearmand runs, but not at this address and port: compare its --listen and"
                " --port (PARAMS in /etc/default/gearman-job-server, or a drop-in) with"
                " gearman.yml. Its journal says where it listens."
            )
            return Finding(
                SERVER_UNREACHABLE,
                Severity.CRITICAL,
                server,
                problem,
                advice,
                journal=JOB_SERVER_UNIT,
                **base,
            )
        state = unit.active_state
        steps: tuple[tuple[Action, tuple[str, ...]], ...] = ((Action.START, (JOB_SERVER_UNIT,)),)
        if state == "failed":
            state = f"failed ({result_text(unit)})"
            steps = ((Action.RESET_FAILED, (JOB_SERVER_UNIT,)), *steps)
        problem = f"Job server {server} unreachable: {where} is {state}."
        advice = (
            "AtoM can queue no job and no worker can take one until it runs again. Start it;"
            " if it does not stay up, its journal says why."
        )
        return Finding(
            SERVER_UNREACHABLE,
            Severity.CRITICAL,
            server,
            problem,
            advice,
            fix=Fix(host.label, steps),
            journal=JOB_SERVER_UNIT,
            **base,
        )

    # --- queues ---

    def _function_findings(
        self, inputs: HealthInputs, snapshots: Sequence[ServerSnapshot], now: float
    ) -> list[Finding]:
        findings: list[Finding] = []
        reachable = [s for s in snapshots if s.reachable]
        several = len(snapshots) > 1
        running_everywhere = sum(s.running for s in reachable)
        capable: dict[str, int] = {}
        stalled: set[tuple[str, str]] = set()
        growing: set[tuple[str, str]] = set()
        rules = self.rules
        # The same fix for every job type nobody can run: worked out once, not per function
        # (1,000 functions waiting made it most of an assessment's time).
        start_stopped = _start_stopped_workers(inputs)
        for snapshot in reachable:
            where = f" on {snapshot.server}" if several else ""
            for stats in snapshot.functions:
                capable[stats.function] = capable.get(stats.function, 0) + stats.workers
                if stats.waiting <= 0:
                    continue
                job_class = split_function_name(stats.function)[1]
                key = (snapshot.server, stats.function)
                base = {"server": snapshot.server, "function": stats.function}
                if stats.workers == 0:
                    findings.append(
                        self._waiting_without_worker(
                            inputs, start_stopped, stats.waiting, job_class, where, base
                        )
                    )
                elif stats.workers > running_everywhere:
                    # More capable connections than jobs running anywhere: one at least is
                    # idle, yet the jobs wait. A stopped or hung worker keeps its connection.
                    stalled.add(key)
                    finding = self._stall(inputs, snapshot, stats, job_class, where, now)
                    if finding is not None:
                        findings.append(finding)
                else:
                    growing.add(key)
                    finding = self._growth(inputs, snapshot, stats, job_class, where, now)
                    if finding is not None:
                        findings.append(finding)
                finding = self._queue_length(stats.waiting, job_class, where, base, rules)
                if finding is not None:
                    findings.append(finding)
        for streaks, kept in ((self._stalled, stalled), (self._growing, growing)):
            for key in set(streaks) - kept:
                del streaks[key]
        if inputs.site_prefix is not None and reachable:
            unserved = [
                job_class
                for job_class in dict.fromkeys(
                    c for classes in inputs.worker_types.values() for c in classes
                )
                if capable.get(inputs.site_prefix + job_class, 0) == 0
            ]
            if unserved:
                findings.append(self._no_capable_worker(start_stopped, unserved))
        return findings

    def _waiting_without_worker(
        self,
        inputs: HealthInputs,
        fix: Fix | None,
        waiting: int,
        job_class: str,
        where: str,
        base: dict,
    ) -> Finding:
        advice = (
            f"Start the stopped workers ({fix.words})."
            if fix
            else "Start a worker that can run"
            f" it: one whose --types include {_worker_type(inputs, job_class) or 'its type'}."
        )
        return Finding(
            WAITING_WITHOUT_WORKER,
            Severity.CRITICAL,
            job_class,
            f"{_plural(waiting, 'job')} of {job_class} waiting{where}, and no worker can run them.",
            advice,
            fix=fix,
            **base,
        )

    def _no_capable_worker(self, fix: Fix | None, unserved: list[str]) -> Finding:
        advice = (
            f"Start the stopped workers ({fix.words})."
            if fix
            else "Run a worker whose --types include them (gearman.yml's worker_types)."
        )
        return Finding(
            NO_CAPABLE_WORKER,
            Severity.CRITICAL,
            "AtoM job types",
            f"{_plural(len(unserved), 'AtoM job type')} without a capable worker:"
            f' {_listed(unserved)}. AtoM refuses to queue them ("No Gearman worker available'
            ' that can handle the job").',
            advice,
            fix=fix,
        )

    def _queue_length(
        self, waiting: int, job_class: str, where: str, base: dict, rules: HealthRules
    ) -> Finding | None:
        for severity, limit in (
            (Severity.CRITICAL, rules.waiting_critical),
            (Severity.WARNING, rules.waiting_warning),
        ):
            if limit is not None and waiting >= limit:
                return Finding(
                    QUEUE_LONG,
                    severity,
                    job_class,
                    f"{_plural(waiting, 'job')} of {job_class} waiting{where} (limit {limit}).",
                    "More jobs wait than the limit allows: add workers, or look for a job that"
                    " holds them up.",
                    **base,
                )
        return None

    def _stall(self, inputs, snapshot, stats, job_class, where, now) -> Finding | None:
        streak = self._stalled.setdefault((snapshot.server, stats.function), _Streak(now))
        if not self.history or now - streak.since < self.rules.stalled_for:
            return None
        units = _registered_units(inputs, snapshot.server, stats.function)
        fix = None
        if units:
            label, names = units[0]
            fix = Fix(label, ((Action.RESTART, tuple(names)),))
        return Finding(
            JOBS_NOT_TAKEN,
            Severity.WARNING,
            job_class,
            f"{_plural(stats.waiting, 'job')} of {job_class} waiting{where} for"
            f" {duration_text(now - streak.since)}, though gearmand counts"
            f" {_plural(stats.workers, 'capable worker')} and only"
            f" {snapshot.running} job{'s' if snapshot.running != 1 else ''} running.",
            "A worker that is stopped (SIGSTOP, a debugger) or hung keeps its connection, so"
            " gearmand still counts it, but it takes no job. Restart the workers that can run"
            " it (asks first; a running job is cut short).",
            server=snapshot.server,
            function=stats.function,
            since=streak.since,
            fix=fix,
        )

    def _growth(self, inputs, snapshot, stats, job_class, where, now) -> Finding | None:
        streak = self._growing.setdefault((snapshot.server, stats.function), _Streak(now))
        samples = streak.samples
        if not samples or now - samples[-1][0] >= SAMPLE_SPACING:
            samples.append((now, stats.waiting))
        window = self.rules.growing_for
        while len(samples) > 1 and samples[1][0] <= now - window:
            samples.popleft()  # keep the last sample at or before the window's start
        if not self.history or now - streak.since < window:
            return None
        before = samples[0][1]
        if stats.waiting <= before:
            return None
        label = _host_for_new_worker(inputs, snapshot.server, stats.function)
        fix = Fix(label, ((Action.ADD_WORKER, ()),)) if label is not None else None
        return Finding(
            WAITING_GROWING,
            Severity.WARNING,
            job_class,
            f"Jobs of {job_class} waiting{where} grew from {before} to {stats.waiting} in"
            f" {duration_text(now - samples[0][0])}, every capable worker busy all along.",
            "The workers cannot keep up: add a worker"
            + (f" (its --types must include {t})" if (t := _worker_type(inputs, job_class)) else "")
            + ".",
            server=snapshot.server,
            function=stats.function,
            since=streak.since,
            fix=fix,
        )

    # --- units ---

    def _unit_findings(
        self, inputs: HealthInputs, connected: Mapping[str, bool], now: float
    ) -> list[Finding]:
        findings: list[Finding] = []
        seen = _seen(inputs.snapshots)
        by_pid = _connections_by_pid(seen) if seen is not None else None
        # An unreachable server is the cause: no worker can register with it.
        registrations_say = seen is not None and all(s.reachable for s in inputs.snapshots or ())
        present: set[tuple[str, str]] = set()
        for host in inputs.hosts:
            if not connected.get(host.label):
                continue  # its units are as last seen: nothing to say about them now
            for name, unit in host.units.items():
                if not _is_worker(name, inputs.worker_patterns):
                    continue
                key = (host.label, name)
                present.add(key)
                findings.extend(self._unit_state_findings(host, unit, key, now))
                if registrations_say and by_pid is not None:
                    finding = self._registration_finding(inputs, host, unit, by_pid, key, now)
                    if finding is not None:
                        findings.append(finding)
                else:
                    self._missing.pop(key, None)
        for memory in (self._restarts, self._last_exit, self._missing):
            for key in set(memory) - present:
                del memory[key]
        return findings

    def _unit_state_findings(
        self, host: HostView, unit: UnitState, key: tuple[str, str], now: float
    ) -> Iterable[Finding]:
        name = unit.name
        base = {
            "host": host.label,
            "unit": name,
            "journal": name,
            "since": _seconds(unit.state_since_us),
        }
        ended = unit.active_state == "failed" or unit.sub_state == "auto-restart"
        if ended and unit.exit_status:
            self._last_exit[key] = unit.exit_status
        rises, first, last = self._restart_rises(key, unit, now)
        last_exit = self._last_exit.get(key)
        if unit.active_state == "failed":
            yield self._failed(host, unit, last_exit, base)
            return
        if unit.sub_state == "auto-restart" or rises >= self.rules.restart_loop:
            status = unit.exit_status if unit.sub_state == "auto-restart" else last_exit
            if status == WORKER_EXIT_LIMIT_REACHED:
                yield Finding(
                    MAX_JOB_COUNT,
                    Severity.INFO,
                    unit_label(name),
                    f"{name} exited with status 111: it reached its max job count (or memory"
                    " limit).",
                    "Expected, not an error: systemd starts it again. Each restart counts"
                    " against the unit's start limit (3 in 24 h in AtoM's unit): if it ends"
                    " start-limit-hit, raise StartLimitBurst or --max-job-count.",
                    **base,
                )
                return
            if unit.sub_state == "auto-restart":
                why = result_text(unit) or "it ended"
                problem = f"{name} is restarting: its last run ended ({why})"
            else:
                problem = f"{name} is restarting in a loop"
            count = f"NRestarts {unit.restarts}" if unit.restarts is not None else ""
            if rises >= self.rules.restart_loop:
                count = f"NRestarts rose from {first} to {last} in the last" + (
                    f" {duration_text(self.rules.restart_window)}"
                )
            yield Finding(
                UNIT_RESTARTING,
                Severity.WARNING,
                unit_label(name),
                f"{problem}; {count}." if count else f"{problem}.",
                "Its journal (j) says why it ends. Each restart counts against the start limit"
                " (3 in 24 h in AtoM's unit); then it stays failed.",
                **base,
            )

    def _failed(
        self, host: HostView, unit: UnitState, last_exit: int | None, base: dict
    ) -> Finding:
        name = unit.name
        fix = Fix(host.label, ((Action.RESET_FAILED, (name,)), (Action.START, (name,))))
        if unit.result == "start-limit-hit":
            problem = f"{name} failed: started too often (start-limit-hit)."
            advice = (
                "systemd refuses to start it again: AtoM's unit allows 3 starts in 24 h,"
                " restarts included. Reset the count and start it; if it keeps failing, read"
                " its journal first."
            )
            if last_exit == WORKER_EXIT_LIMIT_REACHED:
                advice += (
                    " Its runs ended with status 111 (max job count reached): each counted as"
                    " a start."
                )
        else:
            restarts = f" after {_plural(unit.restarts, 'restart')}" if unit.restarts else ""
            problem = f"{name} failed ({result_text(unit) or unit.result}){restarts}."
            advice = "Its journal says why. Then reset-failed and start it."
        return Finding(
            UNIT_FAILED, Severity.WARNING, unit_label(name), problem, advice, fix=fix, **base
        )

    def _restart_rises(
        self, key: tuple[str, str], unit: UnitState, now: float
    ) -> tuple[int, int, int]:
        """NRestarts rises within the window: (how many, from, to)."""
        if unit.restarts is None:
            return 0, 0, 0
        samples = self._restarts.setdefault(key, deque(maxlen=MAX_RESTART_SAMPLES))
        if not samples or samples[-1][1] != unit.restarts:
            samples.append((now, unit.restarts))
        while len(samples) > 1 and samples[1][0] <= now - self.rules.restart_window:
            samples.popleft()
        values = [count for _t, count in samples]
        rises = sum(1 for a, b in pairwise(values) if b > a)
        return rises, values[0], values[-1]

    def _registration_finding(
        self,
        inputs: HealthInputs,
        host: HostView,
        unit: UnitState,
        by_pid: Mapping[int, dict[str, list[WorkerConnection]]],
        key: tuple[str, str],
        now: float,
    ) -> Finding | None:
        seen = by_pid.get(unit.main_pid, {}) if unit.main_pid else {}
        registration = registration_of(unit, seen, host=host.label, owners=inputs.owners)
        name = unit.name
        base = {"host": host.label, "unit": name, "journal": name}
        restart = Fix(host.label, ((Action.RESTART, (name,)),))
        if registration.kind is not RegistrationKind.MISSING:
            self._missing.pop(key, None)
        if registration.kind is RegistrationKind.MISSING:
            active_since = _seconds(unit.active_since_us) or now
            start = active_since
            if self.history:
                start = max(active_since, self._missing.setdefault(key, now))
            if now - start < self.rules.registration_grace:
                return None
            return Finding(
                NOT_REGISTERED,
                Severity.WARNING,
                unit_label(name),
                f"{name} is active (PID {unit.main_pid}) but registered on no job server the"
                " console watches.",
                "Its gearman.yml may name another server, or AtoM's Symfony cache still holds"
                " an old one: fix gearman.yml, clear the cache (php symfony cc), then restart"
                " the worker (asks first).",
                since=start,
                fix=restart,
                **base,
            )
        expected = host.gearman_servers
        registered_on = {server_key(s) for s in registration.servers}
        if (
            registration.kind is RegistrationKind.REGISTERED
            and expected
            and not registered_on & {server_key(s) for s in expected}
        ):
            servers = ", ".join(sorted(registration.servers))
            return Finding(
                REGISTERED_ELSEWHERE,
                Severity.WARNING,
                unit_label(name),
                f"{name} is registered on {servers}, but {host.label}'s gearman.yml names"
                f" {', '.join(expected)}.",
                "AtoM queues this site's jobs where gearman.yml says, so this worker gets"
                " none of them. Point its AtoM root's gearman.yml at the same servers,"
                " clear the Symfony cache, then restart it (asks first).",
                fix=restart,
                **base,
            )
        return None

    # --- since when ---

    def _dated(self, findings: list[Finding], now: float) -> list[Finding]:
        """Fill in ``since`` from when each finding was first seen; forget the others."""
        dated = []
        keys = set()
        for finding in findings:
            key = finding.key
            keys.add(key)
            first = self._first_seen.setdefault(key, now) if self.history else None
            if finding.since is None and first is not None:
                finding = finding.dated(first)
            dated.append(finding)
        for key in set(self._first_seen) - keys:
            del self._first_seen[key]
        dated.sort(key=lambda f: (-f.severity, KIND_RANK[f.kind], f.since or now, f.subject))
        return dated


def _is_worker(name: str, patterns: Sequence[str]) -> bool:
    return name != JOB_SERVER_UNIT and not is_template(name) and matches(name, patterns)


def _seen(
    snapshots: Sequence[ServerSnapshot] | None,
) -> dict[str, tuple[WorkerConnection, ...]] | None:
    if snapshots is None:
        return None
    return {s.server: s.connections for s in snapshots if s.reachable}


def _connections_by_pid(
    seen: Mapping[str, Sequence[WorkerConnection]],
) -> dict[int, dict[str, list[WorkerConnection]]]:
    """Each pid's connections, per server: a unit finds its own without a scan of them all."""
    index: dict[int, dict[str, list[WorkerConnection]]] = {}
    for server, connections in seen.items():
        for connection in connections:
            if connection.pid is not None:
                index.setdefault(connection.pid, {}).setdefault(server, []).append(connection)
    return index


def _worker_type(inputs: HealthInputs, job_class: str) -> str:
    return next((t for t, classes in inputs.worker_types.items() if job_class in classes), "")


def _start_stopped_workers(inputs: HealthInputs) -> Fix | None:
    """Start the first reachable host's worker units that should run and do not: enabled
    ones that are stopped, and failed ones (reset first). A disabled unit stays off."""
    for host in inputs.hosts:
        if host.systemd is None or not host.systemd.connected:
            continue
        stopped = sorted(
            (
                unit
                for name, unit in host.units.items()
                if _is_worker(name, inputs.worker_patterns)
                and (
                    unit.active_state == "failed"
                    or (unit.active_state == "inactive" and unit.unit_file_state in ENABLED)
                )
            ),
            key=lambda unit: natural_key(unit.name),
        )
        if not stopped:
            continue
        failed = tuple(u.name for u in stopped if u.active_state == "failed")
        start = tuple(u.name for u in stopped)
        steps = ((Action.RESET_FAILED, failed),) if failed else ()
        return Fix(host.label, (*steps, (Action.START, start)))
    return None


def _registered_units(
    inputs: HealthInputs, server: str, function: str
) -> list[tuple[str, list[str]]]:
    """The worker units registered for ``function`` on ``server``, host by host."""
    snapshot = next(s for s in inputs.snapshots or () if s.server == server)
    pids = {c.pid for c in snapshot.connections if function in c.functions and c.pid}
    found: list[tuple[str, list[str]]] = []
    for host in inputs.hosts:
        names = sorted(
            name
            for name, unit in host.units.items()
            if _is_worker(name, inputs.worker_patterns)
            and unit.main_pid in pids
            and _owned(inputs, server, snapshot, unit, host.label)
        )
        if names:
            found.append((host.label, names))
    return found


def _owned(
    inputs: HealthInputs, server: str, snapshot: ServerSnapshot, unit: UnitState, label: str
) -> bool:
    if inputs.owners is None:
        return True
    return any(
        label in inputs.owners(server, c) for c in snapshot.connections if c.pid == unit.main_pid
    )


def _host_for_new_worker(inputs: HealthInputs, server: str, function: str) -> str | None:
    """Where to add a worker: a host whose workers serve ``function`` there, else any host
    that has the worker template."""
    able = {host.label for host in inputs.hosts if host.can_add_worker}
    for label, _units in _registered_units(inputs, server, function):
        if label in able:
            return label
    return next((host.label for host in inputs.hosts if host.label in able), None)
