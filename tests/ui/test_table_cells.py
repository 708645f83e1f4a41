"""A growing cell widens its column before the table draws it, not on the next idle."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from atomctl_tui.ui.widgets.table_cells import update_cell_growing


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Gearman", key="gearman")
        table.add_row(Text("?"), key="atom-worker@1.service")


async def test_the_column_is_wide_enough_before_the_table_is_idle_again():
    app = OneTable()
    async with app.run_test() as pilot:
        table = app.query_one(DataTable)
        await pilot.pause()
        column = table.columns[ColumnKey("gearman")]
        assert column.content_width == len("Gearman")
        update_cell_growing(table, "atom-worker@1.service", "gearman", Text("18 abilities"), 12)
        assert column.content_width == 12  # no idle has run yet
        await pilot.pause()
        assert column.content_width == 12  # and the table's own measure agrees
