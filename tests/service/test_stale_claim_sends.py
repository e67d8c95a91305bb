"""A draft two senders hold in turn: the first stalled mid-email past the hour a claim lasts, its claim taken back
(service.jobs.recovery.STALE_AFTER) and the draft put back to review as perhaps sent, then claimed by a second sender
once a person approved it again; the first's email taken by the mail server at each moment it may be. Real SMTP on
loopback: what the customer gets, and what the draft and its send say once both are done."""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from service.clock import utcnow
from service.db.clock import now_in_database
from service.db.models import Customer, Draft, Event, Send
from service.db.session import session_scope
from service.errors import Conflict
from service.events import ingest_events
from service.jobs.recovery import STALE_AFTER, flag_interrupted_sends
from service.schemas import EventIn
from tests.conftest import free_port
from tests.service.conftest import new_migrated_postgres_database
from tests.service.test_send_claims import due_campaign

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class _HoldsEachEmail:
    """An SMTP server that holds the n-th email it is handed until ``answer[n]`` is set (``reached[n]`` once it has
    it), then takes it; what it took, as handed over, in ``taken``."""

    def __init__(self, held: int) -> None:
        self.reached = [threading.Event() for _ in range(held)]
        self.answer = [threading.Event() for _ in range(held)]
        self.taken: list[str] = []
        self._handed = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        n, self._handed = self._handed, self._handed + 1
        if n < len(self.reached):
            self.reached[n].set()
            while not self.answer[n].is_set():
                await asyncio.sleep(0.02)
        self.taken.append(envelope.content.decode())
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [re.search(r"(?im)^message-id:\s*(\S+)", email).group(1) for email in self.taken]


def _taken_back_as_stale(engine, draft_id: int) -> None:
    """An hour on, by the database's clock: the draft's claim counts as lost, and it goes back to review."""
    with session_scope(engine) as session:
        an_hour_ago = now_in_database(session) - STALE_AFTER - timedelta(minutes=1)
        session.execute(update(Draft).where(Draft.id == draft_id).values(updated_at=an_hour_ago))
        assert flag_interrupted_sends(session) == [draft_id]


