"""The audience query language (audience.query): what each query selects, and errors that name the position, field
or value."""

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
        ("clv >= 1.5e2", ["a", "b"]),  # refused as "unexpected character '1'"
        # each comparison on a value some customer has, so that < and <=, > and >= pick different customers
        ("clv <= 150", ["a", "c"]),
        ("clv < 150", ["c"]),
        ("clv > 150", ["b"]),
        ("next_purchase_date <= 2026-01-20", ["a", "d"]),
        ("next_purchase_date < 2026-01-20", ["a"]),
        ("next_purchase_date >= 2026-03-01", ["c"]),
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


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("segment in (Champions)", ["d"]),
        ("SEGMENT == 'AT_RISK'", ["a"]),
        ('segment = "can\'t lose"', ["c"]),
        ("segment in ('at risk', cant-lose)", ["a", "c"]),
        ('cluster_label == "Big-Basket Customers"', ["a", "c"]),
        ("next_purchase_date <= 2026-01-31", ["a", "d"]),  # an unquoted ISO date
    ],
)
def test_known_values_match_whatever_their_case_and_spacing(profiles, query, expected):
    assert filter_profiles(profiles, query).index.tolist() == expected


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("segment in (at_rsk, cant_lose)", 13, "'at_rsk' is not a segment; did you mean 'at_risk'"),
        ("segment == vip", 12, "'vip' is not a segment; segments: champions, loyal, potential_loyalists"),
        ("segment in (champions, 3)", 24, "'3' is not a segment"),
        ("segment > at_risk", 1, "compare segments with ==, !=, in or not in"),
    ],
)
def test_unknown_segments_are_named_with_the_known_ones(query, position, message):
    """Caught when the query is read, before any profile: a misspelt segment is not an empty audience."""
    with pytest.raises(QueryError, match=message) as caught:
        parse_query(query)
    assert caught.value.position + 1 == position


def test_unknown_cluster_label_lists_the_shops_labels(profiles):
    with pytest.raises(QueryError, match="'bargain hunters' is not a cluster label; cluster labels: big-basket"):
        filter_profiles(profiles, "cluster_label == 'bargain hunters'")


def test_dates_compare_only_with_date_fields(profiles):
    with pytest.raises(QueryError, match="'2026-01-31' is not a number"):
        filter_profiles(profiles, "clv > 2026-01-31")


@pytest.mark.parametrize("value", ["abc", "5", "20260101"])
def test_a_date_field_compared_with_what_is_no_date_is_refused(profiles, value):
    """`next_purchase_date < abc` answered an empty audience, as if nobody's date were before it."""
    with pytest.raises(QueryError, match=f"'{value}' is not a date"):
        filter_profiles(profiles, f"next_purchase_date < {value}")


def test_empty_profiles_give_empty_audience(profiles):
    assert filter_profiles(profiles.iloc[0:0], "clv > 1").empty


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("(" * 330 + "clv > 1" + ")" * 330, 51),  # the recursion ran out of stack: RecursionError
        ("not " * 300 + "clv > 1", 201),
        ("not (" * 30 + "clv > 1" + ")" * 30, 126),
    ],
)
def test_a_query_nested_too_deep_is_refused_at_the_level_too_many(query, position):
    with pytest.raises(QueryError, match="nested more than 50 levels deep") as caught:
        parse_query(query)
    assert caught.value.position + 1 == position


def test_nesting_up_to_the_limit_and_a_long_flat_query_are_read(profiles):
    assert filter_profiles(profiles, "(" * 50 + "clv > 100" + ")" * 50).index.tolist() == ["a", "b"]
    assert filter_profiles(profiles, "not " * 50 + "clv > 100").index.tolist() == ["a", "b"]
    assert filter_profiles(profiles, " or ".join(["clv > 100"] * 500)).index.tolist() == ["a", "b"]
    with pytest.raises(QueryError, match="at most 10,000"):
        parse_query(" or ".join(["clv > 100"] * 1000))


def test_attributes_are_fields_by_their_name_unless_a_profile_field_has_it(profiles):
    """A customers import keeps extra columns as attributes: `country = Germany` once failed as an unknown field."""
    profiles = profiles.assign(**{"attributes.country": ["Germany", "France", None, "Germany"],
                                  "attributes.clv": ["high", "low", "low", "high"]})  # fmt: skip
    assert filter_profiles(profiles, "country = Germany").index.tolist() == ["a", "d"]
    assert filter_profiles(profiles, "Attributes.country != Germany").index.tolist() == ["b", "c"]
    assert filter_profiles(profiles, "clv > 100").index.tolist() == ["a", "b"]  # the profile's clv comes first
    assert filter_profiles(profiles, "attributes.clv = high").index.tolist() == ["a", "d"]
    with pytest.raises(QueryError, match="unknown field 'tier'; known fields: .*; customer attributes: attributes.clv"):
        filter_profiles(profiles, "tier = gold")


