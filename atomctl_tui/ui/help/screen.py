"""The `?` screen: every binding of the console, read from the bindings themselves; typing
filters them (by key, description or section title)."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

Section = tuple[str, list[Binding]]


class HelpScreen(ModalScreen[None]):
    # The filter line holds the focus: every printable key is typed there, `q` and `?` too.
    AUTO_FOCUS = "#help-filter"
    BINDINGS = [
        Binding("escape", "close", "Clear the filter, or close help", id="help.close"),
        Binding("up", "scroll_keys(-1)", "Scroll up", show=False, id="help.up"),
        Binding("down", "scroll_keys(1)", "Scroll down", show=False, id="help.down"),
        Binding("pageup", "page_keys(-1)", "Page up", show=False, id="help.page_up"),
        Binding("pagedown", "page_keys(1)", "Page down", show=False, id="help.page_down"),
    ]

    def __init__(self, sections: list[Section], keymap: Mapping[str, str]) -> None:
        super().__init__()
        self.sections = sections
        self.keymap = keymap
        """The config file's `keys:`, by binding id."""
        self.query_text = ""
        """What the filter line holds: only the keys it matches are listed."""

    def compose(self) -> ComposeResult:
        with Vertical(id="help") as frame:
            frame.border_title = Text("Keys · type to filter · esc closes")  # not markup
            yield Input(placeholder="type to filter: a key, a word", id="help-filter")
            with VerticalScroll(id="help-scroll", can_focus=False):
                yield Static(self.render_sections(), id="help-keys")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self.query_one("#help-keys", Static).update(self.render_sections())
        self.query_one("#help-scroll", VerticalScroll).scroll_home(animate=False)

    def action_close(self) -> None:
        field = self.query_one("#help-filter", Input)
        if field.value:
            field.value = ""  # a first esc clears the filter, as in the Queues pane
        else:
            self.dismiss()

    def action_scroll_keys(self, lines: int) -> None:
        scroll = self.query_one("#help-scroll", VerticalScroll)
        scroll.scroll_relative(y=lines, animate=False)

    def action_page_keys(self, pages: int) -> None:
        scroll = self.query_one("#help-scroll", VerticalScroll)
        scroll.scroll_relative(y=pages * max(1, scroll.scrollable_content_region.height - 1))

    def keys_of(self, binding: Binding) -> str:
        # Keys moved by the config file's `keys:` are shown where they now are.
        bound = self.keymap.get(binding.id or "", binding.key)
        return ", ".join(self.app.get_key_display(Binding(key, "")) for key in bound.split(","))

    def render_sections(self) -> Text:
        """The sections, with only the keys the filter matches; says so when none does.

        One character asks what a key does: the keys it names (`R`, not every word with an r).
        More match descriptions, keys, and whole sections by a word of their title."""
        typed = self.query_text.strip()
        wanted = typed.casefold()
        text = Text()
        for title, bindings in self.sections:
            lines = [(self.keys_of(binding), binding.description) for binding in bindings]
            if typed and not (len(typed) > 1 and _title_matches(wanted, title)):
                lines = [
                    (keys, description)
                    for keys, description in lines
                    if _key_matches(typed, keys)
                    or (len(typed) > 1 and wanted in description.casefold())
                ]
            if not lines:
                continue
            text.append(f"{title}\n", style="bold")
            for keys, description in lines:
                text.append(f"  {keys:<18}", style="bold")
                text.append(f"{description}\n")
        if not text:
            text.append(f"No key matches {typed!r}.", style="italic")
        text.rstrip()
        return text


def _title_matches(wanted: str, title: str) -> bool:
    return any(word.startswith(wanted) for word in title.casefold().replace("(", " ").split())


def _key_matches(typed: str, keys: str) -> bool:
    """A key matches when the filter names it whole, case and all (`r` is not `R`)."""
    return any(typed == key.strip() for key in keys.split(","))