@pytest.mark.parametrize("answered", ["before it is approved again", "before the next send", "while the next mails it"])
def test_a_stalled_sender_s_email_taken_after_its_claim_was_taken_back_leaves_the_draft_sent(
    engine, monkeypatch, answered
):
    """The stalled sender's email went: "sent" is right whoever holds the draft then, but the perhaps-sent flag
    recovery put on it stayed ("Sending was interrupted ... Approve it again to send it") on a sent draft, which no
    one can approve. A second email goes only where a person approved the draft again, told the customer may have
    it, while the first was still being handed over: the send then names the later email, delivered twice, and keeps
    the first's Message-ID, which that email's complaint names."""
    from service.drafts import approve
    from service.pipeline.sending import send_campaign

    holding = _HoldsEachEmail(2)
    controller = Controller(holding, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    (draft_id,) = due_campaign(engine, 1)
    with session_scope(engine) as session:
        campaign_id = session.get(Draft, draft_id).campaign_id
    results: dict[str, dict] = {}

    def sender(name: str) -> threading.Thread:
        thread = threading.Thread(target=lambda: results.update({name: send_campaign(lambda *_: None, engine,
                                                                                      campaign_id)}))  # fmt: skip
        thread.start()
        return thread

    try:
        stalled = sender("stalled")
        assert holding.reached[0].wait(30)
        _taken_back_as_stale(engine, draft_id)
        if answered == "before it is approved again":
            holding.answer[0].set()
            stalled.join(30)
            with session_scope(engine) as session, pytest.raises(Conflict, match="already sent"):
                approve(session, draft_id, None, "Ola", "the customer did not get it")
        else:
            with session_scope(engine) as session:
                approve(session, draft_id, None, "Ola", "the customer did not get it")
        if answered == "before the next send":
            holding.answer[0].set()
            stalled.join(30)
        next_send = sender("next")
        if answered == "while the next mails it":
            assert holding.reached[1].wait(30)
            holding.answer[0].set()
            stalled.join(30)
        holding.answer[1].set()
        next_send.join(30)
    finally:
        for answer in holding.answer:
            answer.set()
        controller.stop()

    twice = answered == "while the next mails it"
    assert [results["stalled"]["sent"], results["next"]["sent"]] == [1, 1 if twice else 0]
    assert len(holding.taken) == (2 if twice else 1)
    with session_scope(engine) as session:
        draft, send = session.get(Draft, draft_id), session.scalar(select(Send))
        assert (draft.status, draft.claimed_by, draft.flagged, draft.flag_reasons) == ("sent", None, False, [])
        assert send.message_id == holding.message_ids()[-1]  # the later email's, where two went
        assert session.scalars(select(Event.kind)).all() == ["delivered"] * len(holding.taken)
    # The first email's Message-ID, where two went, still names the send: its complaint was refused as naming none.
    with session_scope(engine) as session:
        complaint = EventIn(message_id=holding.message_ids()[0], kind="complaint")
        assert ingest_events(session, [complaint])["recorded"] == 1
        assert session.scalar(select(Customer.unsubscribed))


@pytest.fixture
def database(request, engine):
    """The test's SQLite database, or a new one on a throwaway PostgreSQL server (``backend``)."""
    if request.param == "sqlite":
        yield engine
        return

    postgres = new_migrated_postgres_database(request.getfixturevalue("postgres_url"), "stale_claims")
    yield postgres
    postgres.dispose()


@pytest.mark.parametrize("database", BACKENDS, indirect=True)
def test_a_send_that_read_the_draft_before_its_first_sender_recorded_it_sent_does_not_write_over_it(
    database, mail_server, monkeypatch
):
    """The first sender, its claim taken back, recorded its email delivered just after a second sender (the draft
    approved again) read the draft as its own: the second, deciding on what it had read, skipped it (its customer
    unsubscribed meanwhile) and wrote "skipped", "Not sent", over the "sent" beside the server's "delivered"."""
    from service.drafts import approve
    from service.pipeline import sending
    from service.pipeline.send_outcomes import claim, record_delivered

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    (draft_id,) = due_campaign(database, 1)
    assert claim(database, draft_id)  # the first sender's, whose email is at the mail server
    with session_scope(database) as session:
        draft = session.get(Draft, draft_id)
        send = Send(customer_id=draft.customer_id, campaign_id=draft.campaign_id, draft_id=draft_id, subject="Hello",
                    campaign_type="cross_sell", sent_at=utcnow(), to_email=draft.customer.email)  # fmt: skip
        session.add(send)
        session.flush()
        first_email = (draft.campaign_id, draft_id, send.id, None)
    _taken_back_as_stale(database, draft_id)
    with session_scope(database) as session:
        approve(session, draft_id, None, "Ola", "the customer did not get it")
        session.scalar(select(Customer)).unsubscribed = True
    recording: list[threading.Thread] = []

    def read_then_recorded(draft, claimed) -> bool:  # the second sender's look at the draft it read
        holds = held(draft, claimed)
        if holds and not recording:  # the first sender's answer comes now, from its own thread
            recording.append(threading.Thread(target=record_delivered, args=(database, *first_email, utcnow())))
            recording[0].start()
            recording[0].join(1)  # written at once, unless this send's transaction holds the draft
        return holds

    held = sending.held
    monkeypatch.setattr(sending, "held", read_then_recorded)
    result = sending.send_campaign(lambda *_: None, database, first_email[0])
    recording[0].join(30)
    assert (result["sent"], result["skipped"], messages) == (0, 1, [])
    with session_scope(database) as session:
        draft = session.get(Draft, draft_id)
        assert (draft.status, draft.claimed_by, draft.flag_reasons) == ("sent", None, [])
        assert session.scalar(select(func.count()).select_from(Event).where(Event.kind == "delivered")) == 1
