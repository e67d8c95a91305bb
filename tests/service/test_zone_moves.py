"""A customers file that moves a customer to another zone moves their drafts waiting for a time of their day (a
best hour, a deferral) to that time of day on the new clock, in the import's transaction; drafts sent or being
sent, drafts due already, and drafts waiting for a campaign's scheduled moment (one moment for everyone) stay."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, update

from service import zone_moves
from service.campaigns import create_campaign
from service.db.models import Campaign, Customer, Draft
from service.db.session import session_scope
from service.errors import InvalidInput
from service.importing import import_file
from service.pipeline.contact_policy import current_deferral
from service.schemas import CampaignIn
from service.send_times import schedule_at_best_hours

HEADER = "customer_id,email,first_name,marketing_consent,timezone\n"
# 10 January 2027, 15:00 in New York (UTC-5), 21:00 in Berlin (UTC+1): 09:00 comes next on 11 January in both.
NOW = datetime(2027, 1, 10, 20, 0)
NINE_IN_NEW_YORK, NINE_IN_BERLIN = datetime(2027, 1, 11, 14, 0), datetime(2027, 1, 11, 8, 0)


def _import_customers(session, tmp_path, zone: str):
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + f"ny,ny@example.com,Ny,true,{zone}\nstay,stay@example.com,Stay,true,America/New_York\n")
    return import_file(session, "customers", path)


@pytest.fixture
def at_nine_in_new_york(engine, tmp_path) -> dict[str, int]:
    return _at_nine_in_new_york(engine, tmp_path)


def _at_nine_in_new_york(engine, tmp_path) -> dict[str, int]:
    """Two New Yorkers who open at 09:00 there (sends imported with their opens), each with a draft at their best
    hour, 09:00 New York on 11 January 2027; one of them also with a draft sent, one being sent, one deferred by the
    contact policy to that time of day, and one waiting for a campaign scheduled for a moment; the drafts' ids by
    what they are."""
    lines = ["send_id,customer_id,subject,campaign_type,sent_at,opened"]
    for day in range(10):  # November 2026: 09:00 in New York is 14:00 UTC
        date = f"2026-11-{2 + day:02d}"
        for name in ("ny", "stay"):
            lines += [f"{name}{day},{name},News,vip,{date}T14:00:00Z,true"]
            lines += [f"{name}{day}x,{name},News,vip,{date}T20:00:00Z,false"]
    (tmp_path / "sends.csv").write_text("\n".join(lines) + "\n")
    with session_scope(engine) as session:
        _import_customers(session, tmp_path, "America/New_York")
        import_file(session, "sends", tmp_path / "sends.csv")
    drafts: dict[str, int] = {}
    with session_scope(engine) as session:
        customers = {c.external_id: c for c in session.scalars(select(Customer))}
        campaign = create_campaign(session, CampaignIn(name="best", brand="hearth", campaign_type="vip"))
        best = {name: Draft(campaign=campaign, customer=customers[name], status="approved") for name in customers}
        session.add_all(best.values())
        session.flush()
        assert schedule_at_best_hours(session, campaign.id, now=NOW) == 2
        assert {name: draft.send_after for name, draft in best.items()} == {
            "ny": NINE_IN_NEW_YORK, "stay": NINE_IN_NEW_YORK,
        }  # fmt: skip
        brand = campaign.brand
        friday = datetime(2027, 1, 15, 10)
        scheduled = Campaign(name="friday", brand=brand, campaign_type="vip", scheduled_at=friday)

        def other(name: str) -> Campaign:
            return Campaign(name=name, brand=brand, campaign_type="vip")

        deferral = f"Deferred by the contact policy to {datetime(2027, 1, 13, 14):%Y-%m-%d %H:%M} UTC: mailed"
        ny = customers["ny"]
        more = {
            "sent": Draft(campaign=other("sent"), customer=ny, status="sent", send_after=NINE_IN_NEW_YORK),
            "sending": Draft(campaign=other("sending"), customer=ny, status="sending", send_after=NINE_IN_NEW_YORK),
            "deferred": Draft(campaign=other("deferred"), customer=ny, status="approved",
                              send_after=datetime(2027, 1, 13, 14), flag_reasons=[deferral]),
            "scheduled": Draft(campaign=scheduled, customer=ny, status="approved", send_after=friday),
        }  # fmt: skip
        session.add_all(more.values())
        session.flush()
        drafts = {"best": best["ny"].id, "stay": best["stay"].id, **{name: d.id for name, d in more.items()}}
    return drafts


def _moments(engine, drafts: dict[str, int]) -> dict[str, datetime | None]:
    with session_scope(engine) as session:
        return {name: session.get(Draft, draft_id).send_after for name, draft_id in drafts.items()}


def test_a_customer_who_moves_to_berlin_gets_the_email_at_nine_there(client, engine, at_nine_in_new_york):
    """Their best hour, 09:00 New York (14:00 UTC), is 15:00 in Berlin: after a file moved them there, the draft
    scheduled at best hours still went at 14:00 UTC. So did one the contact policy had deferred to 09:00 there."""
    moved = HEADER + "ny,ny@example.com,Ny,true,Europe/Berlin\nstay,stay@example.com,Stay,true,America/New_York\n"
    response = client.post("/imports/customers", files={"file": ("customers.csv", moved.encode(), "text/csv")})
    assert response.status_code == 200, response.text
    assert _moments(engine, at_nine_in_new_york) == {
        "best": NINE_IN_BERLIN,
        "stay": NINE_IN_NEW_YORK,  # the other New Yorker stayed
        "sent": NINE_IN_NEW_YORK,
        "sending": NINE_IN_NEW_YORK,
        "deferred": datetime(2027, 1, 13, 8),  # 09:00 in Berlin on the day it was deferred to
        "scheduled": datetime(2027, 1, 15, 10),  # the campaign's moment, everyone's
    }
    assert response.json()["drafts_moved"] == 2
    with session_scope(engine) as session:
        deferred = session.get(Draft, at_nine_in_new_york["deferred"])
        note = current_deferral(deferred.flag_reasons, deferred.status, deferred.send_after, "Europe/Berlin")
    assert note == "Deferred by the contact policy to 2027-01-13 09:00 Europe/Berlin: mailed"  # said at the new moment


def test_a_file_that_keeps_the_zone_moves_nothing(engine, tmp_path, at_nine_in_new_york):
    before = _moments(engine, at_nine_in_new_york)
    with session_scope(engine) as session:
        assert _import_customers(session, tmp_path, "america/new_york").drafts_moved == 0
    assert _moments(engine, at_nine_in_new_york) == before


def test_a_file_refused_after_its_first_chunk_was_written_moves_nothing(
    engine, tmp_path, monkeypatch, at_nine_in_new_york
):
    """The moves are the import's, in its transaction: a file written a row at a time and refused for its second
    row leaves the first row's zone and its customer's drafts as they were."""
    monkeypatch.setattr("service.importing.files.CHUNK_ROWS", 1)
    before = _moments(engine, at_nine_in_new_york)
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "ny,ny@example.com,Ny,true,Europe/Berlin\nbad,bad@example.com,Bad,true,Mars/Base\n")
    with pytest.raises(InvalidInput) as refused, session_scope(engine) as session:
        import_file(session, "customers", path)
    assert [(p.row, p.column) for p in refused.value.problems] == [(3, "timezone")]
    assert _moments(engine, at_nine_in_new_york) == before
    with session_scope(engine) as session:
        assert session.scalar(select(Customer.timezone).where(Customer.external_id == "ny")) == "America/New_York"


def test_the_moves_are_written_alike_on_postgres(any_engine, tmp_path):
    """Written by primary key, many drafts to a statement, with the condition that they are still approved."""
    drafts = _at_nine_in_new_york(any_engine, tmp_path)
    with session_scope(any_engine) as session:
        assert _import_customers(session, tmp_path, "Europe/Berlin").drafts_moved == 2
    moments = _moments(any_engine, drafts)
    assert (moments["best"], moments["deferred"], moments["sent"]) == (
        NINE_IN_BERLIN,
        datetime(2027, 1, 13, 8),
        NINE_IN_NEW_YORK,
    )


@pytest.mark.parametrize("any_engine", ["postgresql"], indirect=True)
def test_a_draft_a_send_claims_meanwhile_is_not_counted_as_moved(any_engine, tmp_path, monkeypatch):
    """A send that claims a waiting draft between the import's read of it and its move keeps the draft where it was
    (the move is conditioned on its status): the import's answer counted it among the drafts moved."""
    drafts = _at_nine_in_new_york(any_engine, tmp_path)
    real = zone_moves._on_new_clock

    def claimed_meanwhile(moment, old_zone, new_zone, now):
        with any_engine.begin() as sender:  # another connection: a send claims the best-hour draft and commits
            sender.execute(update(Draft).where(Draft.id == drafts["best"]).values(status="sending"))
        return real(moment, old_zone, new_zone, now)

    monkeypatch.setattr(zone_moves, "_on_new_clock", claimed_meanwhile)
    with session_scope(any_engine) as session:
        assert _import_customers(session, tmp_path, "Europe/Berlin").drafts_moved == 1
    assert _moments(any_engine, drafts)["best"] == NINE_IN_NEW_YORK
