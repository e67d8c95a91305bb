"""`tailor drafts list|show|approve|reject`: a shop without a browser reviews its flagged drafts one by one. They
could be read, approved or rejected only on /review or through the API; `tailor drafts approve-pending` leaves
every flagged draft for a person."""

from __future__ import annotations

import re
from typing import get_args

from sqlalchemy import select

from service.campaigns import ensure_brand
from service.db.models import Campaign, Customer, Draft, Variant
from service.db.session import session_scope
from tests.service.test_cli import run

SPAM = {"name": "spam_triggers", "passed": False, "reason": "'FREE!!!' reads as spam"}
FINE = {"name": "spam_triggers", "passed": True, "reason": ""}


def flagged_draft(engine, name: str = "ana") -> int:
    """A flagged draft of a new campaign: variant A, chosen, fails the spam check; variant B passes every check."""
    with session_scope(engine) as session:
        campaign = Campaign(name=f"{name} sale", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        customer = Customer(external_id=f"C-{name}", email=f"{name}@example.com", first_name=name.title(),
                            marketing_consent=True)  # fmt: skip
        variants = [
            Variant(label="A", subject="FREE!!! gifts", preheader="Today only", text="Hello Ana,\nFREE gifts inside.",
                    checks=[SPAM], p_open=0.241, p_click=0.032, p_conversion=0.008),
            Variant(label="B", subject="Picked for you", preheader="Three new arrivals",
                    text="Hello Ana,\nNew in.\n-- \nUnsubscribe: {{unsubscribe_url}}", checks=[FINE], p_open=0.198),
        ]  # fmt: skip
        draft = Draft(campaign=campaign, customer=customer, status="flagged", flagged=True, variants=variants,
                      flag_reasons=["Variant A fails a check: spam words"])  # fmt: skip
        session.add(draft)
        session.flush()
        draft.selected_variant_id = variants[0].id
        return draft.id


def draft_state(engine, draft_id: int) -> tuple[str, str | None, list[tuple[str, str, str]]]:
    """The draft's status, its chosen variant's label, and its reviews (action, reviewer, comment)."""
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        chosen = next((v.label for v in draft.variants if v.id == draft.selected_variant_id), None)
        return draft.status, chosen, [(r.action, r.reviewer, r.comment) for r in draft.reviews]


def test_show_gives_a_copywriter_the_customer_the_flag_and_each_variant_s_copy_scores_and_checks(engine, tailor_home):
    draft_id = flagged_draft(engine)

    shown = run(["drafts", "show", str(draft_id)], tailor_home)

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert re.fullmatch(rf"draft {draft_id} of campaign \d+: flagged, revision 0", lines[0])
    assert lines[1] == "customer C-ana: Ana <ana@example.com>, en, no_orders"
    assert "  - Variant A fails a check: spam words" in lines
    a = lines.index(next(line for line in lines if line.startswith("variant A ")))
    assert lines[a].endswith(", chosen)")
    assert lines[a + 1 : a + 9] == [
        "  subject: FREE!!! gifts",
        "  preheader: Today only",
        "  scores: P(open) 24.1%, P(click) 3.2%, P(conversion) 0.8%",
        "  checks: 0 passed, 1 failed:",
        "    - spam words: 'FREE!!!' reads as spam",
        "  text:",
        "    Hello Ana,",
        "    FREE gifts inside.",
    ]
    assert "  scores: P(open) 19.8%" in lines and "  checks: 1 passed" in lines
    # the footer's link as a reviewer reads it, not the template's placeholder
    assert "    Unsubscribe: [the recipient's own unsubscribe link, made when it is sent]" in lines
    missing = run(["drafts", "show", "9999"], tailor_home)
    assert missing.returncode == 2 and missing.stderr.strip() == "error: Draft 9999 does not exist."


def test_show_says_why_a_variant_is_in_template_copy_as_the_review_page_does(engine, tailor_home):
    """`drafts show` said "in template copy" and no more, where the review page lists the checks that turned the
    model's copy down: a copywriter at a terminal could not tell a model inventing prices from one that cannot write
    the language."""
    with session_scope(engine) as session:
        campaign = Campaign(name="win back", brand=ensure_brand(session, "hearth"), campaign_type="win_back")
        customer = Customer(external_id="C-eva", email="eva@example.com", first_name="Eva", marketing_consent=True)
        invented = "the subject mentions 9.99, which is not in the product or offer data"
        checks = [{"name": "grounding", "passed": True, "reason": "", "turned_down": invented}, FINE]
        variant = Variant(label="A", subject="It has been a while", preheader="A few ideas", text="Hello Eva,",
                          checks=checks, used_fallback=True)  # fmt: skip
        draft = Draft(campaign=campaign, customer=customer, status="pending", variants=[variant])
        session.add(draft)
        session.flush()
        draft_id = draft.id

    shown = run(["drafts", "show", str(draft_id)], tailor_home)

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    checks_line = lines.index("  checks: 2 passed")
    assert lines[checks_line + 1 : checks_line + 4] == [
        "  why template copy: the model's copy failed",
        f"    - facts from the data: {invented}",
        "  text:",
    ]


def test_approve_refuses_a_variant_that_fails_a_check_and_approves_another(engine, tailor_home):
    draft_id = flagged_draft(engine)

    refused = run(["drafts", "approve", str(draft_id)], tailor_home)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"error: Variant A of draft {draft_id} failed a check (spam words)")
    no_why = run(["drafts", "approve", str(draft_id), "--override-checks"], tailor_home)
    assert no_why.returncode == 2 and f"draft {draft_id} was not reviewed: say in --comment why" in no_why.stderr
    unknown = run(["drafts", "approve", str(draft_id), "--variant", "Z"], tailor_home)
    assert unknown.returncode == 2 and f"Draft {draft_id} has no variant Z: its variants are A, B." in unknown.stderr
    assert draft_state(engine, draft_id) == ("flagged", "A", [])

    approved = run(["drafts", "approve", str(draft_id), "--variant", "b", "--reviewer", "Ola"], tailor_home)

    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.startswith(
        f"draft {draft_id} approved with variant B; it goes with the campaign's next send"
    )
    assert draft_state(engine, draft_id) == ("approved", "B", [("approve", "Ola", "")])
    again = run(["drafts", "approve", str(draft_id)], tailor_home)
    assert again.returncode == 2
    assert again.stderr.strip() == (
        f"error: Draft {draft_id} is already approved; only pending or flagged drafts can be reviewed."
    )


