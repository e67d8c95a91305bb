"""One meaning for `send_id` across the API: Tailor's id of a send, a number, as POST /events, the consent history and
an experiment's assignments give it. The shop's own id of an imported send (the sends file's `send_id` column) is
`shop_send_id`: a customer's sends listed it as `send_id`, a string beside their Tailor `id`, and POST /events took
either in `send_id`. The old use is still given and taken, marked deprecated in the OpenAPI document."""

from __future__ import annotations

from datetime import datetime, timedelta

from service.db.models import Customer, Send
from service.db.session import session_scope


def _a_tailor_send_and_an_imported_one(engine) -> int:
    """Customer c1's email from Tailor ("Hi") and one from the shop's imported history ("Old", its id E009825);
    the Tailor send's id."""
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        sent_at = datetime.now() - timedelta(hours=2)
        session.add(Send(customer=customer, subject="Old", campaign_type="vip", sent_at=sent_at, external_id="E009825"))
        send = Send(customer=customer, subject="Hi", campaign_type="vip", sent_at=sent_at, message_id="<a@b.example>")
        session.add(send)
        session.flush()
        return send.id


def _events_of(client) -> dict[str, list[str]]:
    return {s["subject"]: sorted(e["kind"] for e in s["events"]) for s in client.get("/customers/c1/sends").json()}


def test_a_customer_s_sends_give_the_shop_s_id_as_shop_send_id_and_still_as_the_deprecated_send_id(client, engine):
    _a_tailor_send_and_an_imported_one(engine)
    listed = {send["subject"]: send for send in client.get("/customers/c1/sends").json()}
    assert listed["Old"]["shop_send_id"] == "E009825" and listed["Hi"]["shop_send_id"] is None
    assert listed["Old"]["send_id"] == "E009825" and listed["Hi"]["send_id"] is None  # for the clients that read it


def test_an_event_names_an_imported_send_by_shop_send_id_or_as_before_by_send_id(client, engine):
    tailor_send = _a_tailor_send_and_an_imported_one(engine)
    events = [
        {"shop_send_id": "E009825", "kind": "open"},
        {"send_id": "E009825", "kind": "click"},  # the old use, still taken
        {"send_id": "E009825", "shop_send_id": "E009825", "kind": "conversion"},  # both names alike: one send
        {"send_id": tailor_send, "kind": "open"},
    ]
    assert client.post("/events", json={"events": events}).json() == {"recorded": 4, "duplicates": 0}
    assert _events_of(client) == {"Old": ["click", "conversion", "open"], "Hi": ["open"]}

    unknown = client.post("/events", json={"events": [{"shop_send_id": "E404", "kind": "open"}]})
    assert unknown.status_code == 422, unknown.text
    assert [(p["field"], p["message"]) for p in unknown.json()["problems"]] == [
        ("events[0].shop_send_id", "unknown shop_send_id 'E404'")
    ]
    a_number = client.post("/events", json={"events": [{"shop_send_id": 7, "kind": "open"}]})
    assert a_number.status_code == 422 and a_number.json()["problems"][0]["field"] == "events[0].shop_send_id"


def test_an_event_naming_two_sends_by_send_id_and_shop_send_id_is_refused_naming_both(client, engine):
    tailor_send = _a_tailor_send_and_an_imported_one(engine)
    for send_id in (tailor_send, "E1"):
        event = {"send_id": send_id, "shop_send_id": "E009825", "kind": "open"}
        refused = client.post("/events", json={"events": [{"send_id": tailor_send, "kind": "open"}, event]})
        assert refused.status_code == 422, refused.text
        problems = refused.json()["problems"]
        assert {p["field"] for p in problems} == {"events[1].send_id", "events[1].shop_send_id"}, problems
        assert all("name one send" in p["message"] for p in problems), problems
    assert _events_of(client) == {"Old": [], "Hi": []}  # nothing of a refused batch


def test_the_openapi_document_marks_the_shop_s_id_under_send_id_deprecated(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    listed = schemas["CustomerSendOut"]["properties"]
    assert listed["send_id"]["deprecated"] is True and "`shop_send_id`" in listed["send_id"]["description"]
    assert not listed["shop_send_id"].get("deprecated")
    event = schemas["EventIn"]["properties"]
    assert event["shop_send_id"]["anyOf"][0] == {"type": "string", "minLength": 1, "maxLength": 128}
    forms = {form["type"]: form for form in event["send_id"]["anyOf"] if "type" in form}
    assert not forms["integer"].get("deprecated")
    assert forms["string"]["deprecated"] is True and "`shop_send_id`" in forms["string"]["description"]
    for schema, field in (("ConsentChangeOut", "send_id"), ("AssignmentOut", "send_id")):
        assert "string" not in str(schemas[schema]["properties"][field]), (schema, field)
