"""The audience preview a marketer runs before creating a campaign: counts, reasons, offers, and clear errors
for a query that cannot be read; the profiles behind it, recomputed after each orders import."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import select

from service.clock import utcnow
from service.db.models import Assignment, Customer, Send
from service.db.session import session_scope
from tests.service.conftest import upload, wait_for_job


def test_preview_counts_mailable_customers_and_narrows_by_query(client, demo_files):
    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200  # orders queue a profile refresh

    win_back = client.get("/audience", params={"campaign_type": "win_back", "limit": 5})
    assert win_back.status_code == 200, win_back.text
    body = win_back.json()
    assert body["customers"] > 0 and 0 < len(body["sample"]) <= 5
    customers = {c["customer_id"]: c for c in client.get("/customers", params={"limit": 1000}).json()}
    for person in body["sample"]:
        record = customers[person["customer_id"]]
        assert record["marketing_consent"] and not record["unsubscribed"]  # only mailable customers
        assert person["reason"] and person["segment"] == record["segment"]
        assert person["offer"] is not None  # win-back comes with an offer from the ladder
    everyone = client.get("/audience", params={"campaign_type": "win_back", "limit": 1000}).json()["sample"]
    percent_off = {segment: [p["offer"]["value"] for p in everyone if p["segment"] == segment]
                   for segment in ("cant_lose", "hibernating")}  # fmt: skip
    # by value at risk, not CLV (which put can't-lose customers at the bottom); one away just past the shop's usual
    # reorder gaps, whom the churn model still expects back (28 %), has little at risk, and the lowest rung
    assert median(percent_off["cant_lose"]) > median(percent_off["hibernating"])

    assert body["mailed_recently"] == 0  # the demo's history ends weeks ago
    engine = client.app.state.tailor.engine
    with session_scope(engine) as session:  # two of the audience were mailed an hour ago
        for person in body["sample"][:2]:
            customer = session.scalar(select(Customer).where(Customer.external_id == person["customer_id"]))
            session.add(Send(customer=customer, subject="Hello", campaign_type="vip", sent_at=datetime.now()))
    again = client.get("/audience", params={"campaign_type": "win_back", "limit": 5}).json()
    assert (again["customers"], again["mailed_recently"]) == (body["customers"], 2)
    assert body["held_out"] == 0
    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:  # one was held out by an experiment last week, one a month ago
        for person, days in zip(body["sample"][2:4], (7, 30), strict=True):
            customer = session.scalar(select(Customer).where(Customer.external_id == person["customer_id"]))
            assigned = utcnow() - timedelta(days=days)
            session.add(
                Assignment(campaign_id=campaign_id, customer_id=customer.id, arm="holdout", assigned_at=assigned)
            )
    assert client.get("/audience", params={"campaign_type": "win_back", "limit": 5}).json()["held_out"] == 1

    narrowed = client.get(
        "/audience", params={"campaign_type": "win_back", "query": "clv > 5 and churn_risk >= 0.5", "limit": 1000}
    ).json()
    assert narrowed["customers"] <= body["customers"]
    assert all(p["clv"] > 5 and p["churn_risk"] >= 0.5 for p in narrowed["sample"])

    broken = client.get("/audience", params={"campaign_type": "win_back", "query": "clv >> 5"})
    assert broken.status_code == 422 and "query" in broken.json()["message"]
    misspelt = client.get("/audience", params={"campaign_type": "win_back", "query": "segment in (Cant_Lose, at_rsk)"})
    assert misspelt.status_code == 422
    assert "position 24" in misspelt.json()["message"] and "did you mean 'at_risk'" in misspelt.json()["message"]
    any_case = client.get("/audience", params={"campaign_type": "win_back", "query": 'segment == "Can\'t lose"'})
    assert {p["segment"] for p in any_case.json()["sample"]} == {"cant_lose"}
    campaign = {"name": "x", "brand": "hearth", "campaign_type": "win_back", "audience_query": "segment = at_rsk"}
    rejected = client.post("/campaigns", json=campaign)
    assert rejected.status_code == 422 and "'at_rsk' is not a segment" in rejected.json()["message"]
    no_such_field = client.get("/audience", params={"campaign_type": "vip", "query": "shoe_size > 40"})
    assert no_such_field.status_code == 422 and "shoe_size" in no_such_field.json()["message"]
    unknown = client.get("/audience", params={"campaign_type": "newsletter"})
    assert unknown.status_code == 422 and "campaign_type" in unknown.json()["message"]


def test_pages_of_the_audience_read_one_after_another_list_every_customer_once(client, demo_files):
    """GET /audience listed the first `limit` customers, 1,000 at most, and took no `offset`: a marketing tool could
    not read an audience of 50,000. Pages from `offset` list the customers of one read of the whole audience, in
    its order, each once: ties in the campaign's order (cross-sell's, by recency) included."""
    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    customers = client.get("/customers", params={"limit": 1000}).json()
    recency = {c["customer_id"]: (c["profile"] or {}).get("recency_days") for c in customers}
    for campaign_type in ("cross_sell", "win_back"):
        whole = client.get("/audience", params={"campaign_type": campaign_type, "limit": 1000}).json()
        everyone = [person["customer_id"] for person in whole["sample"]]
        assert len(set(everyone)) == len(everyone) == whole["customers"] > 7
        paged, offset = [], 0
        while True:
            page = client.get("/audience", params={"campaign_type": campaign_type, "limit": 7, "offset": offset})
            assert page.status_code == 200, page.text
            assert page.json()["customers"] == whole["customers"]
            if not page.json()["sample"]:
                break
            paged += [person["customer_id"] for person in page.json()["sample"]]
            offset += 7
        assert paged == everyone
        if campaign_type == "cross_sell":  # ties, which only a stable order keeps apart from page to page
            assert len({recency[customer_id] for customer_id in everyone}) < len(everyone)


def test_segment_retention_is_measured_on_last_horizons_segments(client, demo_files):
    """Retention on today's segments is 1 or 0 by construction (they rest on recency); it is measured instead on
    the customers each segment held one horizon ago."""
    assert client.get("/segments").json() == []
    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    segments = {row["segment"]: row for row in client.get("/segments").json()}
    measured = [row for row in segments.values() if row["retention_base"] > 0]
    assert len(measured) >= 5 and all(isinstance(row["orders"], int) for row in segments.values())
    assert all(0 <= row["retention_rate"] <= 1 and row["retention_days"] == 90 for row in measured)
    assert len({row["retention_rate"] for row in measured} - {0.0, 1.0}) >= 3
    assert segments["champions"]["retention_rate"] > segments["lost"]["retention_rate"]
    assert {row["as_of"] for row in segments.values()} == {client.get("/customers").json()[0]["profile"]["as_of"]}


def test_segments_are_served_from_the_latest_audience_refresh_without_reading_orders(client, demo_files, monkeypatch):
    """GET /segments read every order on each request (38 s at 300k customers); the audience refresh that
    follows each orders import stores the figures, and the endpoint reads that one row."""
    from service.pipeline import frames

    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    before = client.get("/segments").json()
    monkeypatch.setattr(frames, "orders_frame", lambda session: (_ for _ in ()).throw(AssertionError("read")))
    assert client.get("/segments").json() == before
    assert sum(row["customers"] for row in before) == len(client.get("/customers", params={"limit": 1000}).json())


def test_refresh_clusters_on_the_products_categories_and_the_lines_discounts(client, tmp_path):
    """Categories come from the products table and discounts from the order lines: the tea buyers who always use
    a voucher are one cluster, named by both, and a query finds them by that name."""
    from tests.audience.test_clusters import tea_on_discount_shop

    lines, tea_buyers = tea_on_discount_shop()
    customers = lines[["customer_id"]].drop_duplicates()
    products = lines[["product_id", "category"]].drop_duplicates().rename(columns={"product_id": "sku"})
    orders = lines[["order_id", "customer_id", "product_id", "amount", "discount", "timestamp"]]
    files = {
        "customers": customers.assign(
            email=customers["customer_id"] + "@example.com", first_name="", locale="en", marketing_consent=True
        ),
        "products": products.assign(
            name="Product " + products["sku"], price=10.0, currency="EUR", description="", url="", in_stock=True
        ),
        "orders": orders.assign(quantity=1, timestamp=orders["timestamp"].dt.floor("s")),
    }
    for kind, frame in files.items():
        frame.to_csv(tmp_path / f"{kind}.csv", index=False)
        assert upload(client, kind, tmp_path / f"{kind}.csv").status_code == 200  # orders: profiles refreshed

    customers = client.get("/customers", params={"limit": 1000}).json()
    labels = {customer["customer_id"]: customer["profile"]["cluster_label"] for customer in customers}
    assert {labels[customer] for customer in tea_buyers} == {"discount-driven, mostly tea buyers"}
    query = "cluster_label == 'discount-driven, mostly tea buyers'"
    found = client.get("/audience", params={"campaign_type": "win_back", "query": query, "limit": 1000}).json()
    assert found["customers"] > 0 and {person["customer_id"] for person in found["sample"]} <= set(tea_buyers)


def test_a_campaign_is_created_only_with_a_query_the_preview_accepts(client, demo_files):
    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    campaign = {"name": "x", "brand": "hearth", "campaign_type": "win_back"}
    for query, mistake in (("foo > 3", "unknown field 'foo'"), ("clv > lots", "'lots' is not a number")):
        preview = client.get("/audience", params={"campaign_type": "win_back", "query": query})
        assert preview.status_code == 422 and mistake in preview.json()["message"]
        # a preview writes nothing either way; its query is a parameter, the campaign's a field of the body
        assert preview.json()["message"].startswith("audience refused: parameter 'query': ")
        created = client.post("/campaigns", json={**campaign, "audience_query": query})
        assert created.status_code == 422, created.text
        assert created.json()["message"].startswith("campaign rejected, nothing was written: field 'audience_query': ")
        assert created.json()["problems"] == [
            {"field": "audience_query", "message": preview.json()["problems"][0]["message"]}
        ]
    assert client.get("/campaigns").json() == []
    accepted = client.post("/campaigns", json={**campaign, "audience_query": "clv > 5 and churn_risk >= 0.5"})
    assert accepted.status_code == 201, accepted.text


def test_a_query_nested_too_deep_or_too_long_is_a_422_naming_it(client):
    """Brackets or "not"s a few hundred deep crashed the preview and the creation of a campaign with a 500
    (RecursionError in the parser)."""
    campaign = {"name": "x", "brand": "hearth", "campaign_type": "win_back"}
    for query, mistake in (
        ("(" * 330 + "clv > 1" + ")" * 330, "nested more than 50 levels deep"),
        ("not " * 3000 + "clv > 1", "at most 10,000"),
    ):
        preview = client.get("/audience", params={"campaign_type": "win_back", "query": query})
        assert preview.status_code == 422 and preview.json()["problems"][0]["field"] == "query.query"
        assert mistake in preview.json()["message"]
        created = client.post("/campaigns", json={**campaign, "audience_query": query})
        assert created.status_code == 422 and created.json()["problems"][0]["field"] == "audience_query"
        assert mistake in created.json()["message"]
    assert client.get("/campaigns").json() == []


def test_segment_figures_count_only_the_orders_before_the_as_of_day():
    """With TAILOR_AUDIENCE_AS_OF set before the latest orders, no_orders showed 707 customers with 468,690 of
    revenue and 1,188 orders, all placed after the day the segments describe."""
    import pandas as pd

    from service.segments import segment_kpis

    customers = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["champions", None]})
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"], "amount": [10.0, 30.0, 99.0],
            "timestamp": pd.to_datetime(["2026-01-05", "2026-03-01", "2026-03-02"]),
        }
    )  # fmt: skip
    rows = {row["segment"]: row for row in segment_kpis(customers, orders, pd.Timestamp("2026-02-01"), 90)}
    assert (rows["champions"]["revenue"], rows["champions"]["orders"]) == (10.0, 1)
    assert (rows["no_orders"]["revenue"], rows["no_orders"]["orders"]) == (0.0, 0)


def test_an_audience_of_many_batches_is_refreshed_by_its_job_on_sqlite(client, engine, demo_files, monkeypatch):
    """Profiles are saved a batch of customers at a time in one transaction, and the job's progress between batches
    waited for that transaction from another connection: any shop of more than 10,000 customers failed, busy."""
    from service.db import batches as batching
    from service.pipeline import training
    from tests.service.conftest import upload

    def slow_batches(values):  # batches of a few customers, each taking longer than the job's progress waits
        for batch in batching.batches(values, size=25):
            time.sleep(0.3)
            yield batch

    monkeypatch.setattr(training, "batches", slow_batches)
    for kind in ("customers", "products", "orders"):  # upload waits for the orders' audience job: it must succeed
        assert upload(client, kind, demo_files[kind]).status_code == 200
    assert client.get("/segments").status_code == 200
    trained = wait_for_job(client, client.post("/train", params={"model": "popularity"}).json()["job_id"])
    assert trained["status"] == "succeeded", trained["error"]  # its audience step, too


def test_a_refresh_cancelled_while_it_writes_keeps_its_last_figures(client, engine, demo_files, monkeypatch):
    """The held figures were written, from another connection, before the refresh's transaction had rolled back:
    the write waited out the busy timeout, failed, and the job's row lost them."""
    from service.db import batches as batching
    from service.pipeline import training

    for kind in ("customers", "products"):
        assert upload(client, kind, demo_files[kind]).status_code == 200

    def slow_batches(values):
        for batch in batching.batches(values, size=10):
            time.sleep(0.3)
            yield batch

    monkeypatch.setattr(training, "batches", slow_batches)
    path = demo_files["orders"]
    imported = client.post("/imports/orders", files={"file": (path.name, path.read_bytes(), "text/csv")})
    job_id = imported.json()["audience_job_id"]
    deadline = time.monotonic() + 60
    while not client.get(f"/jobs/{job_id}").json()["message"].startswith("saving profiles: "):  # into the saving
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert client.post(f"/jobs/{job_id}/cancel").status_code in (200, 202)
    while (job := client.get(f"/jobs/{job_id}").json())["status"] in {"queued", "running", "cancelling"}:
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["status"] == "cancelled", job
    # Why it stopped, and the batch being written from its first customer: "...: saving profiles: 11-20 of 300".
    stopped_at = r"cancelled on request after [\d,]+ of [\d,]+: saving profiles: [1-9][\d,]*-[1-9][\d,]* of [\d,]+.*"
    assert re.fullmatch(stopped_at, job["message"]), job["message"]


