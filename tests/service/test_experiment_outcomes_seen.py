"""Whether an experiment can see the outcome it allocates by: a shop allocating by clicks whose email cannot report a
click is told so by the send and the results, and a send that could not report the outcome counts in no arm's rate of
it (real sends through a loopback SMTP server, events posted to /events or recorded by Tailor's own tracking)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from scoring.experiments import thompson_allocation
from service.db.models import Send
from service.db.session import session_scope
from service.signed_links import click_event_id
from service.tracking import Engagement, _written
from tests.service.conftest import set_host_clock_off
from tests.service.test_experiments import approved_campaign, send, sends_of


def mailing(mail_server, monkeypatch) -> None:
    """Mail through the loopback server, with links people can reach (no warning of those)."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_PUBLIC_URL", "https://mail.shop.example")


def _results(client, campaign_id: int) -> dict:
    response = client.get(f"/campaigns/{campaign_id}/experiment")
    assert response.status_code == 200, response.text
    return response.json()


def test_clicks_no_email_can_report_are_warned_of_at_the_send_and_in_the_results(
    client, engine, mail_server, monkeypatch
):
    """Click tracking off and no email service's click ever received: every batch was split 50/50 for ever and
    nothing said that the experiment could not learn."""
    mailing(mail_server, monkeypatch)
    campaign_id = approved_campaign(client, engine, 20, "w", holdout_share=0.2)

    sent = send(client, campaign_id, batch_size=10)

    assert sent["sent"] > 0
    [warning] = sent["warnings"]
    assert "cannot report a click" in warning and "TAILOR_TRACK_CLICKS" in warning and "POST /events" in warning
    assert "TAILOR_EXPERIMENT_ALLOCATION_OUTCOME" in warning
    results = _results(client, campaign_id)
    [said] = results["warnings"]
    assert "can report a click" in said and "TAILOR_TRACK_CLICKS" in said
    arms = {arm["arm"]: arm for arm in results["arms"] if arm["arm"] != "holdout"}
    assert all(arm["sends_reporting_clicks"] == 0 and arm["click_rate"]["observed"] is None for arm in arms.values())
    assert sum(arm["sends"] for arm in arms.values()) == sent["sent"]
    page = client.get(f"/review/campaigns/{campaign_id}/experiment").text
    assert 'id="experiment-warnings"' in page and "can report a click" in page


def test_a_shop_tracking_opens_alone_is_told_to_allocate_by_opens(client, engine, mail_server, monkeypatch):
    mailing(mail_server, monkeypatch)
    monkeypatch.setenv("TAILOR_TRACK_OPENS", "true")
    campaign_id = approved_campaign(client, engine, 12, "o", holdout_share=0)

    [warning] = send(client, campaign_id)["warnings"]

    assert "cannot report a click" in warning and "TAILOR_EXPERIMENT_ALLOCATION_OUTCOME=open" in warning
    arms = [arm for arm in _results(client, campaign_id)["arms"] if arm["arm"] != "holdout"]
    assert all(arm["sends_reporting_opens"] == arm["sends"] > 0 for arm in arms)

    monkeypatch.setenv("TAILOR_EXPERIMENT_ALLOCATION_OUTCOME", "open")  # what the warning says: no warning then
    assert _results(client, campaign_id)["warnings"] == []


def test_a_shop_whose_email_service_posts_clicks_is_not_warned(client, engine, mail_server, monkeypatch):
    """Its email service reported a click of an earlier campaign: the next campaign's first batch, which no click
    can have reached yet, can report them as well, and counts in its arms' click rates."""
    mailing(mail_server, monkeypatch)
    earlier = approved_campaign(client, engine, 4, "e")
    send(client, earlier)
    first_send = sends_of(engine, earlier)[0][0]
    clicked = {"events": [{"send_id": first_send, "kind": "click", "event_id": "esp-click-1"}]}
    assert client.post("/events", json=clicked).json()["recorded"] == 1
    campaign_id = approved_campaign(client, engine, 10, "n", holdout_share=0)

    sent = send(client, campaign_id)

    assert sent["sent"] == 10 and "warnings" not in sent, sent
    results = _results(client, campaign_id)
    assert results["warnings"] == []
    assert all(arm["sends_reporting_clicks"] == arm["sends"] for arm in results["arms"] if arm["arm"] != "holdout")


