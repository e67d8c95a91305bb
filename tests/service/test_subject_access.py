"""A customer's subject access request: GET /customers/{id}/export gives everything Tailor holds about them, and
nothing of anyone else."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pandas as pd
from sqlalchemy import event, select

from service.db.models import Assignment, Brand, Campaign, Customer, Draft, Event, Send, Variant
from service.db.session import session_scope
from tests.service.conftest import wait_for_job

CUSTOMERS = (
    "customer_id,email,first_name,locale,marketing_consent,tier\n"
    "c1,ann@example.com,Ann,en,true,gold\nc2,bo@example.com,Bo,de,true,silver\n"
)
PRODUCTS = "sku,name,category,price,currency,description,url,in_stock\nT1,Green tea,tea,5,EUR,,,true\n"
ORDERS = (
    "order_id,customer_id,product_id,quantity,amount,timestamp\no1,c1,T1,2,10,2026-01-03\no2,c2,T1,1,5,2026-01-04\n"
)


def _imported(client, kind: str, text: str) -> None:
    """Imported, and the audience refresh an orders import queues ended: its progress writes were counted among the
    export's queries when it ran on meanwhile."""
    answer = client.post(f"/imports/{kind}", files={"file": (f"{kind}.csv", text.encode(), "text/csv")})
    assert answer.status_code == 200, answer.text
    if job_id := answer.json().get("audience_job_id"):
        assert wait_for_job(client, job_id)["status"] == "succeeded"


def _campaign(session, name: str, customers: dict[str, int], sent: bool) -> dict[str, int]:
    """A campaign with a draft for each of ``customers`` (id: row id), sent with an open when ``sent``, each
    customer in its experiment's arm A: their drafts' ids."""
    brand = session.scalar(select(Brand).where(Brand.slug == "hearth")) or Brand(slug="hearth", name="Hearth")
    campaign = Campaign(name=name, brand=brand, campaign_type="cross_sell", status="ready", holdout_share=0.1)
    session.add(campaign)
    session.flush()
    drafts = {}
    for external_id, row_id in customers.items():
        copy = f"Tea for {external_id} ({name})"
        variant = Variant(label="A", subject=copy, preheader=f"pre {external_id}", text=f"Dear {external_id}")
        draft = Draft(campaign_id=campaign.id, customer_id=row_id, variants=[variant])
        session.add(draft)
        session.flush()
        draft.selected_variant_id = variant.id
        send = None
        if sent:
            send = Send(
                customer_id=row_id, campaign_id=campaign.id, draft_id=draft.id, variant_id=variant.id, subject=copy,
                campaign_type="cross_sell", segment="loyal", churn_risk=0.25, sent_at=datetime(2026, 2, 1, 9),
                to_email=f"{external_id}@example.com", arm="A", n_products=2, mean_price=12.5, rec_score=0.75,
                events=[Event(kind="open", occurred_at=datetime(2026, 2, 1, 10))],
            )  # fmt: skip
            session.add(send)
            session.flush()
        session.add(Assignment(campaign_id=campaign.id, customer_id=row_id, arm="A", send_id=send and send.id))
        drafts[external_id] = draft.id
    return drafts


def _shop(client, engine) -> dict[str, int]:
    """Ann (c1) and Bo (c2) with an order each, both in a sent campaign and Ann in a second, not sent: the drafts'
    ids of the first, whose drafts a reviewer rejected (Ann's) and approved (Bo's)."""
    for kind, text in (("customers", CUSTOMERS), ("products", PRODUCTS), ("orders", ORDERS)):
        _imported(client, kind, text)
    with session_scope(engine) as session:
        ids = dict(session.execute(select(Customer.external_id, Customer.id)).all())
        drafts = _campaign(session, "Spring tea", ids, sent=True)
        _campaign(session, "Summer tea", {"c1": ids["c1"]}, sent=False)
    rejected = client.post(f"/drafts/{drafts['c1']}/reject", json={"reviewer": "Mia", "comment": "Too pushy"})
    assert rejected.status_code == 200, rejected.text
    return drafts


