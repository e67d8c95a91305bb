"""The orders file behind `tailor audience --orders FILE`: what a person who exported it is told when it is off."""

from datetime import date

import pytest

from audience.batch import audience_from_file
from audience.errors import InvalidOrders
from tests.audience.conftest import AS_OF, known_customers


@pytest.mark.parametrize(("separator", "shown"), [(";", "';'"), ("\t", "tabs")])
def test_a_file_not_separated_by_commas_gets_a_hint(tmp_path, separator, shown):
    path = tmp_path / "orders.csv"
    known_customers().to_csv(path, index=False, sep=separator)
    with pytest.raises(InvalidOrders, match=f"separated by {shown}.*commas"):
        audience_from_file(path, as_of=date(2024, 1, 1))


def test_decimal_commas_in_a_semicolon_file_get_the_same_hint(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer_id;timestamp;amount\na;2023-01-01;3,50\nb;2023-02-01;4\n")
    with pytest.raises(InvalidOrders, match="separated by ';'"):
        audience_from_file(path, as_of=date(2024, 1, 1))


def test_fallbacks_come_with_the_table(tmp_path):
    path = tmp_path / "orders.csv"
    known_customers().to_csv(path, index=False)
    table = audience_from_file(path, as_of=AS_OF.date(), horizon_days=60)
    assert any(fallback.startswith("churn_risk: BG/NBD") for fallback in table.attrs["fallbacks"])
