"""Each approved draft is sent once, however many senders run at once: two servers' due-checks on one database
(real processes, a real SMTP server on loopback), a sender that died while it mailed, a send recorded twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from generation.brands import UNSUBSCRIBE_PLACEHOLDER
from service.campaigns import ensure_brand
from service.clock import utcnow
from service.db.clock import now_in_database
from service.db.models import Campaign, Customer, Draft, Send, Variant
from service.db.session import session_scope
from service.errors import MailServerUnavailable
from service.jobs.recovery import STALE_AFTER, flag_interrupted_sends
from service.signed_links import UnsubscribeLinks
from tests.conftest import free_port
from tests.forked_cli import popen, run
from tests.service.conftest import new_migrated_postgres_database

DUE_CHECK = """
import sys, time
from service.db.session import make_engine
from service.pipeline.sending import send_due_drafts

engine = make_engine(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # both servers' due-checks start together
print(send_due_drafts(lambda *_: None, engine))
"""

# A send of one campaign whose transaction that records its email (from sending.take_the_write_lock, before the
# contact policy's second look, sending.defer_if_mailed_meanwhile: both replaced in this process only) meets the other
# sender's: each goes on once both are there, and records its email once the other has looked too, or after
# WAIT_FOR_THE_OTHER seconds, should the other wait for this one's lock to look.
SEND_AT_THE_SECOND_LOOK = """
import json, sys, time
from pathlib import Path
from service.db.session import make_engine
from service.pipeline import sending

url, campaign_id, folder, me, other = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5]
lock, look = sending.take_the_write_lock, sending.defer_if_mailed_meanwhile

def wait_for(name, seconds):
    deadline = time.monotonic() + seconds
    while not (folder / name).exists() and time.monotonic() < deadline:
        time.sleep(0.01)

def at_once(session):
    (folder / f"{me}.at-the-look").touch()
    wait_for(f"{other}.at-the-look", 60)
    return lock(session)

def looked(*args):
    deferred = look(*args)
    (folder / f"{me}.looked").touch()
    wait_for(f"{other}.looked", float(sys.argv[6]))
    return deferred

