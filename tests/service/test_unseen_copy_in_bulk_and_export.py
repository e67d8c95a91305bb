"""A draft holding a character its reader does not see (service.unseen_copy) got past the two ways around a single
approval: approving all pending approved it (the send held it back only then), and the JSON lines export gave it as
mailable to another sender, which mailed it turned around. Approving all pending now leaves it flagged for a person
with where the character is, and the export marks its line not mailable, saying why."""

from __future__ import annotations

import json
from html import unescape

from sqlalchemy import select

from service.db.models import Customer, Draft, Variant
from service.db.session import session_scope
from tests.service.test_sending import FOOTER, approved_draft, new_campaign
from tests.service.test_unseen_copy_at_sending import TURNED, _reasons, _stored_before

SUBJECT_TURNED = (
    "variant A's subject: character 20 is U+202E RIGHT-TO-LEFT OVERRIDE, which its reader does not see; edit it: a "
    "character that takes no room is left out, a direction control is to be deleted; or reject it."
)


def _pending_draft(engine, campaign_id: int, external_id: str, subject: str = "Hello") -> int:
    """A pending draft of the campaign whose variant passed its checks, stored as generation leaves one."""
    with session_scope(engine) as session:
        customer = Customer(external_id=external_id, email=f"{external_id}@example.com", marketing_consent=True)
        variant = Variant(
            label="A", subject=subject, html=f"<p>Hello</p><p>{FOOTER}</p>", text=f"Hello\n--\n{FOOTER}\n"
        )
        draft = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant])
        session.add(draft)
        session.flush()
        draft.selected_variant_id = variant.id
        return draft.id


def test_approving_all_pending_leaves_a_draft_holding_a_character_no_one_sees_flagged_for_a_person(client, engine):
    campaign_id = new_campaign(client)
    turned = _pending_draft(engine, campaign_id, "c1", subject=TURNED)
    clean = _pending_draft(engine, campaign_id, "c2")

    answer = client.post(f"/campaigns/{campaign_id}/drafts/approve", json={"reviewer": "Ola"})

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "approved": 1, "left_for_review": 1, "out_of_date": 0, "unseen_characters": 1,
        "unseen_in": {"copy": 1, "address": 0, "link": 0},
    }  # fmt: skip
    assert _reasons(engine, clean)[0] == "approved"
    assert _reasons(engine, turned) == ("flagged", [f"Not approved with the others: {SUBJECT_TURNED}"])
    refused = client.post(f"/drafts/{turned}/approve", json={"override_checks": True, "comment": "it is fine"})
    assert refused.status_code == 409  # as the single approval refuses it


def test_the_review_pages_button_says_how_many_it_flagged_for_a_character_no_one_sees(client, engine):
    campaign_id = new_campaign(client)
    turned = _pending_draft(engine, campaign_id, "c1", subject=TURNED)
    _pending_draft(engine, campaign_id, "c2")

    done = client.post(f"/review/campaigns/{campaign_id}/approve-pending", data={"comment": ""}, follow_redirects=False)

    assert done.status_code == 303
    assert done.headers["location"] == (
        f"/review/campaigns/{campaign_id}?approved=1&changed=0&out_of_date=0&unseen=1&unseen_copy=1"
    )
    page = client.get(done.headers["location"]).text
    assert (
        "Approved 1 pending draft. 1 was flagged instead: their email&#39;s copy holds a character its reader does "
        "not see." in page
    )
    assert _reasons(engine, turned)[0] == "flagged"


def _holding_hidden(engine, draft_id: int, holder: str) -> None:
    """Give the draft a character no one sees in its customer's email address (``holder`` "address") or in a
    product's link ("link"), as stored before the imports refused them."""
    from tests.service.test_unseen_addresses import HIDDEN_ADDRESS, HIDDEN_LINK

    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        if holder == "address":
            draft.customer.email = HIDDEN_ADDRESS
        else:
            draft.recommendations = [{"product_id": "T1", "name": "Sencha tea", "url": HIDDEN_LINK}]


