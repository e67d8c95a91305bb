"""The service's whole path on PostgreSQL, the database DATABASE_URL deploys it on: imports (in the request and as
a job), the audience refresh and its segment KPIs, training, recommendations, an experiment campaign narrowed by
an audience query, review, sending through a loopback SMTP server, events, results, send times and retraining on
what came back. Every query the routes make runs here on the second database the migrations serve."""

from __future__ import annotations

import io
import uuid
from datetime import datetime

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from recommenders.reorder import buyer_counts
from service.db.models import Send
from service.db.session import session_scope
from service.pipeline import frames
from tests.service.conftest import upload, wait_for_job

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_client(postgres_url, tailor_home, monkeypatch):
    """A TestClient on the real app over a fresh, migrated PostgreSQL database of its own, and its engine."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.auth import create_key
    from service.db.migrate import upgrade
    from service.db.session import make_engine

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")  # the copy is not what this test is about
    name = f"tailor_e2e_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(postgres_url).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            key = create_key(session, "postgres tests")
        with TestClient(create_app(engine), headers={"X-API-Key": key}) as client:
            yield client, engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _ok(response, code: int = 200) -> dict | list:
    assert response.status_code == code, response.text
    return response.json()


def test_the_whole_service_runs_on_postgres(pg_client, demo_files, mail_server, monkeypatch):
    client, engine = pg_client
    assert engine.dialect.name == "postgresql"
    assert client.app.state.tailor.jobs.own_lane == {"send", "send_due"}  # mail goes out beside long jobs
    for kind in ("customers", "products"):
        _ok(upload(client, kind, demo_files[kind]))
    orders = demo_files["orders"]
    started = _ok(
        client.post(
            "/imports/orders", params={"background": "true"},
            files={"file": (orders.name, io.BytesIO(orders.read_bytes()), "text/csv")},
        ), 202,
    )  # fmt: skip
    imported = wait_for_job(client, started["job_id"])
    assert imported["status"] == "succeeded", imported["error"]
    assert imported["result"]["rows"] > 0 and min(imported["progress_seen"]) < 1.0
    refresh = wait_for_job(client, imported["result"]["audience_job_id"])
    assert refresh["status"] == "succeeded", refresh["error"]
    _ok(upload(client, "sends", demo_files["sends"]))
    for kind in ("customers", "products", "orders", "sends"):  # the same files again: each value read back is equal
        again = _ok(upload(client, kind, demo_files[kind]))
        assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, again["rows"]), kind
    with session_scope(engine) as session:  # the re-order reminder's GROUP BY, as on SQLite
        counted = frames.product_buyer_counts(session).set_index("product_id").sort_index()
        assert counted.equals(buyer_counts(frames.orders_frame(session)).set_index("product_id").sort_index())

    segments = _ok(client.get("/segments"))
    assert segments and sum(row["customers"] for row in segments) > 0
    customers = _ok(client.get("/customers", params={"limit": 500}))
    profiled = next(c for c in customers if c.get("profile"))
    assert _ok(client.get(f"/customers/{profiled['customer_id']}"))["customer_id"] == profiled["customer_id"]
    query = "segment in (champions, loyal, potential_loyalists, new, at_risk, cant_lose, hibernating, lost)"
    preview = _ok(client.get("/audience", params={"campaign_type": "cross_sell", "query": query, "limit": 3}))
    assert preview["customers"] > 0 and len(preview["sample"]) <= 3

    train = wait_for_job(client, _ok(client.post("/train"), 202)["job_id"])
    assert train["status"] == "succeeded", train["error"]
    recommended = _ok(client.get(f"/customers/{profiled['customer_id']}/recommendations", params={"k": 5}))
    assert 0 < len(recommended) <= 5

    body = {"name": "PG", "brand": "hearth", "campaign_type": "cross_sell", "audience_query": query,
            "max_customers": 12, "holdout_share": 0.2}  # fmt: skip
    campaign_id = _ok(client.post("/campaigns", json=body), 201)["id"]
    job = wait_for_job(client, _ok(client.post(f"/campaigns/{campaign_id}/generate"), 202)["job_id"])
    assert job["status"] == "succeeded", job["error"]
    drafts = _ok(client.get(f"/campaigns/{campaign_id}/drafts"))
    reviewable = [d for d in drafts if d["status"] in {"pending", "flagged"}]
    assert len(reviewable) >= 4
    first, second, third = reviewable[:3]
    edited = _ok(
        client.patch(f"/drafts/{first['id']}/variants/{first['selected_variant_id']}",
                     json={"subject": "Picked for you, on PostgreSQL", "reviewer": "pg"})
    )  # fmt: skip
    assert any(v["subject"] == "Picked for you, on PostgreSQL" for v in edited["variants"])
    for draft in (first, second):
        approval = {"reviewer": "pg", "override_checks": True, "comment": "checked by hand"}
        assert _ok(client.post(f"/drafts/{draft['id']}/approve", json=approval))["status"] == "approved"
    assert _ok(client.post(f"/drafts/{third['id']}/reject", json={"comment": "no"}))["status"] == "rejected"
    assert len(_ok(client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "approved"}))) == 2

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    sent = wait_for_job(client, _ok(client.post(f"/campaigns/{campaign_id}/send"), 202)["job_id"])
    assert sent["status"] == "succeeded", sent["error"]
    assert sent["result"]["sent"] == 2 and len(messages) == 2

    with session_scope(engine) as session:
        send_ids = [s.id for s in session.scalars(select(Send).where(Send.campaign_id == campaign_id))]
    at = datetime.now().isoformat(timespec="seconds")  # after the send, as an open is
    events = [{"send_id": send_ids[0], "kind": kind, "occurred_at": at} for kind in ("open", "click")]
    assert _ok(client.post("/events", json={"events": events})) == {"recorded": 2, "duplicates": 0}
    experiment = _ok(client.get(f"/campaigns/{campaign_id}/experiment"))
    assert experiment["arms"]
    assert _ok(client.get(f"/campaigns/{campaign_id}/send-times"))
    assert 0 <= _ok(client.get(f"/customers/{profiled['customer_id']}/send-time"))["best_hour"] < 24
    campaign = _ok(client.get(f"/campaigns/{campaign_id}"))
    assert campaign["drafts"]["sent"] == 2 and campaign["forecast"]
    pages = ["/review", f"/review/campaigns/{campaign_id}", f"/review/campaigns/{campaign_id}?status=sent",
             f"/review/campaigns/{campaign_id}/experiment", f"/review/drafts/{third['id']}"]  # fmt: skip
    for page in pages:
        assert client.get(page).status_code == 200, page
    assert client.delete(f"/campaigns/{campaign_id}").status_code == 409  # it sent email: kept
    unsent = _ok(client.post("/campaigns", json={**body, "name": "PG draft"}), 201)["id"]
    job = wait_for_job(client, _ok(client.post(f"/campaigns/{unsent}/generate"), 202)["job_id"])
    assert job["status"] == "succeeded" and _ok(client.get(f"/campaigns/{unsent}/drafts"))
    assert client.delete(f"/campaigns/{unsent}").status_code == 204  # drafts, variants, reviews go by cascade
    assert client.get(f"/campaigns/{unsent}/drafts").status_code == 404
    with session_scope(engine) as session:  # a customer who was mailed and clicked: erased with all of it
        erased = session.scalar(select(Send).where(Send.id == send_ids[0])).customer.external_id
    assert client.delete(f"/customers/{erased}").status_code == 204
    assert client.get(f"/customers/{erased}").status_code == 404
    assert _ok(client.get(f"/campaigns/{campaign_id}"))["performance"]["sent"] == 1

    retrain = wait_for_job(client, _ok(client.post("/train"), 202)["job_id"])
    assert retrain["status"] == "succeeded", retrain["error"]


def test_campaigns_created_at_the_same_moment_each_get_an_id_of_their_own_on_postgres(pg_client):
    """The brand's first use raced as on SQLite: of campaigns created at once, all but one failed on brands.slug."""
    from concurrent.futures import ThreadPoolExecutor

    client, _engine = pg_client
    bodies = [{"name": f"launch {n}", "brand": "hearth", "campaign_type": "vip"} for n in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda body: client.post("/campaigns", json=body), bodies))
    assert [answer.status_code for answer in answers] == [201] * 12, [a.text for a in answers if a.status_code != 201]
    assert len({answer.json()["id"] for answer in answers}) == 12


def test_a_nul_character_in_a_request_is_refused_by_name_not_a_plain_text_500_on_postgres(pg_client):
    """PostgreSQL cannot store a NUL character: ids in the path and texts in bodies that held one were a plain-text
    500 (and were stored on SQLite)."""
    client, _ = pg_client
    for path in ("/customers/C%00X", "/products/%00", "/jobs/%00"):
        answer = client.get(path)
        assert answer.status_code in (404, 422) and answer.json()["error"], (path, answer.text)
    body = {"name": "a\u0000b", "brand": "hearth", "campaign_type": "vip"}
    refused = client.post("/campaigns", json=body)
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "name", refused.text
