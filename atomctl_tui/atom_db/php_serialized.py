"""PHP's ``serialize()`` format, read safely: scalars and arrays only.

AtoM keeps some settings (the enabled ``plugins``) as a serialized PHP array, e.g.
``a:2:{i:0;s:19:"sfPropelPlugin";i:1;s:12:"qbAclPlugin";}``. Strings are counted in bytes.
Objects (``O:``, ``C:``, ``E:``) and references (``r:``, ``R:``) are refused: nothing is ever
built from the text but ints, floats, strings, booleans, None and dicts of them.
"""

from __future__ import annotations

import re

MAX_DEPTH = 16
MAX_ITEMS = 10_000

_NUMBER = re.compile(rb"-?\d{1,19}")
_FLOAT = re.compile(rb"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|-?INF|NAN")

PhpData = str | int | float | bool | None | dict[str | int, object]


class PhpSerializedError(ValueError):
    """Not a serialized PHP value this reader accepts, and where."""


def unserialize(data: bytes) -> PhpData:
    """The value ``data`` holds; PhpSerializedError for anything else (objects included)."""
    reader = _Reader(data)
    value = reader.value(0)
    if reader.at != len(data):
        raise PhpSerializedError(f"more after the value at byte {reader.at}")
    return value


def string_values(value: PhpData) -> list[str]:
    """The strings of a serialized list (``plugins``); [] for anything else."""
    if not isinstance(value, dict):
        return []
    return [item for item in value.values() if isinstance(item, str)]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0
        self.items = 0

    def error(self, what: str) -> PhpSerializedError:
        return PhpSerializedError(f"{what} at byte {self.at}")

    def expect(self, text: bytes) -> None:
        if not self.data.startswith(text, self.at):
            raise self.error(f"expected {text.decode()!r}")
        self.at += len(text)

    def until(self, end: bytes, pattern: re.Pattern[bytes]) -> bytes:
        stop = self.data.find(end, self.at, self.at + 40)
        if stop < 0 or not pattern.fullmatch(self.data, self.at, stop):
            raise self.error("a malformed number")
        found = self.data[self.at : stop]
        self.at = stop + len(end)
        return found

    def value(self, depth: int) -> PhpData:
        kind = self.data[self.at : self.at + 2]
        self.at += 2
        if kind == b"N;":
            return None
        if kind == b"b:":
            flag = self.until(b";", re.compile(rb"[01]"))
            return flag == b"1"
        if kind == b"i:":
            return int(self.until(b";", _NUMBER))
        if kind == b"d:":
            return float(self.until(b";", _FLOAT))
        if kind == b"s:":
            return self.string()
        if kind == b"a:":
            return self.array(depth)
        self.at -= 2
        if kind[:1] in (b"O", b"C", b"E", b"r", b"R"):
            raise self.error("an object or reference (never built)")
        raise self.error("an unknown kind of value")

    def string(self) -> str:
        size = int(self.until(b":", re.compile(rb"\d{1,9}")))
        self.expect(b'"')
        if self.at + size > len(self.data):
            raise self.error("a string longer than the data")
        raw = self.data[self.at : self.at + size]
        self.at += size
        self.expect(b'";')
        return raw.decode("utf-8", errors="replace")

    def array(self, depth: int) -> dict[str | int, object]:
        if depth >= MAX_DEPTH:
            raise self.error(f"arrays nested more than {MAX_DEPTH} deep")
        count = int(self.until(b":", re.compile(rb"\d{1,9}")))
        self.expect(b"{")
        array: dict[str | int, object] = {}
        for _ in range(count):
            self.items += 1
            if self.items > MAX_ITEMS:
                raise self.error("too many values")
            key = self.value(depth + 1)
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise self.error("a key that is neither an int nor a string")
            array[key] = self.value(depth + 1)
        self.expect(b"}")
        return array
