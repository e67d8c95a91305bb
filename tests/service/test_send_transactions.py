"""What the database holds while a real SMTP server on loopback takes an email, and after it lost its answer: a send
holds no write lock over the mail server's time, and every email that may have gone keeps the send its link names."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from email import message_from_bytes
from email.policy import default

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.db.models import Customer, Draft, Event, Send, Variant
from service.db.session import session_scope
from tests.service.conftest import ended_job
from tests.service.test_sending import FOOTER, approved_draft, new_campaign, send_job, serving_smtp

PUBLIC_URL = "https://mail.shop.example"


class _HoldingServer:
    """A mail server that holds the emails to ``held`` until the test lets them go, as a slow relay takes its time."""

    def __init__(self, held: set[str]) -> None:
        self.held, self.taking, self.go, self.messages = held, threading.Event(), threading.Event(), {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        to = envelope.rcpt_tos[0]
        self.messages[to] = message_from_bytes(envelope.content, policy=default)
        if to in self.held:
            self.taking.set()
            await asyncio.get_running_loop().run_in_executor(None, self.go.wait, 60)
        return "250 OK"


class _AnswerLostServer:
    """A mail server that takes ``accept`` emails, then takes one more and drops the connection before it answers."""

    def __init__(self, accept: int) -> None:
        self.accept, self.messages = accept, {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        self.messages[envelope.rcpt_tos[0]] = message_from_bytes(envelope.content, policy=default)
        if len(self.messages) > self.accept:
            server.transport.close()
        return "250 OK"


def unsubscribe_path(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(rf"Unsubscribe: {re.escape(PUBLIC_URL)}(/unsubscribe/\S+)", text).group(1)


def pending_draft(engine, campaign_id: int, external_id: str) -> int:
    with session_scope(engine) as session:
        customer = Customer(external_id=external_id, email=f"{external_id}@example.com", marketing_consent=True)
        variant = Variant(label="A", subject="Hello", html=f"<p>Hi</p><p>{FOOTER}</p>", text=f"Hi\n--\n{FOOTER}\n")
        draft = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant])
        session.add(draft)
        session.flush()
        draft.selected_variant_id = variant.id
        return draft.id


def test_a_copywriter_approves_and_a_recipient_unsubscribes_while_the_mail_server_takes_an_email(
    client, engine, monkeypatch
):
    """On SQLite the send held the database's one write lock while the mail server took each email: an approval in
    the review page, or a recipient's click on an unsubscribe link, waited for it and, past the busy timeout (10 s)
    of a slow relay, failed."""
    monkeypatch.setenv("TAILOR_PUBLIC_URL", f"{PUBLIC_URL}/")
    relay = _HoldingServer(held={"c2@example.com"})
    with serving_smtp(relay, monkeypatch):
        earlier = new_campaign(client)
        approved_draft(client, engine, earlier, external_id="c1")
        assert send_job(client, earlier)["result"]["sent"] == 1
        campaign_id = new_campaign(client)
        approved_draft(client, engine, campaign_id, external_id="c2")
        waiting = pending_draft(engine, new_campaign(client), external_id="c3")

        job_id = client.post(f"/campaigns/{campaign_id}/send").json()["job_id"]
        assert relay.taking.wait(60), "the mail server never got c2's email"
        try:
            approval = client.post(f"/drafts/{waiting}/approve", json={})
            recipient = TestClient(client.app)  # the recipient has no API key
            unsubscribed = recipient.post(unsubscribe_path(relay.messages["c1@example.com"]))
        finally:
            relay.go.set()
        job = ended_job(client, job_id)

    assert approval.status_code == 200, approval.text
    assert unsubscribed.status_code == 200 and "You are unsubscribed" in unsubscribed.text
    assert job["status"] == "succeeded" and job["result"]["sent"] == 1, job["error"]
    assert client.get("/customers/c1").json()["unsubscribed"] is True
    with session_scope(engine) as session:
        assert session.get(Draft, waiting).status == "approved"
        sent = session.scalar(select(Draft).where(Draft.campaign_id == campaign_id))
        assert sent.status == "sent" and [event.kind for event in sent.send.events] == ["delivered"]


def test_an_email_whose_answer_was_lost_keeps_its_send_and_its_link_unsubscribes_its_own_customer(
    client, engine, monkeypatch
):
    """The send of an email whose answer was lost was rolled back; on SQLite its id went to the next email sent, so
    the first email's unsubscribe link, which the customer may have, unsubscribed the next customer mailed."""
    monkeypatch.setenv("TAILOR_PUBLIC_URL", f"{PUBLIC_URL}/")
    relay = _AnswerLostServer(accept=1)
    with serving_smtp(relay, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 4)]
        assert send_job(client, campaign_id)["status"] == "failed"
        relay.accept = 99
        assert send_job(client, campaign_id)["result"]["sent"] == 1  # c3; c2 waits for a person

    recipient = TestClient(client.app)
    path = unsubscribe_path(relay.messages["c2@example.com"])
    assert "c2@example.com" in recipient.get(path).text
    assert recipient.post(path).status_code == 200
    assert client.get("/customers/c2").json()["unsubscribed"] is True
    assert client.get("/customers/c3").json()["unsubscribed"] is False
    with session_scope(engine) as session:
        drafts = {draft.id: draft for draft in session.scalars(select(Draft).where(Draft.id.in_(ids)))}
        assert [drafts[i].status for i in ids] == ["sent", "flagged", "sent"]
        kept = drafts[ids[1]].send
        assert kept.to_email == "c2@example.com"
        assert kept.message_id == relay.messages["c2@example.com"]["Message-ID"].strip()
        assert "delivered" not in [event.kind for event in kept.events]  # the server never said it took it


