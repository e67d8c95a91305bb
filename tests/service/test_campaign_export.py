"""Exporting a campaign after review: the API streams its drafts as JSON lines, and `tailor export` writes the
same lines to a file, so that approved drafts can go to an email service provider."""

from __future__ import annotations

import json
import os

from sqlalchemy import select

from service.db.models import Customer
from service.db.session import session_scope
from tests.service.conftest import generated_campaign, trained_shop


def test_a_reviewed_campaign_is_exported_as_json_lines_of_its_drafts(client, engine, demo_files, monkeypatch):
    """After review there was no way to hand the approved drafts on: `--out` existed only while generating."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=4)
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    approved = drafts[1]
    assert client.post(f"/drafts/{approved['id']}/approve", json={"reviewer": "Ola"}).status_code == 200
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer).where(Customer.external_id == drafts[2]["customer_id"]))
        customer.unsubscribed = True  # since the campaign was written

    answer = client.get(f"/campaigns/{campaign_id}/export")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/x-ndjson"
    assert answer.headers["content-disposition"] == f'attachment; filename="campaign-{campaign_id}.jsonl"'
    records = [json.loads(line) for line in answer.text.splitlines()]
    by_draft = {d["id"]: d for d in drafts}
    assert len(records) == sum(len(d["variants"]) for d in drafts)
    for record in records:
        draft = by_draft[record["draft_id"]]
        variant = next(v for v in draft["variants"] if v["id"] == record["variant_id"])
        assert (record["customer_id"], record["email"], record["first_name"]) == (
            draft["customer_id"], draft["email"], draft["first_name"],
        )  # fmt: skip
        assert (record["subject"], record["variant"]) == (variant["subject"], variant["label"])
        # the footer's placeholder as a link, as a send makes it: filled by an ESP with its own address, the HTML
        # showed that address as plain text
        assert variant["html"].count("{{unsubscribe_url}}") == 1
        linked = '<a href="{{unsubscribe_url}}" style="word-break:break-all;">{{unsubscribe_url}}</a>'
        assert record["html_body"] == variant["html"].replace("{{unsubscribe_url}}", linked)
        assert record["selected"] == (variant["id"] == draft["selected_variant_id"])
        assert "{{unsubscribe_url}}" in record["text_body"]
        assert record["mailable"] is (draft["customer_id"] != drafts[2]["customer_id"])
    assert sum(r["selected"] for r in records) == len(drafts)  # one variant to send per draft

    only_approved = client.get(f"/campaigns/{campaign_id}/export", params={"status": "approved"})
    lines = [json.loads(line) for line in only_approved.text.splitlines()]
    assert {r["draft_id"] for r in lines} == {approved["id"]} and all(r["status"] == "approved" for r in lines)
    # the file is named as the page's download link names it
    assert (
        only_approved.headers["content-disposition"] == f'attachment; filename="campaign-{campaign_id}-approved.jsonl"'
    )
    assert client.get("/campaigns/999/export").status_code == 404
    refused = client.get(f"/campaigns/{campaign_id}/export", params={"status": "done"})
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "query.status"

    from typer.testing import CliRunner

    from service.cli import app

    out = engine.url.database.rsplit("/", 1)[0] + "/approved.jsonl"
    result = CliRunner().invoke(app, ["export", "--campaign", str(campaign_id), "--out", out, "--status", "approved"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote 1 draft to {out}, a line for each of its {len(lines)} variants"
    with open(out, encoding="utf-8") as written:
        assert [json.loads(line) for line in written] == lines
    assert os.stat(out).st_mode & 0o077 == 0  # customers' addresses and emails: its owner's alone
    bad = CliRunner().invoke(app, ["export", "--campaign", str(campaign_id), "--out", out, "--status", "done"])
    words = " ".join(bad.output.replace("│", " ").split())  # the usage error is boxed and wrapped
    assert bad.exit_code == 2 and "Invalid value for --status: 'done' is not one of: pending, flagged," in words


def test_the_api_streams_the_same_lines_as_the_file_whatever_its_chunks(client, engine, tmp_path, monkeypatch):
    """The API's export streams its lines a chunk at a time (a line at a time took 52 s for 20,000 drafts): each
    chunk holds whole lines, and together they are the file `tailor export` writes, byte for byte."""
    from service.pipeline import exporting
    from tests.service.test_sending import approved_draft, new_campaign

    campaign_id = new_campaign(client)
    for n in range(5):
        approved_draft(client, engine, campaign_id, f"c{n}")
    exporting.export_campaign(engine, campaign_id, tmp_path / "campaign.jsonl")
    written = (tmp_path / "campaign.jsonl").read_text(encoding="utf-8")
    line = len(written.splitlines(keepends=True)[0])

    for chunk in (1, 2 * line + 1, 10**9):  # a line each, two or three at a time, all in one
        monkeypatch.setattr(exporting, "CHUNK", chunk)
        with session_scope(engine) as session:
            ids, _ = exporting.draft_ids(session, campaign_id)
        chunks = list(exporting.jsonl_chunks(engine, ids))
        assert all(piece.endswith("\n") for piece in chunks)
        assert len(chunks) == {1: 5, 2 * line + 1: 2, 10**9: 1}[chunk]
        assert client.get(f"/campaigns/{campaign_id}/export").text == written


def test_an_export_reads_the_columns_its_lines_hold_in_two_queries_a_page(client, engine, tmp_path, monkeypatch):
    """The export loaded each page of drafts as the review page shows them, reviews and the customer's whole row
    among them, in six queries a page (20,000 drafts took 7.5–8.6 s): it reads what its lines hold, the drafts with
    their customer and send, then their variants, and the lines stay those the API's drafts say."""
    from sqlalchemy import event

    from service.pipeline import exporting
    from tests.service.test_sending import approved_draft, new_campaign

    campaign_id = new_campaign(client)
    for n in range(5):
        approved_draft(client, engine, campaign_id, f"c{n}")
    drafts = {draft["id"]: draft for draft in client.get(f"/campaigns/{campaign_id}/drafts").json()}
    assert all(draft["reviews"] for draft in drafts.values())
    monkeypatch.setattr(exporting, "PAGE", 2)  # three pages
    statements = []

    def record(_connection, _cursor, statement, *_):
        statements.append(statement)

    with session_scope(engine) as session:
        ids, _ = exporting.draft_ids(session, campaign_id)
        event.listen(engine, "before_cursor_execute", record)
        try:
            records = list(exporting.export_records(session, ids))
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 2 * 3 + 1, statements  # and the campaign once, for its holdout
    assert not any("reviews" in statement for statement in statements)
    for record in records:
        draft = drafts[record["draft_id"]]
        (variant,) = [v for v in draft["variants"] if v["id"] == record["variant_id"]]
        assert record["checks"] == variant["checks"] and record["flag_reasons"] == draft["flag_reasons"]
        assert record["scores"] == {name: variant[name] for name in ("p_open", "p_click", "p_conversion")}
        assert (record["mailable"], record["status"]) == (draft["cannot_mail"] is None, "approved")


