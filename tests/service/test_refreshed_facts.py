"""Refreshing a draft's email with the catalog's facts of now: a draft whose product changed price could only be
rejected (an edit changes the copy, not the prices shown, and approval refuses it), so 34 of 268 drafts of an Online
Retail campaign stayed stuck. Through the API on SQLite and the review page over HTTP; a deletion racing a refresh
on PostgreSQL too."""

from __future__ import annotations

import threading
import time
from html import unescape

import pytest

from generation.guardrails import check_label
from tests.service.conftest import generated_campaign, trained_shop


def _costs_more(engine, shown: dict, more: float = 5) -> float:
    """Raise the catalog's price of a product an email shows; its price now."""
    from service.db.models import Product
    from service.db.session import session_scope

    with session_scope(engine) as session:
        session.query(Product).filter(Product.sku == shown["product_id"]).update({"price": shown["price"] + more})
    return shown["price"] + more


def _pending_draft(client, demo_files, monkeypatch, max_customers: int = 3) -> tuple[int, dict]:
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=max_customers)
    return campaign_id, client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "pending"}).json()[0]


def test_a_draft_whose_price_changed_is_refreshed_with_its_copy_kept_and_can_be_approved(
    client, demo_files, engine, monkeypatch
):
    _, draft = _pending_draft(client, demo_files, monkeypatch)
    shown = draft["recommendations"][0]
    unchanged = client.post(f"/drafts/{draft['id']}/refresh-facts", json={"reviewer": "Ola"}).json()
    assert unchanged["revision"] == draft["revision"] and unchanged["reviews"] == []  # nothing changed, nothing done
    price = _costs_more(engine, shown)
    refused = client.post(f"/drafts/{draft['id']}/approve", json={"reviewer": "Ola"})
    assert refused.status_code == 409 and "out of date with the catalog" in refused.json()["message"]
    stuck = client.get(f"/drafts/{draft['id']}").json()
    assert any(reason.startswith("Not approved: ") for reason in stuck["flag_reasons"])

    answer = client.post(
        f"/drafts/{draft['id']}/refresh-facts", json={"reviewer": "Ola", "expected_revision": stuck["revision"]}
    )
    assert answer.status_code == 200, answer.text
    fresh = answer.json()
    assert fresh["recommendations"][0]["price"] == price and fresh["revision"] == stuck["revision"] + 1
    for before, after in zip(stuck["variants"], fresh["variants"], strict=True):  # the copy is kept
        assert [after[k] for k in ("subject", "preheader", "intro", "product_lines")] == [
            before[k] for k in ("subject", "preheader", "intro", "product_lines")
        ]
        assert after["html"] != before["html"]  # the email shows the new price
    assert not any("now costs" in reason for reason in fresh["flag_reasons"]), fresh["flag_reasons"]
    review = fresh["reviews"][-1]
    assert review["action"] == "refresh" and review["reviewer"] == "Ola"
    assert (
        f"({shown['product_id']}): price {shown['price']:.2f}" in review["comment"]
        and f"{price:.2f}" in review["comment"]
    )
    assert fresh["status"] == ("flagged" if fresh["flag_reasons"] else "pending")

    stale_page = client.post(
        f"/drafts/{draft['id']}/refresh-facts", json={"reviewer": "Ola", "expected_revision": stuck["revision"]}
    )
    assert stale_page.status_code == 409  # naming who changed what since
    assert f"Ola updated it with the catalog's facts ({review['comment']})" in stale_page.json()["message"]
    approved = client.post(
        f"/drafts/{draft['id']}/approve",
        json={"reviewer": "Ola", "expected_revision": fresh["revision"], "override_checks": bool(fresh["flagged"]),
              "comment": "checked"},
    )  # fmt: skip
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    again = client.post(f"/drafts/{draft['id']}/refresh-facts", json={"reviewer": "Ola"})
    assert again.status_code == 409 and "already approved" in again.json()["message"]


