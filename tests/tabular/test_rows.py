"""Files whose rows do not line up with their header, and the line each row of a CSV file starts on."""

from __future__ import annotations

import pandas as pd

from tabular import layout_problem, read_csv_text, rows_of


def test_a_row_is_named_by_the_line_it_starts_on_whatever_its_cells_span(tmp_path):
    """The line was the row's position + 2: a description over two lines, or a blank line, moved every later one."""
    path = tmp_path / "products.csv"
    path.write_text('product_id,name\np1,"Pan,\nwith lid"\n\np2,Pot\np3,Lid\n', encoding="utf-8")
    assert [rows_of(path)(position) for position in range(3)] == ["line 2", "line 5", "line 6"]
    assert rows_of(tmp_path / "orders.parquet")(0) == "row 1"


def test_a_column_named_twice_or_a_value_past_the_header_is_told_by_its_line(tmp_path):
    twice = tmp_path / "twice.csv"
    twice.write_text("customer_id,email,email\nc1,a@example.com,b@example.com\n", encoding="utf-8")
    assert layout_problem(twice) == (1, "the header names column 'email' twice")
    unnamed = tmp_path / "unnamed.csv"  # columns without a name are no column named twice: the reader numbers them
    unnamed.write_text("customer_id,email,,\nc1,a@example.com,,\n", encoding="utf-8")
    assert layout_problem(unnamed) is None
    extra = tmp_path / "extra.csv"
    extra.write_text('a,b\n1,"x\ny"\n3,4,5\n', encoding="utf-8")
    assert layout_problem(extra) == (
        4,
        "has 3 cells where the header names 2 columns: a cell holding a comma needs quotes",
    )
    first = tmp_path / "first.csv"  # on the first data row, pandas took the first column for row labels
    first.write_text("a,b\n1,2,3\n4,5\n", encoding="utf-8")
    assert layout_problem(first)[0] == 2


def test_a_trailing_comma_on_every_row_is_left_out_not_taken_for_row_labels(tmp_path):
    path = tmp_path / "trailing.csv"
    path.write_text("customer_id,email\nc1,a@example.com,\nc2,b@example.com,\n", encoding="utf-8")
    assert layout_problem(path) is None
    frame = read_csv_text(path, dtype=str)
    pd.testing.assert_frame_equal(
        frame, pd.DataFrame({"customer_id": ["c1", "c2"], "email": ["a@example.com", "b@example.com"]})
    )


def test_a_cell_holding_a_comma_in_a_file_of_one_column_is_told_by_its_line(tmp_path):
    """A file of one column (texts to score) whose line held an unquoted comma lost all after it, without a word:
    only a header holding another separator (semicolons) is a file the readers hint at instead."""
    texts = tmp_path / "texts.csv"
    texts.write_text("text\nHello there\nSale, today only\nMore\n", encoding="utf-8")
    assert layout_problem(texts) == (
        3,
        "has 2 cells where the header names 1 column: a cell holding a comma needs quotes",
    )
    semicolons = tmp_path / "semicolons.csv"  # decimal commas in a file of semicolons: its header is one column
    semicolons.write_text("customer_id;amount\na;3,50\n", encoding="utf-8")
    assert layout_problem(semicolons) is None
