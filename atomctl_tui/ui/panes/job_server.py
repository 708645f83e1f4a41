"""The Job server pane: the job server's state (gearmand admin protocol)."""

from __future__ import annotations

from textual.app import ComposeResult

from atomctl_tui.ui.job_server_unit import JobServerUnit
from atomctl_tui.ui.panes.pane import Pane


class JobServerPane(Pane):
    PANE_TITLE = "Job server"
    NOT_CONNECTED = "the job server's state (gearmand admin protocol)"

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield JobServerUnit(id="job-server-unit")
