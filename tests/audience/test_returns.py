"""Returns cancel the purchase lines they undo: an order cancelled whole is no order (recency, frequency, spend),
and what no purchase matches still comes off the customer's spend evenly."""

from __future__ import annotations

import pandas as pd
import pytest

from audience.batch import audience_from_file
from audience.errors import InvalidOrders
from audience.orders import orders_before
from audience.returns import RETURN_WINDOW_DAYS, net_of_returns
from evals.datasets import available


def line(customer: str, product: str, when: str, quantity: float, amount: float, kind: str = "purchase") -> dict:
    return {"customer_id": customer, "order_id": f"{customer}-{when}-{kind}", "product_id": product,
            "timestamp": pd.Timestamp(when), "quantity": quantity, "amount": amount, "kind": kind}  # fmt: skip


def net(lines: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(lines)
    returned = frame["kind"] == "return"
    return net_of_returns(frame[~returned].drop(columns="kind"), frame[returned].drop(columns="kind"))


def test_an_order_cancelled_whole_is_no_order():
    """16446 ordered £168,469.60 on 2011-12-09 09:15 and cancelled it at 09:27: their last order is the one before."""
    kept = net([
        line("16446", "23843", "2011-05-18 09:52", 1, 2.9),
        line("16446", "23843", "2011-12-09 09:15", 80995, 168469.6),
        line("16446", "23843", "2011-12-09 09:27", -80995, -168469.6, "return"),
    ])  # fmt: skip
    assert kept["timestamp"].tolist() == [pd.Timestamp("2011-05-18 09:52")]
    assert kept["amount"].tolist() == [2.9]


def test_a_partial_return_keeps_the_share_kept_and_undoes_the_latest_purchase_first():
    kept = net([
        line("a", "mug", "2024-01-01", 4, 40.0),
        line("a", "mug", "2024-01-10", 4, 40.0),
        line("a", "tea", "2024-01-10", 1, 5.0),
        line("a", "mug", "2024-01-12", 6, 60.0, "return"),
    ])  # fmt: skip
    assert kept[["product_id", "amount"]].values.tolist() == [["mug", 20.0], ["tea", 5.0]]
    assert kept["timestamp"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-10")]


def test_a_partial_refund_cancels_no_more_than_it_credited():
    """Online Retail's 12463 paid £36 for postage (2 x £18) and got £6 back on a credit note of quantity -2: the
    quantity cancelled the whole line. A return undoes at most what it credited, in amount as in quantity."""
    kept = net([
        line("12463", "POST", "2011-05-13 10:00", 2, 36.0),
        line("12463", "POST", "2011-05-13 10:05", -2, -6.0, "return"),
        line("b", "mug", "2011-05-13 10:00", 4, 40.0),
        line("b", "mug", "2011-05-20 10:00", -1, -12.0, "return"),  # one mug back, £12 credited: spend is £28
    ])  # fmt: skip
    assert kept[["product_id", "amount"]].values.tolist() == [["POST", 30.0], ["mug", pytest.approx(28.0)]]


def test_a_credit_used_up_cancels_nothing_more():
    """A return that fits no line is spent on the latest first: £40 back on 4 units undoes 0.4 of the £100 unit, and
    what is left of its quantity then cancelled the earlier line whole, as if the return had no amount (Online
    Retail's 15098, whose £297 back on 60 units now undoes the 60 at £4.95 it fits, not the unit at £649.50)."""
    kept = net([
        line("a", "mug", "2024-01-01", 4, 44.0),
        line("a", "mug", "2024-01-05", 1, 100.0),
        line("a", "mug", "2024-01-06", -4, -40.0, "return"),
    ])  # fmt: skip
    assert kept["amount"].tolist() == [44.0, 60.0]


def test_a_return_with_no_amount_cancels_by_its_quantity():
    """A return stored with no amount (read as 0) says nothing of its credit: its quantity alone is matched."""
    kept = net([
        line("a", "mug", "2024-01-01", 4, 40.0),
        line("a", "mug", "2024-01-02", 1, 0.0, "return"),
    ])  # fmt: skip
    assert kept["amount"].tolist() == [30.0]


def test_a_return_that_matches_no_purchase_shrinks_the_spend_evenly():
    """Another product, another customer's purchase, or a purchase older than the window: nothing is cancelled,
    and the customer's lines shrink by the share of their spend returned, as before."""
    late = str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=RETURN_WINDOW_DAYS + 1))
    kept = net([
        line("a", "mug", "2024-01-01", 1, 30.0),
        line("a", "tea", "2024-01-01", 1, 10.0),
        line("b", "pot", "2024-01-01", 1, 50.0),
        line("a", "pot", "2024-01-02", 1, 10.0, "return"),
        line("a", "mug", late, 1, 10.0, "return"),
    ])  # fmt: skip
    assert kept[["customer_id", "product_id", "amount"]].values.tolist() == [
        ["a", "mug", 15.0], ["a", "tea", 5.0], ["b", "pot", 50.0]
    ]  # fmt: skip


