"""The journal's lines on screen: a bounded buffer drawn line by line, following the end.

Only the rows in view are ever rendered (Textual's line API), so a full buffer costs nothing
to scroll through and a flood costs one refresh per batch. Every line is plain text: the
message was already made safe by ``log_text`` and is drawn as segments, never parsed as markup.

What a line says is ``line_words``'s (the worker's own time dropped, systemd's lines labelled
``systemd``). A worker process's run of ``New ability: X`` lines is folded into one row,
"17 abilities registered", until the reader expands them (``fold_abilities``); "Ability not
defined" lines stay rows of their own and do not end the run.
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
from atomctl_tui.journal.worker_log import (
    ABILITY_REGISTERED_PREFIX,
    STAMP_CHARS,
    registers_ability,
    split_stamp,
)
from atomctl_tui.ui.journal.job_lines import JobLines, ProcessKey
from atomctl_tui.ui.journal.line_words import is_trouble, shown_message, source_label

TIME_WIDTH = len("00:00:00 ")

# One display row: the entry and the character range of its display line that the row shows
# (the whole line unless wrapping cut it into several rows).
Row = tuple[JournalEntry, int, int]
MAX_OPEN_FOLDS = 64  # worker processes in the middle of registering their abilities
ABILITY_NOT_DEFINED_PREFIX = "Ability not defined: "


class AbilityFold:
    """A worker process's run of ``New ability`` lines, drawn as one row (its first line's)."""

    def __init__(self) -> None:
        self.count = 1

    def words(self) -> str:
        abilities = "ability" if self.count == 1 else "abilities"
        return f"{self.count} {abilities} registered (e lists them)"


def process_key(entry: JournalEntry) -> ProcessKey:
    return (entry.host, entry.unit, entry.pid)


class _Context:
    """grep's -C for the filter: N lines of the same unit before and after each match."""

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self._before: dict[tuple[str | None, str | None], deque[JournalEntry]] = {}
        self._after: dict[tuple[str | None, str | None], int] = {}

    def take(self, entry: JournalEntry, matched: bool) -> list[JournalEntry]:
        """What to show, given the next line of the scope (older lines first)."""
        key = (entry.host, entry.unit or entry.identifier)
        if matched:
            shown = [*self._before.pop(key, ()), entry]
            self._after[key] = self.lines
            return shown
        left = self._after.pop(key, 0)
        if left:
            if left > 1:
                self._after[key] = left - 1
            return [entry]
        before = self._before.get(key)
        if before is None:
            before = self._before[key] = deque(maxlen=self.lines)
        before.append(entry)
        return []


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

    DEFAULT_CSS = """
    JournalView > .journal-view--fold {
        color: $text-muted;
        text-style: italic;
    }
    """

    COMPONENT_CLASSES = {
        "journal-view--time",
        "journal-view--host",
        "journal-view--source",
        "journal-view--message",
        "journal-view--error",
        "journal-view--warning",
        "journal-view--debug",
        "journal-view--placeholder",
        "journal-view--fold",
    }

    following: var[bool] = var(True)
    """New lines scroll into view; off while the reader has scrolled up."""
    unseen: var[int] = var(0)
    """Lines that arrived while not following."""
    trouble_elsewhere: var[int] = var(0)
    """Warnings, errors and failed jobs that arrived outside the unit or host scope since it
    was narrowed: what the reader would otherwise never see."""

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
        self.fold_abilities = True
        self.job_lines = JobLines()
        self._folds: dict[int, AbilityFold] = {}  # by id() of the fold's first entry
        self._open_folds: dict[ProcessKey, AbilityFold] = {}
        self._around: _Context | None = None  # the filter's -C, as far as the lines went
        self._widest: int | None = None
        """The widest line's cells; None until the reader first scrolls sideways (measuring
        every line of a flood for a scroll that may never come costs a third of its ingest)."""
        self._moving = False  # the view scrolls itself: not the reader scrolling
        self._styles: dict[str, Style] = {}

    # -- what is shown -----------------------------------------------------------------

    @property
    def shows_everything(self) -> bool:
        return self.unit_scope is None and self.host_scope is None and self.line_filter is None

    def in_scope(self, entry: JournalEntry) -> bool:
        if self.unit_scope is not None and entry.unit != self.unit_scope:
            return False
        return self.host_scope is None or entry.host == self.host_scope

    def matches_filter(self, entry: JournalEntry) -> bool:
        line_filter = self.line_filter
        if line_filter is None:
            return True
        if line_filter.job_id is not None:
            return line_filter.matches("", "", self.job_lines.job_of(entry))
        if self.show_host and entry.host and line_filter.matches(entry.host, ""):
            return True
        return line_filter.matches(source_label(entry), shown_message(entry))

    def shows(self, entry: JournalEntry) -> bool:
        """Shown, context aside."""
        return self.in_scope(entry) and self.matches_filter(entry)

    def shown_entries(self) -> list[JournalEntry]:
        if self.shows_everything:
            return list(self.entries)
        line_filter = self.line_filter
        if line_filter is None or not line_filter.context:
            return [entry for entry in self.entries if self.shows(entry)]
        self._around = _Context(line_filter.context)
        shown = {id(e) for e in self._select_in_context(self.entries)}
        return [entry for entry in self.entries if id(entry) in shown]

    def _select_in_context(self, entries: Iterable[JournalEntry]) -> list[JournalEntry]:
        """The lines to show among ``entries`` and, before a match, kept lines before them."""
        context = self._around
        assert context is not None
        shown = []
        for entry in entries:
            if self.in_scope(entry):
                shown.extend(context.take(entry, self.matches_filter(entry)))
        return shown

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
        pieces.append((source_label(entry) + " ", "source"))
        fold = self._folds.get(id(entry)) if self.fold_abilities else None
        if fold is not None:
            pieces.append((fold.words(), "fold"))
        else:
            pieces.append((shown_message(entry), priority_class(entry.priority)))
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
        message = shown_message(entry)
        text_length = len(source_label(entry)) + 1 + len(message)
        if self.show_host:
            text_length += len(entry.host or "?") + 1
        if not (message.isascii() and entry.source.isascii()):
            text_length *= 2
        return text_length + TIME_WIDTH if self.show_time else text_length

    # -- changes -----------------------------------------------------------------------

    def add_entries(self, entries: Iterable[JournalEntry]) -> None:
        """Append a batch; the oldest lines go when the buffer is full."""
        batch = list(entries)[-self.max_lines :]  # more than the buffer holds: only the end
        self.entries.extend(batch)
        self.job_lines.take_all(batch)
        if self.shows_everything:
            shown_batch, older_too = batch, False  # the common case, kept lean for floods
        else:
            if self.unit_scope is not None or self.host_scope is not None:
                elsewhere = sum(1 for e in batch if not self.in_scope(e) and is_trouble(e))
                if elsewhere:
                    self.trouble_elsewhere += elsewhere
            shown_batch, older_too = self._shown_of(batch)
        shown = len(shown_batch)
        if older_too:  # context lines from before the batch: lay out anew
            self._trim()
            self.rebuild()
        else:
            if self.fold_abilities:
                fold_in = self._fold_in
                shown_batch = [entry for entry in shown_batch if not fold_in(entry)]
            if self.wrap:
                for entry in shown_batch:
                    self.rows.extend(self._rows_for(entry))
            else:
                self.rows.extend([(entry, 0, -1) for entry in shown_batch])
                if shown_batch and self._widest is not None:
                    self._widest = max(self._widest, max(map(self._line_cells, shown_batch)))
            removed = self._trim()
            self._resize_virtual()
            if not self.following and removed:  # keep the lines being read where they are
                self._move_to(self.scroll_y - removed)
        if self.following:
            self.scroll_to_newest()
        else:
            self.unseen += shown
        self.refresh()

    def _shown_of(self, batch: list[JournalEntry]) -> tuple[list[JournalEntry], bool]:
        """The batch's lines to show, in order, and whether a match in it brings back lines
        from before it (context)."""
        line_filter = self.line_filter
        if line_filter is None or not line_filter.context:
            return [entry for entry in batch if self.shows(entry)], False
        if self._around is None:
            self._around = _Context(line_filter.context)
        in_batch = {id(entry) for entry in batch}
        shown = {id(entry) for entry in self._select_in_context(batch)}
        return [entry for entry in batch if id(entry) in shown], not shown <= in_batch

    def _trim(self) -> int:
        """Let the oldest lines go beyond ``max_lines``; returns how many rows went."""
        excess = len(self.entries) - self.max_lines
        if excess <= 0:
            return 0
        popleft = self.entries.popleft
        gone = [popleft() for _ in range(excess)]
        self.job_lines.forget_all(gone)
        if self._folds:
            for oldest in gone:
                fold = self._folds.pop(id(oldest), None)
                if fold is not None:
                    self._open_folds = {k: f for k, f in self._open_folds.items() if f is not fold}
        # The rows of the lines that went are the first rows: rows keep the lines' order.
        gone_ids = set(map(id, gone))
        rows = self.rows
        removed = 0
        while rows and id(rows[0][0]) in gone_ids:
            rows.popleft()
            removed += 1
        return removed

    def _fold_in(self, entry: JournalEntry) -> bool:
        """Whether ``entry`` (shown next) goes into an open fold instead of a row of its own."""
        message = entry.message
        if message.startswith(ABILITY_REGISTERED_PREFIX, STAMP_CHARS) and registers_ability(
            message
        ):
            key = process_key(entry)
            fold = self._open_folds.get(key)
            if fold is not None:
                fold.count += 1
                return True
            while len(self._open_folds) >= MAX_OPEN_FOLDS:
                del self._open_folds[next(iter(self._open_folds))]
            self._open_folds[key] = self._folds[id(entry)] = AbilityFold()
            return False
        if self._open_folds:
            key = process_key(entry)
            if key in self._open_folds and not split_stamp(message)[1].startswith(
                ABILITY_NOT_DEFINED_PREFIX
            ):
                del self._open_folds[key]
        return False

    def rebuild(self) -> None:
        """Lay the rows out again after a change of scope, filter, wrap, time, folding or
        width."""
        self._folds.clear()
        self._open_folds.clear()
        shown = self.shown_entries()
        if self.fold_abilities:
            shown = [entry for entry in shown if not self._fold_in(entry)]
        if self.wrap:
            self.rows = deque(row for e in shown for row in self._rows_for(e))
        else:
            self.rows = deque([(entry, 0, -1) for entry in shown])
        self._widest = None  # measured when the reader first scrolls sideways
        self._resize_virtual()
        if self.following:
            self.scroll_to_newest()
        self.refresh()

    def clear(self) -> None:
        self.entries.clear()
        self.rows.clear()
        self.job_lines.clear()
        self._folds.clear()
        self._open_folds.clear()
        self._around = None
        self._widest = None
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