def test_copy_stating_the_old_price_fails_its_check_once_refreshed(client, demo_files, engine, monkeypatch):
    _, draft = _pending_draft(client, demo_files, monkeypatch)
    shown = draft["recommendations"][0]
    variant = next(v for v in draft["variants"] if v["id"] == draft["selected_variant_id"])
    intro = f"{variant['intro']} Yours for {shown['price']:.2f} today."
    edited = client.patch(
        f"/drafts/{draft['id']}/variants/{variant['id']}", json={"intro": intro, "reviewer": "copy"}
    ).json()
    checks = {c["name"]: c for v in edited["variants"] if v["id"] == variant["id"] for c in v["checks"]}
    assert checks["grounding"]["passed"]  # the price it states is the catalog's, for now
    _costs_more(engine, shown)

    fresh = client.post(f"/drafts/{draft['id']}/refresh-facts", json={"reviewer": "Ola"}).json()
    mine = next(v for v in fresh["variants"] if v["id"] == variant["id"])
    assert mine["intro"] == intro and mine["edited"]
    grounding = next(c for c in mine["checks"] if c["name"] == "grounding")
    assert not grounding["passed"] and f"{shown['price']:.2f}" in grounding["reason"]
    assert fresh["status"] == "flagged" and any(
        reason.startswith(f"variant {variant['label']} ") and check_label("grounding") in reason
        for reason in fresh["flag_reasons"]
    ), fresh["flag_reasons"]
    refused = client.post(f"/drafts/{draft['id']}/approve", json={"reviewer": "Ola"})
    assert refused.status_code == 409 and check_label("grounding") in refused.json()["message"]


def _refreshed_by_a_job(client, campaign_id: int, reviewer: str = "Ola") -> dict:
    """Start the campaign's refresh through the API (202, a job); the job once it ended."""
    answer = client.post(f"/campaigns/{campaign_id}/drafts/refresh-facts", json={"reviewer": reviewer})
    assert answer.status_code == 202, answer.text
    return _ended(client, answer.json()["job_id"])


def _ended(client, job_id: str, timeout: float = 120) -> dict:
    """The job once it ended, cancelled included (conftest's wait_for_job waits for succeeded or failed)."""
    deadline = time.monotonic() + timeout
    while (job := client.get(f"/jobs/{job_id}").json())["status"] not in {"succeeded", "failed", "cancelled"}:
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    return job


def _catalog_costs_more(engine, more: float = 5) -> None:
    """Raise the price of every product of the catalog: every email is out of date."""
    from service.db.models import Product
    from service.db.session import session_scope

    with session_scope(engine) as session:
        session.query(Product).update({"price": Product.price + more})


def _shown_prices(client, draft_id: int) -> list[float]:
    return [product["price"] for product in client.get(f"/drafts/{draft_id}").json()["recommendations"]]


