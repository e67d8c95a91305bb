"""Send-time optimization: each customer's best hour from their past opens, shrunk toward the population.

For every hour the shop has sent at, the population open rate is the shop's opens at that hour over its
sends there, shrunk toward the shop's overall open rate by a Beta prior worth ``POPULATION_PRIOR_SENDS``
sends, so that an hour with a handful of sends (one lucky 3 a.m. open) cannot become everybody's best hour:
only an hour with enough sends to show a real difference moves away from the overall rate. A customer's
rate at an hour is the shrunk estimate ``(own opens + k × population rate) / (own sends + k)``
(a Beta prior worth ``k`` sends centred on the population), so one lucky open does not move a customer, and
a customer with no history gets the population's best hour. The best hour is the one with the highest
shrunk rate. ``next_send_times`` turns best hours into the moments a send job should mail each customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from scoring.errors import NotEnoughData
from scoring.features import require_columns

POPULATION_PRIOR_SENDS = 50.0


def open_counts(sends: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sends and opens (columns ``sends``, ``opens``) per send ``hour`` and the other columns in ``by``, from
    one row per send: the counts the functions below learn from (a database can count them itself)."""
    require_columns(sends, ["sent_at", "opened", *(column for column in by if column != "hour")], "sends")
    rows = sends.assign(hour=pd.to_datetime(sends["sent_at"]).dt.hour, opened=sends["opened"].astype(float))
    if "customer_id" in by:
        rows["customer_id"] = rows["customer_id"].astype(str)
    grouped = rows.groupby(by)["opened"]
    return pd.DataFrame({"sends": grouped.count(), "opens": grouped.sum()}).reset_index()


def population_open_rates(sends: pd.DataFrame, prior_sends: float = POPULATION_PRIOR_SENDS) -> pd.Series:
    """Open rate by send hour (0–23) over all sends, shrunk toward the overall rate by ``prior_sends``; only
    hours that were used appear."""
    return _population_rates(open_counts(sends, ["hour"]), prior_sends)


def _population_rates(by_hour: pd.DataFrame, prior_sends: float) -> pd.Series:
    if not by_hour["sends"].sum():
        raise NotEnoughData("There are no past sends to learn send times from.")
    overall = by_hour["opens"].sum() / by_hour["sends"].sum()
    by_hour = by_hour.set_index("hour").sort_index()
    rates = (by_hour["opens"] + prior_sends * overall) / (by_hour["sends"] + prior_sends)
    return rates.rename_axis("hour").rename("open_rate")


def best_send_hours(
    sends: pd.DataFrame, customer_ids: list[str] | pd.Series | None = None, *, prior_sends: float = 4.0
) -> pd.DataFrame:
    """One row per customer: ``best_hour``, ``expected_open_rate``, ``n_sends``, ``n_opens`` and ``source``
    (``own`` when the customer's history moved the choice away from the population hour, else ``population``)."""
    require_columns(sends, ["customer_id", "sent_at", "opened"], "sends")
    population = open_counts(sends, ["hour"])
    if customer_ids is not None:  # the population needs every send; the per-customer table only theirs
        sends = sends[sends["customer_id"].astype(str).isin(pd.Series(customer_ids).astype(str))]
    return best_hours_from_counts(population, open_counts(sends, ["customer_id", "hour"]), customer_ids,
                                  prior_sends=prior_sends)  # fmt: skip


def best_hours_from_counts(
    population: pd.DataFrame,
    customers: pd.DataFrame,
    customer_ids: list[str] | pd.Series | None = None,
    *,
    prior_sends: float = 4.0,
) -> pd.DataFrame:
    """``best_send_hours`` from counts (see ``open_counts``): ``population`` per hour over all sends, and
    ``customers`` per customer and hour (those of ``customer_ids`` at least), so that a shop of millions of
    sends is counted by its database instead of read send by send."""
    rates = _population_rates(population, POPULATION_PRIOR_SENDS)
    population_hour = int(rates.idxmax())
    own_opens = customers.pivot_table(index="customer_id", columns="hour", values="opens", aggfunc="sum", fill_value=0)
    own_sends = customers.pivot_table(index="customer_id", columns="hour", values="sends", aggfunc="sum", fill_value=0)
    own_opens = own_opens.reindex(columns=rates.index, fill_value=0).astype(float)
    own_sends = own_sends.reindex(columns=rates.index, fill_value=0)
    shrunk = (own_opens + prior_sends * rates.to_numpy()) / (own_sends + prior_sends)
    best = shrunk.to_numpy().argmax(axis=1)
    table = pd.DataFrame(
        {
            "best_hour": rates.index.to_numpy()[best].astype(int),
            "expected_open_rate": shrunk.to_numpy()[np.arange(len(shrunk)), best],
            "n_sends": own_sends.sum(axis=1).astype(int).to_numpy(),
            "n_opens": own_opens.sum(axis=1).astype(int).to_numpy(),
        },
        index=shrunk.index.rename("customer_id"),
    )
    table["source"] = np.where(table["best_hour"] != population_hour, "own", "population")
    if customer_ids is not None:
        wanted = pd.Index(pd.Series(customer_ids).astype(str), name="customer_id")
        table = table.reindex(wanted)
        unknown = table["best_hour"].isna()
        table.loc[unknown, ["best_hour", "expected_open_rate", "n_sends", "n_opens", "source"]] = [
            population_hour,
            float(rates.max()),
            0,
            0,
            "population",
        ]
        table = table.astype({"best_hour": int, "n_sends": int, "n_opens": int, "expected_open_rate": float})
    return table


def next_send_times(best_hours: Iterable[int], now: datetime) -> list[datetime]:
    """When to mail each customer: ``now`` when it falls within their best hour, else the next start of it."""
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    times = []
    for hour in best_hours:
        hours_ahead = (int(hour) - now.hour) % 24
        times.append(now if hours_ahead == 0 else this_hour + timedelta(hours=hours_ahead))
    return times
