"""A remote host's SSH connection, as the console's panes and health monitor see it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from atomctl_tui.remote.hosts import Host
from atomctl_tui.remote.ssh_link import LinkStatus

LinkListener = Callable[[LinkStatus], object]


class FakeSshLink:
    """Stands for an ``SshLink``: listeners get ``status`` now and each ``tell()`` after."""

    def __init__(self, label: str, status: LinkStatus) -> None:
        self.label = label
        self._lock = threading.RLock()
        self._status = status
        self._listeners: list[LinkListener] = []
        self.closed = False

    @property
    def status(self) -> LinkStatus:
        with self._lock:
            return self._status

    def host(self) -> Host:
        """A host no command reaches: its argv runs nothing on any machine."""
        return Host(label=self.label, run_prefix=("false",))

    def subscribe(self, listener: LinkListener) -> Callable[[], None]:
        with self._lock:
            listener(self._status)
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def tell(self, status: LinkStatus) -> None:
        with self._lock:
            self._status = status
            for listener in list(self._listeners):
                listener(status)

    def close(self) -> None:
        with self._lock:
            self.closed = True