def test_the_review_pages_button_says_whether_the_copy_the_address_or_a_link_holds_a_character_no_one_sees(
    client, engine
):
    """A draft flagged for a zero-width space in its customer's email address, or in a product's link, was said to
    be flagged because "their email holds a character its reader does not see": a copywriter looked for it in the
    copy, which no edit mends, where the shop's records do."""

    def approved_all_pending(hidden_in: list[str]) -> str:
        """What approving all pending says, of a campaign of a clean draft and one holding a hidden character in each
        of ``hidden_in`` (address, link)."""
        campaign_id = new_campaign(client)
        _pending_draft(engine, campaign_id, f"{campaign_id}-clean")
        for holder in hidden_in:
            _holding_hidden(engine, _pending_draft(engine, campaign_id, f"{campaign_id}-{holder}"), holder)
        done = client.post(f"/review/campaigns/{campaign_id}/approve-pending", data={"comment": ""})
        assert done.status_code == 200, done.text
        return unescape(done.text)

    assert (
        "Approved 1 pending draft. 1 was flagged instead: their customer's email address holds a character its "
        "reader does not see." in approved_all_pending(["address"])
    )
    assert (
        "Approved 1 pending draft. 1 was flagged instead: a product's link in their email holds a character its "
        "reader does not see." in approved_all_pending(["link"])
    )
    assert (
        "Approved 1 pending draft. 2 were flagged instead for a character their reader does not see: 1 in their "
        "customer's email address, 1 in a product's link in their email." in approved_all_pending(["address", "link"])
    )


def test_the_command_says_how_many_it_flagged_for_a_character_no_one_sees(client, engine, tailor_home):
    from tests.service.test_cli import run

    campaign_id = new_campaign(client)
    turned = _pending_draft(engine, campaign_id, "c1", subject=TURNED)
    _pending_draft(engine, campaign_id, "c2")

    done = run(["drafts", "approve-pending", str(campaign_id), "--reviewer", "Ola"], tailor_home)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        "approved 1 pending draft, each with its chosen variant",
        "flagged 1 draft: their email's copy holds a character its reader does not see",
    ]
    assert _reasons(engine, turned) == ("flagged", [f"Not approved with the others: {SUBJECT_TURNED}"])


def test_the_command_says_whether_the_copy_the_address_or_a_link_holds_a_character_no_one_sees(
    client, engine, tailor_home
):
    """The command said "whose email holds a character" of a draft flagged for its customer's address or a product's
    link, as the review page's button did: a copywriter looked for it in the copy, which no edit mends."""
    from tests.service.test_cli import run

    campaign_id = new_campaign(client)
    _pending_draft(engine, campaign_id, "c1", subject=TURNED)
    _holding_hidden(engine, _pending_draft(engine, campaign_id, "c2"), "address")
    _holding_hidden(engine, _pending_draft(engine, campaign_id, "c3"), "link")

    done = run(["drafts", "approve-pending", str(campaign_id), "--reviewer", "Ola"], tailor_home)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == (
        "flagged 3 drafts for a character their reader does not see: 1 in their email's copy, 1 in their customer's "
        "email address, 1 in a product's link in their email"
    )


def test_an_export_marks_an_approved_draft_holding_a_character_no_one_sees_not_mailable_saying_why(client, engine):
    campaign_id = new_campaign(client)
    turned, clean = (approved_draft(client, engine, campaign_id, customer) for customer in ("c1", "c2"))
    _stored_before(engine, turned, subject=TURNED)  # approved before such characters were read without

    answer = client.get(f"/campaigns/{campaign_id}/export", params={"status": "approved"})

    assert answer.status_code == 200, answer.text
    lines = {line["draft_id"]: line for line in map(json.loads, answer.text.splitlines())}
    assert (lines[turned]["mailable"], lines[turned]["status"]) == (False, "approved")
    assert lines[turned]["flag_reasons"] == [f"Not to be mailed: {SUBJECT_TURNED}"]
    assert (lines[clean]["mailable"], lines[clean]["flag_reasons"]) == (True, [])
    with session_scope(engine) as session:  # the export reads; the draft is as it was
        assert session.scalar(select(Draft.flag_reasons).where(Draft.id == turned)) == []
