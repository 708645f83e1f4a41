"""Outside text made safe to show: one line, printable, bounded.

Text from outside the console — journal messages any process on a host can write, gearmand's
replies (function names, client ids, job handles, versions, error texts), what a remote host
says — passes through ``clean_line`` once, where it enters, before it reaches a screen, a
notification or an output. It loses what a terminal would obey (ANSI/OSC escape sequences,
cursor movement, bidi overrides that reorder a line or a table), shows what would otherwise
be invisible or break the layout (NUL, CR, newlines, other control characters) as visible
escapes, and is cut, with a visible marker, when it is too long to keep. No markup is
interpreted here or later: the UI renders the result as plain text.
"""

from __future__ import annotations

import re

MAX_LINE_CHARS = 4096  # what one buffered line keeps; journalctl itself elides at 4096 bytes
CUT_MARKER = " … [line cut: {total:,} characters in all]"
TAB_SIZE = 4

# Terminal escape sequences, removed whole: CSI (colours, cursor movement, erase), OSC (titles,
# hyperlinks) and the string commands DCS/SOS/PM/APC ended by BEL or ST (or the end of the
# text when a hostile line never ends them), in their 7-bit and 8-bit forms; then any other
# ESC-introduced sequence, and a lone ESC.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)

# Characters that are invisible, reorder the line (bidi controls, "trojan source"), or are not
# text at all (C0/C1 controls, DEL, lone surrogates): shown as escapes such as \x00 or \u202e.
# Zero-width joiners (U+200C, U+200D) stay: emoji and several scripts need them.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]"
)
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def clean_line(text: str, max_chars: int = MAX_LINE_CHARS) -> str:
    """``text`` as one printable line of at most ``max_chars`` characters plus the marker."""
    if len(text) <= max_chars and text.isprintable():
        return text  # the common case, decided in C
    # Bound the work on a huge line: clean only what can be shown (escapes can grow it 6x,
    # removed sequences shrink it, so keep a margin either way).
    head = text[: max_chars * 4]
    if "\t" in head:
        head = head.expandtabs(TAB_SIZE)
    head = _ESCAPE_SEQUENCE.sub("", head)
    head = _INVISIBLE.sub(_escape, head)
    if len(head) > max_chars or len(text) > max_chars * 4:
        return head[:max_chars] + CUT_MARKER.format(total=len(text))
    return head
