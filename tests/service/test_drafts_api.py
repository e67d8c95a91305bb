"""The drafts API: answers to requests that cannot be met (a campaign that does not exist, a status no draft can
have), and flags that say which checks an edited variant fails."""

from __future__ import annotations

from generation.guardrails import check_label
from tests.service.conftest import generated_campaign, trained_shop, trained_shop_with_campaign

SHOUTY = "70% off everything, today only!!! FREE shipping"  # no such offer in the data, and spam's hallmarks


def test_listing_drafts_names_a_missing_campaign_and_a_misspelt_status(client):
    missing = client.get("/campaigns/999/drafts")
    assert missing.status_code == 404 and "Campaign 999 does not exist" in missing.json()["message"]

    campaign = {"name": "x", "brand": "hearth", "campaign_type": "win_back"}
    campaign_id = client.post("/campaigns", json=campaign).json()["id"]
    assert client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "approved"}).json() == []
    misspelt = client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "aproved"})
    assert misspelt.status_code == 422
    problem = misspelt.json()["problems"][0]
    assert problem["field"] == "query.status"
    for status in ("pending", "flagged", "approved", "rejected", "sent"):
        assert f"'{status}'" in problem["message"]


def _chosen_variant_of_a_new_draft(client, demo_files, monkeypatch) -> tuple[int, dict, dict, str]:
    """A new campaign of a trained shop (fake model), its first draft, that draft's chosen variant and the
    variant's edit URL: the shop and campaign generated once and copied into each later test's database."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=2)
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    variant = next(v for v in draft["variants"] if v["id"] == draft["selected_variant_id"])
    url = f"/drafts/{draft['id']}/variants/{variant['id']}"
    return campaign_id, draft, variant, url


def test_an_edit_that_fails_checks_flags_the_draft_naming_them(client, demo_files, monkeypatch):
    campaign_id, draft, variant, url = _chosen_variant_of_a_new_draft(client, demo_files, monkeypatch)

    edited = client.patch(url, json={"subject": SHOUTY, "reviewer": "copy"}).json()
    failed = {c["name"] for v in edited["variants"] if v["id"] == variant["id"] for c in v["checks"] if not c["passed"]}
    assert {"grounding", "spam_triggers"} <= failed
    assert edited["flagged"] and edited["status"] == "flagged"
    named = [reason for reason in edited["flag_reasons"] if reason.startswith(f"variant {variant['label']} ")]
    assert len(named) == 1 and all(f"{check_label(check)} (" in named[0] for check in failed)
    assert "spam words (" in named[0] and "spam_triggers" not in named[0]  # as a copywriter reads them

    mended = client.patch(url, json={"subject": variant["subject"], "reviewer": "copy"}).json()
    assert not any(reason.startswith(f"variant {variant['label']} ") for reason in mended["flag_reasons"])
    assert mended["flagged"] == bool(mended["flag_reasons"])
    assert mended["status"] == ("flagged" if mended["flagged"] else "pending")


def test_a_variant_that_failed_checks_is_approved_only_with_an_override_and_a_reason(client, demo_files, monkeypatch):
    campaign_id, draft, variant, url = _chosen_variant_of_a_new_draft(client, demo_files, monkeypatch)
    for subject in ("", "   ", "x" * 201):  # the limits hold whitespace too
        assert client.patch(url, json={"subject": subject}).status_code == 422
    client.patch(url, json={"subject": SHOUTY, "reviewer": "copy"})

    refused = client.post(f"/drafts/{draft['id']}/approve", json={"reviewer": "copy"})
    assert refused.status_code == 409
    assert f"Variant {variant['label']} of draft {draft['id']} failed checks (" in refused.json()["message"]
    assert "facts from the data" in refused.json()["message"] and "override" in refused.json()["message"]
    no_reason = client.post(f"/drafts/{draft['id']}/approve", json={"override_checks": True, "comment": " "})
    assert no_reason.status_code == 422 and [p["field"] for p in no_reason.json()["problems"]] == ["comment"]
    assert client.get(f"/drafts/{draft['id']}").json()["status"] == "flagged"  # neither attempt approved it

    approved = client.post(
        f"/drafts/{draft['id']}/approve",
        json={"override_checks": True, "comment": "legal cleared the 70% claim", "reviewer": "lead"},
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved" and body["selected_variant_id"] == variant["id"]
    review = body["reviews"][-1]
    assert review["action"] == "approve" and review["comment"] == "legal cleared the 70% claim"
    assert {"grounding", "spam_triggers"} <= set(review["overridden_checks"])
    # the campaign counts it once, as approved: "flagged" counts the flagged drafts still waiting for a person
    counts = client.get(f"/campaigns/{campaign_id}").json()["drafts"]
    assert counts["approved"] == 1 and counts.get("flagged", 0) == 0
    assert sum(count for status, count in counts.items() if status != "total") == counts["total"] == 2

    other = client.get(f"/campaigns/{campaign_id}/drafts").json()
    clean = next(d for d in other if d["id"] != draft["id"])
    chosen = next(v for v in clean["variants"] if v["id"] == clean["selected_variant_id"])
    if all(c["passed"] for c in chosen["checks"]):  # a variant that passes needs no override
        plain = client.post(f"/drafts/{clean['id']}/approve", json={}).json()
        assert plain["status"] == "approved" and plain["reviews"][-1]["overridden_checks"] is None


def test_the_pending_drafts_of_a_campaign_are_approved_at_once_and_the_flagged_stay(
    client, demo_files, engine, monkeypatch
):
    """A campaign for thousands of customers was approved one draft at a time. The drafts that passed every check
    and floor (pending) can be approved together; the flagged ones still wait for a person."""
    from service.db.models import Campaign, Draft
    from service.db.session import session_scope

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=6)
    drafts = client.get(f"/campaigns/{campaign_id}/drafts", params={"limit": 10}).json()
    held = drafts[0]["id"]  # a draft a person must look at
    with session_scope(engine) as session:
        session.get(Draft, held).status = "flagged"
    pending = [d["id"] for d in client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "pending"}).json()]
    assert len(pending) >= 4 and held not in pending
    failing = pending.pop()  # pending, but its chosen variant fails a check (generation never leaves one so)
    with session_scope(engine) as session:
        draft = session.get(Draft, failing)
        chosen = next(v for v in draft.variants if v.id == draft.selected_variant_id)
        chosen.checks = [*chosen.checks, {"name": "spam_triggers", "passed": False, "reason": "shouts"}]
    url = f"/campaigns/{campaign_id}/drafts/approve"

    with session_scope(engine) as session:
        session.get(Campaign, campaign_id).status = "generating"
    refused = client.post(url, json={"reviewer": "Ola"})
    assert refused.status_code == 409 and "is being generated" in refused.json()["message"]
    with session_scope(engine) as session:
        session.get(Campaign, campaign_id).status = "ready"

    answer = client.post(url, json={"reviewer": "Ola", "comment": "read a sample of ten"})
    flagged = sum(d["status"] == "flagged" for d in client.get(f"/campaigns/{campaign_id}/drafts").json())
    assert answer.status_code == 200
    assert answer.json() == {
        "approved": len(pending),
        "left_for_review": flagged + 1,
        "out_of_date": 0,
        "unseen_characters": 0,
        "unseen_in": {"copy": 0, "address": 0, "link": 0},
    }
    for draft_id in pending:
        draft = client.get(f"/drafts/{draft_id}").json()
        assert draft["status"] == "approved"
        assert [(r["action"], r["reviewer"], r["comment"], r["key_name"]) for r in draft["reviews"]] == [
            ("approve", "Ola", "read a sample of ten", "tests")
        ]  # the key the request was made with: "Ola" is only what the body says
    assert client.get(f"/drafts/{held}").json()["status"] == "flagged"
    assert client.get(f"/drafts/{failing}").json()["status"] == "pending"
    forecast = client.get(f"/campaigns/{campaign_id}").json()["forecast"]
    assert forecast["sends"] == len(pending) + flagged + 1 and not forecast.get("stale")  # approved or in review
    assert client.post(url, json={}).json()["approved"] == 0  # nothing pending is left
    assert client.post("/campaigns/999/drafts/approve", json={}).status_code == 404


def test_approving_the_pending_drafts_at_once_leaves_one_the_catalog_no_longer_agrees_with_to_a_person(
    client, demo_files, engine, monkeypatch
):
    """One approval refused a draft whose product had since gone up in price; "approve all pending" approved it,
    and the send then held it back."""
    from service.db.models import Draft, Product
    from service.db.session import session_scope

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=6)
    pending = client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "pending"}).json()
    assert len(pending) >= 2
    stale, shown = pending[0]["id"], pending[0]["recommendations"][0]
    with session_scope(engine) as session:
        session.query(Product).filter(Product.sku == shown["product_id"]).update({"price": shown["price"] + 5})
    others = [
        d["id"] for d in pending[1:] if shown["product_id"] not in {p["product_id"] for p in d["recommendations"]}
    ]

    answer = client.post(f"/campaigns/{campaign_id}/drafts/approve", json={"reviewer": "Ola"}).json()
    assert answer["out_of_date"] >= 1 and answer["approved"] >= len(others)
    draft = client.get(f"/drafts/{stale}").json()
    assert draft["status"] == "flagged" and draft["flagged"]
    assert any(reason.startswith("Not approved with the others: ") and shown["name"] in reason
               for reason in draft["flag_reasons"])  # fmt: skip
    assert all(client.get(f"/drafts/{d}").json()["status"] == "approved" for d in others)
    with session_scope(engine) as session:
        assert session.get(Draft, stale).reviews == []  # no approval was recorded for it


def pending_draft_whose_first_product_costs_more_now(client, demo_files, engine, monkeypatch) -> tuple[dict, dict]:
    """A pending draft of a new campaign, and the product its email shows first, whose price has since gone up."""
    from service.db.models import Product
    from service.db.session import session_scope

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=3)
    draft = client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "pending"}).json()[0]
    shown = draft["recommendations"][0]
    with session_scope(engine) as session:
        session.query(Product).filter(Product.sku == shown["product_id"]).update({"price": shown["price"] + 5})
    return draft, shown


def test_one_approval_refused_for_a_changed_price_flags_the_draft_with_what_changed(
    client, demo_files, engine, monkeypatch
):
    """The 409 said what changed, but the draft stayed pending and unmarked: the next person approved it and was
    refused in turn, and "approve all pending" was the only way it reached a person's list."""
    from service.db.models import Draft
    from service.db.session import session_scope

    draft, shown = pending_draft_whose_first_product_costs_more_now(client, demo_files, engine, monkeypatch)

    for _ in range(2):  # asked twice: flagged once, with one reason
        refused = client.post(f"/drafts/{draft['id']}/approve", json={"reviewer": "Ola"})
        assert refused.status_code == 409 and "out of date with the catalog" in refused.json()["message"]
    after = client.get(f"/drafts/{draft['id']}").json()
    assert after["status"] == "flagged" and after["flagged"]
    reasons = [r for r in after["flag_reasons"] if r.startswith("Not approved: ")]
    assert len(reasons) == 1 and shown["name"] in reasons[0], after["flag_reasons"]
    with session_scope(engine) as session:
        assert session.get(Draft, draft["id"]).reviews == []  # no approval was recorded