def test_a_campaign_s_out_of_date_drafts_are_refreshed_by_a_job(client, demo_files, engine, monkeypatch):
    campaign_id, draft = _pending_draft(client, demo_files, monkeypatch, max_customers=6)
    shown = draft["recommendations"][0]
    price = _costs_more(engine, shown)
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    showing = {d["id"] for d in drafts if shown["product_id"] in {p["product_id"] for p in d["recommendations"]}}
    rejected = next((d["id"] for d in drafts if d["id"] in showing and d["id"] != draft["id"]), None)
    if rejected is not None:  # a draft reviewed is not refreshed
        client.post(f"/drafts/{rejected}/reject", json={"reviewer": "Ola", "comment": "no"})

    job = _refreshed_by_a_job(client, campaign_id)
    assert job["status"] == "succeeded" and job["kind"] == "refresh_facts" and job["campaign_id"] == campaign_id, job
    refreshed = len(showing - {rejected})
    assert job["result"]["refreshed"] == refreshed and job["result"]["changed_meanwhile"] == 0
    assert job["result"]["flagged"] <= refreshed
    assert (job["done"], job["total"]) == (refreshed, refreshed)
    drafts = "1 draft" if refreshed == 1 else f"{refreshed:,} drafts"
    assert job["message"] == f"done: refreshed {drafts} ({job['result']['flagged']:,} flagged for review)", job
    for draft_id in showing:
        after = client.get(f"/drafts/{draft_id}").json()
        prices = {p["price"] for p in after["recommendations"] if p["product_id"] == shown["product_id"]}
        assert prices == ({shown["price"]} if draft_id == rejected else {price})
        assert (after["reviews"][-1]["action"] == "refresh") == (draft_id != rejected)
    again = _refreshed_by_a_job(client, campaign_id)
    assert again["status"] == "succeeded", again
    assert again["result"] == {"refreshed": 0, "flagged": 0, "changed_meanwhile": 0} and again["total"] == 0
    listed = client.get("/jobs", params={"kind": "refresh_facts"}).json()
    assert {j["id"] for j in listed} >= {job["id"], again["id"]}


