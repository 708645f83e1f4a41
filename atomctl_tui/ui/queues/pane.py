"""The Queues pane: queued and running jobs per AtoM job class, with alerts and a trend.

Rows are keyed by server and function and updated cell by cell, so the cursor and the scroll
position survive every poll; only the cells whose value changed are touched. A server that
lists more functions than a snapshot keeps (``MAX_FUNCTIONS_KEPT``, the busiest) has the rest
counted in the frame: "N more functions not listed".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input
from textual.widgets.data_table import ColumnKey

from atomctl_tui.config import Settings
from atomctl_tui.fleet import Fleet
from atomctl_tui.gearman.queue_rows import (
    NO_CAPABLE_WORKER,
    WAITING_WITHOUT_WORKER,
    Alert,
    QueueRow,
    build_queue_rows,
    find_alerts,
)
from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.gearman.trend import WaitingHistory
from atomctl_tui.gearman.watch import JobServersWatch
from atomctl_tui.ui.messages import JobServersPolled
from atomctl_tui.ui.queues.jobs_screen import JobsScreen
from atomctl_tui.ui.widgets.keyed_table import KeyedTable
from atomctl_tui.ui.widgets.pane import Pane


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False


COLUMNS = (
    Column("alert", "!"),
    Column("waiting", "Wait", numeric=True),
    Column("running", "Run", numeric=True),
    Column("workers", "Wkrs", numeric=True),
    Column("job_class", "Job class"),
    Column("trend", "Waiting, 5 min"),
    Column("high", "High", numeric=True),
    Column("normal", "Norm", numeric=True),
    Column("low", "Low", numeric=True),
    Column("total", "Total", numeric=True),
    Column("worker_type", "Type"),
    Column("site", "Site"),
    Column("description", "Description"),
    Column("server", "Server"),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
NUMERIC = {c.key for c in COLUMNS if c.numeric}


def _alert_mark(row: QueueRow) -> str:
    """``!!`` jobs wait and nobody can run them; ``!`` AtoM would refuse this job type."""
    if WAITING_WITHOUT_WORKER in row.alerts:
        return "!!"
    return "!" if NO_CAPABLE_WORKER in row.alerts else ""


class Cell(Text):
    """A cell's text, and the value it sorts by (a number sorts as a number)."""

    __slots__ = ("sort_value",)

    def __init__(self, value: object, **style) -> None:
        super().__init__(str(value), **style)
        self.sort_value = value if isinstance(value, int) else str(value).lower()


def _cell(column: str, value: object) -> Cell:
    if column == "alert":
        return Cell(value, style="bold red" if value == "!!" else "yellow")
    if column in NUMERIC:
        return Cell(value, justify="right")
    return Cell(value)


def _sort_value(cell: Cell) -> int | str:
    return cell.sort_value


