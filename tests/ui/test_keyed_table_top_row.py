"""KeyedTable: the top row is never left hidden above the header once asked for, or sorted
there."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from atomctl_tui.ui.widgets.keyed_table import KeyedTable


def plain_cell(column: str, value: str) -> Text:
    return Text(value)


class TallTable(App[None]):
    """Twenty rows in a table five rows high."""

    CSS = "KeyedTable { height: 6; }"

    def compose(self) -> ComposeResult:
        yield KeyedTable(plain_cell)

    def on_mount(self) -> None:
        table = self.query_one(KeyedTable)
        table.add_column("Name", key="name")
        table.order_by("name", key=lambda cell: cell.plain)
        for number in range(20):
            table.upsert(f"r{number:02}", {"name": f"r{number:02}"})
        table.resort()
        table.focus()


async def test_home_shows_the_top_row_when_the_cursor_was_on_it_but_scrolled_away():
    app = TallTable()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(KeyedTable)
        await pilot.pause()
        table.scroll_to(y=4, animate=False)  # the wheel scrolls, the cursor stays on row 0
        await pilot.pause()
        assert (table.cursor_row, table.scroll_y) == (0, 4)
        await pilot.press("home")
        await pilot.pause()
        assert (table.cursor_row, table.scroll_y) == (0, 0)
        await pilot.press("G")
        await pilot.pause()
        assert (table.cursor_row, table.scroll_y) == (19, table.max_scroll_y)


async def test_a_sort_that_leaves_the_cursor_on_the_top_row_shows_it():
    app = TallTable()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(KeyedTable)
        await pilot.pause()
        table.scroll_to(y=4, animate=False)
        await pilot.pause()
        table.order_by("name", key=lambda cell: cell.plain)  # the same order, sorted again
        await pilot.pause()
        assert (table.cursor_row, table.scroll_y) == (0, 0)
