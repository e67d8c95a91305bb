"""Characters no one sees in the addresses a draft goes to and links to, stored before the imports refused them (a
customers file read before the check, a products file whose url was never checked for them): an address with a
zero-width space is another address (the mail bounces, or reaches someone else), and a product link with one shows
one address and leads to another. The send holds such a draft back for a person, naming the address or link and what
mends it; approving it, one by one, all pending or again after lateness, is refused or leaves it flagged; an export
says it is not mailable; and a products file with such a url is refused naming its row."""

from __future__ import annotations

import json

from sqlalchemy import select

from service.db.models import Customer, Draft, Variant
from service.db.session import session_scope
from tests.service.test_late_drafts import due_check, scheduled_then_missed
from tests.service.test_sending import CATALOG, FOOTER, approved_draft, new_campaign, send_job, upload_products

HIDDEN_ADDRESS = "c1\u200b@example.com"  # looks like c1@example.com
HIDDEN_LINK = "https://shop.example/p/T\u200b1"  # looks like the tea's page, and is another
ADDRESS_REASON = (
    "the customer's email address: character 3 is U+200B ZERO WIDTH SPACE, which no one sees and which makes it "
    "another address; correct the address where the shop keeps its customers and import the customers again, then "
    "approve the draft again; or reject it"
)
LINK_REASON = (
    "the link of Sencha tea (T1): character 25 is U+200B ZERO WIDTH SPACE, which no one sees and which makes it lead "
    "elsewhere than it shows; correct the url where the shop keeps its catalog and import the products again, then "
    "update the draft with the catalog's facts; or reject it"
)


def _address_stored_before(engine, external_id: str) -> None:
    with session_scope(engine) as session:
        session.scalar(select(Customer).where(Customer.external_id == external_id)).email = HIDDEN_ADDRESS


def _link_stored_before(engine, draft_id: int) -> None:
    """The draft's product link as generation rendered it from a catalog url stored with a zero-width space."""
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        draft.recommendations = [{**draft.recommendations[0], "url": HIDDEN_LINK}]
        variant = session.get(Variant, draft.selected_variant_id)
        variant.text = f"Hello\n\n* Sencha tea - 7.50 EUR\n  View product: {HIDDEN_LINK}\n\n--\n{FOOTER}\n"
        variant.html = f'<p>Hello</p><p><a href="{HIDDEN_LINK}">View product</a></p><p>{FOOTER}</p>'


def _reasons(engine, draft_id: int) -> tuple[str, list[str]]:
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        return draft.status, list(draft.flag_reasons or [])


def test_the_send_holds_back_a_draft_whose_address_or_product_link_holds_a_character_no_one_sees(
    client, engine, mail_server, monkeypatch
):
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    hidden_address, hidden_link, clean = (
        approved_draft(client, engine, campaign_id, customer, ("T1",)) for customer in ("c1", "c2", "c3")
    )
    _address_stored_before(engine, "c1")
    _link_stored_before(engine, hidden_link)

    result = send_job(client, campaign_id)["result"]

    assert result["sent"] == 1 and [m["To"] for m in messages] == ["c3@example.com"]
    assert result["held_back_count"] == 2 and result["held_back_by_reason"] == {"unseen_characters": 2}
    assert _reasons(engine, hidden_address) == ("flagged", [f"Held back at sending: {ADDRESS_REASON}."])
    # the link alone, not the body's "customer's name, a product's or the brand's words: reject it" besides
    assert _reasons(engine, hidden_link) == ("flagged", [f"Held back at sending: {LINK_REASON}."])
    assert {held["draft_id"]: held["changes"][0].split(";")[0] for held in result["held_back"]} == {
        hidden_address: ADDRESS_REASON.split(";")[0],
        hidden_link: LINK_REASON.split(";")[0],
    }

    exported = [json.loads(line) for line in client.get(f"/campaigns/{campaign_id}/export").text.splitlines()]
    not_mailable = {line["draft_id"]: line["flag_reasons"][-1] for line in exported if not line["mailable"]}
    assert not_mailable == {
        hidden_address: f"Not to be mailed: {ADDRESS_REASON}.",
        hidden_link: f"Not to be mailed: {LINK_REASON}.",
    }

    refused = client.post(f"/drafts/{hidden_address}/approve", json={"override_checks": True, "comment": "fine"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["message"] == (
        f"Draft {hidden_address} cannot be approved: {ADDRESS_REASON.replace('; correct', ' (correct', 1)})."
    )
    assert client.post(f"/drafts/{hidden_link}/approve", json={}).status_code == 409

    # Mended where they come from: the customers file gives the address again, the catalog's url is the tea's own
    # (the products file refreshed the draft's link), and both are approved and mailed.
    customers = "customer_id,email,first_name,marketing_consent\nc1,c1@example.com,,true\n"
    imported = client.post("/imports/customers", files={"file": ("customers.csv", customers.encode(), "text/csv")})
    assert imported.status_code == 200, imported.text
    refreshed = client.post(f"/drafts/{hidden_link}/refresh-facts", json={})
    assert refreshed.status_code == 200, refreshed.text
    for draft_id in (hidden_address, hidden_link):  # its copy, rendered again, is short: the checks say so
        approved = client.post(f"/drafts/{draft_id}/approve", json={"override_checks": True, "comment": "a test"})
        assert approved.status_code == 200, approved.text
    assert send_job(client, campaign_id)["result"]["sent"] == 2
    assert sorted(m["To"] for m in messages[1:]) == ["c1@example.com", "c2@example.com"]
    assert HIDDEN_LINK not in messages[-1].get_body(("plain",)).get_content()


def test_approving_all_pending_flags_a_draft_whose_address_holds_a_character_no_one_sees(client, engine):
    campaign_id = new_campaign(client)
    with session_scope(engine) as session:  # pending, as generation wrote it for a customer imported before
        customer = Customer(external_id="c1", email=HIDDEN_ADDRESS, marketing_consent=True)
        variant = Variant(
            label="A", subject="Hello", html=f"<p>Hello</p><p>{FOOTER}</p>", text=f"Hello\n--\n{FOOTER}\n"
        )
        draft = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant])
        session.add(draft)
        session.flush()
        draft.selected_variant_id, draft_id = variant.id, draft.id

    done = client.post(f"/campaigns/{campaign_id}/drafts/approve", json={"reviewer": "ops"}).json()

    assert (done["approved"], done["unseen_characters"], done["unseen_in"]) == (
        0,
        1,
        {"copy": 0, "address": 1, "link": 0},
    )
    assert _reasons(engine, draft_id) == ("flagged", [f"Not approved with the others: {ADDRESS_REASON}."])