sending.take_the_write_lock, sending.defer_if_mailed_meanwhile = at_once, looked
print(json.dumps(sending.send_campaign(lambda *_: None, make_engine(url), campaign_id)))
"""
WAIT_FOR_THE_OTHER = 1.5


def due_campaign(engine, drafts: int) -> list[int]:
    """A campaign of ``drafts`` approved drafts whose send time has passed, each to a customer of its own."""
    with session_scope(engine) as session:
        campaign = Campaign(name="due", brand=ensure_brand(session, "hearth"), campaign_type="cross_sell")
        session.add(campaign)
        made = []
        for n in range(drafts):
            customer = Customer(external_id=f"c{n}", email=f"c{n}@example.com", marketing_consent=True)
            variant = Variant(label="A", subject="Hello", html=f"<p>{UNSUBSCRIBE_PLACEHOLDER}</p>", text="Hello")
            draft = Draft(
                campaign=campaign, customer=customer, status="approved", variants=[variant],
                send_after=utcnow() - timedelta(minutes=1), position=n,
            )  # fmt: skip
            session.add(draft)
            session.flush()
            draft.selected_variant_id = variant.id
            made.append(draft.id)
        return made


@pytest.mark.parametrize("connections", [1, 3])
def test_two_servers_due_checks_send_each_due_draft_once(shared_engine, mail_server, monkeypatch, connections):
    """Two `tailor serve` processes on PostgreSQL sent every scheduled email twice: 40 messages for 20 drafts. Each
    with several connections to the mail server (TAILOR_SMTP_CONNECTIONS), six senders share the drafts."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_SMTP_CONNECTIONS", str(connections))
    UnsubscribeLinks.configured()  # the signing key both share, made before they start
    drafts = due_campaign(shared_engine, 20)
    url = shared_engine.url.render_as_string(hide_password=False)
    start = str(time.time() + 2)
    servers = [
        popen([sys.executable, "-c", DUE_CHECK, url, start], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=dict(os.environ), tailor_imported=True)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [server.communicate(timeout=120) for server in servers]
    assert all(server.returncode == 0 for server in servers), [err for _, err in outputs]
    assert sorted(m["To"] for m in messages) == sorted(f"c{n}@example.com" for n in range(20))
    with session_scope(shared_engine) as session:
        assert session.scalar(select(func.count()).select_from(Send)) == 20
        statuses = session.scalars(select(Draft.status).where(Draft.id.in_(drafts))).all()
        assert statuses == ["sent"] * 20
        assert session.scalar(select(func.count()).where(Draft.claimed_by.is_not(None))) == 0


def test_a_draft_left_sending_by_a_process_that_died_goes_back_to_review_not_to_the_mail(engine, mail_server,
                                                                                       monkeypatch):  # fmt: skip
    """A sender that dies after the mail server took an email, before the database recorded it, must not leave the
    draft to be mailed again; a person decides."""
    from service.jobs.recovery import SEND_INTERRUPTED, fail_interrupted_jobs, worker_name
    from service.pipeline.sending import send_due_drafts

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    died = run(
        [sys.executable, "-c", "from service.jobs.recovery import worker_name; print(worker_name())"],
        capture_output=True, text=True, check=True, tailor_imported=True,
    ).stdout.strip()  # fmt: skip
    dead, alive, due = due_campaign(engine, 3)
    with session_scope(engine) as session:
        session.get(Draft, dead).status, session.get(Draft, dead).claimed_by = "sending", died
        session.get(Draft, alive).status, session.get(Draft, alive).claimed_by = "sending", worker_name()

    assert send_due_drafts(lambda *_: None, engine)["campaigns"]  # the due one; the two being sent are not sent again
    fail_interrupted_jobs(engine)  # as the next start does
    assert [m["To"] for m in messages] == ["c2@example.com"]
    with session_scope(engine) as session:
        interrupted, still_sending = session.get(Draft, dead), session.get(Draft, alive)
        assert (interrupted.status, interrupted.flagged, interrupted.claimed_by) == ("flagged", True, None)
        assert interrupted.flag_reasons == [SEND_INTERRUPTED]
        assert (still_sending.status, session.get(Draft, due).status) == ("sending", "sent")


def test_a_draft_another_host_left_sending_goes_back_to_review_once_its_claim_is_an_hour_old(engine, mail_server,
                                                                                             monkeypatch):  # fmt: skip
    """A host that died mid-send and never started again left its draft "sending" for good: no other host could tell
    its process was gone. A claim spans one email, so one an hour old was abandoned, whoever made it."""

    from service.jobs.recovery import SEND_INTERRUPTED, STALE_AFTER
    from service.pipeline.send_outcomes import claim as _claim
    from service.pipeline.sending import send_campaign

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    abandoned, in_flight, due = due_campaign(engine, 3)
    an_hour_ago = utcnow() - STALE_AFTER - timedelta(seconds=5)
    with session_scope(engine) as session:
        session.execute(update(Draft).where(Draft.id == in_flight).values(updated_at=an_hour_ago))
    assert _claim(engine, in_flight)  # claimed now, after an hour approved: the claim moves updated_at
    with session_scope(engine) as session:
        claims = {abandoned: "other-host:4242:0123456789ab", in_flight: "other-host:4343:0123456789ab"}
        for draft_id, worker in claims.items():
            session.execute(update(Draft).where(Draft.id == draft_id).values(status="sending", claimed_by=worker))
        session.execute(update(Draft).where(Draft.id == abandoned).values(updated_at=an_hour_ago))
        campaign_id = session.get(Draft, due).campaign_id

    assert send_campaign(lambda *_: None, engine, campaign_id)["sent"] == 1
    assert [m["To"] for m in messages] == ["c2@example.com"]
    with session_scope(engine) as session:
        left, sending = session.get(Draft, abandoned), session.get(Draft, in_flight)
        assert (left.status, left.flagged, left.claimed_by, left.flag_reasons) == (
            "flagged", True, None, [SEND_INTERRUPTED]
        )  # fmt: skip
        assert (sending.status, sending.claimed_by) == ("sending", "other-host:4343:0123456789ab")
        assert sending.updated_at > an_hour_ago + timedelta(minutes=30)


@pytest.mark.postgres
def test_two_sends_of_an_experiment_planning_its_holdout_at_once_both_go_on(postgres_url):
    """Two sends of one experiment campaign (two servers' due-checks, or a due-check and a person's send) each
    recorded the same held-out customers: the later one's commit broke the assignments' unique key and its job
    failed. The hash gives both the same holdout, so the second has nothing to add."""
    import threading

    from sqlalchemy import text
    from sqlalchemy.orm import Session, selectinload

    from service.db.models import Assignment
    from service.experiments import plan_arms

    engine = new_migrated_postgres_database(postgres_url, "holdout_race")
    drafts = due_campaign(engine, 20)
    with session_scope(engine) as session:
        session.scalar(select(Campaign)).holdout_share = 0.5

    def plan(session: Session) -> dict[int, str]:
        campaign = session.scalar(select(Campaign))
        rows = session.scalars(select(Draft).where(Draft.id.in_(drafts)).options(selectinload(Draft.customer))).all()
        return plan_arms(session, campaign, list(rows))

    first, second = Session(engine), Session(engine)
    planned, failures = {}, []
    try:
        planned["first"] = plan(first)  # its holdout rows written, not yet committed

        def other_sender() -> None:
            try:
                planned["second"] = plan(second)  # waits on the first's uncommitted rows
                second.commit()
            except Exception as error:  # the test reports it
                failures.append(error)

        thread = threading.Thread(target=other_sender)
        thread.start()
        with engine.connect() as watcher:  # until the second is waiting on the first's rows
            for _ in range(200):
                waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                if watcher.execute(text(waiting)).scalar():
                    break
                time.sleep(0.05)
        first.commit()
        thread.join(timeout=30)
        with session_scope(engine) as session:
            recorded = session.scalar(select(func.count()).select_from(Assignment))
    finally:
        first.close()
        second.close()
        engine.dispose()
    assert failures == []
    assert planned["first"] == planned["second"]
    holdout = [draft for draft, arm in planned["first"].items() if arm == "holdout"]
    assert holdout and recorded == len(holdout)  # about half the customers, by the hash, each recorded once


@pytest.mark.postgres
def test_two_senders_mailing_two_ids_of_one_address_send_one_email(postgres_url):
    """Two servers each mailing one of two customer ids that share an address both sent: the contact policy's second
    look locked the customer's own row, so neither waited for the other's email to be recorded."""
    import threading

    from service.addresses import households
    from service.pipeline.contact_policy import defer_if_mailed_meanwhile

    engine = new_migrated_postgres_database(postgres_url, "household_race")
    with session_scope(engine) as session:
        campaign = Campaign(name="shared", brand=ensure_brand(session, "hearth"), campaign_type="cross_sell")
        for external_id in ("c1", "c2"):
            customer = Customer(external_id=external_id, email="home@example.com", marketing_consent=True)
            session.add(Draft(campaign=campaign, customer=customer, status="sending"))
    began = utcnow()

    def second_look(session, external_id: str) -> bool:
        draft = session.scalar(select(Draft).join(Customer).where(Customer.external_id == external_id))
        return defer_if_mailed_meanwhile(session, draft, began, 3, 0, "UTC", households(session))

    seen: dict[str, bool] = {}
    with session_scope(engine) as first:
        assert second_look(first, "c1") is False
        mailed = first.scalar(select(Draft).join(Customer).where(Customer.external_id == "c1"))
        first.add(Send(customer_id=mailed.customer_id, campaign_id=mailed.campaign_id, draft_id=mailed.id,
                       subject="Hello", campaign_type="cross_sell", sent_at=utcnow()))  # fmt: skip
        first.flush()  # its email about to go: recorded, not yet committed

        def other_server() -> None:
            with session_scope(engine) as second:
                seen["c2"] = second_look(second, "c2")

        other = threading.Thread(target=other_server)
        other.start()
        other.join(timeout=2)
        assert other.is_alive(), "the second sender did not wait for the first's email to be recorded"
    other.join(timeout=30)
    assert seen == {"c2": True}  # deferred: the address was mailed
    engine.dispose()


def test_two_servers_at_the_second_look_at_once_mailing_two_ids_of_one_address_send_one_email(
    shared_engine, mail_server, monkeypatch, tmp_path
):
    """On SQLite the second look locked nothing (FOR UPDATE means nothing there, and pysqlite begins a transaction
    at its first write): two servers on one file sending two campaigns to two customer ids of one address both read
    "not mailed" at once and both sent. The look takes the write lock there: the second waits for the first's email
    to be recorded, sees it, and defers its own; on PostgreSQL the household's rows, locked, do the same."""
    import json

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "2")
    UnsubscribeLinks.configured()  # the signing key both share, made before they start
    with session_scope(shared_engine) as session:
        brand, campaigns = ensure_brand(session, "hearth"), []
        for twin in ("twin1", "twin2"):
            campaign = Campaign(name=f"to {twin}", brand=brand, campaign_type="cross_sell")
            customer = Customer(external_id=twin, email="home@example.com", marketing_consent=True)
            variant = Variant(label="A", subject="Hello", html=f"<p>{UNSUBSCRIBE_PLACEHOLDER}</p>", text="Hello")
            draft = Draft(campaign=campaign, customer=customer, status="approved", variants=[variant])
            session.add(draft)
            session.flush()
            draft.selected_variant_id = variant.id
            campaigns.append(campaign.id)
    url = shared_engine.url.render_as_string(hide_password=False)
    servers = [
        popen(
            [
                sys.executable,
                "-c",
                SEND_AT_THE_SECOND_LOOK,
                url,
                str(campaign),
                str(tmp_path),
                me,
                other,
                str(WAIT_FOR_THE_OTHER),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
            tailor_imported=True,  # it replaces the sender's functions once imported, not before
        )  # fmt: skip
        for campaign, me, other in zip(campaigns, ("first", "second"), ("second", "first"), strict=True)
    ]
    outputs = [server.communicate(timeout=120) for server in servers]
    assert all(server.returncode == 0 for server in servers), [err for _, err in outputs]
    results = [json.loads(out.splitlines()[-1]) for out, _ in outputs]
    assert [m["To"] for m in messages] == ["home@example.com"]
    assert sorted((r["sent"], r["deferred"]) for r in results) == [(0, 1), (1, 0)]
    with session_scope(shared_engine) as session:
        assert session.scalar(select(func.count()).select_from(Send)) == 1
        deferred, sent = session.scalars(select(Draft).order_by(Draft.status)).all()
        assert (deferred.status, deferred.claimed_by, sent.status) == ("approved", None, "sent")
        assert deferred.send_after is not None
        assert deferred.flag_reasons[-1].startswith("Deferred by the contact policy to ")


@pytest.mark.parametrize("wrote", [False, True], ids=["after reads", "after a write"])
def test_sqlite_s_write_lock_is_taken_before_the_transaction_writes_and_kept_once_it_wrote(engine, tailor_home, wrote):
    """The second look's lock on SQLite (take_the_write_lock): held from the call on, though the session only read
    before (pysqlite runs reads outside a transaction, and its BEGIN came only with the send's INSERT); a session that
    wrote holds it already, and goes on in its transaction (a second BEGIN would fail)."""
    import sqlite3

    from service.db.session import take_the_write_lock

    due_campaign(engine, 1)
    other = sqlite3.connect(tailor_home / "tailor.db", isolation_level=None, timeout=0)
    try:
        with session_scope(engine) as session:
            session.scalar(select(Draft))
            if wrote:
                session.execute(update(Customer).values(first_name="Ann"))
            assert take_the_write_lock(session)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            assert session.scalar(select(func.count()).select_from(Send)) == 0
        other.execute("BEGIN IMMEDIATE")  # the commit gave it back
        other.execute("ROLLBACK")
    finally:
        other.close()


class _HoldsTheFirstEmail:
    """An SMTP server that holds the first email it is handed until ``answer`` is set (``reached`` once it has it),
    then refuses it for now (451: nothing taken); it takes every later one."""

    def __init__(self) -> None:
        self.reached, self.answer, self.received = threading.Event(), threading.Event(), []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        if not self.reached.is_set():
            self.reached.set()
            while not self.answer.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 try again later"
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"


def test_a_sender_whose_claim_was_taken_back_leaves_the_draft_s_new_claim_alone(engine, monkeypatch):
    """A claim was named by its process alone: a sender that stalled over an hour mid-email (its claim then taken
    for lost, the draft back to review, approved again and claimed again by this same process's next send), once the
    server refused the old email, took the new claim for its own: it deleted the send the new claim mails on and put
    the draft back to approved while it was being mailed, for the next send to mail it a second time."""
    from service.drafts import approve
    from service.pipeline.send_outcomes import claim as _claim
    from service.pipeline.sending import send_campaign

    holding = _HoldsTheFirstEmail()
    controller = Controller(holding, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    (draft_id,) = due_campaign(engine, 1)
    with session_scope(engine) as session:
        campaign_id = session.get(Draft, draft_id).campaign_id
    stalled: list[BaseException] = []

    def stalled_sender() -> None:
        try:
            send_campaign(lambda *_: None, engine, campaign_id)
        except MailServerUnavailable as refused:
            stalled.append(refused)

    sender = threading.Thread(target=stalled_sender)
    sender.start()
    try:
        assert holding.reached.wait(30)
        with session_scope(engine) as session:  # an hour on, by the database's clock: the claim counts as lost
            an_hour_ago = now_in_database(session) - STALE_AFTER - timedelta(minutes=1)
            session.execute(update(Draft).where(Draft.id == draft_id).values(updated_at=an_hour_ago))
            assert flag_interrupted_sends(session) == [draft_id]
        with session_scope(engine) as session:
            approve(session, draft_id, None, "Ola", "the customer did not get it")
        renewed = _claim(engine, draft_id)  # this process's next send, handing it to the server now
        assert renewed
    finally:
        holding.answer.set()
        sender.join(30)
        controller.stop()
    assert len(stalled) == 1 and "SMTPDataError: (451" in str(stalled[0])  # the old email refused: its sender gave up

    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        assert (draft.status, draft.claimed_by) == ("sending", renewed)
        assert session.scalar(select(func.count()).select_from(Send)) == 1  # the send the new claim mails on
    mail_server = Controller(holding, hostname="127.0.0.1", port=free_port())
    mail_server.start()
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(mail_server.port))
    try:
        assert send_campaign(lambda *_: None, engine, campaign_id)["sent"] == 0  # being mailed: not a second time
    finally:
        mail_server.stop()
    assert holding.received == []


def test_a_live_sender_s_claim_is_not_taken_for_a_stopped_one_s(engine):
    """A claim names its process for recovery to judge (service.jobs.recovery.stopped_processes): a draft another
    live process on this host is mailing stays "sending"; once that process has stopped, it goes back to review."""
    (draft_id,) = due_campaign(engine, 1)
    url = engine.url.render_as_string(hide_password=False)
    claiming = (
        "import sys\nfrom service.db.session import make_engine\nfrom service.pipeline.send_outcomes import claim\n"
        "print(claim(make_engine(sys.argv[1]), int(sys.argv[2])), flush=True)\nsys.stdin.read()\n"
    )
    sender = popen([sys.executable, "-c", claiming, url, str(draft_id)], stdin=subprocess.PIPE,
                   stdout=subprocess.PIPE, text=True, env=dict(os.environ), tailor_imported=True)  # fmt: skip
    try:
        assert sender.stdout.readline().strip() not in ("", "None", "False")
        with session_scope(engine) as session:
            assert flag_interrupted_sends(session) == []
    finally:
        sender.communicate("", timeout=30)
    with session_scope(engine) as session:
        assert flag_interrupted_sends(session) == [draft_id]
