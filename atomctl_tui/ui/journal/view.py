"""The journal's lines on screen: a bounded buffer drawn line by line, following the end.

Only the rows in view are ever rendered (Textual's line API), so a full buffer costs nothing
to scroll through and a flood costs one refresh per batch. Every line is plain text: the
message was already made safe by ``log_text`` and is drawn as segments, never parsed as markup.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable

from rich.cells import chop_cells
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from atomctl_tui.journal.entries import JournalEntry
from atomctl_tui.journal.line_filter import LineFilter

TIME_WIDTH = len("00:00:00 ")

# One display row: the entry and the character range of its display line that the row shows
# (the whole line unless wrapping cut it into several rows).
Row = tuple[JournalEntry, int, int]


def priority_class(priority: int) -> str:
    """The component class (after ``journal-view--``) for a syslog priority: emerg…err,
    warning, notice/info, debug."""
    if priority <= 3:
        return "error"
    if priority == 4:
        return "warning"
    if priority >= 7:
        return "debug"
    return "message"


class JournalView(ScrollView, can_focus=False):
    """The lines of the journal pane (the pane has the focus and the keys)."""

    COMPONENT_CLASSES = {
        "journal-view--time",
        "journal-view--host",
        "journal-view--source",
        "journal-view--message",
        "journal-view--error",
        "journal-view--warning",
        "journal-view--debug",
        "journal-view--placeholder",
    }

    following: var[bool] = var(True)
    """New lines scroll into view; off while the reader has scrolled up."""
    unseen: var[int] = var(0)
    """Lines that arrived while not following."""

    def __init__(self, max_lines: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.entries: deque[JournalEntry] = deque()
        self.rows: deque[Row] = deque()
        self.unit_scope: str | None = None
        self.host_scope: str | None = None  # with several hosts: only this host's lines
        self.line_filter: LineFilter | None = None
        self.show_host = False  # with several hosts, each line names its host
        self.show_time = True
        self.wrap = False
        self._widest: int | None = 0  # None: not measured since the last rebuild
        self._moving = False  # the view scrolls itself: not the reader scrolling
        self._styles: dict[str, Style] = {}

    # -- what is shown -----------------------------------------------------------------

    @property
    def shows_everything(self) -> bool:
        return self.unit_scope is None and self.host_scope is None and self.line_filter is None

    def shows(self, entry: JournalEntry) -> bool:
        if self.unit_scope is not None and entry.unit != self.unit_scope:
            return False
        if self.host_scope is not None and entry.host != self.host_scope:
            return False
        if self.line_filter is None:
            return True
        if self.show_host and entry.host and self.line_filter.matches(entry.host, ""):
            return True
        return self.line_filter.matches(entry.source, entry.message)

    def shown_entries(self) -> list[JournalEntry]:
        if self.shows_everything:
            return list(self.entries)
        return [entry for entry in self.entries if self.shows(entry)]

    def empty_words(self) -> str:
        """What the view says when it has no line to show."""
        if not self.entries:
            return "Waiting for journal lines…"
        wanted = []
        if self.host_scope is not None:
            wanted.append(f"is from {self.host_scope}")
        if self.unit_scope is not None:
            wanted.append(f"is from {self.unit_scope}")
        if self.line_filter is not None:
            wanted.append(f"matches {self.line_filter.text!r}")
        return f"No line of the {len(self.entries):,} kept {' and '.join(wanted)}."

    def line_text(self, entry: JournalEntry) -> str:
        return "".join(text for text, _ in self._pieces(entry))

    def _pieces(self, entry: JournalEntry) -> list[tuple[str, str]]:
        """The display line as (text, component class) pieces."""
        pieces = []
        if self.show_time:
            pieces.append((time.strftime("%H:%M:%S ", time.localtime(entry.timestamp)), "time"))
        if self.show_host:
            pieces.append(((entry.host or "?") + " ", "host"))
        pieces.append((entry.source + " ", "source"))
        pieces.append((entry.message, priority_class(entry.priority)))
        return pieces

    def _rows_for(self, entry: JournalEntry) -> list[Row]:
        if not self.wrap:
            return [(entry, 0, -1)]
        width = max(1, self.scrollable_content_region.width)
        rows = []
        start = 0
        for piece in chop_cells(self.line_text(entry), width) or [""]:
            rows.append((entry, start, start + len(piece)))
            start += len(piece)
        return rows

    def _line_cells(self, entry: JournalEntry) -> int:
        """How wide the line can be on screen: exact for ASCII, at most 2 cells a character
        otherwise (measuring every line of a flood exactly costs too much; this only sets
        how far the view scrolls sideways)."""
        text_length = len(entry.source) + 1 + len(entry.message)
        if self.show_host:
            text_length += len(entry.host or "?") + 1
        if not (entry.message.isascii() and entry.source.isascii()):
            text_length *= 2
        return text_length + TIME_WIDTH if self.show_time else text_length

    # -- changes -----------------------------------------------------------------------

    def add_entries(self, entries: Iterable[JournalEntry]) -> None:
        """Append a batch; the oldest lines go when the buffer is full."""
        batch = list(entries)[-self.max_lines :]  # more than the buffer holds: only the end
        self.entries.extend(batch)
        if self.shows_everything and not self.wrap:
            shown_batch = batch  # the common case, kept lean for floods
            self.rows.extend([(entry, 0, -1) for entry in batch])
        else:
            shown_batch = [entry for entry in batch if self.shows(entry)]
            for entry in shown_batch:
                self.rows.extend(self._rows_for(entry))
        if shown_batch and not self.wrap and self._widest is not None:
            self._widest = max(self._widest, max(map(self._line_cells, shown_batch)))
        shown = len(shown_batch)
        removed = 0
        while len(self.entries) > self.max_lines:
            oldest = self.entries.popleft()
            while self.rows and self.rows[0][0] is oldest:
                self.rows.popleft()
                removed += 1
        self._resize_virtual()
        if self.following:
            self.scroll_to_newest()
        else:
            self.unseen += shown
            if removed:  # keep the lines being read where they are
                self._move_to(self.scroll_y - removed)
        self.refresh()

    def rebuild(self) -> None:
        """Lay the rows out again after a change of scope, filter, wrap, time or width."""
        if self.wrap:
            self.rows = deque(row for e in self.shown_entries() for row in self._rows_for(e))
        else:
            self.rows = deque([(entry, 0, -1) for entry in self.shown_entries()])
        self._widest = None  # measured when the reader first scrolls sideways
        self._resize_virtual()
        if self.following:
            self.scroll_to_newest()
        self.refresh()

    def clear(self) -> None:
        self.entries.clear()
        self.rows.clear()
        self._widest = 0
        self._resize_virtual()
        self.scroll_to_newest()
        self.refresh()

    def scroll_to_newest(self) -> None:
        """Jump to the last line and follow from there."""
        self._move_to(self.max_scroll_y)
        self.following = True

    def measure_width(self) -> None:
        """Measure the widest line, so that the view can scroll sideways to its end."""
        if self._widest is None and not self.wrap:
            self._widest = max(map(self._line_cells, (row[0] for row in self.rows)), default=0)
            self._resize_virtual()

    def _resize_virtual(self) -> None:
        width = 0 if self.wrap else self._widest or 0
        self.virtual_size = Size(width, len(self.rows))

    def _move_to(self, y: float) -> None:
        self._moving = True
        try:
            # force: right after the first batch the scrollbars are not laid out yet, and
            # without it the scroll would be ignored.
            self.scroll_to(y=max(0, y), animate=False, force=True)
        finally:
            self._moving = False

    # -- following ---------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._moving:
            # The reader scrolled: follow only from the very end.
            self.following = round(new_value) >= self.max_scroll_y

    def watch_following(self, following: bool) -> None:
        if following:
            self.unseen = 0

    def on_resize(self) -> None:
        if self.wrap:
            self.rebuild()
        elif self.following:
            self.scroll_to_newest()

    # -- drawing -----------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            # Not partial: muted colours are translucent and need the background to blend on.
            style = self.get_component_rich_style(f"journal-view--{name}")
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = scroll_y + y
        if index >= len(self.rows):
            if y == 0 and not self.rows:
                text = self.empty_words()
                return Strip([Segment(text, self._style("placeholder"))]).crop_extend(
                    0, width, base
                )
            return Strip.blank(width, base)
        entry, start, end = self.rows[index]
        pieces = self._pieces(entry)
        if end >= 0:  # a wrapped row: only its part of the line
            pieces = _slice_pieces(pieces, start, end)
            scroll_x = 0
        segments = [Segment(text, self._style(name)) for text, name in pieces if text]
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, base)


def _slice_pieces(pieces: list[tuple[str, str]], start: int, end: int) -> list[tuple[str, str]]:
    """The characters ``start:end`` of the line the pieces make, keeping each piece's class."""
    out = []
    offset = 0
    for text, name in pieces:
        piece_start, piece_end = offset, offset + len(text)
        offset = piece_end
        if piece_end <= start or piece_start >= end:
            continue
        out.append(
            (text[max(start, piece_start) - piece_start : min(end, piece_end) - piece_start], name)
        )
    return out
