"""What a file that is no UTF-8 text is told to be: by its first bytes, never a text file whose header says so."""

from __future__ import annotations

import codecs

from tabular import no_text, scan_utf8


def test_utf32_is_not_called_utf16(tmp_path):
    """UTF-32's little-endian mark begins with UTF-16's, and such a file was told it was UTF-16 text."""
    path = tmp_path / "customers.csv"
    for mark in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):
        path.write_bytes(mark + "customer_id\n".encode("utf-32-le"))
        assert scan_utf8(path).problem() == "is UTF-32 text, not UTF-8 text: save it as CSV UTF-8 and try again"
    path.write_bytes("customer_id\n".encode("utf-16"))
    assert scan_utf8(path).problem().startswith("is UTF-16 text")


def test_a_csv_whose_header_begins_as_a_signature_is_text(tmp_path):
    path = tmp_path / "products.csv"
    path.write_text("PAR1,name\nx,y\n", encoding="utf-8")  # "PAR1" begins a Parquet file, and this header
    assert scan_utf8(path).bad_line is None and no_text(path) is None
