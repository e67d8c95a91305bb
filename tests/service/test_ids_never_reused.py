"""An id the API handed out names one row for ever: on SQLite the id of a deleted send, draft or variant was given
to the next row, so an erased customer's unsubscribe link reached another customer and a stale approval approved
another customer's draft."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from service.db.models import Customer, Draft, Event, Variant
from service.db.session import session_scope
from service.events import ERASED
from service.pipeline.generate import clear_untouched_drafts
from service.signed_links import UnsubscribeLinks
from tests.service.test_sending import approved_draft, new_campaign, send_job


def _mailed(client, engine, external_id: str) -> int:
    """Send a new campaign's approved draft to the customer; the id of the send it recorded."""
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id, external_id)
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    return client.get(f"/customers/{external_id}/sends").json()[0]["id"]


def test_an_erased_customers_send_id_and_unsubscribe_link_never_reach_another_customer(
    client, engine, mail_server, monkeypatch
):
    controller, _messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "0")  # "stays" is mailed twice
    _mailed(client, engine, "stays")
    erased = _mailed(client, engine, "gone")  # the newest send, whose id SQLite gave again
    token = UnsubscribeLinks.configured().token(erased)
    assert client.delete("/customers/gone").status_code == 204

    newest = _mailed(client, engine, "stays")
    recipient = TestClient(client.app)  # whoever still has the erased customer's email
    page = recipient.get(f"/unsubscribe/{token}")
    assert page.status_code == 404 and "stays@example.com" not in page.text  # it showed the other's address
    assert "The shop keeps nothing of the address this email went to any more" in page.text
    in_german = recipient.get(f"/unsubscribe/{token}", headers={"Accept-Language": "de-AT"})
    assert "Der Shop speichert nichts mehr von der Adresse" in in_german.text
    assert recipient.post(f"/unsubscribe/{token}").status_code == 404
    assert client.get("/customers/stays").json()["unsubscribed"] is False  # and unsubscribed them
    late = client.post("/events", json={"events": [{"send_id": erased, "kind": "click"}]})
    assert late.status_code == 200 and late.json()["skipped"] == [{"index": 0, "send_id": erased, "reason": ERASED}]
    with session_scope(engine) as session:
        kinds = session.scalars(select(Event.kind).where(Event.send_id == newest)).all()
    assert kinds == ["delivered"]  # the erased send's events landed on the new one
    assert newest > erased


def _pending_draft(engine, campaign_id: int, external_id: str) -> tuple[int, int]:
    """A pending draft of the campaign for the customer, as generation writes one: (draft id, variant id)."""
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer).where(Customer.external_id == external_id)) or Customer(
            external_id=external_id, email=f"{external_id}@example.com", marketing_consent=True
        )
        variant = Variant(label="A", subject=f"Hello {external_id}", html="<p>Hello</p>", text="Hello")
        draft = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant])
        session.add(draft)
        session.flush()
        draft.selected_variant_id = variant.id
        return draft.id, variant.id


def _stale_approval(client, draft_id: int, variant_id: int):
    body = {"variant_id": variant_id, "expected_revision": 0}
    return client.post(f"/drafts/{draft_id}/approve", json=body)


def test_a_stale_draft_or_variant_id_finds_nothing_after_the_campaign_is_generated_again(client, engine):
    campaign_id = new_campaign(client)
    stale = _pending_draft(engine, campaign_id, "c1")
    with session_scope(engine) as session:  # generating again deletes the drafts nobody reviewed
        assert clear_untouched_drafts(session, campaign_id) == set()
    written = _pending_draft(engine, campaign_id, "c2")  # and writes the new audience's

    refused = _stale_approval(client, *stale)
    assert refused.status_code == 404 and refused.json()["replaced_by"] is None  # c1 is not in the new audience
    assert refused.json()["message"].startswith(f"Draft {stale[0]} was replaced when campaign {campaign_id}")
    assert client.get(f"/drafts/{written[0]}").json()["status"] == "pending"  # c2's draft was approved
    assert written[0] > stale[0] and written[1] > stale[1]


def test_a_deleted_campaigns_draft_and_variant_ids_are_not_given_to_the_next_campaign(client, engine):
    deleted = new_campaign(client)
    stale = _pending_draft(engine, deleted, "c1")
    assert client.delete(f"/campaigns/{deleted}").status_code == 204

    written = _pending_draft(engine, new_campaign(client), "c2")
    assert _stale_approval(client, *stale).status_code == 404
    assert client.get(f"/drafts/{written[0]}").json()["status"] == "pending"
    assert written[0] > stale[0] and written[1] > stale[1]


