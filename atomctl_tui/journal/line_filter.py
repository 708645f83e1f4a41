"""The journal pane's `/` filter: plain text, a regular expression between slashes, or an
AtoM job's lines (``job:37864``); ``-C N`` before it also shows N lines around each match.

``-C`` is grep's: an admin filtering on a job class still sees the ``Exception:`` or
``Job failed:`` lines next to it, which do not name the class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CONTEXT = 50
CONTEXT = re.compile(r"^-C\s*(\d+)\s+")
JOB = re.compile(r"^job:\s*#?(\d{1,20})$", re.IGNORECASE)


class FilterError(ValueError):
    """A filter that cannot be used; the message says why in words."""


@dataclass(frozen=True)
class LineFilter:
    """Lines whose source or message contains ``text`` (ignoring case), or match ``/regex/``;
    with ``job_id``, the lines of that AtoM job instead."""

    text: str
    """What the reader typed."""
    pattern: re.Pattern[str] | None
    """None with ``job_id``."""
    job_id: str | None = None
    context: int = 0
    """Lines of the same unit shown before and after each match."""

    def matches(self, source: str, message: str, job_id: str | None = None) -> bool:
        """``job_id``: the AtoM job the line belongs to, when the reader of the journal knows."""
        if self.pattern is None:
            return job_id is not None and job_id == self.job_id
        search = self.pattern.search
        return search(message) is not None or search(source) is not None


def parse_filter(text: str) -> LineFilter | None:
    """The filter the reader typed; None for an empty one (show every line)."""
    if not text.strip():
        return None
    context = 0
    wanted = text
    if found := CONTEXT.match(text):
        context = int(found.group(1))
        if context > MAX_CONTEXT:
            raise FilterError(f"-C {context}: at most {MAX_CONTEXT} lines of context.")
        wanted = text[found.end() :]
        if not wanted.strip():
            raise FilterError(f"-C {context} needs something to match after it.")
    if job := JOB.match(wanted.strip()):
        return LineFilter(text, None, job.group(1), context)
    if len(wanted) >= 2 and wanted.startswith("/") and wanted.endswith("/"):
        expression = wanted[1:-1]
        try:
            pattern = re.compile(expression, re.IGNORECASE)
        except re.error as exc:
            raise FilterError(f"{expression!r} is not a regular expression: {exc}") from exc
    else:
        pattern = re.compile(re.escape(wanted), re.IGNORECASE)
    return LineFilter(text, pattern, None, context)
