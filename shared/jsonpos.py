"""Line numbers of the values in a JSON text (JSON 行号定位), for line-precise error messages.

`json.loads` forgets where things were; this walks a text that `json.loads` accepted and
records, for every path (`("items", 3, "situations", 0, "code")`), the 1-based line where
the value's key stands (object members) or where the value starts (array elements).
"""

from __future__ import annotations

import bisect
import re
from json import JSONDecoder
from typing import Final

JsonPath = tuple[str | int, ...]

_SPACE: Final = re.compile(r"[ \t\n\r]*")
_DECODER: Final = JSONDecoder()


class _Walker:
    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]
        self.lines: dict[JsonPath, int] = {}

    def line(self, index: int) -> int:
        return bisect.bisect_right(self.newlines, index - 1) + 1

    def skip(self, i: int) -> int:
        match = _SPACE.match(self.text, i)
        return match.end() if match else i

    def value(self, i: int, path: JsonPath) -> int:
        i = self.skip(i)
        self.lines.setdefault(path, self.line(i))
        char = self.text[i]
        if char == "{":
            return self.members(i + 1, path)
        if char == "[":
            return self.elements(i + 1, path)
        # A string or scalar: let the standard decoder find where it ends.
        end: int = _DECODER.raw_decode(self.text, i)[1]
        return end

    def members(self, i: int, path: JsonPath) -> int:
        i = self.skip(i)
        if self.text[i] == "}":
            return i + 1
        while True:
            i = self.skip(i)
            key_line = self.line(i)
            key, i = _DECODER.raw_decode(self.text, i)
            self.lines[(*path, key)] = key_line
            i = self.skip(i) + 1  # the colon
            i = self.skip(self.value(i, (*path, key)))
            if self.text[i] == "}":
                return i + 1
            i += 1  # the comma

    def elements(self, i: int, path: JsonPath) -> int:
        i = self.skip(i)
        if self.text[i] == "]":
            return i + 1
        n = 0
        while True:
            i = self.skip(self.value(i, (*path, n)))
            if self.text[i] == "]":
                return i + 1
            i += 1
            n += 1


def locate(text: str) -> dict[JsonPath, int]:
    """Path → line for every value of `text`, which must be valid JSON (check with json.loads first)."""
    walker = _Walker(text)
    walker.value(0, ())
    return walker.lines


def line_of(lines: dict[JsonPath, int], path: JsonPath) -> int:
    """Line of `path`, or of its nearest recorded ancestor (for a missing key: its object)."""
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return 1
