"""A JSON body that gives a field twice is refused, naming it: a parser keeps the last value without a word."""

from __future__ import annotations

import json

from service.json_keys import repeated_field


def test_the_first_field_given_twice_is_named_by_its_path():
    assert repeated_field(b'{"events": [{"send_id": 1, "kind": "open"}, {"kind": "open", "kind": "click"}]}') == (
        "events[1].kind"
    )
    assert repeated_field(b'{"name": "a", "brand": "hearth", "name": "b"}') == "name"
    assert repeated_field(b'{"a": {"b": [1, {"c": 1, "c": 2}]}, "a": 3}') == "a"  # the outer object's first
    assert repeated_field(json.dumps({"events": [{"kind": "open"}] * 3}).encode()) is None
    assert repeated_field(b"not json") is None and repeated_field(b"") is None
    assert repeated_field(b"[" * 100_000 + b"]" * 100_000) is None  # too deep to parse: the API says so


def test_an_event_batch_giving_a_field_twice_is_refused_and_nothing_is_recorded(client):
    body = '{"events": [{"send_id": 999, "kind": "open", "kind": "click"}]}'
    refused = client.post("/events", content=body, headers={"Content-Type": "application/json"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"] == [
        {"field": "events[0].kind", "message": "is given twice: a JSON object names each field once"}
    ]
    body = '{"name": "Autumn", "brand": "hearth", "campaign_type": "vip", "name": "Winter"}'
    refused = client.post("/campaigns", content=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "name", refused.text
    assert client.get("/campaigns").json() == []
    made = client.post("/campaigns", json={"name": "Autumn", "brand": "hearth", "campaign_type": "vip"})
    assert made.status_code == 201, made.text
