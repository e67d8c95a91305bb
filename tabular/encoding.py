"""Where a text file stops being UTF-8: the line and byte a person fixing the file needs, found a block at a time."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

BLOCK = 1 << 24  # bytes read at a time: a file of any size is checked in bounded memory


@dataclass(frozen=True)
class Utf8Scan:
    """A file's newline count, and the first byte that is not UTF-8 (hex) with its 1-based line, if any."""

    lines: int
    bad_line: int | None = None
    bad_byte: str | None = None

    def problem(self) -> str | None:
        """What a person is told: the byte, and how to fix the file (their reader names the line)."""
        if self.bad_byte is None:
            return None
        return f"is not UTF-8 (byte 0x{self.bad_byte}); save the file as UTF-8 and try again"


def scan_utf8(path: str | Path) -> Utf8Scan:
    """Decode ``path`` as UTF-8 block by block; stops at the first byte that is not."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    with Path(path).open("rb") as handle:
        while True:
            block = handle.read(BLOCK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:  # its object: the block after any bytes held from the last one
                line = lines + error.object[: error.start].count(b"\n") + 1
                return Utf8Scan(lines, line, error.object[error.start : error.start + 1].hex())
            if not block:
                return Utf8Scan(lines)
            lines += block.count(b"\n")