def test_approve_overrides_failed_checks_with_a_comment_kept_with_the_review(engine, tailor_home):
    draft_id = flagged_draft(engine)

    approved = run(["drafts", "approve", str(draft_id), "--override-checks", "--comment", "our brand says FREE",
                    "--revision", "0"], tailor_home)  # fmt: skip

    assert approved.returncode == 0, approved.stderr
    assert draft_state(engine, draft_id) == ("approved", "A", [("approve", "", "our brand says FREE")])
    with session_scope(engine) as session:
        assert session.get(Draft, draft_id).reviews[0].overridden_checks == ["spam_triggers"]


def test_reject_needs_a_reason_and_keeps_it_in_the_review_history(engine, tailor_home):
    draft_id = flagged_draft(engine)

    assert run(["drafts", "reject", str(draft_id)], tailor_home).returncode == 2  # no --reason
    blank = run(["drafts", "reject", str(draft_id), "--reason", " "], tailor_home)
    assert blank.returncode == 2 and f"draft {draft_id} was not reviewed: say in --reason why" in blank.stderr
    stale = run(["drafts", "reject", str(draft_id), "--reason", "off brand", "--revision", "3"], tailor_home)
    assert stale.returncode == 2 and f"draft {draft_id}" in stale.stderr.lower()
    assert draft_state(engine, draft_id) == ("flagged", "A", [])

    rejected = run(["drafts", "reject", str(draft_id), "--reason", "off brand", "--reviewer", "Ola"], tailor_home)

    assert rejected.returncode == 0, rejected.stderr
    assert rejected.stdout.strip() == f"draft {draft_id} rejected: it will not be sent"
    assert draft_state(engine, draft_id) == ("rejected", "A", [("reject", "Ola", "off brand")])


