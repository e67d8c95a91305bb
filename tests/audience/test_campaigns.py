"""Campaign audiences (audience.campaigns): which customers each campaign type picks, why, and the win-back
discount ladder by value at risk."""

import pandas as pd
import pytest

from audience.campaigns import CAMPAIGNS, LADDER_FILE, select_audience, win_back_ladder, win_back_offer, with_reasons
from audience.errors import UnknownCampaignType

AS_OF = pd.Timestamp("2026-11-01")


@pytest.fixture
def profiles() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rfm_segment": ["champions", "at_risk", "cant_lose", "new", "loyal", "lost"],
            "recency_days": [3, 200, 300, 5, 40, 600],
            "frequency": [12, 4, 15, 1, 6, 1],
            "monetary": [50.0, 30.0, 60.0, 30.0, 40.0, 25.0],
            "churn_risk": [0.1, 0.7, 0.8, 0.5, 0.3, 0.99],
            "clv": [400.0, 20.0, 250.0, 30.0, 120.0, 0.5],
            # as the service reads them back from JSON: ISO text or None
            "next_purchase_date": ["2026-11-05", None, None, None, "2026-12-30", None],
        },
        index=pd.Index(["c1", "c2", "c3", "c4", "c5", "c6"], name="customer_id"),
    )


def test_campaign_types_are_the_architecture_ones():
    assert set(CAMPAIGNS) == {"welcome", "cross_sell", "win_back", "replenishment", "vip"}


@pytest.mark.parametrize(
    ("campaign_type", "expected"),
    [
        ("win_back", ["c3", "c2"]),  # most valuable first
        ("vip", ["c1"]),
        ("welcome", ["c4"]),
        ("cross_sell", ["c1", "c4", "c5"]),  # most recent first
        ("replenishment", ["c1"]),  # due within 14 days, repeat buyer
    ],
)
def test_each_campaign_picks_its_customers(profiles, campaign_type, expected):
    audience = select_audience(profiles, campaign_type, AS_OF)
    assert audience.index.tolist() == expected
    assert with_reasons(audience, campaign_type, AS_OF)["reason"].str.len().gt(10).all()


def test_win_back_reason_and_offer_ladder(profiles):
    audience = with_reasons(select_audience(profiles, "win_back", AS_OF), "win_back", AS_OF)
    assert audience.loc["c3", "reason"].startswith("can't lose (")  # read by a person: not cant_lose
    assert "last order 300 days ago" in audience.loc["c3", "reason"]
    assert "spent 900.00 in all" in audience.loc["c3", "reason"]
    assert audience.loc["c3", "offer"] == {"kind": "percent_off", "value": 20.0, "code": "COMEBACK20"}
    assert audience.loc["c2", "offer"]["value"] == 10.0  # the less valuable of two
    assert select_audience(profiles, "vip", AS_OF)["offer"].isna().all()


def test_ladder_gives_more_to_more_valuable_customers():
    values = [win_back_offer(percentile)["value"] for percentile in (None, 0, 0.49, 0.5, 0.79, 0.8, 1.0)]
    assert values == sorted(values) and values[0] == 10 and values[-1] == 20


def test_win_back_ranks_by_past_spend_so_cant_lose_customers_get_the_larger_discount():
    """Lapsed frequent buyers have a low CLV because they are unlikely to return, and one-order customers a high
    one because BG/NBD thinks them alive; what is at stake if either comes back is what they used to spend."""
    cant_lose = pd.DataFrame(
        {"rfm_segment": "cant_lose", "recency_days": 400, "frequency": 15, "monetary": 60.0, "clv": 2.0},
        index=[f"loyal{n}" for n in range(5)],
    )
    hibernating = pd.DataFrame(
        {"rfm_segment": "hibernating", "recency_days": 150, "frequency": 1, "monetary": 40.0, "clv": 30.0},
        index=[f"once{n}" for n in range(10)],
    )
    audience = select_audience(pd.concat([cant_lose, hibernating]), "win_back", AS_OF)
    percent_off = audience["offer"].str["value"]
    assert percent_off[cant_lose.index].min() > percent_off[hibernating.index].max()
    assert audience.index[: len(cant_lose)].tolist() == cant_lose.index.tolist()


def test_win_back_weighs_past_spend_by_churn_risk_so_buyers_about_to_return_get_the_least():
    """The top rung went to big spenders with a churn risk of 5 %: on Online Retail they bought within 90 days
    without any offer at 34 %, the bottom rung's customers at 12.5 %."""
    returning = pd.DataFrame(
        {"rfm_segment": "cant_lose", "recency_days": 60, "frequency": 20, "monetary": 60.0, "churn_risk": 0.05},
        index=[f"back{n}" for n in range(3)],
    )
    leaving = pd.DataFrame(
        {"rfm_segment": "at_risk", "recency_days": 120, "frequency": 5, "monetary": 50.0, "churn_risk": 0.9},
        index=[f"gone{n}" for n in range(3)],
    )
    audience = with_reasons(select_audience(pd.concat([returning, leaving]), "win_back", AS_OF), "win_back", AS_OF)
    percent_off = audience["offer"].str["value"]
    assert percent_off[leaving.index].min() > percent_off[returning.index].max()
    assert "churn risk 5%" in audience.loc["back0", "reason"]  # the reason says why the offer is small