def test_a_campaign_that_sent_nothing_is_deleted_with_its_drafts(client, demo_files, engine, monkeypatch):
    """A marketing tool could create campaigns (tests, mistakes) but never remove one."""
    from datetime import datetime

    from sqlalchemy import func, select

    from service.db.models import Campaign, Customer, Draft, Review, Send, Variant
    from service.db.session import session_scope

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=3)
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    client.post(f"/drafts/{draft['id']}/reject", json={"comment": "not this one"})
    kept_id = generated_campaign(client, max_customers=2)

    with session_scope(engine) as session:
        session.get(Campaign, campaign_id).status = "generating"
    busy = client.delete(f"/campaigns/{campaign_id}")
    assert busy.status_code == 409 and "cancel its job" in busy.json()["message"]
    with session_scope(engine) as session:
        session.get(Campaign, campaign_id).status = "ready"

    assert client.delete(f"/campaigns/{campaign_id}").status_code == 204
    assert client.get(f"/campaigns/{campaign_id}").status_code == 404
    assert client.delete(f"/campaigns/{campaign_id}").status_code == 404
    with session_scope(engine) as session:
        drafts = session.scalars(select(Draft.id).where(Draft.campaign_id == campaign_id)).all()
        orphans = session.scalar(select(func.count()).select_from(Variant).where(Variant.draft_id == draft["id"]))
        reviews = session.scalar(select(func.count()).select_from(Review).where(Review.draft_id == draft["id"]))
        assert (drafts, orphans, reviews) == ([], 0, 0)
        assert session.scalar(select(func.count()).select_from(Draft).where(Draft.campaign_id == kept_id)) == 2
        customer_id = session.scalars(select(Customer.id)).first()
        sent_at = datetime.now()
        session.add(
            Send(customer_id=customer_id, campaign_id=kept_id, subject="Hi", campaign_type="vip", sent_at=sent_at)
        )
    sent = client.delete(f"/campaigns/{kept_id}")
    assert sent.status_code == 409
    assert sent.json()["message"] == f"Campaign {kept_id} has sent 1 email: it is kept with its results."


