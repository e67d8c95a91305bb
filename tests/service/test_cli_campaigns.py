"""`tailor campaigns list`, and the commands taking a campaign id pointing at it when the id names none: a shop
without a server had no way to learn its campaigns' ids."""

from __future__ import annotations

import pytest

from service.campaigns import delete_campaign, ensure_brand
from service.db.models import Campaign, Customer, Draft, Variant
from service.db.session import session_scope
from tests.service.conftest import free_port
from tests.service.test_cli import run


def _campaign(session, name: str, status: str, draft_statuses: list[str]) -> int:
    campaign = Campaign(name=name, brand=ensure_brand(session, "hearth"), campaign_type="vip", status=status)
    session.add(campaign)
    for n, draft_status in enumerate(draft_statuses):
        customer = Customer(external_id=f"{name}-{n}", email=f"{name}-{n}@example.com", marketing_consent=True)
        variants = [Variant(label="A", subject="Hi")]
        session.add(Draft(campaign=campaign, customer=customer, status=draft_status, variants=variants))
    session.flush()
    return campaign.id


def test_campaigns_list_shows_each_campaign_newest_first_with_its_drafts_by_status(engine, tailor_home):
    with session_scope(engine) as session:
        autumn = _campaign(session, "Autumn sale", "ready", ["pending", "pending", "flagged", "approved"])
        empty = _campaign(session, "Not generated", "created", [])
        gone = _campaign(session, "Deleted", "created", [])
        delete_campaign(session, gone)

    listed = run(["campaigns", "list"], tailor_home)

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{empty}  Not generated  vip  created  created ") and lines[0].endswith("no drafts")
    assert lines[1].startswith(f"{autumn}  Autumn sale  vip  ready  created ")
    assert lines[1].endswith("drafts: 2 pending, 1 flagged, 1 approved")


def test_campaigns_list_keeps_to_one_status_and_says_when_there_is_none(engine, tailor_home):
    with session_scope(engine) as session:
        ready = _campaign(session, "Ready one", "ready", ["pending"])
        _campaign(session, "Failed one", "failed", [])

    only_ready = run(["campaigns", "list", "--status", "ready"], tailor_home)
    assert only_ready.returncode == 0 and [line.split("  ")[0] for line in only_ready.stdout.splitlines()] == [
        str(ready)
    ]
    none_sent = run(["campaigns", "list", "--status", "sent"], tailor_home)
    assert none_sent.returncode == 0 and none_sent.stdout == ""
    assert "no campaigns with the status sent; `tailor generate` makes one" in none_sent.stderr
    assert run(["campaigns", "list", "--status", "done"], tailor_home).returncode == 2


def test_a_campaign_id_that_names_none_points_at_the_list(engine, tailor_home):
    """`tailor export` and `tailor drafts reapprove-late` said "Campaign 1 does not exist" and no more."""
    with session_scope(engine) as session:
        gone = _campaign(session, "Deleted", "created", [])
        delete_campaign(session, gone)
    hint = "`tailor campaigns list` shows the campaigns and their ids."
    for args in (
        ["export", "--campaign", "77", "--out", str(tailor_home / "drafts.jsonl")],
        ["drafts", "reapprove-late", "77"],
        ["drafts", "reapprove-late", str(gone)],
    ):
        refused = run(args, tailor_home)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.strip().endswith(hint), refused.stderr
    assert "does not exist" in refused.stderr or "was deleted" in refused.stderr


def test_drafts_approve_pending_approves_what_passed_and_leaves_the_flagged_for_a_person(engine, tailor_home):
    """A shop without a server could not approve a campaign's drafts at all: the `drafts` commands, "Review a
    campaign's drafts in bulk", only approved again those held back for lateness, so `tailor export --status
    approved` had nothing to write."""
    with session_scope(engine) as session:
        campaign_id = _campaign(session, "Winter", "ready", ["pending", "pending", "flagged"])
        for draft in session.query(Draft).filter_by(campaign_id=campaign_id):
            draft.selected_variant_id = draft.variants[0].id

    approved = run(["drafts", "approve-pending", str(campaign_id), "--reviewer", "Ola"], tailor_home)

    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.splitlines() == [
        "approved 2 pending drafts, each with its chosen variant",
        f"1 flagged draft waits for a person: `tailor drafts list --campaign {campaign_id} --status flagged` lists "
        "them, or review them at /review (`tailor serve`)",
    ]
    with session_scope(engine) as session:
        drafts = session.query(Draft).filter_by(campaign_id=campaign_id).order_by(Draft.id).all()
        assert [draft.status for draft in drafts] == ["approved", "approved", "flagged"]
        assert {review.reviewer for draft in drafts[:2] for review in draft.reviews} == {"Ola"}
    out = tailor_home / "approved.jsonl"
    exported = run(["export", "--campaign", str(campaign_id), "--status", "approved", "--out", str(out)], tailor_home)
    assert exported.returncode == 0 and len(out.read_text().splitlines()) == 2, exported.stderr
    refused = run(["drafts", "approve-pending", "404"], tailor_home)
    assert refused.returncode == 2 and "`tailor campaigns list`" in refused.stderr