def test_win_back_needs_a_month_away_whatever_the_shop_s_quintiles_say():
    """In a shop with a week of orders, last week's buyers were "at risk" and got COMEBACK20."""
    young = pd.DataFrame(
        {"rfm_segment": ["at_risk", "cant_lose", "hibernating"], "recency_days": [6, 29, 30], "frequency": [1, 3, 1],
         "monetary": 20.0, "churn_risk": 0.8},
        index=["last_week", "nearly", "a_month"],
    )  # fmt: skip
    assert select_audience(young, "win_back", AS_OF).index.tolist() == ["a_month"]


def test_a_lapsing_customer_due_a_reorder_gets_win_back_not_a_reminder(profiles):
    """296 of the 596 customers due a re-order were in the win-back audience too, with no rule between them."""
    lapsing = profiles.assign(next_purchase_date=["2026-11-05", "2026-11-02", None, None, "2026-12-30", None])
    assert select_audience(lapsing, "replenishment", AS_OF).index.tolist() == ["c1"]  # not c2, at risk
    assert "c2" in select_audience(lapsing, "win_back", AS_OF).index


def test_ladder_is_data():
    assert LADDER_FILE.suffix == ".yaml" and LADDER_FILE.parent.joinpath("segments.yaml").is_file()
    ladder = win_back_ladder()
    assert [rung["percent_off"] for rung in ladder] == [20, 15, 10]
    assert ladder[-1]["min_percentile"] == 0


def test_replenishment_reason_says_when(profiles):
    audience = select_audience(profiles, "replenishment", AS_OF)
    assert "next order due in 4 days" in with_reasons(audience, "replenishment", AS_OF).loc["c1", "reason"]


def test_reasons_are_written_only_for_the_rows_asked(profiles):
    """An audience is counted whole but shown a few rows at a time: its per-row text is written for those."""
    audience = select_audience(profiles, "cross_sell", AS_OF)
    assert "reason" not in audience
    shown = with_reasons(audience.head(1), "cross_sell", AS_OF)
    assert shown.index.tolist() == ["c1"] and shown.loc["c1", "reason"].startswith("champions")


def test_unknown_campaign_lists_the_known_ones(profiles):
    with pytest.raises(UnknownCampaignType, match="win_back"):
        select_audience(profiles, "spam", AS_OF)


def test_segment_column_alone_is_enough(profiles):
    renamed = profiles.rename(columns={"rfm_segment": "segment"})
    assert select_audience(renamed, "vip", AS_OF).index.tolist() == ["c1"]


def test_win_back_reason_says_which_rung_of_the_ladder_gave_the_offer_and_why():
    """Asked "why did I get 10 % off when my friend got 20 %", support read the reason's spend and churn risk, but
    not that the offer follows the value at risk (spend x churn risk) ranked within the campaign's audience."""
    spent = [100.0, 200.0, 300.0, 400.0, 500.0]  # one order each: the value at risk is spent x 0.5
    profiles = pd.DataFrame(
        {"rfm_segment": "at_risk", "recency_days": 90, "frequency": 1, "monetary": spent, "churn_risk": 0.5},
        index=[f"w{n}" for n in range(5)],
    )
    audience = with_reasons(select_audience(profiles, "win_back", AS_OF), "win_back", AS_OF)
    reasons = {customer: reason.partition("spent ")[2] for customer, reason in audience["reason"].items()}
    assert reasons == {
        "w4": "500.00 in all, value at risk 250.00 (spent x churn risk), in the top 20% of this audience by it: "
        "20% off (COMEBACK20)",
        "w3": "400.00 in all, value at risk 200.00 (spent x churn risk), in the top 50% of this audience by it but "
        "not the top 20%: 15% off (COMEBACK15)",
        "w2": "300.00 in all, value at risk 150.00 (spent x churn risk), in the top 50% of this audience by it but "
        "not the top 20%: 15% off (COMEBACK15)",
        "w1": "200.00 in all, value at risk 100.00 (spent x churn risk), not in the top 50% of this audience by it: "
        "10% off (COMEBACK10)",
        "w0": "100.00 in all, value at risk 50.00 (spent x churn risk), not in the top 50% of this audience by it: "
        "10% off (COMEBACK10)",
    }


def test_a_win_back_reason_without_a_churn_risk_does_not_claim_one():
    """In a shop where nobody bought twice churn risk is unknown and the value at risk is the whole spend; the
    reason still said "(spent x churn risk)", a figure the customer's profile does not have."""
    profiles = pd.DataFrame(
        {"rfm_segment": "hibernating", "recency_days": 90, "frequency": 1, "monetary": [100.0, 300.0],
         "churn_risk": [None, 0.5]},
        index=["unknown", "known"],
    )  # fmt: skip
    reasons = with_reasons(select_audience(profiles, "win_back", AS_OF), "win_back", AS_OF)["reason"]
    assert "value at risk 100.00 (all they spent: their churn risk is unknown)" in reasons["unknown"]
    assert "churn risk" not in reasons["unknown"].partition("value at risk")[0]
    assert "value at risk 150.00 (spent x churn risk)" in reasons["known"]
