"""Shared fixtures: real labs, booted on demand and always powered off.

The suite needs root (the lab boots systemd in new namespaces). Without it, lab tests fail
loudly; nothing is skipped, and a skipped test fails the run.
"""

from __future__ import annotations

import os

import pytest

from atomctl_tui.lab.state import LabState
from tests.labs import boot, lab_cli, unique_name


@pytest.fixture(scope="session")
def lab() -> LabState:
    """One lab for the whole session: gearmand, sshd and atom-worker@1..2, all running.

    Tests may change it but must put back what they change (units running, enabled).
    """
    if os.geteuid() != 0:
        pytest.fail("the lab tests must run as root: run ./scripts/test as root", pytrace=False)
    name = unique_name("main")
    state = boot(name, "--workers", "2")
    yield state
    lab_cli("down", "--name", name)


@pytest.fixture(scope="session")
def failing_jobs_lab() -> LabState:
    """A lab of its own for the tests that make AtoM jobs fail: a failed job is a Health
    finding for an hour (jobs-failed), which the main lab's other tests must not inherit."""
    if os.geteuid() != 0:
        pytest.fail("the lab tests must run as root: run ./scripts/test as root", pytrace=False)
    name = unique_name("fail")
    state = boot(name, "--workers", "2")
    yield state
    lab_cli("down", "--name", name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # `-m "not lab"` is the fast loop, without root: a test that takes the lab must say so.
    unmarked = [
        item.nodeid
        for item in items
        if LAB_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("lab") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests using the `lab` fixture must be marked `lab` (pytestmark = pytest.mark.lab):\n"
            + "\n".join(unmarked)
        )


LAB_FIXTURES = {"lab", "failing_jobs_lab"}
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A skipped test proves nothing: it must not let the run pass.
    if _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter) -> None:
    if _skipped:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped)} test(s) skipped; skips are not allowed in this suite",
            red=True,
        )
