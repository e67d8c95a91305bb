"""A campaign's drafts are written, scored and saved a batch at a time: memory holds one batch, reviewers see
the first drafts while the rest are written, and the result is the campaign one batch would give, listed in the
audience's order."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from service.campaigns import ensure_brand
from service.db.models import Draft
from service.db.session import session_scope
from service.pipeline.campaign_runs import create_and_generate
from tests.service.conftest import trained_in_process, use_an_unreachable_model, wait_for_job


@pytest.fixture
def shop(engine, demo_files, monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_in_process(engine, demo_files)
    return engine


def _generate(engine, listener=None, campaign_type="cross_sell", limit: int | None = None) -> int:
    summary = create_and_generate(
        engine, campaign_type=campaign_type, brand="hearth", limit=limit, name=None, audience_query=None,
        listener=listener,
    )  # fmt: skip
    return summary.campaign_id


def _listed(client, campaign_id: int) -> list[tuple]:
    """What a reviewer sees, in the page's order: customer, status, chosen subject."""
    drafts = client.get(f"/campaigns/{campaign_id}/drafts", params={"limit": 1000}).json()
    return [
        (
            d["customer_id"],
            d["status"],
            next(v["subject"] for v in d["variants"] if v["id"] == d["selected_variant_id"]),
        )
        for d in drafts
    ]


def _count(engine, campaign_id: int) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(Draft).where(Draft.campaign_id == campaign_id))


def test_small_batches_give_the_campaign_one_batch_gives_in_the_audiences_order(shop, client, monkeypatch):
    whole = _generate(shop, limit=24)  # six batches of four (the whole audience took 17 s a test)
    monkeypatch.setenv("TAILOR_CAMPAIGN_DRAFTS_PER_BATCH", "4")
    seen: list[tuple[int, int]] = []

    def listener(done: int, total: int, message: str) -> None:
        if message.startswith("writing drafts") and 0 < done < total - 1:
            seen.append((done, _count(shop, campaign_id=2)))  # the batched campaign is the second

    batched = _generate(shop, listener, limit=24)
    assert _listed(client, batched) == _listed(client, whole) and len(_listed(client, whole)) > 8
    # Saved as they were written: while the job ran, the drafts written so far were already there.
    assert seen and all(saved == done for done, saved in seen)
    with session_scope(shop) as session:
        positions = session.scalars(select(Draft.position).where(Draft.campaign_id == batched)).all()
    assert sorted(positions) == list(range(len(positions)))
    pending = [row for row in _listed(client, batched) if row[1] == "pending"]
    by_position = client.get(f"/campaigns/{batched}/drafts", params={"status": "pending"}).json()
    assert [d["customer_id"] for d in by_position] == [row[0] for row in pending]


def test_a_run_that_stops_before_writing_keeps_the_drafts_of_the_last_run(shop, client, monkeypatch):
    campaign_id = _generate(shop, limit=8)
    before = _listed(client, campaign_id)
    use_an_unreachable_model(monkeypatch)
    job = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"])
    assert job["status"] == "failed" and "Connection error" in job["error"]
    assert (
        _listed(client, campaign_id) == before and client.get(f"/campaigns/{campaign_id}").json()["status"] == "failed"
    )


def test_a_bad_campaign_setting_is_told_before_a_campaign_exists_and_fails_one_generated_later(shop, monkeypatch):
    """A mistyped TAILOR_CAMPAIGN_* setting left a campaign behind at each try, still "created", while the command
    said it was kept as failed."""
    from pydantic import ValidationError

    from service.db.models import Campaign
    from service.jobs import InlineJobRunner
    from service.pipeline.generate import generate_campaign
    from service.settings import home_settings
    from service.state import model_store

    monkeypatch.setenv("TAILOR_CAMPAIGN_PRODUCTS_PER_EMAIL", "abc")
    with pytest.raises(ValidationError, match="products_per_email"):
        _generate(shop)
    with session_scope(shop) as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0
        campaign = Campaign(name="later", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    models = model_store(home_settings().models_dir)
    with pytest.raises(ValidationError):  # the settings changed after the campaign was made, say
        InlineJobRunner(shop).submit("generate", generate_campaign, engine=shop, models=models, campaign_id=campaign_id)
    with session_scope(shop) as session:
        assert session.get(Campaign, campaign_id).status == "failed"


def _top_product_share(engine, campaign_id: int) -> float:
    with session_scope(engine) as session:
        lists = session.scalars(select(Draft.recommendations).where(Draft.campaign_id == campaign_id)).all()
    shown = Counter(pick["product_id"] for picks in lists for pick in {p["product_id"]: p for p in picks}.values())
    return shown.most_common(1)[0][1] / len(lists)


def test_one_product_is_in_at_most_the_set_share_of_a_campaigns_emails(shop, monkeypatch):
    """Uncapped, one product was in 37 % of an Online Retail win-back's e-mails (TAILOR_CAMPAIGN_MAX_PRODUCT_SHARE,
    0.2 by default; 1 turns it off)."""
    capped = _top_product_share(shop, _generate(shop))
    monkeypatch.setenv("TAILOR_CAMPAIGN_MAX_PRODUCT_SHARE", "1")
    uncapped = _top_product_share(shop, _generate(shop))
    assert capped <= 0.2 < uncapped


def test_the_job_says_which_drafts_it_stores_in_the_words_of_its_other_figures(shop, monkeypatch):
    """A batch of one read "storing drafts 9-9 of 77", beside "writing drafts 8/77": one draft is said alone, and
    every figure reads "N of TOTAL", as a range of several does ("storing drafts: 1-8 of 77")."""
    monkeypatch.setenv("TAILOR_CAMPAIGN_DRAFTS_PER_BATCH", "1")
    said: list[str] = []
    _generate(shop, lambda _done, _total, message: said.append(message), limit=3)
    storing = [message for message in said if message.startswith("storing")]
    assert storing == ["storing drafts: 1 of 3", "storing drafts: 2 of 3", "storing drafts: 3 of 3"]
    writing = [message for message in said if message.startswith("writing")]
    assert writing == [f"writing drafts: {done} of 3" for done in range(4)]
    from service.wording import span_of  # the words of a range of several, which these campaigns' batches vary in

    assert (span_of(1, 8, 77), span_of(1_001, 3_000, 12_000)) == ("1-8 of 77", "1,001-3,000 of 12,000")
