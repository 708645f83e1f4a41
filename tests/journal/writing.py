"""Writing test lines into a lab's journal, from inside the lab, as its processes would."""

from __future__ import annotations

import subprocess

from atomctl_tui.lab.state import LabState

# journald's native protocol takes any bytes in a field (NUL, CR, newlines), which the stdout
# stream transport would split into several entries. Test-only: the lab has python3.
_NATIVE_SEND = """
import socket, struct, sys
message = sys.stdin.buffer.read()
fields = b"SYSLOG_IDENTIFIER=" + sys.argv[1].encode() + b"\\nPRIORITY=" + sys.argv[2].encode()
datagram = fields + b"\\nMESSAGE\\n" + struct.pack("<Q", len(message)) + message + b"\\n"
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.sendto(datagram, "/run/systemd/journal/socket")
"""

# Hostile lines, as bytes, and the text the console must show for each (ANSI/OSC removed,
# control characters escaped, invalid UTF-8 replaced, markup-looking text left as it is).
STREAM_CORPUS: list[tuple[bytes, str]] = [
    (b"h01 ansi \x1b[31mred\x1b[0m \x1b[1;32mgreen\x1b[0m", "h01 ansi red green"),
    (b"h02 cursor \x1b[2J\x1b[Hhome\x1b[10;5Hmoved\x1b[K", "h02 cursor homemoved"),
    (
        b"h03 osc \x1b]0;pwned title\x07after \x1b]8;;file:///etc/passwd\x1b\\link\x1b]8;;\x1b\\",
        "h03 osc after link",
    ),
    (b"h04 [bold red]x[/]", "h04 [bold red]x[/]"),
    (b"h05 a lone [/] closer", "h05 a lone [/] closer"),
    (b"h06 [link=file:///etc/passwd]x[/link]", "h06 [link=file:///etc/passwd]x[/link]"),
    (b"h07 bad utf8 \xff\xfe\xc3 end", "h07 bad utf8 \ufffd\ufffd\ufffd end"),
    (b"h08 carriage\rreturn", "h08 carriage\\rreturn"),
    ("h09 emoji 😀 wide 漢字 ok".encode(), "h09 emoji 😀 wide 漢字 ok"),
    ("h10 bidi abc\u202edef".encode(), "h10 bidi abc\\u202edef"),
    (b"h11 tab\there", "h11 tab here"),
]
NATIVE_CORPUS: list[tuple[bytes, str]] = [
    (b"n01 nul\x00inside", "n01 nul\\x00inside"),
    (b"n02 multi\nline\r\nmessage", "n02 multi\\nline\\r\\nmessage"),
    (b"n03 \x1b[5m\x07bell and blink", "n03 \\x07bell and blink"),
]
HUGE_LINE = b"Z" * (1024 * 1024)


def write_stream(lab: LabState, identifier: str, lines: list[bytes]) -> None:
    """Lines on a stdout stream, as a service's output reaches journald."""
    subprocess.run(
        lab.nsenter("systemd-cat", "-t", identifier),
        input=b"".join(line + b"\n" for line in lines),
        check=True,
        timeout=60,
    )


def write_native(lab: LabState, identifier: str, message: bytes, priority: int = 6) -> None:
    """One entry whose MESSAGE is exactly ``message``."""
    subprocess.run(
        lab.nsenter("python3", "-c", _NATIVE_SEND, identifier, str(priority)),
        input=message,
        check=True,
        timeout=60,
    )