def test_send_mails_the_approved_drafts_through_the_smtp_server(engine, tailor_home, demo_files, mail_server,
                                                                live_server, monkeypatch):  # fmt: skip
    """A shop without a server could approve and export its drafts but not send them: only POST
    /campaigns/{id}/send did, on a running server. It sends only while a Tailor server answers where the emails'
    unsubscribe links lead: with none, `tailor send` mailed links nobody could follow, and warned after."""
    from service.drafts import approve_pending
    from service.pipeline.campaign_runs import create_and_generate
    from tests.service.conftest import trained_in_process

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_in_process(engine, demo_files)
    campaign_id = create_and_generate(
        engine, campaign_type="cross_sell", brand="hearth", limit=3, name="Sent", audience_query=None
    ).campaign_id
    with session_scope(engine) as session:
        approved = approve_pending(session, campaign_id, "Ola")["approved"]
    assert approved > 0
    controller, messages = mail_server
    silent = f"http://127.0.0.1:{free_port()}"

    refused = run(["send", "--campaign", str(campaign_id)], tailor_home, TAILOR_SMTP_PORT=str(controller.port),
                  TAILOR_PUBLIC_URL=silent)  # fmt: skip

    assert refused.returncode != 0 and messages == []
    assert f"Nothing was sent: the emails' unsubscribe links would lead to {silent}, and nothing answers at " in (
        refused.stderr
    )
    assert "`tailor serve`" in refused.stderr and "--unchecked-links" in refused.stderr
    with session_scope(engine) as session:
        assert {draft.status for draft in session.query(Draft).filter_by(campaign_id=campaign_id)} >= {"approved"}
        assert session.query(Draft).filter_by(campaign_id=campaign_id, status="sending").count() == 0

    unchecked = run(["send", "--campaign", str(campaign_id), "--unchecked-links", "--batch-size", "1"], tailor_home,
                    TAILOR_SMTP_PORT=str(controller.port), TAILOR_PUBLIC_URL=silent)  # fmt: skip
    assert unchecked.returncode == 0 and "sent 1 email" in unchecked.stdout.splitlines(), unchecked.stderr
    assert len(messages) == 1
    left = approved - 1  # said, as nothing said how many the batch left
    due = f"{left} approved draft{' is' if left == 1 else 's are'} due and left for the next batch"
    assert f"{due}: send again to mail them" in unchecked.stdout.splitlines()

    sent = run(["send", "--campaign", str(campaign_id)], tailor_home, TAILOR_SMTP_PORT=str(controller.port),
               TAILOR_PUBLIC_URL=live_server)  # fmt: skip

    assert sent.returncode == 0, sent.stderr
    rest = approved - 1
    assert f"sent {rest} email{'s' if rest != 1 else ''}" in sent.stdout.splitlines()
    assert len(messages) == approved
    again = run(["send", "--campaign", str(campaign_id)], tailor_home, TAILOR_SMTP_PORT=str(controller.port),
                TAILOR_PUBLIC_URL=silent)  # fmt: skip
    assert again.returncode == 0 and "sent 0 emails" in again.stdout and len(messages) == approved
    refused = run(["send", "--campaign", "404"], tailor_home, TAILOR_SMTP_PORT=str(controller.port))
    assert refused.returncode == 2 and "`tailor campaigns list`" in refused.stderr


def test_send_says_why_drafts_were_held_back_and_skipped():
    """`tailor send` put every draft held back down to changed products, though the due-check holds late ones back and
    a send those whose copy fails a check; and every skip down to an unsubscribe or a bounce."""
    from service.cli_sending import _send_words

    result = {
        "sent": 3, "skipped": 2, "waiting": 0, "deferred": 0, "refused": [],
        "held_back_count": 4, "held_back_by_reason": {"late": 2, "stale_facts": 1, "unseen_characters": 1},
    }  # fmt: skip
    assert _send_words(result) == [
        "sent 3 emails",
        "skipped 2: customers who may not be mailed (unsubscribed, bounced, an address already mailed in this "
        "campaign; each draft says why)",
        "back to review: 4 (too late to send: 2, products changed since written: 1, copy, address or a link holds "
        "characters no one sees: 1)",
    ]


