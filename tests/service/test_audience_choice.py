"""Choosing a campaign's audience from the profile columns: the same customers, order, reasons and offers as
reading every customer's JSON profile, on SQLite and PostgreSQL; customers who may not be mailed are left
unread, and a profile is parsed only for a query that names a field no column holds."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from sqlalchemy import and_, create_engine, func, not_, select
from sqlalchemy.orm import Session

from audience.campaigns import campaign_types, select_audience, with_reasons
from audience.errors import QueryError
from audience.query import evaluate, query_fields
from service.audiences import choose_today, preview_audience
from service.db.models import PROFILE_COLUMNS, Customer, profile_columns
from service.db.session import make_engine, session_scope
from service.errors import InvalidInput
from service.importing import import_frame, read_table
from service.pipeline import frames
from service.pipeline.generate import choose_audience, reminder_audience
from service.pipeline.training import refresh_audience
from service.settings import CampaignSettings
from tests.service.conftest import new_migrated_postgres_database

QUERIES = [
    None,
    "churn_risk > 0.5",
    "segment in (at_risk, cant_lose, hibernating) and clv > 1",
    "Frequency >= 2 and locale == en",  # any case; a customer detail beside the profile fields
    "cluster >= 1 or p_alive < 0.3",
    "next_purchase_date <= 2031-01-01",
    "next_purchase_date < foo",  # compared as the ISO text the JSON profile holds
    "recency_days > 60 and monetary > 20",
    "r_score >= 3 or as_of != 2000-01-01",  # fields only the JSON profile holds
    "shoe_size > 40",  # unknown: named with every known field
    "cluster_label == nonsense",  # not a label of the shop's
]
SHOWN = ["customer_id", "first_name", "locale", "rfm_segment", "churn_risk", "clv", "reason", "offer"]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request, demo_files, tmp_path_factory, migrated_database):
    """The demo slice imported and profiled, with ten of its profiled customers made unmailable: unsubscribed,
    without consent or without an address. Its database starts as a copy of one migrated once."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("shop") / "tailor.db"
        shutil.copyfile(migrated_database, path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = new_migrated_postgres_database(request.getfixturevalue("postgres_url"), "audience")
    for kind in ("customers", "products", "orders"):
        with session_scope(engine) as session:
            import_frame(session, kind, read_table(demo_files[kind]))
    refresh_audience(engine)
    with session_scope(engine) as session:
        profiled = session.scalars(select(Customer).where(Customer.segment.is_not(None)).order_by(Customer.id))
        for n, customer in enumerate(list(profiled)[:10]):
            customer.unsubscribed, customer.marketing_consent = n % 3 == 0, n % 3 != 1
            customer.email = "" if n % 3 == 2 else customer.email
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def every_profile(shop) -> pd.DataFrame:
    """The shop's profiles as ``_every_profile`` reads them, read once for the module (the tests read the shop and
    write nothing); each use takes a copy."""
    with session_scope(shop) as session:
        return _every_profile(session)


def _from_every_profile(
    profiles: pd.DataFrame, reminded: set[str] | None, campaign_type: str, query: str | None, as_of
) -> pd.DataFrame:
    """The audience as it was chosen before the profile columns, from ``profiles`` (``_every_profile``) and the
    customers a re-order reminder may reach (``_reminded``)."""
    chosen = select_audience(profiles, campaign_type, as_of)
    if query:
        chosen = chosen[evaluate(query, profiles).reindex(chosen.index).to_numpy()]
    if reminded is not None:  # a re-order reminder: who bought what it shows
        chosen = chosen[chosen.index.isin(list(reminded))]
    return with_reasons(chosen, campaign_type, as_of).reset_index()


def _every_profile(session: Session) -> pd.DataFrame:
    """Every customer read with their JSON profile, those who may not be mailed dropped afterwards, as an audience
    was chosen before the profile columns."""
    fields = ["email", "first_name", "locale", "marketing_consent", "unsubscribed", "segment"]
    statement = select(Customer.external_id, *(getattr(Customer, f) for f in fields), Customer.profile)
    rows = session.execute(statement.order_by(Customer.id))  # SQLite's order then; PostgreSQL's was arbitrary
    customers = pd.DataFrame([tuple(row) for row in rows], columns=["customer_id", *fields, "profile"])
    eligible = customers[customers.marketing_consent & ~customers.unsubscribed & (customers.email != "")]
    profiles = pd.DataFrame(
        [{**(p or {}), "customer_id": c} for c, p in zip(eligible.customer_id, eligible.profile, strict=True)]
    )
    profiles = profiles.merge(eligible.drop(columns=["profile"]), on="customer_id", how="left", suffixes=("", "_db"))
    profiles["segment"] = profiles["rfm_segment"] if "rfm_segment" in profiles else profiles["segment"]
    return profiles.set_index("customer_id")


def _reminded(session: Session, campaign_type: str) -> set[str] | None:
    return reminder_audience(session, campaign_type, CampaignSettings().reorder_min_share)[1]


def _shown(choose, *args) -> list[dict] | str:
    """What a preview shows of every customer ``choose(*args)`` chooses, or the message of the error it answers
    with."""
    try:
        chosen = choose(*args).reindex(columns=SHOWN)
    except QueryError as error:
        return str(error)
    except InvalidInput as error:
        return error.problems[0].message
    return chosen.astype(object).where(chosen.notna(), None).to_dict("records")


def _chosen_today(session: Session, campaign_type: str, query: str | None, as_of) -> pd.DataFrame:
    return with_reasons(choose_today(session, campaign_type, query, as_of), campaign_type, as_of)


@pytest.mark.parametrize("campaign_type", campaign_types())
def test_the_same_customers_are_chosen_as_from_every_profile(shop, every_profile, campaign_type):
    reached = 0
    with session_scope(shop) as session:
        as_of = frames.audience_as_of(session)
        reminded = _reminded(session, campaign_type)  # the shop is read-only here: the same for every query
        for query in QUERIES:
            expected = _shown(_from_every_profile, every_profile.copy(), reminded, campaign_type, query, as_of)
            chosen = _shown(_chosen_today, session, campaign_type, query, as_of)
            assert chosen == expected, query
            if isinstance(expected, list):
                reached += len(expected)
                fields = query_fields(query) if query else ()
                profiles = frames.mailable_profiles(session, fields)
                first = choose_audience(profiles, campaign_type, query, 3, as_of, reminded)
                assert first.customer_id.tolist() == [row["customer_id"] for row in expected[:3]], query
    assert reached > 0


def test_customers_who_may_not_be_mailed_are_not_read(shop):
    """Only a query over a field that no column holds parses profiles, and then the mailable customers' only."""
    parsed = []
    counting = create_engine(shop.url, json_deserializer=lambda text: parsed.append(text) or json.loads(text))
    with Session(counting) as session:
        mailable = session.scalar(select(func.count(Customer.id)).where(*frames.MAILABLE))
        assert 0 < mailable < session.scalar(select(func.count(Customer.id)))
        unmailable = set(session.scalars(select(Customer.external_id).where(not_(and_(*frames.MAILABLE)))))
        assert unmailable and not unmailable & set(frames.mailable_profiles(session).index)
        assert preview_audience(session, "win_back", "churn_risk > 0.5 and cluster >= 0", 5)["sample"]
        assert preview_audience(session, "replenishment", "next_purchase_date <= 2031-01-01", 5)["sample"]
        assert parsed == []
        assert preview_audience(session, "win_back", "r_score >= 1", 5)["sample"]
        assert len(parsed) == mailable
    counting.dispose()


def test_the_refresh_writes_the_profile_fields_to_their_columns(shop):
    with session_scope(shop) as session:
        customers = session.scalars(select(Customer)).all()
        assert all({f: getattr(c, f) for f in PROFILE_COLUMNS} == profile_columns(c.profile) for c in customers)
        assert all(sum(getattr(c, f) is not None for c in customers) for f in PROFILE_COLUMNS)


def test_a_shop_without_profiles_names_the_fields_it_has(engine):
    """Before any audience refresh the columns are empty, and a query is checked against the profiles, as before
    the columns: `clv` is not a field yet."""
    with session_scope(engine) as session:
        session.add(Customer(external_id="c1", email="c1@shop.example", marketing_consent=True))
    with (
        session_scope(engine) as session,
        pytest.raises(InvalidInput, match="unknown field 'clv'; known fields: email"),
    ):
        choose_today(session, "vip", "clv > 5")


def test_a_query_can_name_a_customer_attribute(engine):
    """`country = Germany` once failed with "unknown field 'country'" though the import kept the column."""
    from audience.query import filter_profiles
    from tests.service.test_importing import CUSTOMERS

    customers = CUSTOMERS.assign(marketing_consent="true", country=["Germany", "Poland"])
    with session_scope(engine) as session:
        import_frame(session, "customers", customers)
    with session_scope(engine) as session:
        for query in ("country = Germany", "attributes.country == Germany and tier = gold"):
            profiles = frames.mailable_profiles(session, query_fields(query))
            assert filter_profiles(profiles, query).index.tolist() == ["c1"], query
        with pytest.raises(InvalidInput, match="known fields: .*; customer attributes: attributes.country, attr"):
            choose_today(session, "vip", "shoe_size > 40")


def test_the_mailable_customers_are_those_who_may_be_mailed_one_by_one(engine):
    """An audience reads MAILABLE in SQL; a send and the review page ask each customer (Customer.mailable). A customer
    whose old address bounced and who gave a new one may be mailed again: the two must agree on them too."""
    customers = [
        Customer(external_id="ok", email="ok@example.com", marketing_consent=True),
        Customer(external_id="new-address", email="new@example.com", marketing_consent=True,
                 bounced_email="old@example.com"),
        Customer(external_id="bounced", email="b@example.com", marketing_consent=True, bounced_email="b@example.com"),
        Customer(external_id="unsubscribed", email="u@example.com", marketing_consent=True, unsubscribed=True),
        Customer(external_id="no-consent", email="n@example.com", marketing_consent=False),
        Customer(external_id="no-address", email="", marketing_consent=True),
    ]  # fmt: skip
    with session_scope(engine) as session:
        session.add_all(customers)
    with session_scope(engine) as session:
        chosen = set(frames.mailable_profiles(session).index)
        one_by_one = {c.external_id for c in session.scalars(select(Customer)) if c.mailable}
    assert chosen == one_by_one == {"ok", "new-address"}
