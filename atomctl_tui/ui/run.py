"""Running the console in the terminal until it is quit, or ended by a signal."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import threading
from collections.abc import Callable
from typing import Any, NoReturn

from textual.app import App

from atomctl_tui.cli import exit_now, signals_handled

ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
SIGNAL_GRACE_SECONDS = 5.0


def run_console(app: App[Any], close: Callable[[], None] = lambda: None) -> NoReturn:
    """Run the console, then ``close`` what it used, then end the process with its exit
    status (``exit_now``: daemon threads may still be in C code).

    SIGTERM, SIGHUP (the admin's terminal or SSH session gone) and SIGINT end it as `q` does,
    with exit status 128 + the signal's number: the terminal is given back and ``close``
    runs (SSH masters ended, the private directory removed). Python's defaults would end the
    process where it stands. Textual's ending writes to the terminal, which a hangup has
    taken away, and can then wait for ever: after ``SIGNAL_GRACE_SECONDS`` the console
    closes and exits without it. A signal while it closes is ignored: it is ending already.
    """
    closing = threading.Lock()
    closed = threading.Event()

    def close_once() -> None:
        if closing.acquire(blocking=False):
            try:
                close()
            finally:
                closed.set()
        closed.wait()

    def exit_anyway(status: int) -> None:
        close_once()
        os._exit(status)

    def end(signum: int, _frame: object) -> None:
        if not app.is_running:
            return  # not started yet (a moment) or closing
        status = 128 + signum
        with contextlib.suppress(RuntimeError):  # this is the app's thread: its loop is running
            asyncio.get_running_loop().call_soon_threadsafe(app.exit, None, status)
        timer = threading.Timer(SIGNAL_GRACE_SECONDS, exit_anyway, (status,))
        timer.daemon = True
        timer.start()

    # What start-up made (modules, classes, settings) lives as long as the console: kept out of
    # every collection, so that none scans it while the first frame is being made.
    gc.freeze()
    gc.enable()
    with signals_handled(ENDING_SIGNALS, end):
        try:
            app.run()
        finally:
            close_once()
        # Still under the handlers: a signal now is ignored (the app is not running).
        exit_now(console_exit_status(app))


def console_exit_status(app: App[Any]) -> int:
    """0 when the console was quit; Textual's non-zero code (1) when it ended on an error —
    an unhandled exception, whose traceback Textual has printed."""
    return app.return_code or 0
