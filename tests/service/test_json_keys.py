"""A JSON body that gives a field twice is refused, naming it: a parser keeps the last value without a word."""

from __future__ import annotations

import json
import time

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


def test_a_body_of_many_objects_costs_a_few_times_its_plain_reading_not_tens():
    """Read before any key is checked, on the server's one event loop: 16 MiB of empty objects, which a request
    without a key may send, took 34 s there (1 s to parse plainly) when every object and every path was made for the
    walk. A field given twice at the very end is still found, and named."""
    body = b"[" + b",".join([b"{}"] * 350_000) + b',{"kind": "open", "kind": "click"}]'

    def cpu_seconds(read) -> float:
        times = []
        for _ in range(3):
            began = time.process_time()
            read(body)
            times.append(time.process_time() - began)
        return min(times)

    assert repeated_field(body) == "[350000].kind"
    assert cpu_seconds(repeated_field) < 20 * cpu_seconds(json.loads)  # about 7 times; 55 before
