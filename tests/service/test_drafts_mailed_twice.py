"""A draft mailed twice goes on one send, written over with its later email: the earlier email's Message-ID is kept
(EarlierMessageId), so that a bounce, complaint or any event naming it finds the send, its draft and its customer,
also once the customer was erased. Real SMTP on loopback; the events through the API, or ingested, on either
database."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import select, update

from service.clock import utcnow
from service.db.models import Customer, Draft, EarlierMessageId, Send
from service.db.session import session_scope
from service.errors import MailServerUnavailable
from tests.service.test_send_claims import due_campaign
from tests.service.test_send_transactions import _AnswerLostServer
from tests.service.test_sending import approved_draft, new_campaign, send_job, serving_smtp

LATER = timedelta(hours=2)  # how long after the first email a person approved the draft again


def test_a_bounce_of_the_first_email_of_a_draft_approved_again_after_its_answer_was_lost_finds_its_customer(
    client, engine, monkeypatch
):
    """The first email's answer was lost, a person approved the draft again two hours on and it went a second time:
    the send kept only the second's Message-ID, and the first's bounce was refused as naming no send ("unknown
    message_id"), its address mailed on."""
    lost = _AnswerLostServer(accept=0)
    with serving_smtp(lost, monkeypatch):
        campaign_id = new_campaign(client)
        draft_id = approved_draft(client, engine, campaign_id, external_id="c1")
        assert send_job(client, campaign_id)["status"] == "failed"
    first_id = lost.messages["c1@example.com"]["Message-ID"]
    first_sent = utcnow() - LATER
    with session_scope(engine) as session:
        session.execute(update(Send).values(sent_at=first_sent))
    assert client.post(f"/drafts/{draft_id}/approve", json={"comment": "they did not get it"}).status_code == 200
    taken = _AnswerLostServer(accept=99)
    with serving_smtp(taken, monkeypatch):
        assert send_job(client, campaign_id)["status"] == "succeeded"
    second_id = taken.messages["c1@example.com"]["Message-ID"]
    assert second_id != first_id
    with session_scope(engine) as session:
        (send_id,) = session.scalars(select(Send.id)).all()

    bounce = {
        "message_id": first_id.strip().strip("<>"),
        "kind": "bounce",
        "occurred_at": f"{first_sent + timedelta(minutes=1)}",
    }
    opened = {"send_id": send_id, "message_id": first_id, "kind": "open", "occurred_at": f"{first_sent}"}
    response = client.post("/events", json={"events": [bounce, opened]})
    assert response.status_code == 200, response.text
    assert response.json()["recorded"] == 2
    with session_scope(engine) as session:
        assert session.scalar(select(Customer).where(Customer.external_id == "c1")).email_bounced
        kinds = [event.kind for event in session.get(Send, send_id).events]
        assert sorted(kinds) == ["bounce", "delivered", "open"]
    (shown,) = client.get("/customers/c1/sends").json()  # a reply's In-Reply-To is found there too
    assert (shown["message_id"], shown["earlier_message_ids"]) == (second_id.strip(), [first_id.strip()])
    (held,) = client.get("/customers/c1/export").json()["sends"]
    assert held["earlier_message_ids"] == [first_id.strip()]
    wrong = client.post("/events", json={"events": [{"message_id": "<never@example.com>", "kind": "bounce"}]})
    assert wrong.status_code == 422 and "unknown message_id" in wrong.text


@pytest.mark.parametrize("erased", [False, True], ids=["kept", "erased"])
def test_a_complaint_of_a_draft_s_earlier_email_stops_its_address_on_either_database(
    any_engine, mail_server, monkeypatch, erased
):
    """The customer mailed twice complains of the first email: they are unsubscribed, and so is whoever shares the
    address; once the customer was erased, the complaint is skipped as erased (not refused, losing the batch) and
    still stops the address."""
    from service.customers import erase_customer
    from service.drafts import approve
    from service.events import ERASED_STOPPED, ingest_events
    from service.pipeline.sending import send_campaign
    from service.schemas import EventIn

    (draft_id,) = due_campaign(any_engine, 1)
    with session_scope(any_engine) as session:
        campaign_id = session.get(Draft, draft_id).campaign_id
        session.add(Customer(external_id="c0-partner", email="c0@example.com", marketing_consent=True))
    lost = _AnswerLostServer(accept=0)
    with serving_smtp(lost, monkeypatch), pytest.raises(MailServerUnavailable):
        send_campaign(lambda *_: None, any_engine, campaign_id)
    with session_scope(any_engine) as session:
        approve(session, draft_id, None, "Ola", "the customer did not get it")
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    assert send_campaign(lambda *_: None, any_engine, campaign_id)["sent"] == 1
    first_id = lost.messages["c0@example.com"]["Message-ID"]
    assert [message["Message-ID"] for message in messages] != [first_id]
    if erased:
        with session_scope(any_engine) as session:
            erase_customer(session, "c0")

    with session_scope(any_engine) as session:
        counts = ingest_events(session, [EventIn(message_id=first_id, kind="complaint")])
    with session_scope(any_engine) as session:
        stopped = dict(session.execute(select(Customer.external_id, Customer.unsubscribed)).all())
    if erased:
        assert counts["recorded"] == 0
        assert counts["skipped"] == [{"index": 0, "message_id": first_id, "reason": ERASED_STOPPED}]
        assert stopped == {"c0-partner": True}
    else:
        assert counts["recorded"] == 1
        assert stopped == {"c0": True, "c0-partner": True}


class _LostThenRefusingTheEmail(_AnswerLostServer):
    """Loses the answer to the first email, as _AnswerLostServer does; while ``refusing``, refuses each email for its
    content (keeping it in ``refused``), as a filter does once it has read it."""

    refusing = False

    def __init__(self, accept: int) -> None:
        super().__init__(accept)
        self.refused = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        if self.refusing:
            self.refused.append(message_from_bytes(envelope.content, policy=default))
            return "554 5.6.0 Message content rejected"
        return await super().handle_DATA(server, session, envelope)


def test_a_second_email_the_server_refused_leaves_the_send_naming_the_first(client, engine, monkeypatch):
    """A draft approved again after its first email's answer was lost went on that email's send, written over with
    the second: the server refusing the second left the send showing the Message-ID (and time) of an email that never
    went, the first's moved to ``earlier_message_ids`` as if another had come after it; mailed a third time, the
    refused one was kept among the emails the customer had."""
    relay = _LostThenRefusingTheEmail(accept=0)
    with serving_smtp(relay, monkeypatch):
        campaign_id = new_campaign(client)
        draft_id = approved_draft(client, engine, campaign_id, external_id="c1")
        assert send_job(client, campaign_id)["status"] == "failed"
        first_id = relay.messages.pop("c1@example.com")["Message-ID"].strip()
        (first_shown,) = client.get("/customers/c1/sends").json()
        relay.refusing = True
        assert client.post(f"/drafts/{draft_id}/approve", json={"comment": "they did not get it"}).status_code == 200
        result = send_job(client, campaign_id)["result"]
        assert result["sent"] == 0 and [r["draft_id"] for r in result["refused"]] == [draft_id], result
        (refused,) = relay.refused
        refused_id = refused["Message-ID"].strip()
        assert refused_id != first_id

        (shown,) = client.get("/customers/c1/sends").json()
        assert (shown["message_id"], shown["earlier_message_ids"]) == (first_id, [])
        assert shown == first_shown
        with session_scope(engine) as session:
            assert session.scalars(select(EarlierMessageId.message_id)).all() == []

        relay.refusing, relay.accept = False, 99
        assert client.post(f"/drafts/{draft_id}/approve", json={"comment": "content fixed"}).status_code == 200
        assert send_job(client, campaign_id)["result"]["sent"] == 1
    third_id = relay.messages["c1@example.com"]["Message-ID"].strip()
    (shown,) = client.get("/customers/c1/sends").json()
    assert (shown["message_id"], shown["earlier_message_ids"]) == (third_id, [first_id])
    with session_scope(engine) as session:
        assert session.scalar(select(Send.id).where(Send.message_id == refused_id)) is None
