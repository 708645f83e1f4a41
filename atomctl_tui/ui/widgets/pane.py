"""What every pane shares: a titled, focusable frame."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical


class Pane(Vertical, can_focus=True):
    """A bordered region of the main screen; its title names what it shows."""

    DEFAULT_CLASSES = "pane"
    PANE_TITLE = ""

    def on_mount(self) -> None:
        self.border_title = Text(self.PANE_TITLE)  # a title, not markup
