"""The `/` filter line under the journal: text, /regex/ or job:ID, after ``-C N`` for N lines
around each match (``line_filter``); Enter applies, Escape closes."""

from __future__ import annotations

from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Input


class FilterBar(Input):
    """Hidden until `/`; the Journal pane applies what is submitted (an empty line clears)."""

    BINDINGS = [
        Binding("escape", "close", "Close the filter line", id="journal.filter.close"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            placeholder="text, /regex/ or job:ID; -C 3 before: 3 lines around; empty clears",
            id=id,
        )

    def open(self, current: str) -> None:
        self.value = current
        self.add_class("-open")
        self.focus()

    def close(self) -> None:
        self.remove_class("-open")
        self.remove_class("-invalid")
        if isinstance(self.parent, Widget) and self.parent.can_focus:
            self.parent.focus()

    def action_close(self) -> None:
        self.close()
