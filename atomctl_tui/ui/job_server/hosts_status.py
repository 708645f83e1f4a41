"""Each remote host's connection state, in words, at the top of the Job server pane.

Two things must work for a remote host: its SSH connection (connecting, connected,
disconnected and reconnecting with backoff, authentication failed) and, through it, its
systemd connection (systemd-stdio-bridge missing, say). One line per host says both.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from atomctl_tui.fleet import Fleet
from atomctl_tui.remote.ssh_link import LinkState, LinkStatus
from atomctl_tui.systemd.bus import ConnectionStatus
from atomctl_tui.systemd.units import UnitsUpdate
from atomctl_tui.ui.messages import HostLinkChanged, UnitsChanged


class HostsStatus(Static):
    def __init__(self, fleet: Fleet, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.fleet = fleet
        self.links: dict[str, LinkStatus] = {}
        self.buses: dict[str, ConnectionStatus] = {}
        self._unsubscribes: list[Callable[[], None]] = []

    def on_mount(self) -> None:
        for member in self.fleet.members:
            if member.link is None:
                continue
            label = member.label
            self.links[label] = member.link.status
            self.buses[label] = ConnectionStatus(False, "connecting to systemd")
            self._unsubscribes.append(member.link.subscribe(self._link_listener(label)))
            self._unsubscribes.append(member.units.subscribe(self._bus_listener(label)))
        self._show()

    def _link_listener(self, label: str) -> Callable[[LinkStatus], object]:
        return lambda status: self.post_message(HostLinkChanged(label, status))

    def _bus_listener(self, label: str) -> Callable[[UnitsUpdate], None]:
        def listen(update: UnitsUpdate) -> None:
            if update.status is not None:  # only the connection's state matters here
                self.post_message(UnitsChanged(update, label))

        return listen

    def on_unmount(self) -> None:
        for unsubscribe in self._unsubscribes:
            unsubscribe()

    def on_host_link_changed(self, message: HostLinkChanged) -> None:
        self.links[message.host_label] = message.status
        self._show()

    def on_units_changed(self, message: UnitsChanged) -> None:
        if message.host_label is not None and message.update.status is not None:
            self.buses[message.host_label] = message.update.status
            self._show()

    def line(self, label: str) -> tuple[str, str, str]:
        """(mark, words, style) for one host."""
        link, bus = self.links[label], self.buses[label]
        if not link.connected:
            style = "bold red" if link.state is not LinkState.CONNECTING else "yellow"
            return "✖", link.text, style
        if not bus.connected:
            return "▲", f"connected; {bus.detail}", "yellow"
        return "●", "connected", "green"

    def text(self) -> Text:
        text = Text()
        for label in self.links:
            mark, words, style = self.line(label)
            text.append(f"{mark} ", style=style)
            text.append(label, style="bold")
            text.append(f" {words}\n", style="" if style == "green" else style)
        text.rstrip()
        return text

    def _show(self) -> None:
        self.update(self.text())