def test_the_export_holds_the_customers_record_orders_drafts_sends_and_events(client, engine):
    """A customer asking what Tailor held of them could be answered only by reading its database table by table."""
    drafts = _shop(client, engine)

    export = client.get("/customers/c1/export")
    assert export.status_code == 200, export.text
    held = export.json()
    customer = held["customer"]
    assert (customer["customer_id"], customer["email"], customer["first_name"]) == ("c1", "ann@example.com", "Ann")
    assert customer["attributes"] == {"tier": "gold"} and customer["marketing_consent"] is True
    assert customer["created_at"] and customer["bounced_email"] is None
    assert [(o["order_id"], o["sku"], o["product"], o["amount"]) for o in held["orders"]] == [
        ("o1", "T1", "Green tea", 10.0)
    ]
    assert [(c["name"], c["campaign_type"]) for c in held["campaigns"]] == [
        ("Spring tea", "cross_sell"), ("Summer tea", "cross_sell")
    ]  # fmt: skip
    spring = next(d for d in held["drafts"] if d["id"] == drafts["c1"])
    assert spring["status"] == "rejected"
    assert [(v["subject"], v["preheader"], v["text"]) for v in spring["variants"]] == [
        ("Tea for c1 (Spring tea)", "pre c1", "Dear c1")
    ]
    assert [(r["action"], r["reviewer"], r["comment"]) for r in spring["reviews"]] == [("reject", "Mia", "Too pushy")]
    assert len(held["drafts"]) == 2
    [send] = held["sends"]
    assert (send["subject"], send["to_email"], send["segment"], send["churn_risk"]) == (
        "Tea for c1 (Spring tea)", "c1@example.com", "loyal", 0.25
    )  # fmt: skip
    assert [e["kind"] for e in send["events"]] == ["open"]
    assert [(a["arm"], a["send_id"]) for a in held["experiment_assignments"]] == [("A", send["id"]), ("A", None)]
    assert any("models" in kind for kind in held["not_included"])

    text = json.dumps(held)
    assert not any(other in text for other in ("bo@example.com", "Bo", "c2", "silver", "o2")), text


def test_the_export_is_read_in_the_same_queries_however_long_the_history(client, engine):
    """One query per draft or send would make a long-standing customer's export the slowest request there is."""
    _shop(client, engine)
    statements: list[str] = []
    record = lambda *args: statements.append(args[2])  # noqa: E731 (the statement, of before_cursor_execute's)

    counts = {}
    event.listen(engine, "before_cursor_execute", record)
    try:
        for customer_id in ("c1", "c2"):  # two drafts, and one
            statements.clear()
            assert client.get(f"/customers/{customer_id}/export").status_code == 200
            counts[customer_id] = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert counts["c1"] == counts["c2"], counts


def test_an_unknown_or_erased_customer_is_not_found(client, engine):
    """An erased customer is said to be erased, so that the shop can tell the person why nothing is held."""
    _shop(client, engine)
    unknown = client.get("/customers/c404/export")
    assert unknown.status_code == 404 and unknown.json()["message"] == "Customer 'c404' does not exist."

    assert client.delete("/customers/c1").status_code == 204
    erased = client.get("/customers/c1/export")
    assert erased.status_code == 404
    assert erased.json()["message"].startswith("Customer 'c1' was erased on ")
    assert client.get("/customers/c2/export").json()["customer"]["first_name"] == "Bo"


def test_the_export_holds_every_figure_a_send_recorded_of_the_email(client, engine):
    """A send keeps how many products the email showed, their mean price and how well the recommender rated them
    for the customer (what the engagement model learns from), but the export, "everything Tailor holds", left
    those three out."""
    _shop(client, engine)
    (sent,) = client.get("/customers/c2/export").json()["sends"]
    assert (sent["n_products"], sent["mean_price"], sent["rec_score"]) == (2, 12.5, 0.75)


def test_a_customer_s_sends_say_their_segment_and_churn_risk_when_each_email_went(client, engine):
    """A customer asks "why did I get this email?": each send records the customer's segment and churn risk as it
    went out, but GET /customers/{id}/sends, the list support reads, left them out; only the whole export had
    them."""
    _shop(client, engine)
    (sent,) = client.get("/customers/c2/sends").json()
    assert (sent["segment"], sent["churn_risk"]) == ("loyal", 0.25)


