"""Where a text file stops being UTF-8: the line and byte a person fixing the file needs, found a block at a time."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

BLOCK = 1 << 24  # bytes read at a time: a file of any size is checked in bounded memory
# Files that are no UTF-8 text at all, by their first bytes, with what a person does about each: their first byte
# alone ("0xff") said nothing of what the file was.
_NOT_TEXT = (
    (
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE),
        'UTF-16 text (a spreadsheet\'s "Unicode text")',
        "save it as CSV UTF-8",
    ),
    ((b"\x1f\x8b",), "compressed (gzip)", "decompress it"),
    ((b"PK\x03\x04",), "a ZIP archive (an .xlsx workbook is one)", "save the sheet as CSV UTF-8"),
)


@dataclass(frozen=True)
class Utf8Scan:
    """A file's newline count, and the first byte that is not UTF-8 (hex) with its 1-based line, if any."""

    lines: int
    bad_line: int | None = None
    bad_byte: str | None = None
    start: bytes = b""  # the file's first bytes, which say what a file that is no text is

    def problem(self) -> str | None:
        """What a person is told: what the file is, or the byte, and how to fix the file (their reader names the
        line)."""
        if self.bad_byte is None:
            return None
        for starts, what, to_do in _NOT_TEXT:
            if self.start.startswith(starts):
                return f"is {what}, not UTF-8 text: {to_do} and try again"
        return f"is not UTF-8 (byte 0x{self.bad_byte}); save the file as UTF-8 and try again"


def scan_utf8(path: str | Path) -> Utf8Scan:
    """Decode ``path`` as UTF-8 block by block; stops at the first byte that is not."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, start = 0, None
    with Path(path).open("rb") as handle:
        while True:
            block = handle.read(BLOCK)
            start = block[:4] if start is None else start
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:  # its object: the block after any bytes held from the last one
                line = lines + error.object[: error.start].count(b"\n") + 1
                return Utf8Scan(lines, line, error.object[error.start : error.start + 1].hex(), start)
            if not block:
                return Utf8Scan(lines)
            lines += block.count(b"\n")