def test_a_customer_without_orders_is_in_the_segment_the_segments_count_them_in(client, engine):
    """GET /customers/{id} said "segment": null for a customer GET /segments counted under no_orders, and whom
    GET /customers?segment=no_orders listed; so did their drafts."""
    from sqlalchemy import select

    from service.db.models import Customer, Draft, Variant
    from service.db.session import session_scope

    customers = b"customer_id,email,first_name,locale,marketing_consent\nn1,n1@x.example,N,en,true\n"
    assert client.post("/imports/customers", files={"file": ("c.csv", customers)}).status_code == 200
    assert client.get("/customers/n1").json()["segment"] == "no_orders"
    assert [c["customer_id"] for c in client.get("/customers?segment=no_orders").json()] == ["n1"]
    campaign_id = client.post("/campaigns", json={"name": "W", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer).where(Customer.external_id == "n1"))
        variant = Variant(label="A", subject="Hi", html="<p>A</p>", text="A")
        session.add(Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant]))
    assert client.get(f"/campaigns/{campaign_id}/drafts").json()[0]["segment"] == "no_orders"


def test_a_shop_with_orders_but_no_stored_segments_gets_them_at_the_server_start(engine, api_key, tmp_path):
    """A database from before stored segments (migration 0009) holds orders and no audience snapshot: `GET
    /segments` answered `[]` until the next orders import or training. The start now queues the refresh as a
    job, and a second start with segments stored queues none."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.importing import import_file
    from tests.service.test_importing import CUSTOMERS, ORDERS, PRODUCTS

    for kind, frame in (("customers", CUSTOMERS), ("products", PRODUCTS), ("orders", ORDERS)):
        frame.to_csv(tmp_path / f"{kind}.csv", index=False)
        with session_scope(engine) as session:
            import_file(session, kind, tmp_path / f"{kind}.csv")
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as client:
        [job] = client.get("/jobs", params={"kind": "audience"}).json()
        assert wait_for_job(client, job["id"])["status"] == "succeeded"
        segments = client.get("/segments").json()
        assert sum(segment["customers"] for segment in segments) == 2
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as client:
        assert len(client.get("/jobs", params={"kind": "audience"}).json()) == 1


def test_segments_say_what_each_means_and_how_long_ago_its_customers_last_ordered(client, demo_files):
    """GET /segments named each segment (at_risk, cant_lose) with no word of what it means nor of the days since
    the last order its customers span, and a profile's churn risk and CLV did not say the horizon they cover."""
    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    segments = {row["segment"]: row for row in client.get("/segments").json()}
    assert segments["at_risk"]["label"] == "at risk"
    assert segments["at_risk"]["description"] == "bought several times, but long ago"
    assert segments["cant_lose"]["label"] == "can't lose"
    customers = client.get("/customers", params={"limit": 1000}).json()
    for name, row in segments.items():
        recency = [c["profile"]["recency_days"] for c in customers if c["segment"] == name and name != "no_orders"]
        if recency:
            assert (row["last_order_days_min"], row["last_order_days_max"]) == (min(recency), max(recency))
    assert segments["champions"]["last_order_days_max"] < segments["lost"]["last_order_days_min"]
    profile = next(c["profile"] for c in customers if c["segment"] != "no_orders")
    assert profile["horizon_days"] == 90
    # the preview's reasons count days to the profiles' day, which was nowhere in it (2011 on Online Retail)
    preview = client.get("/audience", params={"campaign_type": "win_back", "limit": 1}).json()
    assert preview["as_of"] == profile["as_of"]
    documented = client.get("/openapi.json").json()["components"]["schemas"]["CustomerOut"]["properties"]["profile"]
    assert "horizon_days" in documented["description"] and "churn_risk" in documented["description"]


