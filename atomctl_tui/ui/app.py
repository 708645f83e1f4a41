"""The console's main screen: Job server, Queues, Workers and Journal panes, for one host or a
fleet of hosts (``--host``)."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import RenderableType
from textual.actions import SkipAction
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Header, Input

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.config import Settings, default_settings
from atomctl_tui.fleet import Fleet
from atomctl_tui.gearman.gearmand_start import start_reader
from atomctl_tui.gearman.poller import JobServersPoller
from atomctl_tui.gearman.watch import JobServersWatch
from atomctl_tui.health.findings import HealthRules
from atomctl_tui.health.monitor import HealthMonitor
from atomctl_tui.health.sources import server_hosts
from atomctl_tui.journal.focus import JournalFocus
from atomctl_tui.journal.scope import JournalSettings
from atomctl_tui.journal.watch import JournalWatch
from atomctl_tui.journal.worker_activity import WorkerActivity
from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.health.strip import HEALTH_BINDING, HealthStrip
from atomctl_tui.ui.job_server.pane import JobServerPane
from atomctl_tui.ui.job_server.unit_line import JobServerUnit
from atomctl_tui.ui.journal.pane import JournalPane
from atomctl_tui.ui.keymap import apply_keymap
from atomctl_tui.ui.queues.pane import QueuesPane
from atomctl_tui.ui.widgets.keyed_table import KeyedTable
from atomctl_tui.ui.widgets.pane import Pane
from atomctl_tui.ui.workers.pane import WorkersPane

if TYPE_CHECKING:
    from textual.command import Provider

    from atomctl_tui.atom_db.atom_site import AtomSite
    from atomctl_tui.atom_db.watch import AtomJobsWatch
    from atomctl_tui.ui.atom_jobs.screen import AtomJobsScreen
    from atomctl_tui.ui.health.screen import HealthScreen
    from atomctl_tui.ui.queues.jobs_screen import JobsScreen

# The views and screens not on the first screen (the Health, Jobs, AtoM jobs and help views,
# the palette's commands, AtoM's database) are imported when first used, not at start-up:
# the first frame waits for every module imported before it (benchmarks/README.md, "First
# paint").


def journal_commands() -> type[Provider]:
    """The journal's palette commands, imported when the palette first opens."""
    from atomctl_tui.ui.journal.commands import JournalCommands

    return JournalCommands


# What every table's own keys do (DataTable's, and KeyedTable's first and last row).
TABLE_KEYS = [
    Binding("up,down", "", "Previous / next row"),
    Binding("pageup,pagedown", "", "Page up / down"),
    Binding("left,right", "", "Scroll left / right"),
    *Binding.make_bindings(KeyedTable.BINDINGS),
]
# The views' actions that act on the fleet: not offered in --read-only.
ACTING_VIEW_KEYS = frozenset({"fix"})
HEADER_HOSTS_WIDTH = 40  # host names in the header up to this long, else how many hosts
SWITCH_INTERVAL_SECONDS = 0.0005
"""How long a thread may keep the interpreter lock while another waits for it (Python's
default is 5 ms). The sources read on threads of their own — the D-Bus listing, the job
servers' poll, the journal — and the UI thread is busy with the first screen just when their
data comes: with the default, each handover waited up to 5 ms. Measured (benchmarks/README.md,
"First paint"): every pane filled 4–13 % sooner, in the first frame with the Workers rows."""


