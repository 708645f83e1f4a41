"""KeyedTable: cells drawn only when their value changed, columns that grow at once, the
cursor kept on its row through sorts and removals, and Home/End on the first/last row."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets.data_table import ColumnKey

from atomctl_tui.ui.widgets.keyed_table import KeyedTable

UNIT = "atom-worker@1.service"


def plain_cell(column: str, value: str) -> Text:
    return Text(value)


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(plain_cell)

    def on_mount(self) -> None:
        table = self.query_one(KeyedTable)
        table.add_column("Gearman", key="gearman")
        table.upsert(UNIT, {"gearman": "?"})


async def test_the_column_is_wide_enough_before_the_table_is_idle_again():
    app = OneTable()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        await pilot.pause()
        column = table.columns[ColumnKey("gearman")]
        assert column.content_width == len("Gearman")
        table.upsert(UNIT, {"gearman": "18 abilities"})
        assert column.content_width == 12  # no idle has run yet
        await pilot.pause()
        assert column.content_width == 12  # and the table's own measure agrees


async def test_columns_only_grow_until_asked_to_shrink():
    app = OneTable()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        column = table.columns[ColumnKey("gearman")]
        table.upsert(UNIT, {"gearman": "not registered"})
        await pilot.pause()
        table.upsert(UNIT, {"gearman": "?"})
        await pilot.pause()
        assert column.content_width == len("not registered")
        table.shrink_columns()
        await pilot.pause()
        assert column.content_width == len("Gearman")


class LetterTable(App[None]):
    """Rows a to e, sorted; the table focused, as a pane's table is when the admin uses it."""

    def compose(self) -> ComposeResult:
        yield KeyedTable(plain_cell)

    def on_mount(self) -> None:
        table = self.query_one(KeyedTable)
        table.add_column("Name", key="name")
        table.order_by("name", key=lambda cell: cell.plain)
        for letter in "ecadb":
            table.upsert(letter, {"name": letter})
        table.resort()
        table.focus()


def names(table: KeyedTable) -> str:
    return "".join(row.key.value or "" for row in table.ordered_rows)


async def test_the_first_fill_starts_at_the_top_and_then_the_cursor_follows_its_row():
    app = LetterTable()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        assert names(table) == "abcde" and table.cursor_key == "a"
        await pilot.press("down", "down")
        assert table.cursor_key == "c"
        table.upsert("c", {"name": "z"})  # a sort cell changed: the row moves, the cursor too
        table.resort()
        assert names(table) == "abdec" and table.cursor_key == "c"
        table.keep_rows({"b", "c", "e"})  # rows above the cursor go: it stays on its row
        assert names(table) == "bec" and table.cursor_key == "c"
        table.discard_row("c")
        assert table.cursor_key == "e"


async def test_home_end_g_and_shift_g_go_to_the_first_and_last_row():
    app = LetterTable()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        await pilot.press("end")
        assert table.cursor_key == "e"
        await pilot.press("home")
        assert table.cursor_key == "a"
        await pilot.press("G")
        assert table.cursor_key == "e"
        await pilot.press("g")
        assert table.cursor_key == "a"


async def test_an_unchanged_value_draws_nothing():
    drawn: list[str] = []

    def noted_cell(column: str, value: str) -> Text:
        drawn.append(value)
        return Text(value)

    app = OneTable()
    async with app.run_test():
        table = KeyedTable(noted_cell)
        await app.mount(table)
        table.add_column("Name", key="name")
        table.add_column("State", key="state")
        table.upsert("a", {"name": "a", "state": "active"})
        table.upsert("a", {"name": "a", "state": "active"})
        table.upsert("a", {"name": "a", "state": "failed"})
        assert drawn == ["a", "active", "failed"]
