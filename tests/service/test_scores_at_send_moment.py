"""A draft is scored for the moment its email is planned to go, whatever the clock says when it is scored: the
engagement model reads the send's hour and weekday, and a draft scored for the hour of each scoring showed a
copywriter p_open and p_click that moved between its generation and an edit, a preview or a refresh hours later,
with nothing of the email changed; and a scheduled campaign's drafts were scored for when they were written, not
for when they go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.service.conftest import generated_campaign, set_host_clock_off, trained_shop, wait_for_job

pytestmark = pytest.mark.usefixtures("written_by_the_fake_model")


def next_weekday_at(weekday: int, hour: int, after: datetime) -> datetime:
    """The first ``weekday`` (Monday 0) at ``hour``:30 more than a day after ``after``."""
    day = (after + timedelta(days=1)).replace(hour=hour, minute=30, second=0, microsecond=0)
    return day + timedelta(days=(weekday - day.weekday()) % 7 or 7)


def set_service_clock(monkeypatch, moment: datetime) -> None:
    """The service's clock at ``moment`` (the test's seconds go on from there)."""
    set_host_clock_off(monkeypatch, moment - datetime.now(UTC).replace(tzinfo=None))


def _scores(engine, campaign_id: int) -> dict[tuple[int, str], tuple]:
    from sqlalchemy import select

    from service.db.models import Draft
    from service.db.session import session_scope

    with session_scope(engine) as session:
        drafts = session.scalars(select(Draft).where(Draft.campaign_id == campaign_id))
        return {
            (d.customer_id, v.label): (v.p_open, v.p_click, v.p_conversion, v.reasons)
            for d in drafts
            for v in d.variants
        }


def _scored_again(engine, campaign_id: int, models) -> tuple[dict, dict]:
    """The campaign's unchanged drafts as an edit or a refresh scores them, and as a suggestion's preview does; the
    drafts are left as they were."""
    from sqlalchemy import select

    from service.db.models import Draft
    from service.db.session import session_scope
    from service.drafts import score_again
    from service.pipeline.generate import score_in_place_of

    with session_scope(engine) as session:
        drafts = list(session.scalars(select(Draft).where(Draft.campaign_id == campaign_id)))
        previewed = {}
        for d in drafts:
            for v in d.variants:
                score = score_in_place_of(d, v.label, v, all(c["passed"] for c in v.checks), models.get("engagement"))
                previewed[d.customer_id, v.label] = tuple(
                    score[k] for k in ("p_open", "p_click", "p_conversion", "reasons")
                )
        score_again(drafts, models)
        rescored = {
            (d.customer_id, v.label): (v.p_open, v.p_click, v.p_conversion, v.reasons)
            for d in drafts
            for v in d.variants
        }
        session.rollback()
    return rescored, previewed


def test_an_unchanged_draft_keeps_its_scores_as_the_clock_moves(client, demo_files, engine, monkeypatch):
    trained_shop(client, demo_files)
    written = next_weekday_at(
        2, 9, datetime.now(UTC).replace(tzinfo=None)
    )  # a Wednesday morning, an hour the shop's past sends often went at
    set_service_clock(monkeypatch, written)
    campaign_id = generated_campaign(client, max_customers=12)
    at_generation = _scores(engine, campaign_id)

    set_service_clock(monkeypatch, written + timedelta(days=3, hours=14))  # the Saturday night after: late, a weekend
    rescored, previewed = _scored_again(engine, campaign_id, client.app.state.tailor.models)
    assert at_generation and rescored == previewed == at_generation


def test_a_scheduled_campaign_s_drafts_are_scored_for_its_moment(client, demo_files, engine, monkeypatch):
    trained_shop(client, demo_files)
    written = next_weekday_at(2, 9, datetime.now(UTC).replace(tzinfo=None))
    set_service_clock(monkeypatch, written)
    campaign_id = generated_campaign(client, max_customers=12)
    unscheduled = _scores(engine, campaign_id)
    models = client.app.state.tailor.models

    scheduled_at = written + timedelta(days=3, hours=14)  # the Saturday night after
    send = client.post(f"/campaigns/{campaign_id}/send", params={"at": scheduled_at.isoformat() + "Z"})
    assert wait_for_job(client, send.json()["job_id"])["status"] == "succeeded"
    set_service_clock(monkeypatch, written + timedelta(days=1, hours=5))
    rescored, previewed = _scored_again(engine, campaign_id, models)
    set_service_clock(monkeypatch, scheduled_at)  # as the hour of scoring was planned for, before
    rescored_then, _ = _scored_again(engine, campaign_id, models)
    set_service_clock(monkeypatch, written + timedelta(days=2, hours=11))
    regenerated = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"])
    assert regenerated["status"] == "succeeded", regenerated["error"]
    at_generation = _scores(engine, campaign_id)  # the same copy, written again for the scheduled campaign
    assert at_generation.keys() == unscheduled.keys()
    assert rescored == previewed == rescored_then == at_generation
    p_opens = {key: p_open for key, (p_open, *_) in unscheduled.items()}
    assert p_opens != {key: p_open for key, (p_open, *_) in at_generation.items()}  # Saturday night is another moment


def test_the_planned_moment_is_the_draft_s_own_else_the_campaign_s_else_its_writing():
    from service.send_times import planned_send_moment

    written, scheduled, best_hour = (
        datetime(2026, 12, 2, 9, 30),
        datetime(2026, 12, 5, 23, 30),
        datetime(2026, 12, 6, 8),
    )
    assert planned_send_moment(best_hour, scheduled, written) == best_hour
    assert planned_send_moment(None, scheduled, written) == scheduled
    assert (
        planned_send_moment(None, written, scheduled) == scheduled
    )  # written after its moment passed: goes once approved
    assert planned_send_moment(None, None, written) == written