def test_a_review_s_mistake_is_named_by_the_command_s_option(engine, tailor_home):
    """`tailor drafts approve 7 --revision 99` said "draft 7 rejected, nothing was written: field 'expected_revision'":
    the API's name of the value, and "rejected" of a draft that was being approved; a reason over the limit was
    "field 'comment'", an option `tailor drafts reject` does not have."""
    draft_id = flagged_draft(engine)
    never = (
        f"error: draft {draft_id} was not reviewed: option '--revision': the draft is at revision 0; it never had 99"
    )

    approved = run(["drafts", "approve", str(draft_id), "--variant", "B", "--revision", "99"], tailor_home)
    rejected = run(["drafts", "reject", str(draft_id), "--reason", "off brand", "--revision", "99"], tailor_home)
    too_long = run(["drafts", "reject", str(draft_id), "--reason", "x" * 5001], tailor_home)

    assert approved.returncode == 2 and approved.stderr.splitlines() == [never]
    assert rejected.returncode == 2 and rejected.stderr.splitlines() == [never]
    assert too_long.returncode == 2 and too_long.stderr.splitlines() == [
        f"error: draft {draft_id} was not reviewed: option '--reason': is 5,001 characters long; at most 5,000"
    ]
    assert draft_state(engine, draft_id) == ("flagged", "A", [])


def test_a_bulk_approval_s_comment_over_the_limit_is_named_by_the_command_s_option(engine, tailor_home):
    """`tailor drafts approve-pending 3 --comment ...` over the limit said "review rejected, nothing was written:
    field 'comment'": the API's word for the value, and a review of no draft in particular."""
    with session_scope(engine) as session:
        campaign_id = session.get(Draft, flagged_draft(engine)).campaign_id
    refused = f"error: campaign {campaign_id}'s drafts were not approved: option '--comment': is 5,001 characters "

    for command in ("approve-pending", "reapprove-late"):
        too_long = run(["drafts", command, str(campaign_id), "--comment", "x" * 5001], tailor_home)

        assert too_long.returncode == 2 and too_long.stderr.splitlines() == [f"{refused}long; at most 5,000"], command


def test_list_shows_a_campaign_s_drafts_flagged_first_and_keeps_to_a_status(engine, tailor_home):
    draft_id = flagged_draft(engine)
    with session_scope(engine) as session:
        campaign_id = session.get(Draft, draft_id).campaign_id
        customer = Customer(external_id="C-bo", email="bo@example.com", marketing_consent=True)
        pending = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[Variant(label="A",
                        subject="Hello Bo")])  # fmt: skip
        session.add(pending)
        session.flush()
        pending.selected_variant_id, pending_id = pending.variants[0].id, pending.id

    listed = run(["drafts", "list", "--campaign", str(campaign_id)], tailor_home)

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        f"{draft_id}  C-ana  flagged  FREE!!! gifts  (Variant A fails a check: spam words)",
        f"{pending_id}  C-bo  pending  Hello Bo",
    ]
    flagged = run(["drafts", "list", "--campaign", str(campaign_id), "--status", "flagged"], tailor_home)
    assert flagged.returncode == 0 and flagged.stdout.splitlines() == [listed.stdout.splitlines()[0]]
    none = run(["drafts", "list", "--campaign", str(campaign_id), "--status", "sent"], tailor_home)
    assert none.returncode == 0 and none.stdout == ""
    assert f"campaign {campaign_id} has no drafts with the status sent" in none.stderr
    assert run(["drafts", "list", "--campaign", "404"], tailor_home).returncode == 2