def test_approving_again_after_lateness_leaves_a_draft_holding_a_character_no_one_sees_flagged(
    client, engine, mail_server, monkeypatch
):
    """Approving again the drafts held back for lateness approved one whose subject, address or product link held
    such a character, which one approval refuses: the next send only held it back again."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    turned, hidden_address, hidden_link, plain = (
        approved_draft(client, engine, campaign_id, customer, ("T1",)) for customer in ("c0", "c1", "c2", "c3")
    )
    with session_scope(engine) as session:
        session.get(Variant, session.get(Draft, turned).selected_variant_id).subject = "We kept a cup \u202euoy rof"
    _address_stored_before(engine, "c1")
    _link_stored_before(engine, hidden_link)
    scheduled_then_missed(client, engine, campaign_id, [turned, hidden_address, hidden_link, plain])
    assert due_check(engine)[str(campaign_id)]["held_back_by_reason"] == {"late": 4}

    page = client.post(f"/review/campaigns/{campaign_id}/reapprove-late", data={"comment": "after the outage"})

    assert page.status_code == 200, page.text
    assert "Approved again 1 draft held back for lateness." in page.text
    assert (
        "3 held back for lateness, but its email, its customer&#39;s address or a product&#39;s link holds" in page.text
    )
    assert _reasons(engine, plain)[0] == "approved"
    assert _reasons(engine, turned) == ("flagged", [
        _reasons(engine, turned)[1][0],  # the lateness hold-back
        "Not approved again: variant A's subject: character 15 is U+202E RIGHT-TO-LEFT OVERRIDE, which its reader "
        "does not see; edit it: a character that takes no room is left out, a direction control is to be deleted; or "
        "reject it.",
    ])  # fmt: skip
    assert _reasons(engine, hidden_address)[1][-1] == f"Not approved again: {ADDRESS_REASON}."
    assert _reasons(engine, hidden_link)[1][-1] == f"Not approved again: {LINK_REASON}."
    api = client.post(f"/campaigns/{campaign_id}/drafts/reapprove-late", json={"reviewer": "ops"}).json()
    assert api["reapproved"] == 0 and api["left"]["unseen_characters"] == 0 and api["left"]["not_late"] == 3
    assert due_check(engine)[str(campaign_id)]["sent"] == 1 and [m["To"] for m in messages] == ["c3@example.com"]


def test_a_product_url_with_a_character_no_one_sees_is_refused_naming_its_row(client, engine):
    """The url is the link every email shows: kept with a zero-width space, it looked like the product's page and led
    elsewhere; dropped, it would be another address than the file's."""
    products = CATALOG.assign(url=["https://shop.example/p/T1", HIDDEN_LINK.replace("T", "K"), "https://\u202eshop.ex"])
    body = products.to_csv(index=False).encode()

    answer = client.post("/imports/products", files={"file": ("products.csv", body, "text/csv")})

    assert answer.status_code == 422, answer.text
    assert [(p["row"], p["column"], p["message"]) for p in answer.json()["problems"]] == [
        (3, "url", "character 25 is U+200B ZERO WIDTH SPACE, which no one sees and which makes it another address: "
         "correct the address where the file comes from"),
        (4, "url", "character 9 is U+202E RIGHT-TO-LEFT OVERRIDE, which no one sees and which makes it another "
         "address: correct the address where the file comes from"),
    ]  # fmt: skip
