"""The Job server pane: the job server's state (gearmand admin protocol)."""

from __future__ import annotations

from atomctl_tui.ui.panes.pane import Pane


class JobServerPane(Pane):
    PANE_TITLE = "Job server"
    NOT_CONNECTED = "the job server's state (gearmand admin protocol)"
