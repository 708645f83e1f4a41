"""The Journal pane: the workers' journal, streaming live.

A ``JournalFollower`` (backend) runs journalctl on each host and posts batches of lines; the
``JournalView`` keeps one capped buffer and draws what is in view (with several hosts, each
line names its host). The pane holds the keys: follow/pause, scope (a host, a unit), filter,
timestamps, wrap, clear and save.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input
from textual.worker import Worker, WorkerError, WorkerState

from atomctl_tui.journal.follower import FollowerStatus, JournalFollower
from atomctl_tui.journal.line_filter import FilterError, parse_filter
from atomctl_tui.journal.scope import JournalSettings
from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.journal.filter_bar import FilterBar
from atomctl_tui.ui.journal.save_screen import JournalSaveScreen
from atomctl_tui.ui.journal.scope_screen import JournalScopeScreen, ScopeChoice
from atomctl_tui.ui.journal.view import JournalView
from atomctl_tui.ui.messages import (
    JournalEntriesArrived,
    JournalFollowerChanged,
    ShowUnitJournal,
    UnitActionFinished,
)
from atomctl_tui.ui.widgets.pane import Pane

ALL_SCOPE_WORDS = "all workers"
FOLLOWER_WORKER = "journal follower"
STOP_TIMEOUT = 5.0


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
        hosts: Host | Sequence[Host],
        settings: JournalSettings | None = None,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.hosts = [hosts] if isinstance(hosts, Host) else list(hosts)
        self.settings = settings or JournalSettings()
        self.followers: dict[str, JournalFollower] = {}
        self._follower_workers: list[Worker[None]] = []
        self.statuses = {h.label: FollowerStatus(True, "starting journalctl") for h in self.hosts}
        self.subtitle = ""

    @property
    def several(self) -> bool:
        return len(self.hosts) > 1

    @property
    def follower(self) -> JournalFollower | None:
        """The first host's follower (the only one, unless there are several hosts)."""
        return self.followers.get(self.hosts[0].label)

    def compose(self) -> ComposeResult:
        view = JournalView(self.settings.max_lines, id="journal-view")
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
        for host in self.hosts:
            label = host.label
            follower = JournalFollower(
                host,
                self.settings,
                on_entries=lambda entries: self.post_message(JournalEntriesArrived(entries)),
                on_status=lambda status, label=label: self.post_message(
                    JournalFollowerChanged(status, label)
                ),
            )
            self.followers[label] = follower
            self._follower_workers.append(
                self.run_worker(follower.run(), name=FOLLOWER_WORKER, exit_on_error=False)
            )
        self._refresh_subtitle()

    async def on_unmount(self) -> None:
        # Let the followers end their journalctl and close the pipes before the loop goes.
        for follower in self.followers.values():
            follower.stop()
        for worker in self._follower_workers:
            with contextlib.suppress(WorkerError, TimeoutError):
                await asyncio.wait_for(worker.wait(), STOP_TIMEOUT)

    # -- from the followers ------------------------------------------------------------

    def on_journal_entries_arrived(self, message: JournalEntriesArrived) -> None:
        self.view.add_entries(message.entries)

    def on_journal_follower_changed(self, message: JournalFollowerChanged) -> None:
        self.statuses[message.host_label or self.hosts[0].label] = message.status
        self._refresh_subtitle()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == FOLLOWER_WORKER and event.state == WorkerState.ERROR:
            error = event.worker.error
            index = self._follower_workers.index(event.worker)
            label = self.hosts[index].label
            self.statuses[label] = FollowerStatus(False, f"the journal follower failed: {error!r}")
            self._refresh_subtitle()

    # -- scope: from the Workers pane, the picker or the palette -----------------------

    def _host_label(self, label: str | None) -> str | None:
        """The message's host as this pane knows it: None for "not mine"."""
        if label is None:
            return self.hosts[0].label
        return label if label in self.statuses else None

    def on_show_unit_journal(self, message: ShowUnitJournal) -> None:
        message.stop()
        label = self._host_label(message.host_label)
        if label is not None:
            self.show_unit(message.unit, label if message.unit is not None else None)

    def on_unit_action_finished(self, message: UnitActionFinished) -> None:
        message.stop()
        label = self._host_label(message.host_label)
        if label is not None:
            self.show_unit(message.unit, label)

    def show_unit(self, unit: str | None, host: str | None = None) -> None:
        """Show one unit's lines (None: all workers), from the newest. ``host``: that host's
        unit, or with ``unit`` None all of that host's lines (None: every host)."""
        follower = self.followers.get(host or self.hosts[0].label)
        if unit is not None and follower is not None:
            follower.include_unit(unit)  # a unit outside the scope so far joins it
        view = self.view
        view.unit_scope = unit
        view.host_scope = host if self.several else None
        view.following = True
        view.rebuild()
        self._refresh_subtitle()

    def scope_choices(self) -> list[ScopeChoice]:
        """What the picker and the palette offer: every host, then every unit of the scope."""
        choices = []
        for host in self.hosts:
            follower = self.followers.get(host.label)
            if self.several:
                choices.append(ScopeChoice(None, host.label))
            units = set(follower.scope_units() if follower else [])
            view = self.view
            if view.unit_scope and view.host_scope in (None, host.label):
                units.add(view.unit_scope)
            label = host.label if self.several else None
            choices.extend(ScopeChoice(unit, label) for unit in sorted(units))
        return choices

    def action_choose_unit(self) -> None:
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
        entries = self.view.shown_entries()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        host = "fleet" if self.several else self.hosts[0].label
        host = re.sub(r"[^A-Za-z0-9._-]+", "-", host)
        default = Path.cwd() / f"atomctl-journal-{host}-{stamp}.log"

        def saved(words: str | None) -> None:
            if words:
                self.notify(words, title="Journal saved", markup=False)

        self.app.push_screen(JournalSaveScreen(entries, default), saved)

    # -- the subtitle: scope, filter, following ----------------------------------------

    def _refresh_subtitle(self, *_: object) -> None:
        view = self.view
        scope = view.unit_scope.removesuffix(".service") if view.unit_scope else ALL_SCOPE_WORDS
        if view.host_scope is not None:
            scope = f"{view.host_scope} {scope}" if view.unit_scope else f"{view.host_scope}"
        parts = [scope]
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