def test_send_says_how_many_drafts_wait_in_words_that_agree_with_their_number():
    """Several waiting drafts were told "4 approved drafts wait for its send time"."""
    from service.cli_sending import _send_words

    for waiting, told in [
        (1, "1 approved draft waits for its send time (1 held back by the contact policy)"),
        (4, "4 approved drafts wait for their send times (4 held back by the contact policy)"),
    ]:
        result = {
            "sent": 0, "skipped": 0, "waiting": waiting, "deferred": waiting, "refused": [],
            "next_send_at": "2026-12-07T06:00:00Z",
        }  # fmt: skip
        then = "the next falls due 2026-12-07 06:00 UTC: send again then"
        assert _send_words(result) == ["sent 0 emails", f"{told}; {then}"]


def test_send_says_how_many_drafts_it_deferred_when_none_waits():
    """A due-check the mail server stopped part way tells what each campaign did before it, with no draft counted as
    waiting: the drafts the contact policy deferred went unsaid."""
    from service.cli_sending import _send_words

    result = {"sent": 2, "skipped": 0, "waiting": 0, "deferred": 3, "refused": []}
    assert _send_words(result) == ["sent 2 emails", "deferred 3 by the contact policy (each draft says until when)"]


@pytest.mark.parametrize(
    ("shop_zone", "told"),
    [
        ("UTC", "2026-12-07 03:00 UTC"),
        ("Europe/Berlin", "2026-12-07 04:00 CET (03:00 UTC)"),
        ("America/New_York", "2026-12-06 22:00 EST (2026-12-07 03:00 UTC)"),  # another day in UTC: said
        ("Asia/Kathmandu", "2026-12-07 08:45 +0545 (03:00 UTC)"),
    ],
)
def test_send_says_when_the_next_draft_falls_due_on_the_shop_s_clock(monkeypatch, shop_zone, told):
    """A marketer of a Berlin shop read "the next falls due 2026-12-07T03:00:00Z" for an email going at 04:00
    there: the shop's clock (TAILOR_SEND_TIMEZONE) says it, with UTC beside it as the logs and the API keep it."""
    from service.cli_sending import _send_words

    monkeypatch.setenv("TAILOR_SEND_TIMEZONE", shop_zone)
    result = {"sent": 0, "skipped": 0, "waiting": 1, "deferred": 0, "refused": []}
    waiting = _send_words(result | {"next_send_at": "2026-12-07T03:00:00Z"})[-1]
    assert waiting == f"1 approved draft waits for its send time; the next falls due {told}: send again then"


def test_a_send_of_a_campaign_without_drafts_says_it_has_none_not_only_sent_0(engine, tailor_home, monkeypatch):
    """`tailor send` of a campaign whose generation failed before its first draft said "sent 0 emails" and nothing
    else, where its job's message said why ("campaign N has no drafts; generate it first"); nothing that was due
    said only that too."""
    from typer.testing import CliRunner

    from service import cli

    with session_scope(engine) as session:
        empty = _campaign(session, "Never written", "failed", [])
        sent = _campaign(session, "All gone", "sent", ["sent", "sent"])
    monkeypatch.setattr(cli, "command_engine", lambda: engine)

    nothing = CliRunner().invoke(cli.app, ["send", "--campaign", str(empty), "--unchecked-links"])
    none_due = CliRunner().invoke(cli.app, ["send", "--campaign", str(sent), "--unchecked-links"])

    assert nothing.exit_code == 0 and nothing.stdout.splitlines() == [
        f"sent 0 emails: campaign {empty} has no drafts; generate it first (`tailor campaigns generate {empty}`)"
    ]
    assert none_due.exit_code == 0 and none_due.stdout.splitlines() == ["sent 0 emails: no approved draft is due"]


def test_export_names_the_file_asked_for_when_it_cannot_be_made(engine, tailor_home):
    """`tailor export --out /proc/x.jsonl` failed with "error: /proc/.x.jsonl.part: no such file or directory",
    naming the temporary file written beside the one asked for, which the user never gave."""
    from tests.service.test_cli_send_due import campaign_with_drafts

    campaign_id = campaign_with_drafts(engine, "autumn", due=1)

    refused = run(["export", "--campaign", str(campaign_id), "--out", "/proc/x.jsonl"], tailor_home)

    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip() == "error: /proc/x.jsonl: no such file or directory"