def test_an_export_of_the_selected_variants_gives_each_customer_one_line(client, engine, tmp_path):
    """An export gave a line per customer and variant, `selected` marking the one to send: a sender that imported
    every line mailed each customer once per variant. `selected_only` (`--selected-only`) writes the chosen one
    alone, whichever it is, and an experiment, whose variants are chosen as it sends, is refused."""
    from typer.testing import CliRunner

    from service.cli import app
    from service.db.models import Campaign, Draft, Variant
    from tests.service.test_sending import new_campaign

    campaign_id = new_campaign(client)
    chosen = {}
    with session_scope(engine) as session:
        for n, label in enumerate("ABA"):
            customer = Customer(external_id=f"c{n}", email=f"c{n}@example.com", marketing_consent=True)
            variants = [Variant(label=name, subject=f"{name} for c{n}", html="<p>Hi</p>", text="Hi") for name in "AB"]
            draft = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=variants)
            session.add(draft)
            session.flush()
            draft.selected_variant_id = chosen[draft.id] = next(v.id for v in variants if v.label == label)
    first = min(chosen)
    second = next(v for v in client.get(f"/drafts/{first}").json()["variants"] if v["label"] == "B")
    assert client.post(f"/drafts/{first}/approve", json={"variant_id": second["id"]}).status_code == 200
    chosen[first] = second["id"]  # the reviewer's choice, not generation's

    answer = client.get(f"/campaigns/{campaign_id}/export", params={"selected_only": "true"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"] == f'attachment; filename="campaign-{campaign_id}-selected.jsonl"'
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert {line["draft_id"]: line["variant_id"] for line in lines} == chosen and len(lines) == 3
    assert all(line["selected"] for line in lines)
    everything = [json.loads(line) for line in client.get(f"/campaigns/{campaign_id}/export").text.splitlines()]
    assert lines == [line for line in everything if line["selected"]]  # the same lines, the others left out
    approved = client.get(f"/campaigns/{campaign_id}/export", params={"selected_only": True, "status": "approved"})
    assert [json.loads(line)["variant_id"] for line in approved.text.splitlines()] == [second["id"]]

    out = tmp_path / "to-mail.jsonl"
    result = CliRunner().invoke(app, ["export", "--campaign", str(campaign_id), "--out", str(out), "--selected-only"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote 3 drafts to {out}, a line each: its variant to mail"
    assert out.read_text(encoding="utf-8") == answer.text

    with session_scope(engine) as session:
        session.get(Campaign, campaign_id).holdout_share = 0.2
    refused = client.get(f"/campaigns/{campaign_id}/export", params={"selected_only": True})
    assert refused.status_code == 409 and "is an experiment" in refused.json()["message"]
    assert f"Send it with Tailor (POST /campaigns/{campaign_id}/send)" in refused.json()["message"]
    failed = CliRunner().invoke(app, ["export", "--campaign", str(campaign_id), "--out", str(out), "--selected-only"])
    assert failed.exit_code != 0 and "is an experiment" in str(failed.exception)  # `tailor` says it, exit 2
    told = failed.exception.on_command_line()  # with the command to run: it named the request, with "{id}" in it
    assert f"Send it with Tailor (`tailor send --campaign {campaign_id}`)" in told and "POST /" not in told
    assert out.read_text(encoding="utf-8") == answer.text  # the file written before is left as it was
    assert client.get(f"/campaigns/{campaign_id}/export").status_code == 200  # every variant, as before
