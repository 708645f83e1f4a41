"""Pick what the journal shows: one unit of the scope, one host's lines, or all of it."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

ALL_LABEL = "All workers (with the job server and the console's audit lines)"


@dataclass(frozen=True)
class ScopeChoice:
    unit: str | None  # None: all workers (of ``host``)
    host: str | None = None  # with several hosts: only this host's lines; None: every host

    @property
    def label(self) -> str:
        if self.unit is None:
            return ALL_LABEL if self.host is None else f"{self.host}: all its lines"
        return self.unit if self.host is None else f"{self.host}: {self.unit}"


class JournalScopeScreen(ModalScreen[ScopeChoice | None]):
    """A list of the hosts and units; Enter picks one, Escape leaves the scope as it is."""

    BINDINGS = [
        Binding("escape", "cancel", "Keep the current scope", id="journal.scope.cancel"),
    ]

    def __init__(self, choices: list[ScopeChoice], current: ScopeChoice) -> None:
        super().__init__()
        self.choices: list[ScopeChoice] = [ScopeChoice(None), *choices]
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="journal-scope"):
            yield Static(Text("Show the journal of:"))
            options = [Option(Text(choice.label)) for choice in self.choices]
            yield OptionList(*options, id="journal-scope-units")

    def on_mount(self) -> None:
        units = self.query_one(OptionList)
        units.highlighted = self.choices.index(self.current) if self.current in self.choices else 0
        units.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
