"""A customers file: its checks (addresses, locales, zones, when a consent was collected), its writes, planned for the
whole file before the first is written (service.importing.customer_plans), and its warnings (languages without
email templates, addresses only SMTPUTF8 takes, customers without a locale, addresses shared with another id)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from generation.locales import LOCALE_PATTERN, NOT_A_LOCALE
from generation.schemas import LOCALES
from service.addresses import (
    EMAIL_PATTERN,
    shared_address_warning,
    shared_addresses,
    stop_shared_addresses,
)
from service.clock import utcnow
from service.consent import ImportSource, record_imported
from service.db.models import Customer
from service.errors import Problem
from service.importing.checks import not_yet, rows_where
from service.importing.columns import SPECS, parsed_column
from service.importing.customer_locks import lock_customers
from service.importing.customer_plans import PlannedChunk, PlannedChunks, planned
from service.importing.customer_rows import UPDATE_BY_ID
from service.importing.files import RowNumbers, csv_header, file_chunks, parquet_file
from service.importing.writes import ImportSummary, Report, known_keys, progress_after, summed, write_rows
from service.settings import ImportSettings
from service.wording import counted
from service.zone_moves import move_to_new_zones
from service.zones import ZONE_EXAMPLES, zone_named
from tabular import (
    examples,
    is_parquet,
)


def customer_keys(path: Path, shown: str, numbers: RowNumbers) -> Iterator[tuple[pd.Series, pd.Series]]:
    """A customers file's ids and emails, a chunk at a time, as its rows are read (none where its header names no
    `customer_id`, no emails where it names no `email`: the file is refused then)."""
    header = parquet_file(path, shown).schema_arrow.names if is_parquet(path) else csv_header(path, shown)
    named = {str(column).strip(): column for column in header}
    if "customer_id" not in named:
        return
    read = [named[name] for name in ("customer_id", "email") if name in named]
    for chunk in file_chunks(path, shown, numbers, read):
        ids = parsed_column(chunk[named["customer_id"]], SPECS["customers"], "customer_id")
        emails = parsed_column(chunk[named["email"]], SPECS["customers"], "email") if "email" in named else ()
        yield ids, emails


def check_customers(_session: Session, rows: pd.DataFrame) -> list[Problem]:
    problems = [  # an empty cell is named as such by the parser, once
        Problem(r, "email", "is not an email address")
        for r in rows_where(~rows.email.str.match(EMAIL_PATTERN) & (rows.email != ""))
    ]
    locales = rows.locale.fillna("")  # none (no column, an empty cell): see import_customers
    problems += [
        Problem(r, "locale", NOT_A_LOCALE) for r in rows_where(~locales.str.match(LOCALE_PATTERN) & (locales != ""))
    ]
    zones = rows.timezone.fillna("")  # none (no column, an empty cell): see import_customers
    problems += [
        Problem(r, "timezone", f"'{zones[r]}' is not a time zone: {ZONE_EXAMPLES}")
        for r in rows_where((zones != "") & zones.map(lambda zone: zone_named(zone) is None))
    ]
    collected = pd.to_datetime(rows.consent_at)  # none (no column): all NaT, none refused
    return problems + [
        Problem(r, "consent_at", "has not come yet: it says when the shop collected the consent (is the year right?)")
        for r in rows_where(not_yet(collected))
    ]


def _language(locales: pd.Series) -> pd.Series:
    """The language of each locale: `pt-BR` and `pt_BR` are `pt`."""
    return locales.str.replace("_", "-").str.split("-").str[0].str.lower()


def import_customers(session: Session, rows: pd.DataFrame, progress: Report) -> ImportSummary:
    """An import may unsubscribe a customer, never subscribe one again: an unsubscribe (a file's or an
    unsubscribe event's) stays, whatever a later file says or leaves out. So does a bounce (`email_bounced`, e.g.
    from the suppression list of the shop's former email provider): it holds for that address, and a new address
    in a later file is mailable. The extra columns are added to the attributes already stored: a later file with
    other columns (or an empty cell) keeps the values an earlier one gave. So does a locale: a customer the file
    gives none keeps theirs, and a new one gets the shop's default (`TAILOR_IMPORT_DEFAULT_LOCALE`). So does a time
    zone (no column, an empty cell): a new customer then has none, the shop's; a file whose source knows no zones
    for some customers wiped those known before, and moved their best-hour sends to the shop's clock. A customer
    without one, new or stored, gets their `country`'s where it has one time (service.zones.zone_of_country: a shop's
    export gives countries, seldom zones); one whose zone is their stored country's, the new country's where the file
    names another (customer_rows). A zone the file does change moves the customer's drafts waiting for a time
    of their day (service.zone_moves). A consent
    the file gives a new customer, or changes, is dated when the shop collected it (`consent_at`) or else now
    (``consent_changed_at``); the same consent again keeps its time, which a nightly file would otherwise move every
    night. Each consent given or withdrawn, and each unsubscribe, joins the customer's consent history with the
    import it came from (``source``; service.consent); a row saying what is stored adds nothing. The customers are
    held (service.importing.customer_locks) before they are read."""
    lock_customers(session, [(rows.customer_id, rows.email)])
    plans = PlannedChunks(session)
    plans.add(planned(session, rows, utcnow()), rows)
    return write_customers(session, plans, progress, ImportSource())


def write_customers(session: Session, plans: PlannedChunks, progress: Report, source: ImportSource) -> ImportSummary:
    """Write a customers file's planned chunks, SQLite's write lock taken once every chunk is planned
    (``PlannedChunks.locked``), the consent changes they make recorded as of ``source``."""
    written = ImportSummary("customers", 0, 0, 0)
    for chunk in plans.locked(session):
        chunk_progress = progress_after(written.rows, plans.rows, progress)
        written = summed(written, _write_planned(session, chunk, chunk_progress, source))
    return written


def _write_planned(session: Session, chunk: PlannedChunk, progress: Report, source: ImportSource) -> ImportSummary:
    """Write a chunk of customers as planned (``import_customers`` says why each value is so)."""
    writes = chunk.writes
    write_rows(session, Customer, list(writes.inserts.values()), list(writes.updates.values()))
    if writes.driver_updates:  # converted before SQLite's write lock was taken
        session.connection().exec_driver_sql(UPDATE_BY_ID, list(writes.driver_updates.values()))
    rows, changed = len(chunk.customer_ids), len(writes.driver_updates) + len(writes.updates)
    progress(rows, rows, "writing customers")
    zone_moves = {row_id: (before, after) for row_id, before, after in writes.zone_moves.values()}
    moved = move_to_new_zones(session, zone_moves, chunk.now)
    added = [external for external in writes.changes if external not in writes.ids]  # their row ids once written
    ids = writes.ids | known_keys(session, Customer.external_id, Customer.id, added) if added else writes.ids
    record_imported(session, {ids[external]: made for external, made in writes.changes.items()}, source, chunk.now)
    unchanged = rows - len(writes.inserts) - changed
    return ImportSummary("customers", rows, len(writes.inserts), changed, unchanged, drafts_moved=moved)


def shared_address_warnings(session: Session, in_file: Callable[[list[str]], np.ndarray]) -> tuple[str, ...]:
    """Once a customers file is written: an unsubscribe or bounce under one customer id stops every id with that
    address (service.addresses), and a warning names the addresses the file's customers (``in_file``: which of
    these ids it holds) share with another id, in the file or stored before."""
    stop_shared_addresses(session)
    groups = {email: ids for email, ids in shared_addresses(session).items() if in_file(ids).any()}
    return shared_address_warning(groups)


def count_languages(counts: pd.Series, rows: pd.DataFrame) -> pd.Series:
    """``counts`` (customers per language without email templates) with the customers of ``rows`` added."""
    languages = _language(rows.locale[rows.locale.fillna("") != ""])
    found = languages[~languages.isin(LOCALES)].value_counts()
    return counts.add(found, fill_value=0).astype("int64") if len(counts) else found


def locale_warnings(counts: pd.Series) -> tuple[str, ...]:
    """A language without email templates is accepted (a campaign writes to those customers in the brand's
    default language and flags their drafts), but the shop should know before it plans a campaign."""
    counts = counts.sort_values(ascending=False, kind="stable")
    if counts.empty:
        return ()
    listed = ", ".join(f"{locale} ({count})" for locale, count in counts.items())
    return (
        f"{counted(int(counts.sum()), 'customer has', 'customers have')} a language without email templates: {listed}. "
        "Campaigns write to them "
        f"in the brand's default language and flag their drafts for review; templates exist for {', '.join(LOCALES)}.",
    )


def ids_without_locale(rows: pd.DataFrame) -> list[str]:
    """The customer ids of ``rows`` the file gives no locale (no column, or an empty cell)."""
    return list(rows.customer_id[rows.locale.fillna("") == ""])


def default_locale_warnings(customer_ids: list[str]) -> tuple[str, ...]:
    """A file without languages imports (a shop platform's export has none), but the shop should know which
    language those customers are written to in, and where to change it."""
    if not customer_ids:
        return ()
    default = ImportSettings().default_locale
    return (
        f"{counted(len(customer_ids), 'customer has', 'customers have')} no locale in the file "
        f"({examples(customer_ids)}): those new to Tailor are written to in {default} "
        "(TAILOR_IMPORT_DEFAULT_LOCALE), those already stored keep theirs.",
    )


def unknown_country_warnings(countries: list[str]) -> tuple[str, ...]:
    """A `country` that names no country gives no zone, and was passed over in silence: the shop should know which
    customers are on which clock, and what to give instead."""
    if not countries:
        return ()
    named = pd.Series(countries).value_counts()
    listed = examples([f"'{country[:40]}' ({count})" for country, count in named.items()])
    return (
        f"{counted(len(countries), 'customer has', 'customers have')} a country that names no country, and no "
        f"timezone: {listed}. No zone is taken from it: those new to Tailor are on the shop's clock "
        "(TAILOR_SEND_TIMEZONE), those already stored keep theirs; give a timezone, or a country's code (IE) or "
        "English name (Ireland).",
    )


def needing_smtputf8(rows: pd.DataFrame) -> list[str]:
    """The customer ids of ``rows`` whose address has letters outside ASCII before the @ (ольга@пример.рф): unlike a
    domain in another script, which is sent in its ASCII form, such an address only a mail server offering SMTPUTF8
    takes. Ids, not addresses: a job's result, which holds the warning, goes to the webhook, where no erasure
    reaches it."""
    needing = [not email.rpartition("@")[0].isascii() for email in rows.email]
    return list(rows.customer_id[needing])


def smtputf8_warnings(customer_ids: list[str]) -> tuple[str, ...]:
    """Such addresses are kept (they are valid), but a relay without SMTPUTF8 cannot take them: the shop should
    know before a send skips their drafts."""
    if not customer_ids:
        return ()
    return (
        f"{counted(len(customer_ids), 'customer has', 'customers have')} an address with letters outside ASCII before "
        f"the @ ({examples(customer_ids)}): only a "
        "mail server that offers SMTPUTF8 takes it; through one that does not, their drafts are skipped at sending "
        "and flagged for review.",
    )
