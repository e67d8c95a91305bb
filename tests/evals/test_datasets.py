"""The real-data loaders reproduce the figures published with each data set (skipped when data is absent)."""

from __future__ import annotations

import pandas as pd
import pytest

from evals import datasets
from evals.datasets import DatasetMissing


def load(loader, *args, **kwargs) -> pd.DataFrame:
    try:
        return loader(*args, **kwargs)
    except DatasetMissing as exc:
        pytest.skip(str(exc))


def test_missing_file_raises_a_named_error_that_says_where(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path))
    with pytest.raises(DatasetMissing, match="movielens-100k/ml-100k.inter") as caught:
        datasets.movielens_100k()
    assert isinstance(caught.value, FileNotFoundError)
    assert datasets.ENV_VAR in str(caught.value)


@pytest.mark.parametrize(
    "command",
    [
        ["evals.recommenders.run", "--dataset", "movielens", "--quick", "--models", "popularity"],
        ["evals.audience.run", "--quick"],
    ],
)
def test_an_eval_run_as_a_module_names_its_missing_data_in_one_line(tmp_path, command):
    """`python -m evals.recommenders.run` without its data ended in a traceback (`tailor eval` said it in a line)."""
    import os
    import subprocess
    import sys

    environment = {**os.environ, datasets.ENV_VAR: str(tmp_path / "nowhere")}
    ran = subprocess.run(
        [sys.executable, "-m", *command, "--out", str(tmp_path / "reports")],
        env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith("error: Data file ") and "Traceback" not in ran.stderr, ran.stderr


def test_online_retail_raw_2010_2011_matches_published_counts():
    lines = load(datasets.online_retail, "2010-2011", include_cancellations=True, include_anonymous=True)
    assert len(lines) == 541_909
    assert lines.loc[lines["customer_id"] != "", "customer_id"].nunique() == 4_372
    assert lines["product_id"].nunique() == 4_070
    assert lines["order_id"].nunique() == 25_900
    assert lines["country"].nunique() == 38
    assert lines["order_id"].str.startswith("C").sum() == 9_288


def test_online_retail_cleaned_has_string_ids_and_no_returns():
    lines = load(datasets.online_retail, "2010-2011")
    assert list(lines.columns) == datasets.ONLINE_RETAIL_COLUMNS
    # The usual figure after dropping anonymous lines, cancellations and non-positive quantities/prices.
    assert len(lines) == 397_884
    assert lines["customer_id"].nunique() == 4_338
    assert not lines["customer_id"].str.endswith(".0").any()
    assert lines["customer_id"].str.fullmatch(r"\d+").all()
    assert not lines["order_id"].str.startswith("C").any()
    assert (lines["quantity"] > 0).all() and (lines["unit_price"] > 0).all()
    assert lines["amount"].equals(lines["quantity"] * lines["unit_price"])
    assert pd.api.types.is_datetime64_any_dtype(lines["timestamp"])


def test_online_retail_both_years_drop_the_repeated_overlap_month():
    both = load(datasets.online_retail, "both", include_cancellations=True, include_anonymous=True)
    earlier = load(datasets.online_retail, "2009-2010", include_cancellations=True, include_anonymous=True)
    december_2010 = (earlier["timestamp"] >= "2010-12-01").sum()
    assert december_2010 > 20_000
    assert len(both) == 541_909 + len(earlier) - december_2010
    # Online Retail II's usual figures for the two years: 5,942 customers in 43 countries.
    assert both.loc[both["customer_id"] != "", "customer_id"].nunique() == 5_942
    assert both["country"].nunique() == 43
    assert both["timestamp"].min() < pd.Timestamp("2010-01-01") < pd.Timestamp("2011-12-01") < both["timestamp"].max()
    assert both["timestamp"].is_monotonic_increasing


def test_online_retail_returns_copies_and_rejects_unknown_years():
    first = load(datasets.online_retail, "2010-2011")
    first["customer_id"] = "changed"
    assert (datasets.online_retail("2010-2011")["customer_id"] != "changed").all()
    with pytest.raises(ValueError, match="years"):
        datasets.online_retail("2012")


def test_movielens_100k_ratings_and_items():
    ratings = load(datasets.movielens_100k)
    assert len(ratings) == 100_000
    assert ratings["customer_id"].nunique() == 943
    assert ratings["product_id"].nunique() == 1_682
    assert set(ratings["rating"].unique()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert ratings["timestamp"].dt.year.between(1997, 1998).all()
    items = load(datasets.movielens_items)
    assert len(items) == 1_682
    toy_story = items.set_index("product_id").loc["1"]
    assert toy_story["title"] == "Toy Story" and toy_story["year"] == 1995
    assert toy_story["genres"] == "Animation|Children's|Comedy"
    assert set(ratings["product_id"]) <= set(items["product_id"])


def test_groceries_one_row_per_basket_item():
    baskets = load(datasets.groceries)
    assert baskets["customer_id"].nunique() == 9_835
    assert baskets["product_id"].nunique() == 169
    assert baskets["timestamp"].isna().all()
    first = baskets[baskets["customer_id"] == "1"]["product_id"].tolist()
    assert first == ["citrus fruit", "semi-finished bread", "margarine", "ready soups"]


def test_bread_basket_drops_placeholder_items():
    lines = load(datasets.bread_basket)
    assert len(lines) == 21_293 - 786
    assert "NONE" not in set(lines["product_id"])


def test_cdnow_sample_and_master_sizes():
    sample = load(datasets.cdnow)
    assert len(sample) == 6_919 and sample["customer_id"].nunique() == 2_357
    master = load(datasets.cdnow, sample=False)
    assert len(master) == 69_659 and master["customer_id"].nunique() == 23_570
    assert master["timestamp"].min() == pd.Timestamp("1997-01-01")


def test_cdnow_summary_agrees_with_the_sample_transactions():
    summary = load(datasets.cdnow_summary).set_index("customer_id")
    assert len(summary) == 2_357
    purchases = load(datasets.cdnow)
    last_day = datasets.CDNOW_CALIBRATION_END  # the 39-week calibration period ends on this day, inclusive
    calibration = purchases[purchases["timestamp"] <= last_day]
    days = calibration.groupby("customer_id")["timestamp"].agg(["nunique", "min", "max"])
    assert (days["nunique"] - 1).equals(summary.loc[days.index, "frequency"].rename("nunique"))
    recency_weeks = (days["max"] - days["min"]).dt.days / 7
    assert (recency_weeks - summary.loc[days.index, "recency"]).abs().max() < 0.01
    age_weeks = (last_day - days["min"]).dt.days / 7
    assert (age_weeks - summary.loc[days.index, "T"]).abs().max() < 0.01
    # The published holdout figure: 1,882 repeat transactions (customer-days) in weeks 40-78.
    holdout = purchases[purchases["timestamp"] > last_day]
    assert holdout.groupby(["customer_id", "timestamp"]).ngroups == 1_882


def test_email_campaign_sme_class_shares():
    emails = load(datasets.email_campaign_sme)
    assert len(emails) == 68_353
    shares = emails["email_status"].value_counts(normalize=True)
    assert shares[0] == pytest.approx(0.804, abs=0.001)
    assert shares[1] == pytest.approx(0.161, abs=0.001)
    assert shares[2] == pytest.approx(0.035, abs=0.001)
    assert emails["customer_location"].notna().all()
    assert (emails["customer_location"] == "missing").sum() > 10_000


def test_hillstrom_is_a_three_arm_experiment():
    customers = load(datasets.hillstrom)
    assert len(customers) == 64_000 and customers["customer_id"].is_unique
    assert set(customers["segment"]) == {"Mens E-Mail", "Womens E-Mail", "No E-Mail"}
    visit_rate = customers.groupby("segment")["visit"].mean()
    assert visit_rate["Mens E-Mail"] > visit_rate["No E-Mail"]


def test_upworthy_headlines_have_plain_text():
    packages = load(datasets.upworthy)
    assert len(packages) == 15_616
    assert packages["clickability_test_id"].nunique() == 3_358
    assert not packages["lede_text"].str.contains("<p>", regex=False).any()


def test_demo_store_is_always_available_as_copies():
    store = datasets.demo_store(n_customers=150)
    assert len(store.customers) == 150
    store.orders["customer_id"] = "changed"
    assert (datasets.demo_store(n_customers=150).orders["customer_id"] != "changed").all()
