"""A DataTable whose rows are kept by key and updated cell by cell, never cleared.

Panes give it each row's values by column; it draws a cell only when its value changed, so
the cursor, the scroll position and the column widths stay put while rows change underneath,
and a poll of 1,000 rows that changed nothing costs next to nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

Value = TypeVar("Value")
SortKey = Callable[[Any], Any]


class KeyedTable(DataTable[Text], Generic[Value], can_focus=True):
    """Rows keyed by a string, each cell drawn by ``to_cell(column key, value)``.

    The table is the focus stop itself: its pane shows focus with ``:focus-within``. Values of
    a column the table does not show (``set_columns``) are kept, not drawn.
    """

    BINDINGS = [
        Binding("home,g", "scroll_top", "First row", show=False, id="table.first"),
        Binding("end,G", "scroll_bottom", "Last row", show=False, id="table.last"),
    ]

    def __init__(
        self,
        to_cell: Callable[[str, Value], Text],
        *,
        zebra_stripes: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=zebra_stripes)
        self._to_cell = to_cell
        self.shown: dict[str, dict[str, Value]] = {}
        """Each row's values, by row key then column key: read it, change rows with upsert."""
        self._sort_columns: tuple[str, ...] = ()
        self._sort_key: SortKey | None = None
        self._sort_reverse = False
        self._unsorted = False  # a row was added, or a cell of a sort column changed
        self._filled_from_empty = False  # since the last sort: the cursor goes to the top

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor; None when there is no row."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value

    def upsert(self, key: str, values: Mapping[str, Value]) -> None:
        """Show ``values`` in row ``key``: a new row (then every column needs a value), or
        an update of only the cells whose value changed. ``resort`` puts rows in order."""
        shown = self.shown.get(key)
        if shown is None:
            self._filled_from_empty |= not self.row_count
            self._unsorted = True
            self.shown[key] = dict(values)
            columns = [str(column.key.value) for column in self.ordered_columns]
            self.add_row(*(self._to_cell(column, values[column]) for column in columns), key=key)
            return
        for column, value in values.items():
            if shown.get(column) != value:
                shown[column] = value
                if ColumnKey(column) not in self.columns:
                    continue
                self._update_growing(key, column, self._to_cell(column, value))
                self._unsorted |= column in self._sort_columns

    def discard_row(self, key: str) -> None:
        """Remove row ``key`` if there is one; the cursor stays on the row it was on."""
        if self.shown.pop(key, None) is None:
            return
        current = self.cursor_key
        self.remove_row(key)
        if current is not None and current != key:
            self._put_cursor_on(current)

    def keep_rows(self, keys: Collection[str]) -> None:
        """Remove every row whose key is not in ``keys``."""
        for key in [key for key in self.shown if key not in keys]:
            self.discard_row(key)

    def set_columns(
        self, columns: Sequence[tuple[str, Text]], *, widths: Mapping[str, int] | None = None
    ) -> None:
        """Show these columns ``(key, label)``, in this order, each row drawn again from the
        values given to ``upsert`` (which must hold every column shown); ``widths`` fixes a
        column's width (its cells cut). The cursor stays on its row."""
        current = self.cursor_key
        order = [str(row.key.value) for row in self.ordered_rows]
        widths = widths or {}
        self.clear(columns=True)
        for key, label in columns:
            self.add_column(label, key=key, width=widths.get(key))
        keys = [key for key, _ in columns]
        for row in order:
            values = self.shown[row]
            self.add_row(*(self._to_cell(column, values[column]) for column in keys), key=row)
        self._unsorted = False
        if self._sort_columns and all(c in keys for c in self._sort_columns):
            self.sort(*self._sort_columns, key=self._sort_key, reverse=self._sort_reverse)
        if current is not None:
            self._put_cursor_on(current)

    def action_scroll_top(self) -> None:
        """The first row, scrolled to the very top: also when the cursor was on it already
        and the view was not (the header then hid it)."""
        super().action_scroll_top()
        self.scroll_to(y=0, animate=False)

    def action_scroll_bottom(self) -> None:
        super().action_scroll_bottom()
        self.scroll_to(y=self.max_scroll_y, animate=False)

    def order_by(self, *columns: str, key: SortKey | None = None, reverse: bool = False) -> None:
        """Keep the rows sorted by ``columns`` (their cells go to ``key``, as with
        ``DataTable.sort``); sorted now, the cursor staying on its row."""
        self._sort_columns = columns
        self._sort_key = key
        self._sort_reverse = reverse
        self._sort()

    def resort(self) -> None:
        """Sort again, only if an added row or a changed cell of a sort column needs it.

        The cursor stays on its row, wherever that row goes; after the first rows of an empty
        table it is on the top row.
        """
        if self._unsorted:
            self._sort()

    def _sort(self) -> None:
        from_top = self._filled_from_empty
        self._unsorted = self._filled_from_empty = False
        current = self.cursor_key
        if not self._sort_columns or current is None:
            return
        if any(ColumnKey(column) not in self.columns for column in self._sort_columns):
            return  # a sort column not shown (``set_columns``): the rows stay as they are
        self.sort(*self._sort_columns, key=self._sort_key, reverse=self._sort_reverse)
        if from_top:
            self._put_cursor_at(0)
        else:
            self._put_cursor_on(current)
        # Rows moved under a cursor that did not: show its row (at the top, all of it).
        self.call_after_refresh(self._show_cursor_row)

    def _show_cursor_row(self) -> None:
        if not self.row_count:
            return
        if self.cursor_row == 0:
            self.scroll_to(y=0, animate=False)
        else:
            self._scroll_cursor_into_view()

    def _put_cursor_on(self, key: str) -> None:
        self._put_cursor_at(self.get_row_index(key))

    def _put_cursor_at(self, index: int) -> None:
        if index != self.cursor_row:
            self.move_cursor(row=index)

    def _update_growing(self, row: str, column: str, cell: Text) -> None:
        """Set a cell; widen its column first when the cell needs it.

        Asking the table to fit a narrower cell makes it measure the whole column again for
        every cell (quadratic with hundreds of rows), so columns never shrink here. And the
        table measures a wider cell only when idle, after it may already have cached lines
        drawn at the old width, which then stay cut until some other cell changes: setting the
        width before the update means the first drawing is already right.
        """
        target = self.columns[ColumnKey(column)]
        # A column of fixed width (``set_columns``) stays so: its cells are cut.
        grows = target.auto_width and cell.cell_len > target.content_width
        if grows:
            target.content_width = cell.cell_len
        self.update_cell(row, column, cell, update_width=grows)

    def shrink_columns(self) -> None:
        """Give back the width a passing long cell took (say `activating (auto-restart)`).

        Only a column wider than its widest cell and its header is measured again.
        """
        if not self.row_count:
            return
        for column_key, column in self.columns.items():

            def width(row: RowKey, column_key: ColumnKey = column_key) -> int:
                return self.get_cell(row, column_key).cell_len

            widest = max(self.rows, key=width)
            if max(width(widest), column.label.cell_len) < column.content_width:
                # Asked to fit a cell narrower than the column, the table measures the column.
                cell = self.get_cell(widest, column_key)
                self.update_cell(widest, column_key, cell, update_width=True)

    def render_cells(self) -> None:
        """Draw every cell again from its value: what ``to_cell`` draws with changed (a new
        theme's colours)."""
        for key, values in self.shown.items():
            for column, value in values.items():
                if ColumnKey(column) in self.columns:
                    self.update_cell(key, column, self._to_cell(column, value))
