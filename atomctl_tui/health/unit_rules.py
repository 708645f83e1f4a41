"""Unit rules: the findings about hosts and their worker units.

- a host whose SSH connection or systemd cannot be reached (its units are then as last seen:
  nothing is said about them);
- a worker failed (start-limit-hit said apart), restarting, or ending at its max job count;
- a worker restarting in a loop: NRestarts rising within ``restart_window`` (a one-shot check
  sees only a unit caught in ``auto-restart``, or one that ended ``failed``);
- a worker enabled (meant to run) but stopped for longer than ``registration_grace``;
- a worker active but registered on no watched job server (after ``registration_grace``;
  right after a job server restart, said as such for ``reconnect_grace``), or registered on
  another server than its host's gearman.yml names.

Kept between assessments, ``UnitRules`` remembers each unit's NRestarts samples (trimmed to
their window), the exit status that ended its last run and since when it has been missing,
for the units of the latest inputs only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise

from atomctl_tui.atom import JOB_SERVER_UNIT, WORKER_EXIT_LIMIT_REACHED
from atomctl_tui.fleet import is_loopback
from atomctl_tui.gearman.admin import WorkerConnection
from atomctl_tui.gearman.registration import RegistrationKind, registration_of
from atomctl_tui.gearman.servers import ServerAddressError, parse_server_address
from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.health.findings import (
    HOST_DISCONNECTED,
    MAX_JOB_COUNT,
    NOT_REGISTERED,
    REGISTERED_ELSEWHERE,
    SYSTEMD_UNREACHABLE,
    UNIT_FAILED,
    UNIT_NOT_RUNNING,
    UNIT_RESTARTING,
    Finding,
    Fix,
    HealthInputs,
    HealthRules,
    HostView,
    Severity,
    Where,
    is_worker,
    plural,
)
from atomctl_tui.systemd.actions import Action
from atomctl_tui.systemd.start_limit import limit_text
from atomctl_tui.systemd.unit_text import duration_text, result_text, unit_label
from atomctl_tui.systemd.units import UnitState

MAX_RESTART_SAMPLES = 64
ENABLED = frozenset({"enabled", "enabled-runtime"})  # unit file states meant to run at boot


class UnitRules:
    """The hosts' and worker units' findings; kept between assessments, it also remembers."""

    def __init__(self, rules: HealthRules, *, history: bool) -> None:
        self.rules = rules
        self.history = history
        self._restarts: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self._last_exit: dict[tuple[str, str], int] = {}  # exit status seen ending a run
        self._missing: dict[tuple[str, str], float] = {}  # active and not registered since
        self._in_grace = False  # a condition seen in its grace time at the last assessment

    @property
    def waiting_on_time(self) -> bool:
        """Whether a condition may become a finding once it has lasted (a worker's
        registration grace), or a restart loop ends when its rises leave the window."""
        return bool(
            self._missing
            or self._in_grace
            or any(len(samples) > 1 for samples in self._restarts.values())
        )

    def host_findings(self, hosts: Iterable[HostView]) -> list[Finding]:
        return [f for f in map(self._host_finding, hosts) if f is not None]

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
            # The connection's words often name the host's systemd already: not said twice.
            detail = host.systemd.detail
            named = f"systemd on {host.label}"
            problem = (
                f"{detail[:1].upper()}{detail[1:]}."
                if named in detail
                else f"Cannot reach {named}: {detail}."
            )
            return Finding(
                SYSTEMD_UNREACHABLE,
                Severity.CRITICAL,
                host.label,
                problem,
                "Its worker units are as last seen; the console reconnects by itself.",
                host=host.label,
            )
        return None

    # --- units ---

    def unit_findings(self, inputs: HealthInputs, now: float) -> list[Finding]:
        self._in_grace = False
        findings: list[Finding] = []
        seen = _seen(inputs.snapshots)
        by_pid = _connections_by_pid(seen) if seen is not None else None
        # An unreachable server is the cause: no worker can register with it.
        registrations_say = seen is not None and all(s.reachable for s in inputs.snapshots or ())
        present: set[tuple[str, str]] = set()
        for host in inputs.hosts:
            if host.systemd is None or not host.systemd.connected:
                continue  # its units are as last seen: nothing to say about them now
            for name, unit in host.units.items():
                if not is_worker(name, inputs.worker_patterns):
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
        base: Where = {
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
        if unit.active_state == "inactive" and unit.unit_file_state in ENABLED:
            finding = self._not_running(host, unit, now, base)
            if finding is not None:
                yield finding
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
                    "Expected, not an error. " + _after_limit_exit(unit),
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
                f"Its journal (j) says why it ends. {_restarts_against_limit(unit)}",
                **base,
            )

    def _failed(
        self, host: HostView, unit: UnitState, last_exit: int | None, base: Where
    ) -> Finding:
        name = unit.name
        fix = Fix(host.label, ((Action.RESET_FAILED, (name,)), (Action.START, (name,))))
        if unit.result == "start-limit-hit":
            problem = f"{name} failed: started too often (start-limit-hit)."
            allows = limit_text(unit)
            allows = f"its unit allows {allows}" if allows else "its unit's start limit is spent"
            advice = (
                f"systemd refuses to start it again: {allows}, restarts included. Reset the"
                " count and start it; if it keeps failing, read its journal first."
            )
            if last_exit == WORKER_EXIT_LIMIT_REACHED:
                advice += (
                    " Its runs ended with status 111 (max job count reached): each counted as"
                    " a start."
                )
        else:
            restarts = f" after {plural(unit.restarts, 'restart')}" if unit.restarts else ""
            problem = f"{name} failed ({result_text(unit) or unit.result}){restarts}."
            advice = "Its journal says why. Then reset-failed and start it."
        return Finding(
            UNIT_FAILED, Severity.WARNING, unit_label(name), problem, advice, fix=fix, **base
        )

    def _not_running(
        self, host: HostView, unit: UnitState, now: float, base: Where
    ) -> Finding | None:
        """An enabled worker that is stopped: meant to run, and its job types wait."""
        stopped_since = _seconds(unit.state_since_us)
        if stopped_since is not None and now - stopped_since < self.rules.registration_grace:
            self._in_grace = True  # a stop and start (a restart by hand) takes a moment
            return None
        name = unit.name
        return Finding(
            UNIT_NOT_RUNNING,
            Severity.WARNING,
            unit_label(name),
            f"{name} is enabled but not running.",
            "It starts at boot but is stopped now: the jobs of its types wait for another"
            " worker, or are refused when none can take them. Start it (asks first); if it"
            " was stopped for good, disable it.",
            fix=Fix(host.label, ((Action.START, (name,)),)),
            **base,
        )

    def _restart_rises(
        self, key: tuple[str, str], unit: UnitState, now: float
    ) -> tuple[int, int, int]:
        """NRestarts rises within the window: (how many, from, to)."""
        if unit.restarts is None:
            return 0, 0, 0
        samples = self._restarts.setdefault(key, deque(maxlen=MAX_RESTART_SAMPLES))
        if samples and unit.restarts < samples[-1][1]:
            # The counter went back: reset-failed (a fix, by hand or the Health view's) or a
            # new unit of the same name. Rises before it are another story.
            samples.clear()
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
        base: Where = {"host": host.label, "unit": name, "journal": name}
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
            base["since"] = start
            restarted = _job_server_restart(inputs, host, active_since)
            if restarted is not None:
                return self._not_back_after_restart(unit, restarted, now, restart, base)
            return Finding(
                NOT_REGISTERED,
                Severity.WARNING,
                unit_label(name),
                f"{name} is active (PID {unit.main_pid}) but registered on no job server the"
                " console watches.",
                "Its gearman.yml may name another server, or AtoM's Symfony cache still holds"
                " an old one: fix gearman.yml, clear the cache (php symfony cc), then restart"
                " the worker (asks first).",
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

    def _not_back_after_restart(
        self,
        unit: UnitState,
        restarted: tuple[str, float],
        now: float,
        restart: Fix,
        base: Where,
    ) -> Finding:
        """Not registered since its job server restarted: workers reconnect by themselves,
        so for ``reconnect_grace`` that is all there is to say."""
        server, at = restarted
        name = unit.name
        ago = duration_text(max(0.0, now - at))
        problem = (
            f"{name} is active (PID {unit.main_pid}) but not registered: the job server"
            f" {server} restarted {ago} ago."
        )
        if now - at < self.rules.reconnect_grace:
            self._in_grace = True
            return Finding(
                NOT_REGISTERED,
                Severity.INFO,
                unit_label(name),
                problem,
                "Workers reconnect by themselves after a job server restart: nothing to do"
                " yet. If it is still not registered in a minute, restart it (asks first).",
                fix=restart,
                **base,
            )
        return Finding(
            NOT_REGISTERED,
            Severity.WARNING,
            unit_label(name),
            problem,
            "It has not reconnected since: a worker that is stopped or hung keeps no"
            " connection. Restart it (asks first); its journal (j) may say why.",
            fix=restart,
            **base,
        )


def _job_server_restart(
    inputs: HealthInputs, host: HostView, worker_since: float
) -> tuple[str, float] | None:
    """The watched job server this host's site names that (re)started after the worker did:
    (its name, when), from its own unit's ActiveEnterTimestamp on the host it runs on; None
    when none did, or when the console cannot tell."""
    named = {server_key(s) for s in host.gearman_servers or ()}
    latest: tuple[str, float] | None = None
    for snapshot in inputs.snapshots or ():
        if not snapshot.reachable or (named and server_key(snapshot.server) not in named):
            continue
        server_host = next(
            (h for h in inputs.hosts if h.label == inputs.server_hosts.get(snapshot.server)),
            None,
        )
        unit = server_host.units.get(JOB_SERVER_UNIT) if server_host else None
        if unit is None or unit.active_state != "active":
            continue
        if snapshot.pid is not None and unit.main_pid != snapshot.pid:
            continue  # another gearmand answers there: its unit's time says nothing
        started = _seconds(unit.active_since_us)
        if started is not None and started > worker_since and (not latest or started > latest[1]):
            latest = (snapshot.server, started)
    return latest


def _after_limit_exit(unit: UnitState) -> str:
    """What follows an exit 111, as the unit's own Restart= and start limit say."""
    if unit.restart_policy == "no":
        return "Its unit has Restart=no: nothing starts it again until someone does."
    restarts = "systemd starts it again"
    if unit.restart_policy:
        restarts += f" (Restart={unit.restart_policy})"
    return f"{restarts}. {_restarts_against_limit(unit)}"


def _restarts_against_limit(unit: UnitState) -> str:
    limit = limit_text(unit)
    if limit == "no start limit":
        return "Its unit sets no start limit: systemd does not stop restarting it."
    within = f" ({limit})" if limit else ""
    return (
        f"Each restart counts against its unit's start limit{within}: past it the unit stays"
        " failed (start-limit-hit) until reset-failed."
    )


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


def _seconds(us: int) -> float | None:
    return us / 1_000_000 if us else None


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
