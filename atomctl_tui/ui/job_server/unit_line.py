"""The job server's own systemd unit (gearman-job-server.service): its state and the same keys.

Lives in the Job server pane, as one focusable line per host. Stopping or restarting it says
first what happens to the jobs gearmand holds: its queue is in memory unless it runs with a
persistent one (``systemd/job_server_queue.py`` reads the running gearmand's options).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.journal.focus import JournalFocus
from atomctl_tui.systemd.actions import Action, UnitActions, action_named
from atomctl_tui.systemd.bus import ConnectionStatus
from atomctl_tui.systemd.job_server_queue import read_queue, restart_words
from atomctl_tui.systemd.unit_source import UnitSource
from atomctl_tui.systemd.unit_text import pid_text, result_text, state_kind, state_text, uptime_text
from atomctl_tui.systemd.units import UnitState
from atomctl_tui.ui.messages import UnitsChanged
from atomctl_tui.ui.unit_action_flow import run_unit_action

UPTIME_REFRESH_SECONDS = 5.0

# What empties gearmand's queue, unless it is persistent.
QUEUE_LOSING_ACTIONS = frozenset({Action.STOP, Action.RESTART})


class JobServerUnit(Static, can_focus=True):
    PANE_TITLE = "Job server unit"  # how the help and the palette name its keys
    COMPONENT_CLASSES = {
        "unit--failed",
        "unit--active",
        "unit--changing",
        "unit--inactive",
    }
    # Its restart is a capital R: in this pane `r` polls the job servers, on this line too (a
    # Tab away). The footer at 80 columns has room for the first four, with `r` and `?`.
    BINDINGS = [
        Binding("R", "act('restart')", "Restart", id="job_server_unit.restart"),
        Binding("x", "act('stop')", "Stop", id="job_server_unit.stop"),
        Binding("s", "act('start')", "Start", id="job_server_unit.start"),
        Binding("j", "journal", "Journal", id="job_server_unit.journal"),
        Binding(
            "f",
            "act('reset_failed')",
            "Reset failed",
            show=False,
            id="job_server_unit.reset_failed",
        ),
        Binding("e", "act('enable')", "Enable", show=False, id="job_server_unit.enable"),
        Binding("d", "act('disable')", "Disable", show=False, id="job_server_unit.disable"),
    ]

    def __init__(
        self,
        units: UnitSource,
        actions: UnitActions,
        journal_focus: JournalFocus,
        *,
        host_label: str | None = None,
        servers: Sequence[str] = (),
        read_only: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__("", id=id, markup=False)
        self.units = units
        self.actions = actions
        self.journal_focus = journal_focus
        self.host_label = host_label
        """The host it is on, named with several hosts; None: the console's only host."""
        self.servers = tuple(servers)
        """The watched job servers that run on its host: what stopping it takes away."""
        self.read_only = read_only
        self.state: UnitState | None = None
        self.status = ConnectionStatus(connected=False, detail="connecting to systemd")
        self._unsubscribe: Callable[[], None] | None = None
        self._line = Text()

    def on_mount(self) -> None:
        self._unsubscribe = self.units.subscribe(
            lambda update: self.post_message(UnitsChanged(update))
        )
        self.set_interval(UPTIME_REFRESH_SECONDS, self._show)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def on_units_changed(self, message: UnitsChanged) -> None:
        update = message.update
        if update.status is not None:
            self.status = update.status
        if JOB_SERVER_UNIT in update.changed:
            self.state = update.changed[JOB_SERVER_UNIT]
        elif JOB_SERVER_UNIT in update.removed:
            self.state = None
        elif update.status is None and not update.listed:
            return  # news of the workers only
        self._show()

    def _show(self) -> None:
        where = f" on {self.host_label}" if self.host_label else ""
        line = Text(f"{JOB_SERVER_UNIT.removesuffix('.service')}{where}: ")
        if not self.status.connected:
            # The Workers pane says why and when the next attempt is.
            line.append(
                "systemd not connected ", style=self.get_component_rich_style("unit--changing")
            )
        if self.state is None:
            if self.status.connected:
                line.append("no such unit", style=self.get_component_rich_style("unit--inactive"))
            # One host among several without a job server of its own: nothing worth a line.
            self.display = not (self.host_label and self.status.connected)
            self._put(line)
            return
        self.display = True
        kind = self.get_component_rich_style(f"unit--{state_kind(self.state)}")
        line.append(state_text(self.state), style=kind)
        result = result_text(self.state)
        if result:
            line.append(f" ({result})", style=self.get_component_rich_style("unit--failed"))
        details = [
            self.state.unit_file_state,
            f"PID {pid_text(self.state)}" if self.state.main_pid else "",
            f"up {uptime}" if (uptime := uptime_text(self.state, time.time())) else "",
        ]
        line.append("".join(f" · {detail}" for detail in details if detail))
        self._put(line)

    def _put(self, line: Text) -> None:
        # Shown again every few seconds for its uptime: a repaint only when the line changed,
        # and a new layout of the screen only when its length did (it may wrap anew).
        if line == self._line:
            return
        self.update(line, layout=len(line) != len(self._line))
        self._line = line

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In --read-only no action is offered: hidden from the footer, the help and the palette.
        return not (action == "act" and self.read_only)

    def action_act(self, name: str) -> None:
        self.run_worker(self._act(action_named(name)), group="unit-actions")

    async def _act(self, action: Action) -> None:
        notes = [self.server_words()]
        if action in QUEUE_LOSING_ACTIONS:
            main_pid = self.state.main_pid if self.state is not None else 0
            queue = await asyncio.to_thread(read_queue, self.units.host, main_pid)
            notes.append(restart_words(queue))
        await run_unit_action(
            self, [(self.actions, [JOB_SERVER_UNIT])], action, self.journal_focus, notes=notes
        )

    def server_words(self) -> str:
        """Which job server the confirmation is about: the unit's name alone does not say."""
        host = self.units.host.label
        pid = f" (gearmand PID {self.state.main_pid})" if self.state and self.state.main_pid else ""
        if not self.servers:
            return f"No job server the console watches runs on {host}{pid}."
        named = ", ".join(self.servers)
        return f"On {host} it is the job server {named}{pid}."

    def action_journal(self) -> None:
        self.journal_focus.show(JOB_SERVER_UNIT, self.host_label)
