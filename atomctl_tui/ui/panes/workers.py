"""The Workers pane: the atom-worker units and their systemd state."""

from __future__ import annotations

from atomctl_tui.ui.panes.pane import Pane


class WorkersPane(Pane):
    PANE_TITLE = "Workers"
    NOT_CONNECTED = "the atom-worker units and their systemd state"