class AtomctlApp(App[None]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "atomctl-tui"
    COMMANDS = App.COMMANDS | {journal_commands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        # ctrl+c quits, as in htop, k9s and lazydocker: over SSH it is what a hand reaches for,
        # and Textual's default (copy, and a note saying how to quit) leaves the console
        # running. Text selected with the mouse is still copied by it (action_interrupt).
        Binding(
            "ctrl+c",
            "interrupt",
            "Quit (copy, with text selected)",
            show=False,
            priority=True,
            id="app.interrupt",
        ),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        HEALTH_BINDING,
        Binding("A", "atom_jobs", "AtoM jobs", id="app.atom_jobs"),
        Binding("tab", "focus_next", "Next pane", show=False, id="app.focus_next"),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False, id="app.focus_prev"),
    ]

    def __init__(
        self,
        host: Host | None = None,
        *,
        fleet: Fleet | None = None,
        settings: Settings | None = None,
        read_only: bool = False,
        journal: JournalSettings | None = None,
        health: HealthRules | None = None,
        job_servers: JobServersWatch | None = None,
        journal_watches: list[JournalWatch] | None = None,
        atom_sites: list[AtomSite] | None = None,
    ) -> None:
        """One ``host`` (this machine, a lab), or the ``fleet`` of remote hosts (``--host``).
        ``health``: the health findings' thresholds (tests shorten the ones that need time).
        ``job_servers``, ``journal_watches`` (one per fleet member, in its order): sources to
        use instead of polling the fleet's job servers and following its journals (tests);
        ``atom_sites``: the AtoM sites whose databases the console reads (tests)."""
        super().__init__()
        self.health_rules = health or HealthRules()
        self.settings = settings or default_settings()
        self.journal_settings = journal or JournalSettings(
            worker_units=self.settings.unit_patterns, backlog=self.settings.journal_backlog
        )
        self.read_only = read_only
        self.worker_patterns = self.settings.unit_patterns
        if fleet is None:
            assert host is not None, "a host or a fleet"
            # One systemd connection for the whole console, opened by the first widget watching.
            patterns = [*self.worker_patterns, JOB_SERVER_UNIT]
            fleet = Fleet.single(host, patterns, read_only=read_only)
        self.fleet = fleet
        # The console's one source of Gearman data: every pane that shows it listens.
        targets = fleet.gearman_targets(self.settings)
        # gearmand's start is read on the host each server runs on, where the console knows it.
        start_readers = {
            server: start_reader(fleet.member(label).host, fleet.member(label).units)
            for server, label in server_hosts(fleet, targets).items()
        }
        self.job_servers = job_servers or JobServersWatch(
            JobServersPoller.of_targets(targets, start_readers=start_readers),
            interval=self.settings.poll_interval,
        )
        # The journal's sources: each host's journal, and which unit's lines to show next.
        self.journal_watches = journal_watches or [
            JournalWatch(member.host, self.journal_settings) for member in fleet.members
        ]
        self.journal_focus = JournalFocus()
        # What each host's workers are doing (their AtoM jobs), read from its journal.
        self.worker_activities = [
            WorkerActivity(watch, self.worker_patterns) for watch in self.journal_watches
        ]
        self._atom_sites = atom_sites
        self._switch_interval = sys.getswitchinterval()  # Python's, given back on unmount
        self._shown = False
        """Whether the first frame is up (Textual's Ready event): an exit waits for it."""
        self._exit_when_shown: Callable[[], None] | None = None
        self._atom_sites_lock = threading.Lock()  # found by the monitor's thread, or the UI's
        # What is wrong, assessed from the fleet, the polls, the workers' logs and AtoM's
        # databases: the strip and the Health view listen.
        self.health_monitor = HealthMonitor(
            fleet,
            self.settings,
            self.health_rules,
            self.job_servers,
            self.worker_activities,
            atom_jobs=self._atom_jobs_watches,
        )
        labels = ", ".join(fleet.labels)
        self.sub_title = (
            labels if len(labels) <= HEADER_HOSTS_WIDTH else f"{len(fleet.labels)} hosts"
        )

    @property
    def atom_sites(self) -> list[AtomSite]:
        """AtoM's own job records, read from each site's database (by the health monitor, and
        by the AtoM jobs view while it is open); found when first asked for."""
        with self._atom_sites_lock:
            if self._atom_sites is None:
                from atomctl_tui.atom_db.atom_site import console_sites

                self._atom_sites = console_sites(self.fleet, self.settings)
            return self._atom_sites

    def _atom_jobs_watches(self) -> dict[str, AtomJobsWatch]:
        """Each AtoM site's jobs watch, by host label (called on the monitor's thread)."""
        return {site.host.label: site.watch for site in self.atom_sites}

    def compose(self) -> ComposeResult:
        yield Header()
        yield HealthStrip(self.health_monitor, self.settings.keymap, id="health-strip")
        with Container(id="panes"):
            yield JobServerPane(
                self.fleet,
                self.settings,
                self.job_servers,
                self.journal_focus,
                read_only=self.read_only,
                id="job-server",
            )
            yield QueuesPane(
                self.fleet,
                self.settings,
                self.job_servers,
                activities=self.worker_activities,
                id="queues",
            )
            yield WorkersPane(
                self.fleet,
                self.worker_patterns,
                self.job_servers,
                self.journal_focus,
                activities=self.worker_activities,
                read_only=self.read_only,
                id="workers",
            )
            yield JournalPane(
                self.journal_watches,
                self.journal_focus,
                max_lines=self.journal_settings.max_lines,
                id="journal",
            )
        yield Footer()

    def on_load(self) -> None:
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        # The journal's backlog is read while Textual lays out the first screen; its lines
        # wait in the watch for the journal pane to listen.
        for watch in self.journal_watches:
            watch.start()

    def on_mount(self) -> None:
        # What exists now (Textual, Rich, the panes) lives as long as the console: keep it out
        # of the full garbage collections a journal flood brings; it halves their pauses
        # (benchmarks/README.md, "Journal pane").
        gc.freeze()
        apply_keymap(self, self.settings.keymap)

    def exit(
        self, result: None = None, return_code: int = 0, message: RenderableType | None = None
    ) -> None:
        """Exit now, or as soon as the first frame is up. Until then the panes are still
        being mounted: an exit then (a signal, ctrl+c at start) tore them down half made, their
        ``on_mount`` failed, and the console ended with status 1 and a traceback."""
        if self._shown:
            super().exit(result, return_code, message)
        else:
            self._exit_when_shown = partial(super().exit, result, return_code, message)

    def on_ready(self) -> None:
        self._shown = True
        if self._exit_when_shown is not None:
            self._exit_when_shown()

    async def on_unmount(self) -> None:
        self.health_monitor.close()
        # Started at load: closed here too, should no pane have listened (off the loop: a
        # watch waits, boundedly, for its thread).
        await asyncio.gather(*(asyncio.to_thread(w.close) for w in self.journal_watches))
        sys.setswitchinterval(self._switch_interval)

    def action_interrupt(self) -> None:
        """ctrl+c: copy the text selected on the screen or in a text field, else quit."""
        if self.screen.get_selected_text():
            self.screen.action_copy_text()
            return
        focused = self.focused
        if isinstance(focused, Input) and focused.selected_text:
            raise SkipAction()  # the field's own ctrl+c copies its selection
        self.exit()

    def action_help(self) -> None:
        """Every key: everywhere, each pane's, the tables', the Health, Jobs and AtoM jobs
        views' (from wherever it is opened), and those of the screen it is opened from."""
        from atomctl_tui.ui.atom_jobs.screen import AtomJobsScreen
        from atomctl_tui.ui.health.screen import HealthScreen
        from atomctl_tui.ui.help.screen import HelpScreen
        from atomctl_tui.ui.palette import offered_bindings
        from atomctl_tui.ui.queues.jobs_screen import JobsScreen

        palette = Binding(self.COMMAND_PALETTE_BINDING, "command_palette", "Command palette")
        sections = [("Everywhere", [*Binding.make_bindings(self.BINDINGS), palette])]
        view_types = (HealthScreen, JobsScreen, AtomJobsScreen)
        views = [self._view_keys(view) for view in view_types]
        current = self.screen
        if isinstance(current, view_types):  # its keys first
            views.sort(key=lambda view: view[0] != f"{current.SCREEN_TITLE} view")
            sections.append(views.pop(0))
        for pane in self.query(Pane):
            if pane.BINDINGS:
                sections.append((pane.PANE_TITLE, offered_bindings(pane)))
        for unit in list(self.query(JobServerUnit))[:1]:  # one line per host, the same keys
            sections.append((unit.PANE_TITLE, offered_bindings(unit)))
        sections.append(("Tables (Workers, Queues, Jobs, AtoM jobs)", TABLE_KEYS))
        sections.extend(views)
        other = current is not self.screen_stack[0]
        if other and not isinstance(current, view_types) and current.BINDINGS:
            title = getattr(current, "SCREEN_TITLE", "This screen")
            sections.append((title, list(Binding.make_bindings(current.BINDINGS))))
        self.push_screen(HelpScreen(sections, self.settings.keymap))

    def _view_keys(
        self, view: type[HealthScreen] | type[JobsScreen] | type[AtomJobsScreen]
    ) -> tuple[str, list[Binding]]:
        """A view's keys, as it offers them when open; else all but those it refuses in
        --read-only (the Health view's fix)."""
        from atomctl_tui.ui.palette import offered_bindings

        title = f"{view.SCREEN_TITLE} view"
        opened = next((s for s in self.screen_stack if isinstance(s, view)), None)
        if opened is not None:
            return title, offered_bindings(opened)
        keys = Binding.make_bindings(view.BINDINGS)
        return title, [b for b in keys if not (self.read_only and b.action in ACTING_VIEW_KEYS)]

    def action_health(self) -> None:
        from atomctl_tui.ui.health.screen import HealthScreen

        if not any(isinstance(screen, HealthScreen) for screen in self.screen_stack):
            self.push_screen(
                HealthScreen(
                    self.health_monitor,
                    self.fleet,
                    self.journal_focus,
                    self.settings.keymap,
                    read_only=self.read_only,
                    worker_patterns=self.worker_patterns,
                    atom_sites=self.atom_sites,
                )
            )

    def action_atom_jobs(self) -> None:
        from atomctl_tui.ui.atom_jobs.screen import AtomJobsScreen

        if any(isinstance(screen, AtomJobsScreen) for screen in self.screen_stack):
            return
        if not self.atom_sites:
            self.notify(
                "No AtoM database known: give --atom-root (the site's config/config.php names"
                " it), or --host for remote sites.",
                title="AtoM jobs",
                severity="warning",
                markup=False,
            )
            return
        self.push_screen(
            AtomJobsScreen(
                self.atom_sites,
                self.job_servers,
                self.worker_activities,
                self.worker_patterns,
                read_only=self.read_only,
            )
        )

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from atomctl_tui.ui.palette import binding_commands

        yield SystemCommand("Help", "Show every key binding", self.action_help)
        yield SystemCommand("Health", "What is wrong, and what to do", self.action_health)
        yield SystemCommand(
            "AtoM jobs",
            "The site's jobs from its database, and each one's story",
            self.action_atom_jobs,
        )
        yield from binding_commands(screen)
        yield from super().get_system_commands(screen)
