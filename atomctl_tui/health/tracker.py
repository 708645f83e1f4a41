"""The health findings of some inputs: the queue, unit, job and AtoM job rules together, each
finding dated and all of them in order (most severe first).

The console's ``HealthMonitor`` keeps one tracker between assessments, so it has the history
some findings need: "since when" for findings whose data carries no time of its own (the
tracker notes when it first saw them; a server's reachability, an SSH connection and a unit's
state carry theirs), and the rules' own (a restart loop, jobs not taken, waiting growing).
``atomctl-tui check`` assesses once, without history.

Every buffer is bounded: history is kept only for units, functions and findings present in
the latest inputs, and samples are trimmed to their window.
"""

from __future__ import annotations

import time

from atomctl_tui.health.atom_job_rules import StuckJobs, failed_findings, unreadable_findings
from atomctl_tui.health.findings import KIND_RANK, Finding, HealthInputs, HealthRules
from atomctl_tui.health.job_rules import failed_job_findings
from atomctl_tui.health.queue_rules import QueueRules
from atomctl_tui.health.unit_rules import UnitRules


class HealthTracker:
    """Assesses inputs; kept between assessments (the console), it also remembers."""

    def __init__(self, rules: HealthRules | None = None, *, history: bool = True) -> None:
        """``history=False`` (a one-shot check): conditions count from what the data says
        (a unit's ActiveEnterTimestamp), never from a previous assessment."""
        self.rules = rules or HealthRules()
        self.history = history
        self.queues = QueueRules(self.rules, history=history)
        self.units = UnitRules(self.rules, history=history)
        self.stuck_jobs = StuckJobs(history=history)
        self._first_seen: dict[str, float] = {}

    @property
    def waiting_on_time(self) -> bool:
        """Whether time alone could change the findings: a condition that becomes one once
        it has lasted (a worker's registration grace, jobs not taken, waiting growing), or a
        restart loop that ends when its rises leave the window. Otherwise, assessing the same
        inputs again finds the same."""
        return (
            self.queues.waiting_on_time
            or self.units.waiting_on_time
            or self.stuck_jobs.waiting_on_time
        )

    def assess(self, inputs: HealthInputs) -> list[Finding]:
        now = inputs.now or time.time()
        findings = self.units.host_findings(inputs.hosts)
        if inputs.snapshots is not None:
            findings.extend(self.queues.assess(inputs, inputs.snapshots, now))
        findings.extend(self.units.unit_findings(inputs, now))
        findings.extend(failed_job_findings(inputs))
        findings.extend(self.stuck_jobs.findings(inputs))
        findings.extend(failed_findings(inputs))
        findings.extend(unreadable_findings(inputs))
        return self._dated(findings, now)

    def _dated(self, findings: list[Finding], now: float) -> list[Finding]:
        """Fill in ``since`` from when each finding was first seen; forget the others."""
        dated = []
        keys = set()
        for finding in findings:
            key = finding.key
            keys.add(key)
            first = self._first_seen.setdefault(key, now) if self.history else None
            if finding.since is None and first is not None:
                finding = finding.dated(first)
            dated.append(finding)
        for key in set(self._first_seen) - keys:
            del self._first_seen[key]
        dated.sort(key=lambda f: (-f.severity, KIND_RANK[f.kind], f.since or now, f.subject))
        return dated
