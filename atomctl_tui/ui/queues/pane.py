"""The Queues pane: queued and running jobs per AtoM job class, with alerts and a trend.

Rows are keyed by server and function and updated cell by cell, so the cursor and the scroll
position survive every poll; only the cells whose value changed are touched. A server that
lists more functions than a snapshot keeps (``MAX_FUNCTIONS_KEPT``, the busiest) has the rest
counted in the frame: "N more functions not listed".

The columns are chosen by the pane's width (``choose_columns``), again on every resize: the
least useful go first, none is left off-screen behind a horizontal scroll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.message import Message
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
from atomctl_tui.health.sources import asked_server
from atomctl_tui.journal.worker_activity import ActivitySnapshot, WorkerActivity
from atomctl_tui.ui.messages import JobServersPolled
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
# Which columns a narrow pane keeps, most useful first; the rest are dropped from the end, as
# htop and k9s do. Whether anything is stuck comes first: the alert, waiting, running and the
# workers, with the job class (cut to fit if need be, never dropped). With several job servers
# the server is the only way to tell two servers' rows apart: it is never dropped. Then the whole
# job class name, the trend, the total (waiting + running: already shown), the priorities,
# the site (nearly always "this site"), the worker type and the description (fixed words);
# the server last when there is one.
KEEP_ORDER = (
    "alert",
    "waiting",
    "running",
    "workers",
    "job_class",
    "job_class_full",  # the job class widened from its least width to its whole names
    "trend",
    "total",
    "high",
    "normal",
    "low",
    "site",
    "worker_type",
    "description",
    "server",
)
JOB_CLASS_LEAST_WIDTH = 16  # what other columns leave the job class at the least
JOB_CLASS_NARROWEST = 8  # cut further only to keep the counts on an 80-column screen
CELL_PADDING = 2  # a DataTable cell's padding, one each side
NOT_ON_SITE = "not on this site"


def choose_columns(
    widths: Mapping[str, int], available: int, *, several_servers: bool
) -> tuple[tuple[str, ...], int | None]:
    """The columns to show, in display order, and the job class's width when it must be cut
    (None: its whole names fit). ``widths``: each column's content width."""
    full = widths["job_class"]
    least = min(full, JOB_CLASS_LEAST_WIDTH)
    chosen: set[str] = set()
    used = 0
    order: tuple[str, ...] = KEEP_ORDER
    if several_servers:  # never dropped: the job class is cut first
        order = KEEP_ORDER[:-1]
        chosen.add("server")
        used = widths["server"] + CELL_PADDING
    cut_to: int | None = None
    whole = full <= least  # the job class has its whole width
    for key in order:
        if key == "job_class_full":
            extra = full - least
            if used + extra > available:
                break
            used += extra
            whole = True
            continue
        need = (least if key == "job_class" else widths[key]) + CELL_PADDING
        if key != "job_class" and used + need > available:
            if "job_class" not in chosen:
                continue  # a pane narrower than the counts: the job class still comes
            break
        chosen.add(key)
        used += need
    if not whole:  # the job class takes what the others leave
        others = sum(widths[key] + CELL_PADDING for key in chosen if key != "job_class")
        cut_to = max(JOB_CLASS_NARROWEST, available - others - CELL_PADDING)
    return tuple(key for key in COLUMN_KEYS if key in chosen), cut_to


@dataclass
class WorkerAbilitiesChanged(Message, bubble=False):
    """What a host's workers said at start, from its journal; posted from the journal's
    thread."""

    snapshot: ActivitySnapshot


def _class_text(row: QueueRow) -> str:
    return f"{row.job_class} ({NOT_ON_SITE})" if row.not_on_site else row.job_class


def _description(row: QueueRow) -> str:
    if row.not_on_site:
        return f'{NOT_ON_SITE}: its workers say "Ability not defined" (plugin not enabled)'
    return row.description


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