def test_every_route_under_an_erased_customer_says_they_were_erased(client, engine):
    """Support looking up someone who had asked to be erased read "Customer 'c1' does not exist." on GET
    /customers/c1 and on their sends: the same answer as for a mistyped id, where only the export said they were
    erased, and when."""
    _shop(client, engine)
    assert client.delete("/customers/c1").status_code == 204

    for method, path in (
        ("get", "/customers/c1"), ("get", "/customers/c1/sends"), ("get", "/customers/c1/send-time"),
        ("get", "/customers/c1/recommendations"), ("delete", "/customers/c1"),
    ):  # fmt: skip
        answer = client.request(method.upper(), path)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["message"].startswith("Customer 'c1' was erased on "), (path, answer.text)
    unknown = client.get("/customers/c404/sends")
    assert unknown.status_code == 404 and unknown.json()["message"] == "Customer 'c404' does not exist."


def test_the_command_line_writes_the_export_to_a_file(engine, client, tmp_path, monkeypatch):
    """In-process, so that it runs this checkout's code."""
    from typer.testing import CliRunner

    from service import cli

    _shop(client, engine)
    monkeypatch.setattr(cli, "command_engine", lambda: engine)
    out = tmp_path / "c2.json"
    result = CliRunner().invoke(cli.app, ["customers", "export", "c2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    held = json.loads(out.read_text())
    assert held["customer"]["customer_id"] == "c2" and [o["order_id"] for o in held["orders"]] == ["o2"]
    assert out.stat().st_mode & 0o777 == 0o600  # all held of a person: not for every user of the machine
    out.chmod(0o644)
    assert CliRunner().invoke(cli.app, ["customers", "export", "c2", "--out", str(out)]).exit_code == 0
    assert out.stat().st_mode & 0o777 == 0o600  # written over, a file keeps its mode unless it is set
    missing = CliRunner().invoke(cli.app, ["customers", "export", "c404"])
    assert missing.exit_code != 0 and str(missing.exception) == "Customer 'c404' does not exist."


def test_the_command_line_export_file_appears_whole_or_not_at_all(engine, client, tmp_path, monkeypatch):
    """`tailor customers export ID --out FILE` wrote straight into FILE, as `tailor export` does not: a write that
    failed half way (here the file size limit, as a full disk would) left a file cut short, over the earlier export."""
    import resource
    import signal

    from typer.testing import CliRunner

    from service import cli

    _shop(client, engine)
    monkeypatch.setattr(cli, "command_engine", lambda: engine)
    out = tmp_path / "exports" / "c2.json"
    assert CliRunner().invoke(cli.app, ["customers", "export", "c2", "--out", str(out)]).exit_code == 0
    earlier = out.read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    ignored = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), not the process
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(earlier) // 2, hard))
        cut = CliRunner().invoke(cli.app, ["customers", "export", "c2", "--out", str(out)])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, ignored)

    assert cut.exit_code != 0 and isinstance(cut.exception, OSError), cut.output
    assert out.read_bytes() == earlier  # the earlier export, whole
    assert sorted(path.name for path in out.parent.iterdir()) == ["c2.json"]  # and no part file left beside it


def test_the_command_line_export_names_the_file_asked_for_when_it_cannot_be_made(engine, client, monkeypatch):
    """An --out that cannot be made (`/proc/x.json`) is named as given, not as the part file written beside it
    (`tailor export` said "error: /proc/.x.jsonl.part: no such file or directory")."""
    from typer.testing import CliRunner

    from service import cli

    _shop(client, engine)
    monkeypatch.setattr(cli, "command_engine", lambda: engine)

    refused = CliRunner().invoke(cli.app, ["customers", "export", "c2", "--out", "/proc/x.json"])

    assert refused.exit_code == 1 and isinstance(refused.exception, FileNotFoundError), refused.output
    assert refused.exception.filename == "/proc/x.json"  # what `tailor` says after "error: "