def test_labels_holding_a_comma_are_listed_in_quotes(profiles):
    """'big-basket, wide-basket cookware buyers, discount-driven, …': one could not tell where a label ended."""
    labelled = profiles.assign(cluster_label=["big-basket, wide-basket buyers", "lapsed", "discount-driven", "x"])
    with pytest.raises(QueryError) as refused:
        filter_profiles(labelled, "cluster_label == 'bargain hunters'")
    assert (
        "'bargain hunters' is not a cluster label; cluster labels: "
        '"big-basket, wide-basket buyers", "discount-driven", "lapsed", "x"'
    ) in str(refused.value)


def test_customers_without_orders_are_in_the_segment_the_api_names_no_orders(profiles):
    """GET /customers?segment=no_orders listed the shop's sign-ups who never bought, and an audience query naming it
    was refused ("'no_orders' is not a segment"): a welcome campaign could not reach them."""
    signed_up = pd.concat([profiles, pd.DataFrame({"rfm_segment": [None]}, index=pd.Index(["e"], name="customer_id"))])
    assert filter_profiles(signed_up, "segment = no_orders").index.tolist() == ["e"]
    assert filter_profiles(signed_up, "segment in (No-Orders, lost)").index.tolist() == ["b", "e"]
    assert filter_profiles(signed_up, "segment != champions").index.tolist() == ["a", "b", "c", "e"]


def test_a_bare_word_may_begin_with_any_letter(profiles):
    """`country = Zürich` was read and `country = Österreich` refused as "unexpected character 'Ö'": a word had to
    begin with an ASCII letter, though the shop's attributes and names are in any language."""
    profiles = profiles.assign(**{"attributes.country": ["Österreich", "Zürich", "Éire", None]})
    assert filter_profiles(profiles, "country = Österreich").index.tolist() == ["a"]
    assert filter_profiles(profiles, "country in (Éire, Zürich)").index.tolist() == ["b", "c"]
    assert filter_profiles(profiles, "attributes.country != Österreich").index.tolist() == ["b", "c", "d"]


def test_an_attribute_compared_by_order_with_a_number_is_read_as_a_number(profiles):
    """Attributes are the text imported: `points >= 100` compared "5" >= "100" as text and chose the customer of 5
    points and the one of 30, silently; equality still compares the text imported."""
    profiles = profiles.assign(**{"attributes.points": ["5", "30", "100", "n/a"]})
    assert filter_profiles(profiles, "points >= 100").index.tolist() == ["c"]
    assert filter_profiles(profiles, "attributes.points > 6").index.tolist() == ["b", "c"]
    assert filter_profiles(profiles, "points < 30.5").index.tolist() == ["a", "b"]  # "n/a" is no number: no match
    assert filter_profiles(profiles, "points = 30").index.tolist() == ["b"]


def test_an_address_matches_whatever_its_case(profiles):
    """`email = 'Ann@Shop.example'` found nobody stored as ann@shop.example, while GET /customers?email=, the drafts'
    search and every unsubscribe compare addresses in any case."""
    profiles = profiles.assign(email=["ann@shop.example", "Bob@Shop.example", "cy@shop.example", None])
    assert filter_profiles(profiles, "email = 'Ann@Shop.example'").index.tolist() == ["a"]
    assert filter_profiles(profiles, "email in ('bob@shop.example', 'CY@shop.example')").index.tolist() == ["b", "c"]
    assert filter_profiles(profiles, "email != 'ANN@shop.example'").index.tolist() == ["b", "c", "d"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("churn_risk > 50", "50 is out of range: churn_risk is a probability from 0 to 1 \\(for 50% write 0.5\\)"),
        ("p_alive < -0.1", "-0.1 is out of range: p_alive is a probability"),
        ("r_score >= 6", "6 is out of range: r_score is a score from 1 to 5"),
        ("f_score in (0, 5)", "0 is out of range: f_score is a score from 1 to 5"),
    ],
)
def test_a_number_outside_a_bounded_fields_range_is_refused_naming_it(query, message):
    """`churn_risk > 50` (meant as 50%) matched nobody, silently: an empty campaign instead of an error."""
    profiles = pd.DataFrame(
        {"churn_risk": [0.2, 0.7], "p_alive": [0.9, 0.4], "r_score": [5, 1], "f_score": [4, 2]},
        index=pd.Index(["a", "b"], name="customer_id"),
    )
    with pytest.raises(QueryError, match=message):
        filter_profiles(profiles, query)
    assert filter_profiles(profiles, "churn_risk >= 0.5 and r_score <= 5 and f_score in (1, 2)").index.tolist() == ["b"]
    assert filter_profiles(profiles, "churn_risk <= 1 and p_alive >= 0").index.tolist() == ["a", "b"]


