"""Whether an experiment can see the outcome it allocates by: a send that could not report the outcome counts in no
arm's rate of it (real sends through a loopback SMTP server, events recorded by Tailor's own tracking)."""

from __future__ import annotations

import pandas as pd
import pytest

from scoring.experiments import thompson_allocation
from service.tracking import click_event_id
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
