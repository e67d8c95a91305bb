"""The largest tables (order lines) are read into frames a part at a time: the same frame as one read, with
the same dtypes, even when a part's values are all missing, and an empty table gives an empty typed frame."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import update

from service.db.models import Customer, Interaction
from service.db.session import session_scope
from service.importing import import_file
from service.pipeline import frames

READERS = [frames.interactions_frame, frames.orders_frame]


@pytest.mark.parametrize("reader", READERS, ids=lambda reader: reader.__name__)
def test_read_in_parts_it_is_the_frame_read_at_once(engine, demo_files, monkeypatch, reader):
    with session_scope(engine) as session:
        for kind in ("customers", "products", "orders"):
            import_file(session, kind, demo_files[kind])
        session.execute(update(Interaction).where(Interaction.id > 20).values(discount=None))  # a part of None
    monkeypatch.setattr(frames, "READ_ROWS", 10_000_000)
    with session_scope(engine) as session:
        whole = reader(session)
    monkeypatch.setattr(frames, "READ_ROWS", 7)
    with session_scope(engine) as session:
        parts = reader(session)
    assert len(whole) > 1000
    pd.testing.assert_frame_equal(parts, whole, check_exact=True)


@pytest.mark.parametrize("reader", READERS, ids=lambda reader: reader.__name__)
def test_an_empty_table_gives_an_empty_frame_of_the_same_dtypes(engine, demo_files, reader):
    with session_scope(engine) as session:
        empty = reader(session)
        for kind in ("customers", "products", "orders"):
            import_file(session, kind, demo_files[kind])
    with session_scope(engine) as session:
        full = reader(session)
    assert empty.empty and list(empty.columns) == list(full.columns)
    assert empty.dtypes.to_dict() == full.dtypes.to_dict()


def test_frames_see_what_the_session_has_not_yet_flushed(engine):
    """Frames are read through Core for speed; like an ORM query they include the session's pending rows,
    except inside ``no_autoflush``, where an ORM query would not see them either."""
    from service.db.models import Product

    with session_scope(engine) as session:
        session.add(Product(sku="P-PENDING", name="Pending", price=9.5))
        with session.no_autoflush:
            assert frames.products_frame(session).empty
        assert frames.products_frame(session)["product_id"].tolist() == ["P-PENDING"]


def test_the_mailable_profiles_read_in_parts_are_those_read_at_once(engine, demo_files, monkeypatch):
    """The profiles a campaign chooses its audience from are read a part at a time too, with the same dtypes when
    a part's values are all missing."""
    with session_scope(engine) as session:
        for kind in ("customers", "products", "orders"):
            import_file(session, kind, demo_files[kind])
        # A profile's columns as the audience refresh writes them, missing past the first part.
        session.execute(
            update(Customer).where(Customer.id <= 5).values(churn_risk=0.25, next_purchase_date=date(2026, 1, 2))
        )
    monkeypatch.setattr(frames, "READ_ROWS", 10_000_000)
    with session_scope(engine) as session:
        whole = frames.mailable_profiles(session)
    monkeypatch.setattr(frames, "READ_ROWS", 7)
    with session_scope(engine) as session:
        parts = frames.mailable_profiles(session)
    assert len(whole) > 100 and whole["churn_risk"].notna().any() and whole["churn_risk"].dtype == float
    pd.testing.assert_frame_equal(parts, whole, check_exact=True)


def test_no_mailable_customer_gives_an_empty_frame_of_untyped_columns(engine):
    """As when the rows were read at once: an empty read made float columns of the addresses and names."""
    with session_scope(engine) as session:
        empty = frames.mailable_profiles(session)
    assert empty.empty and "email" in empty.columns and all(str(dtype) == "object" for dtype in empty.dtypes)
