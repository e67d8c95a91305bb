"""Scheduled retraining: with TAILOR_RETRAIN_EVERY_HOURS set, the server submits a retrain job on its own; the
job trains when sends, events or orders arrived since the last training and is skipped otherwise."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from service.db.models import Job, Send
from service.db.session import session_scope
from tests.service.conftest import upload


def retrain_jobs(engine) -> list[tuple[str, dict]]:
    with session_scope(engine) as session:
        jobs = session.scalars(
            select(Job).where(Job.kind == "retrain", Job.status.in_(("succeeded", "failed"))).order_by(Job.created_at)
        )
        return [(job.status, job.result or {"error": job.error}) for job in jobs]


def wait_for_retrains(engine, count: int, timeout: float = 120) -> list[tuple[str, dict]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        finished = retrain_jobs(engine)
        if len(finished) >= count:
            return finished
        time.sleep(0.2)
    raise AssertionError(f"only {retrain_jobs(engine)} retrain jobs finished in {timeout} s")


def test_scheduled_retrain_trains_on_new_data_and_skips_otherwise(client, engine, api_key, demo_files, monkeypatch):
    # The recommender the trainings fit is none of this test's business: the quickest to fit, not the blend, whose
    # fit and holdout evaluation were a quarter of each of its two trainings.
    monkeypatch.setenv("TAILOR_CAMPAIGN_RECOMMENDER", "popularity")
    for kind in ("customers", "products", "orders", "sends"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    assert client.get("/health").json()["models"]["engagement"] is None
    with session_scope(engine) as session:
        send_id = session.scalar(select(Send.id).limit(1))

    from service.app import create_app

    monkeypatch.setenv("TAILOR_RETRAIN_EVERY_HOURS", str(0.5 / 3600))  # every half second
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as scheduled:
        (status, first), *_ = wait_for_retrains(engine, 1)
        assert status == "succeeded" and first["skipped"] is False and first["engagement"]["sends"] > 50
        trained_version = scheduled.get("/health").json()["models"]["engagement"]
        assert trained_version == first["engagement"]["version"]

        status, second = wait_for_retrains(engine, 2)[1]
        assert status == "succeeded" and second["skipped"] is True  # nothing arrived since
        assert scheduled.get("/health").json()["models"]["engagement"] == trained_version

        event = {"send_id": send_id, "kind": "click", "occurred_at": "2026-11-25T09:00:00"}
        assert scheduled.post("/events", json={"events": [event]}).json()["recorded"] == 1
        deadline = time.monotonic() + 120
        while not any(not r.get("skipped", True) for _, r in retrain_jobs(engine)[2:]):
            assert time.monotonic() < deadline, retrain_jobs(engine)
            time.sleep(0.2)
        status, retrained = next((s, r) for s, r in retrain_jobs(engine)[2:] if not r.get("skipped", True))
        assert status == "succeeded" and retrained["data_marker"]["events"] == first["data_marker"]["events"] + 1
        assert scheduled.get("/health").json()["models"]["engagement"] == retrained["engagement"]["version"]
        assert retrained["engagement"]["version"] != trained_version


def test_no_schedule_without_the_setting(client, engine):
    time.sleep(1.0)
    assert retrain_jobs(engine) == []


def test_retraining_right_after_tailors_first_sends_keeps_the_scores(client, engine, demo_files, mail_server,
                                                                     monkeypatch):  # fmt: skip
    """Found by a user: after Tailor sent its first 6 emails and the shop retrained, every later draft scored
    P(open) 0.04 and was flagged. The fresh sends carried churn risk that no imported send had, and they counted
    as ignored before anyone could have opened them."""
    from tests.service.conftest import generated_campaign, trained_shop, wait_for_job

    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    first = generated_campaign(client, max_customers=6)
    for draft in client.get(f"/campaigns/{first}/drafts").json():
        approved = client.post(f"/drafts/{draft['id']}/approve", json={"override_checks": True, "comment": "test"})
        assert approved.status_code == 200, approved.text
    sent = wait_for_job(client, client.post(f"/campaigns/{first}/send").json()["job_id"])
    assert sent["status"] == "succeeded" and sent["result"]["sent"] == 6, sent
    before = [v["p_open"] for d in client.get(f"/campaigns/{generated_campaign(client, max_customers=8)}/drafts")
              .json() for v in d["variants"]]  # fmt: skip

    retrain = wait_for_job(client, client.post("/train").json()["job_id"])
    assert retrain["status"] == "succeeded", retrain["error"]
    assert retrain["result"]["engagement"]["sends_waiting_for_outcomes"] == 6
    drafts = client.get(f"/campaigns/{generated_campaign(client, max_customers=8)}/drafts").json()
    after = [v["p_open"] for d in drafts for v in d["variants"]]
    assert abs(sum(after) / len(after) - sum(before) / len(before)) < 0.03
    assert sum(d["flagged"] for d in drafts) < len(drafts)


def test_a_scheduled_retrain_trains_the_recommender_in_use(engine, demo_files):
    """A shop that trained `tailor train --model popularity` got the default recommender (blend) back at the next
    scheduled retrain. (The shop has no past sends: what the recommender learns from is its orders, and the two
    trainings' engagement models, fitted on the sends, were most of this test's time and nothing it looks at.)"""
    from service.importing import import_frame, read_table
    from service.pipeline.training import retrain_if_new_data, train_all

    with session_scope(engine) as session:
        for kind in ("customers", "products", "orders"):
            import_frame(session, kind, read_table(demo_files[kind]))
    progress = lambda done, total, message="": None  # noqa: E731
    assert train_all(progress, engine, model="popularity")["recommender"]["model"] == "popularity"

    retrained = retrain_if_new_data(progress, engine)  # no training job recorded a marker: it trains
    assert retrained["skipped"] is False and retrained["recommender"]["model"] == "popularity"


def test_a_scheduled_retrain_learns_from_sends_that_came_of_age_since_the_last_training(engine, monkeypatch):
    """A campaign's sends are too young to learn from when its last events arrive (TAILOR_SCORING_OUTCOME_DAYS):
    the training then left them waiting, and with no later send, event or order every scheduled retrain was
    skipped, so the engagement model never learned from them."""
    from datetime import timedelta

    from service.clock import utcnow
    from service.db.models import Customer
    from service.pipeline import training

    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com")
        session.add(Send(customer=customer, subject="News", campaign_type="vip", sent_at=utcnow() - timedelta(days=3)))
    with session_scope(engine) as session:  # a training three days after the send: still too young
        result = {"data_marker": training.data_marker(engine)}
        session.add(Job(id="trained", kind="train", status="succeeded", result=result))
    trained = []
    monkeypatch.setattr(training, "train_all", lambda progress, engine, model=None: trained.append(model) or {})
    progress = lambda done, total, message="": None  # noqa: E731

    assert training.retrain_if_new_data(progress, engine)["skipped"] is True and trained == []
    monkeypatch.setenv("TAILOR_SCORING_OUTCOME_DAYS", "2")  # as when five more days have passed
    assert training.retrain_if_new_data(progress, engine)["skipped"] is False and len(trained) == 1
