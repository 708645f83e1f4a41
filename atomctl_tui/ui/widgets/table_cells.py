"""Updating one DataTable cell so that its column only ever grows, and grows at once."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey


def update_cell_growing(table: DataTable, row: str, column: str, value: Text, width: int) -> None:
    """Set a cell; widen its column first when ``width`` (the cell's width) needs it.

    Asking the table to fit a narrower cell makes it measure the whole column again for
    every cell (quadratic with hundreds of rows), so columns never shrink here. And the
    table measures a wider cell only when idle, after it may already have cached lines
    drawn at the old width, which then stay cut until some other cell changes: setting the
    width before the update means the first drawing is already right.
    """
    target = table.columns[ColumnKey(column)]
    grows = width > target.content_width
    if grows:
        target.content_width = width
    table.update_cell(row, column, value, update_width=grows)
