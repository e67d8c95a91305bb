"""Send-time optimization: each customer's best hour from their past opens, shrunk toward the population.

For every hour the shop has sent at, the population open rate is the shop's opens at that hour over its
sends there, shrunk toward the shop's overall open rate by a Beta prior worth ``POPULATION_PRIOR_SENDS``
sends, so that an hour with a handful of sends (one lucky 3 a.m. open) cannot become everybody's best hour:
only an hour with enough sends to show a real difference moves away from the overall rate. A customer's
rate at an hour is the shrunk estimate ``(own opens + k × population rate) / (own sends + k)``
(a Beta prior worth ``k`` sends centred on the population), so a customer's few opens move them only to an hour
the population nearly favours as much: one open in one send, only to an hour whose population rate is within
(1 - the best hour's rate) / k of the best (0.14 at a best rate of 43 % and the default k of 4; a lucky open at an
hour the shop rarely opens at moves nobody). A customer with no history gets the population's best hour. The
best hour is the one with the highest shrunk rate. ``next_send_times`` turns best hours into the moments a send
job should mail each customer.

A shop's history has to be worth learning from before any hour is named (``require_history``): at least
``MIN_HISTORY_SENDS`` sends, at ``MIN_HISTORY_HOURS`` hours of the clock or more, some of them opened. Two
imported sends made midnight everybody's best hour at a 100 % open rate, a sends file with dates but no times puts
every send at 00:00, where there is nothing to compare an hour with, and one without opens made the first hour sent
at (03:00, say) everybody's best at 0 %.

Hours are hours of each customer's own clock (an IANA name; ``sent_at`` and the moments returned are UTC without
a zone): their zone, where the sends give one (a ``timezone`` column) and ``next_send_times`` is told it, else the
shop's, ``timezone``. Customers keep their habits by their own clock, so an hour learned in UTC moves by one at every
daylight-saving change (9:00 in Berlin is 8:00 UTC in winter and 7:00 in summer), and a shop's 10:00 is 07:00 for a
customer in Los Angeles: the population's hours are local hours too, so that "10:00 local" is what it learns.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from scoring.errors import NotEnoughData, require_columns

POPULATION_PRIOR_SENDS = 50.0
MIN_HISTORY_SENDS = 20
MIN_HISTORY_HOURS = 2


def local_hours(sent_at: pd.Series, timezone: str = "UTC", zones: pd.Series | None = None) -> pd.Series:
    """The hour of the clock in ``timezone`` of each moment (UTC without a zone, as the service keeps them), or in
    each moment's own zone of ``zones`` (aligned with ``sent_at``), where it names one (empty or missing:
    ``timezone``)."""
    moments = pd.to_datetime(sent_at)
    own = pd.Series(timezone, index=moments.index) if zones is None else zones.fillna("").astype(str)
    own = own.where(own != "", timezone).to_numpy()
    found = pd.unique(own)
    if len(found) <= 1:
        return _hours_in(moments, found[0] if len(found) else timezone)
    by_position = moments.reset_index(drop=True)  # an index of the caller's may repeat labels
    hours = pd.concat([_hours_in(by_position[own == zone], zone) for zone in found]).sort_index()
    return hours.set_axis(moments.index)


def _hours_in(moments: pd.Series, zone: str) -> pd.Series:
    return moments.dt.hour if zone == "UTC" else moments.dt.tz_localize("UTC").dt.tz_convert(zone).dt.hour


def open_counts(sends: pd.DataFrame, by: list[str], timezone: str = "UTC") -> pd.DataFrame:
    """Sends and opens (columns ``sends``, ``opens``) per send ``hour`` (of the clock in the customer's zone, a
    ``timezone`` column where the sends have one and it names one, else in ``timezone``) and the other columns in
    ``by``, from one row per send: the counts the functions below learn from (a database can count them itself)."""
    require_columns(sends, ["sent_at", "opened", *(column for column in by if column != "hour")], "sends")
    hours = local_hours(sends["sent_at"], timezone, sends.get("timezone"))
    rows = sends.assign(hour=hours, opened=sends["opened"].astype(float))
    if "customer_id" in by:
        rows["customer_id"] = rows["customer_id"].astype(str)
    grouped = rows.groupby(by)["opened"]
    return pd.DataFrame({"sends": grouped.count(), "opens": grouped.sum()}).reset_index()


def population_open_rates(
    sends: pd.DataFrame, prior_sends: float = POPULATION_PRIOR_SENDS, timezone: str = "UTC"
) -> pd.Series:
    """Open rate by send hour (0–23 in ``timezone``) over all sends, shrunk toward the overall rate by
    ``prior_sends``; only hours that were used appear."""
    return _population_rates(open_counts(sends, ["hour"], timezone), prior_sends)


def require_history(by_hour: pd.DataFrame, utc_by_hour: pd.DataFrame | None = None) -> None:
    """Raise NotEnoughData, saying what is missing, unless the shop's sends per hour (``open_counts`` over
    ``["hour"]``) hold at least ``MIN_HISTORY_SENDS`` sends at ``MIN_HISTORY_HOURS`` hours or more, and an open. With
    ``utc_by_hour`` (the same sends per hour of UTC, for hours learned in another zone) the hours must differ in
    UTC too: sends of a dates-only file are all at 00:00 UTC, which a zone with daylight saving puts at two hours of its
    clock (01:00 and 02:00 in Berlin), and another zone at an hour that is not midnight (09:00 in Tokyo)."""
    used = by_hour[by_hour["sends"] > 0]
    total = int(used["sends"].sum())
    if not total:
        raise NotEnoughData("There are no past sends to learn send times from.")
    if total < MIN_HISTORY_SENDS:
        raise NotEnoughData(
            f"There {'is' if total == 1 else 'are'} {total} past send{'' if total == 1 else 's'} to learn send times "
            f"from: at least {MIN_HISTORY_SENDS} are needed before one hour can be told from another."
        )
    # On both clocks: a shop that always sends at 9:00 in Berlin sends at two hours of UTC, and a dates-only file's
    # midnights in UTC are two hours of Berlin's clock. The shop's clock first, which its hours are named on: a shop
    # that sends at 9:00 in Tokyo (00:00 UTC), or in Berlin's winter alone (08:00 UTC), sends at 09:00; UTC only
    # where its one hour is two of the shop's clock.
    utc_used = None if utc_by_hour is None else utc_by_hour[utc_by_hour["sends"] > 0]
    midnights = utc_used is not None and len(utc_used) == 1 and int(utc_used["hour"].iloc[0]) == 0
    for hours, zone in ((used, ""), (utc_used, " UTC")):
        if hours is not None and len(hours) < MIN_HISTORY_HOURS:
            hour = int(hours["hour"].iloc[0])
            dates_only = hour == 0 if zone or utc_used is None else midnights
            at = "" if zone or utc_used is None or not dates_only else f", {hour:02d}:00 on this clock"
            raise NotEnoughData(
                f"All {total} past sends were made at {hour:02d}:00{zone}, so no other hour can be compared with it"
                + (f" (a sends file with dates but no times puts every send at 00:00 UTC{at})." if dates_only else ".")
            )
    if not used["opens"].sum():  # every hour's rate is 0: the first hour sent at was everybody's best, at 0 %
        raise NotEnoughData(
            f"None of the {total} past sends was opened, so no hour can be told from another (a sends file without "
            "the opened column records no opens)."
        )


def _population_rates(by_hour: pd.DataFrame, prior_sends: float) -> pd.Series:
    require_history(by_hour)
    overall = by_hour["opens"].sum() / by_hour["sends"].sum()
    by_hour = by_hour.set_index("hour").sort_index()
    rates = (by_hour["opens"] + prior_sends * overall) / (by_hour["sends"] + prior_sends)
    return rates.rename_axis("hour").rename("open_rate")


def best_send_hours(
    sends: pd.DataFrame, customer_ids: list[str] | pd.Series | None = None, *, prior_sends: float = 4.0,
    timezone: str = "UTC",
) -> pd.DataFrame:  # fmt: skip
    """One row per customer: ``best_hour`` (of their own clock: see ``open_counts``), ``expected_open_rate``,
    ``n_sends``, ``n_opens`` and ``source`` (``own`` when the customer's history moved the choice away from the
    population hour, else ``population``)."""
    require_columns(sends, ["customer_id", "sent_at", "opened"], "sends")
    population = open_counts(sends, ["hour"], timezone)
    zoned = "timezone" in sends and bool((sends["timezone"].fillna("") != "").any())
    if timezone != "UTC" or zoned:  # told apart in UTC: a dates-only file's midnights are two hours of a DST zone
        require_history(population, open_counts(sends, ["hour"], "UTC"))
    if customer_ids is not None:  # the population needs every send; the per-customer table only theirs
        sends = sends[sends["customer_id"].astype(str).isin(pd.Series(customer_ids).astype(str))]
    return best_hours_from_counts(population, open_counts(sends, ["customer_id", "hour"], timezone), customer_ids,
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


def next_send_times(
    best_hours: Iterable[int], now: datetime, timezone: str = "UTC", zones: Iterable[str | None] | None = None
) -> list[datetime]:
    """When to mail each customer (UTC without a zone, as ``now``): ``now`` when it falls within their best hour
    of their clock, else the next start of that hour there; their clock is their zone of ``zones`` (in the order of
    ``best_hours``), or ``timezone`` for one without (None, empty, or no ``zones``). On the night the clocks go
    forward an hour that does not exist there is taken as the hour after it (02:00 in Berlin is then 03:00)."""
    hours = list(best_hours)
    own = list(zones) if zones is not None else [None] * len(hours)
    return [_next_start(int(hour), now, ZoneInfo(zone or timezone)) for hour, zone in zip(hours, own, strict=True)]


def _next_start(hour: int, now: datetime, zone: ZoneInfo) -> datetime:
    local_now = now.replace(tzinfo=UTC).astimezone(zone)
    if hour == local_now.hour:
        return now
    this_hour = local_now.replace(minute=0, second=0, microsecond=0, tzinfo=None)
    start = this_hour.replace(hour=hour)
    if start <= this_hour:
        start += timedelta(days=1)
    moment = start.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    return moment if moment > now else now
