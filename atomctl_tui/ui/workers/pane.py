"""The Workers pane: the atom-worker units, live from systemd's signals, and keys that act on them.

Rows are keyed by unit name (with several hosts: by host and unit name) and updated cell by
cell (never cleared), so the cursor and the scroll position stay where the admin left them
while units change underneath. With several hosts a Host column comes first, every action
goes to the unit's own host, and a host that is down keeps its last known rows, with the
reason above the table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.fleet import Fleet
from atomctl_tui.gearman.admin import WorkerConnection
from atomctl_tui.gearman.registration import Owners, registration_of
from atomctl_tui.gearman.watch import JobServersWatch
from atomctl_tui.systemd.actions import Action, UnitActions
from atomctl_tui.systemd.bus import ConnectionStatus
from atomctl_tui.systemd.unit_text import (
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
from atomctl_tui.systemd.units import UnitState, is_template, matches
from atomctl_tui.ui.messages import JobServersPolled, ShowUnitJournal, UnitsChanged
from atomctl_tui.ui.unit_action_flow import HostUnits, run_unit_action
from atomctl_tui.ui.widgets.pane import Pane
from atomctl_tui.ui.widgets.table_cells import update_cell_growing

TICK_SECONDS = 5.0  # uptimes advance, columns give back width
SELECTED_MARK = "●"

# (column key, header); the order is the order of importance, since at 80 columns the last
# ones scroll out of view. HOST_COLUMN comes after the first with several hosts.
HOST_COLUMN = ("host", "Host")
COLUMNS = (
    ("sel", ""),
    ("unit", "Unit"),
    ("state", "State"),
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

MUTATING_ACTIONS = frozenset(
    {
        "start",
        "stop",
        "restart",
        "enable",
        "disable",
        "reset_failed",
        "add_worker",
        "remove_worker",
        "restart_all",
    }
)


class WorkersPane(Pane):
    PANE_TITLE = "Workers"
    COMPONENT_CLASSES = {
        "unit--failed",
        "unit--active",
        "unit--changing",
        "unit--inactive",
        "unit--warning",
        "unit--selected",
    }
    BINDINGS = [
        Binding("s", "start", "Start", id="workers.start"),
        Binding("x", "stop", "Stop", id="workers.stop"),
        Binding("r", "restart", "Restart", id="workers.restart"),
        Binding("e", "enable", "Enable", id="workers.enable"),
        Binding("d", "disable", "Disable", id="workers.disable"),
        Binding("f", "reset_failed", "Reset failed", id="workers.reset_failed"),
        Binding("a", "add_worker", "Add worker", id="workers.add_worker"),
        Binding(
            "delete,minus",
            "remove_worker",
            "Remove worker",
            key_display="del",
            id="workers.remove_worker",
        ),
        Binding("R", "restart_all", "Restart all", id="workers.restart_all"),
        Binding("space", "toggle_selected", "Select", id="workers.select"),
        Binding("j", "journal", "Unit journal", id="workers.journal"),
        Binding("J", "journal_all", "All workers' journal", id="workers.journal_all"),
        Binding("up", "cursor_up", "Previous unit", show=False, id="workers.up"),
        Binding("down", "cursor_down", "Next unit", show=False, id="workers.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="workers.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="workers.page_down"),
        Binding("home", "first", "First unit", show=False, id="workers.first"),
        Binding("end", "last", "Last unit", show=False, id="workers.last"),
        Binding("left", "scroll_left", "Scroll left", show=False, id="workers.left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="workers.right"),
    ]

    def __init__(
        self,
        fleet: Fleet,
        worker_patterns: Sequence[str],
        job_servers: JobServersWatch,
        *,
        read_only: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.fleet = fleet
        self.worker_patterns = tuple(worker_patterns)
        self.job_servers = job_servers
        self.read_only = read_only
        # All keyed by row key (``row_key``).
        self._states: dict[str, UnitState] = {}
        self._hosts: dict[str, str] = {}  # the host of each row
        self._cells: dict[str, dict[str, Cell]] = {}
        self._selected: set[str] = set()
        # Each job server's latest connections, and the host its SSH connection reaches it by.
        self._gearman: dict[str, list[WorkerConnection]] | None = None
        self._via: dict[str, str | None] = {}  # per server, the host its SSH goes through
        self._statuses: dict[str, ConnectionStatus] = {}
        self._unsubscribes: list[Callable[[], None]] = []
        self._styles: dict[str, Style] = {}
        self._adding = False
        self.columns = COLUMNS
        self.actions: dict[str, UnitActions] = {}

    def compose(self) -> ComposeResult:
        self.several = self.fleet.several
        if self.several:
            self.columns = (COLUMNS[0], HOST_COLUMN, *COLUMNS[1:])
        yield Static("", id="workers-status", markup=False)
        table: DataTable[Text] = DataTable(id="workers-table", cursor_type="row")
        # The pane is the focus stop (Tab moves between panes); it drives the table's cursor.
        table.can_focus = False
        for key, header in self.columns:
            table.add_column(header, key=key)
        yield table

    def on_mount(self) -> None:
        super().on_mount()
        self._cache_styles()
        for member in self.fleet.members:
            label = member.label
            self._statuses[label] = ConnectionStatus(False, "connecting to systemd")
            self.actions[label] = member.units.actions(self.worker_patterns)
            self._unsubscribes.append(
                member.units.subscribe(
                    lambda update, label=label: self.post_message(UnitsChanged(update, label))
                )
            )
        self._unsubscribes.append(
            self.job_servers.subscribe(
                lambda snapshots: self.post_message(JobServersPolled(snapshots))
            )
        )
        self.set_interval(TICK_SECONDS, self._tick)

    def on_unmount(self) -> None:
        for unsubscribe in self._unsubscribes:
            unsubscribe()

    def row_key(self, host_label: str, unit: str) -> str:
        """A row's key: the unit's name, or with several hosts ``host unit`` (neither a host
        label nor a unit name holds a space)."""
        return f"{host_label} {unit}" if self.several else unit

    def unit_of(self, key: str) -> str:
        return self._states[key].name

    def host_of(self, key: str) -> str:
        return self._hosts[key]

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#workers-table", DataTable)

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
            self._show_status()
        added = False
        for name, state in update.changed.items():
            if self.is_worker(name):
                added |= self._upsert(label, state)
        for name in update.removed:
            self._remove(self.row_key(label, name))
        if added:
            self._sort()
        if update.changed or update.removed:
            self._show_counts()

    def on_job_servers_polled(self, message: JobServersPolled) -> None:
        """Each unit's MainPID is matched to the servers' connections."""
        reachable = [s for s in message.snapshots if s.reachable]
        if not reachable:
            return  # unreachable: no reply, so nothing is known about workers
        if self._gearman is None:
            self._gearman = {}
        for snapshot in reachable:
            self._gearman[snapshot.server] = list(snapshot.connections)
            self._via[snapshot.server] = snapshot.via
        for key in self._states:
            self._update_cells(key, {"gearman": self._gearman_cell(key)})

    def _upsert(self, host_label: str, state: UnitState) -> bool:
        """Show ``state``; True when it is a new row."""
        key = self.row_key(host_label, state.name)
        self._states[key] = state
        self._hosts[key] = host_label
        cells = self._row_cells(key)
        if key not in self._cells:
            self._cells[key] = cells
            self.table.add_row(*(self._cell_text(cells[c]) for c, _ in self.columns), key=key)
            return True
        self._update_cells(key, cells)
        return False

    def _update_cells(self, name: str, cells: dict[str, Cell]) -> None:
        shown = self._cells[name]
        table = self.table
        for key, cell in cells.items():
            if shown.get(key) != cell:
                shown[key] = cell
                update_cell_growing(table, name, key, self._cell_text(cell), cell_len(cell[0]))

    def _remove(self, key: str) -> None:
        if key in self._cells:
            self.table.remove_row(key)
            del self._cells[key]
        self._states.pop(key, None)
        self._hosts.pop(key, None)
        self._selected.discard(key)

    def _sort(self) -> None:
        current = self.current_key()
        if self.several:
            self.table.sort(
                "host", "unit", key=lambda cells: (cells[0].plain, natural_key(cells[1].plain))
            )
        else:
            self.table.sort("unit", key=lambda label: natural_key(label.plain))
        if current is not None:
            self.table.move_cursor(row=self.table.get_row_index(current), animate=False)

    def _tick(self) -> None:
        now = time.time()
        for key, state in self._states.items():
            self._update_cells(key, {"up": (uptime_text(state, now), "")})
        self._shrink_columns()

    def _shrink_columns(self) -> None:
        """Give back the width a passing long text took (say `activating (auto-restart)`)."""
        table = self.table
        for key, header in self.columns:
            widest = max(
                self._cells.items(), key=lambda item: cell_len(item[1][key][0]), default=None
            )
            if widest is None:
                return
            name, cells = widest
            needed = max(cell_len(cells[key][0]), cell_len(header))
            if needed < table.columns[ColumnKey(key)].content_width:
                # Asked to fit a cell narrower than the column, the table measures the column.
                table.update_cell(name, key, self._cell_text(cells[key]), update_width=True)

    def _row_cells(self, key: str) -> dict[str, Cell]:
        state = self._states[key]
        kind = f"unit--{state_kind(state)}"
        result = result_text(state)  # kept in sight while a unit is failed or restarting
        cells = {
            "sel": (SELECTED_MARK if key in self._selected else "", "unit--selected"),
            "unit": (unit_label(state.name), ""),
            "state": (f"{state_text(state)}: {result}" if result else state_text(state), kind),
            "gearman": self._gearman_cell(key),
            "file": (state.unit_file_state, ""),
            "pid": (pid_text(state), ""),
            "up": (uptime_text(state, time.time()), ""),
            "restarts": (restarts_text(state), ""),
            "mem": (memory_text(state), ""),
            "cpu": (cpu_text(state), ""),
        }
        if self.several:
            cells["host"] = (self._hosts[key], "")
        return cells

    def _gearman_cell(self, key: str) -> Cell:
        owners: Owners | None = None
        if self.several:
            fleet = self.fleet

            def owners(server: str, connection: WorkerConnection) -> frozenset[str]:
                return fleet.owners(connection.ip, self._via.get(server))

        registration = registration_of(
            self._states[key], self._gearman, host=self._hosts[key], owners=owners
        )
        return (registration.text, "unit--warning" if registration.is_warning else "")

    def _cell_text(self, cell: Cell) -> Text:
        text, component = cell
        return Text(text, style=self._styles.get(component, ""), no_wrap=True)

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
        self._cache_styles()  # a new theme: colour the cells again
        for name, cells in self._cells.items():
            for key, cell in cells.items():
                if cell[1]:
                    self.table.update_cell(name, key, self._cell_text(cell))

    def _show_status(self) -> None:
        status = self.query_one("#workers-status", Static)
        down = [(label, s.detail) for label, s in self._statuses.items() if not s.connected]
        if self.several:
            words = "\n".join(f"{label}: {detail}" for label, detail in down)
        else:
            words = "\n".join(detail for _label, detail in down)
        status.update(words)
        status.display = bool(down)

    def _show_counts(self) -> None:
        failed = sum(1 for s in self._states.values() if state_kind(s) == "failed")
        parts = [f"{len(self._states)} units"]
        if self.several:
            parts.append(f"{len(self._statuses)} hosts")
        if failed:
            parts.append(f"{failed} failed")
        if self._selected:
            parts.append(f"{len(self._selected)} selected")
        if self.read_only:
            parts.append("read-only")
        self.border_subtitle = " · ".join(parts)

    # --- keys ---

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In --read-only no action is offered: hidden from the footer, the help and the palette.
        return not (action in MUTATING_ACTIONS and self.read_only)

    def current_key(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value

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
            self.notify("No worker unit here to act on.", severity="warning", timeout=4)
            return
        self.run_worker(self._act_and_clear(action, keys), group="unit-actions")

    async def _act_and_clear(self, action: Action, keys: Sequence[str]) -> None:
        outcomes = await run_unit_action(self, self._by_host(keys), action)
        if outcomes:
            for key in keys:
                self._set_selected(key, False)

    def action_start(self) -> None:
        self._act(Action.START, self.targets())

    def action_stop(self) -> None:
        self._act(Action.STOP, self.targets())

    def action_restart(self) -> None:
        self._act(Action.RESTART, self.targets())

    def action_enable(self) -> None:
        self._act(Action.ENABLE, self.targets())

    def action_disable(self) -> None:
        self._act(Action.DISABLE, self.targets())

    def action_reset_failed(self) -> None:
        self._act(Action.RESET_FAILED, self.targets())

    def action_add_worker(self) -> None:
        if self._adding:
            # The next free instance is only known once this one exists.
            self.notify("Already adding a worker: one at a time.", severity="warning", timeout=4)
            return
        # On the host of the row under the cursor (the first host when there is none).
        current = self.current_key()
        label = self.host_of(current) if current is not None else self.fleet.labels[0]
        self._adding = True
        self.run_worker(self._add_worker(self.actions[label]), group="unit-actions")

    async def _add_worker(self, actions: UnitActions) -> None:
        try:
            await run_unit_action(self, [(actions, [])], Action.ADD_WORKER)
        finally:
            self._adding = False

    def action_remove_worker(self) -> None:
        self._act(Action.REMOVE_WORKER, self.targets())

    def action_restart_all(self) -> None:
        groups = [(actions, actions.running_workers()) for actions in self.actions.values()]
        groups = [(actions, units) for actions, units in groups if units]
        if not groups:
            self.notify("No worker is running: nothing to restart.", severity="warning")
            return
        self.run_worker(run_unit_action(self, groups, Action.RESTART), group="unit-actions")

    def action_toggle_selected(self) -> None:
        current = self.current_key()
        if current is not None:
            self._set_selected(current, current not in self._selected)
            self.table.action_cursor_down()

    def _set_selected(self, key: str, selected: bool) -> None:
        if key not in self._cells:
            return
        if selected:
            self._selected.add(key)
        else:
            self._selected.discard(key)
        self._update_cells(key, {"sel": (SELECTED_MARK if selected else "", "unit--selected")})
        self._show_counts()

    def action_journal(self) -> None:
        current = self.current_key()
        if current is not None:
            label = self.host_of(current) if self.several else None
            self.post_message(ShowUnitJournal(self.unit_of(current), label))

    def action_journal_all(self) -> None:
        self.post_message(ShowUnitJournal(None))

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_page_up(self) -> None:
        self.table.action_page_up()

    def action_page_down(self) -> None:
        self.table.action_page_down()

    def action_first(self) -> None:
        self.table.action_scroll_top()

    def action_last(self) -> None:
        self.table.action_scroll_bottom()

    def action_scroll_left(self) -> None:
        self.table.action_cursor_left()

    def action_scroll_right(self) -> None:
        self.table.action_cursor_right()
