"""The Workers pane: the atom-worker units, live from systemd's signals, and keys that act on them.

Rows are keyed by unit name (with several hosts: by host and unit name) and updated cell by
cell (never cleared), so the cursor and the scroll position stay where the admin left them
while units change underneath. With several hosts a Host column comes first, every action
goes to the unit's own host, and a host that is down keeps its last known rows, with the
reason above the table.

Nothing unseen, nothing stale: a host whose systemd connection is down keeps its rows dimmed,
their uptimes stopped, and the line above the table says as of when they are known; an action
on such a host is refused at once, in words (``unit_action_flow``). While a job server is out
of reach, a worker found on no reachable one is ``?`` in the Gearman column, not the last
abilities seen.

The Job column shows the AtoM job each worker is running, from that host's
``WorkerActivity`` (its journal), while the unit's MainPID is the worker that started it.
Stop, restart and remove name that job in their question; "restart all" is a rolling restart
(``rolling_restart.py``), shown on a line of its own while it runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.fleet import Fleet
from atomctl_tui.gearman.admin import WorkerConnection
from atomctl_tui.gearman.registration import (
    Owners,
    Registration,
    RegistrationKind,
    registration_of,
)
from atomctl_tui.gearman.watch import JobServersWatch
from atomctl_tui.health.findings import plural
from atomctl_tui.journal.focus import JournalFocus
from atomctl_tui.journal.worker_activity import ActivitySnapshot, RunningJob, WorkerActivity
from atomctl_tui.systemd.actions import Action, Outcome, UnitActions, action_named
from atomctl_tui.systemd.bus import ConnectionStatus
from atomctl_tui.systemd.unit_text import (
    age_text,
    cpu_text,
    memory_text,
    natural_key,
    pid_text,
    restarts_text,
    result_text,
    state_kind,
    state_text,
    unit_label,
    uptime_text,
)
from atomctl_tui.systemd.units import UnitState, UnitsUpdate, is_template, matches
from atomctl_tui.ui.messages import JobServersPolled, UnitsChanged, WorkerActivityChanged
from atomctl_tui.ui.unit_action_flow import (
    HostUnits,
    budget_lines,
    refuse_disconnected,
    report,
    run_unit_action,
    running_job_words,
    start_budgets,
)
from atomctl_tui.ui.widgets.keyed_table import KeyedTable
from atomctl_tui.ui.widgets.pane import Pane

if TYPE_CHECKING:  # the rolling restart and its question are imported when first asked for
    from atomctl_tui.ui.workers.rolling_restart import RollingRestart

TICK_SECONDS = 5.0  # uptimes advance, columns give back width
SELECTED_MARK = "●"

# (column key, header); the order is the order of importance, since at 80 columns the last
# ones scroll out of view. HOST_COLUMN comes after the first with several hosts.
HOST_COLUMN = ("host", "Host")
COLUMNS = (
    ("sel", ""),
    ("unit", "Unit"),
    ("state", "State"),
    ("job", "Job"),  # before the stop or restart key is pressed, what it would abort
    ("gearman", "Gearman"),
    ("file", "File"),
    ("pid", "PID"),
    ("up", "Up"),
    ("restarts", "Rst"),
    ("mem", "Mem"),
    ("cpu", "CPU"),
)

# A cell: its text and the component class that colours it ("" for none).
Cell = tuple[str, str]
# A cell as the table holds it: with whether its host's rows are stale (drawn dimmed).
ShownCell = tuple[str, str, bool]

MUTATING_ACTIONS = frozenset({"act", "add_worker", "restart_all"})


def job_text(job: RunningJob, now: float) -> str:
    """``arFindingAidJob #37864 2m``: the job, and for how long (minutes once past one)."""
    return f"{job.label()} {age_text(max(0.0, now - job.since))}"


