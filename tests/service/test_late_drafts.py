"""After an outage the due-check puts back to review the drafts it finds long past their moment: approving again
at once those held back for lateness alone (API, review page, CLI), a bounded `held_back` in the send's result,
and the drafts held back before the mail server turned out to be down told in the failed job's result. Sending
through a real SMTP server on loopback."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from service.clock import utcnow
from service.db.models import Campaign, Draft, Review
from service.db.session import session_scope
from tests.conftest import free_port
from tests.service.conftest import wait_for_job
from tests.service.test_sending import CATALOG, approved_draft, new_campaign, send_job, upload_products

FAILED = [{"name": "grounding", "passed": False, "reason": "the intro mentions 70"}]


def scheduled_then_missed(client, engine, campaign_id: int, late: list[int], hours: float = 72) -> None:
    """Schedule the campaign, then make it as if the server had been stopped since its moment, ``hours`` ago:
    ``late`` drafts were due then (the others stay due later)."""
    at = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    job = client.post(f"/campaigns/{campaign_id}/send", params={"at": at.isoformat()}).json()["job_id"]
    assert wait_for_job(client, job)["status"] == "succeeded"
    missed = utcnow() - timedelta(hours=hours)
    with session_scope(engine) as session:
        session.get(Campaign, campaign_id).scheduled_at = missed
        for draft_id in late:
            session.get(Draft, draft_id).send_after = missed


def due_check(engine) -> dict:
    from service.pipeline.sending import send_due_drafts

    return send_due_drafts(lambda *_: None, engine)["campaigns"]


def test_the_drafts_held_back_for_lateness_alone_are_approved_again_at_once_and_go_at_the_next_due_check(
    client, engine, mail_server, monkeypatch
):
    """After an outage a big campaign's late drafts were approved again one by one: approving all pending leaves
    flagged drafts alone. Those flagged for anything else stay for a person."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    names = ("plain", "repriced", "edited", "overridden", "silent", "sold_out")
    drafts = {
        name: approved_draft(client, engine, campaign_id, name, ("K1",) if name == "sold_out" else ("T1",))
        for name in names
    }
    with session_scope(engine) as session:  # two variants fail a check: one approval overrode it, one did not
        for name in ("overridden", "silent"):
            session.get(Draft, drafts[name]).variants[0].checks = FAILED
        review = session.scalars(select(Review).where(Review.draft_id == drafts["overridden"])).one()
        review.overridden_checks, review.comment = ["grounding"], "the 70 is the shop's own anniversary"
    late = [drafts[name] for name in names if name != "sold_out"]
    scheduled_then_missed(client, engine, campaign_id, late)
    with session_scope(engine) as session:  # due a moment ago: not late, but its product sold out
        session.get(Draft, drafts["sold_out"]).send_after = utcnow() - timedelta(minutes=5)
    upload_products(client, CATALOG.assign(in_stock=["1", "0", "1"]))

    result = due_check(engine)[str(campaign_id)]
    assert result["sent"] == 0 and not messages
    assert result["held_back_count"] == 6 and len(result["held_back"]) == 6
    assert result["held_back_by_reason"] == {"late": 5, "stale_facts": 1}

    upload_products(client, CATALOG.assign(price=["8.25", "49", "12"]))  # T1's price changed since
    with session_scope(engine) as session:  # ...but the others' emails showed their old price: as it was
        for name in ("plain", "edited", "overridden", "silent"):
            draft = session.get(Draft, drafts[name])
            draft.recommendations = [{**draft.recommendations[0], "price": 8.25}]
    edited = client.get(f"/drafts/{drafts['edited']}").json()
    variant = edited["variants"][0]["id"]
    copy = {"subject": "Hello again", "preheader": "Picked for you", "intro": "We thought of you this week."}
    body = {**copy, "expected_revision": edited["revision"]}
    assert client.patch(f"/drafts/{drafts['edited']}/variants/{variant}", json=body).status_code == 200

    response = client.post(
        f"/campaigns/{campaign_id}/drafts/reapprove-late", json={"reviewer": "ops", "comment": "after the outage"}
    )
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["reapproved"] == 2  # plain, and the one whose approval overrode its check
    assert done["left"] == {
        "not_late": 1, "edited_since": 1, "changed_since_read": 0, "out_of_date": 1, "fails_checks": 1,
        "unseen_characters": 0,
    }  # fmt: skip
    assert done["left_for_review"] == 4
    assert done["goes"] == "at the next due-check (the campaign's scheduled moment has passed)"
    plain = client.get(f"/drafts/{drafts['plain']}").json()
    assert plain["status"] == "approved" and plain["retry_after"] is None
    assert abs(datetime.fromisoformat(plain["send_after"]).replace(tzinfo=None) - utcnow()) < timedelta(minutes=5)
    assert [r["action"] for r in plain["reviews"]] == ["approve", "approve"]
    assert (plain["reviews"][-1]["reviewer"], plain["reviews"][-1]["comment"]) == ("ops", "after the outage")
    overridden = client.get(f"/drafts/{drafts['overridden']}").json()
    assert overridden["reviews"][-1]["overridden_checks"] == ["grounding"]  # its approval's decision stands
    repriced = client.get(f"/drafts/{drafts['repriced']}").json()
    assert repriced["status"] == "flagged" and "now costs 8.25 EUR" in repriced["flag_reasons"][-1]
    for name in ("edited", "silent", "sold_out"):
        assert client.get(f"/drafts/{drafts[name]}").json()["status"] == "flagged"

    # A fresh approval: the next due-check finds them due now, not late again, and mails them.
    result = due_check(engine)[str(campaign_id)]
    assert result["sent"] == 2 and result["held_back_count"] == 0, result
    assert sorted(m["To"] for m in messages) == ["overridden@example.com", "plain@example.com"]

    again = client.post(f"/campaigns/{campaign_id}/drafts/reapprove-late").json()  # nothing late is left
    assert again["reapproved"] == 0 and again["goes"] == ""