def _cell(column: str, value: object, job_class_width: int | None = None) -> Cell:
    """``job_class_width``: the job class column's width when its names must be cut."""
    if column == "job_class" and job_class_width is not None:
        cell = _cell(column, value)
        cell.truncate(job_class_width, overflow="ellipsis")
        return cell
    if column == "alert":
        return Cell(value, style="bold red" if value == "!!" else "yellow")
    if column in NUMERIC:
        return Cell(value, justify="right")
    if column == "job_class" and str(value).endswith(f"({NOT_ON_SITE})"):
        return Cell(value, style="dim", no_wrap=True, overflow="ellipsis")
    return Cell(value, no_wrap=True, overflow="ellipsis")


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
        activities: Sequence[WorkerActivity] = (),
        id: str | None = None,
    ) -> None:
        """``activities``: what each host's workers said, from its journal (one per host): a
        job class they report as not defined is not on this site, and has no alert."""
        super().__init__(id=id)
        self.fleet = fleet
        self.settings = settings
        self.job_servers = job_servers
        self.activities = tuple(activities)
        targets = fleet.gearman_targets(settings)
        self.several_servers = len(targets) > 1
        self.asked_server = asked_server(fleet, settings, targets)
        """The server AtoM asks whether a worker can take a job; None when not known."""
        self._undefined: dict[str, frozenset[str]] = {}  # by host: classes not defined there
        self.undefined: frozenset[str] = frozenset()
        """The job classes this site's workers report as not defined: not on this site."""
        self._snapshots: tuple[ServerSnapshot, ...] = ()
        self._unsubscribes: list[Callable[[], None]] = []
        self.rows: dict[str, QueueRow] = {}
        self.left_out = 0
        """Functions the servers listed beyond what their snapshots keep: not in the table."""
        self.alerts: list[Alert] = []
        self.history = WaitingHistory()
        self.filter_text = ""
        self.sort_column = "waiting"
        self.sort_reverse = True
        self.shown_columns: tuple[str, ...] = COLUMN_KEYS
        self._job_class_width: int | None = None
        # row key -> (row object, trend) the table shows, to skip a row nothing changed in
        self._shown: dict[str, tuple[QueueRow, str]] = {}
        self._seen: tuple = ()  # what the latest poll said, to skip rebuilding the same rows
        self._row_objects: dict = {}  # build_queue_rows' memory: unchanged rows stay the same

    def compose(self) -> ComposeResult:
        self.table: KeyedTable[object] = KeyedTable(
            self._cell, id="queues-table", zebra_stripes=True
        )
        for column in COLUMNS:
            self.table.add_column(self._label(column), key=column.key)
        self._order_table()
        yield self.table
        yield Input(placeholder="filter: job class, site, description…", id="queues-filter")

    def on_mount(self) -> None:
        super().on_mount()
        self.filter_box = self.query_one("#queues-filter", Input)
        self.filter_box.display = False
        self._unsubscribes.append(
            self.job_servers.subscribe(
                lambda snapshots: self.post_message(JobServersPolled(snapshots))
            )
        )
        for activity in self.activities:
            self._unsubscribes.append(
                activity.subscribe(
                    lambda snapshot: self.post_message(WorkerAbilitiesChanged(snapshot))
                )
            )

    async def on_unmount(self) -> None:
        # Off the event loop: the activity's last listener gone, its journal watch may end
        # its journalctl and wait for its thread (boundedly).
        unsubscribes, self._unsubscribes = self._unsubscribes, []
        await asyncio.gather(*(asyncio.to_thread(unsubscribe) for unsubscribe in unsubscribes))

    def on_job_servers_polled(self, message: JobServersPolled) -> None:
        self.show(message.snapshots)

    def on_worker_abilities_changed(self, message: WorkerAbilitiesChanged) -> None:
        snapshot = message.snapshot
        classes = frozenset(c for cs in snapshot.undefined_abilities.values() for c in cs)
        self._undefined[snapshot.host_label] = classes
        undefined = frozenset().union(*self._undefined.values())
        if undefined != self.undefined:
            self.undefined = undefined
            self._seen = ()  # the same polls make other rows now
            self.show(self._snapshots)

    def on_resize(self, event: Resize) -> None:
        self._fit_columns()

    # -- data -------------------------------------------------------------------------------

    def show(self, snapshots: tuple[ServerSnapshot, ...]) -> None:
        """Take one poll: rebuild the model, then touch only the cells that changed."""
        self._snapshots = snapshots
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
                asked_server=self.asked_server,
                undefined=self.undefined,
            )
            self.rows = {row.key: row for row in rows}
            self.alerts = find_alerts(snapshots, rows, self.asked_server)
            self.left_out = sum(s.functions_left_out for s in snapshots)
            self._show_alerts()
        # Most polls of a quiet server change nothing: no row, and no trend until time moves
        # on by a bucket. Then there is nothing to do.
        if changed or not self.history.is_current():
            self.history.record((row.key, row.waiting) for row in self.rows.values())
            self._sync_table()
        if changed:
            self._fit_columns()

    def _values(self, row: QueueRow, trend: str) -> dict[str, object]:
        values = (
            _alert_mark(row),
            row.waiting,
            row.running,
            row.workers,
            _class_text(row),
            trend,
            row.high,
            row.normal,
            row.low,
            row.total,
            row.worker_type,
            row.site,
            _description(row),
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

    def _cell(self, column: str, value: object) -> Cell:
        return _cell(column, value, self._job_class_width)

    def _content_widths(self) -> dict[str, int]:
        """Each column's width as the rows would draw it: its header (with the sort arrow's
        place) or its widest value."""
        widths = {c.key: len(c.label) + 1 for c in COLUMNS}
        widths["trend"] = max(widths["trend"], self.history.width)
        for row in self.rows.values():
            for key, value in self._values(row, "").items():
                if key != "trend":
                    widths[key] = max(widths[key], len(str(value)))
        return widths

    def _fit_columns(self) -> None:
        """Show the columns that fit the pane's width now (``choose_columns``)."""
        table = self.table
        width = table.size.width
        if not width:
            return
        available = width - table.styles.scrollbar_size_vertical
        shown, job_class_width = choose_columns(
            self._content_widths(), available, several_servers=self.several_servers
        )
        if (shown, job_class_width) == (self.shown_columns, self._job_class_width):
            return
        self.shown_columns, self._job_class_width = shown, job_class_width
        if self.sort_column not in shown:  # sorted by what nobody sees: back to the default
            self.sort_column, self.sort_reverse = "job_class", False
            if "waiting" in shown:
                self.sort_column, self.sort_reverse = "waiting", True
            self._order_table()
        by_key = {c.key: c for c in COLUMNS}
        table.set_columns(
            [(key, self._label(by_key[key])) for key in shown],
            widths={"job_class": job_class_width} if job_class_width is not None else None,
        )

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
            # Only a worker on the server AtoM asks counts: say which that is.
            asked = f" on {self.asked_server}" if self.asked_server is not None else ""
            summary.append(f" ! {unserved} types w/o worker{asked} ", style="bold yellow")
        if self.left_out:
            summary.append(f" {self.left_out:,} more functions not listed ", style="yellow")
        self.border_subtitle = summary if summary else None

    # -- keys -------------------------------------------------------------------------------

    def _label(self, column: Column) -> Text:
        """The header, with a place for the sort arrow kept on every column: a column's width
        never changes with the sort, so its arrow is never cut."""
        if column.key != self.sort_column:
            return Text(column.label + " ")
        return Text(column.label + ("▼" if self.sort_reverse else "▲"), style="bold")

    def _relabel(self) -> None:
        table = self.table
        for column in COLUMNS:
            shown = table.columns.get(ColumnKey(column.key))
            if shown is not None:
                shown.label = self._label(column)
        table.refresh()

    def action_sort_next(self) -> None:
        """The next column shown: one off-screen would sort by what nobody sees."""
        shown = self.shown_columns
        after = COLUMN_KEYS[COLUMN_KEYS.index(self.sort_column) + 1 :]
        self.sort_column = next((key for key in after if key in shown), shown[0])
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
        from atomctl_tui.ui.queues.jobs_screen import JobsScreen

        row = self.selected_row()
        targets = self.fleet.gearman_targets(self.settings)
        target = next((t for t in targets if row is not None and t.name == row.server), targets[0])
        chosen = row is not None and row.server == target.name
        self.app.push_screen(
            JobsScreen(
                target,
                poll_interval=self.settings.poll_interval,
                function=row.function if row is not None and chosen else None,
                job_class=_class_text(row) if row is not None and chosen else None,
            )
        )
