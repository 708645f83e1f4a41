"""Queue rules: the findings about job servers and their functions.

- a job server unreachable, said with what its unit on its host says;
- jobs waiting that no worker can run, AtoM job types without a capable worker, and (with
  limits, ``check --warn/--crit``) queues too long;
- jobs waiting for ``stalled_for`` while a capable worker sits idle on the job server (a
  worker that is stopped or hung keeps its connection, so gearmand still counts it);
- jobs waiting and growing for ``growing_for`` while every capable worker is busy.

The last two need history: a ``QueueRules`` kept between assessments remembers since when
each condition has held, for the functions waiting in the latest poll only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from atomctl_tui.atom import JOB_SERVER_UNIT, split_function_name
from atomctl_tui.gearman.snapshot import FunctionStats, ServerSnapshot
from atomctl_tui.health.findings import (
    JOBS_NOT_TAKEN,
    NO_CAPABLE_WORKER,
    QUEUE_LONG,
    SERVER_UNREACHABLE,
    WAITING_GROWING,
    WAITING_WITHOUT_WORKER,
    Finding,
    Fix,
    HealthInputs,
    HealthRules,
    HostView,
    Severity,
    Where,
    is_worker,
    listed,
    plural,
)
from atomctl_tui.health.job_rules import (
    not_on_site_finding,
    site_plugins,
    undefined_job_classes,
)
from atomctl_tui.systemd.actions import Action
from atomctl_tui.systemd.unit_text import duration_text, natural_key, result_text
from atomctl_tui.systemd.units import UnitState

ENABLED = frozenset({"enabled", "enabled-runtime"})  # unit file states meant to run at boot
SAMPLE_SPACING = 1.0  # seconds between two kept samples of a waiting count


@dataclass
class _Streak:
    """A condition that has held since ``since``, with the waiting counts seen meanwhile."""

    since: float
    samples: deque[tuple[float, int]] = field(default_factory=deque)


class QueueRules:
    """The job servers' findings; kept between assessments, it also remembers."""

    def __init__(self, rules: HealthRules, *, history: bool) -> None:
        self.rules = rules
        self.history = history
        self._stalled: dict[tuple[str, str], _Streak] = {}
        self._growing: dict[tuple[str, str], _Streak] = {}

    @property
    def waiting_on_time(self) -> bool:
        """Whether a condition may become a finding once it has lasted (jobs not taken,
        waiting growing)."""
        return bool(self._stalled or self._growing)

    def assess(
        self, inputs: HealthInputs, snapshots: Sequence[ServerSnapshot], now: float
    ) -> list[Finding]:
        return [
            *self._server_findings(inputs, snapshots),
            *self._function_findings(inputs, snapshots, now),
        ]

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
        base: Where = {
            "host": host.label if host else None,
            "server": server,
            "since": snapshot.since,
        }
        unit = None
        if host is not None and host.systemd is not None and host.systemd.connected:
            unit = host.units.get(JOB_SERVER_UNIT)
        if host is not None and host.link is not None and not host.link.connected:
            problem = f"Job server {server} unreachable: {error}."
            advice = f"It is reached through {host.label}'s SSH connection, which is down."
            return Finding(SERVER_UNREACHABLE, Severity.CRITICAL, server, problem, advice, **base)
        if host is None or unit is None or not unit.is_loaded or unit.load_state != "loaded":
            problem = f"Job server {server} unreachable: {error}."
            advice = (
                "AtoM can queue no job and no worker can take one. Is gearmand running there,"
                " and do its address and port match gearman.yml?"
            )
            return Finding(SERVER_UNREACHABLE, Severity.CRITICAL, server, problem, advice, **base)
        where = f"{JOB_SERVER_UNIT} on {host.label}"
        base["journal"] = JOB_SERVER_UNIT
        if unit.active_state == "active":
            problem = f"Job server {server} does not answer ({error}) while {where} is active."
            advice = (
                "gearmand runs, but not at this address and port: compare its --listen and"
                " --port (PARAMS in /etc/default/gearman-job-server, or a drop-in) with"
                " gearman.yml. Its journal says where it listens."
            )
            return Finding(SERVER_UNREACHABLE, Severity.CRITICAL, server, problem, advice, **base)
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
        undefined = undefined_job_classes(inputs)  # once, not per waiting function
        plugins = site_plugins(inputs)
        for snapshot in reachable:
            where = f" on {snapshot.server}" if several else ""
            for stats in snapshot.functions:
                capable[stats.function] = capable.get(stats.function, 0) + stats.workers
                if stats.waiting <= 0:
                    continue
                job_class = split_function_name(stats.function)[1]
                key = (snapshot.server, stats.function)
                base: Where = {"server": snapshot.server, "function": stats.function}
                if stats.workers == 0:
                    findings.append(
                        self._waiting_without_worker(
                            inputs, start_stopped, undefined, stats.waiting, job_class, where, base
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
            # AtoM asks one server only before it queues a job: its answer is what counts.
            asked = next((s for s in reachable if s.server == inputs.asked_server), None)
            if asked is not None:
                capable = {stats.function: stats.workers for stats in asked.functions}
            unserved = [
                job_class
                for job_class in dict.fromkeys(
                    c for classes in inputs.worker_types.values() for c in classes
                )
                if capable.get(inputs.site_prefix + job_class, 0) == 0
            ]
            # A class its workers report as not defined is not on this site: AtoM cannot
            # queue it here, so no worker is missing for it.
            note = not_on_site_finding((c for c in unserved if c in undefined), plugins)
            if note is not None:
                findings.append(note)
            unserved = [c for c in unserved if c not in undefined]
            if unserved:
                asked_name = asked.server if asked is not None and several else None
                findings.append(self._no_capable_worker(start_stopped, unserved, asked_name))
        return findings

    def _waiting_without_worker(
        self,
        inputs: HealthInputs,
        fix: Fix | None,
        undefined: frozenset[str],
        waiting: int,
        job_class: str,
        where: str,
        base: Where,
    ) -> Finding:
        """``undefined``: the job classes the site's workers log as not defined."""
        advice = (
            f"Start the stopped workers ({fix.words})."
            if fix
            else "Start a worker that can run"
            f" it: one whose --types include {_worker_type(inputs, job_class) or 'its type'}."
        )
        if job_class in undefined:
            advice = (
                f'This site\'s workers report {job_class} as "Ability not defined" (its class'
                " is missing, or its plugin is not enabled): none of them can run these jobs."
                " Enable the plugin and restart the workers, or cancel the jobs (j in Queues)."
            )
            fix = None
        return Finding(
            WAITING_WITHOUT_WORKER,
            Severity.CRITICAL,
            job_class,
            f"{plural(waiting, 'job')} of {job_class} waiting{where}, and no worker can run them.",
            advice,
            fix=fix,
            **base,
        )

    def _no_capable_worker(
        self, fix: Fix | None, unserved: list[str], asked: str | None
    ) -> Finding:
        """``asked``: the server AtoM asks, named when several are watched."""
        advice = (
            f"Start the stopped workers ({fix.words})."
            if fix
            else "Run a worker whose --types include them (gearman.yml's worker_types)."
        )
        where = (
            f" AtoM asks only {asked}, the last server its gearman.yml names: a worker"
            " registered elsewhere does not count."
            if asked is not None
            else ""
        )
        return Finding(
            NO_CAPABLE_WORKER,
            Severity.CRITICAL,
            "AtoM job types",
            f"{plural(len(unserved), 'AtoM job type')} without a capable worker:"
            f' {listed(unserved)}. AtoM refuses to queue them ("No Gearman worker available'
            f' that can handle the job").{where}',
            advice,
            fix=fix,
            server=asked,
        )

    def _queue_length(
        self, waiting: int, job_class: str, where: str, base: Where, rules: HealthRules
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
                    f"{plural(waiting, 'job')} of {job_class} waiting{where} (limit {limit}).",
                    "More jobs wait than the limit allows: add workers, or look for a job that"
                    " holds them up.",
                    **base,
                )
        return None

    def _stall(
        self,
        inputs: HealthInputs,
        snapshot: ServerSnapshot,
        stats: FunctionStats,
        job_class: str,
        where: str,
        now: float,
    ) -> Finding | None:
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
            f"{plural(stats.waiting, 'job')} of {job_class} waiting{where} for"
            f" {duration_text(now - streak.since)}, though gearmand counts"
            f" {plural(stats.workers, 'capable worker')} and only"
            f" {snapshot.running} job{'s' if snapshot.running != 1 else ''} running.",
            "A worker that is stopped (SIGSTOP, a debugger) or hung keeps its connection, so"
            " gearmand still counts it, but it takes no job. Restart the workers that can run"
            " it (asks first; a running job is cut short).",
            server=snapshot.server,
            function=stats.function,
            since=streak.since,
            fix=fix,
        )

    def _growth(
        self,
        inputs: HealthInputs,
        snapshot: ServerSnapshot,
        stats: FunctionStats,
        job_class: str,
        where: str,
        now: float,
    ) -> Finding | None:
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
                if is_worker(name, inputs.worker_patterns)
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
            if is_worker(name, inputs.worker_patterns)
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