def test_a_deleted_campaign_s_id_is_never_given_again_and_says_it_was_deleted(client):
    """On SQLite, deleting the newest campaign and creating one gave the new campaign the deleted one's id: an
    integration (or a job's result, or a webhook) that kept the id read another campaign."""
    body = {"name": "Spring test", "brand": "hearth", "campaign_type": "vip"}
    first = client.post("/campaigns", json=body).json()["id"]
    newest = client.post("/campaigns", json={**body, "name": "Mistake"}).json()["id"]
    assert client.delete(f"/campaigns/{newest}").status_code == 204
    created = client.post("/campaigns", json={**body, "name": "Next"}).json()["id"]
    assert created > newest > first
    gone = client.get(f"/campaigns/{newest}")
    assert gone.status_code == 404 and gone.json()["message"].startswith(
        f"Campaign {newest} ('Mistake') was deleted on "
    )
    assert client.get("/campaigns/999").json()["message"] == "Campaign 999 does not exist."


def test_campaigns_created_at_the_same_moment_each_get_an_id_of_their_own(client):
    """Twelve campaigns created at once answered several 500s (UNIQUE constraint failed: campaigns.id): each took
    the highest id plus one before any of them was written. The first use of a brand raced the same way."""
    from concurrent.futures import ThreadPoolExecutor

    deleted = client.post("/campaigns", json={"name": "gone", "brand": "atelier", "campaign_type": "vip"}).json()["id"]
    assert client.delete(f"/campaigns/{deleted}").status_code == 204
    bodies = [{"name": f"launch {n}", "brand": "hearth", "campaign_type": "vip"} for n in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda body: client.post("/campaigns", json=body), bodies))
    assert [answer.status_code for answer in answers] == [201] * 12, [a.text for a in answers if a.status_code != 201]
    ids = {answer.json()["id"] for answer in answers}
    assert len(ids) == 12 and min(ids) > deleted
    assert {c["name"] for c in client.get("/campaigns").json()} == {body["name"] for body in bodies}