def test_sends_that_could_not_report_clicks_count_in_no_arm_s_click_rate(client, engine, mail_server, monkeypatch):
    """Click tracking turned off half way through: the second batch's sends, which could not report a click,
    counted in their arms' click rates and in the allocation as sends nobody clicked, diluting the arm that got
    more of them (the one ahead) until the other looked better."""
    mailing(mail_server, monkeypatch)
    monkeypatch.setenv("TAILOR_TRACK_CLICKS", "true")
    campaign_id = approved_campaign(client, engine, 40, "d", holdout_share=0)
    send(client, campaign_id, batch_size=20)
    tracked = {arm: [s for s, _, a, _ in sends_of(engine, campaign_id) if a == arm] for arm in ("A", "B")}
    clicks = {"A": tracked["A"][:4], "B": tracked["B"][:3]}
    recorder = client.app.state.tailor.engagement
    set_host_clock_off(monkeypatch, timedelta(minutes=1))  # read later: a click as it arrives is a scanner's
    for send_ids in clicks.values():  # clicked through Tailor's own tracked links
        for send_id in send_ids:
            recorder.add(send_id, "click", click_event_id("https://shop.example/p/1"))
    assert recorder.flush()

    monkeypatch.setenv("TAILOR_TRACK_CLICKS", "false")
    later = send(client, campaign_id)

    assert later["sent"] == 20
    results = _results(client, campaign_id)
    arms = {arm["arm"]: arm for arm in results["arms"]}
    for arm in ("A", "B"):
        assert arms[arm]["clicks"] == len(clicks[arm])
        assert arms[arm]["click_rate"]["observed"] == pytest.approx(len(clicks[arm]) / len(tracked[arm])), arm
    counts = pd.DataFrame({"arm": ["A", "B"], "trials": [len(tracked["A"]), len(tracked["B"])], "successes": [4, 3]})
    assert results["next_allocation"] == pytest.approx(thompson_allocation(counts).round(4).to_dict(), abs=1e-4)
    assert all(arms[arm]["sends_reporting_clicks"] == len(tracked[arm]) for arm in ("A", "B"))
    page = client.get(f"/review/campaigns/{campaign_id}/experiment").text
    diluted = next(arm for arm in ("A", "B") if arms[arm]["sends"] > len(tracked[arm]))
    assert f"of {len(tracked[diluted])} that could tell" in page
    assert "cannot report a click" in later["warnings"][0]  # the batch just sent could not
    assert results["warnings"] == []  # the first batch's sends still tell the arms apart


def test_an_experiment_whose_opens_are_all_machines_says_that_no_reader_s_is_recorded(
    client, engine, mail_server, monkeypatch
):
    """Allocating by opens, every email of the arms opened by an email service's privacy proxy (posted as
    `machine_open`, as SendGrid marks Apple Mail's): the arms read 0 % each, P(best) 50/50 and an even next split,
    which the page showed as a result with no word that no reader's open was counted."""
    mailing(mail_server, monkeypatch)
    monkeypatch.setenv("TAILOR_TRACK_OPENS", "true")
    monkeypatch.setenv("TAILOR_EXPERIMENT_ALLOCATION_OUTCOME", "open")
    campaign_id = approved_campaign(client, engine, 16, "p", holdout_share=0)
    assert "warnings" not in send(client, campaign_id, batch_size=8)
    first = [send_id for send_id, _, _, _ in sends_of(engine, campaign_id)]
    proxied = [{"send_id": s, "kind": "machine_open", "event_id": f"mpp-{s}"} for s in first]
    assert client.post("/events", json={"events": proxied}).json()["recorded"] == len(first)

    [told] = send(client, campaign_id)["warnings"]  # the next batch, split by no result: `tailor send` says so
    results = _results(client, campaign_id)

    [warning] = results["warnings"]
    assert told == warning and "of the 16 sends in the arms that could report an open" in warning
    assert "No reader's open is recorded" in warning and f"{len(first)} were opened by machines only" in warning
    assert "machine_open" in warning and "TAILOR_EXPERIMENT_ALLOCATION_OUTCOME=click" in warning
    assert results["next_allocation"] == pytest.approx({"A": 0.5, "B": 0.5}, abs=0.01)
    page = client.get(f"/review/campaigns/{campaign_id}/experiment").text
    assert 'id="experiment-warnings"' in page and "No reader&#39;s open is recorded" in page

    read = {"send_id": first[0], "kind": "open", "event_id": "reader-1"}  # a reader's open: a result, no warning
    assert client.post("/events", json={"events": [read]}).json()["recorded"] == 1
    assert _results(client, campaign_id)["warnings"] == []


def test_an_experiment_whose_clicks_are_all_a_link_scanner_s_says_that_no_reader_s_is_recorded(
    client, engine, mail_server, monkeypatch
):
    """Allocating by clicks (the default), each email's link clicked by a scanner as it arrived (Tailor's own tracked
    link, told apart as a `machine_click`): 0 clicks in every arm and an even split, with no word of why."""
    mailing(mail_server, monkeypatch)
    monkeypatch.setenv("TAILOR_TRACK_CLICKS", "true")
    campaign_id = approved_campaign(client, engine, 10, "s", holdout_share=0)
    send(client, campaign_id)
    with session_scope(engine) as session:
        sent_at = dict(session.execute(select(Send.id, Send.sent_at).where(Send.campaign_id == campaign_id)).all())
    link = click_event_id("https://shop.example/p/1")
    _written(engine, [Engagement(s, "click", link, at + timedelta(seconds=0.2)) for s, at in sent_at.items()])

    [warning] = _results(client, campaign_id)["warnings"]

    assert "No reader's click is recorded" in warning and f"{len(sent_at)} were clicked by machines only" in warning
    assert "machine_click" in warning and "TAILOR_EXPERIMENT_ALLOCATION_OUTCOME=conversion" in warning
    monkeypatch.setenv(
        "TAILOR_EXPERIMENT_ALLOCATION_OUTCOME", "conversion"
    )  # what it says: conversions are no machine's
    assert _results(client, campaign_id)["warnings"] == []
