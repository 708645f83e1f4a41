"""The Journal pane: the workers' journal, streaming live."""

from __future__ import annotations

from atomctl_tui.ui.panes.pane import Pane


class JournalPane(Pane):
    PANE_TITLE = "Journal"
    NOT_CONNECTED = "the workers' journal, streaming live"
