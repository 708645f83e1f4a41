"""Every key a widget offers, as a command of the palette (ctrl+p) and a line of the help;
and how outside text reaches the palette, which parses strings as markup: as plain content."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.app import SystemCommand
from textual.binding import Binding
from textual.content import Content
from textual.dom import DOMNode
from textual.fuzzy import Matcher
from textual.screen import Screen


def literal_hit(name: str, matcher: Matcher | None = None) -> Content:
    """A command's name as the palette shows it: plain content, never parsed as markup,
    with the letters ``matcher`` matched highlighted (``Matcher.highlight`` parses markup)."""
    content = Content(name)
    if matcher is None:
        return content
    score, offsets = matcher.fuzzy_search.match(matcher.query, name)
    if not score:
        return content
    for offset in offsets:
        if not name[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


def offered_bindings(node: DOMNode) -> list[Binding]:
    """``node``'s bindings, without those it does not offer now (all actions in --read-only)."""
    return [
        binding
        for binding in Binding.make_bindings(node.BINDINGS)
        if node.check_action(binding.action.partition("(")[0], ()) is not False
    ]


# Actions that only move the view or the cursor: keys, not commands worth a palette line.
MOVING_ACTIONS = ("scroll", "page", "pan", "cursor", "oldest", "first", "last", "focus")


def _moves(binding: Binding) -> bool:
    return binding.action.startswith(MOVING_ACTIONS)


def binding_commands(screen: Screen) -> Iterable[SystemCommand]:
    """A command for each offered binding with an id of the widgets on ``screen``: those the
    footer shows, and the hidden ones that do something (not those that only move).

    Bindings of Textual's own widgets have no id; the console's all do. Commands are named
    by the pane's title and the binding's description: the console's own words, never outside
    text (a border title may carry a server's name), as the palette parses them as markup.
    """
    for node in screen.query("*"):
        title = getattr(node, "PANE_TITLE", "")
        for binding in offered_bindings(node):
            if binding.id and (binding.show or not _moves(binding)):
                name = f"{title}: {binding.description}" if title else binding.description
                key = node.app.get_key_display(binding)
                yield SystemCommand(name, f"key {key}", partial(node.run_action, binding.action))