def test_list_pages_through_a_campaign_of_more_drafts_than_one_listing_holds(engine, tailor_home):
    """A full listing said "--limit for more", which stops at 1,000: the flagged drafts of a big campaign past the
    first 1,000 could not be listed at all."""
    from tests.service.test_cli_send_due import campaign_with_drafts

    campaign_id = campaign_with_drafts(engine, "big", due=3)

    first = run(["drafts", "list", "--campaign", str(campaign_id), "--limit", "2"], tailor_home)
    rest = run(["drafts", "list", "--campaign", str(campaign_id), "--limit", "2", "--offset", "2"], tailor_home)

    assert first.returncode == 0 and rest.returncode == 0, (first.stderr, rest.stderr)
    assert [line.split()[1] for line in first.stdout.splitlines()] == ["big0", "big1"]
    assert "drafts 1 to 2 shown: --offset 2 for the next" in first.stderr
    assert [line.split()[1] for line in rest.stdout.splitlines()] == ["big2"] and rest.stderr == ""


def test_list_offers_a_next_page_only_when_there_is_one(engine, tailor_home):
    """A listing of exactly --limit drafts said "--offset N for the next" though no draft was left: the page it
    offered was empty."""
    from tests.service.test_cli_send_due import campaign_with_drafts

    campaign_id = campaign_with_drafts(engine, "big", due=3)

    exactly = run(["drafts", "list", "--campaign", str(campaign_id), "--limit", "3"], tailor_home)
    last_page = run(["drafts", "list", "--campaign", str(campaign_id), "--limit", "1", "--offset", "2"], tailor_home)
    full_last = run(["drafts", "list", "--campaign", str(campaign_id), "--limit", "2", "--offset", "1"], tailor_home)

    assert exactly.returncode == 0 and len(exactly.stdout.splitlines()) == 3, exactly.stderr
    assert "for the next" not in exactly.stderr, exactly.stderr
    assert [line.split()[1] for line in last_page.stdout.splitlines()] == ["big2"]
    assert "for the next" not in last_page.stderr, last_page.stderr
    assert full_last.returncode == 0 and len(full_last.stdout.splitlines()) == 2, full_last.stderr
    assert "for the next" not in full_last.stderr, full_last.stderr


def test_list_refuses_an_offset_past_what_the_database_holds(engine, tailor_home):
    """`--offset 9223372036854775808` (one past SQLite's largest integer) ended in a traceback from its driver;
    GET /campaigns/{id}/drafts refuses it (422)."""
    from tests.service.test_cli_send_due import campaign_with_drafts

    campaign_id = campaign_with_drafts(engine, "big", due=1)

    listed = run(["drafts", "list", "--campaign", str(campaign_id), "--offset", str(2**63)], tailor_home)

    assert listed.returncode == 2 and "Traceback" not in listed.stderr, listed.stderr
    assert "Invalid value for '--offset'" in listed.stderr


def test_show_says_when_an_address_the_mail_server_refused_for_now_is_tried_again(engine, tailor_home, monkeypatch):
    """A draft whose address was greylisted showed as approved and nothing more, where the review page says when it
    is tried again: the person could not tell why an approved draft had not gone."""
    from service.jobs import InlineJobRunner
    from service.pipeline.sending import send_campaign
    from tests.service.test_cli_send_due import campaign_with_drafts
    from tests.service.test_sending import _GreylistingServer, serving_smtp

    campaign_id = campaign_with_drafts(engine, "autumn", due=1)
    with serving_smtp(_GreylistingServer(refuse="autumn0@example.com", answer="451 4.7.1 greylisted"), monkeypatch):
        InlineJobRunner(engine).submit("send", send_campaign, engine=engine, campaign_id=campaign_id)
    with session_scope(engine) as session:
        draft = session.scalar(select(Draft).where(Draft.campaign_id == campaign_id))
        draft_id, retry_after = draft.id, draft.retry_after

    shown = run(["drafts", "show", str(draft_id)], tailor_home)

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"draft {draft_id} of campaign {campaign_id}: approved, ")
    assert lines[2] == f"tried again at {retry_after:%Y-%m-%d %H:%M} UTC: the mail server refused the address for now"


