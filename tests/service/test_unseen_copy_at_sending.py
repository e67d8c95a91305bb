"""A draft stored before copy, imports and brand kits were read without the characters a reader does not see keeps
them until a person edits or rejects it: a subject with U+202E showed its reader another order than the checks
read, and a first name imported with a zero-width space went into the greeting. Such an email is held back at
sending, flagged naming the field, and its approval refused until it is mended; nothing of it is mailed."""

from __future__ import annotations

from sqlalchemy import select

from service.db.models import Draft, Variant
from service.db.session import session_scope
from tests.service.test_sending import FOOTER, approved_draft, new_campaign, send_job

TURNED = "We kept a warm cup \u202euoy rof"  # reads "We kept a warm cup for you" on the screen


def _stored_before(engine, draft_id: int, **copy: str) -> None:
    """Give the draft's variant copy as it was stored before such characters were left out."""
    with session_scope(engine) as session:
        variant = session.scalar(select(Variant).join(Draft, Draft.selected_variant_id == Variant.id)
                                 .where(Draft.id == draft_id))  # fmt: skip
        for name, value in copy.items():
            setattr(variant, name, value)


def _reasons(engine, draft_id: int) -> tuple[str, list[str]]:
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        return draft.status, list(draft.flag_reasons or [])


def test_a_draft_holding_a_character_no_one_sees_is_held_back_naming_the_field_never_mailed(
    client, engine, mail_server, monkeypatch
):
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    turned, hidden_name, clean = (
        approved_draft(client, engine, campaign_id, customer) for customer in ("c1", "c2", "c3")
    )
    _stored_before(engine, turned, subject=TURNED)
    _stored_before(engine, hidden_name, text=f"Hi An\u200bna,\n\nHello\n--\n{FOOTER}\n",
                   html=f"<p>Hi An\u200bna,</p><p>Hello</p><p>{FOOTER}</p>")  # fmt: skip

    result = send_job(client, campaign_id)["result"]
    assert result["sent"] == 1 and [m["To"] for m in messages] == ["c3@example.com"]
    assert result["held_back_count"] == 2 and result["held_back_by_reason"] == {"unseen_characters": 2}
    assert _reasons(engine, turned) == ("flagged", [
        "Held back at sending: variant A's subject: character 20 is U+202E RIGHT-TO-LEFT OVERRIDE, which its reader "
        "does not see; edit it: a character that takes no room is left out, a direction control is to be deleted; or "
        "reject it.",
    ])  # fmt: skip
    assert _reasons(engine, hidden_name) == ("flagged", [
        "Held back at sending: variant A's body: U+200B ZERO WIDTH SPACE, which its reader does not see; it is in the "
        "customer's name, a product's or the brand's words as the draft was written with them: reject it.",
    ])  # fmt: skip
    assert clean not in {held["draft_id"] for held in result["held_back"]}

    refused = client.post(f"/drafts/{turned}/approve", json={"override_checks": True, "comment": "it is fine"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["message"] == (
        f"Variant A of draft {turned} holds a character its reader does not see: subject: character 20 is U+202E "
        "RIGHT-TO-LEFT OVERRIDE (edit it: a character that takes no room is left out, a direction control is to be "
        "deleted; or reject it)."
    )

    with session_scope(engine) as session:
        variant_id = session.get(Draft, turned).selected_variant_id
    edited = client.patch(f"/drafts/{turned}/variants/{variant_id}", json={"subject": "We kept a warm cup for you"})
    assert edited.status_code == 200, edited.text
    approved = client.post(f"/drafts/{turned}/approve", json={"override_checks": True, "comment": "a short test email"})
    assert approved.status_code == 200, approved.text
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    assert messages[-1]["Subject"] == "We kept a warm cup for you" and messages[-1]["To"] == "c1@example.com"
