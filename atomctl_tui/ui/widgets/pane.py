"""What every pane shares: a titled, focusable frame."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class Pane(Vertical, can_focus=True):
    """A bordered region of the main screen; its title names what it shows."""

    DEFAULT_CLASSES = "pane"
    PANE_TITLE = ""
    NOT_CONNECTED = ""  # what the pane will show, said while it has no backend yet

    def compose(self) -> ComposeResult:
        yield Static(f"Not connected yet: {self.NOT_CONNECTED}.", classes="placeholder")

    def on_mount(self) -> None:
        self.border_title = self.PANE_TITLE
