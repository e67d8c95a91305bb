"""What a chunk of a customers file writes over the customers stored (customers.import_customers says why each
value is so): each row's record, which stored customers it changes, and the consent changes it makes, planned from
one read of the stored customers. On SQLite the plan is made before the import takes the database's one write lock,
and checked once it holds it (service.importing.customer_plans): the rows of customers another writer changed
meanwhile are planned again, so that what is written is what planning under the lock would have written, while the
lock is held for that check and the write alone (service.importing.customer_locks)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import literal_column
from sqlalchemy.orm import Session

from generation.locales import normal_locale
from service.addresses import address_key
from service.consent import imported_changes
from service.db.batches import rows_where_in
from service.db.models import Customer
from service.db.name_keys import name_key
from service.settings import ImportSettings
from service.zones import (
    country_given,
    gives_the_zone,
    names_a_country,
    same_country,
    zone_named,
    zone_of_country,
)


class Stored(NamedTuple):
    """A stored customer's row as a record compares with it: its id, then each column a record writes."""

    id: int
    email: str
    email_key: str
    first_name: str
    name_key: str
    locale: str
    timezone: str | None
    marketing_consent: bool
    consent_changed_at: datetime | None
    unsubscribed: bool
    unsubscribed_at: datetime | None
    bounced_email: str | None
    attributes: dict[str, Any] | None


WRITTEN = Stored._fields[1:]  # what a record writes besides its key
# On SQLite, a stored row's id and written columns as one text (quote(): each value as SQL writes it), read in the
# statement that reads the row, and again once the write lock is held: whether the row changed meanwhile, read without
# decoding a time or a JSON value (the rows read again as values took four times as long, with the lock held).
AS_TEXT = literal_column(" || ',' || ".join(f"quote({name})" for name in Stored._fields))


def stored_customers(session: Session, external_ids: Iterable[str]) -> tuple[dict[str, Stored], dict[str, str]]:
    """The stored customers of these ids, by id; on SQLite also each one's ``AS_TEXT`` (else none)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    columns = (Customer.external_id, *(getattr(Customer, name) for name in Stored._fields))
    columns += (AS_TEXT,) if sqlite else ()
    stored, as_text = {}, {}
    for row in rows_where_in(session, columns, Customer.external_id, external_ids):
        stored[row[0]] = Stored(*row[1 : len(Stored._fields) + 1])
        if sqlite:
            as_text[row[0]] = row[-1]
    return stored, as_text


def stored_as_text(session: Session, external_ids: Iterable[str]) -> dict[str, str]:
    """The ``AS_TEXT`` of the stored customers of these ids (SQLite), by id."""
    return dict(rows_where_in(session, (Customer.external_id, AS_TEXT), Customer.external_id, external_ids))


@dataclass(frozen=True)
class CustomerPlan:
    """What a chunk of a customers file writes over the stored customers it was compared with: the records, which of
    the stored differ, and the consent changes, with the stored rows as read (to check them once the lock is held)."""

    records: list[dict[str, Any]]  # one per row, in the rows' order
    stored: dict[str, Stored]  # the stored customers the plan was made over
    as_text: dict[str, str]  # each one's AS_TEXT, as read with it (SQLite)
    changed: set[str]  # the ids of the stored customers whose record differs from their row
    changes: dict[str, list[tuple[str, datetime]]]  # by id: the consent changes the file makes

    @classmethod
    def of(cls, rows: pd.DataFrame, read: tuple[dict[str, Stored], dict[str, str]], now: datetime) -> CustomerPlan:
        """The plan for ``rows`` over the customers ``read`` (``stored_customers``)."""
        stored, as_text = read
        default_locale = ImportSettings().default_locale
        records = [
            _record(row, stored.get(row.customer_id), default_locale, now) for row in rows.itertuples(index=False)
        ]
        changed = {
            record["external_id"]
            for record in records
            if (theirs := stored.get(record["external_id"])) is not None
            and not same_values([record[name] for name in WRITTEN], theirs[1:])
        }
        changes = {}
        for record, collected_at in zip(records, rows.consent_at, strict=True):
            theirs = stored.get(record["external_id"])
            was = (theirs.marketing_consent, theirs.unsubscribed, theirs.consent_changed_at) if theirs else None
            made = imported_changes(
                was, record["marketing_consent"], record["unsubscribed"], optional_time(collected_at), now
            )
            if made:
                changes[record["external_id"]] = made
        return cls(records, stored, as_text, changed, changes)


# The update of a stored customer's written columns, and of when it was written, by its id (``driver_updates``).
UPDATE_BY_ID = f"UPDATE customers SET {', '.join(f'{name} = ?' for name in (*WRITTEN, 'updated_at'))} WHERE id = ?"


def driver_updates(session: Session, plan: CustomerPlan, keys: set[str], now: datetime) -> dict[str, tuple]:
    """For the stored customers ``keys`` (ids), the parameters of ``UPDATE_BY_ID`` with the plan's records, each
    value converted as SQLAlchemy converts it for the database's driver (a time as text, the attributes as JSON),
    before SQLite's write lock is taken: those conversions took three quarters of the time the write held it."""
    dialect, columns = session.get_bind().dialect, Customer.__table__.c
    converters = [columns[name].type.bind_processor(dialect) or _as_is for name in (*WRITTEN, "updated_at")]
    return {
        record["external_id"]: (
            *(convert(value) for convert, value in zip(converters, (*(record[n] for n in WRITTEN), now), strict=True)),
            plan.stored[record["external_id"]].id,
        )
        for record in plan.records
        if record["external_id"] in keys
    }


