"""YAML read from a file an admin (or anyone able to write it) controls, checked before use:
every failure is a line and a reason, never a traceback.

PyYAML's safe loader already refuses to build Python objects, but it says so with an
exception of its own, and other inputs get through to Python's errors: an integer of
thousands of digits (``ValueError``), an ``!!int abc`` or a 13th month (``ValueError``), a
number too large for a float (``OverflowError``), lists nested thousands deep
(``RecursionError``), or a few aliases that expand to billions of values.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 64
"""Nesting no config of ours or AtoM's comes near; the composer recurses once per level."""
MAX_VALUES = 100_000
"""Values counted as read, aliases included: each alias is walked again by whoever reads it."""
MAX_NUMBER_TEXT = 40
"""Characters of a number; more is never a port, an interval or a count."""
YAML_TAG = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(
    YAML_TAG + name
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "merge", "timestamp")
)
NUMBER_TAGS = frozenset({YAML_TAG + "int", YAML_TAG + "float"})


class YamlTextError(Exception):
    """What is wrong, and on which line (1-based; None when the text gives no place)."""

    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


class _DepthBoundLoader(yaml.SafeLoader):
    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise YamlTextError(mark.line + 1, f"nested more than {MAX_DEPTH} levels deep")
        self.depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self.depth -= 1


def compose(text: str) -> yaml.Node | None:
    """The document's checked node tree (None for an empty document); raises YamlTextError."""
    try:
        loader = _DepthBoundLoader(text)  # reads the whole text: a NUL byte fails here
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _text_error(exc, text) from exc
    if root is not None:
        _check(root)
    return root


def load(text: str) -> Any:
    """The document as Python values (dicts, lists, str, int, float, bool, None, datetime),
    like ``yaml.safe_load``, but checked first; raises YamlTextError."""
    root = compose(text)
    if root is None:
        return None
    try:
        return yaml.SafeLoader("").construct_document(root)
    except yaml.YAMLError as exc:  # a key that cannot be one ({[a]: b})
        raise _text_error(exc, text) from exc


def _text_error(exc: yaml.YAMLError, text: str) -> YamlTextError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "unreadable"
        return YamlTextError(mark.line + 1 if mark else None, f"not valid YAML ({reason})")
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        return YamlTextError(line, f"not valid YAML ({exc.reason} #x{exc.character:04x})")
    return YamlTextError(None, f"not valid YAML ({exc})")


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _check(root: yaml.Node) -> None:
    """Every node's tag known and its scalar readable, and not too many values in all."""
    stack = [root]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise YamlTextError(line_of(node), f"more than {MAX_VALUES:,} values (aliases?)")
        if node.tag not in ALLOWED_TAGS:
            tag = node.tag.replace(YAML_TAG, "!!")
            raise YamlTextError(line_of(node), f"the YAML tag {tag} is not allowed")
        if isinstance(node, yaml.ScalarNode):
            _check_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))


def _check_scalar(node: yaml.ScalarNode) -> None:
    if node.tag in NUMBER_TAGS and len(node.value) > MAX_NUMBER_TEXT:
        digits = len(node.value)
        raise YamlTextError(line_of(node), f"a number {digits:,} characters long is too large")
    if node.tag in (YAML_TAG + "str", YAML_TAG + "null", YAML_TAG + "merge"):
        return
    try:
        value = yaml.SafeLoader("").construct_object(node)
        if isinstance(value, int) and not isinstance(value, bool):
            float(value)  # a port, an interval: too large for a float is too large
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        kind = node.tag.replace(YAML_TAG, "")
        raise YamlTextError(line_of(node), f"{node.value[:40]!r} is not a valid {kind}") from exc
