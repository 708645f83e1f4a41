"""Job rules: the findings about AtoM's jobs themselves, from what the workers log.

- a job type the site's workers report as not defined ("Ability not defined": its class is
  missing, or its plugin is not enabled — qtSwordPluginWorker on a default install) and that
  no worker registers: AtoM cannot queue it here, so it is a note, never a missing worker;
- AtoM jobs that failed within the last hour, per job name (an exception in the job,
  "Maximum retries reached", or Net_Gearman's "Job failed") — on hosts whose AtoM database
  could not be read: where it could, ``atom_job_rules`` counts them from the database.

Stateless: the workers' logs (``HealthInputs.activities``) carry their own times.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from atomctl_tui.health.findings import (
    JOB_TYPE_NOT_ON_SITE,
    JOBS_FAILED,
    Finding,
    HealthInputs,
    Severity,
    listed,
    plural,
)
from atomctl_tui.journal.worker_activity import FailedJob
from atomctl_tui.systemd.unit_text import unit_label


def undefined_job_classes(inputs: HealthInputs) -> frozenset[str]:
    """The job classes some worker of the site reported as not defined."""
    return frozenset(
        job_class
        for activity in inputs.activities.values()
        for classes in activity.undefined_abilities.values()
        for job_class in classes
    )


PLUGIN_OF_JOB_CLASS = {"qtSwordPluginWorker": "qtSwordPlugin"}
"""The job classes that come with a plugin AtoM does not enable by default."""


def site_plugins(inputs: HealthInputs) -> tuple[str, ...] | None:
    """The plugins the sites whose database was read have enabled; None: not known."""
    known = [s.plugins for s in inputs.atom_jobs.values() if s.readable and s.plugins is not None]
    if not known:
        return None
    return tuple(dict.fromkeys(name for plugins in known for name in plugins))


def not_on_site_finding(
    classes: Iterable[str], plugins: Sequence[str] | None = None
) -> Finding | None:
    """``plugins``: the site's enabled plugins (its ``plugins`` setting), when known: then a
    class whose plugin is not among them is said to be so."""
    names = sorted(classes)
    if not names:
        return None
    if plugins is not None:
        return _plugin_finding(names, plugins)
    them = "it" if len(names) == 1 else "them"
    return Finding(
        JOB_TYPE_NOT_ON_SITE,
        Severity.INFO,
        "AtoM job types",
        f"{plural(len(names), 'AtoM job type')} not on this site: {listed(names)}. Its workers"
        ' report "Ability not defined" (the class is missing, or its plugin is not enabled),'
        f" so AtoM cannot queue {them} here.",
        "Nothing to do unless the site should offer it: enable the plugin (qtSwordPluginWorker"
        " is qtSwordPlugin's, for Archivematica DIP uploads), clear the cache (php symfony cc)"
        " and restart the workers.",
    )


def _plugin_finding(names: list[str], plugins: Sequence[str]) -> Finding:
    said = []
    disabled = []
    for name in names:
        plugin = PLUGIN_OF_JOB_CLASS.get(name)
        if plugin is None:
            said.append(f"{name} (its class is missing)")
        elif plugin in plugins:
            said.append(f"{name} ({plugin} is enabled, yet its workers do not find the class)")
        else:
            said.append(f"{name} ({plugin} is not enabled on this site)")
            disabled.append(plugin)
    them = "it" if len(names) == 1 else "them"
    advice = "Nothing to do unless the site should offer it: "
    if disabled:
        advice += (
            f"enable {listed(dict.fromkeys(disabled))} in AtoM's Plugins page (qtSwordPlugin is"
            " for Archivematica DIP uploads), then "
        )
    advice += "clear the cache (php symfony cc) and restart the workers."
    return Finding(
        JOB_TYPE_NOT_ON_SITE,
        Severity.INFO,
        "AtoM job types",
        f"{plural(len(names), 'AtoM job type')} not on this site: {listed(said)}. Its workers"
        f' report "Ability not defined", so AtoM cannot queue {them} here.',
        advice,
    )


def failed_job_findings(inputs: HealthInputs) -> list[Finding]:
    """One warning per job name with jobs that failed in the last hour, on the hosts whose
    AtoM database was not read."""
    by_name: dict[str, list[tuple[str, FailedJob]]] = {}
    for host, activity in inputs.activities.items():
        read = inputs.atom_jobs.get(host)
        if read is not None and read.readable:
            continue  # counted from the database
        for failure in activity.failures:
            by_name.setdefault(failure.name or "an unnamed job", []).append((host, failure))
    several_hosts = len(inputs.hosts) > 1
    findings = []
    for name, failures in sorted(by_name.items()):
        host, last = max(failures, key=lambda pair: pair[1].at)
        where = unit_label(last.unit) + (f" on {host}" if several_hosts else "")
        job = f"job {last.job_id}" if last.job_id else "the last one"
        findings.append(
            Finding(
                JOBS_FAILED,
                Severity.WARNING,
                name,
                f"{plural(len(failures), 'job')} of {name} failed in the last hour; {job}"
                f" on {where}: {last.message}",
                "Its journal (j) has the job's lines, AtoM's Jobs page its error. Fix the"
                " cause, then run the job again from AtoM.",
                host=host,
                function=name,
                since=min(failure.at for _host, failure in failures),
                journal=last.unit,
            )
        )
    return findings