def test_show_and_approve_say_when_a_draft_goes_on_its_customers_clock(engine, tailor_home):
    """A New Yorker's email at 09:00 there read "goes at ... 14:00 UTC": the time of no clock the copywriter or the
    customer reads, where the campaign's page says 09:00 America/New_York."""
    from datetime import datetime

    draft_id = flagged_draft(engine, "ny")
    friday_nine = datetime(2027, 1, 8, 14)  # 09:00 in New York, 15:00 in Berlin
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        draft.customer.timezone, draft.campaign.scheduled_at = "America/New_York", friday_nine

    approved = run(
        ["drafts", "approve", str(draft_id), "--variant", "B"], tailor_home, TAILOR_SEND_TIMEZONE="Europe/Berlin"
    )
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.strip().endswith("it goes at 2027-01-08 09:00 America/New_York (`tailor send-due`)")
    shown = run(["drafts", "show", str(draft_id)], tailor_home, TAILOR_SEND_TIMEZONE="Europe/Berlin")
    lines = shown.stdout.splitlines()
    assert lines[1:3] == [
        "customer C-ny: Ny <ny@example.com>, en, America/New_York, no_orders",
        "goes at 2027-01-08 09:00 America/New_York",
    ]
    with session_scope(engine) as session:  # a customer on the shop's clock: the shop's, named
        session.get(Draft, draft_id).customer.timezone = None
    lines = run(
        ["drafts", "show", str(draft_id)], tailor_home, TAILOR_SEND_TIMEZONE="Europe/Berlin"
    ).stdout.splitlines()
    assert lines[1:3] == ["customer C-ny: Ny <ny@example.com>, en, no_orders", "goes at 2027-01-08 15:00 CET"]


def test_list_sorts_the_drafts_in_each_order_the_api_takes_and_refuses_another_naming_the_option(
    client, engine, tailor_home
):
    """`tailor drafts list` listed flagged first only, where the API and the review page sort by predicted opens or
    clicks, status, customer or the audience's order: a copywriter at a terminal could not list the likeliest
    openers first."""
    from service.draft_sorts import DraftSort
    from tests.service.test_draft_sorting import _campaign_of_ties

    with session_scope(engine) as session:
        campaign_id = _campaign_of_ties(session)
    for sort in get_args(DraftSort):
        listed = run(["drafts", "list", "--campaign", str(campaign_id), "--sort", sort], tailor_home)
        assert listed.returncode == 0, listed.stderr
        by_api = [d["id"] for d in client.get(f"/campaigns/{campaign_id}/drafts", params={"sort": sort}).json()]
        assert [int(line.split()[0]) for line in listed.stdout.splitlines()] == by_api, sort
    paged = run(["drafts", "list", "--campaign", str(campaign_id), "--sort", "p_open", "--limit", "2", "--offset", "2"],
                tailor_home)  # fmt: skip
    by_api = client.get(f"/campaigns/{campaign_id}/drafts", params={"sort": "p_open", "limit": 2, "offset": 2}).json()
    assert [int(line.split()[0]) for line in paged.stdout.splitlines()] == [d["id"] for d in by_api]

    refused = run(["drafts", "list", "--campaign", str(campaign_id), "--sort", "score"], tailor_home)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    said = " ".join(refused.stderr.replace("│", " ").split())  # as the error's box wraps it
    assert "Invalid value for --sort: 'score' is not one of: flagged, audience," in said
    assert "p_open, p_click, status, customer" in said
