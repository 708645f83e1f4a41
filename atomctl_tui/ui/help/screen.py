"""The `?` screen: every binding of the console, read from the bindings themselves."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help.close"),
    ]

    def __init__(
        self, sections: list[tuple[str, list[Binding]]], keymap: Mapping[str, str]
    ) -> None:
        super().__init__()
        self.sections = sections
        self.keymap = keymap
        """The config file's `keys:`, by binding id."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help") as scroll:
            scroll.border_title = "Keys (esc closes)"
            yield Static(self.render_sections())

    def render_sections(self) -> Text:
        text = Text()
        for title, bindings in self.sections:
            text.append(f"{title}\n", style="bold")
            for binding in bindings:
                # Keys moved by the config file's `keys:` are shown where they now are.
                bound = self.keymap.get(binding.id or "", binding.key)
                keys = ", ".join(
                    self.app.get_key_display(Binding(key, "")) for key in bound.split(",")
                )
                text.append(f"  {keys:<18}", style="bold")
                text.append(f"{binding.description}\n")
        return text