def test_without_quantities_the_amounts_are_matched():
    kept = net_of_returns(
        pd.DataFrame({"customer_id": ["a", "a"], "product_id": ["mug", "mug"], "amount": [10.0, 30.0],
                      "timestamp": pd.to_datetime(["2024-01-01", "2024-01-05"])}),
        pd.DataFrame({"customer_id": ["a"], "product_id": ["mug"], "amount": [-30.0],
                      "timestamp": pd.to_datetime(["2024-01-06"])}),
    )  # fmt: skip
    assert kept["amount"].tolist() == [10.0]


def test_the_file_command_takes_returns_as_the_orders_import_does(tmp_path):
    """A `kind` column: returns cancel what they undo; cart and view lines are no orders; other kinds are named."""
    filler = [line(f"f{n}", "tea", f"2024-0{1 + n % 6}-1{n % 9}", 1, 10.0 + n) for n in range(20)]
    lines = pd.DataFrame([
        *filler,
        line("c", "mug", "2024-03-01", 1, 20.0),
        line("c", "pot", "2024-06-01", 100, 5000.0),
        line("c", "pot", "2024-06-01 00:16", 100, 5000.0, "return"),
        line("c", "mug", "2024-06-20", 1, 0.0, "view"),
    ])  # fmt: skip
    lines.to_csv(tmp_path / "orders.csv", index=False)
    table = audience_from_file(tmp_path / "orders.csv", as_of=pd.Timestamp("2024-07-01").date())
    assert table.set_index("customer_id").loc["c", ["recency_days", "frequency", "monetary"]].tolist() == [122, 1, 20.0]
    # a view or cart line's amount and quantity are often empty: left out with the line, not refused
    unpriced = pd.concat([lines, pd.DataFrame([line("c", "lamp", "2024-06-21", 1, 0.0, "cart")])], ignore_index=True)
    unpriced.loc[len(lines) - 1 :, ["amount", "quantity"]] = None
    unpriced.to_csv(tmp_path / "unpriced.csv", index=False)
    assert (tmp_path / "unpriced.csv").read_text().splitlines()[-2:] == [
        "c,c-2024-06-20-view,mug,2024-06-20 00:00:00,,,view", "c,c-2024-06-21-cart,lamp,2024-06-21 00:00:00,,,cart"
    ]  # fmt: skip
    again = audience_from_file(tmp_path / "unpriced.csv", as_of=pd.Timestamp("2024-07-01").date())
    assert again.equals(table)
    unpriced.loc[len(lines) - 2, "amount"] = None  # the return's: refused as before
    unpriced.to_csv(tmp_path / "unpriced.csv", index=False)
    with pytest.raises(InvalidOrders, match=f"line {len(lines)}, column 'amount'"):
        audience_from_file(tmp_path / "unpriced.csv", as_of=pd.Timestamp("2024-07-01").date())
    lines.loc[3, "kind"] = "refund"
    lines.to_csv(tmp_path / "orders.csv", index=False)
    with pytest.raises(InvalidOrders, match="line 5, column 'kind': 'refund' is not a kind of order line"):
        audience_from_file(tmp_path / "orders.csv", as_of=pd.Timestamp("2024-07-01").date())


def test_a_customer_whose_returns_cancel_all_they_bought_is_named_not_dropped_in_silence(tmp_path):
    """Returns that undo every purchase took the customer out of the output, and the command said only how many
    customers it wrote. A return no purchase matched, larger than all they spent, took them out too, orders and
    all (Online Retail's 14063: 7 orders, then credit notes for orders of months before): it leaves the orders,
    at no value."""
    lines = pd.DataFrame([
        line("a", "mug", "2024-01-05", 1, 10.0), line("a", "pot", "2024-03-05", 1, 20.0),
        line("a", "mug", "2024-01-06", -1, -10.0, "return"), line("a", "pot", "2024-03-07", -1, -20.0, "return"),
        line("b", "mug", "2024-01-05", 1, 10.0), line("b", "mug", "2024-02-05", 1, 15.0),
        line("c", "mug", "2024-01-05", 1, 10.0), line("c", "pot", "2024-03-05", 1, 20.0),
        line("c", "lamp", "2024-04-01", -1, -500.0, "return"),
    ])  # fmt: skip
    lines.to_csv(tmp_path / "orders.csv", index=False)
    table = audience_from_file(tmp_path / "orders.csv", as_of=pd.Timestamp("2024-07-01").date())
    assert table["customer_id"].tolist() == ["b", "c"]
    kept = table.set_index("customer_id").loc["c"]
    assert [kept["recency_days"], kept["frequency"]] == [118, 2] and kept["monetary"] == pytest.approx(0, abs=1e-3)
    assert kept["clv"] == 0  # not the spend model's shop average, times the orders it expects
    assert table.attrs["warnings"][-1] == (
        "1 customer bought before 2024-07-01 but is not in the output: their returns cancel all they bought (a)"
    )


