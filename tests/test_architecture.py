"""Backends never import textual or rich: the UI is a layer on top, never underneath."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import atomctl_tui

UI_PACKAGES = ("atomctl_tui.ui",)


def backend_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(atomctl_tui.__path__, prefix="atomctl_tui.")
        if not info.name.startswith(UI_PACKAGES)
    ]
    assert "atomctl_tui.atom" in names and "atomctl_tui.lab.worker" in names
    return names


def test_backend_modules_import_no_textual_or_rich():
    modules = backend_modules()
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_probe_would_notice_textual():
    """The check above can fail: importing the UI does pull textual in."""
    probe = "import sys, atomctl_tui.ui.app; print('textual' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"