class WorkersPane(Pane, can_focus=False):
    PANE_TITLE = "Workers"
    COMPONENT_CLASSES = {
        "unit--failed",
        "unit--active",
        "unit--changing",
        "unit--inactive",
        "unit--warning",
        "unit--selected",
        "unit--stale",
    }
    DEFAULT_CSS = """
    WorkersPane > .unit--stale {
        text-style: dim;
    }
    """
    # At 80 columns the footer holds the most used keys; the others (show=False) are in the
    # help and the palette.
    BINDINGS = [
        Binding("s", "act('start')", "Start", id="workers.start"),
        Binding("x", "act('stop')", "Stop", id="workers.stop"),
        Binding("r", "act('restart')", "Restart", id="workers.restart"),
        Binding("e", "act('enable')", "Enable", show=False, id="workers.enable"),
        Binding("d", "act('disable')", "Disable", show=False, id="workers.disable"),
        Binding("f", "act('reset_failed')", "Reset failed", id="workers.reset_failed"),
        Binding("a", "add_worker", "Add worker", id="workers.add_worker"),
        Binding(
            "delete,minus",
            "act('remove_worker')",
            "Remove worker",
            key_display="del",
            show=False,
            id="workers.remove_worker",
        ),
        Binding("R", "restart_all", "Restart all", id="workers.restart_all"),
        # Space selects, then moves down, as htop's space tags a process and Midnight
        # Commander's Insert selects a file: holding it selects a run of rows. The key's
        # description says so, in the footer and the help.
        Binding("space", "toggle_selected", "Select, move down", id="workers.select"),
        Binding(
            "escape",
            "clear_selection",
            "Clear selection",
            show=False,
            id="workers.clear_selection",
        ),
        Binding("j", "journal", "Unit journal", id="workers.journal"),
        Binding("J", "journal_all", "All workers' journal", show=False, id="workers.journal_all"),
    ]

    def __init__(
        self,
        fleet: Fleet,
        worker_patterns: Sequence[str],
        job_servers: JobServersWatch,
        journal_focus: JournalFocus,
        *,
        activities: Sequence[WorkerActivity] = (),
        read_only: bool = False,
        id: str | None = None,
    ) -> None:
        """``activities``: what each host's workers are doing, from its journal (one per
        host; a host without one shows no jobs)."""
        super().__init__(id=id)
        self.fleet = fleet
        self.activities = {activity.host_label: activity for activity in activities}
        self._jobs: dict[str, ActivitySnapshot] = {}  # by host label
        self._polls = 0  # Gearman polls received: a rolling restart waits for a new one
        self._rolling: RollingRestart | None = None
        self.worker_patterns = tuple(worker_patterns)
        self.job_servers = job_servers
        self.journal_focus = journal_focus
        self.read_only = read_only
        # All keyed by row key (``row_key``).
        self._states: dict[str, UnitState] = {}
        self._hosts: dict[str, str] = {}  # the host of each row
        self._selected: set[str] = set()
        # Each job server's latest connections, and the host its SSH connection reaches it by.
        self._gearman: dict[str, list[WorkerConnection]] | None = None
        self._unreachable: set[str] = set()  # job servers whose last poll got no reply
        self._via: dict[str, str | None] = {}  # per server, the host its SSH goes through
        self._servers_seen: tuple[tuple[object, ...], ...] | None = None
        """What the last poll said of each server that registrations depend on."""
        self._statuses: dict[str, ConnectionStatus] = {}
        self._stale_since: dict[str, float] = {}
        """Hosts whose systemd connection is down: when it went, their rows' time."""
        self._unsubscribes: list[Callable[[], None]] = []
        self._styles: dict[str, Style] = {}
        self._adding = False
        self.columns: tuple[tuple[str, str], ...] = COLUMNS
        self.actions: dict[str, UnitActions] = {}

    def compose(self) -> ComposeResult:
        self.several = self.fleet.several
        if self.several:
            self.columns = (COLUMNS[0], HOST_COLUMN, *COLUMNS[1:])
        yield Static("", id="workers-status", markup=False)
        rolling = Static("", id="workers-rolling", markup=False)
        rolling.display = False
        yield rolling
        self.table: KeyedTable[ShownCell] = KeyedTable(self._cell_text, id="workers-table")
        for key, header in self.columns:
            # Text, not str: DataTable would read a str as markup, and load rich's emoji table.
            self.table.add_column(Text(header), key=key)
        if self.several:
            self.table.order_by(
                "host", "unit", key=lambda cells: (cells[0].plain, natural_key(cells[1].plain))
            )
        else:
            self.table.order_by("unit", key=lambda label: natural_key(label.plain))
        yield self.table

    def on_mount(self) -> None:
        super().on_mount()
        self._cache_styles()
        for member in self.fleet.members:
            label = member.label
            self._statuses[label] = ConnectionStatus(False, "connecting to systemd")
            self.actions[label] = member.units.actions(self.worker_patterns)
            self._unsubscribes.append(member.units.subscribe(self._units_listener(label)))
        self._unsubscribes.append(
            self.job_servers.subscribe(
                lambda snapshots: self.post_message(JobServersPolled(snapshots))
            )
        )
        for activity in self.activities.values():
            self._unsubscribes.append(
                activity.subscribe(
                    lambda snapshot: self.post_message(WorkerActivityChanged(snapshot))
                )
            )
        self.set_interval(TICK_SECONDS, self._tick)

    def _units_listener(self, label: str) -> Callable[[UnitsUpdate], object]:
        return lambda update: self.post_message(UnitsChanged(update, label))

    async def on_unmount(self) -> None:
        if self._rolling is not None:
            self._rolling.cancel()
        # Off the event loop: the activity's last listener gone, its journal watch may end
        # its journalctl and wait for its thread (boundedly).
        unsubscribes, self._unsubscribes = self._unsubscribes, []
        await asyncio.gather(*(asyncio.to_thread(unsubscribe) for unsubscribe in unsubscribes))

    def row_key(self, host_label: str, unit: str) -> str:
        """A row's key: the unit's name, or with several hosts ``host unit`` (neither a host
        label nor a unit name holds a space)."""
        return f"{host_label} {unit}" if self.several else unit

    def unit_of(self, key: str) -> str:
        return self._states[key].name

    def host_of(self, key: str) -> str:
        return self._hosts[key]

    def is_worker(self, name: str) -> bool:
        return (
            name != JOB_SERVER_UNIT
            and not is_template(name)
            and matches(name, self.worker_patterns)
        )

    # --- systemd and Gearman updates ---

    def on_units_changed(self, message: UnitsChanged) -> None:
        update = message.update
        label = message.host_label or self.fleet.members[0].label
        if update.status is not None:
            self._statuses[label] = update.status
            self._set_stale(label, not update.status.connected)
            self._show_status()
        for name, state in update.changed.items():
            if self.is_worker(name):
                self._upsert(label, state)
        for name in update.removed:
            self._remove(self.row_key(label, name))
        self.table.resort()
        if update.changed or update.removed:
            self._show_counts()

    def on_job_servers_polled(self, message: JobServersPolled) -> None:
        """Each unit's MainPID is matched to the servers' connections. An unreachable
        server's last connections are forgotten: nothing is known of them now."""
        if self._gearman is None:
            self._gearman = {}
        for snapshot in message.snapshots:
            self._via[snapshot.server] = snapshot.via
            if snapshot.reachable:
                self._gearman[snapshot.server] = list(snapshot.connections)
                self._unreachable.discard(snapshot.server)
            else:
                self._gearman.pop(snapshot.server, None)
                self._unreachable.add(snapshot.server)
        if any(snapshot.reachable for snapshot in message.snapshots):
            self._polls += 1
        # A quiet server sends back the same connections (the same objects): then every
        # registration is what it was, and a fleet's rows are not matched anew each second.
        seen = tuple(
            (s.server, s.via, s.reachable, s.connections if s.reachable else ())
            for s in message.snapshots
        )
        if seen == self._servers_seen:
            return
        self._servers_seen = seen
        for key in self._states:
            self._update_cells(key, {"gearman": self._gearman_cell(key)})

    def on_worker_activity_changed(self, message: WorkerActivityChanged) -> None:
        snapshot = message.snapshot
        self._jobs[snapshot.host_label] = snapshot
        now = self._now_of(snapshot.host_label)
        for key, host in self._hosts.items():
            if host == snapshot.host_label:
                self._update_cells(key, {"job": self._job_cell(key, now)})

    def _now_of(self, host_label: str) -> float:
        """The time a host's rows are drawn at: now, or for a stale host when it went."""
        return self._stale_since.get(host_label) or time.time()

    def _set_stale(self, host_label: str, stale: bool) -> None:
        if stale == (host_label in self._stale_since):
            return
        if stale:
            self._stale_since[host_label] = time.time()
        else:
            del self._stale_since[host_label]
        for key, host in self._hosts.items():
            if host == host_label:
                self._update_cells(key, self._row_cells(key))

    def _upsert(self, host_label: str, state: UnitState) -> None:
        key = self.row_key(host_label, state.name)
        self._states[key] = state
        self._hosts[key] = host_label
        self._update_cells(key, self._row_cells(key))

    def _update_cells(self, key: str, cells: dict[str, Cell]) -> None:
        """Show ``cells`` in row ``key`` (a new row needs them all); unchanged ones stay."""
        stale = self._hosts[key] in self._stale_since
        self.table.upsert(key, {column: (*cell, stale) for column, cell in cells.items()})

    def _remove(self, key: str) -> None:
        self.table.discard_row(key)
        self._states.pop(key, None)
        self._hosts.pop(key, None)
        self._selected.discard(key)

    def _tick(self) -> None:
        now = time.time()
        for key, state in self._states.items():
            if self._hosts[key] in self._stale_since:
                continue  # its uptime and job age stopped with what is known of it
            self._update_cells(
                key, {"up": (uptime_text(state, now), ""), "job": self._job_cell(key, now)}
            )
        self.table.shrink_columns()

    def _row_cells(self, key: str) -> dict[str, Cell]:
        state = self._states[key]
        now = self._now_of(self._hosts[key])
        kind = f"unit--{state_kind(state)}"
        result = result_text(state)  # kept in sight while a unit is failed or restarting
        cells = {
            "sel": (SELECTED_MARK if key in self._selected else "", "unit--selected"),
            "unit": (unit_label(state.name), ""),
            "state": (f"{state_text(state)}: {result}" if result else state_text(state), kind),
            "job": self._job_cell(key, now),
            "gearman": self._gearman_cell(key),
            "file": (state.unit_file_state, ""),
            "pid": (pid_text(state), ""),
            "up": (uptime_text(state, now), ""),
            "restarts": (restarts_text(state), ""),
            "mem": (memory_text(state), ""),
            "cpu": (cpu_text(state), ""),
        }
        if self.several:
            cells["host"] = (self._hosts[key], "")
        return cells

    def running_job(self, host_label: str, unit: str) -> RunningJob | None:
        """The AtoM job ``unit``'s worker is running now: started by its current MainPID and
        not finished, as its journal tells."""
        state = self._states.get(self.row_key(host_label, unit))
        snapshot = self._jobs.get(host_label)
        if state is None or snapshot is None:
            return None
        job = snapshot.running.get(unit)
        return job if job is not None and job.is_current(state.main_pid) else None

    def _job_cell(self, key: str, now: float) -> Cell:
        job = self.running_job(self._hosts[key], self._states[key].name)
        return (job_text(job, now), "") if job is not None else ("", "")

    def _registered_since(self, host_label: str, unit: str, after_poll: int) -> bool:
        key = self.row_key(host_label, unit)
        if self._polls <= after_poll or key not in self._states:
            return False
        return self._registration(key).kind is RegistrationKind.REGISTERED

    def _main_pid(self, host_label: str, unit: str) -> int:
        state = self._states.get(self.row_key(host_label, unit))
        return state.main_pid if state is not None else 0

    def _gearman_cell(self, key: str) -> Cell:
        registration = self._registration(key)
        return (registration.text, "unit--warning" if registration.is_warning else "")

    def _registration(self, key: str) -> Registration:
        owners: Owners | None = None
        if self.several:
            fleet = self.fleet

            def owners(server: str, connection: WorkerConnection) -> frozenset[str]:
                return fleet.owners(connection.ip, self._via.get(server))

        registration = registration_of(
            self._states[key], self._gearman, host=self._hosts[key], owners=owners
        )
        if registration.kind is RegistrationKind.MISSING and self._unreachable:
            # Not on any server that answered: it may be on one that did not.
            return Registration(RegistrationKind.UNKNOWN)
        return registration

    def _cell_text(self, column: str, cell: ShownCell) -> Text:
        text, component, stale = cell
        style = self._styles.get(component, Style())
        if stale:
            style += self._styles.get("unit--stale", Style())
        return Text(text, style=style, no_wrap=True)

    def _cache_styles(self) -> None:
        # Looked up once, not for each of thousands of cells; again when the theme changes.
        self._styles = {
            component: self.get_component_rich_style(component, partial=True)
            for component in self.COMPONENT_CLASSES
        }

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if not self.is_mounted:
            return
        self._cache_styles()
        self.table.render_cells()  # a new theme: colour the cells again

    def _show_status(self) -> None:
        status = self.query_one("#workers-status", Static)
        down = [
            (label, s.detail + self._as_of(label))
            for label, s in self._statuses.items()
            if not s.connected
        ]
        if self.several:
            words = "\n".join(f"{label}: {detail}" for label, detail in down)
        else:
            words = "\n".join(detail for _label, detail in down)
        status.update(words)
        status.display = bool(down)

    def _as_of(self, host_label: str) -> str:
        """`` — rows as of 14:32:05``: for a host with rows, when they were last known."""
        since = self._stale_since.get(host_label)
        if since is None or host_label not in self._hosts.values():
            return ""
        return f" — rows as of {time.strftime('%H:%M:%S', time.localtime(since))}"

    def _show_counts(self) -> None:
        failed = sum(1 for s in self._states.values() if state_kind(s) == "failed")
        parts = [plural(len(self._states), "unit")]
        if self.several:
            parts.append(plural(len(self._statuses), "host"))
        if failed:
            parts.append(f"{failed} failed")
        if self._selected:
            parts.append(f"{len(self._selected)} selected")
        if self.read_only:
            parts.append("read-only")
        self.border_subtitle = Text(" · ".join(parts))  # not markup

    # --- keys ---

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_selection":
            # Without a selection Esc is not this pane's: it goes on to the screen's bindings.
            return bool(self._selected)
        # In --read-only no action is offered: hidden from the footer, the help and the palette.
        return not (action in MUTATING_ACTIONS and self.read_only)

    def current_key(self) -> str | None:
        return self.table.cursor_key

    def current_unit(self) -> str | None:
        """The unit under the cursor (its host: ``host_of(current_key())``)."""
        key = self.current_key()
        return self.unit_of(key) if key is not None else None

    def targets(self) -> list[str]:
        """Row keys: the selected rows in table order, else the one under the cursor."""
        if self._selected:
            ordered = [row.key.value for row in self.table.ordered_rows]
            return [key for key in ordered if key in self._selected]
        current = self.current_key()
        return [current] if current is not None else []

    def _by_host(self, keys: Sequence[str]) -> list[HostUnits]:
        """The rows' units, host by host, each with the actions that reach its host."""
        units: dict[str, list[str]] = {}
        for key in keys:
            units.setdefault(self._hosts[key], []).append(self.unit_of(key))
        return [(self.actions[label], names) for label, names in units.items()]

    def _act(self, action: Action, keys: Sequence[str]) -> None:
        if not keys:
            self.notify(
                "No worker unit here to act on.", severity="warning", timeout=4, markup=False
            )
            return
        self.run_worker(self._act_and_clear(action, keys), group="unit-actions")

    async def _act_and_clear(self, action: Action, keys: Sequence[str]) -> None:
        outcomes = await run_unit_action(
            self,
            self._by_host(keys),
            action,
            self.journal_focus,
            running_jobs=self.running_job,
            host_trouble=self.host_trouble,
        )
        if outcomes:
            for key in keys:
                # A refused host's rows stay selected: nothing was done to them.
                if key in self._hosts and self.host_trouble(self._hosts[key]) is None:
                    self._set_selected(key, False)

    def host_trouble(self, host_label: str) -> str | None:
        """Why nothing can be sent to a host now (its SSH connection, its systemd), in
        words; None when it is connected."""
        link = self.fleet.member(host_label).link
        if link is not None and not link.status.connected:
            return f"SSH {link.status.text}"
        status = self._statuses.get(host_label)
        if status is not None and not status.connected:
            return status.detail or "not connected to systemd"
        return None

    def action_act(self, name: str) -> None:
        self._act(action_named(name), self.targets())

    def action_add_worker(self) -> None:
        if self._adding:
            # The next free instance is only known once this one exists.
            self.notify(
                "Already adding a worker: one at a time.",
                severity="warning",
                timeout=4,
                markup=False,
            )
            return
        # On the host of the row under the cursor (the first host when there is none).
        current = self.current_key()
        label = self.host_of(current) if current is not None else self.fleet.labels[0]
        self._adding = True
        self.run_worker(self._add_worker(self.actions[label]), group="unit-actions")

    async def _add_worker(self, actions: UnitActions) -> None:
        try:
            await run_unit_action(self, [(actions, [])], Action.ADD_WORKER, self.journal_focus)
        finally:
            self._adding = False

    def action_restart_all(self) -> None:
        if self._rolling is not None:
            # The key again while it runs: stop before the next step.
            self._rolling.cancel()
            self._show_rolling("Rolling restart: cancelling after the current step…")
            return
        running: list[HostUnits] = [
            (actions, actions.running_workers()) for actions in self.actions.values()
        ]
        groups, refused = refuse_disconnected(
            self, Action.RESTART, [group for group in running if group[1]], self.host_trouble
        )
        if not groups:
            if not refused:
                self.notify(
                    "No worker is running: nothing to restart.", severity="warning", markup=False
                )
            return
        self.run_worker(self._restart_all(groups), group="unit-actions")

    async def _restart_all(self, groups: Sequence[HostUnits]) -> None:
        from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
        from atomctl_tui.ui.workers.rolling_restart import RollingRestart, Step

        steps = [
            Step(actions.watch.host.label, actions, unit)
            for actions, units in groups
            for unit in units
        ]
        names = [f"{step.host_label}: {step.unit}" if self.several else step.unit for step in steps]
        words = [
            f"Restart these {len(steps)} workers one at a time?"
            if len(steps) > 1
            else f"Restart {names[0]}?",
            *(f"  {name}" for name in names[:6]),
            *([f"  … and {len(names) - 6} more"] if len(names) > 6 else []),
            "Each next one restarts once the one before has registered again with Gearman,"
            " so AtoM keeps a worker."
            if len(steps) > 1
            else "It is the only running worker: AtoM has none while it restarts.",
            *running_job_words(Action.RESTART, groups, self.running_job, time.time()),
            *budget_lines(await start_budgets(Action.RESTART, groups)),
            '"When jobs end": each worker waits until its current job ends, then restarts;'
            " it may have taken a new job by then, which the restart aborts.",
        ]
        ask = ConfirmScreen(
            "\n".join(words), "Restart now", other_label="When jobs end", other_key="w"
        )
        if not await self.app.push_screen_wait(ask):
            self.notify("Restart all: cancelled, nothing changed.", timeout=3, markup=False)
            return
        rolling = RollingRestart(
            steps,
            when_jobs_end=ask.answer == "other",
            main_pid=self._main_pid,
            registered_since=self._registered_since,
            polls=lambda: self._polls,
            running_jobs=self.running_job,
            host_trouble=self.host_trouble,
            show=self._show_rolling,
            report=self._report_outcomes,
        )
        self._rolling = rolling
        try:
            summary = await rolling.run()
        finally:
            self._rolling = None
            self._show_rolling("")
        if rolling.done == len(steps):
            self.notify(summary, timeout=10, markup=False)
        else:
            self.notify(summary, severity="warning", timeout=10, markup=False)

    def _show_rolling(self, words: str) -> None:
        line = self.query_one("#workers-rolling", Static)
        line.update(words)
        line.display = bool(words)

    def _report_outcomes(self, outcomes: Sequence[Outcome], host_label: str) -> None:
        report(self, outcomes, host_label, self.journal_focus)

    def action_toggle_selected(self) -> None:
        current = self.current_key()
        if current is not None:
            self._set_selected(current, current not in self._selected)
            self.table.action_cursor_down()  # as its description says (see BINDINGS)

    def action_clear_selection(self) -> None:
        for key in list(self._selected):
            self._set_selected(key, False)

    def _set_selected(self, key: str, selected: bool) -> None:
        if key not in self.table.shown:
            return
        if selected:
            self._selected.add(key)
        else:
            self._selected.discard(key)
        self._update_cells(key, {"sel": (SELECTED_MARK if selected else "", "unit--selected")})
        self._show_counts()
        self.refresh_bindings()  # Esc clears a selection: offered only while there is one

    def action_journal(self) -> None:
        current = self.current_key()
        if current is not None:
            label = self.host_of(current) if self.several else None
            self.journal_focus.show(self.unit_of(current), label)

    def action_journal_all(self) -> None:
        self.journal_focus.show(None)
