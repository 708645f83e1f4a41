"""The journal pane's `/` filter: plain text, or a regular expression between slashes."""

from __future__ import annotations

import re
from dataclasses import dataclass


class FilterError(ValueError):
    """A filter that cannot be used; the message says why in words."""


@dataclass(frozen=True)
class LineFilter:
    """Lines whose source or message contains ``text`` (ignoring case), or match ``/regex/``."""

    text: str
    pattern: re.Pattern[str]

    def matches(self, source: str, message: str) -> bool:
        search = self.pattern.search
        return search(message) is not None or search(source) is not None


def parse_filter(text: str) -> LineFilter | None:
    """The filter the reader typed; None for an empty one (show every line)."""
    if not text.strip():
        return None
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        expression = text[1:-1]
        try:
            pattern = re.compile(expression, re.IGNORECASE)
        except re.error as exc:
            raise FilterError(f"{expression!r} is not a regular expression: {exc}") from exc
    else:
        pattern = re.compile(re.escape(text), re.IGNORECASE)
    return LineFilter(text, pattern)