def test_the_send_results_held_back_list_is_bounded_and_its_counts_exact(client, engine, mail_server, monkeypatch):
    """A campaign of 45,000 drafts after an outage listed each one held back, about 150 bytes each, in the job's
    row and its webhook."""
    from service.pipeline import freshness

    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setattr(freshness, "HELD_BACK_LISTED", 2)
    monkeypatch.setattr(freshness, "HOLD_BACK_BATCH", 2)  # across batches
    campaign_id = new_campaign(client)
    late = [approved_draft(client, engine, campaign_id, f"c{n}") for n in range(5)]
    scheduled_then_missed(client, engine, campaign_id, late)

    result = due_check(engine)[str(campaign_id)]
    assert result["held_back_count"] == 5 and result["held_back_by_reason"] == {"late": 5}
    assert [entry["draft_id"] for entry in result["held_back"]] == late[:2]
    flagged = client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "flagged"}).json()
    assert len(flagged) == 5  # every one is in review, listed or not


def test_drafts_held_back_before_the_mail_server_turns_out_to_be_down_are_told_in_the_failed_jobs_result(
    client, engine, monkeypatch
):
    """The failed job's result had only the error: the drafts put back to review before it were nowhere."""
    from service.errors import MailServerUnavailable, error_body

    monkeypatch.setenv("TAILOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(free_port()))  # nothing listens there
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id, "c1")
    sold_out = approved_draft(client, engine, campaign_id, "c2", ("K1",))
    upload_products(client, CATALOG.assign(in_stock=["1", "0", "1"]))

    job = send_job(client, campaign_id)  # a person's send
    assert job["status"] == "failed" and job["result"]["error"] == "MailServerUnavailable"
    assert job["result"]["held_back_count"] == 1 and job["result"]["held_back_by_reason"] == {"stale_facts": 1}
    assert job["result"]["held_back"][0]["draft_id"] == sold_out

    late = approved_draft(client, engine, campaign_id, "c3")
    scheduled_then_missed(client, engine, campaign_id, [late])  # the due-check's, with c1 due now
    with session_scope(engine) as session:
        session.scalar(select(Draft).where(Draft.status == "approved", Draft.id != late)).send_after = utcnow()
    with pytest.raises(MailServerUnavailable) as failed:
        due_check(engine)
    told = error_body(failed.value)["campaigns"][str(campaign_id)]
    assert told["held_back_count"] == 1 and told["held_back"][0]["draft_id"] == late
    assert told["held_back_by_reason"] == {"late": 1}