def _as_is(value: Any) -> Any:
    return value


def _record(row, stored: Stored | None, default_locale: str, now: datetime) -> dict[str, Any]:
    gone = stored is not None and stored.unsubscribed  # kept: the first unsubscribe's time (null: before 0039)
    consent = (stored.marketing_consent, stored.unsubscribed, stored.consent_changed_at) if stored else None
    return {
        "external_id": row.customer_id,
        "email": row.email,
        "email_key": address_key(row.email),  # the bulk write passes the model's validator by
        "first_name": row.first_name,
        "name_key": name_key(row.first_name, row.customer_id),  # as email_key
        "locale": normal_locale(row.locale) if row.locale else (stored.locale if stored else default_locale),
        "timezone": zone_named(row.timezone) if row.timezone else _zone_kept_or_of_country(row, stored),
        "marketing_consent": bool(row.marketing_consent),
        "consent_changed_at": consent_changed_at(
            consent, bool(row.marketing_consent), optional_time(row.consent_at), now
        ),
        "unsubscribed": bool(row.unsubscribed) or gone,
        "unsubscribed_at": stored.unsubscribed_at if gone else (now if row.unsubscribed else None),
        "bounced_email": row.email if row.email_bounced else (stored.bounced_email if stored else None),
        "attributes": {**((stored.attributes or {}) if stored else {}), **row.attributes},
    }


def _zone_kept_or_of_country(row, stored: Stored | None) -> str | None:
    """The zone of a customer whose row gives none: their stored one, else their `country`'s (a `country` column,
    named in any case, is kept with the attributes, as any other: ``country_given``); the new country's where the row
    names another country than the one stored and the stored zone is one of that country's (it came from it, or
    agrees with it: a customer in London, GB, who moved to Tokyo, JP, stayed on London's clock for good; one of
    Malaysia's given Kuching's, the zone an earlier Tailor gave its customers, still did). That is none for a country
    of several times: the shop's clock, not the one the customer left."""
    zone = stored.timezone if stored else None
    country = country_given(row.attributes)
    if zone is None:
        return zone_of_country(country)
    before = country_given(stored.attributes or {})
    if names_a_country(country) and not same_country(country, before) and gives_the_zone(before, zone):
        return zone_of_country(country)
    return zone


def unknown_countries(rows: pd.DataFrame) -> list[str]:
    """The `country` of each row of ``rows`` that gives no `timezone`, where it names no country (``names_a_country``:
    Online Retail's "Unspecified", "European Community"), as written: the row's zone is not taken from it."""
    countries = (country_given(attributes) for attributes in rows.attributes)
    without_zone = rows.timezone.fillna("") == ""
    return [
        str(country)
        for country, unzoned in zip(countries, without_zone, strict=True)
        if unzoned and country is not None and not names_a_country(country)
    ]


def consent_changed_at(
    stored: tuple[bool, bool, datetime | None] | None, consent: bool, collected_at: datetime | None, now: datetime
) -> datetime | None:
    """When the customer's consent took the value a file gives: for the stored consent, its stored time, or for one
    stored before Tailor kept a time, the file's `consent_at` (``collected_at``; else still none: the import is not
    when it was given); for a new or changed consent, the file's `consent_at` or else ``now``."""
    if stored is not None and stored[0] == consent:
        return stored[2] or collected_at
    return collected_at or now


def optional_time(value: pd.Timestamp) -> datetime | None:
    return None if pd.isna(value) else value.to_pydatetime()


def same_values(mine: Iterable, theirs: Iterable) -> bool:
    """Whether a record's values are those stored; a JSON value (the attributes) as the JSON it is stored as:
    True == 1 == 1.0 in Python, and a file giving `vip` as 0/1 where an earlier one gave true/false was unchanged."""
    return all(
        json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
        if isinstance(a, dict | list) or isinstance(b, dict | list)
        else a == b
        for a, b in zip(mine, theirs, strict=True)
    )