def test_campaigns_are_listed_newest_first_a_page_at_a_time_and_by_status(client, engine):
    """GET /campaigns answered every campaign the shop ever made, each with its draft counts and forecast."""
    from service.db.models import Campaign
    from service.db.session import session_scope

    ids = [
        client.post("/campaigns", json={"name": f"c{n}", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
        for n in range(4)
    ]
    with session_scope(engine) as session:
        session.get(Campaign, ids[1]).status = "sent"

    def listed(**params) -> list[int]:
        answer = client.get("/campaigns", params=params)
        assert answer.status_code == 200, answer.text
        return [campaign["id"] for campaign in answer.json()]

    assert listed() == ids[::-1]
    assert listed(limit=2) == [ids[3], ids[2]] and listed(limit=2, offset=2) == [ids[1], ids[0]]
    assert listed(status="sent") == [ids[1]] and listed(status="created") == [ids[3], ids[2], ids[0]]
    refused = client.get("/campaigns", params={"status": "done"})
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "query.status"
    assert client.get("/campaigns", params={"limit": 0}).status_code == 422


def test_an_approval_or_a_rejection_can_be_taken_back_until_the_email_is_sent(client, demo_files, monkeypatch):
    """A rejection was one click with no way back ("only pending or flagged drafts can be reviewed"), and an
    approval could not be withdrawn before sending either."""
    campaign_id, draft, variant, _ = _chosen_variant_of_a_new_draft(client, demo_files, monkeypatch)
    url = f"/drafts/{draft['id']}"
    assert client.post(f"{url}/reopen", json={}).status_code == 409  # never reviewed: nothing to take back
    assert client.post(f"{url}/reject", json={"reviewer": "ann", "comment": "off brand"}).json()["status"] == "rejected"
    reopened = client.post(f"{url}/reopen", json={"reviewer": "ann", "comment": "clicked the wrong one"})
    assert reopened.status_code == 200 and reopened.json()["status"] == draft["status"]  # pending or flagged again
    assert [r["action"] for r in reopened.json()["reviews"]] == ["reject", "reopen"]
    assert reopened.json()["reviews"][-1]["comment"] == "clicked the wrong one"

    approved = client.post(f"{url}/approve", json={"override_checks": True, "comment": "fine"}).json()
    assert approved["status"] == "approved"
    assert client.get(f"/campaigns/{campaign_id}").json()["drafts"]["approved"] == 1
    again = client.post(f"{url}/reopen", json={"reviewer": "lead"}).json()
    assert again["status"] == draft["status"] and again["send_after"] is None
    assert client.get(f"/campaigns/{campaign_id}").json()["drafts"].get("approved", 0) == 0
    assert client.post("/drafts/999999/reopen", json={}).status_code == 404

    page = client.get(f"/review/drafts/{draft['id']}").text
    assert 'id="reopen-form"' not in page  # waiting for review: approve and reject are the actions
    client.post(f"{url}/reject", json={"comment": "no"})
    page = client.get(f"/review/drafts/{draft['id']}").text
    assert 'id="reopen-form"' in page and "Rejected: take it back to review it again." in page
    done = client.post(f"/review/drafts/{draft['id']}/reopen", data={"comment": "second look"}, follow_redirects=False)
    assert done.status_code == 303 and client.get(url).json()["status"] == draft["status"]


def test_a_replenishment_email_shows_only_products_the_customer_bought(client, demo_files, engine, monkeypatch):
    """Replenishment copy says "your usual", yet 20 of 75 products shown in a demo campaign had never been bought
    by their customer (a wok and two milk frothers under "Запасы на исходе?"); then, of those bought, durable
    goods bought once (teapots, linens) as well as the tea and coffee customers buy again; then customers who had
    bought only durable goods got a reminder of nothing, flagged for a person to reject."""
    from sqlalchemy import select

    from recommenders.reorder import buyer_counts, reorderable_products
    from service.db.models import Customer, Interaction, Product
    from service.db.session import session_scope
    from service.demo.catalog import CONSUMABLE_CATEGORIES
    from service.pipeline import frames

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, campaign_type="replenishment")
    drafts = client.get(f"/campaigns/{campaign_id}/drafts", params={"limit": 500}).json()
    # A customer who bought nothing re-ordered is not reminded: 1 draft in 6 was flagged "No products to show".
    assert drafts and all(d["recommendations"] for d in drafts), [d["flag_reasons"] for d in drafts]
    preview = client.get("/audience", params={"campaign_type": "replenishment"}).json()
    assert preview["customers"] == len(drafts)  # the preview counts whom the campaign writes to
    with session_scope(engine) as session:
        for draft in drafts:
            bought = set(
                session.scalars(
                    select(Product.sku)
                    .join(Interaction, Interaction.product_id == Product.id)
                    .join(Customer, Interaction.customer_id == Customer.id)
                    .where(Customer.external_id == draft["customer_id"], Interaction.kind == "purchase")
                )
            )
            assert {r["product_id"] for r in draft["recommendations"]} <= bought, draft["customer_id"]
        counted = frames.product_buyer_counts(session).set_index("product_id").sort_index()
        orders = frames.orders_frame(session)
        products = frames.products_frame(session).set_index("product_id")
    # The database's count agrees with the one over purchase lines (no returns in the demo shop).
    assert counted.equals(buyer_counts(orders).set_index("product_id").sort_index())
    shown = [r["product_id"] for d in drafts for r in d["recommendations"]]
    assert shown and set(shown) <= reorderable_products(counted.reset_index(), products["category"])
    assert set(products.loc[shown, "category"]) <= set(CONSUMABLE_CATEGORIES)  # the demo's consumables


def test_reviews_of_one_draft_at_the_same_moment_are_taken_once(client, engine):
    """Six approvals of one draft at once (a double click, two reviewers) all answered 200 and left six approvals
    in its history: each read "pending" before any wrote. One wins, the others are told it was reviewed."""
    from concurrent.futures import ThreadPoolExecutor

    from service.campaigns import ensure_brand
    from service.db.models import Campaign, Customer, Draft, Variant
    from service.db.session import session_scope

    with session_scope(engine) as session:
        campaign = Campaign(name="x", brand=ensure_brand(session, "hearth"), campaign_type="vip", status="ready")
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        draft = Draft(campaign=campaign, customer=customer, variants=[Variant(label="A", subject="Hello")])
        session.add(draft)
        session.flush()
        draft_id = draft.id
        draft.selected_variant_id = draft.variants[0].id

    def at_once(action: str) -> list[int]:
        body = {"reviewer": "Ola", "comment": "ok"}
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda _: client.post(f"/drafts/{draft_id}/{action}", json=body), range(6)))
        assert all(a.json()["error"] == "Conflict" for a in answers if a.status_code != 200), [a.text for a in answers]
        return sorted(answer.status_code for answer in answers)

    for action, status in (("approve", "approved"), ("reopen", "pending"), ("reject", "rejected")):
        assert at_once(action) == [200] + [409] * 5, action
        assert client.get(f"/drafts/{draft_id}").json()["status"] == status
    reviews = [review["action"] for review in client.get(f"/drafts/{draft_id}").json()["reviews"]]
    assert reviews == ["approve", "reopen", "reject"]


