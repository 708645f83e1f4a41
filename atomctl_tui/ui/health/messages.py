"""The message the Health strip and view post themselves from the health monitor's thread."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from atomctl_tui.health.monitor import HealthReport


@dataclass
class HealthReported(Message, bubble=False):
    """A new assessment of the console's health."""

    report: HealthReport