def test_an_erased_send_s_link_unsubscribes_the_person_once_the_shop_lifted_the_erasure_and_imported_them_again(
    client, engine, mail_server, monkeypatch
):
    """The page told a person brought back by the shop that the address would not be mailed, and unsubscribed
    nobody: the next campaign mailed them."""
    from io import BytesIO

    controller, _messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    erased = _mailed(client, engine, "back")
    token = UnsubscribeLinks.configured().token(erased)
    assert client.delete("/customers/back").status_code == 204
    recipient = TestClient(client.app)
    assert recipient.post(f"/unsubscribe/{token}").status_code == 404  # erased: nothing kept, nobody mailed

    assert client.post("/erasures/lift", json={"email": "back@example.com"}).json() == {"lifted": 1}
    assert recipient.post(f"/unsubscribe/{token}").status_code == 404  # lifted, but nobody has the address yet
    customers = "customer_id,email,first_name,locale,marketing_consent\nback-2,Back@Example.com,Bo,de-AT,true\n"
    files = {"file": ("customers.csv", BytesIO(customers.encode()), "text/csv")}
    assert client.post("/imports/customers", files=files).status_code == 200
    assert client.get("/customers/back-2").json()["unsubscribed"] is False

    page = recipient.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "Back@Example.com" in page.text and '<html lang="de"' in page.text
    done = recipient.post(f"/unsubscribe/{token}")
    assert done.status_code == 200
    assert client.get("/customers/back-2").json()["unsubscribed"] is True


def test_an_erased_send_s_link_unsubscribes_another_id_that_still_has_the_address(
    client, engine, mail_server, monkeypatch
):
    """While the erasure held, the link said the shop kept nothing of the address and would not mail it, and
    unsubscribed nobody, though the household's other customer id had the same address and was still mailed."""
    controller, _messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    erased = _mailed(client, engine, "ann")
    token = UnsubscribeLinks.configured().token(erased)
    with session_scope(engine) as session:  # the household's other id, at the same address in another case
        session.add(Customer(external_id="ann-2", email="Ann@Example.com", marketing_consent=True))
    assert client.delete("/customers/ann").status_code == 204

    recipient = TestClient(client.app)
    page = recipient.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "Ann@Example.com" in page.text
    assert recipient.post(f"/unsubscribe/{token}").status_code == 200
    assert client.get("/customers/ann-2").json()["unsubscribed"] is True


def test_the_unsubscribe_page_shows_the_address_the_email_went_to_not_the_customer_s_new_one(
    client, engine, mail_server, monkeypatch
):
    """Whoever held an old email (forwarded, a shared or recycled mailbox) read the customer's new address."""
    controller, _messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    sent = _mailed(client, engine, "moved")
    with session_scope(engine) as session:
        session.scalar(select(Customer).where(Customer.external_id == "moved")).email = "private.new@example.org"
    page = TestClient(client.app).get(f"/unsubscribe/{UnsubscribeLinks.configured().token(sent)}")
    assert page.status_code == 200 and "moved@example.com" in page.text
    assert "private.new@example.org" not in page.text


def test_an_email_service_s_unsubscribe_or_bounce_of_an_erased_send_stops_its_address(
    client, engine, mail_server, monkeypatch
):
    """An unsubscribe reported by the email service for an erased send was skipped, and the same address went on
    being mailed under the household's other customer id."""
    controller, _messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    unsubscribed, bounced = _mailed(client, engine, "ida"), _mailed(client, engine, "ole")
    with session_scope(engine) as session:
        session.add_all([
            Customer(external_id="ida-2", email="ida@example.com", marketing_consent=True),
            Customer(external_id="ole-2", email=" OLE@example.com", marketing_consent=True),
            Customer(external_id="someone-else", email="else@example.com", marketing_consent=True),
        ])  # fmt: skip
    for erased in ("ida", "ole"):
        assert client.delete(f"/customers/{erased}").status_code == 204
    events = [{"send_id": unsubscribed, "kind": "unsubscribe"}, {"send_id": bounced, "kind": "bounce"}]
    answer = client.post("/events", json={"events": events})
    assert answer.status_code == 200 and answer.json()["recorded"] == 0
    assert [
        s["reason"].endswith("the customers who have its address were stopped") for s in answer.json()["skipped"]
    ] == [True, True]
    assert client.get("/customers/ida-2").json()["unsubscribed"] is True
    assert client.get("/customers/ole-2").json()["email_bounced"] is True
    assert client.get("/customers/ole-2").json()["unsubscribed"] is False  # a bounce is no unsubscribe
    assert client.get("/customers/someone-else").json()["unsubscribed"] is False
    click = client.post("/events", json={"events": [{"send_id": unsubscribed, "kind": "click"}]}).json()
    assert click["skipped"][0]["reason"] == ERASED  # a click stops nothing
