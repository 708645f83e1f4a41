"""The Workers pane: the atom-worker units, live from systemd's signals, and keys that act on them.

Rows are keyed by unit name and updated cell by cell (never cleared), so the cursor and the
scroll position stay where the admin left them while units change underneath.
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
from atomctl_tui.gearman_admin import WorkerConnection
from atomctl_tui.registration import registration_of
from atomctl_tui.systemd_bus import ConnectionStatus
from atomctl_tui.ui.messages import GearmanWorkersSeen, ShowUnitJournal, UnitsChanged
from atomctl_tui.ui.panes.pane import Pane
from atomctl_tui.ui.unit_action_flow import run_unit_action
from atomctl_tui.unit_actions import Action, UnitActions
from atomctl_tui.unit_text import (
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
from atomctl_tui.worker_units import UnitState, is_template, matches

TICK_SECONDS = 5.0  # uptimes advance, columns give back width
SELECTED_MARK = "●"

# (column key, header); the order is the order of importance, since at 80 columns the last
# ones scroll out of view.
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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._states: dict[str, UnitState] = {}
        self._cells: dict[str, dict[str, Cell]] = {}
        self._selected: set[str] = set()
        self._gearman: dict[str, list[WorkerConnection]] | None = None
        self._status = ConnectionStatus(connected=False, detail="connecting to systemd")
        self._unsubscribe: Callable[[], None] | None = None
        self._styles: dict[str, Style] = {}
        self._adding = False

    def compose(self) -> ComposeResult:
        yield Static("", id="workers-status", markup=False)
        table: DataTable[Text] = DataTable(id="workers-table", cursor_type="row")
        # The pane is the focus stop (Tab moves between panes); it drives the table's cursor.
        table.can_focus = False
        for key, header in COLUMNS:
            table.add_column(header, key=key)
        yield table

    def on_mount(self) -> None:
        super().on_mount()
        self._cache_styles()
        self.actions = UnitActions(self.app.units, self.app.worker_patterns)
        self._unsubscribe = self.app.units.subscribe(
            lambda update: self.post_message(UnitsChanged(update))
        )
        self.set_interval(TICK_SECONDS, self._tick)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#workers-table", DataTable)

    def is_worker(self, name: str) -> bool:
        return (
            name != JOB_SERVER_UNIT
            and not is_template(name)
            and matches(name, self.app.worker_patterns)
        )

    # --- systemd and Gearman updates ---

    def on_units_changed(self, message: UnitsChanged) -> None:
        update = message.update
        if update.status is not None:
            self._status = update.status
            self._show_status()
        added = False
        for name, state in update.changed.items():
            if self.is_worker(name):
                added |= self._upsert(state)
        for name in update.removed:
            self._remove(name)
        if added:
            self._sort()
        if update.changed or update.removed:
            self._show_counts()

    def on_gearman_workers_seen(self, message: GearmanWorkersSeen) -> None:
        message.stop()
        if self._gearman is None:
            self._gearman = {}
        self._gearman[message.server] = list(message.connections)
        for name in self._states:
            self._update_cells(name, {"gearman": self._gearman_cell(self._states[name])})

    def _upsert(self, state: UnitState) -> bool:
        """Show ``state``; True when it is a new row."""
        self._states[state.name] = state
        cells = self._row_cells(state)
        if state.name not in self._cells:
            self._cells[state.name] = cells
            self.table.add_row(*(self._cell_text(cells[key]) for key, _ in COLUMNS), key=state.name)
            return True
        self._update_cells(state.name, cells)
        return False

    def _update_cells(self, name: str, cells: dict[str, Cell]) -> None:
        shown = self._cells[name]
        table = self.table
        for key, cell in cells.items():
            if shown.get(key) != cell:
                shown[key] = cell
                # Columns only grow: asking the table to fit a narrower cell makes it measure
                # the whole column again, for every cell (quadratic with 200 units).
                grows = cell_len(cell[0]) > table.columns[ColumnKey(key)].content_width
                table.update_cell(name, key, self._cell_text(cell), update_width=grows)

    def _remove(self, name: str) -> None:
        if name in self._cells:
            self.table.remove_row(name)
            del self._cells[name]
        self._states.pop(name, None)
        self._selected.discard(name)

    def _sort(self) -> None:
        current = self.current_unit()
        self.table.sort("unit", key=lambda label: natural_key(label.plain))
        if current is not None:
            self.table.move_cursor(row=self.table.get_row_index(current), animate=False)

    def _tick(self) -> None:
        now = time.time()
        for name, state in self._states.items():
            self._update_cells(name, {"up": (uptime_text(state, now), "")})
        self._shrink_columns()

    def _shrink_columns(self) -> None:
        """Give back the width a passing long text took (say `activating (auto-restart)`)."""
        table = self.table
        for key, header in COLUMNS:
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

    def _row_cells(self, state: UnitState) -> dict[str, Cell]:
        kind = f"unit--{state_kind(state)}"
        result = result_text(state)  # kept in sight while a unit is failed or restarting
        return {
            "sel": (SELECTED_MARK if state.name in self._selected else "", "unit--selected"),
            "unit": (unit_label(state.name), ""),
            "state": (f"{state_text(state)}: {result}" if result else state_text(state), kind),
            "gearman": self._gearman_cell(state),
            "file": (state.unit_file_state, ""),
            "pid": (pid_text(state), ""),
            "up": (uptime_text(state, time.time()), ""),
            "restarts": (restarts_text(state), ""),
            "mem": (memory_text(state), ""),
            "cpu": (cpu_text(state), ""),
        }

    def _gearman_cell(self, state: UnitState) -> Cell:
        registration = registration_of(state, self._gearman)
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
        status.update("" if self._status.connected else self._status.detail)
        status.display = not self._status.connected

    def _show_counts(self) -> None:
        failed = sum(1 for s in self._states.values() if state_kind(s) == "failed")
        parts = [f"{len(self._states)} units"]
        if failed:
            parts.append(f"{failed} failed")
        if self._selected:
            parts.append(f"{len(self._selected)} selected")
        if self.app.read_only:
            parts.append("read-only")
        self.border_subtitle = " · ".join(parts)

    # --- keys ---

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In --read-only no action is offered: hidden from the footer, the help and the palette.
        return not (action in MUTATING_ACTIONS and self.app.read_only)

    def current_unit(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value

    def targets(self) -> list[str]:
        """The selected units in table order, else the one under the cursor."""
        if self._selected:
            ordered = [row.key.value for row in self.table.ordered_rows]
            return [name for name in ordered if name in self._selected]
        current = self.current_unit()
        return [current] if current is not None else []

    def _act(self, action: Action, units: Sequence[str]) -> None:
        if not units:
            self.notify("No worker unit here to act on.", severity="warning", timeout=4)
            return
        self.run_worker(self._act_and_clear(action, units), group="unit-actions")

    async def _act_and_clear(self, action: Action, units: Sequence[str]) -> None:
        outcomes = await run_unit_action(self, self.actions, action, units)
        if outcomes:
            for name in units:
                self._set_selected(name, False)

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
        self._adding = True
        self.run_worker(self._add_worker(), group="unit-actions")

    async def _add_worker(self) -> None:
        try:
            await run_unit_action(self, self.actions, Action.ADD_WORKER, [])
        finally:
            self._adding = False

    def action_remove_worker(self) -> None:
        self._act(Action.REMOVE_WORKER, self.targets())

    def action_restart_all(self) -> None:
        running = self.actions.running_workers()
        if not running:
            self.notify("No worker is running: nothing to restart.", severity="warning")
            return
        self._act(Action.RESTART, running)

    def action_toggle_selected(self) -> None:
        current = self.current_unit()
        if current is not None:
            self._set_selected(current, current not in self._selected)
            self.table.action_cursor_down()

    def _set_selected(self, name: str, selected: bool) -> None:
        if name not in self._cells:
            return
        if selected:
            self._selected.add(name)
        else:
            self._selected.discard(name)
        self._update_cells(name, {"sel": (SELECTED_MARK if selected else "", "unit--selected")})
        self._show_counts()

    def action_journal(self) -> None:
        current = self.current_unit()
        if current is not None:
            self.post_message(ShowUnitJournal(current))

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
