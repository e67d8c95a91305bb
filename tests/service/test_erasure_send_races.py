"""A customer erased (DELETE /customers/{id}, `tailor customers erase`) while a send records their email, each coming
at the moment the other holds its first lock: on PostgreSQL the send locked the draft, then the customer's row, and
the erasure the customer, then the draft it deletes; PostgreSQL found them waiting for each other and failed one.
Likewise the mail server's answers, written after the email went. Real SMTP on loopback: what the customer gets, and
what Tailor keeps, once both are done. On SQLite the database's one write lock orders them, once the erasure takes it
before it reads; neither may fail as busy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select, text

from service.db.models import Customer, Draft, ErasedSend, Send
from service.db.session import session_scope
from tests.service.test_send_claims import due_campaign


def _erase(engine, external_id: str) -> None:
    """Erase the customer as DELETE /customers/{id} does."""
    from service.customers import erase_for_good
    from service.settings import home_settings

    with session_scope(engine) as session:
        erase_for_good(session, engine, home_settings().models_dir, external_id)


def _erased_while(engine, monkeypatch, work: Callable[[], object]) -> dict:
    """Erase customer ``c0``, running ``work`` on a thread once the erasure holds their row (it then marks their
    campaigns' forecasts stale, and deletes their sends and drafts), going on once ``work`` waits for it or has
    ended. What each raised, or None (``erasure``, ``work``), and what ``work`` returned (``result``)."""
    import service.customers

    outcome: dict = {}
    working: list[threading.Thread] = []
    mark_stale = service.customers.mark_stale_for_customers

    def meanwhile(session, customer_ids, **kind) -> None:
        if not working:

            def run() -> None:
                outcome["result"] = work()

            working.append(_run_until_it_waits(engine, run, outcome, "work"))
        mark_stale(session, customer_ids, **kind)

    monkeypatch.setattr(service.customers, "mark_stale_for_customers", meanwhile)
    try:
        _erase(engine, "c0")
        outcome["erasure"] = None
    except Exception as error:  # the test reports it
        outcome["erasure"] = error
    working[0].join(30)
    return outcome


def _sending(engine) -> tuple[int, int, int, str]:
    """A due draft to ``c0`` claimed by a sender, its send recorded as before the mail server is asked: (campaign
    id, draft id, send id, claim)."""
    from service.clock import utcnow
    from service.pipeline.send_outcomes import claim

    (draft_id,) = due_campaign(engine, 1)
    claimed = claim(engine, draft_id)
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        send = Send(customer_id=draft.customer_id, campaign_id=draft.campaign_id, draft_id=draft_id, subject="Hello",
                    campaign_type="cross_sell", sent_at=utcnow(), to_email=draft.customer.email)  # fmt: skip
        session.add(send)
        session.flush()
        return draft.campaign_id, draft_id, send.id, claimed


def _campaign_of(engine, draft_id: int) -> int:
    with session_scope(engine) as session:
        return session.get(Draft, draft_id).campaign_id


def _run_until_it_waits(engine, work: Callable[[], None], outcome: dict, name: str) -> threading.Thread:
    """``work`` on a thread of its own, returned once it waits for a lock this thread's transaction holds (on
    PostgreSQL; on SQLite, whose waits cannot be seen, half a second on) or has ended; what it raised, or None, in
    ``outcome[name]``."""

    def run() -> None:
        try:
            work()
            outcome[name] = None
        except Exception as error:  # the test reports it
            outcome[name] = error

    thread = threading.Thread(target=run)
    thread.start()
    if engine.dialect.name == "sqlite":
        thread.join(0.5)
        return thread
    with engine.connect() as watcher:
        for _ in range(400):
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            seen = watcher.execute(text(waiting)).scalar()
            watcher.rollback()  # pg_stat_activity is read once a transaction: the next look reads it anew
            if seen or not thread.is_alive():
                return thread
            time.sleep(0.025)
    raise AssertionError(f"the {name} neither waited for a lock nor ended")


def test_a_customer_erased_as_their_email_is_recorded_is_erased_once_it_is_sent(
    shared_engine, tailor_home, mail_server, monkeypatch
):
    """The erasure came once the send held the draft: the send then waited for the customer's row the erasure held,
    the erasure for the draft. The email, decided on before the erasure, goes; the erasure then keeps its Message-ID
    (ErasedSend), as for any email sent before, and Tailor holds nothing else of them. On SQLite the erasure read
    their sends before the send's commit, then deleted its send without keeping its Message-ID."""
    from service.pipeline import sending

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = _campaign_of(shared_engine, *due_campaign(shared_engine, 1))
    outcome: dict[str, BaseException | None] = {}
    erasing: list[threading.Thread] = []
    held = sending.held

    def erased_meanwhile(draft, claimed) -> bool:  # the send's look at the draft, its row locked
        if not erasing:
            erasing.append(_run_until_it_waits(shared_engine, lambda: _erase(shared_engine, "c0"), outcome, "erasure"))
        return held(draft, claimed)

    monkeypatch.setattr(sending, "held", erased_meanwhile)
    try:
        result = sending.send_campaign(lambda *_: None, shared_engine, campaign_id)
        outcome["send"] = None
    except Exception as error:  # the test reports it
        outcome["send"] = error
    erasing[0].join(30)
    assert outcome == {"send": None, "erasure": None}
    assert (result["sent"], [message["To"] for message in messages]) == (1, ["c0@example.com"])
    with session_scope(shared_engine) as session:
        assert session.scalars(select(ErasedSend.message_id)).all() == [messages[0]["Message-ID"].strip()]
        for table in (Customer, Draft, Send):
            assert session.scalar(select(func.count()).select_from(table)) == 0


