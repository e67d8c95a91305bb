"""Two reviewers on one draft: an edit or a review based on an older revision of the draft than the one stored is
refused, naming who changed what, instead of undoing an edit or approving copy never read."""

from __future__ import annotations

import pytest

from service.db.session import session_scope

INTRO = "We picked a few things we think you will like this autumn."


@pytest.fixture
def draft(client, engine) -> dict:
    """A pending draft of two variants whose copy passes every check, written straight to the database."""
    from service.db.models import Customer, Draft, Variant

    body = {"name": "Autumn", "brand": "hearth", "campaign_type": "cross_sell"}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="ida@example.com", first_name="Ida", marketing_consent=True)
        variants = [
            Variant(
                label=label,
                subject=f"Autumn picks for you, {label}",
                preheader="New in for the season",
                intro=INTRO,
                html="<p>x</p>",
            )
            for label in "AB"
        ]
        row = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=variants)
        session.add(row)
        session.flush()
        row.selected_variant_id = variants[0].id
    return client.get(f"/drafts/{row.id}").json()


def test_api_clients_may_say_which_revision_they_edit_or_review(client, draft):
    """The same protection for a tool on the API, without breaking the clients that send no revision."""
    url, variant = f"/drafts/{draft['id']}", draft["variants"][0]
    assert draft["revision"] == 0
    edited = client.patch(
        f"{url}/variants/{variant['id']}",
        json={"subject": "Autumn, picked for Ida", "reviewer": "tool", "expected_revision": 0},
    )
    assert edited.status_code == 200 and edited.json()["revision"] == 1
    assert edited.json()["reviews"][-1]["revision"] == 1

    stale = client.patch(f"{url}/variants/{variant['id']}", json={"intro": "Old idea.", "expected_revision": 0})
    assert stale.status_code == 409 and stale.json() == {
        "error": "DraftChanged",
        "message": f"Draft {draft['id']} was changed since you read it (tool edited variant A: subject); nothing "
        "was done. Read it as it is now, then try again.",
    }
    for action in ("approve", "reject"):
        refused = client.post(f"{url}/{action}", json={"expected_revision": 0})
        assert refused.status_code == 409 and refused.json()["error"] == "DraftChanged", action
    assert client.get(url).json()["variants"][0]["intro"] == INTRO  # nothing of the stale edit was written

    unsaid = client.patch(f"{url}/variants/{variant['id']}", json={"intro": "No revision given, as before."})
    assert unsaid.status_code == 200 and unsaid.json()["revision"] == 2
    approved = client.post(f"{url}/approve", json={"expected_revision": 2})
    assert approved.status_code == 200 and approved.json()["revision"] == 3


def test_approving_every_pending_draft_moves_their_revisions_on(client, draft):
    """An open page of a draft approved with the campaign's pending ones cannot then be saved over the approval."""
    done = client.post(f"/campaigns/{draft['campaign_id']}/drafts/approve", json={"reviewer": "Cy"}).json()
    assert done["approved"] == 1
    after = client.get(f"/drafts/{draft['id']}").json()
    assert after["revision"] == 1 and after["reviews"][-1]["revision"] == 1
