"""A POST sent again with the same Idempotency-Key (a client's retry after a timeout) gets the first answer again: a
retried POST /campaigns made a second campaign, and a retried send started a second send job."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.auth import create_key
from service.clock import utcnow
from service.db.models import Campaign, IdempotencyKey, Job
from service.db.session import session_scope

CAMPAIGN = {"name": "Autumn", "brand": "hearth", "campaign_type": "win_back"}


def count(engine, model) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_retried_post_gets_the_first_answer_and_makes_nothing_twice(client, engine):
    key = {"Idempotency-Key": "7f1c6a52-0b9e-4d0a-9a57-2f4f8f7c1e11"}
    first = client.post("/campaigns", json=CAMPAIGN, headers=key)
    again = client.post("/campaigns", json=CAMPAIGN, headers=key)
    assert first.status_code in (200, 201) and again.status_code == first.status_code
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers and count(engine, Campaign) == 1

    campaign_id = first.json()["id"]
    sent = client.post(f"/campaigns/{campaign_id}/send", headers={"Idempotency-Key": "send-1"})
    resent = client.post(f"/campaigns/{campaign_id}/send", headers={"Idempotency-Key": "send-1"})
    assert sent.status_code == 202 and resent.json()["job_id"] == sent.json()["job_id"]
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.kind == "send")) == 1

    assert client.post("/campaigns", json=CAMPAIGN).json()["id"] != campaign_id  # without a key: a new campaign


def test_a_key_used_with_another_request_is_refused_and_a_failure_is_not_kept(client, engine):
    key = {"Idempotency-Key": "k-1"}
    refused = client.post("/campaigns", json={**CAMPAIGN, "brand": "nope"}, headers=key)
    assert refused.status_code == 422 and count(engine, IdempotencyKey) == 0  # not a success: not kept
    made = client.post("/campaigns", json=CAMPAIGN, headers=key)  # the corrected request, with the same key
    assert made.status_code in (200, 201) and count(engine, Campaign) == 1

    other = client.post("/campaigns", json={**CAMPAIGN, "name": "Winter"}, headers=key)
    assert other.status_code == 422 and other.json()["problems"][0]["field"] == "Idempotency-Key"
    assert "used with another request" in other.json()["message"] and count(engine, Campaign) == 1
    # the same request built again, its keys in another order and spaced otherwise: the first answer again
    rebuilt = json.dumps(dict(reversed(CAMPAIGN.items())), indent=2).encode()
    retried = client.post("/campaigns", content=rebuilt, headers={**key, "Content-Type": "application/json"})
    assert retried.status_code == made.status_code and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json() == made.json() and count(engine, Campaign) == 1
    too_long = client.post("/campaigns", json=CAMPAIGN, headers={"Idempotency-Key": "x" * 201})
    assert too_long.status_code == 422 and too_long.json()["problems"][0]["field"] == "Idempotency-Key"


def test_keys_are_each_clients_own_and_one_being_answered_is_a_conflict(client, engine):
    with session_scope(engine) as session:
        other_key = create_key(session, "another tool")
    key = {"Idempotency-Key": "shared-name"}
    mine = client.post("/campaigns", json=CAMPAIGN, headers=key)
    theirs = TestClient(client.app, headers={"X-API-Key": other_key}).post("/campaigns", json=CAMPAIGN, headers=key)
    assert theirs.json()["id"] != mine.json()["id"] and "Idempotent-Replayed" not in theirs.headers

    busy = {"Idempotency-Key": "busy"}
    client.post("/campaigns", json=CAMPAIGN, headers=busy)
    with session_scope(engine) as session:  # as if the first request with this key were still being answered
        newest = select(IdempotencyKey).order_by(IdempotencyKey.created_at.desc()).limit(1)
        session.scalar(newest).status_code = None
    answer = client.post("/campaigns", json=CAMPAIGN, headers=busy)
    assert answer.status_code == 409 and answer.headers["Retry-After"] == "1"
    assert "still being answered" in answer.json()["message"] and count(engine, Campaign) == 3


def test_keys_older_than_a_day_are_let_go(client, engine):
    key = {"Idempotency-Key": "old"}
    first = client.post("/campaigns", json=CAMPAIGN, headers=key).json()["id"]
    with session_scope(engine) as session:
        session.scalar(select(IdempotencyKey)).created_at = utcnow() - timedelta(hours=25)
    assert client.post("/campaigns", json=CAMPAIGN, headers=key).json()["id"] != first


def test_a_stored_answer_is_given_again_only_to_whoever_may_see_it(client, engine, api_key):
    """The stored answer was looked up before the key was checked: a request with no key at all got the answer of
    a review session's request (both sent no key header), and a revoked key still got its answers again. And every
    reviewer's session shared one set of keys."""
    from service.auth import revoke_key

    def logged_in(reviewer: str) -> TestClient:
        browser = TestClient(client.app)
        assert browser.post("/review/login", data={"api_key": api_key, "reviewer": reviewer}).status_code == 200
        return browser

    key = {"Idempotency-Key": "shared-1"}
    ann, bo = logged_in("ann"), logged_in("bo")
    first = ann.post("/campaigns", json=CAMPAIGN, headers=key)
    assert first.status_code == 201
    nobody = TestClient(client.app).post("/campaigns", json=CAMPAIGN, headers=key)
    assert nobody.status_code == 401 and "Idempotent-Replayed" not in nobody.headers
    assert ann.post("/campaigns", json=CAMPAIGN, headers=key).headers["Idempotent-Replayed"] == "true"
    others = bo.post("/campaigns", json=CAMPAIGN, headers=key)  # another reviewer's request, not ann's retry
    assert others.status_code == 201 and others.json()["id"] != first.json()["id"]

    with session_scope(engine) as session:
        revoked = create_key(session, "old tool")
    old_tool = TestClient(client.app, headers={"X-API-Key": revoked})
    assert old_tool.post("/campaigns", json=CAMPAIGN, headers={"Idempotency-Key": "r-1"}).status_code == 201
    with session_scope(engine) as session:
        revoke_key(session, revoked)
    held = count(engine, IdempotencyKey)
    after = old_tool.post("/campaigns", json=CAMPAIGN, headers={"Idempotency-Key": "r-1"})
    assert after.status_code == 401 and "Idempotent-Replayed" not in after.headers
    assert (
        TestClient(client.app).post("/campaigns", json=CAMPAIGN, headers={"Idempotency-Key": "n-1"}).status_code == 401
    )
    assert count(engine, IdempotencyKey) == held  # a request refused for its key writes nothing