class QueuesPane(Pane, can_focus=False):
    PANE_TITLE = "Queues"
    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/", id="queues.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="queues.clear_filter"),
        Binding("s", "sort_next", "Sort", id="queues.sort"),
        Binding("S", "sort_reverse", "Reverse sort", id="queues.sort_reverse"),
        Binding("j", "jobs", "Jobs", id="queues.jobs"),
    ]

    def __init__(
        self,
        fleet: Fleet,
        settings: Settings,
        job_servers: JobServersWatch,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.fleet = fleet
        self.settings = settings
        self.job_servers = job_servers
        self._unsubscribe: Callable[[], None] | None = None
        self.rows: dict[str, QueueRow] = {}
        self.left_out = 0
        """Functions the servers listed beyond what their snapshots keep: not in the table."""
        self.alerts: list[Alert] = []
        self.history = WaitingHistory()
        self.filter_text = ""
        self.sort_column = "waiting"
        self.sort_reverse = True
        # row key -> (row object, trend) the table shows, to skip a row nothing changed in
        self._shown: dict[str, tuple[QueueRow, str]] = {}
        self._seen: tuple = ()  # what the latest poll said, to skip rebuilding the same rows
        self._row_objects: dict = {}  # build_queue_rows' memory: unchanged rows stay the same

    def compose(self) -> ComposeResult:
        self.table: KeyedTable[object] = KeyedTable(_cell, id="queues-table", zebra_stripes=True)
        for column in COLUMNS:
            self.table.add_column(self._label(column), key=column.key)
        self._order_table()
        yield self.table
        yield Input(placeholder="filter: job class, site, description…", id="queues-filter")

    def on_mount(self) -> None:
        super().on_mount()
        self.filter_box = self.query_one("#queues-filter", Input)
        self.filter_box.display = False
        self._unsubscribe = self.job_servers.subscribe(
            lambda snapshots: self.post_message(JobServersPolled(snapshots))
        )

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def on_job_servers_polled(self, message: JobServersPolled) -> None:
        self.show(message.snapshots)

    # -- data -------------------------------------------------------------------------------

    def show(self, snapshots: tuple[ServerSnapshot, ...]) -> None:
        """Take one poll: rebuild the model, then touch only the cells that changed."""
        seen = tuple((s.server, s.reachable, s.functions, s.functions_left_out) for s in snapshots)
        changed = seen != self._seen
        if changed:
            self._seen = seen
            settings = self.settings
            rows = build_queue_rows(
                snapshots,
                site_prefix=settings.site_prefix,
                worker_types=settings.worker_types,
                reuse=self._row_objects,
            )
            self.rows = {row.key: row for row in rows}
            self.alerts = find_alerts(snapshots, rows)
            self.left_out = sum(s.functions_left_out for s in snapshots)
            self._show_alerts()
        # Most polls of a quiet server change nothing: no row, and no trend until time moves
        # on by a bucket. Then there is nothing to do.
        if changed or not self.history.is_current():
            self.history.record((row.key, row.waiting) for row in self.rows.values())
            self._sync_table()

    def _values(self, row: QueueRow, trend: str) -> dict[str, object]:
        values = (
            _alert_mark(row),
            row.waiting,
            row.running,
            row.workers,
            row.job_class,
            trend,
            row.high,
            row.normal,
            row.low,
            row.total,
            row.worker_type,
            row.site,
            row.description,
            row.server,
        )
        return dict(zip(COLUMN_KEYS, values, strict=True))

    def _matches(self, row: QueueRow) -> bool:
        if not self.filter_text:
            return True
        needle = self.filter_text.lower()
        return any(
            needle in field.lower()
            for field in (
                row.job_class,
                row.worker_type,
                row.site,
                row.description,
                row.server,
                row.function,
            )
        )

    def _sync_table(self) -> None:
        """Show the rows the filter lets through; re-sorted only when an order may change."""
        table = self.table
        visible = {key: row for key, row in self.rows.items() if self._matches(row)}
        table.keep_rows(visible)
        shown: dict[str, tuple[QueueRow, str]] = {}
        for key, row in visible.items():
            trend = self.history.line(key)
            # The same row object and trend: nothing in it changed, no values to compare.
            if self._shown.get(key) != (row, trend):
                table.upsert(key, self._values(row, trend))
            shown[key] = (row, trend)
        self._shown = shown
        table.resort()

    def _order_table(self) -> None:
        """Sort by the sort column; the cursor stays on the row it was on."""
        self.table.order_by(self.sort_column, key=_sort_value, reverse=self.sort_reverse)

    def _show_alerts(self) -> None:
        """A summary in the frame (no row of the table lost at 80x24); rows carry the marks."""
        waiting = sum(1 for a in self.alerts if a.kind == WAITING_WITHOUT_WORKER)
        unserved = sum(1 for a in self.alerts if a.kind == NO_CAPABLE_WORKER)
        summary = Text()
        if waiting:
            summary.append(f" !! {waiting} waiting w/o worker ", style="bold red")
        if unserved:
            summary.append(f" ! {unserved} types w/o worker ", style="bold yellow")
        if self.left_out:
            summary.append(f" {self.left_out:,} more functions not listed ", style="yellow")
        self.border_subtitle = summary if summary else None

    # -- keys -------------------------------------------------------------------------------

    def _label(self, column: Column) -> Text:
        if column.key != self.sort_column:
            return Text(column.label)
        return Text(column.label + ("▼" if self.sort_reverse else "▲"), style="bold")

    def _relabel(self) -> None:
        table = self.table
        for column in COLUMNS:
            table.columns[ColumnKey(column.key)].label = self._label(column)
        table.refresh()

    def action_sort_next(self) -> None:
        index = (COLUMN_KEYS.index(self.sort_column) + 1) % len(COLUMN_KEYS)
        self.sort_column = COLUMN_KEYS[index]
        self.sort_reverse = self.sort_column in NUMERIC  # biggest numbers first
        self._relabel()
        self._order_table()

    def action_sort_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._relabel()
        self._order_table()

    def action_filter(self) -> None:
        self.filter_box.display = True
        self.filter_box.focus()

    def action_clear_filter(self) -> None:
        self.filter_box.value = ""
        self.filter_box.display = False
        self.table.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value.strip()
        self._sync_table()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.filter_text:
            event.input.display = False
        self.table.focus()

    def selected_row(self) -> QueueRow | None:
        key = self.table.cursor_key
        return self.rows.get(key) if key is not None else None

    def action_jobs(self) -> None:
        row = self.selected_row()
        targets = self.fleet.gearman_targets(self.settings)
        target = next((t for t in targets if row is not None and t.name == row.server), targets[0])
        self.app.push_screen(JobsScreen(target, poll_interval=self.settings.poll_interval))