def test_an_attribute_value_spelt_in_another_case_than_imported_is_refused_naming_it(profiles):
    """On Online Retail's customers, `country = germany` reached nobody and `country != germany` everybody, without a
    word, while `segment = At Risk` finds at_risk: attributes are compared as imported, and a value no customer has
    but one in another case or spacing does is refused naming that one. A value nobody has in any spelling is still
    an audience of nobody (a country the shop has not sold to yet)."""
    profiles = profiles.assign(**{"attributes.country": ["Germany", "United Kingdom", None, "Germany"]})
    for query, value in (("country = germany", "germany"), ("country != GERMANY", "GERMANY"),
                         ("country in (France, 'germany ')", "germany ")):  # fmt: skip
        with pytest.raises(QueryError, match=f"'{value}' is no customer's country; did you mean 'Germany'") as refused:
            filter_profiles(profiles, query)
        assert "compared as imported" in str(refused.value)
    with pytest.raises(QueryError, match="did you mean 'United Kingdom'"):
        filter_profiles(profiles, "attributes.country = united_kingdom")
    assert filter_profiles(profiles, "country = Germany").index.tolist() == ["a", "d"]
    assert filter_profiles(profiles, "country = France").index.tolist() == []
    assert filter_profiles(profiles, "country in (France, Germany)").index.tolist() == ["a", "d"]


@pytest.mark.parametrize("query", ["reasons > 1", "reasons = 'x'", "reasons in (a, b)", "not reasons != x"])
def test_a_field_holding_several_values_a_customer_is_refused_naming_it(profiles, query):
    """A stored profile's `reasons` (a sentence for each figure) was offered among the known fields, and a query
    that ordered it against a value raised a TypeError (GET /audience and POST /campaigns answered 500), while one
    that compared it for equality chose nobody, silently."""
    profiles["reasons"] = [{"segment": "at risk: ..."}, {}, {"clv": "..."}, {"churn_risk": "..."}]
    with pytest.raises(QueryError, match="'reasons' holds several values for each customer") as caught:
        filter_profiles(profiles, query)
    assert caught.value.position == query.index("reasons")
    with pytest.raises(QueryError, match="unknown field 'bogus'") as unknown:
        filter_profiles(profiles, "bogus > 1")
    assert "reasons" not in str(unknown.value)  # not offered among the fields a query can compare


def test_a_field_named_in_another_case_than_imported_is_the_one_column_of_that_name(profiles):
    """A customers file's `Segment` column (the shop's own segments) was read only as `attributes.Segment`: a query
    naming `attributes.segment` was refused as an unknown field, whose error listed `attributes.Segment` beside it.
    A profile field of the name still comes first, whatever the case: `SEGMENT` is the RFM segment."""
    profiles = profiles.assign(**{"attributes.Segment": ["wholesale", "retail", "retail", None]})
    for query in ("attributes.segment = wholesale", "ATTRIBUTES.SEGMENT = wholesale", "Attributes.Segment = wholesale"):
        assert filter_profiles(profiles, query).index.tolist() == ["a"], query
    assert filter_profiles(profiles, "SEGMENT = at_risk").index.tolist() == ["a"]
    profiles = profiles.assign(**{"attributes.Tier": ["gold", None, "silver", None]})
    for query in ("tier = gold", "TIER = gold", "attributes.tier = gold"):
        assert filter_profiles(profiles, query).index.tolist() == ["a"], query


def test_fields_whose_names_differ_only_in_case_are_each_read_by_its_own_spelling_alone(profiles):
    """Two imports kept `Tier` and `TIER` as two attributes: which one `tier` means, nobody can tell, so it is refused
    naming both; each is read by its own spelling."""
    profiles = profiles.assign(**{"attributes.Tier": ["gold", None, None, None], "attributes.TIER": [None, "gold"] * 2})
    for query in ("tier = gold", "attributes.tier = gold"):
        with pytest.raises(QueryError, match="attributes.TIER or attributes.Tier, which differ only in case") as caught:
            filter_profiles(profiles, query)
        assert caught.value.position == 0
    assert filter_profiles(profiles, "Tier = gold").index.tolist() == ["a"]
    assert filter_profiles(profiles, "attributes.TIER = gold").index.tolist() == ["b", "d"]
