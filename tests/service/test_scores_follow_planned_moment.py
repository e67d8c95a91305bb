"""A draft's stored figures follow the moment its email is planned to go, as that moment moves after the draft was
written: the campaign scheduled or rescheduled, sent at each customer's best hour, a draft approved (given the
campaign's moment, or its customer's best hour) or taken back. The engagement model reads the send's hour and
weekday, and a draft rescheduled from Wednesday morning to Saturday night kept Wednesday's p_open: a marketing tool
reading it after the reschedule was told figures for a moment that no longer applied.

Each check compares the stored figures with what scoring the unchanged draft now gives (``score_again``, as an edit
or a refresh scores it: for the draft's planned moment, ``service.send_times.planned_send_moment``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.service.conftest import generated_campaign, trained_shop, wait_for_job
from tests.service.test_scores_at_send_moment import next_weekday_at, set_service_clock

pytestmark = pytest.mark.usefixtures("written_by_the_fake_model")


def _stored_and_planned(engine, campaign_id: int, models) -> tuple[dict, dict, dict]:
    """The campaign's drafts' stored p_open, p_click and p_conversion by (draft, variant); the same scored for each
    draft's planned moment now (nothing is written); and each draft's planned moment and status."""
    from sqlalchemy import select

    from service.db.models import Draft
    from service.db.session import session_scope
    from service.drafts import score_again
    from service.send_times import planned_send_moment

    def figures(drafts) -> dict:
        return {(d.id, v.label): (v.p_open, v.p_click, v.p_conversion) for d in drafts for v in d.variants}

    with session_scope(engine) as session:
        drafts = list(session.scalars(select(Draft).where(Draft.campaign_id == campaign_id).order_by(Draft.id)))
        stored = figures(drafts)
        moments = {
            d.id: (planned_send_moment(d.send_after, d.campaign.scheduled_at, d.created_at), d.status) for d in drafts
        }
        score_again(drafts, models)
        planned = figures(drafts)
        session.rollback()
    return stored, planned, moments


def _p_opens(figures: dict) -> dict:
    return {key: p_open for key, (p_open, *_) in figures.items()}


def test_a_rescheduled_campaign_s_drafts_are_scored_for_their_new_moment(client, demo_files, engine, monkeypatch):
    trained_shop(client, demo_files)
    models = client.app.state.tailor.models
    written = next_weekday_at(2, 9, datetime.now(UTC).replace(tzinfo=None))  # a Wednesday morning
    set_service_clock(monkeypatch, written)
    campaign_id = generated_campaign(client, max_customers=12)
    approved = client.post(f"/campaigns/{campaign_id}/drafts/approve", json={"reviewer": "ana"}).json()["approved"]
    at_writing, _, _ = _stored_and_planned(engine, campaign_id, models)

    for at in (written + timedelta(days=3, hours=14), written + timedelta(days=5, hours=2)):  # Saturday night, Monday
        send = client.post(f"/campaigns/{campaign_id}/send", params={"at": at.isoformat() + "Z"})
        assert wait_for_job(client, send.json()["job_id"])["status"] == "succeeded"
        stored, planned, moments = _stored_and_planned(engine, campaign_id, models)
        assert {moment for moment, _ in moments.values()} == {at}  # approved (send_after) and pending alike
        assert approved and {status for _, status in moments.values()} >= {"approved"}
        assert stored == planned
        assert _p_opens(stored) != _p_opens(at_writing)
    draft_id, label = next(iter(stored))
    shown = client.get(f"/drafts/{draft_id}").json()
    assert next(v["p_open"] for v in shown["variants"] if v["label"] == label) == stored[draft_id, label][0]
    assert datetime.fromisoformat(shown["scored_for"].replace("Z", "+00:00")).replace(tzinfo=None) == at
    print(f"p_open of draft {draft_id} {label}: written {at_writing[draft_id, label][0]:.4f}, "
          f"rescheduled {stored[draft_id, label][0]:.4f}")  # fmt: skip


def test_best_hours_approvals_and_reopening_move_the_figures_with_the_moment(client, demo_files, engine, monkeypatch):
    trained_shop(client, demo_files)
    models = client.app.state.tailor.models
    written = next_weekday_at(2, 9, datetime.now(UTC).replace(tzinfo=None))
    set_service_clock(monkeypatch, written)
    campaign_id = generated_campaign(client, max_customers=12)
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    first, *others = [d["id"] for d in drafts if d["status"] == "pending"]
    assert client.post(f"/drafts/{first}/approve", json={"reviewer": "ana"}).status_code == 200

    at = written + timedelta(days=3, hours=14)
    send = client.post(f"/campaigns/{campaign_id}/send", params={"at": at.isoformat() + "Z", "at_best_hour": True})
    assert wait_for_job(client, send.json()["job_id"])["status"] == "succeeded"
    stored, planned, moments = _stored_and_planned(engine, campaign_id, models)
    assert moments[first][0] != at and moments[first][1] == "approved"  # its customer's best hour, from then on
    assert stored == planned

    # approved once the scheduled moment passed: it goes at its customer's best hour from now on
    set_service_clock(monkeypatch, at + timedelta(hours=1))
    approved = client.post(f"/drafts/{others[0]}/approve", json={"reviewer": "ana"})
    assert approved.status_code == 200, approved.text
    stored, planned, moments = _stored_and_planned(engine, campaign_id, models)
    assert moments[others[0]][0] > at and stored == planned
    shown = {v["label"]: v["p_open"] for v in approved.json()["variants"]}
    assert shown == {label: p_open for (i, label), (p_open, *_) in stored.items() if i == others[0]}

    assert client.post(f"/campaigns/{campaign_id}/drafts/approve", json={"reviewer": "ana"}).status_code == 200
    stored, planned, moments = _stored_and_planned(engine, campaign_id, models)
    assert stored == planned

    reopened = client.post(f"/drafts/{first}/reopen", json={"reviewer": "ana", "comment": "one more look"})
    assert reopened.status_code == 200, reopened.text
    stored, planned, moments = _stored_and_planned(engine, campaign_id, models)
    assert moments[first][1] in ("pending", "flagged") and stored == planned


@pytest.mark.parametrize("look", ["choosing", "mailing"])
def test_a_draft_the_contact_policy_defers_is_scored_for_the_wait_s_end(
    client, demo_files, engine, mail_server, monkeypatch, look
):
    """Deferred as the send chooses its drafts, or at the policy's second look as its email goes (another server
    mailed the customer meanwhile): the second kept the figures of the moment it no longer went at."""
    from sqlalchemy import select

    from service.db.models import Draft, Send
    from service.db.session import session_scope
    from service.pipeline import sending

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    trained_shop(client, demo_files)
    models = client.app.state.tailor.models
    written = next_weekday_at(2, 9, datetime.now(UTC).replace(tzinfo=None))
    set_service_clock(monkeypatch, written)
    campaign_id = generated_campaign(client, max_customers=12)
    with session_scope(engine) as session:
        draft = session.scalars(
            select(Draft).where(Draft.campaign_id == campaign_id, Draft.status == "pending").order_by(Draft.id)
        ).first()
        draft_id, customer_id = draft.id, draft.customer_id
        if look == "choosing":
            session.add(Send(customer=draft.customer, subject="Earlier", campaign_type="vip", sent_at=written))
    assert client.post(f"/drafts/{draft_id}/approve", json={"reviewer": "ana"}).status_code == 200
    if look == "mailing":
        second_look = sending.defer_if_mailed_meanwhile

        def mailed_meanwhile(session, *args):
            session.add(Send(customer_id=customer_id, subject="Meanwhile", campaign_type="vip", sent_at=written))
            return second_look(session, *args)

        monkeypatch.setattr(sending, "defer_if_mailed_meanwhile", mailed_meanwhile)
    before, _, _ = _stored_and_planned(engine, campaign_id, models)

    send = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/send").json()["job_id"])
    assert send["status"] == "succeeded" and send["result"]["deferred"] == 1, send["result"]
    stored, planned, moments = _stored_and_planned(engine, campaign_id, models)
    assert moments[draft_id][0] > written + timedelta(days=1) and not messages  # to the wait's end, two days on
    assert moments[draft_id][1] == "approved"
    assert stored == planned
    assert _p_opens(stored) != _p_opens(before)
