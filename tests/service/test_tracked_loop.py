"""The closed loop of a campaign experiment on the email Tailor tracks itself, end to end with real parts: a generated
campaign (the fake model) with two variants and a holdout is sent in batches through a real SMTP server on loopback,
its recipients open and click the tracked links read from the messages received, and the experiment's counts, P(best),
the next batch's Thompson allocation and the campaign's performance follow what they did."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from service.db.models import Customer, Send
from service.db.session import session_scope
from tests.service.conftest import generated_campaign, set_host_clock_off, trained_shop
from tests.service.test_experiments import send

PUBLIC = "https://mail.shop.example"


def _tracked_links(message) -> tuple[str, list[str]]:
    """The open image's and the product links' paths in a received message (unescaped, without the public address)."""
    html = message.get_body(("html",)).get_content()
    (image,) = re.findall(rf'<img src="({PUBLIC}/track/open/[^"]+)"', html)
    clicks = re.findall(rf'href="({PUBLIC}/track/click/[^"]+)"', html)
    assert clicks, "a tracked email with no tracked link"
    return image.removeprefix(PUBLIC).replace("&amp;", "&"), [
        c.removeprefix(PUBLIC).replace("&amp;", "&") for c in clicks
    ]


def _send_id(path: str) -> int:
    return int(re.search(r"/track/(?:open|click)/(\d+)\.", path).group(1))


def _arms(engine, send_ids: list[int]) -> dict[int, str]:
    with session_scope(engine) as session:
        return dict(session.execute(select(Send.id, Send.arm).where(Send.id.in_(send_ids))).all())


def _customer_of(engine, send_id: int) -> str:
    with session_scope(engine) as session:
        return session.scalar(select(Customer.external_id).join(Send.customer).where(Send.id == send_id))


def test_tracked_opens_and_clicks_close_the_experiment_loop(client, engine, demo_files, mail_server, monkeypatch):
    controller, messages = mail_server
    for name, value in {
        "TAILOR_LLM_MODEL": "fake", "TAILOR_SMTP_PORT": str(controller.port), "TAILOR_PUBLIC_URL": PUBLIC,
        "TAILOR_TRACK_OPENS": "true", "TAILOR_TRACK_CLICKS": "true",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=80, holdout_share=0.2)
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    assert {v["label"] for d in drafts for v in d["variants"]} >= {"A", "B"}
    # every draft approved: the pending ones in one request, as the review page's button does (each one's approval
    # is tests/service/test_drafts_api.py's), then those left for a person (under a review floor) one at a time
    assert client.post(f"/campaigns/{campaign_id}/drafts/approve", json={}).status_code == 200
    for draft in client.get(f"/campaigns/{campaign_id}/drafts").json():
        if draft["status"] != "approved":
            assert client.post(f"/drafts/{draft['id']}/approve", json={}).status_code == 200
    assert {d["status"] for d in client.get(f"/campaigns/{campaign_id}/drafts").json()} == {"approved"}

    first = send(client, campaign_id, batch_size=24)
    assert first["sent"] == len(messages) > 0 and first["held_out"] > 0, first
    assert set(first["sent_by_arm"]) == {"A", "B"}, first  # no outcomes yet: both arms are tried
    links = [_tracked_links(message) for message in messages]
    arms = _arms(engine, [_send_id(image) for image, _ in links])

    # B's readers open and click; A's open one in four and never click. One of B's readers blocks images: a click
    # with no open, which still tells that the email was opened.
    recipient = TestClient(client.app)  # a recipient has no API key
    set_host_clock_off(monkeypatch, timedelta(minutes=5))  # they read it later: a click as it arrives is a scanner's
    expected = {"A": {"opens": 0, "clicks": 0}, "B": {"opens": 0, "clicks": 0}}
    blocked_images = next(_send_id(image) for image, _ in links if arms[_send_id(image)] == "B")
    seen = {"A": 0, "B": 0}
    for image, clicks in links:
        arm = arms[_send_id(image)]
        opens = arm == "B" or seen[arm] % 4 == 0
        seen[arm] += 1
        if opens and _send_id(image) != blocked_images:
            assert recipient.get(image).status_code == 200
        if arm == "B":
            led = recipient.get(clicks[0], follow_redirects=False)
            assert led.status_code == 302 and "/track/" not in led.headers["location"]
        expected[arm]["opens"] += opens
        expected[arm]["clicks"] += arm == "B"
    assert client.app.state.tailor.engagement.flush()
    blocked_customer = _customer_of(engine, blocked_images)
    before = client.get(f"/customers/{blocked_customer}/send-time").json()

    results = client.get(f"/campaigns/{campaign_id}/experiment").json()
    by_arm = {arm["arm"]: arm for arm in results["arms"]}
    for arm in ("A", "B"):
        assert {k: by_arm[arm][k] for k in ("opens", "clicks")} == expected[arm], (arm, by_arm[arm])
        assert by_arm[arm]["sends"] == first["sent_by_arm"][arm]
    assert by_arm["B"]["click_rate"]["p_best"] > 0.99 and by_arm["B"]["open_rate"]["p_best"] > 0.95
    assert results["next_allocation"]["B"] > 0.99
    assert by_arm["holdout"]["customers"] == first["held_out"] and by_arm["holdout"]["opens"] is None
    page = client.get(f"/review/campaigns/{campaign_id}/experiment").text
    assert re.search(r"next sends by clicks:\s*A 0%, B 100%", page)
    for arm in ("A", "B"):  # the row shows the tracked opens and clicks
        n, got = first["sent_by_arm"][arm], expected[arm]
        row = rf'<th scope="row" class="row-name">{arm}</th><td>{n}</td><td>{n}</td>\s*'
        row += rf"<td>{got['opens']}</td><td>{got['clicks']}</td>"
        assert re.search(row, page), arm

    second = send(client, campaign_id, batch_size=24)
    assert second["sent"] > 0
    assert second["sent_by_arm"].get("B", 0) >= second["sent"] - 1, second  # Thompson sent the rest to B

    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    sent = first["sent"] + second["sent"]
    assert performance["sent"] == sent == len(messages)
    assert (performance["tracked_opens"], performance["tracked_clicks"]) == (sent, sent)
    assert performance["opened"] == sum(e["opens"] for e in expected.values())
    assert performance["clicked"] == expected["B"]["clicks"]

    # Once the sends are old enough to learn from, send times count the click without an open as an open.
    monkeypatch.setenv("TAILOR_SCORING_OUTCOME_DAYS", "0")
    after = client.get(f"/customers/{blocked_customer}/send-time").json()
    assert (after["n_sends"], after["n_opens"]) == (before["n_sends"] + 1, before["n_opens"] + 1), (before, after)


def test_training_reports_a_tracked_click_without_an_open_as_opened(engine, monkeypatch):
    """A shop that tracks clicks and not opens (TAILOR_TRACK_CLICKS alone: Apple Mail opens every email anyway) read
    its engagement model's open_rate as 0 beside a click_rate of 0.25: the report counted open events alone, where
    the model, the campaign's performance, its experiment and send times all count a click as an open."""
    from service.db.models import Event
    from service.pipeline import frames
    from service.pipeline.training import train_engagement

    monkeypatch.setenv("TAILOR_SCORING_OUTCOME_DAYS", "0")
    sent_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
    with session_scope(engine) as session:
        for number in range(8):
            customer = Customer(external_id=f"c{number}", email=f"c{number}@example.com", marketing_consent=True)
            send = Send(customer=customer, subject="Hello", campaign_type="cross_sell", sent_at=sent_at)
            session.add(send)
            session.flush()
            if number < 2:  # clicked, its images blocked or not tracked
                session.add(Event(send_id=send.id, kind="click", external_id=f"click-{number}", occurred_at=sent_at))
    with session_scope(engine) as session:
        learnt = frames.sends_frame(session)
    assert (learnt.opened.sum(), learnt.clicked.sum()) == (2, 2)
    report = train_engagement(engine)
    assert (report["open_rate"], report["click_rate"]) == (0.25, 0.25)