def test_a_review_needs_no_body_and_its_words_are_bounded(client, demo_files, monkeypatch):
    """approve, reject and reopen answered 422 'body: Field required' without a body, though every field has a
    default; a 100,000-character reviewer was stored; a campaign could be named with spaces alone."""
    _, draft, _, _ = _chosen_variant_of_a_new_draft(client, demo_files, monkeypatch)
    too_long = client.post(f"/drafts/{draft['id']}/reject", json={"reviewer": "r" * 201})
    assert too_long.status_code == 422 and too_long.json()["problems"][0]["field"] == "reviewer"
    approved = client.post(f"/drafts/{draft['id']}/approve")  # the chosen variant, which passed its checks
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert client.post(f"/drafts/{draft['id']}/reopen").json()["status"] == "pending"
    assert client.post(f"/drafts/{draft['id']}/reject").json()["status"] == "rejected"
    blank = client.post("/campaigns", json={"name": "   ", "brand": "hearth", "campaign_type": "win_back"})
    assert blank.status_code == 422 and blank.json()["problems"][0]["field"] == "name"


def test_a_draft_rejected_while_an_approval_was_being_refused_for_its_catalog_stays_rejected(
    client, demo_files, engine, monkeypatch
):
    """The refusal's flag wrote the whole row as its request had read it: a rejection made meanwhile was undone,
    the draft back to review as flagged with a 'reject' as its last review."""
    import service.pipeline.freshness as freshness
    from service import drafts as draft_ops
    from service.db.models import Draft
    from service.db.session import session_scope

    draft, shown = pending_draft_whose_first_product_costs_more_now(client, demo_files, engine, monkeypatch)
    read = freshness.stale_facts

    def rejected_meanwhile(session, stored):  # another reviewer rejects it once this request has read it
        with session_scope(engine) as other:
            draft_ops.reject(other, stored.id, "Bea", "not for this customer")
        return read(session, stored)

    monkeypatch.setattr(freshness, "stale_facts", rejected_meanwhile)
    refused = client.post(f"/drafts/{draft['id']}/approve", json={"reviewer": "Ola"})
    assert refused.status_code == 409 and "reviewed meanwhile and is rejected now" in refused.json()["message"]
    with session_scope(engine) as session:
        assert session.get(Draft, draft["id"]).status == "rejected"
