"""Customer profiles: RFM segment, cluster, P(alive), churn risk, expected purchases, CLV and next purchase.

``build_profiles`` is what the service runs after each import and what ``tailor audience`` writes. Each model
degrades gracefully on a small or young shop: without enough history for the supervised churn model, churn
risk comes from BG/NBD; without enough repeat customers for BG/NBD, from the shop's repeat rate; with no repeat
purchase at all they are unknown (NaN), not a certain churn (see ``fallbacks``).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from audience.bgnbd import p_no_purchase
from audience.churn import ChurnModel
from audience.clusters import cluster_customers
from audience.errors import AudienceError
from audience.features import OrderHistory
from audience.gamma_gamma import GammaGammaModel
from audience.mix import mix_features
from audience.next_purchase import next_purchase_dates
from audience.orders import RETURNED_WHOLE, as_timestamp, orders_before
from audience.progress import Progress
from audience.returns import LEAST_SPEND
from audience.rfm import rfm_of_orders
from tabular import RowName, data_row

NO_REPEAT = "nobody has bought on a second day yet, so nothing tells how often customers come back"
PROFILE_COLUMNS = [
    "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_segment", "cluster",
    "cluster_label", "repeat_purchase_days", "cycle_days", "p_alive", "churn_risk", "expected_purchases",
    "expected_purchase_value", "clv", "next_purchase_date",
]  # fmt: skip
# Decimals a profile is shown with (a file, the API): money in cents, days to a tenth, probabilities and expected
# purchases finely enough that ranking by them (an AUC taken on churn_risk) is not changed by the rounding, without
# float noise such as 558.1719999999999. The models keep full precision.
SHOWN_DECIMALS = {
    "monetary": 2, "expected_purchase_value": 2, "clv": 2, "cycle_days": 1,
    "p_alive": 6, "churn_risk": 6, "expected_purchases": 6,
}  # fmt: skip
# Monthly cutoffs over the last year and a half (so the same season a year earlier is among them).
PROFILE_CHURN_MODEL = {"n_cutoffs": 18, "step_days": 30}
# Where each step starts, in percent of a profile's time (measured on a 100,000-customer demo shop: 26 s, 14 of them
# fitting the churn model's trees): its past days move the figure from "churn model" to "fitting", its trees from
# there to "clusters".
STEP_STARTS = {"reading the orders": 0, "RFM segments": 5, "BG/NBD and Gamma-Gamma": 11, "features": 16,
               "churn model": 28, "fitting": 45, "clusters": 96, "next purchase dates": 99}  # fmt: skip


@threadpool_limits.wrap(limits=1)
def build_profiles(
    orders: pd.DataFrame,
    as_of: date | str | pd.Timestamp,
    horizon_days: int = 90,
    row_name: RowName = data_row,
    progress: Progress | None = None,
    threads: int = 1,
) -> pd.DataFrame:
    """One row per customer with an order before ``as_of`` (index ``customer_id``), columns ``PROFILE_COLUMNS``.

    Runs single-threaded but for the churn model's trees, which take ``threads`` OpenMP threads: the other fits
    are small, and OpenMP threads spinning on a busy machine made them 10x slower (27 s instead of 1.8 s for 400
    customers on a loaded 2-core machine). The trees, the longest fit (9.5 s of CPU for the 100,000-customer demo
    shop), give the same risks to the bit on any number of threads; more than one pays only on a machine with
    cores to spare (on a loaded 2-core machine two threads took their fit from 4.9 s to 119 s).
    ``expected_purchases`` (purchase days) and ``clv`` cover the next ``horizon_days``; ``churn_risk`` is the
    probability of no purchase in them. ``clv`` = ``expected_purchases`` x ``expected_purchase_value``
    (Gamma-Gamma's expected spend per purchase day, or the mean order value when it falls back; not discounted).
    ``repeat_purchase_days`` counts purchase days after the first (BG/NBD's frequency: at 0, its P(alive) is 1 by
    definition and says nothing); ``cycle_days`` is the expected gap between purchases (the shop's usual gap for
    customers without a repeat day). ``profiles.attrs["fallbacks"]`` lists the models that fell back, with the
    reason. A bad order line is named by ``row_name`` (``tabular.file_line`` for rows read from a CSV file).
    ``progress`` hears (done, 100, message) as each step starts, and as the churn model goes through its past days.
    """
    step = _Steps(progress)
    end = as_timestamp(as_of)
    step("reading the orders")
    lines = orders_before(orders, end, row_name)
    returned_whole = lines.attrs[RETURNED_WHOLE]
    step("RFM segments")
    # Rolled up once for the RFM table, the BTYD summary, the features at the as-of day and the churn model's past
    # days (each rolled up the lines again).
    history = OrderHistory(lines, horizon_days)
    profiles = rfm_of_orders(history.whole_orders_before(end), end)
    profiles.index = history.ids(profiles.index)
    fallbacks: list[str] = []
    step("BG/NBD and Gamma-Gamma")
    summary = history.btyd_summary(end).reindex(profiles.index)
    args = (summary["frequency"], summary["recency"], summary["T"])
    try:
        # fitted once at the as-of day for these and the churn model's features, on the same customers
        bgnbd = history.bgnbd_at(end)
        if isinstance(bgnbd, AudienceError):
            raise bgnbd
        profiles["p_alive"] = bgnbd.p_alive(*args)
        profiles["expected_purchases"] = bgnbd.expected_purchases(horizon_days, *args)
        purchase_model = "BG/NBD"
    except AudienceError as error:
        purchase_model = "the shop rate"
        if summary["frequency"].sum() > 0:
            fallbacks.append(f"p_alive/expected_purchases: shop rate instead of BG/NBD ({error})")
            rate = summary["frequency"].sum() / max(summary["T"].sum(), 1.0)
            profiles["p_alive"] = np.exp(-summary["recency"].rsub(summary["T"]) * rate)
            profiles["expected_purchases"] = profiles["p_alive"] * rate * horizon_days
        else:
            # A shop rate of 0 from no repeat at all would say every customer is certain to churn, champions too.
            purchase_model = "no model"
            fallbacks.append(f"p_alive/expected_purchases/clv/churn_risk: unknown, {NO_REPEAT} ({error})")
            profiles["p_alive"] = profiles["expected_purchases"] = np.nan
    try:
        spend = GammaGammaModel().fit(summary["frequency"], summary["monetary"])
        order_value = spend.expected_spend(summary["frequency"], summary["monetary"])
    except AudienceError as error:
        figure = "expected_purchase_value" if purchase_model == "no model" else "clv"  # no CLV to speak of then
        fallbacks.append(f"{figure}: mean order value instead of Gamma-Gamma ({error})")
        order_value = profiles["monetary"].to_numpy()
    # A customer whose returns cancel what they paid (a mean order under a cent) is expected to spend nothing an
    # order: Gamma-Gamma gave them its shop average, or a blend toward it.
    order_value = np.where(profiles["monetary"].to_numpy() < LEAST_SPEND, 0.0, order_value)
    profiles["expected_purchase_value"] = order_value
    profiles["clv"] = profiles["expected_purchases"] * order_value

    step("features")
    features = history.features_at(end).reindex(profiles.index)
    try:
        churn = ChurnModel(horizon_days=horizon_days, threads=threads, **PROFILE_CHURN_MODEL)
        profiles["churn_risk"] = churn.fit_predict(lines, end, features, step.churn, history).to_numpy()
        profiles.attrs["churn_model"] = churn.kind_
    except AudienceError as error:
        if purchase_model != "no model":
            fallbacks.append(f"churn_risk: {purchase_model} instead of the supervised model ({error})")
        profiles["churn_risk"] = p_no_purchase(
            profiles["p_alive"].to_numpy(), profiles["expected_purchases"].to_numpy()
        )

    step("clusters")
    behaviour = features.assign(frequency=profiles["frequency"], monetary=profiles["monetary"])
    clusters = cluster_customers(behaviour.join(mix_features(lines)))
    profiles["cluster"] = clusters.labels.astype(int)
    profiles["cluster_label"] = profiles["cluster"].map(clusters.descriptions)
    profiles["repeat_purchase_days"] = summary["frequency"].astype(int)
    step("next purchase dates")
    profiles["next_purchase_date"], profiles["cycle_days"] = next_purchase_dates(
        summary, end, 1 - profiles["churn_risk"]
    )
    profiles = profiles[PROFILE_COLUMNS]
    profiles.attrs["fallbacks"] = fallbacks
    profiles.attrs["warnings"] = _as_of_warnings(lines, end, horizon_days)
    profiles.attrs[RETURNED_WHOLE] = returned_whole
    profiles.attrs["clusters"] = {"k": clusters.k, "descriptions": clusters.descriptions,
                                  "silhouettes": clusters.silhouettes}  # fmt: skip
    return profiles


class _Steps:
    """``progress`` told where each step of ``build_profiles`` starts (``STEP_STARTS``), and ``churn`` the listener
    that moves the figure through the churn model's past days and its fit."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def __call__(self, name: str) -> None:
        if self.progress is not None:
            self.progress(STEP_STARTS[name], 100, name)

    def churn(self, done: int, total: int, message: str) -> None:
        if self.progress is not None:
            start, end = STEP_STARTS["churn model"], STEP_STARTS["fitting"]
            self.progress(start + (end - start) * done // total, 100, f"churn model: {message}")


def _as_of_warnings(lines: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> list[str]:
    """What to tell a person about the as-of day: one more than a horizon after the latest order reads as if the
    shop still sold (RFM ranks customers against each other: the latest buyers are "champions" however long ago
    they bought)."""
    latest = lines["timestamp"].max()
    quiet = (as_of - latest.normalize()).days - 1 if pd.notna(latest) else 0
    if quiet <= horizon_days:
        return []
    return [
        f"the as-of day {as_of.date()} is {quiet} days after the latest order ({latest.date()}): segments rank "
        "customers against each other, so the latest buyers still read as recent; use the day after the latest "
        "order to describe the shop as it is"
    ]
