"""Saving a campaign's drafts: in bulk (a few multi-row statements, each under the bound-value limit), the same
rows as one draft at a time, drafts a person reviewed or edited kept, and all or nothing; on SQLite and on
PostgreSQL."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import event, select

from generation.schemas import CheckResult
from generation.schemas import Draft as GeneratedDraft
from generation.schemas import Variant as GeneratedVariant
from service.db.models import Brand, Campaign, Customer, Draft, Review
from service.db.session import session_scope
from service.pipeline import generate
from service.pipeline.generate import clear_untouched_drafts, insert_drafts
from tests.service.conftest import new_migrated_postgres_database

CUSTOMERS = [f"c{i}" for i in range(7)]
OFFER = {"kind": "percent", "value": 10.0, "code": "BACK10"}
WRITTEN_AT = datetime(2026, 11, 20, 10, 30)  # the moment the generation scored the batch for


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request):
    """A migrated database with a brand, one campaign (id 1) and the customers c0..c6."""
    if request.param == "sqlite":
        engine = request.getfixturevalue("engine")
    else:
        engine = _fresh_postgres(request.getfixturevalue("postgres_url"))
    with session_scope(engine) as session:
        brand = Brand(slug="hearth", name="Hearth")
        session.add(brand)
        session.flush()
        session.add(Campaign(name="Win back", brand_id=brand.id, campaign_type="win_back"))
        session.add_all(Customer(external_id=c, email=f"{c}@shop.example", first_name=c.upper()) for c in CUSTOMERS)
    yield engine
    engine.dispose()


def _fresh_postgres(server_url: str):

    engine = new_migrated_postgres_database(server_url, "drafts")
    return engine


def _campaign(subject: str, customers: list[str] = CUSTOMERS, chosen: dict[str, str] | None = None):
    """What saving drafts takes for ``customers``: variants A and B each (B of c1 fails the length check), A chosen
    unless ``chosen`` says otherwise, c2 flagged by selection, c3 with a note, c4 without an offer."""
    drafts, scores, selection = [], [], []
    for n, customer in enumerate(customers):
        variants = []
        for label in "AB":
            failed = customer == "c1" and label == "B"
            checks = [CheckResult(name="length", passed=not failed, reason="too long" if failed else "")]
            variants.append(
                GeneratedVariant(
                    variant_id=label, subject=f"{subject} {label} for {customer}", preheader=f"pre {label}",
                    intro=f"Hello {customer}", product_lines=[f"line {label}1", f"line {label}2"],
                    html=f"<p>{customer} {label}</p>", text=f"{customer} {label}", checks=checks,
                    used_fallback=label == "B",
                )
            )  # fmt: skip
            scores.append(
                {"customer_id": customer, "variant_id": label, "p_open": 0.3 + n / 100, "p_click": 0.05,
                 "p_conversion": 0.01 * (label == "A"), "reasons": [f"reason {label} {customer}"]}
            )  # fmt: skip
        notes = ["written in English, not Bulgarian"] if customer == "c3" else []
        drafts.append(GeneratedDraft(customer_id=customer, campaign_type="win_back", locale="en", variants=variants,
                                     notes=notes))  # fmt: skip
        flag_reasons = ["predicted open rate 8.0% is under the 12% floor"] if customer == "c2" else []
        if customer == "c1":
            flag_reasons.append("variant(s) B failed a guardrail check")
        selection.append({"customer_id": customer, "chosen_variant": (chosen or {}).get(customer, "A"),
                          "flagged": bool(flag_reasons), "flag_reasons": flag_reasons})  # fmt: skip
    audience = pd.DataFrame(
        {"customer_id": customers, "reason": [f"away 90 days ({c})" for c in customers],
         "offer": [None if c == "c4" else OFFER for c in customers]}
    )  # fmt: skip
    picks = {c: [{"product_id": f"p-{c}", "name": "Teapot", "score": 0.5}] for c in customers}
    return (
        audience, drafts, picks, pd.DataFrame(scores).set_index(["customer_id", "variant_id"]),
        pd.DataFrame(selection).set_index("customer_id"),
    )  # fmt: skip


def _save(engine, subject: str, **options) -> int:
    """Replace campaign 1's untouched drafts with these, in one transaction, as one batch of a generation does."""
    audience, drafts, picks, variants, selection = _campaign(subject, **options)
    with session_scope(engine) as session:
        kept = clear_untouched_drafts(session, 1)
        return insert_drafts(session, 1, audience, drafts, picks, variants, selection, kept, WRITTEN_AT)


def _stored(engine) -> dict[str, dict]:
    """Each customer's saved draft, with its variants in id order and the label of the chosen one."""
    with session_scope(engine) as session:
        drafts = session.scalars(select(Draft).where(Draft.campaign_id == 1).order_by(Draft.id)).all()
        return {
            draft.customer.external_id: {
                "id": draft.id,
                "status": draft.status,
                "flagged": draft.flagged,
                "flag_reasons": draft.flag_reasons,
                "audience_reason": draft.audience_reason,
                "recommendations": draft.recommendations,
                "offer": draft.offer,
                "send_after": draft.send_after,
                "created_at": draft.created_at,
                "chosen": next((v.label for v in draft.variants if v.id == draft.selected_variant_id), None),
                "variants": [
                    {
                        "label": v.label,
                        "subject": v.subject,
                        "preheader": v.preheader,
                        "intro": v.intro,
                        "product_lines": v.product_lines,
                        "html": v.html,
                        "text": v.text,
                        "checks": v.checks,
                        "used_fallback": v.used_fallback,
                        "edited": v.edited,
                        "p_open": v.p_open,
                        "p_click": v.p_click,
                        "p_conversion": v.p_conversion,
                        "reasons": v.reasons,
                    }
                    for v in draft.variants
                ],
            }  # fmt: skip
            for draft in drafts
        }


