"""A yes/no question before anything that stops, restarts or removes: focus starts on Cancel.

Keys, each written on its button: ``y`` goes ahead, ``n`` and Esc cancel, Enter presses the
highlighted button (left and right move between them). A question may offer a second way to
go ahead (``other_label``, with its own ``other_key``), as "restart all" does (now, or each
worker once its job ends): which one was chosen is in ``answer``.
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
        Binding("y", "answer('confirm')", "Yes", id="confirm.yes"),
        Binding("n", "cancel", "No", id="confirm.no"),
        Binding("left", "app.focus_previous", "Previous button", show=False, id="confirm.left"),
        Binding("right", "app.focus_next", "Next button", show=False, id="confirm.right"),
    ]

    def __init__(
        self,
        question: str,
        confirm_label: str,
        other_label: str | None = None,
        *,
        other_key: str | None = None,
    ) -> None:
        """``other_key``: the key that chooses ``other_label`` (its first letter by default);
        it must not be y or n."""
        super().__init__()
        self.question = question
        self.confirm_label = confirm_label
        self.other_label = other_label
        self.other_key = other_key or (other_label[0].lower() if other_label else None)
        if self.other_key in ("y", "n"):
            raise ValueError(f"{self.other_key!r} is already the dialog's yes or no key")
        if self.other_key is not None:
            # This dialog's own key, beside the class's: bound on this instance.
            self._bindings.key_to_bindings.setdefault(self.other_key, []).append(
                Binding(self.other_key, "answer('other')", other_label or "", id="confirm.other")
            )
        self.answer: Answer = "cancel"

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            # Scrolls when the words outgrow a small terminal (the buttons stay in view).
            with VerticalScroll(id="confirm-words", can_focus=False):
                yield Static(self.question, id="confirm-question", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel (n/Esc)", id="confirm-cancel")
                yield Button(f"{self.confirm_label} (y)", id="confirm-ok", variant="error")
                if self.other_label is not None:
                    yield Button(
                        f"{self.other_label} ({self.other_key})",
                        id="confirm-other",
                        variant="warning",
                    )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        answers: dict[str | None, Answer] = {"confirm-ok": "confirm", "confirm-other": "other"}
        self.action_answer(answers.get(event.button.id, "cancel"))

    def action_answer(self, answer: Answer) -> None:
        self.answer = answer
        self.dismiss(answer != "cancel")

    def action_cancel(self) -> None:
        self.dismiss(False)
