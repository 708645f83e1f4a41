"""Journal commands in the command palette (ctrl+p): scope by host or unit, filter, save,
toggles.

Unit and host names come from the journal: outside text. The palette parses a plain string
as markup (``[/oops]`` in a unit name would end it with a MarkupError), so a command's name
goes to it as plain content (``literal_hit``), and its help line is the console's own words.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from atomctl_tui.ui.journal.pane import JournalPane
from atomctl_tui.ui.palette import literal_hit


class JournalCommands(Provider):
    """The Journal pane's actions, and one command per unit of its scope."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        panes = self.app.query(JournalPane)
        if not panes:
            return []
        pane = panes.first()
        commands: list[tuple[str, str, Callable[[], object]]] = [
            ("Journal: all workers", "Show every worker's lines", pane.action_all_units),
            ("Journal: follow", "Jump to the newest line and follow", pane.action_follow),
            (
                "Journal: filter",
                "By text, /regex/ or job:ID (an AtoM job); -C N first: N lines around",
                pane.action_filter,
            ),
            ("Journal: save", "Save the lines in view to a file", pane.action_save),
            ("Journal: clear", "Clear the journal lines", pane.action_clear),
            ("Journal: timestamps", "Show or hide the time of each line", pane.action_toggle_time),
            ("Journal: wrap", "Wrap long lines or scroll sideways", pane.action_toggle_wrap),
            (
                "Journal: ability lines",
                "Fold the workers' 'New ability' lines into one, or list them",
                pane.action_toggle_abilities,
            ),
            ("Journal: pick a unit", "Choose whose lines to show", pane.action_choose_unit),
        ]
        for choice in pane.scope_choices():
            whose = "this host's" if choice.unit is None else "this unit's"
            commands.append(
                (
                    f"Journal: {choice.label}",
                    f"Show only {whose} lines",
                    partial(pane.show_unit, choice.unit, choice.host),
                )
            )
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(literal_hit(name), callback, text=name, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            if (score := matcher.match(name)) > 0:
                yield Hit(
                    score,
                    literal_hit(name, matcher),
                    callback,
                    text=name,
                    help=help_text,
                )
