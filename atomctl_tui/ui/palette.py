"""Every key a widget offers, as a command of the palette (ctrl+p) and a line of the help."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.app import SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen


def offered_bindings(node: DOMNode) -> list[Binding]:
    """``node``'s bindings, without those it does not offer now (all actions in --read-only)."""
    return [
        binding
        for binding in Binding.make_bindings(node.BINDINGS)
        if node.check_action(binding.action.partition("(")[0], ()) is not False
    ]


def binding_commands(screen: Screen) -> Iterable[SystemCommand]:
    """A command for each offered binding with an id of the widgets on ``screen``.

    Bindings of Textual's own widgets have no id; the console's all do.
    """
    for node in screen.query("*"):
        title = getattr(node, "PANE_TITLE", "") or getattr(node, "border_title", "") or ""
        for binding in offered_bindings(node):
            if binding.id and binding.show:
                name = f"{title}: {binding.description}" if title else binding.description
                key = node.app.get_key_display(binding)
                yield SystemCommand(name, f"key {key}", partial(node.run_action, binding.action))