def test_customers_whose_returns_cancel_what_they_paid_tell_the_spend_model_nothing():
    """Their amounts, a billionth of what they paid, are kept only to keep their orders: in Gamma-Gamma's fit their
    log-spend moved every other customer's expected order value (by 55 % at most on Online Retail)."""
    from audience.gamma_gamma import GammaGammaModel
    from audience.reasons import profile_reasons

    frequency, monetary = [1, 2, 3, 2, 4, 1, 2, 3], [20.0, 35.0, 12.0, 50.0, 18.0, 27.0, 41.0, 30.0]
    alone = GammaGammaModel().fit(frequency, monetary)
    with_nominal = GammaGammaModel().fit([*frequency, 10, 6], [*monetary, 2e-6, 5e-8])
    assert (with_nominal.p, with_nominal.q, with_nominal.gamma) == (alone.p, alone.q, alone.gamma)
    profile = {"rfm_segment": "cant_lose", "recency_days": 400, "frequency": 11, "monetary": 3e-6, "r_score": 1,
               "f_score": 5, "m_score": 1}  # fmt: skip
    reasons = profile_reasons(profile, pd.Timestamp("2011-12-10"))
    assert "their returns cancel what they paid (monetary score 1/5)" in reasons["segment"]


def test_returns_after_the_as_of_day_are_not_seen():
    lines = pd.DataFrame([
        line("a", "mug", "2024-01-01", 1, 20.0),
        line("a", "mug", "2024-01-02", 1, 20.0, "return"),
        line("b", "mug", "2024-01-01", 1, 20.0),
        line("b", "mug", "2024-01-10", 1, 20.0, "return"),
    ])  # fmt: skip
    assert orders_before(lines, "2024-01-05")["customer_id"].tolist() == ["b"]


@pytest.mark.skipif(not available("online-retail/online_retail_2010_2011.parquet"), reason="Online Retail is absent")
def test_on_online_retail_cancelled_orders_are_no_orders():
    """16446's and 12346's last orders were cancelled minutes later (80,995 and 74,215 units)."""
    from evals.datasets import online_retail

    raw = online_retail("2010-2011", include_cancellations=True)
    raw = raw[raw["customer_id"].isin(["16446", "12346"])]
    returned = raw["order_id"].str.startswith("C") | (raw["quantity"] < 0)
    lines = raw.assign(kind=returned.map({True: "return", False: "purchase"}), amount=raw["amount"].abs())
    history = orders_before(lines, "2011-12-10")
    assert history.groupby("customer_id")["timestamp"].max().dt.date.astype(str).to_dict() == {"16446": "2011-05-18"}


def test_a_file_of_returns_alone_or_cancelled_whole_is_not_told_to_choose_a_later_day():
    """`tailor audience` on a file of returns alone, or of orders all cancelled, said "There are no orders before
    2026-12-05; choose a later as-of date (the orders start on 2026-11-01)": no later day could help."""
    from audience.errors import NotEnoughHistory

    returns = pd.DataFrame([line("a", "mug", "2026-11-01", -1, -10.0, "return"),
                            line("b", "mug", "2026-11-20", -1, -12.0, "return")])  # fmt: skip
    with pytest.raises(NotEnoughHistory, match="the lines are all returns or cancellations") as caught:
        orders_before(returns, "2026-12-05")
    assert "later" not in str(caught.value)
    cancelled = pd.DataFrame(
        [line("a", "mug", "2026-11-01", 1, 10.0), line("a", "mug", "2026-11-01", -1, -10.0, "return")]
    )
    with pytest.raises(NotEnoughHistory, match="the returns cancel every purchase \\(1 customer: a\\)"):
        orders_before(cancelled, "2026-12-05")
    later = pd.DataFrame([line("a", "mug", "2026-10-01", -1, -5.0, "return"), line("a", "mug", "2026-11-03", 1, 10.0)])
    with pytest.raises(NotEnoughHistory, match="choose a later as-of date \\(the orders start on 2026-11-03\\)"):
        orders_before(later, "2026-11-01")
