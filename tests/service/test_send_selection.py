"""A send tells the drafts whose customer may not be mailed now (unsubscribed, no consent, an address that bounced or
none) by asking the database, as an audience is chosen (service.pipeline.frames.MAILABLE), not by loading each
customer: at 100,000 approved drafts, loading them (their profiles and attributes parsed) took 6.1 s of the 10.5 s
before the first email went (0.4 s now, profiled)."""

from __future__ import annotations

from sqlalchemy import event, insert, select

from service.db.models import Customer, Draft
from service.db.session import session_scope
from service.pipeline.due_drafts import unmailable_drafts
from tests.service.test_experiments import pending_campaign


def test_the_drafts_of_customers_who_may_not_be_mailed_are_told_without_loading_a_customer(client, engine):
    campaign_id, _ = pending_campaign(client, engine, 1, "ok")
    why_not = {
        "unsubscribed": {"unsubscribed": True},
        "no consent": {"marketing_consent": False},
        "bounced": {"bounced_email": "bounced@example.com"},
        "bounced before": {"bounced_email": "Old@example.com"},  # an earlier address: this one may be mailed
        "no address": {"email": "", "email_key": ""},
    }
    with session_scope(engine) as session:
        rows = [
            {"external_id": name, "email": "bounced@example.com" if name == "bounced" else f"{i}@example.com",
             "marketing_consent": True, **columns}
            for i, (name, columns) in enumerate(why_not.items())
        ]  # fmt: skip
        session.execute(insert(Customer), rows)
        by_name = dict(session.execute(select(Customer.external_id, Customer.id)).all())
        drafts = [Draft(campaign_id=campaign_id, customer_id=by_name[name], status="approved") for name in why_not]
        session.add_all(drafts)
        session.flush()
        draft_of = {name: draft.id for name, draft in zip(why_not, drafts, strict=True)}
        mailable_id = session.scalar(select(Draft.id).where(Draft.customer_id == by_name["ok000"]))
    loaded: list[int] = []

    def count(customer: Customer, _context) -> None:
        loaded.append(customer.id)

    event.listen(Customer, "load", count)
    try:
        with session_scope(engine) as session:
            unmailable = unmailable_drafts(session, [mailable_id, *draft_of.values()])
    finally:
        event.remove(Customer, "load", count)
    assert unmailable == {draft_of[name] for name in why_not if name != "bounced before"}
    assert loaded == []
