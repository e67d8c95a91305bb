"""Where a text file stops being UTF-8: the line and byte a person fixing the file needs, found a block at a time;
and what a file that is no UTF-8 text at all is, by its first bytes (a workbook, UTF-16 or UTF-32 text, a
compressed file), with what to do about it."""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import dataclass
from pathlib import Path

BLOCK = 1 << 24  # bytes read at a time: a file of any size is checked in bounded memory
START = 8  # the bytes kept from the file's start: the longest signature below (an .xls workbook's)
SAVE_AS_CSV = "save it as CSV UTF-8"
SAVE_SHEET = "save the sheet as CSV UTF-8"
# Compressed files, by their name (orders.csv.gz): what a reader of CSV and Parquet tells the person the file is, where
# "must be .csv or .parquet" left them to find out why their .csv was not one.
PACKED = {".gz": "gzip-compressed", ".zip": "a ZIP archive", ".bz2": "bzip2-compressed", ".xz": "xz-compressed"}
UNPACK = "unpack it"
# Files that are no UTF-8 text at all, by their first bytes, with what a person does about each: their first byte
# alone ("0xff") said nothing of what the file was. UTF-32's marks come first: little-endian UTF-32's begins with
# UTF-16's, and such a file was called UTF-16. A ZIP archive is told apart by what it holds (``_zip_kind``).
_NOT_TEXT = (
    ((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "UTF-32 text", SAVE_AS_CSV),
    (
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE),
        'UTF-16 text (a spreadsheet\'s "Unicode text")',
        SAVE_AS_CSV,
    ),
    # the Compound File of Office 97-2003: an .xls workbook (a .doc or .msg is one too, and no CSV either)
    ((b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",), "an old Excel workbook (.xls)", SAVE_SHEET),
    ((b"\x1f\x8b",), PACKED[".gz"], UNPACK),  # in the words a name ending .gz is told with (``packed``)
    ((b"PAR1",), "a Parquet file", "name it .parquet"),
    ((b"PK\x03\x04",), "a ZIP archive (an .xlsx workbook is one)", SAVE_SHEET),
)
ZIP = b"PK\x03\x04"
# A spreadsheet's own files, by their name: what a reader of CSV and Parquet tells the person the file is.
WORKBOOKS = {
    ".xlsx": "an Excel workbook (.xlsx)", ".xlsm": "an Excel workbook (.xlsm)", ".xls": "an old Excel workbook (.xls)",
    ".ods": "an OpenDocument spreadsheet (.ods)", ".numbers": "a Numbers spreadsheet",
}  # fmt: skip


def packed(path: str | Path) -> str | None:
    """What a person is told of a file whose name says it is compressed, else None."""
    what = PACKED.get(Path(path).suffix.lower())
    return f"is {what}: {UNPACK} first" if what else None


@dataclass(frozen=True)
class Utf8Scan:
    """A file's newline count, and the first byte that is not UTF-8 (hex) with its 1-based line, if any; a file
    that is no text at all (``what``) stops the scan at its first byte."""

    lines: int
    bad_line: int | None = None
    bad_byte: str | None = None
    start: bytes = b""  # the file's first bytes, which say what a file that is no text is
    what: tuple[str, str] | None = None  # (what the file is, what to do), for a file that is no text at all

    @property
    def not_text(self) -> bool:
        """Whether the whole file is no UTF-8 text (a workbook, UTF-32): no line of it is to blame."""
        return self.what is not None or _not_text(self.start) is not None

    def problem(self) -> str | None:
        """What a person is told: what the file is, or the byte, and how to fix the file (their reader names the
        line)."""
        if self.bad_byte is None:
            return None
        if found := self.what or _not_text(self.start):
            what, to_do = found
            return f"is {what}, not UTF-8 text: {to_do} and try again"
        return f"is not UTF-8 (byte 0x{self.bad_byte}); save the file as UTF-8 and try again"


def _not_text(start: bytes) -> tuple[str, str] | None:
    return next(((what, to_do) for starts, what, to_do in _NOT_TEXT if start.startswith(starts)), None)


def _binary(start: bytes) -> bool:
    """Whether a signature ``start`` begins with holds a byte no text file starts with (a control character, or a
    byte past ASCII): "PAR1" may begin a CSV file's header, and is told only once a byte is no UTF-8."""
    signature = next(s for starts, _, _ in _NOT_TEXT for s in starts if start.startswith(s))
    return any(byte < 0x09 or byte >= 0x80 for byte in signature)


def _zip_kind(path: Path) -> tuple[str, str] | None:
    """What a ZIP archive is, by the names it holds: an .xlsx workbook (``xl/``), an OpenDocument spreadsheet, or
    an archive of other files; None when it cannot be opened (cut short, say)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            kind = archive.read("mimetype").decode("ascii", "replace") if "mimetype" in names else ""
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError):
        return None
    if any(name.startswith("xl/") for name in names):
        return "an Excel workbook (.xlsx)", SAVE_SHEET
    if kind == "application/vnd.oasis.opendocument.spreadsheet":
        return "an OpenDocument spreadsheet (.ods)", SAVE_SHEET
    return PACKED[".zip"], UNPACK


def no_text(path: str | Path) -> str | None:
    """What a person is told of a file whose first bytes say it is no text at all (a workbook, UTF-32 text),
    without reading further; None for any other file (``scan_utf8`` reads it all)."""
    with Path(path).open("rb") as handle:
        start = handle.read(START)
    if not (_not_text(start) and _binary(start)):
        return None
    return scan_utf8(path).problem()


def scan_utf8(path: str | Path) -> Utf8Scan:
    """Decode ``path`` as UTF-8 block by block; stops at the first byte that is not, or at once for a file whose
    first bytes say it is no text (a ZIP archive, an .xlsx workbook, can hold nothing but UTF-8 bytes)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, start = 0, None
    with Path(path).open("rb") as handle:
        while True:
            block = handle.read(BLOCK)
            if start is None:
                start = block[:START]
                if (found := _not_text(start)) and _binary(start):
                    found = (_zip_kind(Path(path)) or found) if start.startswith(ZIP) else found
                    return Utf8Scan(0, 1, start[:1].hex(), start, found)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:  # its object: the block after any bytes held from the last one
                line = lines + error.object[: error.start].count(b"\n") + 1
                return Utf8Scan(lines, line, error.object[error.start : error.start + 1].hex(), start)
            if not block:
                return Utf8Scan(lines)
            lines += block.count(b"\n")