def _held_after_its_first_draft(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """Hold a refresh job once it refreshed its first draft (the real refresh), until ``go_on``; (``first_done``,
    ``go_on``)."""
    from service import refreshed_facts

    first_done, go_on = threading.Event(), threading.Event()
    refresh_one = refreshed_facts.refresh_facts

    def held_after_the_first(*args, **kwargs):
        done = refresh_one(*args, **kwargs)
        if not first_done.is_set():
            first_done.set()
            assert go_on.wait(60)
        return done

    monkeypatch.setattr(refreshed_facts, "refresh_facts", held_after_the_first)
    return first_done, go_on


def _out_of_date_campaign(client, demo_files, engine, monkeypatch) -> tuple[int, dict[int, list[float]]]:
    """A campaign whose every email the catalog's prices changed since; the prices each draft shows."""
    campaign_id, _ = _pending_draft(client, demo_files, monkeypatch, max_customers=4)
    waiting = [d["id"] for d in client.get(f"/campaigns/{campaign_id}/drafts").json()]
    assert len(waiting) >= 3
    before = {draft_id: _shown_prices(client, draft_id) for draft_id in waiting}
    _catalog_costs_more(engine)
    return campaign_id, before


def _in_batches_of(monkeypatch, size: int) -> None:
    """Make the refresh job refresh (and commit, and report) ``size`` drafts at a time, so a small campaign has
    several batches."""
    from service import refreshed_facts

    monkeypatch.setattr(refreshed_facts, "REFRESH_BATCH", size)


def _refreshed_drafts(client, before: dict[int, list[float]]) -> list[int]:
    """The drafts that show the catalog's prices of now (each 5 more than they did)."""
    changed = [d for d in before if _shown_prices(client, d) != before[d]]
    assert all(_shown_prices(client, d) == [price + 5 for price in before[d]] for d in changed)
    return changed


def test_a_cancelled_refresh_keeps_the_drafts_it_refreshed_and_a_rerun_refreshes_the_others(
    client, demo_files, engine, monkeypatch
):
    campaign_id, before = _out_of_date_campaign(client, demo_files, engine, monkeypatch)
    _in_batches_of(monkeypatch, 2)
    first_done, go_on = _held_after_its_first_draft(monkeypatch)
    started = client.post(f"/campaigns/{campaign_id}/drafts/refresh-facts", json={"reviewer": "Ola"})
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    try:
        assert first_done.wait(60)
        assert client.post(f"/jobs/{job_id}/cancel").status_code == 200
    finally:
        go_on.set()
    job = _ended(client, job_id)  # at the end of the batch it was in: between batches
    assert job["status"] == "cancelled" and job["error"].startswith(f"cancelled on request after 2 of {len(before)}")
    assert job["result"] == {"refreshed": 2, "flagged": job["result"]["flagged"], "changed_meanwhile": 0}
    assert (job["done"], job["total"]) == (2, len(before)), job  # reported a batch at a time
    assert len(_refreshed_drafts(client, before)) == 2  # the batch it finished is kept, committed on its own

    rerun = _refreshed_by_a_job(client, campaign_id)
    assert rerun["status"] == "succeeded" and rerun["result"]["refreshed"] == len(before) - 2, rerun
    assert len(_refreshed_drafts(client, before)) == len(before)


def test_a_refresh_interrupted_by_the_server_stopping_keeps_the_drafts_it_refreshed(
    client, demo_files, engine, monkeypatch
):
    from service.jobs import InlineJobRunner
    from service.jobs import runner as job_runner
    from service.refreshed_facts import KIND, refresh_campaign

    campaign_id, before = _out_of_date_campaign(client, demo_files, engine, monkeypatch)
    _in_batches_of(monkeypatch, 2)
    first_done, go_on = _held_after_its_first_draft(monkeypatch)
    job_id = client.post(f"/campaigns/{campaign_id}/drafts/refresh-facts", json={"reviewer": "Ola"}).json()["job_id"]
    jobs = client.app.state.tailor.jobs
    stopping = threading.Thread(target=jobs.shutdown, kwargs={"grace_seconds": 60})
    try:
        assert first_done.wait(60)
        stopping.start()  # as the server stops: its running jobs are asked to stop at their next step
        deadline = time.monotonic() + 30
        while job_id not in job_runner._interrupting:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        go_on.set()
    stopping.join(60)
    job = _ended(client, job_id)
    assert job["status"] == "failed" and "the drafts it refreshed stay so" in job["error"], job
    assert job["result"]["refreshed"] == 2 and len(_refreshed_drafts(client, before)) == 2

    models = client.app.state.tailor.models  # the server's runner is stopped: run again as a command would
    InlineJobRunner(engine).submit(KIND, refresh_campaign, engine=engine, campaign_id=campaign_id, reviewer="Ola",
                                   models=models)  # fmt: skip
    assert len(_refreshed_drafts(client, before)) == len(before)


def test_a_refresh_is_refused_while_the_campaign_generates_or_its_drafts_are_refreshed(
    client, demo_files, engine, monkeypatch
):
    campaign_id, _ = _pending_draft(client, demo_files, monkeypatch)
    _catalog_costs_more(engine)
    release = threading.Event()  # keeps the app's one job worker busy: what is asked for waits in the queue
    blocker = client.app.state.tailor.jobs.submit("retrain", lambda progress: {"held": release.wait(60)})
    try:
        first = client.post(f"/campaigns/{campaign_id}/drafts/refresh-facts", json={"reviewer": "Ola"})
        assert first.status_code == 202, first.text
        job_id = first.json()["job_id"]
        second = client.post(f"/campaigns/{campaign_id}/drafts/refresh-facts", json={"reviewer": "Bo"})
        assert second.status_code == 409 and f"POST /jobs/{job_id}/cancel" in second.json()["message"], second.text
        page = unescape(client.get(f"/review/campaigns/{campaign_id}").text)
        assert 'id="refresh-progress"' in page and "Updating the out-of-date drafts" in page
        assert 'id="refresh-facts"' not in page  # no second start while one runs
        regenerate = client.post(f"/campaigns/{campaign_id}/generate")  # it would write the drafts anew meanwhile
        assert regenerate.status_code == 409 and f"POST /jobs/{job_id}/cancel" in regenerate.json()["message"]
        assert client.post(f"/jobs/{job_id}/cancel").status_code == 200
        generating = client.post(f"/campaigns/{campaign_id}/generate")
        assert generating.status_code == 202, generating.text
        refused = client.post(f"/campaigns/{campaign_id}/drafts/refresh-facts", json={"reviewer": "Ola"})
        assert refused.status_code == 409 and "is being generated" in refused.json()["message"], refused.text
    finally:
        release.set()
    assert _ended(client, blocker)["status"] == "succeeded"
    assert _ended(client, generating.json()["job_id"])["status"] == "succeeded"


def test_a_product_no_longer_for_sale_stays_in_the_email_and_the_draft_flagged(client, demo_files, engine, monkeypatch):
    from service.db.models import Product
    from service.db.session import session_scope

    _, draft = _pending_draft(client, demo_files, monkeypatch)
    gone, repriced = draft["recommendations"][0], draft["recommendations"][-1]
    assert gone["product_id"] != repriced["product_id"]
    price = _costs_more(engine, repriced)
    with session_scope(engine) as session:
        session.query(Product).filter(Product.sku == gone["product_id"]).update({"in_stock": False, "price": 1.0})

    fresh = client.post(f"/drafts/{draft['id']}/refresh-facts", json={"reviewer": "Ola"}).json()
    assert fresh["recommendations"][0] == gone and fresh["recommendations"][-1]["price"] == price
    assert fresh["status"] == "flagged" and any(
        reason.startswith("Updated with the catalog's facts, but: ")
        and f"({gone['product_id']}) is out of stock" in reason
        for reason in fresh["flag_reasons"]
    ), fresh["flag_reasons"]
    refused = client.post(f"/drafts/{draft['id']}/approve", json={"reviewer": "Ola"})
    assert refused.status_code == 409 and "out of stock" in refused.json()["message"]


def test_the_review_page_offers_the_refresh_on_the_draft_and_the_campaign(client, demo_files, engine, monkeypatch):
    campaign_id, draft = _pending_draft(client, demo_files, monkeypatch)
    page = client.get(f"/review/drafts/{draft['id']}").text
    assert 'id="refresh-form"' not in page  # nothing to refresh
    shown = draft["recommendations"][0]
    price = _costs_more(engine, shown)
    page = unescape(client.get(f"/review/drafts/{draft['id']}").text)
    assert 'id="refresh-form"' in page and f"price {shown['price']:.2f} {shown['currency']} → {price:.2f}" in page

    done = client.post(
        f"/review/drafts/{draft['id']}/refresh-facts", data={"expected_revision": draft["revision"]},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"].endswith(f"/review/drafts/{draft['id']}?done=refreshed")
    page = unescape(client.get(done.headers["location"]).text)
    assert "now shows the catalog's facts" in page and 'id="refresh-form"' not in page
    assert client.get(f"/drafts/{draft['id']}").json()["recommendations"][0]["price"] == price

    stale = client.post(f"/review/drafts/{draft['id']}/refresh-facts", data={"expected_revision": draft["revision"]})
    assert stale.status_code == 409 and "was changed since you read it" in unescape(stale.text)

    _catalog_costs_more(engine)
    campaign_page = client.get(f"/review/campaigns/{campaign_id}").text
    assert 'id="refresh-facts"' in campaign_page and 'id="refresh-progress"' not in campaign_page
    bulk = client.post(f"/review/campaigns/{campaign_id}/refresh-facts", follow_redirects=False)
    assert bulk.status_code == 303 and "?refresh_job=" in bulk.headers["location"]
    job = _ended(client, bulk.headers["location"].rpartition("=")[2])
    assert job["status"] == "succeeded" and job["kind"] == "refresh_facts", job
    refreshed = job["result"]["refreshed"]
    assert refreshed >= 1 and job["result"]["changed_meanwhile"] == 0  # every pending or flagged draft of it
    said = unescape(client.get(bulk.headers["location"]).text)
    assert f"Updated {refreshed} draft{'s' if refreshed != 1 else ''} with the catalog's facts." in said
    # ended, every email showing the catalog's facts: nothing is offered until the catalog changes one of them
    assert "data-running" not in said and 'id="refresh-facts"' not in said
    _catalog_costs_more(engine)
    assert 'id="refresh-facts"' in client.get(bulk.headers["location"]).text


def _held_before_draft(monkeypatch, number: int) -> tuple[threading.Event, threading.Event]:
    """Hold a refresh job before it refreshes its draft ``number`` (1 for the first), until ``go_on``; (``reached``,
    ``go_on``)."""
    from service import refreshed_facts

    reached, go_on = threading.Event(), threading.Event()
    refresh_one = refreshed_facts.refresh_facts
    calls = []

    def held_before(*args, **kwargs):
        calls.append(args)
        if len(calls) == number:
            reached.set()
            assert go_on.wait(60)
        return refresh_one(*args, **kwargs)

    monkeypatch.setattr(refreshed_facts, "refresh_facts", held_before)
    return reached, go_on


def test_a_campaign_is_not_deleted_while_its_drafts_are_refreshed(client, demo_files, engine, monkeypatch):
    campaign_id, before = _out_of_date_campaign(client, demo_files, engine, monkeypatch)
    _in_batches_of(monkeypatch, 2)
    between, go_on = _held_before_draft(monkeypatch, 3)  # its first batch committed, nothing of the second written
    job_id = client.post(f"/campaigns/{campaign_id}/drafts/refresh-facts", json={"reviewer": "Ola"}).json()["job_id"]
    try:
        assert between.wait(60)
        refused = client.delete(f"/campaigns/{campaign_id}")
    finally:
        go_on.set()
    assert refused.status_code == 409, refused.text
    assert "being updated with the catalog's facts" in refused.json()["message"]
    assert f"POST /jobs/{job_id}/cancel" in refused.json()["message"]
    job = _ended(client, job_id)
    assert job["status"] == "succeeded" and job["result"]["refreshed"] == len(before), job
    assert client.get(f"/campaigns/{campaign_id}").status_code == 200
    assert len(_refreshed_drafts(client, before)) == len(before)


def test_a_refresh_whose_campaign_is_deleted_under_it_fails_saying_so(client, demo_files, engine, monkeypatch):
    """A deletion whose checks read the jobs before the refresh's was queued (PostgreSQL lets them interleave):
    the job says its campaign was deleted, not that a draft "does not exist"."""
    from service import refreshed_facts
    from service.db.models import Campaign, DeletedCampaign
    from service.db.session import session_scope

    campaign_id, _ = _out_of_date_campaign(client, demo_files, engine, monkeypatch)
    found, go_on = threading.Event(), threading.Event()
    find = refreshed_facts.out_of_date_drafts

    def found_then_held(*args, **kwargs):
        out_of_date = find(*args, **kwargs)
        found.set()
        assert go_on.wait(60)
        return out_of_date

    monkeypatch.setattr(refreshed_facts, "out_of_date_drafts", found_then_held)
    job_id = client.post(f"/campaigns/{campaign_id}/drafts/refresh-facts", json={"reviewer": "Ola"}).json()["job_id"]
    try:
        assert found.wait(60)
        with session_scope(engine) as session:  # as delete_campaign does once its checks passed
            session.add(DeletedCampaign(id=campaign_id, name="Test campaign"))
            session.query(Campaign).filter(Campaign.id == campaign_id).delete()
    finally:
        go_on.set()
    job = _ended(client, job_id)
    assert job["status"] == "failed" and job["error"].startswith(
        f"Campaign {campaign_id} ('Test campaign') was deleted"
    )


def test_drafts_scored_together_get_the_scores_each_gets_scored_alone(
    client, demo_files, engine, copy_model_file, monkeypatch
):
    """The refresh scores a batch of drafts in one pass of the models (one at a time took 85 % of the job): each
    draft's predictions and reasons are those it gets scored alone, as an edit scores it, to the float. With a copy
    model, whose appeal of a subject is measured against the subjects it is compared with: a draft's own variants."""
    from datetime import datetime

    from sqlalchemy import select

    from service.db.models import Draft
    from service.db.session import session_scope
    from service.drafts import score_again
    from service.pipeline import generate
    from tests.scoring.test_copy_model import _tests

    tests = _tests()
    monkeypatch.setenv("TAILOR_SCORING_COPY_MODEL", str(copy_model_file))
    campaign_id, _ = _pending_draft(client, demo_files, monkeypatch, max_customers=8)
    models = client.app.state.tailor.models
    monkeypatch.setattr(generate, "utcnow", lambda: datetime(2026, 11, 20, 10, 30))  # one hour planned for both

    def scores(drafts: list) -> dict[tuple[int, str], tuple]:
        return {
            (draft.id, v.label): (v.p_open, v.p_click, v.p_conversion, v.reasons, draft.flag_reasons)
            for draft in drafts for v in draft.variants
        }  # fmt: skip

    with session_scope(engine) as session:
        drafts = list(session.scalars(select(Draft).where(Draft.campaign_id == campaign_id).order_by(Draft.id)))
        assert len(drafts) >= 6
        headlines = iter(tests["text"].drop_duplicates())
        for draft in drafts:  # subjects of their own (the fake model writes the same for all), compared within each
            for variant in draft.variants:
                variant.subject = next(headlines)
        score_again(drafts, models)
        together = scores(drafts)
        for draft in drafts:
            score_again([draft], models)
        alone = scores(drafts)
        engagement = models.get("engagement")
        previewed = {  # as a person's edit is previewed: its draft's rows alone, without the batch's columns
            (draft.id, v.label): generate.score_in_place_of(
                draft, v.label, v, all(c["passed"] for c in v.checks), engagement
            )
            for draft in drafts for v in draft.variants
        }  # fmt: skip
        session.rollback()
    assert together == alone
    assert {key: (p["p_open"], p["p_click"], p["p_conversion"], p["reasons"]) for key, p in previewed.items()} == {
        key: figures[:4] for key, figures in alone.items()
    }
    assert len({p_click for _, p_click, *_ in together.values()}) > 1  # the copy model's appeal moved them


@pytest.mark.postgres
def test_on_postgres_a_refresh_queued_as_its_campaign_is_deleted_waits_and_says_it_was_deleted(postgres_url):
    """PostgreSQL lets a refresh be queued after a deletion read the jobs and before it commits: the refresh's
    transaction for its next drafts waits for the deletion, then says the campaign was deleted, where it wrote under
    drafts going away."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from service.campaigns import delete_campaign, ensure_brand, hold_campaign
    from service.db.models import Campaign
    from service.db.session import session_scope
    from service.errors import CampaignNotFound
    from tests.service.conftest import new_migrated_postgres_database

    engine = new_migrated_postgres_database(postgres_url, "refresh_delete_race")
    with session_scope(engine) as session:
        campaign = Campaign(name="spring", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    deleting, raised = Session(engine), []

    def next_batch() -> None:
        try:
            with session_scope(engine) as session:
                hold_campaign(session, campaign_id)
        except Exception as error:  # the test reports it
            raised.append(error)

    try:
        delete_campaign(deleting, campaign_id)  # its checks read no job of the campaign; not yet committed
        refreshing = threading.Thread(target=next_batch)
        refreshing.start()
        with engine.connect() as watcher:  # until the refresh waits on the deletion's lock
            for _ in range(200):
                waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                seen = watcher.execute(text(waiting)).scalar()
                watcher.rollback()  # pg_stat_activity is read once a transaction: the next look reads it anew
                if seen:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the refresh did not wait for the deletion")
        assert not raised
        deleting.commit()
        refreshing.join(timeout=30)
    finally:
        deleting.close()
        engine.dispose()
    assert len(raised) == 1 and isinstance(raised[0], CampaignNotFound), raised
    assert str(raised[0]).startswith(f"Campaign {campaign_id} ('spring') was deleted on ")