def test_drafts_are_written_in_a_few_statements_each_under_the_bound_value_limit(database, monkeypatch):
    """One INSERT per draft and per variant took most of a big campaign's save. Here a limit of 40 bound values
    stands in for 10,000 (PostgreSQL refuses more than 65,535 in a statement)."""
    monkeypatch.setattr(generate, "IN_BATCH", 40)
    inserts: list[tuple[str, int]] = []

    def record(_connection, _cursor, statement, parameters, _context, _executemany):
        if statement.lstrip().upper().startswith("INSERT"):
            table = statement.split()[2].strip('"')
            # A multi-row INSERT gets all its values at once; an executemany, one row's per execution.
            many = isinstance(parameters, list | tuple) and isinstance(
                next(iter(parameters), None), tuple | list | dict
            )
            inserts.append((table, max(len(row) for row in parameters) if many else len(parameters)))

    event.listen(database, "before_cursor_execute", record)
    try:
        assert _save(database, "Welcome back") == len(CUSTOMERS)
    finally:
        event.remove(database, "before_cursor_execute", record)
    assert all(values <= 40 for _, values in inserts), inserts
    drafts_per_statement = 40 // len(Draft.__table__.columns)
    assert sum(table == "drafts" for table, _ in inserts) == math.ceil(len(CUSTOMERS) / drafts_per_statement)
    assert sum(table == "variants" for table, _ in inserts) < 2 * len(CUSTOMERS)

    stored = _stored(database)
    assert list(stored) == CUSTOMERS
    assert [(c, d["status"], d["flagged"]) for c, d in stored.items() if d["flagged"]] == [
        ("c1", "flagged", True), ("c2", "flagged", True), ("c3", "flagged", True)
    ]  # fmt: skip
    assert stored["c1"]["flag_reasons"] == ["variant B failed a guardrail check: length (too long)"]
    assert stored["c2"]["flag_reasons"] == ["predicted open rate 8.0% is under the 12% floor"]
    assert stored["c3"]["flag_reasons"] == ["written in English, not Bulgarian"]
    assert stored["c0"]["status"] == "pending" and stored["c0"]["flag_reasons"] == []
    assert stored["c4"]["offer"] is None and stored["c5"]["offer"] == OFFER
    assert stored["c5"]["audience_reason"] == "away 90 days (c5)" and stored["c5"]["send_after"] is None
    assert {d["created_at"] for d in stored.values()} == {WRITTEN_AT}  # what an edit scores them for, without a plan
    assert stored["c5"]["recommendations"] == [{"product_id": "p-c5", "name": "Teapot", "score": 0.5}]
    assert {d["chosen"] for d in stored.values()} == {"A"}
    assert stored["c6"]["variants"] == [
        {"label": label, "subject": f"Welcome back {label} for c6", "preheader": f"pre {label}",
         "intro": "Hello c6", "product_lines": [f"line {label}1", f"line {label}2"], "html": f"<p>c6 {label}</p>",
         "text": f"c6 {label}", "checks": [{"name": "length", "passed": True, "reason": ""}],
         "used_fallback": label == "B", "edited": False, "p_open": 0.36, "p_click": 0.05,
         "p_conversion": 0.01 * (label == "A"), "reasons": [f"reason {label} c6"]}
        for label in "AB"
    ]  # fmt: skip


def test_the_chosen_variant_is_each_draft_s_own(database, monkeypatch):
    monkeypatch.setattr(generate, "IN_BATCH", 40)
    _save(database, "Hello", chosen={"c0": "B", "c5": "B"})
    stored = _stored(database)
    assert {c: d["chosen"] for c, d in stored.items()} == {c: "B" if c in ("c0", "c5") else "A" for c in CUSTOMERS}


def test_generating_again_keeps_reviewed_and_edited_drafts_and_replaces_the_others(database):
    _save(database, "First")
    first = _stored(database)
    with session_scope(database) as session:
        approved = session.get(Draft, first["c0"]["id"])
        approved.status = "approved"
        session.add(Review(draft_id=first["c1"]["id"], action="edit", reviewer="copy"))
    assert _save(database, "Second") == len(CUSTOMERS) - 2
    second = _stored(database)
    assert sorted(second) == sorted(CUSTOMERS)
    for kept in ("c0", "c1"):
        assert second[kept]["id"] == first[kept]["id"]
        assert second[kept]["variants"][0]["subject"] == f"First A for {kept}"
    for customer in CUSTOMERS[2:]:
        assert [v["subject"] for v in second[customer]["variants"]] == [f"Second {x} for {customer}" for x in "AB"]
        assert second[customer]["chosen"] == "A"


def test_a_save_that_fails_part_way_leaves_the_previous_drafts(database, monkeypatch):
    """The last batch fails (its chosen variant does not exist): the drafts deleted and written before it come
    back, so a campaign is never left half-written."""
    monkeypatch.setattr(generate, "IN_BATCH", 40)
    _save(database, "First")
    before = _stored(database)
    with pytest.raises(KeyError):
        _save(database, "Second", chosen={CUSTOMERS[-1]: "Z"})
    assert _stored(database) == before
