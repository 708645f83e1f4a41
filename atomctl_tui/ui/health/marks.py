"""How the strip and the Health view mark a finding's severity."""

from __future__ import annotations

from atomctl_tui.health.findings import Severity

MARKS = {Severity.CRITICAL: "✖", Severity.WARNING: "▲", Severity.INFO: "●"}
STYLES = {Severity.CRITICAL: "bold red", Severity.WARNING: "bold yellow", Severity.INFO: "green"}
