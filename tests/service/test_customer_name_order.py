"""The review list's order by customer ("customer, A to Z") sorts names of every alphabet alike on SQLite and on
PostgreSQL, whatever the database's locale: by a key stored with each customer (service.db.name_keys), their shown
name case folded and without accents, compared byte by byte. Folded in SQL per row, "Émile" sorted after "Zoë" on
SQLite and among the E's on a PostgreSQL of a UTF-8 locale, and apart from "émile" on one of character type C."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from sqlalchemy import select, text

from service.db.session import make_engine, session_scope

# Each customer's first name and id, in the order they were written (so their drafts' ids are in this order too).
WRITTEN = [
    ("Émile", "k00"), ("ольга", "k01"), ("Zoë", "k02"), ("ångström", "k03"), ("emma", "k04"), ("Ольга", "k05"),
    ("STRASSE", "k06"), ("émile", "k07"), ("Ångström", "k08"), ("Anna", "k09"), ("", "Ève-10"), ("straße", "k11"),
    ("Олег", "k12"), ("Zoe", "k13"),
]  # fmt: skip
# Their names as the list shows them (the first name, else the id), A to Z: case and accents aside, ties by draft id.
A_TO_Z = [
    "ångström", "Ångström", "Anna", "Émile", "émile", "emma", "Ève-10", "STRASSE", "straße", "Zoë", "Zoe", "Олег",
    "ольга", "Ольга",
]  # fmt: skip


def _campaign_of_names(session) -> int:
    """A campaign with a pending draft for each of ``WRITTEN``, written in its order; its id."""
    from service.db.models import Brand, Campaign, Customer, Draft

    campaign = Campaign(name="Names", brand=Brand(slug="hearth", name="Hearth"), campaign_type="vip")
    for first_name, external_id in WRITTEN:
        customer = Customer(external_id=external_id, email=f"{external_id}@example.com", first_name=first_name)
        session.add(Draft(campaign=campaign, customer=customer, status="pending"))
        session.flush()
    return campaign.id


def _shown(drafts) -> list[str]:
    return [draft.customer.first_name or draft.customer.external_id for draft in drafts]


def _assert_sorted_a_to_z(engine) -> None:
    """The list by customer, its pages, and "next to review" from each of its drafts, in ``A_TO_Z``'s order."""
    from service.db.models import Draft
    from service.drafts import list_drafts, next_to_review

    with session_scope(engine) as session:
        campaign_id = _campaign_of_names(session)
    with session_scope(engine) as session:
        listed = list_drafts(session, campaign_id, sort="customer")
        assert _shown(listed) == A_TO_Z
        paged = [d for offset in range(0, len(WRITTEN), 4)
                 for d in list_drafts(session, campaign_id, sort="customer", limit=4, offset=offset)]  # fmt: skip
        assert _shown(paged) == A_TO_Z
        in_order = [draft.id for draft in listed]
        walked = [next_to_review(session, session.get(Draft, i), "customer", per_page=4) for i in in_order]
        assert [found.draft_id for found in walked] == [*in_order[1:], in_order[0]]
        assert [found.page for found in walked] == [in_order.index(found.draft_id) // 4 + 1 for found in walked]


def test_the_customer_order_folds_case_and_accents_of_every_alphabet_on_either_database(any_engine):
    _assert_sorted_a_to_z(any_engine)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "locale",
    ["LC_CTYPE 'C' LC_COLLATE 'C'", "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LC_CTYPE 'C.UTF-8' LC_COLLATE 'C.UTF-8'"],
    ids=["ctype_c", "icu_en_us"],
)
def test_a_postgres_database_of_any_locale_sorts_customers_as_sqlite_does(postgres_url, locale):
    """A database of character type C lowered ASCII letters only ("Émile" apart from "émile"); one whose collation is
    a language's sorted by its rules ("ångström" before "Anna"). Either sorts as SQLite and any other database do."""
    from service.db.migrate import upgrade

    name = f"names_{uuid.uuid4().hex[:12]}"
    server = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE template0 {locale}"))
    server.dispose()
    engine = make_engine(f"{postgres_url.rsplit('/', 1)[0]}/{name}")
    upgrade(engine)
    _assert_sorted_a_to_z(engine)
    engine.dispose()


def test_a_customers_file_writes_the_key_of_each_name_and_a_later_file_rewrites_it(any_engine):
    """The import's own writes (inserts, and updates that pass the model by) keep each customer's key with their
    name: a later file that renames a customer, or gives them no first name, moves their draft in the order."""
    from service.db.models import Customer, Draft
    from service.drafts import list_drafts
    from service.importing import import_frame

    def customers_file(names: list[str]) -> pd.DataFrame:
        ids = [f"f{i}" for i in range(len(names))]
        emails = [f"{external_id}@example.com" for external_id in ids]
        return pd.DataFrame({"customer_id": ids, "email": emails, "first_name": names, "marketing_consent": "true"})

    with session_scope(any_engine) as session:
        import_frame(session, "customers", customers_file(["Ölaf", "bea", "Ada"]))
    with session_scope(any_engine) as session:
        keys = dict(session.execute(select(Customer.external_id, Customer.name_key)).all())
        assert keys == {"f0": "olaf", "f1": "bea", "f2": "ada"}
        campaign_id = _campaign_of_names(session)
        for customer in session.scalars(select(Customer).where(Customer.external_id.like("f%")).order_by(Customer.id)):
            session.add(Draft(campaign_id=campaign_id, customer=customer, status="pending"))
    with session_scope(any_engine) as session:
        import_frame(session, "customers", customers_file(["Ölaf", "Zoë", ""]))  # f1 renamed, f2's name gone
    with session_scope(any_engine) as session:
        keys = dict(session.execute(select(Customer.external_id, Customer.name_key)).all())
        assert (keys["f0"], keys["f1"], keys["f2"]) == ("olaf", "zoe", "f2")
        shown = _shown(list_drafts(session, campaign_id, sort="customer"))
    assert shown == [*A_TO_Z[:7], "f2", "Ölaf", *A_TO_Z[7:11], "Zoë", *A_TO_Z[11:]]


def test_a_customer_written_through_the_models_gets_the_key_of_the_name_shown(engine):
    """The model keeps the key with each write of the first name or the id (as it keeps ``email_key``); a bulk
    insert that leaves it out gets it too."""
    from sqlalchemy import insert

    from service.db.models import Customer

    with session_scope(engine) as session:
        ada = Customer(external_id="C1", email="ada@example.com")
        session.add(ada)
        session.flush()
        assert ada.name_key == "c1"
        ada.first_name = "ÁDA"
        session.flush()
        assert session.scalar(select(Customer.name_key).where(Customer.id == ada.id)) == "ada"
        ada.first_name = ""
        session.flush()
        assert session.scalar(select(Customer.name_key).where(Customer.id == ada.id)) == "c1"
        bulk = [{"external_id": "Bß", "email": "b@example.com"},
                {"external_id": "C3", "email": "c@example.com", "first_name": "Ёлка"}]  # fmt: skip
        session.execute(insert(Customer), bulk)
        keys = dict(session.execute(select(Customer.external_id, Customer.name_key)).all())
        assert keys == {"C1": "c1", "Bß": "bss", "C3": "елка"}
