"""An audience refresh over order lines stored before Tailor bounded amounts (service.bounds.AMOUNT_MAX): two lines
of 1.7e308 added up to infinity in a customer's spend, and every refresh failed with sklearn's "KMeans: Input X
contains NaN", naming no line. It is refused naming the lines, and the profiles stay as they were."""

from __future__ import annotations

from sqlalchemy import func, select

from service.db.models import AudienceSnapshot, Customer, Interaction
from service.db.session import session_scope
from tests.service.conftest import upload, wait_for_job


def _spend_past_the_bound(engine) -> tuple[str, list[str]]:
    """Give two purchase lines of one customer 1.7e308 each, as an import before the bound could store; the
    customer's id and the lines' order ids."""
    with session_scope(engine) as session:
        customer_pk, external_id = session.execute(
            select(Customer.id, Customer.external_id)
            .join(Interaction, Interaction.customer_id == Customer.id)
            .where(Interaction.kind == "purchase")
            .order_by(Customer.id)
            .limit(1)
        ).one()
        lines = session.scalars(
            select(Interaction)
            .where(Interaction.customer_id == customer_pk, Interaction.kind == "purchase")
            .order_by(Interaction.id)
            .limit(2)
        ).all()
        for line in lines:
            line.amount = 1.7e308
        return external_id, [line.order_id for line in lines]


def test_a_refresh_over_amounts_past_the_bound_is_refused_naming_the_lines(client, engine, demo_files):
    from service.pipeline.training import submit_audience_refresh

    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    with session_scope(engine) as session:
        snapshot_before = session.scalar(select(func.max(AudienceSnapshot.id)))
    customer, order_ids = _spend_past_the_bound(engine)
    state = client.app.state.tailor

    job = wait_for_job(client, submit_audience_refresh(state.jobs, engine))

    assert job["status"] == "failed", job
    assert "NaN" not in job["error"] and "KMeans" not in job["error"], job["error"]
    for order_id in order_ids:
        assert f"customer {customer}, order {order_id}" in job["error"], job["error"]
    assert "1,000,000,000,000" in job["error"], job["error"]
    with session_scope(engine) as session:  # the segments and profiles of the last refresh stay
        assert session.scalar(select(func.max(AudienceSnapshot.id))) == snapshot_before is not None

    # the remedy the error names: the orders imported again with their own numbers, and the refresh that follows
    assert upload(client, "orders", demo_files["orders"]).status_code == 200
    with session_scope(engine) as session:
        assert session.scalar(select(func.max(AudienceSnapshot.id))) > snapshot_before
