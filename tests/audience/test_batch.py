"""The orders file behind `tailor audience --orders FILE`: what a person who exported it is told when it is off."""

from datetime import date

import pytest

from audience.batch import audience_from_file
from audience.errors import InvalidOrders, NotEnoughHistory
from tests.audience.conftest import AS_OF, known_customers


@pytest.mark.parametrize(("separator", "shown"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_not_separated_by_commas_gets_a_hint(tmp_path, separator, shown):
    path = tmp_path / "orders.csv"
    known_customers().to_csv(path, index=False, sep=separator)
    with pytest.raises(InvalidOrders, match=f"separated by {shown}.*commas"):
        audience_from_file(path, as_of=date(2024, 1, 1))


def test_decimal_commas_in_a_semicolon_file_get_the_same_hint(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer_id;timestamp;amount\na;2023-01-01;3,50\nb;2023-02-01;4\n")
    with pytest.raises(InvalidOrders, match="separated by semicolons"):
        audience_from_file(path, as_of=date(2024, 1, 1))


def test_a_semicolon_file_with_a_byte_order_mark_is_told_its_header_as_written(tmp_path):
    """A sheet saved as "CSV UTF-8" with semicolons (a European spreadsheet's) starts with a byte order mark, which
    the hint quoted as an escape, "'\\ufeffcustomer_id;timestamp;amount'", where `tailor import` and `tailor recommend`
    quote the header as written."""
    path = tmp_path / "orders.csv"
    known_customers().to_csv(path, index=False, sep=";", encoding="utf-8-sig")
    with pytest.raises(InvalidOrders) as raised:
        audience_from_file(path, as_of=date(2024, 1, 1))
    assert "the header was read as one column, 'customer_id;" in str(raised.value)
    assert "ufeff" not in str(raised.value)


def test_a_file_in_another_encoding_names_the_line(tmp_path):
    """It said only "'utf-8' codec can't decode byte 0xe9 in position 3", where `tailor import` names the line."""
    path = tmp_path / "orders.csv"
    path.write_bytes(b"customer_id,timestamp,amount\na,2023-01-01,3.5\nb,2023-02-01,4\nRen\xe9,2023-03-01,5\n")
    with pytest.raises(InvalidOrders) as raised:
        audience_from_file(path, as_of=date(2024, 1, 1))
    assert str(raised.value) == (
        f"the orders file {path}, line 4: is not UTF-8 (byte 0xe9); save the file as UTF-8 and try again"
    )


def test_lines_without_data_are_left_out_and_later_lines_keep_their_numbers(tmp_path):
    """`tailor import` skipped a line of separators alone and a repeated header (exports joined into one file);
    `tailor audience` refused the first as "customer_id is empty" and the second as "'timestamp' is not a date"."""
    path = tmp_path / "orders.csv"
    header = "customer_id,timestamp,amount"
    path.write_text(f"{header}\na,2023-01-01,3.5\n,,\n{header}\nb,2023-02-01,4\na,2023-03-01,2\n")
    table = audience_from_file(path, as_of=date(2024, 1, 1))
    assert sorted(table["customer_id"]) == ["a", "b"] and table.set_index("customer_id")["frequency"]["a"] >= 1
    path.write_text(f"{header}\na,2023-01-01,3.5\n,,\n{header}\nb,someday,4\n")
    with pytest.raises(InvalidOrders, match="line 5, column 'timestamp'"):  # its own line, past the two left out
        audience_from_file(path, as_of=date(2024, 1, 1))


def test_fallbacks_come_with_the_table(tmp_path):
    path = tmp_path / "orders.csv"
    known_customers().to_csv(path, index=False)
    table = audience_from_file(path, as_of=AS_OF.date(), horizon_days=60)
    assert any(fallback.startswith("churn_risk: BG/NBD") for fallback in table.attrs["fallbacks"])


def test_a_csv_file_s_problems_are_named_by_the_line_as_the_importer_names_them(tmp_path):
    path = tmp_path / "orders.csv"
    # line 1 is the header: the unreadable date is on line 3, the unreadable amount on line 4
    path.write_text("customer_id,timestamp,amount\nc1,2024-01-01,10\nc2,notadate,5\nc3,2024-02-01,abc\n")
    unreadable = "^orders.csv, line 3, column 'timestamp': 'notadate' is not a date or time$"
    with pytest.raises(InvalidOrders, match=unreadable):
        audience_from_file(path, as_of=date(2024, 3, 1))
    path.write_text("customer_id,timestamp,amount\nc1,2024-01-01,10\nc2,2024-01-05,5\nc3,2024-02-01,abc\n")
    with pytest.raises(InvalidOrders, match="^orders.csv, line 4, column 'amount'"):
        audience_from_file(path, as_of=date(2024, 3, 1))
    # dates in two orders name both places the same way
    path.write_text("customer_id,timestamp,amount\nc1,01/02/2024,10\nc2,25/01/2024,5\nc3,01/30/2024,7\n")
    with pytest.raises(InvalidOrders, match=r"^orders.csv, line 4, column 'timestamp': .*'25/01/2024' \(line 3\)"):
        audience_from_file(path, as_of=date(2024, 3, 1))


def test_a_parquet_file_s_problems_are_named_by_the_row(tmp_path):
    path = tmp_path / "orders.parquet"
    frame = known_customers().head(5).copy()
    frame["amount"] = frame["amount"].astype(object)
    frame.loc[frame.index[1], "amount"] = "abc"
    frame.astype({"amount": str}).to_parquet(path)
    with pytest.raises(InvalidOrders, match="^orders.parquet, row 2, column 'amount'"):
        audience_from_file(path, as_of=date(2024, 3, 1))


def test_blank_customer_ids_are_counted(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,timestamp,amount\n,2024-01-01,3\nb,2024-01-02,4\n,2024-01-03,5\n")
    with pytest.raises(
        InvalidOrders, match=r"^orders.csv, line 2, column 'customer_id': customer_id is empty \(2 lines have none\)$"
    ):
        audience_from_file(path, as_of=date(2024, 3, 1))


def test_the_table_holds_cents_and_six_decimal_probabilities(tmp_path):
    path = tmp_path / "orders.csv"
    known_customers().to_csv(path, index=False)
    table = audience_from_file(path, as_of=AS_OF.date(), horizon_days=60)
    for column, decimals in {"monetary": 2, "clv": 2, "churn_risk": 6, "p_alive": 6, "expected_purchases": 6}.items():
        values = table[column].dropna()
        assert (values == values.round(decimals)).all(), column
    assert table["churn_risk"].nunique() > 1 and table.attrs["fallbacks"] is not None


def test_an_as_of_day_long_after_the_latest_order_is_warned_about(tmp_path):
    """As of a year after the shop's last order, 577 customers silent for a year were "champions" without a word."""
    path = tmp_path / "orders.csv"
    known_customers().to_csv(path, index=False)
    assert audience_from_file(path, as_of=AS_OF.date(), horizon_days=60).attrs["warnings"] == []
    later = audience_from_file(path, as_of=date(2024, 12, 1), horizon_days=60).attrs["warnings"]
    assert len(later) == 1 and later[0].startswith("the as-of day 2024-12-01 is ")
    assert "days after the latest order (2023-12-30)" in later[0]


def test_an_orders_file_that_is_not_what_its_name_says_is_told(tmp_path):
    path = tmp_path / "orders.parquet"
    path.write_text("customer_id,timestamp,amount\n", encoding="utf-8")
    with pytest.raises(InvalidOrders, match="cannot be read as Parquet"):
        audience_from_file(path, as_of=date(2024, 1, 1))


def test_an_orders_file_of_no_orders_says_so_rather_than_asking_for_a_later_date(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,timestamp,amount\n", encoding="utf-8")
    with pytest.raises(NotEnoughHistory, match="^There are no orders: the orders hold no line to learn from.$"):
        audience_from_file(path, as_of=date(2024, 1, 1))


def test_an_empty_file_says_what_its_first_line_must_name(tmp_path):
    """It said "is not a readable CSV file (No columns to parse from file)", where `tailor import` says what to
    write."""
    path = tmp_path / "orders.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InvalidOrders) as raised:
        audience_from_file(path, as_of=date(2024, 1, 1))
    assert str(raised.value) == (
        f"the orders file {path}: is empty: its first line must name its columns (at least customer_id, timestamp, "
        "amount)"
    )