def test_a_query_on_a_profile_s_reasons_is_refused_naming_the_field_not_a_500(client, demo_files):
    """The stored profiles hold `reasons`, a sentence for each figure: `reasons > 1` failed with a TypeError, a 500,
    in the preview and in the creation of a campaign alike."""
    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    preview = client.get("/audience", params={"campaign_type": "win_back", "query": "reasons > 1"})
    assert preview.status_code == 422, preview.text
    assert preview.json()["problems"][0]["field"] == "query.query"
    assert "'reasons' holds several values for each customer" in preview.json()["message"]
    campaign = {"name": "x", "brand": "hearth", "campaign_type": "win_back", "audience_query": "reasons > 1"}
    refused = client.post("/campaigns", json=campaign)
    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"][0]["field"] == "audience_query"
    assert client.get("/campaigns").json() == []  # nothing created


def _reference_segment_kpis(customers, orders, as_of, horizon_days):
    """``segment_kpis`` as first written: the frames grouped by their ids and segments, retention validating the
    orders again."""
    import pandas as pd

    from audience.retention import segment_retention
    from service.segments import NO_ORDERS

    customers = customers.assign(segment=customers["segment"].fillna(NO_ORDERS))
    recency = customers.groupby("segment")["recency_days"].agg(["min", "max"])
    orders = orders[orders["timestamp"] < as_of]
    per_order = orders.groupby(["customer_id", "order_id"], as_index=False)["amount"].sum()
    per_customer = per_order.groupby("customer_id").agg(revenue=("amount", "sum"), orders=("order_id", "nunique"))
    table = customers.merge(per_customer, left_on="customer_id", right_index=True, how="left")
    table = table.fillna({"revenue": 0.0, "orders": 0})
    grouped = table.groupby("segment").agg(
        customers=("customer_id", "count"), revenue=("revenue", "sum"), orders=("orders", "sum")
    )
    grouped["orders"] = grouped["orders"].astype(int)
    grouped["average_order_value"] = (grouped["revenue"] / grouped["orders"].where(grouped["orders"] > 0)).round(2)
    grouped["revenue"] = grouped["revenue"].round(2)
    retention = segment_retention(orders, as_of, horizon_days).reindex(grouped.index)
    grouped["retention_rate"] = retention["rate"].astype(float).round(4)
    grouped["retention_base"] = retention["customers"].fillna(0).astype(int)
    grouped["retention_since"] = (as_of - pd.Timedelta(days=horizon_days)).date().isoformat()
    grouped["retention_days"] = horizon_days
    grouped["last_order_days_min"] = recency["min"].reindex(grouped.index).astype("Int64")
    grouped["last_order_days_max"] = recency["max"].reindex(grouped.index).astype("Int64")
    grouped = grouped.sort_values("revenue", ascending=False)
    return [
        {
            "segment": segment,
            **{k: None if pd.isna(v) else v.item() if hasattr(v, "item") else v for k, v in row.items()},
        }
        for segment, row in grouped.to_dict("index").items()
    ]