def test_an_email_the_server_refused_leaves_no_send(client, engine, monkeypatch):
    """The send recorded before the mail server is asked is taken back when the server answers that it took nothing."""

    class _Refusing:
        async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 (aiosmtpd's hook)
            if address == "c1@example.com":
                return "550 5.1.1 no such mailbox"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
            return "250 OK"

    with serving_smtp(_Refusing(), monkeypatch):
        campaign_id = new_campaign(client)
        refused, taken = (approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in (1, 2))
        result = send_job(client, campaign_id)["result"]
    assert result["sent"] == 1 and [r["draft_id"] for r in result["refused"]] == [refused]
    with session_scope(engine) as session:
        assert session.scalars(select(Send.draft_id).where(Send.campaign_id == campaign_id)).all() == [taken]


def test_a_draft_approved_again_after_its_answer_was_lost_is_sent_on_the_send_its_first_email_names(
    client, engine, monkeypatch
):
    """A person who approves again a draft whose first email may have gone sends it once more: the one send it keeps
    is the second email's, and the first email's link still unsubscribes the customer."""
    monkeypatch.setenv("TAILOR_PUBLIC_URL", f"{PUBLIC_URL}/")
    relay = _AnswerLostServer(accept=0)
    with serving_smtp(relay, monkeypatch):
        campaign_id = new_campaign(client)
        draft_id = approved_draft(client, engine, campaign_id, external_id="c1")
        assert send_job(client, campaign_id)["status"] == "failed"
        first = relay.messages.pop("c1@example.com")
        relay.accept = 99
        approval = client.post(f"/drafts/{draft_id}/approve", json={"comment": "the relay's log shows it never went"})
        assert approval.status_code == 200, approval.text
        assert send_job(client, campaign_id)["result"]["sent"] == 1
    second = relay.messages["c1@example.com"]
    assert unsubscribe_path(first) == unsubscribe_path(second)
    with session_scope(engine) as session:
        (send,) = session.scalars(select(Send).where(Send.campaign_id == campaign_id)).all()
        assert send.message_id == second["Message-ID"].strip() and [e.kind for e in send.events] == ["delivered"]
        assert session.get(Draft, draft_id).status == "sent"
    assert TestClient(client.app).post(unsubscribe_path(first)).status_code == 200
    assert client.get("/customers/c1").json()["unsubscribed"] is True


class _ConcurrentRelay:
    """A mail server that takes ``seconds`` over each email and counts how many it was taking at once at most;
    ``drop`` names an address whose email it takes and then drops the connection before it answers."""

    def __init__(self, seconds: float, drop: str | None = None) -> None:
        self.seconds, self.drop, self.taking, self.most_at_once, self.received = seconds, drop, 0, 0, []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        self.taking += 1
        self.most_at_once = max(self.most_at_once, self.taking)
        await asyncio.sleep(self.seconds)
        self.taking -= 1
        self.received.append(envelope.rcpt_tos[0])
        if envelope.rcpt_tos[0] == self.drop:
            server.transport.close()
        return "250 OK"


def test_a_send_over_several_connections_mails_every_draft_once_and_an_address_once(client, engine, monkeypatch):
    """One connection capped a send at what the relay takes a second: 5 emails a second for a relay that takes 200 ms
    over each, 55 hours for a million customers. With TAILOR_SMTP_CONNECTIONS the drafts are shared between
    connections, each draft mailed once, and two customer ids sharing an address still get one email."""
    monkeypatch.setenv("TAILOR_SMTP_CONNECTIONS", "3")
    relay = _ConcurrentRelay(seconds=0.2)
    with serving_smtp(relay, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(12)]
        with session_scope(engine) as session:  # c11 is c0's partner: one inbox for both ids
            session.scalar(select(Customer).where(Customer.external_id == "c11")).email = "C0@example.com"
        job = send_job(client, campaign_id)

    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["sent"] == 11 and job["result"]["skipped"] == 1
    assert relay.most_at_once >= 2  # the connections' emails were taken at once
    assert sorted(relay.received) == sorted(f"c{i}@example.com" for i in range(11))  # each once; c0's inbox once
    with session_scope(engine) as session:
        drafts = session.scalars(select(Draft).where(Draft.id.in_(ids))).all()
        assert sorted(draft.status for draft in drafts) == ["sent"] * 11 + ["skipped"]
        sends = session.scalars(select(Send).where(Send.campaign_id == campaign_id)).all()
        assert len(sends) == 11 and all([e.kind for e in send.events] == ["delivered"] for send in sends)


def test_a_connection_that_fails_stops_the_others_and_the_failure_counts_what_every_one_sent(
    client, engine, monkeypatch
):
    monkeypatch.setenv("TAILOR_SMTP_CONNECTIONS", "3")
    relay = _ConcurrentRelay(seconds=0.1, drop="c4@example.com")
    with serving_smtp(relay, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(30)]
        job = send_job(client, campaign_id)

    assert job["status"] == "failed" and "the customer may have it" in job["error"]
    with session_scope(engine) as session:
        statuses = dict(session.execute(select(Draft.id, Draft.status).where(Draft.id.in_(ids))).all())
        delivered = session.scalar(
            select(func.count()).select_from(Send).where(Send.campaign_id == campaign_id, Send.events.any())
        )
    assert job["result"]["sent"] == delivered == sum(status == "sent" for status in statuses.values())
    assert len(relay.received) == delivered + 1  # c4's too, perhaps delivered: back to review
    assert sum(status == "flagged" for status in statuses.values()) == 1
    assert sum(status == "approved" for status in statuses.values()) == 30 - delivered - 1  # the others stopped
    assert delivered < 29


def test_a_send_over_several_connections_is_cancelled_after_the_emails_in_hand(client, engine, monkeypatch):
    import time

    monkeypatch.setenv("TAILOR_SMTP_CONNECTIONS", "2")
    relay = _ConcurrentRelay(seconds=0.3)
    with serving_smtp(relay, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(40)]
        job_id = client.post(f"/campaigns/{campaign_id}/send").json()["job_id"]
        deadline = time.monotonic() + 60
        while len(relay.received) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.post(f"/jobs/{job_id}/cancel").status_code in (200, 202)
        while (job := client.get(f"/jobs/{job_id}").json())["status"] in ("queued", "running", "cancelling"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)

    assert job["status"] == "cancelled", job
    with session_scope(engine) as session:
        statuses = dict(session.execute(select(Draft.id, Draft.status).where(Draft.id.in_(ids))).all())
    sent = sum(status == "sent" for status in statuses.values())
    assert 4 <= sent < 40 and sent == len(relay.received)
    assert sorted(set(statuses.values())) == ["approved", "sent"]  # none left "sending"


class _LostThenRefusing(_AnswerLostServer):
    """Loses the answer to the first email, as _AnswerLostServer does, then refuses its address for now (4xx)."""

    refusing = False

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 (aiosmtpd's hook)
        if self.refusing:
            return "450 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_draft_approved_again_whose_second_email_is_refused_keeps_the_send_its_first_email_names(
    client, engine, monkeypatch
):
    """The second email of a draft approved again after its first email's answer was lost goes on the first one's
    send; the server refusing it deleted that send, so the link in the first email, which the customer may have,
    named no send any more and unsubscribed no one."""
    monkeypatch.setenv("TAILOR_PUBLIC_URL", f"{PUBLIC_URL}/")
    relay = _LostThenRefusing(accept=0)
    with serving_smtp(relay, monkeypatch):
        campaign_id = new_campaign(client)
        draft_id = approved_draft(client, engine, campaign_id, external_id="c1")
        assert send_job(client, campaign_id)["status"] == "failed"
        relay.refusing = True
        assert client.post(f"/drafts/{draft_id}/approve", json={}).status_code == 200
        result = send_job(client, campaign_id)["result"]
    assert result["sent"] == 0 and [r["draft_id"] for r in result["refused"]] == [draft_id]

    first_link = unsubscribe_path(relay.messages["c1@example.com"])
    assert TestClient(client.app).post(first_link).status_code == 200
    assert client.get("/customers/c1").json()["unsubscribed"] is True


def test_a_relay_refusing_every_address_for_its_own_reasons_leaves_every_connection_s_drafts_to_send_at_once(
    client, engine, monkeypatch
):
    """A relay that wants a login stopped the send over several connections once one connection had five refusals in
    a row; the addresses the other connections had been refused waited 15 minutes as if refused for now, though the
    failure said the drafts stayed approved, to send again once the login is set."""
    from tests.service.test_sending import _LoginWantingRelay

    monkeypatch.setenv("TAILOR_SMTP_CONNECTIONS", "3")
    relay = _LoginWantingRelay(carry=0)
    with session_scope(engine) as session:  # at two domains: a relay's refusal of one domain is no sign of the rest
        session.add_all(
            Customer(external_id=f"c{i}", email=f"c{i}@shop{i % 2}.example", marketing_consent=True) for i in range(30)
        )
    with serving_smtp(relay, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, f"c{i}") for i in range(30)]
        job = send_job(client, campaign_id)
    assert job["status"] == "failed" and "for its own reasons" in job["error"], job
    assert len(relay.asked) < 30
    with session_scope(engine) as session:
        drafts = session.scalars(select(Draft).where(Draft.id.in_(ids))).all()
        waiting = [(draft.id, draft.retry_after) for draft in drafts if draft.retry_after or draft.refusals_for_now]
        assert {draft.status for draft in drafts} == {"approved"} and waiting == []


