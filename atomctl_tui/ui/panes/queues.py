"""The Queues pane: queued and running jobs per AtoM job class."""

from __future__ import annotations

from atomctl_tui.ui.panes.pane import Pane


class QueuesPane(Pane):
    PANE_TITLE = "Queues"
    NOT_CONNECTED = "queued and running jobs per AtoM job class"
