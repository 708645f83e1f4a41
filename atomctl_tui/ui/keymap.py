"""Key overrides from the config file (`keys:`), applied with Textual's keymap."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode

UI_PACKAGE = "atomctl_tui.ui"


def _subclasses(cls: type) -> Iterator[type]:
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        yield sub
        yield from _subclasses(sub)


def known_binding_ids() -> set[str]:
    """Every binding id declared by the console's own screens, panes and widgets."""
    ids: set[str] = set()
    for cls in _subclasses(DOMNode):
        if cls.__module__.startswith(UI_PACKAGE):
            for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
                if binding.id:
                    ids.add(binding.id)
    return ids


def apply_keymap(app: App, keymap: Mapping[str, str]) -> None:
    """Apply the overrides; an id that names no binding is reported, not silently dropped."""
    if not keymap:
        return
    app.set_keymap(dict(keymap))
    unknown = sorted(set(keymap) - known_binding_ids())
    if unknown:
        app.notify(
            f"Config 'keys': no binding has the id {', '.join(unknown)}; press ? for the keys.",
            title="Unknown key binding id",
            severity="warning",
            timeout=15,
            markup=False,  # the ids are the config file's words
        )


def key_display(app: App[object], keymap: Mapping[str, str], binding: Binding) -> str:
    """How ``binding``'s first key is shown, where the config file's `keys:` (``keymap``)
    put it."""
    keys = keymap.get(binding.id or "", binding.key)
    return app.get_key_display(Binding(keys.split(",")[0], ""))