def test_the_answer_is_kept_before_the_client_has_it_whole(client, engine, api_key):
    """The answer was kept after it was sent: a client that sent the request again as soon as it had the answer was
    told the first was still being answered (409; 1 of 233 immediate retries in a soak test)."""
    import json

    import anyio

    body = json.dumps(CAMPAIGN).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/campaigns", "raw_path": b"/campaigns", "root_path": "", "query_string": b"",
        "server": ("testserver", 80), "client": ("127.0.0.1", 5000), "app": client.app,
        "headers": [
            (b"host", b"testserver"), (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()), (b"x-api-key", api_key.encode()),
            (b"idempotency-key", b"kept-before-sent"),
        ],
    }  # fmt: skip
    stored_when_sent = []
    received = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return received.pop() if received else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            with session_scope(engine) as session:  # what a retry sent now would find
                stored_when_sent.append(session.scalar(select(IdempotencyKey.status_code)))

    anyio.run(client.app, scope, receive, send)
    assert stored_when_sent == [201]
    headers = {"Idempotency-Key": "kept-before-sent", "Content-Type": "application/json"}
    again = client.post("/campaigns", content=body, headers=headers)  # the same bytes
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert count(engine, Campaign) == 1


def test_an_answer_older_than_a_day_is_deleted_with_no_later_keyed_request(engine, api_key, monkeypatch):
    """A kept answer may hold a customer (an approved draft: their name, address, email): it was deleted only when
    another keyed POST came, so a client that stopped sending the header left the answers in the database for ever,
    against the 24 hours the README and the subject access export promise. The server's sweep lets them go."""
    from service.app import create_app

    monkeypatch.setenv("TAILOR_JOBS_SWEEP_SECONDS", "0.2")
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as client:
        assert client.post("/campaigns", json=CAMPAIGN, headers={"Idempotency-Key": "kept"}).status_code == 201
        with session_scope(engine) as session:
            session.scalar(select(IdempotencyKey)).created_at = utcnow() - timedelta(hours=25)
        deadline = time.monotonic() + 10
        while count(engine, IdempotencyKey) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert count(engine, IdempotencyKey) == 0


def test_the_sweep_finding_no_old_answer_waits_for_no_writer(engine, tailor_home):
    """The sweep deleted the old answers every minute whether there were any or not: while a long import held
    SQLite's write lock, it waited the busy timeout (10 s) and failed, logged as a periodic call that failed."""
    import sqlite3

    from service.idempotency import forget_old_answers

    writer = sqlite3.connect(tailor_home / "tailor.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a long import's write transaction
    try:
        started = time.monotonic()
        forget_old_answers(engine)
        assert time.monotonic() - started < 2
    finally:
        writer.close()