def test_segment_figures_are_those_of_the_frames_grouped_by_their_ids():
    """segment_kpis counts on arrays of codes: its figures (and their order, and the types stored) are, to the bit,
    those of grouping the frames by customer, order and segment, with customers without orders among them."""
    import pandas as pd

    from audience.profiles import build_profiles
    from service.segments import segment_kpis
    from tests.audience.conftest import AS_OF, simulated_shop

    orders = simulated_shop(n_customers=300, seed=5)
    orders = orders.assign(timestamp=orders["timestamp"].astype("datetime64[us]"))  # as orders_frame reads them
    profiles = build_profiles(orders, AS_OF, horizon_days=90)
    ids = [*reversed(profiles.index), "signed-up-1", "signed-up-2"]
    customers = pd.DataFrame(
        {"customer_id": ids, "segment": profiles["rfm_segment"].reindex(ids).to_numpy(),
         "recency_days": profiles["recency_days"].reindex(ids).to_numpy()}
    )  # fmt: skip
    for horizon_days in (30, 90):
        figures = segment_kpis(customers, orders, AS_OF, horizon_days)
        reference = _reference_segment_kpis(customers, orders, AS_OF, horizon_days)
        assert [list(row.items()) for row in figures] == [list(row.items()) for row in reference]
        assert [{k: type(v) for k, v in row.items()} for row in figures] == [
            {k: type(v) for k, v in row.items()} for row in reference
        ]
        assert len(figures) >= 5 and figures[-1]["segment"] == "no_orders" and figures[0]["revenue"] > 0