class _CappingRelay:
    """A relay that takes ``takes`` connections of a sender at a time: it greets each one after them with 421 once
    the first email is taken."""

    def __init__(self, takes: int) -> None:
        self.takes, self.opened, self.first_taken, self.received = takes, 0, threading.Event(), []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        await asyncio.sleep(0.05)
        self.received.append(envelope.rcpt_tos[0])
        self.first_taken.set()
        return "250 OK"


def _serving_capped(relay: _CappingRelay, monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    from tests.conftest import free_port

    class _Greeting(SMTP):
        async def _handle_client(self) -> None:  # aiosmtpd's own, past the greeting
            relay.opened += 1
            if relay.opened <= relay.takes:
                return await super()._handle_client()
            await asyncio.get_running_loop().run_in_executor(None, relay.first_taken.wait, 30)
            await self.push("421 4.7.0 Too many connections from your address")
            self.transport.close()

    class _OneAtATime(Controller):
        def factory(self):
            return _Greeting(self.handler, **self.SMTP_kwargs)

    controller = _OneAtATime(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    relay.opened = 0  # the controller's own check that it answers
    monkeypatch.setenv("TAILOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    return controller


@pytest.mark.parametrize(("connections", "takes"), [(2, 1), (4, 2)])
def test_a_relay_that_takes_fewer_connections_than_asked_gets_every_email_over_those_it_took(
    client, engine, monkeypatch, connections, takes
):
    """A relay that takes fewer connections at once than TAILOR_SMTP_CONNECTIONS failed the send once another had
    mailed customers, leaving the rest for a send again with the setting lowered: the connections it took now mail
    the others' drafts too, each once (an address once), and the send warns how many it took."""
    monkeypatch.setenv("TAILOR_SMTP_CONNECTIONS", str(connections))
    relay = _CappingRelay(takes)
    controller = _serving_capped(relay, monkeypatch)
    try:
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(12)]
        with session_scope(engine) as session:  # c11 is c0's partner: one inbox for both ids
            session.scalar(select(Customer).where(Customer.external_id == "c11")).email = "C0@example.com"
        job = send_job(client, campaign_id)
    finally:
        controller.stop()

    assert job["status"] == "succeeded", job["error"]
    assert relay.opened == connections  # those past ``takes`` refused with 421
    assert sorted(relay.received) == sorted(f"c{i}@example.com" for i in range(11))  # each once; c0's inbox once
    assert (job["result"]["sent"], job["result"]["skipped"]) == (11, 1)
    assert (job["done"], job["total"]) == (12, 12)
    warning = f"took {takes} of the send's {connections} connections at once"
    assert [w for w in job["result"]["warnings"] if warning in w and f"TAILOR_SMTP_CONNECTIONS to {takes}" in w], job
    assert warning in job["message"], job["message"]
    with session_scope(engine) as session:
        statuses = sorted(session.scalars(select(Draft.status).where(Draft.id.in_(ids))))
    assert statuses == ["sent"] * 11 + ["skipped"]


def test_a_send_over_several_connections_the_relay_opens_none_of_fails_saying_nothing_was_sent(
    client, engine, monkeypatch
):
    """The fallback to fewer connections has none to fall back on: the send fails as over one, every draft approved."""
    from tests.conftest import free_port

    monkeypatch.setenv("TAILOR_SMTP_CONNECTIONS", "3")
    monkeypatch.setenv("TAILOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(free_port()))  # nothing listens there
    campaign_id = new_campaign(client)
    ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(6)]
    job = send_job(client, campaign_id)

    assert job["status"] == "failed" and "Cannot connect to the SMTP server" in job["error"], job
    assert "nothing was sent" in job["error"]
    with session_scope(engine) as session:
        assert set(session.scalars(select(Draft.status).where(Draft.id.in_(ids)))) == {"approved"}


class _DyingRelay:
    """A relay whose every connection is lost at once: it takes ``seconds`` over each email, and once it has taken
    ``accept`` it drops each connection handing it an email, before it answers."""

    def __init__(self, seconds: float, accept: int) -> None:
        self.seconds, self.accept, self.received, self.dropped = seconds, accept, [], []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        await asyncio.sleep(self.seconds)
        if len(self.received) >= self.accept:
            self.dropped.append(envelope.rcpt_tos[0])
            server.transport.close()
        else:
            self.received.append(envelope.rcpt_tos[0])
        return "250 OK"


def test_a_send_over_several_connections_that_fails_says_what_every_connection_sent_and_cut_off(
    client, engine, monkeypatch
):
    """The failure's message counted the emails sent when the first connection failed, not those the others sent
    after, with the email in hand, which its result counted; and of the drafts cut off mid-email on every
    connection when the relay went down, each back in review, it named the first connection's alone."""
    monkeypatch.setenv("TAILOR_SMTP_CONNECTIONS", "3")
    relay = _DyingRelay(seconds=0.2, accept=4)
    with serving_smtp(relay, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(30)]
        job = send_job(client, campaign_id)

    with session_scope(engine) as session:
        statuses = dict(session.execute(select(Draft.id, Draft.status).where(Draft.id.in_(ids))).all())
    flagged = sorted(draft_id for draft_id, status in statuses.items() if status == "flagged")
    sent = sum(status == "sent" for status in statuses.values())
    assert job["status"] == "failed" and job["result"]["sent"] == sent == len(relay.received)
    assert len(flagged) == len(relay.dropped) >= 2
    assert f"failed after {sent} of 30 emails" in job["error"], job["error"]
    assert all(str(draft_id) in job["error"] for draft_id in flagged), (flagged, job["error"])


def test_a_send_s_progress_counts_the_drafts_it_skipped(client, engine, mail_server, monkeypatch):
    """A draft skipped or deferred as it went was not counted in the send's progress: a send of 3 drafts, one to a
    customer who had unsubscribed, said 2 of 3 when it ended, and a cancellation said it stopped further back
    than it had."""
    from service.pipeline.sending import send_campaign

    monkeypatch.setenv("TAILOR_SMTP_PORT", str(mail_server[0].port))
    campaign_id = new_campaign(client)
    for i in range(3):
        approved_draft(client, engine, campaign_id, external_id=f"c{i}")
    with session_scope(engine) as session:
        session.scalar(select(Customer).where(Customer.external_id == "c1")).unsubscribed = True
    reports = []
    result = send_campaign(lambda *report: reports.append(report), engine, campaign_id)
    assert (result["sent"], result["skipped"]) == (2, 1)
    assert reports[-1][:2] == (3, 3), reports


def test_a_server_refusing_every_email_by_policy_stops_a_send_over_several_connections(client, engine, monkeypatch):
    """The first emails refused by policy, none sent, were counted on each connection alone: a send over 3 of a
    campaign of 9, refused alike for failing DMARC, ended "succeeded, sent 0", where over one it stopped at the
    5th and said to check SPF, DKIM and DMARC."""
    from tests.service.test_sending import _PolicyFilter

    monkeypatch.setenv("TAILOR_SMTP_CONNECTIONS", "3")
    dmarc = _PolicyFilter("550 5.7.26 Unauthenticated email from shop.example is not accepted due to DMARC policy")
    with serving_smtp(dmarc, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, f"c{i}") for i in range(9)]  # 3, 4 and 2 on the connections
        job = send_job(client, campaign_id)
    assert job["status"] == "failed" and "SPF, DKIM and DMARC" in (job["error"] or ""), job
    with session_scope(engine) as session:
        drafts = session.scalars(select(Draft).where(Draft.id.in_(ids))).all()
        assert {(draft.status, draft.flagged) for draft in drafts} == {("approved", False)}


class _LockingRelay:
    """A mail server that, as it takes the email, has another connection take SQLite's write lock and keep it for
    ``seconds`` (a long write elsewhere): past the 10 s a connection waits for it."""

    def __init__(self, database: str, seconds: float) -> None:
        self.database, self.seconds, self.locked, self.received = database, seconds, threading.Event(), []

    def _hold_the_lock(self) -> None:
        import sqlite3
        import time

        holder = sqlite3.connect(self.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        self.locked.set()
        time.sleep(self.seconds)
        holder.execute("COMMIT")
        holder.close()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        threading.Thread(target=self._hold_the_lock, daemon=True).start()
        await asyncio.get_running_loop().run_in_executor(None, self.locked.wait, 10)
        self.received.append(envelope.rcpt_tos[0])
        return "250 OK"


def test_an_email_the_server_took_while_the_database_was_busy_is_recorded_sent_once_it_is_free(
    client, engine, monkeypatch
):
    """The mail server took the email, and the database was held by a long write past its busy timeout: the send
    failed with a database error, the draft left "sending", to go back to review as perhaps sent and be mailed
    twice by whoever approved it again."""
    relay = _LockingRelay(engine.url.database, seconds=12)
    with serving_smtp(relay, monkeypatch):
        campaign_id = new_campaign(client)
        draft_id = approved_draft(client, engine, campaign_id, external_id="c1")
        job = send_job(client, campaign_id)
    assert job["status"] == "succeeded" and job["result"]["sent"] == 1, job["error"]
    assert relay.received == ["c1@example.com"]
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        assert draft.status == "sent" and [event.kind for event in draft.send.events] == ["delivered"]


def _statements_of_send(engine, mail_server, name: str, drafts: int) -> list[str]:
    """The statements a send of a campaign of ``drafts`` due drafts runs on ``engine``, each as its first words."""
    from sqlalchemy import event

    from service.pipeline.sending import send_campaign
    from service.settings import SmtpSettings
    from tests.service.test_cli_send_due import campaign_with_drafts

    campaign_id = campaign_with_drafts(engine, name, due=drafts)
    statements: list[str] = []

    def record(_connection, _cursor, statement, _parameters, _context, _executemany) -> None:
        statements.append(" ".join(statement.split()[:4]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        result = send_campaign(lambda *_: None, engine, campaign_id, settings=SmtpSettings(port=mail_server[0].port))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert result["sent"] == drafts, result
    with session_scope(engine) as session:
        kinds = session.execute(
            select(Draft.status, func.count(Event.id)).join(Send, Send.draft_id == Draft.id)
            .outerjoin(Event, Event.send_id == Send.id).where(Draft.campaign_id == campaign_id).group_by(Draft.id)
        ).all()  # fmt: skip
    assert kinds == [("sent", 1)] * drafts  # each draft sent, with its one "delivered" event
    return statements


def test_a_send_runs_no_statement_per_email_for_what_it_holds_already(engine, mail_server):
    """What each email of a send costs in statements (the claim, the look at the draft under the write lock, the
    contact policy's second look, the send recorded, then "delivered"): it read the draft's customer apart from the
    draft, again when it recorded the email with its send and the draft apart, the send's earlier events to add
    one, and, on SQLite, the customer's address for a lock only PostgreSQL takes. 18 statements an email, 13 now."""
    few, more = (_statements_of_send(engine, mail_server, name, n) for name, n in (("few", 2), ("more", 5)))
    per_email = (len(more) - len(few)) / 3
    extra = Counter(more)
    extra.subtract(Counter(few))
    assert per_email <= 13, sorted(extra.items())
    read_per_email = {statement for statement, count in extra.items() if count}
    assert not {statement for statement in read_per_email if statement.startswith("SELECT events.")}  # to add one