def test_a_customer_being_erased_as_their_email_is_sent_is_not_mailed(
    shared_engine, tailor_home, mail_server, monkeypatch
):
    """The send came once the erasure held the customer's row: it locked the draft the erasure was to delete, then
    waited for the customer. It waits for the erasure, finds the draft gone and mails nobody; the job succeeds."""
    from service.pipeline.sending import send_campaign

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = _campaign_of(shared_engine, *due_campaign(shared_engine, 1))
    outcome = _erased_while(
        shared_engine, monkeypatch, lambda: send_campaign(lambda *_: None, shared_engine, campaign_id)
    )
    assert (outcome.pop("result")["sent"], messages) == (0, []), outcome
    assert outcome == {"work": None, "erasure": None}
    with session_scope(shared_engine) as session:
        for table in (Customer, Draft, Send, ErasedSend):
            assert session.scalar(select(func.count()).select_from(table)) == 0


def test_an_email_recorded_delivered_as_its_customer_is_erased_fails_neither(shared_engine, tailor_home, monkeypatch):
    """The erasure came as the server's "delivered" was recorded: the recording held the send (its event), the erasure
    the customer and then their draft, which it deletes; the recording then waited for the draft, the erasure for
    the send. The erasure waits for the recording, and keeps the send's id with the rest."""
    from service.clock import utcnow
    from service.pipeline import send_outcomes

    campaign_id, draft_id, send_id, _ = _sending(shared_engine)
    outcome: dict = {}
    erasing: list[threading.Thread] = []
    sent = send_outcomes._sent

    def erased_meanwhile(draft) -> None:  # the send's event written, the draft about to be
        if not erasing:
            erasing.append(_run_until_it_waits(shared_engine, lambda: _erase(shared_engine, "c0"), outcome, "erasure"))
        sent(draft)

    monkeypatch.setattr(send_outcomes, "_sent", erased_meanwhile)
    recorded = send_outcomes.record_delivered(shared_engine, campaign_id, draft_id, send_id, None, utcnow())
    erasing[0].join(30)
    assert (outcome, recorded.address) == ({"erasure": None}, "c0@example.com")
    with session_scope(shared_engine) as session:
        assert session.scalars(select(ErasedSend.id)).all() == [send_id]
        for table in (Customer, Draft, Send):
            assert session.scalar(select(func.count()).select_from(table)) == 0


def test_an_address_refused_for_good_as_its_customer_is_erased_fails_neither(shared_engine, tailor_home, monkeypatch):
    """The server refused the address for good as the erasure held the customer's row: skipping the draft wrote it,
    then waited for the customer's row to mark the address bounced; the erasure waited to delete the draft. On
    SQLite the draft, read before the erasure's commit, was written after it: StaleDataError failed the send job."""
    import smtplib

    from service.pipeline.send_outcomes import refuse

    _, draft_id, _, claimed = _sending(shared_engine)
    no_such_mailbox = smtplib.SMTPRecipientsRefused({"c0@example.com": (550, b"5.1.1 <c0@example.com> no such user")})
    outcome = _erased_while(
        shared_engine, monkeypatch, lambda: refuse(shared_engine, draft_id, claimed, no_such_mailbox)
    )
    erased = {"draft_id": draft_id, "customer_id": "[erased]", "answer": "the customer was erased meanwhile"}
    assert outcome.pop("result", None) == erased, outcome
    assert outcome == {"work": None, "erasure": None}
    with session_scope(shared_engine) as session:
        for table in (Customer, Draft, Send):
            assert session.scalar(select(func.count()).select_from(table)) == 0
