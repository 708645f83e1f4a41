"""A yes/no question before anything that stops, restarts or removes: focus starts on Cancel.

A question may offer a second way to go ahead (``other_label``), as "restart all" does
(now, or each worker once its job ends): which one was pressed is in ``answer``.
"""

from __future__ import annotations

from typing import Literal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

Answer = Literal["cancel", "confirm", "other"]


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True only when a confirm button is pressed."""

    AUTO_FOCUS = "#confirm-cancel"
    DEFAULT_CSS = """
    ConfirmScreen #confirm-words {
        height: auto;
        max-height: 16;
    }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
        Binding("left", "app.focus_previous", "Previous button", show=False, id="confirm.left"),
        Binding("right", "app.focus_next", "Next button", show=False, id="confirm.right"),
    ]

    def __init__(self, question: str, confirm_label: str, other_label: str | None = None) -> None:
        super().__init__()
        self.question = question
        self.confirm_label = confirm_label
        self.other_label = other_label
        self.answer: Answer = "cancel"

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            # Scrolls when the words outgrow a small terminal (the buttons stay in view).
            with VerticalScroll(id="confirm-words", can_focus=False):
                yield Static(self.question, id="confirm-question", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="confirm-cancel")
                yield Button(self.confirm_label, id="confirm-ok", variant="error")
                if self.other_label is not None:
                    yield Button(self.other_label, id="confirm-other", variant="warning")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        answers: dict[str | None, Answer] = {"confirm-ok": "confirm", "confirm-other": "other"}
        self.answer = answers.get(event.button.id, "cancel")
        self.dismiss(self.answer != "cancel")

    def action_cancel(self) -> None:
        self.dismiss(False)
