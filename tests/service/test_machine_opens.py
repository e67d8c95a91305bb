"""Opens a machine made, not a reader (service.machine_opens): Tailor's own image loaded as the email is handed to the
mail server, or an open an email service reports as a machine's (`machine_open`: SendGrid's `sg_machine_open`; a sends
file's `machine_opened`), is kept and counted apart, and is no open for any rate, experiment, send time or model."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.db.models import Event, Send
from service.db.session import session_scope
from service.outcome_reports import reported_by_email_service
from service.pipeline import frames
from service.signed_links import OPEN_EVENT_ID
from service.tracking import Engagement, _written
from tests.service.conftest import set_host_clock_off
from tests.service.test_experiments import approved_campaign, send, sends_of
from tests.service.test_importing import CUSTOMERS
from tests.service.test_machine_clicks import SENT_AT, email_sent
from tests.service.test_tracking import PUBLIC, _events, _sent


def _true_now() -> datetime:
    """Now, as the service keeps moments, on the true clock whatever ``set_host_clock_off`` set."""
    return datetime.now(UTC).replace(tzinfo=None)


def _open(send_id: int, seconds: float, sent_at: datetime = SENT_AT) -> Engagement:
    return Engagement(send_id, "open", OPEN_EVENT_ID, sent_at + timedelta(seconds=seconds))


def test_an_image_loaded_as_the_email_is_handed_over_is_a_machine_s_and_its_reader_s_open_still_counts(
    client, engine, mail_server, monkeypatch
):
    campaign_id, html, _ = _sent(client, engine, mail_server, monkeypatch, opens="true")
    image = re.search(r'<img src="([^"]*)" width="1"', html).group(1).removeprefix(PUBLIC)
    with session_scope(engine) as session:
        sent_at = session.scalar(select(Send.sent_at).where(Send.campaign_id == campaign_id))
    recipient = TestClient(client.app)  # no API key

    # A mail gateway fetches the image 0.3 s after the mail server took the email: nobody can have read it.
    set_host_clock_off(monkeypatch, sent_at + timedelta(seconds=0.3) - _true_now())
    assert recipient.get(image).status_code == 200
    assert _events(engine, campaign_id, client) == ["machine_open"]
    set_host_clock_off(monkeypatch, sent_at + timedelta(minutes=10) - _true_now())  # its reader, later
    for _ in range(2):  # read twice: one open
        assert recipient.get(image).status_code == 200
    assert _events(engine, campaign_id, client) == ["machine_open", "open"]

    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["opened"], performance["machine_opened"], performance["machine_opened_rate"]) == (1, 1, 1.0)
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert "opened 1 (100.0%)" in page and "opened by machines, not readers, in 1 (not counted)" in page


@pytest.mark.parametrize(
    ("seconds", "machine_seconds", "recorded"),
    [
        (0.0, "1", "machine_open"),
        (-0.5, "1", "machine_open"),  # the sending host's clock half a second ahead of the tracking server's
        (1.5, "1", "open"),  # the rule is one second: past it, a reader's
        (-60.0, "1", "open"),  # the sending host's clock a minute ahead: its reader's open says nothing of a machine
        (0.2, "0", "open"),  # a shop that tells none apart
    ],
)
def test_only_an_open_within_the_machine_seconds_of_the_sending_is_a_machine_s(
    engine, monkeypatch, seconds, machine_seconds, recorded
):
    monkeypatch.setenv("TAILOR_TRACK_MACHINE_SECONDS", machine_seconds)
    _, send_id = email_sent(engine)
    _written(engine, [_open(send_id, seconds)])
    with session_scope(engine) as session:
        assert session.scalars(select(Event.kind)).all() == [recorded]


def test_an_email_service_may_report_a_machine_s_open_as_one(client, sent_by_a_campaign):
    """SendGrid marks an open its proxy detection says a machine made (`sg_machine_open: true`): posted as a
    `machine_open`, it is kept, shown and exported as one, and counted apart."""
    campaign_id, send_id = sent_by_a_campaign
    event = {"send_id": send_id, "kind": "machine_open", "event_id": "sg-1", "occurred_at": "2026-03-02T09:04:00Z"}
    assert client.post("/events", json={"events": [event]}).json() == {"recorded": 1, "duplicates": 0}
    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["opened"], performance["opened_rate"], performance["machine_opened"]) == (0, 0.0, 1)
    (send_out,) = client.get("/customers/c1/sends").json()
    assert [e["kind"] for e in send_out["events"]] == ["machine_open"]
    exported = client.get("/customers/c1/export").json()
    assert [e["kind"] for e in exported["sends"][0]["events"]] == ["machine_open"]
    refused = client.post("/events", json={"events": [{**event, "kind": "machine_open", "url": "https://x.example"}]})
    assert refused.status_code == 422 and "only a click carries a url" in refused.text


@pytest.fixture
def sent_by_a_campaign(engine) -> tuple[int, int]:
    return email_sent(engine)


def test_an_email_service_s_machine_open_shows_it_reports_opens_and_tailor_s_own_does_not(
    client, engine, sent_by_a_campaign
):
    """An experiment counts a send untracked by Tailor in its open rate once an email service is seen to report
    opens: a machine's open it posted shows it does; one Tailor's own image told apart says nothing of it."""
    _, send_id = sent_by_a_campaign
    _written(engine, [_open(send_id, 0.2)])  # Tailor's image, fetched as the email was handed over
    with session_scope(engine) as session:
        assert session.scalars(select(Event.kind)).all() == ["machine_open"]
        assert not reported_by_email_service(session, "open")
    event = {"send_id": send_id, "kind": "machine_open", "occurred_at": "2026-03-02T09:04:00Z"}
    assert client.post("/events", json={"events": [event]}).json()["recorded"] == 1
    with session_scope(engine) as session:
        assert reported_by_email_service(session, "open")
        assert not reported_by_email_service(session, "click")


def test_a_machine_s_open_is_no_open_of_an_experiment_s_arm_nor_of_send_times_nor_of_the_models(
    client, engine, mail_server, monkeypatch
):
    """Every email of an arm opened by a mail gateway as it was handed over read a 100% open rate for the arm, the
    hour it was sent the customers' best, and the engagement model learnt those opens as readers'."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = approved_campaign(client, engine, 12, "m", holdout_share=0)
    send(client, campaign_id)
    sends = sends_of(engine, campaign_id)
    with session_scope(engine) as session:
        sent_at = dict(session.execute(select(Send.id, Send.sent_at).where(Send.campaign_id == campaign_id)).all())
    machine_opened = [send_id for send_id, _, arm, _ in sends if arm == "A"]
    read = next(send_id for send_id, _, arm, _ in sends if arm == "B")
    _written(engine, [_open(send_id, 0.3, sent_at[send_id]) for send_id in machine_opened])
    _written(engine, [_open(read, 600, sent_at[read])])

    arms = {a["arm"]: a for a in client.get(f"/campaigns/{campaign_id}/experiment").json()["arms"]}
    assert (arms["A"]["opens"], arms["B"]["opens"]) == (0, 1)
    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["opened"], performance["machine_opened"]) == (1, len(machine_opened))
    with session_scope(engine) as session:
        training = frames.sends_frame(session)
        assert training["opened"].sum() == 1  # the engagement model's outcomes
        by_hour, _ = frames.send_open_counts(session, [])
        assert by_hour["opens"].sum() == 1  # what the best send hours are learned from


