import pandas as pd
import pytest

from audience.errors import QueryError
from audience.query import filter_profiles, parse_query


@pytest.fixture
def profiles() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rfm_segment": ["at_risk", "lost", "cant_lose", "champions"],
            "clv": [150.0, 300.0, 50.0, None],
            "cluster_label": ["big-basket customers", "lapsed customers", "big-basket customers", "x"],
            "next_purchase_date": pd.to_datetime(["2026-01-01", None, "2026-03-01", "2026-01-20"]),
        },
        index=pd.Index(["a", "b", "c", "d"], name="customer_id"),
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("segment in (at_risk, cant_lose) and clv > 100", ["a"]),
        ("SEGMENT IN (at_risk, cant_lose) OR clv >= 300", ["a", "b", "c"]),
        ("not segment = lost and clv < 200", ["a", "c"]),
        ("segment not in (lost) and not (clv > 100 or clv < 60)", ["d"]),  # "not" plainly negates: d has no CLV
        ('cluster_label == "big-basket customers"', ["a", "c"]),
        ("next_purchase_date <= '2026-01-31'", ["a", "d"]),
        ("clv != 50", ["a", "b", "d"]),
        ("((clv > 100))", ["a", "b"]),
    ],
)
def test_queries_select_the_right_customers(profiles, query, expected):
    assert filter_profiles(profiles, query).index.tolist() == expected


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("segment in (at_risk", 20, "close the list"),
        ("clv >", 6, "expected a value"),
        ("clv > 100 clv", 11, "join conditions"),
        ("clv # 3", 5, "unexpected character"),
        ("", 1, "empty"),
        ("and clv > 1", 1, "expected a field name"),
        ("__import__('os') > 1", 11, "comparison"),
    ],
)
def test_syntax_errors_name_the_position(query, position, message):
    with pytest.raises(QueryError, match=message) as caught:
        parse_query(query)
    assert caught.value.position + 1 == position
    assert f"position {position}" in str(caught.value)


def test_meaning_errors_name_the_field_or_value(profiles):
    with pytest.raises(QueryError, match="unknown field 'bogus'.*clv"):
        filter_profiles(profiles, "bogus > 1")
    with pytest.raises(QueryError, match="'lots' is not a number") as caught:
        filter_profiles(profiles, "clv > lots")
    assert caught.value.position == 6
    assert isinstance(caught.value, ValueError)


def test_empty_profiles_give_empty_audience(profiles):
    assert filter_profiles(profiles.iloc[0:0], "clv > 1").empty