def test_the_command_line_refuses_an_export_file_named_as_another_format(engine, client, tmp_path, monkeypatch):
    """`tailor customers export c2 --out customers.csv` wrote the JSON over the shop's customers file, where the
    other commands refuse an --out whose suffix says a format they do not write, before any work."""
    from typer.testing import CliRunner

    from service import cli

    _shop(client, engine)
    monkeypatch.setattr(cli, "command_engine", lambda: engine)
    sheet = tmp_path / "customers.csv"
    sheet.write_text("customer_id,email\nc2,c2@example.com\n", encoding="utf-8")

    refused = CliRunner().invoke(cli.app, ["customers", "export", "c2", "--out", str(sheet)])

    told = " ".join(re.sub(r"[│╭╮╰╯─]", " ", refused.output).split())  # out of the usage error's box
    assert refused.exit_code == 2
    assert "Invalid value for --out: customers.csv: this command writes .json files, not .csv" in told
    assert sheet.read_text(encoding="utf-8") == "customer_id,email\nc2,c2@example.com\n"
    unnamed = tmp_path / "c2"  # a name without a suffix gets the format, as elsewhere
    assert CliRunner().invoke(cli.app, ["customers", "export", "c2", "--out", str(unnamed)]).exit_code == 0
    assert json.loads(unnamed.read_text())["customer"]["customer_id"] == "c2"


def test_the_export_does_not_name_the_household_member_a_flag_names(client, engine):
    """A draft of a second customer id at an address is flagged naming the first id, when written and when skipped
    as the first one's email went: the export handed to one person gave the other's customer id."""
    from service.pipeline.generate import shared_address_notes
    from service.pipeline.send_outcomes import skip_mailed_address as _skip_mailed_address

    _shop(client, engine)
    with session_scope(engine) as session:
        draft = session.scalars(select(Draft).join(Customer).where(Customer.external_id == "c2")).first()
        audience = {"customer_id": ["c1", "c2"], "email": ["bo@example.com", "bo@example.com"]}
        draft.flag_reasons = [shared_address_notes(pd.DataFrame(audience))[1]]
        _skip_mailed_address(draft, "c1")
        draft_id = draft.id

    flags = [reason for held in client.get("/customers/c2/export").json()["drafts"] for reason in held["flag_reasons"]]
    assert len(flags) == 2 and not any("c1" in reason for reason in flags), flags
    assert flags[0].startswith("Another customer has the same address (bo@example.com) in this campaign")
    assert flags[1].startswith("Not sent: another customer has the same address (bo@example.com)")
    assert "c1" in str(client.get(f"/drafts/{draft_id}").json()["flag_reasons"])  # the reviewer's page keeps it


def test_a_lookup_by_an_erased_address_says_it_was_erased(client, engine):
    """A person who asked to be forgotten writes in to ask whether they were: support, who has only their address,
    got `[]` from GET /customers?email=, the same answer as for a mistyped address, where a lookup by id says they
    were erased, and when."""
    _shop(client, engine)
    assert client.delete("/customers/c1").status_code == 204

    erased = client.get("/customers", params={"email": " ANN@example.com"})
    assert erased.status_code == 200 and erased.json() == []
    assert erased.headers["X-Tailor-Warning"].startswith("The address was erased on ")
    assert "ann" not in erased.headers["X-Tailor-Warning"].lower()  # nothing readable of it is kept, nor said
    for held_or_unknown in ("bo@example.com", "nobody@example.com"):
        answer = client.get("/customers", params={"email": held_or_unknown})
        assert answer.status_code == 200 and "X-Tailor-Warning" not in answer.headers


def test_the_export_holds_no_api_key_of_the_shop(client, engine):
    """Each review in the export handed to the customer carried the prefix of the shop's API key it was made with (the
    first ten characters of the secret) and the key's name: the shop's credentials, not the customer's data. The
    reviewer's page keeps them."""
    drafts = _shop(client, engine)
    key_prefix = client.headers["X-API-Key"][:10]

    held = client.get("/customers/c1/export")
    assert held.status_code == 200 and key_prefix not in held.text and "tests" not in held.text
    reviews = [review for draft in held.json()["drafts"] for review in draft["reviews"]]
    assert [(r["action"], r["reviewer"], r["comment"]) for r in reviews] == [("reject", "Mia", "Too pushy")]
    assert not {"key_prefix", "key_name"} & {name for review in reviews for name in review}
    [shown] = client.get(f"/drafts/{drafts['c1']}").json()["reviews"]
    assert (shown["key_prefix"], shown["key_name"]) == (key_prefix, "tests")