def test_the_review_page_and_the_cli_approve_again_the_drafts_held_back_for_lateness(
    client, engine, mail_server, monkeypatch
):
    from typer.testing import CliRunner

    from service import cli

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    late = [approved_draft(client, engine, campaign_id, f"c{n}") for n in range(2)]
    scheduled_then_missed(client, engine, campaign_id, late)
    assert 'id="reapprove-late"' not in client.get(f"/review/campaigns/{campaign_id}").text  # none held back yet
    due_check(engine)

    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert 'id="reapprove-late"' in page and "Approve again the 2 drafts held back for lateness" in page
    done = client.post(
        f"/review/campaigns/{campaign_id}/reapprove-late", data={"comment": "after the outage"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/review/campaigns/{campaign_id}?reapproved=2&")
    page = client.get(done.headers["location"]).text
    assert "Approved again 2 drafts held back for lateness." in page and 'id="reapprove-late"' not in page

    # A campaign never scheduled (sent at its customers' best hours): approved again, it goes with the next send.
    unscheduled = new_campaign(client)
    draft_id = approved_draft(client, engine, unscheduled, "c9")
    with session_scope(engine) as session:
        session.get(Draft, draft_id).send_after = utcnow() - timedelta(hours=30)
    assert due_check(engine)[str(unscheduled)]["held_back_by_reason"] == {"late": 1}
    monkeypatch.setattr(cli, "command_engine", lambda: engine)
    result = CliRunner().invoke(cli.app, ["drafts", "reapprove-late", str(unscheduled), "--reviewer", "ops"])
    assert result.exit_code == 0, result.output
    assert "approved again 1 draft held back for lateness" in result.output
    assert "they go with the campaign's next send a person asks for" in result.output
    assert client.get(f"/drafts/{draft_id}").json()["send_after"] is None
    assert send_job(client, unscheduled)["result"]["sent"] == 1 and messages[-1]["To"] == "c9@example.com"


def test_the_late_drafts_are_approved_again_on_either_database(any_engine, mail_server, monkeypatch):
    """The re-approval's conditional UPDATE ... RETURNING, by revision, and its reviews, on PostgreSQL as on SQLite."""
    from service.db.models import Brand, Customer, Variant
    from service.late_drafts import reapprove_late
    from tests.service.test_sending import FOOTER

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    missed = utcnow() - timedelta(hours=72)
    with session_scope(any_engine) as session:
        brand = session.scalar(select(Brand).where(Brand.slug == "hearth")) or Brand(slug="hearth", name="Hearth")
        campaign = Campaign(name="Missed", brand=brand, campaign_type="cross_sell", status="ready", scheduled_at=missed)
        for n, revision in enumerate((1, 1, 3)):  # approved once, or after an edit and a reopening
            customer = Customer(external_id=f"c{n}", email=f"c{n}@example.com", marketing_consent=True)
            variant = Variant(label="A", subject="Hello", html=f"<p>Hi</p><p>{FOOTER}</p>", text=f"Hi\n--\n{FOOTER}\n")
            draft = Draft(
                campaign=campaign, customer=customer, status="approved", variants=[variant], send_after=missed,
                revision=revision, reviews=[Review(action="approve", reviewer="ann", revision=revision)],
            )  # fmt: skip
            session.add(draft)
            session.flush()
            draft.selected_variant_id = variant.id
        campaign_id = campaign.id

    assert due_check(any_engine)[str(campaign_id)]["held_back_by_reason"] == {"late": 3}
    with session_scope(any_engine) as session:
        done = reapprove_late(session, campaign_id, "ops")
    assert done["reapproved"] == 3 and done["left_for_review"] == 0
    with session_scope(any_engine) as session:
        drafts = session.scalars(select(Draft).where(Draft.campaign_id == campaign_id).order_by(Draft.id)).all()
        assert [(d.status, d.revision, [r.reviewer for r in d.reviews]) for d in drafts] == [
            ("approved", 2, ["ann", "ops"]), ("approved", 2, ["ann", "ops"]), ("approved", 4, ["ann", "ops"]),
        ]  # fmt: skip
    assert due_check(any_engine)[str(campaign_id)]["sent"] == 3 and len(messages) == 3


def test_the_campaign_page_offers_exactly_the_drafts_approving_again_would_approve(engine):
    """The count the campaign's page shows on each load (read in one statement since it took 1.15 s at 20,000
    flagged drafts) is the number that approving them again approves: the latest flag reason a lateness hold-back's,
    the latest review an approval, in this campaign."""
    from service.db.models import Brand, Customer
    from service.late_drafts import count_held_back_late, reapprove_late
    from service.pipeline.freshness import LATE_BEGINS, LATE_ENDS

    late = f"{LATE_BEGINS}2026-01-01 09:00 UTC, 3 days ago (the service did not send meanwhile){LATE_ENDS}"
    drafts = {  # name: (status, flag reasons, review actions, oldest first)
        "late": ("flagged", [late], ["approve"]),
        "late_after_another_reason": ("flagged", ["Not approved with the others: K1 is sold out.", late], ["approve"]),
        "approved_twice": ("flagged", [late], ["approve", "reopen", "approve"]),
        "then_flagged_again": ("flagged", [late, "Held back at sending: T1 now costs 9.00 EUR."], ["approve"]),
        "edited_since": ("flagged", [late], ["approve", "edit"]),
        "never_reviewed": ("flagged", [late], []),
        "flagged_when_written": ("flagged", ["No product to show"], []),
        "approved": ("approved", [late], ["approve"]),
    }  # fmt: skip
    with session_scope(engine) as session:
        brand = Brand(slug="hearth", name="Hearth")
        campaigns = [Campaign(name=name, brand=brand, campaign_type="cross_sell") for name in ("big", "other")]
        for campaign in campaigns:
            for name, (status, reasons, actions) in drafts.items():
                customer = Customer(external_id=f"{campaign.name}-{name}", email=f"{name}@example.com")
                reviews = [Review(action=action) for action in actions]
                draft = Draft(campaign=campaign, customer=customer, status=status, flagged=True, flag_reasons=reasons)
                draft.reviews = reviews
                session.add(draft)
        session.flush()
        big, other = (campaign.id for campaign in campaigns)

    with session_scope(engine) as session:
        assert count_held_back_late(session, big) == 3
        assert count_held_back_late(session, other) == 3
        assert reapprove_late(session, big, "ops")["reapproved"] == 3
        assert count_held_back_late(session, big) == 0
        assert count_held_back_late(session, other) == 3


def test_the_due_check_holds_back_only_the_late_drafts_keeping_their_earlier_reasons(engine):
    """The hold-back writes rows by id (loading each late draft took most of a due-check of 20,000): the late drafts
    of the campaign, by their send time or their time to try the address again, are flagged with the lateness added
    to the reasons they had and their times cleared; the others are as they were."""
    from service.db.models import Brand, Customer
    from service.pipeline.freshness import LATE_ENDS, HeldBack, hold_back_late

    now = utcnow().replace(microsecond=0)
    earlier = "Flagged when written: no product to show"
    drafts = {  # name: (send_after, retry_after, flag reasons)
        "overridden": (now - timedelta(hours=72), None, [earlier]),
        "refused_for_now": (None, now - timedelta(hours=30), []),
        "due_lately": (now - timedelta(hours=1), None, []),
    }
    with session_scope(engine) as session:
        brand = Brand(slug="hearth", name="Hearth")
        big, other = (Campaign(name=name, brand=brand, campaign_type="cross_sell") for name in ("big", "other"))
        for campaign in (big, other):
            for name, (send_after, retry_after, reasons) in drafts.items():
                customer = Customer(external_id=f"{campaign.name}-{name}", email=f"{name}@example.com")
                draft = Draft(campaign=campaign, customer=customer, status="approved", flag_reasons=reasons)
                draft.flagged, draft.send_after, draft.retry_after = bool(reasons), send_after, retry_after
                session.add(draft)
        session.flush()
        big_id = big.id

    held_back = HeldBack()
    with session_scope(engine) as session:
        hold_back_late(session, big_id, now, timedelta(hours=24), held_back)

    told = held_back.told()
    assert told["held_back_count"] == 2 and told["held_back_by_reason"] == {"late": 2}
    assert [entry["customer_id"] for entry in told["held_back"]] == ["big-overridden", "big-refused_for_now"]
    with session_scope(engine) as session:
        rows = {draft.customer.external_id: draft for draft in session.scalars(select(Draft)).all()}
        overridden, refused = rows["big-overridden"], rows["big-refused_for_now"]
        for draft in (overridden, refused):
            assert (draft.status, draft.flagged, draft.send_after, draft.retry_after) == ("flagged", True, None, None)
            assert draft.flag_reasons[-1].endswith(f"(the service did not send meanwhile){LATE_ENDS}")
        assert overridden.flag_reasons[0] == earlier and len(overridden.flag_reasons) == 2
        assert "3 days ago" in overridden.flag_reasons[-1] and "30 hours ago" in refused.flag_reasons[-1]
        for name in ("big-due_lately", "other-overridden", "other-refused_for_now", "other-due_lately"):
            assert rows[name].status == "approved"
        assert rows["other-overridden"].flag_reasons == [earlier]


def test_a_late_draft_edited_into_failing_a_check_is_counted_as_edited_since(client, engine, mail_server, monkeypatch):
    """A draft held back for lateness and then edited into copy that fails a check was counted as "flagged for
    another reason than lateness (written flagged, held back for its facts or its checks, ...)": the edit's check
    reason came after the hold-back's, and only the latest reason was read. A person is at it: edited since."""
    from service.pipeline.flags import CHECK_REASON

    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    draft_id = approved_draft(client, engine, campaign_id, "c1", ("T1",))
    scheduled_then_missed(client, engine, campaign_id, [draft_id])
    assert due_check(engine)[str(campaign_id)]["held_back_by_reason"] == {"late": 1}
    draft = client.get(f"/drafts/{draft_id}").json()
    body = {"subject": "FREE!!! Act now, 100% guaranteed", "expected_revision": draft["revision"]}
    edited = client.patch(f"/drafts/{draft_id}/variants/{draft['variants'][0]['id']}", json=body)
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "flagged" and CHECK_REASON in edited.json()["flag_reasons"][-1]

    done = client.post(f"/campaigns/{campaign_id}/drafts/reapprove-late").json()

    assert done["reapproved"] == 0 and done["left_for_review"] == 1
    assert done["left"] == {
        "not_late": 0, "edited_since": 1, "changed_since_read": 0, "out_of_date": 0, "fails_checks": 0,
        "unseen_characters": 0,
    }  # fmt: skip


def test_a_draft_held_back_after_the_page_was_read_is_not_approved_again_from_it(
    client, engine, mail_server, monkeypatch
):
    """The page offered to approve again the one draft held back when it was read; a due-check then held back
    another, and the button approved both: the hold-back writes no review, and the page's marker (its latest
    review) took a draft approved before the page was read for one the person had seen held back."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    seen, unseen = (approved_draft(client, engine, campaign_id, name) for name in ("seen", "unseen"))
    scheduled_then_missed(client, engine, campaign_id, [seen])
    assert due_check(engine)[str(campaign_id)]["held_back_by_reason"] == {"late": 1}  # `unseen` is due later
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert "Approve again the 1 draft held back for lateness" in page
    form = page.split('id="reapprove-late"', 1)[1].split("</form>", 1)[0]
    read = dict(re.findall(r'name="(read_\w+)" value="([^"]*)"', form))
    with session_scope(engine) as session:
        session.get(Draft, unseen).send_after = utcnow() - timedelta(hours=72)
    assert due_check(engine)[str(campaign_id)]["held_back_by_reason"] == {"late": 1}  # after the page was read

    done = client.post(f"/review/campaigns/{campaign_id}/reapprove-late", data=read, follow_redirects=False)

    assert done.status_code == 303
    assert "?reapproved=1&" in done.headers["location"] and "&changed=1&" in done.headers["location"]
    assert client.get(f"/drafts/{seen}").json()["status"] == "approved"
    assert client.get(f"/drafts/{unseen}").json()["status"] == "flagged"
    told = client.get(done.headers["location"]).text
    assert "Approved again 1 draft held back for lateness." in told
    assert "1 held back for lateness after you read this page" in told
