"""An experiment's send reads its arms' outcomes once for its batch's allocation, however many times it looks for
drafts to mail, and does not read them again as it ends to say whether its split had a reader's outcome when the
allocation's read held one: each read took 4-5 s at 50,000 sends in the arms, and a batch with a holdout read them
three times. The allocation gets the outcomes a read before the send gives, and the warning stays what the
results say (real sends through a loopback SMTP server, events posted to /events)."""

from __future__ import annotations

import pandas as pd
import pytest

from service import experiments
from service.db.session import session_scope
from service.settings import ExperimentSettings
from tests.service.test_experiment_outcomes_seen import mailing
from tests.service.test_experiments import approved_campaign, send, sends_of


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """The campaign id of each read of an experiment's arms' outcomes."""
    read, campaigns = experiments.arm_outcomes, []

    def counted(session, campaign_id, settings):
        campaigns.append(campaign_id)
        return read(session, campaign_id, settings)

    monkeypatch.setattr(experiments, "arm_outcomes", counted)
    return campaigns


@pytest.fixture
def allocated_from(monkeypatch) -> list[pd.DataFrame]:
    """The counts each batch's Thompson allocation was made from."""
    allocate, counts = experiments.allocate_sends, []

    def kept(allocation_counts, n_sends, rng=None):
        counts.append(allocation_counts)
        return allocate(allocation_counts, n_sends, rng)

    monkeypatch.setattr(experiments, "allocate_sends", kept)
    return counts


def _counts_now(engine, campaign_id: int) -> pd.DataFrame:
    settings = ExperimentSettings()
    with session_scope(engine) as session:
        arms, rows = experiments.arm_outcomes(session, campaign_id, settings)
    return experiments._allocation_counts(rows, arms, settings)


def test_a_batch_reads_the_outcomes_once_and_not_again_once_they_hold_a_reader_s(
    client, engine, mail_server, monkeypatch, reads, allocated_from
):
    mailing(mail_server, monkeypatch)
    monkeypatch.setenv("TAILOR_TRACK_CLICKS", "true")
    campaign_id = approved_campaign(client, engine, 30, "r", holdout_share=0.3)
    send(client, campaign_id, batch_size=8)
    first = [send_id for send_id, _, _, _ in sends_of(engine, campaign_id)]
    clicked = [{"send_id": s, "kind": "click", "event_id": f"reader-{s}"} for s in first[:2]]
    assert client.post("/events", json={"events": clicked}).json()["recorded"] == 2
    expected = _counts_now(engine, campaign_id)
    reads.clear()
    allocated_from.clear()

    second = send(client, campaign_id, batch_size=8)

    assert second["sent"] == 8 and "warnings" not in second
    assert reads == [campaign_id]  # the holdout took some of the first drafts looked at: it looked again
    assert len(allocated_from) >= 2  # allocated each time it looked, from what the one read gave
    for counts in allocated_from:
        pd.testing.assert_frame_equal(counts.reset_index(drop=True), expected)


def test_a_batch_split_with_machines_outcomes_alone_still_says_so_as_the_results_do(
    client, engine, mail_server, monkeypatch, reads
):
    """No reader's outcome among those allocated from: the send reads them again as it ends, as a link scanner may
    have clicked the batch's own emails meanwhile, and warns as the results do."""
    mailing(mail_server, monkeypatch)
    monkeypatch.setenv("TAILOR_TRACK_CLICKS", "true")
    campaign_id = approved_campaign(client, engine, 16, "m", holdout_share=0)
    send(client, campaign_id, batch_size=8)
    first = [send_id for send_id, _, _, _ in sends_of(engine, campaign_id)]
    scanned = [{"send_id": s, "kind": "machine_click", "event_id": f"scan-{s}"} for s in first]
    assert client.post("/events", json={"events": scanned}).json()["recorded"] == len(first)
    reads.clear()

    [told] = send(client, campaign_id)["warnings"]

    assert reads == [campaign_id, campaign_id]  # the allocation's, and the warning's as the send ended
    [warning] = client.get(f"/campaigns/{campaign_id}/experiment").json()["warnings"]
    assert told == warning and "No reader's click is recorded" in warning


def test_a_batch_allocated_by_conversions_reads_the_outcomes_for_its_allocation_alone(
    client, engine, mail_server, monkeypatch, reads
):
    """No machine converts: there is no warning of machines' conversions to look for as the send ends."""
    mailing(mail_server, monkeypatch)
    monkeypatch.setenv("TAILOR_EXPERIMENT_ALLOCATION_OUTCOME", "conversion")
    campaign_id = approved_campaign(client, engine, 12, "c", holdout_share=0)
    send(client, campaign_id, batch_size=6)
    reads.clear()

    assert "warnings" not in send(client, campaign_id)

    assert reads == [campaign_id]
