"""The Journal pane: the workers' journal, streaming live.

Each host's ``JournalWatch`` (backend, given by the App) follows its journal and hands over
batches of lines; the ``JournalView`` keeps one capped buffer and draws what is in view (with
several hosts, each line names its host). The ``JournalFocus`` says which unit to show when
another pane asks or a unit action ends. The pane holds the keys: follow/pause, scope (a host,
a unit), filter, timestamps, wrap, the workers' ability lines folded or not, clear and save.

After a unit action the pane shows that unit's lines and stays there: it never changes what
it shows by itself, under the eyes of someone reading (a timer going back to all workers
would pick the wrong moment for someone). Instead the narrowing is said at the edge, with the
key that undoes it ("only atom-worker@2, after restart · a: all workers"), and the warnings,
errors and failed jobs of the lines it hides are counted there as they come ("3 problems
elsewhere"), so another worker's crash is never silent.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from atomctl_tui.journal.focus import JournalFocus, ShowUnitJournal, UnitActionFinished
from atomctl_tui.journal.line_filter import FilterError, parse_filter
from atomctl_tui.journal.watch import JournalBatch, JournalEvent, JournalWatch
from atomctl_tui.ui.journal.filter_bar import FilterBar
from atomctl_tui.ui.journal.view import JournalView
from atomctl_tui.ui.messages import (
    JournalEntriesArrived,
    JournalFocusRequested,
    JournalFollowerChanged,
)
from atomctl_tui.ui.widgets.pane import Pane

if TYPE_CHECKING:  # the scope picker and the save dialog are imported when first opened
    from atomctl_tui.ui.journal.scope_screen import ScopeChoice

ALL_SCOPE_WORDS = "all workers"


class JournalPane(Pane):
    PANE_TITLE = "Journal"
    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/", id="journal.filter"),
        Binding("f", "follow", "Follow", id="journal.follow"),
        Binding("u", "choose_unit", "Unit", id="journal.unit"),
        Binding("a", "all_units", "All workers' journal", show=False, id="journal.all"),
        Binding("s", "save", "Save", id="journal.save"),
        Binding("t", "toggle_time", "Timestamps on/off", show=False, id="journal.time"),
        Binding("w", "toggle_wrap", "Wrap long lines on/off", show=False, id="journal.wrap"),
        Binding(
            "e",
            "toggle_abilities",
            "Workers' 'New ability' lines: folded/listed",
            show=False,
            id="journal.abilities",
        ),
        Binding("c", "clear", "Clear the journal lines", show=False, id="journal.clear"),
        Binding("z", "maximize", "Journal full screen/back", show=False, id="journal.zoom"),
        Binding("up", "scroll(-1)", "Scroll up (pauses)", show=False, id="journal.up"),
        Binding("down", "scroll(1)", "Scroll down", show=False, id="journal.down"),
        Binding("pageup", "page(-1)", "Page up (pauses)", show=False, id="journal.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="journal.page_down"),
        Binding("home", "oldest", "Oldest line (pauses)", show=False, id="journal.home"),
        Binding("end", "follow", "Newest line, follow", show=False, id="journal.end"),
        Binding("left", "pan(-8)", "Scroll left", show=False, id="journal.left"),
        Binding("right", "pan(8)", "Scroll right", show=False, id="journal.right"),
    ]

    def __init__(
        self,
        journals: Sequence[JournalWatch],
        journal_focus: JournalFocus,
        *,
        max_lines: int,
        id: str | None = None,
    ) -> None:
        """``journals``: one per host, the first host's first; ``max_lines``: the lines kept."""
        super().__init__(id=id)
        self.journals = {journal.host.label: journal for journal in journals}
        self.hosts = [journal.host for journal in journals]
        self.journal_focus = journal_focus
        self.max_lines = max_lines
        self.statuses = {label: journal.status for label, journal in self.journals.items()}
        self.subtitle = ""
        self.scope_reason = ""
        """Why the scope is one unit, when the console chose it ("after restart")."""
        self._unsubscribes: list[Callable[[], None]] = []

    @property
    def several(self) -> bool:
        return len(self.hosts) > 1

    def compose(self) -> ComposeResult:
        view = JournalView(self.max_lines, id="journal-view")
        view.show_host = self.several
        yield view
        yield FilterBar(id="journal-filter")

    @property
    def view(self) -> JournalView:
        return self.query_one(JournalView)

    def on_mount(self) -> None:
        super().on_mount()
        self.watch(self.view, "following", self._refresh_subtitle, init=False)
        self.watch(self.view, "unseen", self._refresh_subtitle, init=False)
        self.watch(self.view, "trouble_elsewhere", self._refresh_subtitle, init=False)
        self._unsubscribes.append(
            self.journal_focus.subscribe(
                lambda request: self.post_message(JournalFocusRequested(request))
            )
        )
        for label, journal in self.journals.items():
            self._unsubscribes.append(journal.subscribe(self._journal_listener(label)))
        self._refresh_subtitle()

    def _journal_listener(self, label: str) -> Callable[[JournalEvent], None]:
        def listener(event: JournalEvent) -> None:  # on the watch's thread
            if isinstance(event, JournalBatch):
                if not self.post_message(JournalEntriesArrived(event)):
                    event.taken()  # closing: nobody will take them
            else:
                self.post_message(JournalFollowerChanged(event, label))

        return listener

    async def on_unmount(self) -> None:
        # Off the event loop: the last listener gone, each watch ends its journalctl and
        # waits for its thread (boundedly) before the console's loop goes.
        unsubscribes, self._unsubscribes = self._unsubscribes, []
        await asyncio.gather(*(asyncio.to_thread(unsubscribe) for unsubscribe in unsubscribes))

    # -- from the journal watches ------------------------------------------------------

    def on_journal_entries_arrived(self, message: JournalEntriesArrived) -> None:
        self.view.add_entries(message.batch.entries)
        message.batch.taken()

    def on_journal_follower_changed(self, message: JournalFollowerChanged) -> None:
        self.statuses[message.host_label or self.hosts[0].label] = message.status
        self._refresh_subtitle()

    # -- scope: from the focus, the picker or the palette ------------------------------

    def _host_label(self, label: str | None) -> str | None:
        """The message's host as this pane knows it: None for "not mine"."""
        if label is None:
            return self.hosts[0].label
        return label if label in self.statuses else None

    def on_journal_focus_requested(self, message: JournalFocusRequested) -> None:
        # After an action, that unit's lines; asked for, a unit's or every worker's.
        request = message.request
        label = self._host_label(request.host_label)
        if label is None:
            return
        if isinstance(request, ShowUnitJournal) and request.unit is None:
            self.show_unit(None)
        elif isinstance(request, UnitActionFinished):
            self.show_unit(request.unit, label, reason=f"after {request.action}")
        else:
            self.show_unit(request.unit, label)

    def show_unit(self, unit: str | None, host: str | None = None, *, reason: str = "") -> None:
        """Show one unit's lines (None: all workers), from the newest. ``host``: that host's
        unit, or with ``unit`` None all of that host's lines (None: every host); ``reason``:
        why the console narrowed it, said in the subtitle."""
        journal = self.journals.get(host or self.hosts[0].label)
        if unit is not None and journal is not None:
            journal.include_unit(unit)  # a unit outside the scope so far joins it
        view = self.view
        view.unit_scope = unit
        view.host_scope = host if self.several else None
        view.trouble_elsewhere = 0
        self.scope_reason = reason if unit is not None else ""
        view.following = True
        view.rebuild()
        self._refresh_subtitle()

    def scope_choices(self) -> list[ScopeChoice]:
        """What the picker and the palette offer: every host, then every unit of the scope."""
        from atomctl_tui.ui.journal.scope_screen import ScopeChoice

        choices = []
        for host in self.hosts:
            if self.several:
                choices.append(ScopeChoice(None, host.label))
            units = set(self.journals[host.label].scope_units())
            view = self.view
            if view.unit_scope and view.host_scope in (None, host.label):
                units.add(view.unit_scope)
            label = host.label if self.several else None
            choices.extend(ScopeChoice(unit, label) for unit in sorted(units))
        return choices

    def action_choose_unit(self) -> None:
        from atomctl_tui.ui.journal.scope_screen import JournalScopeScreen, ScopeChoice

        view = self.view
        current = ScopeChoice(view.unit_scope, view.host_scope)

        def chosen(choice: ScopeChoice | None) -> None:
            if choice is not None:
                self.show_unit(choice.unit, choice.host)

        self.app.push_screen(JournalScopeScreen(self.scope_choices(), current), chosen)

    def action_all_units(self) -> None:
        self.show_unit(None)

    # -- reading -----------------------------------------------------------------------

    def action_follow(self) -> None:
        self.view.scroll_to_newest()

    def action_scroll(self, rows: int) -> None:
        self.view.scroll_to(y=self.view.scroll_y + rows, animate=False, force=True)

    def action_page(self, pages: int) -> None:
        view = self.view
        view.scroll_to(
            y=view.scroll_y + pages * max(1, view.size.height), animate=False, force=True
        )

    def action_oldest(self) -> None:
        self.view.scroll_to(y=0, animate=False, force=True)

    def action_pan(self, columns: int) -> None:
        self.view.measure_width()
        # force: the horizontal scrollbar is hidden (a row is precious at 80x24).
        self.view.scroll_to(x=self.view.scroll_x + columns, animate=False, force=True)

    def action_toggle_time(self) -> None:
        self.view.show_time = not self.view.show_time
        self.view.rebuild()

    def action_toggle_wrap(self) -> None:
        self.view.wrap = not self.view.wrap
        self.view.rebuild()

    def action_toggle_abilities(self) -> None:
        self.view.fold_abilities = not self.view.fold_abilities
        self.view.rebuild()

    def action_clear(self) -> None:
        self.view.clear()

    def action_maximize(self) -> None:
        if self.screen.maximized is self:
            self.screen.minimize()
        else:
            self.screen.maximize(self, container=False)

    # -- filter and save ---------------------------------------------------------------

    def action_filter(self) -> None:
        line_filter = self.view.line_filter
        self.query_one(FilterBar).open(line_filter.text if line_filter else "")

    @on(Input.Submitted, "#journal-filter")
    def apply_filter(self, event: Input.Submitted) -> None:
        event.stop()
        bar = self.query_one(FilterBar)
        try:
            line_filter = parse_filter(event.value)
        except FilterError as error:
            # Keep what was typed so it can be corrected; the current filter stays.
            bar.add_class("-invalid")
            self.notify(str(error), title="Filter not applied", severity="error", markup=False)
            return
        bar.close()
        self.view.line_filter = line_filter
        self.view.rebuild()
        self._refresh_subtitle()

    def action_save(self) -> None:
        from atomctl_tui.ui.journal.save_screen import JournalSaveScreen, default_save_path

        entries = self.view.shown_entries()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        host = "fleet" if self.several else self.hosts[0].label
        host = re.sub(r"[^A-Za-z0-9._-]+", "-", host)
        default = default_save_path(f"atomctl-journal-{host}-{stamp}.log")

        def saved(words: str | None) -> None:
            if words:
                self.notify(words, title="Journal saved", markup=False)

        self.app.push_screen(JournalSaveScreen(entries, default), saved)

    # -- the subtitle: scope, filter, following ----------------------------------------

    def _refresh_subtitle(self, *_: object) -> None:
        view = self.view
        parts = [self._scope_words()]
        if view.trouble_elsewhere:
            count = view.trouble_elsewhere
            parts.append(f"{count:,} problem{'s' if count != 1 else ''} elsewhere")
        if view.line_filter is not None:
            parts.append(f"filter {view.line_filter.text}")
        troubled = [(label, s) for label, s in self.statuses.items() if not s.healthy]
        if troubled:
            parts.extend(
                f"{label}: {status.text}" if self.several else status.text
                for label, status in troubled
            )
        elif view.following:
            parts.append("following")
        else:
            parts.append(f"paused, {view.unseen:,} new lines (End follows)")
        subtitle = " · ".join(parts)
        if subtitle != self.subtitle:
            self.subtitle = subtitle
            self.border_subtitle = Text(subtitle)  # plain text: filters and errors hold "["

    def _scope_words(self) -> str:
        """Whose lines: all workers, or "only <unit>" and the key back to all of them."""
        view = self.view
        if view.unit_scope is None and view.host_scope is None:
            return ALL_SCOPE_WORDS
        if view.unit_scope is None:
            scope = f"only {view.host_scope}"
        else:
            unit = view.unit_scope.removesuffix(".service")
            host = f"{view.host_scope} " if view.host_scope is not None else ""
            scope = f"only {host}{unit}"
            if self.scope_reason:
                scope = f"{scope}, {self.scope_reason}"
        return f"{scope} · a: {ALL_SCOPE_WORDS}"