def _sends_csv(machine_opened: list[str]) -> bytes:
    sends = pd.DataFrame(
        {
            "send_id": ["s1", "s2", "s3"], "customer_id": ["c1", "c2", "c1"],
            "subject": ["Hello Anna", "New teas", "Knives"], "campaign_type": ["cross_sell", "win_back", "vip"],
            "sent_at": ["2026-03-01 09:00", "2026-03-02 18:00", "2026-03-03 07:00"],
            "opened": ["false", "false", "true"], "machine_opened": machine_opened,
        }
    )  # fmt: skip
    return sends.to_csv(index=False).encode()


def _imported(client, kind: str, content: bytes):
    return client.post(f"/imports/{kind}", files={"file": (f"{kind}.csv", io.BytesIO(content), "text/csv")})


def test_a_sends_file_marks_the_opens_a_machine_made_and_they_are_no_reader_s(client, engine):
    """An email service's export flags the opens its privacy proxy made (Mailchimp's `is_proxy_open`, SendGrid's
    `sg_machine_open`): a sends file had no column for them, and a shop either left them out or imported them as
    `opened`, which the engagement model and the best send hours learnt as readers'."""
    assert _imported(client, "customers", CUSTOMERS.to_csv(index=False).encode()).status_code == 200

    imported = _imported(client, "sends", _sends_csv(["true", "false", "yes"]))

    assert imported.status_code == 200, imported.text
    histories = {c: client.get(f"/customers/{c}/sends").json() for c in ("c1", "c2")}
    kinds = {s["send_id"]: sorted(e["kind"] for e in s["events"]) for sends in histories.values() for s in sends}
    assert kinds == {
        "s1": ["delivered", "machine_open"], "s2": ["delivered"], "s3": ["delivered", "machine_open", "open"]
    }  # fmt: skip
    with session_scope(engine) as session:
        assert frames.sends_frame(session)["opened"].tolist() == [0, 0, 1]  # s3's reader alone, for the model
        by_hour, _ = frames.send_open_counts(session, [])
        assert by_hour["opens"].sum() == 1  # and for the best send hours

    again = _imported(client, "sends", _sends_csv(["false", "false", "yes"]))  # corrected: s1's was no machine's
    assert (again.json()["updated"], again.json()["unchanged"]) == (1, 2)
    (s1,) = [s for s in client.get("/customers/c1/sends").json() if s["send_id"] == "s1"]
    assert [e["kind"] for e in s1["events"]] == ["delivered"]


def test_a_sends_file_s_machine_opened_cell_that_is_no_yes_or_no_is_refused_by_row_and_column(client, engine):
    assert _imported(client, "customers", CUSTOMERS.to_csv(index=False).encode()).status_code == 200

    refused = _imported(client, "sends", _sends_csv(["true", "proxy", "false"]))

    assert refused.status_code == 422
    assert "row 3, column 'machine_opened'" in refused.text and "'proxy'" in refused.text
    assert client.get("/customers/c1/sends").json() == []  # nothing of the file written
