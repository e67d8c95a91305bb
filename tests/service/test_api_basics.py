"""The API's contract without models: API keys, JSON errors, import endpoints, customers and products."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.service.conftest import wait_for_job
from tests.service.test_importing import CUSTOMERS, ORDERS, PRODUCTS


def _upload(client, kind: str, frame) -> dict:
    buffer = io.BytesIO(frame.to_csv(index=False).encode())
    return client.post(f"/imports/{kind}", files={"file": (f"{kind}.csv", buffer, "text/csv")})


def test_health_needs_no_key_and_everything_else_does(client):
    assert client.get("/health", headers={"X-API-Key": ""}).json()["status"] == "ok"
    response = client.get("/customers", headers={"X-API-Key": "tk_wrong"})
    assert response.status_code == 401
    unknown = {"error": "Unauthorized", "message": "This API key is unknown or revoked.", "problems": []}
    assert response.json() == unknown  # the shape of every error
    missing = client.get("/customers", headers={"X-API-Key": ""})
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == 'Bearer realm="tailor"'
    assert "'Authorization: Bearer KEY'" in missing.json()["message"]
    basic = client.get("/customers", headers={"X-API-Key": "", "Authorization": "Basic dGFpbG9y"})
    assert basic.status_code == 401  # it was told that no key had been sent
    assert basic.json()["message"].startswith("The Authorization header must be 'Bearer KEY', not 'Basic …'")


def test_health_is_not_ok_once_the_database_file_is_gone(tmp_path):
    """The SQLite file moved away, /health still said ok: the open connections answered from the file that was
    gone, and new ones made an empty one."""
    from pathlib import Path

    import pytest
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.db.migrate import upgrade
    from service.db.session import make_engine
    from service.errors import DatabaseUnavailable

    path = tmp_path / "tailor.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with TestClient(create_app(engine)) as client:
        assert client.get("/health").status_code == 200
        path.rename(tmp_path / "moved.db")
        gone = client.get("/health")
        assert gone.status_code == 503 and gone.json()["error"] == "DatabaseUnavailable"
        assert "The database file is not there any more" in gone.json()["message"]
        assert str(path) not in gone.text  # /health needs no key: the file's path is in the log only
    with pytest.raises(DatabaseUnavailable, match="SQLite's URI form"):  # it made a folder "file:" where it ran
        make_engine(f"sqlite:///file:{tmp_path / 'uri.db'}?uri=true")
    assert not (Path.cwd() / "file:").exists()
    # a folder: SQLite's "unable to open database file", after a warning to run chmod 600 on the folder
    with pytest.raises(DatabaseUnavailable, match=f"names the folder {tmp_path}, not a file: give the database"):
        make_engine(f"sqlite:///{tmp_path}")
    queried = tmp_path / "queried.db"
    make_engine(f"sqlite:///{queried}?timeout=5").dispose()  # the file, not one named "queried.db?timeout=5"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("queried")] == ["queried.db"]


def test_import_endpoints_and_reads(client):
    assert _upload(client, "customers", CUSTOMERS).json()["inserted"] == 2
    assert _upload(client, "products", PRODUCTS).json()["inserted"] == 2
    orders = _upload(client, "orders", ORDERS).json()
    assert orders["inserted"] == 3 and orders["audience_status_url"] == f"/jobs/{orders['audience_job_id']}"
    refresh = wait_for_job(client, orders["audience_job_id"])
    assert refresh["kind"] == "audience" and refresh["status"] == "succeeded", refresh["error"]
    assert refresh["result"]["customers"] == 2 and refresh["progress"] == 1.0
    anna = client.get("/customers/c1").json()
    assert anna["first_name"] == "Anna" and anna["segment"] is not None
    assert anna["profile"]["frequency"] >= 1
    why = anna["profile"]["reasons"]  # the profile explains itself in words, from its own figures
    n_orders = anna["profile"]["frequency"]
    assert f"{n_orders} order{'s' if n_orders != 1 else ''} (" in why["segment"]
    # nobody in this shop bought on a second day: nothing tells their churn risk, which is not a certain churn
    assert anna["profile"]["churn_risk"] is None and "churn_risk" not in why
    assert [p["sku"] for p in client.get("/products", params={"in_stock": True}).json()] == ["T1"]
    assert client.get("/products/NOPE").status_code == 404


def test_an_audience_refresh_still_waiting_in_the_queue_is_not_queued_again(engine):
    """Every orders upload used to recompute the whole audience inside its HTTP request (77 s at 100k
    customers); it is a job now, and uploads arriving while one waits share it."""
    import threading

    from service.jobs import ThreadJobRunner
    from service.pipeline.training import submit_audience_refresh

    runner, release = ThreadJobRunner(engine), threading.Event()
    try:
        runner.submit("train", lambda progress: {"waited": release.wait(30)})  # holds the only worker
        first = submit_audience_refresh(runner, engine)
        assert submit_audience_refresh(runner, engine) == first
        release.set()
        runner.wait(first, timeout=60)
        assert submit_audience_refresh(runner, engine) != first  # it ran: new orders need a new one
    finally:
        release.set()
        runner.shutdown()


def test_bad_upload_is_rejected_with_row_and_column(client):
    bad = CUSTOMERS.copy()
    bad.loc[1, "email"] = "nope"
    response = _upload(client, "customers", bad)
    assert response.status_code == 422
    body = response.json()
    assert body["problems"] == [
        {"file": "customers.csv", "row": 3, "column": "email", "message": "is not an email address"}
    ]
    assert client.get("/customers").json() == []


def test_request_validation_errors_name_the_field(client):
    response = client.post("/campaigns", json={"name": "x", "brand": "hearth", "campaign_type": "spam"})
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "campaign_type"


def test_events_for_unknown_sends_are_rejected_whole(client):
    response = client.post("/events", json={"events": [{"send_id": 999, "kind": "open"}]})
    assert response.status_code == 422 and "unknown send_id 999" in response.json()["message"]


def test_jobs_report_unknown_ids(client):
    """Named in the answer: a 404 alone is also what a path no route serves gives."""
    unknown = client.get("/jobs/nope")
    assert (unknown.status_code, unknown.json()["message"]) == (404, "Job nope does not exist.")


def test_train_refuses_an_unknown_model_before_starting_a_job(client, engine):
    from sqlalchemy import func, select

    from service.db.models import Job
    from service.db.session import session_scope

    response = client.post("/train", params={"model": "nope"})
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert problem["field"] == "query.model"
    assert "No recommender called 'nope'" in problem["message"] and "als, auto, blend" in problem["message"]
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_train_refuses_a_search_for_a_model_without_one_before_starting_a_job(client, engine):
    from sqlalchemy import func, select

    from service.db.models import Job
    from service.db.session import session_scope

    response = client.post("/train", params={"model": "popularity", "tune": 3})
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert problem["field"] == "query.tune"
    assert "popularity recommender has no hyperparameter search" in problem["message"] and "ease" in problem["message"]
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_change_is_committed_before_its_response_is_sent(client, engine, api_key):
    """A client that acts on a response (the review page follows its redirect at once) must read the change it
    was told about: when the response starts, another connection already sees the new campaign."""
    import asyncio
    import json

    from sqlalchemy import func, select

    from service.db.models import Campaign
    from service.db.session import session_scope

    body = json.dumps({"name": "x", "brand": "hearth", "campaign_type": "vip"}).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/campaigns", "raw_path": b"/campaigns", "root_path": "", "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"x-api-key", api_key.encode()),
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    campaigns_seen = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 201
            with session_scope(engine) as session:
                campaigns_seen.append(session.scalar(select(func.count()).select_from(Campaign)))

    asyncio.run(client.app(scope, receive, send))
    assert campaigns_seen == [1]


def test_customers_of_one_segment_and_a_name_that_is_none(client):
    c3 = {"customer_id": "c3", "email": "eva@example.com", "first_name": "Eva", "locale": "en"}
    customers = pd.concat([CUSTOMERS, pd.DataFrame([{**CUSTOMERS.iloc[0].to_dict(), **c3}])], ignore_index=True)
    assert _upload(client, "customers", customers).json()["inserted"] == 3
    _upload(client, "products", PRODUCTS)
    refresh = wait_for_job(client, _upload(client, "orders", ORDERS).json()["audience_job_id"])
    assert refresh["status"] == "succeeded", refresh["error"]
    anna = client.get("/customers/c1").json()
    assert anna["attributes"] == {"tier": "gold"}  # the file's own column, stored but shown nowhere before
    of_anna_s = client.get("/customers", params={"segment": anna["segment"]}).json()
    assert "c1" in [customer["customer_id"] for customer in of_anna_s]
    assert {customer["segment"] for customer in of_anna_s} == {anna["segment"]}
    # GET /segments calls the customers without an order no_orders, and so does the filter
    assert [
        customer["customer_id"] for customer in client.get("/customers", params={"segment": "no_orders"}).json()
    ] == ["c3"]
    # spelt as the audience query takes it, in any case (it was refused here while GET /audience took it)
    spelt = client.get("/customers", params={"segment": anna["segment"].replace("_", " ").title()}).json()
    assert spelt == of_anna_s
    mistyped = client.get("/customers", params={"segment": "at-rsk"})  # used to answer [] as if nobody were at risk
    assert mistyped.status_code == 422
    assert mistyped.json()["message"].startswith("customers refused: parameter 'segment': 'at-rsk' is not a segment")
    assert "at_risk" in mistyped.json()["message"] and "no_orders" in mistyped.json()["message"]


def test_segments_count_the_customers_the_filter_lists(client):
    """GET /segments said no_orders: 133 where GET /customers?segment=no_orders listed 60,135: the customers imported
    since the audience refresh were counted nowhere."""
    _upload(client, "customers", CUSTOMERS)
    _upload(client, "products", PRODUCTS)
    refresh = wait_for_job(client, _upload(client, "orders", ORDERS).json()["audience_job_id"])
    assert refresh["status"] == "succeeded", refresh["error"]
    # An erased buyer's refresh deletes the snapshots that counted them and queues a new one: waited for, so that
    # the customers imported after it are the ones no refresh has seen.
    assert client.delete("/customers/c1").status_code == 204
    (after_erasure,) = client.get("/jobs", params={"kind": "audience", "limit": 1}).json()
    assert after_erasure["id"] != refresh["id"] and wait_for_job(client, after_erasure["id"])["status"] == "succeeded"
    later = CUSTOMERS.assign(customer_id=["c8", "c9"], email=["h@example.com", "i@example.com"])
    assert _upload(client, "customers", later).json()["inserted"] == 2  # no orders: no refresh

    segments = client.get("/segments").json()
    for row in segments:
        listed = client.get("/customers", params={"segment": row["segment"]}).json()
        assert row["customers"] == len(listed), row
    no_orders = next(row for row in segments if row["segment"] == "no_orders")
    assert no_orders["customers"] == 2 and no_orders["revenue"] == 0 and no_orders["orders"] == 0
    assert sum(row["customers"] for row in segments) == len(client.get("/customers").json()) == 3


def test_a_body_of_the_wrong_shape_is_named_as_the_body(client):
    refused = client.post("/events", json=[{"send_id": 1, "kind": "open"}])  # a list, not {"events": [...]}
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["field"] == "body"
    assert refused.json()["message"].startswith("body: Input should be a valid dictionary")
    nested = client.post("/events", json={"events": [{"send_id": ["nope"], "kind": "open"}]}).json()
    assert nested["problems"][0]["field"] == "events[0].send_id"  # as the service's own checks name it


def test_a_customer_s_profile_is_shown_in_cents_and_six_decimal_probabilities():
    from service.customers import customer_out
    from service.db.models import Customer

    stored = {
        "monetary": 558.1719999999999, "clv": 0.3779077717425726, "churn_risk": 0.9951170811251996,
        "cycle_days": 29.428571428571427, "frequency": 3, "rfm_segment": "loyal", "next_purchase_date": None,
    }  # fmt: skip
    customer = Customer(external_id="c9", email="c9@example.com", first_name="Cy", locale="en",
                        marketing_consent=True, unsubscribed=False, segment="loyal", profile=dict(stored))  # fmt: skip
    shown = customer_out(customer).profile
    assert shown == {"monetary": 558.17, "clv": 0.38, "churn_risk": 0.995117, "cycle_days": 29.4, "frequency": 3,
                     "rfm_segment": "loyal", "next_purchase_date": None}  # fmt: skip
    assert customer.profile == stored  # what audience queries compare keeps full precision


def test_the_openapi_document_states_the_key_and_the_error_body_the_api_answers(client, api_key):
    """The document declared no way to send the key (no Authorize button, generated clients sent none), gave
    every 422 FastAPI's own `{"detail": [...]}` body, which the API never answers, and listed no 401/404/409."""
    from service.schemas import ErrorOut

    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert {name: {k: v for k, v in scheme.items() if k != "description"} for name, scheme in schemes.items()} == {
        "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "HTTPBearer": {"type": "http", "scheme": "bearer"},
    }
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    operations = [(path, op) for path, ops in document["paths"].items() for op in ops.values()]
    opened_from_email = ("/unsubscribe", "/track/")  # the links of sent email need no key
    keyed = [(path, op) for path, op in operations if path != "/health" and not path.startswith(opened_from_email)]
    assert len(keyed) >= 20
    for path, op in keyed:
        assert op["security"] == [{"APIKeyHeader": []}, {"HTTPBearer": []}], path
        refusable = ("422",) if "parameters" in op or "requestBody" in op else ()  # /segments takes nothing to refuse
        # a kind of import is one of a closed list (422 for another), and forgetting its date order is done twice alike
        found = "{" in path and path not in ("/imports/{kind}", "/imports/date-orders/{kind}")
        for code in ("401", "503", *refusable) + (("404",) if found else ()):
            assert op["responses"][code]["content"]["application/json"]["schema"] == error_ref, (path, code)
    assert document["paths"]["/drafts/{draft_id}/approve"]["post"]["responses"]["409"]["description"]
    started = document["paths"]["/campaigns/{campaign_id}/generate"]["post"]["responses"]["202"]
    assert started["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/JobStarted"}

    # what the API answers fits the document: a request's problems by field, a file's by row and column
    bearer = client.get("/customers", headers={"X-API-Key": "", "Authorization": f"Bearer {api_key}"})
    assert bearer.status_code == 200
    answers = {
        401: client.get("/customers", headers={"X-API-Key": "tk_wrong"}),
        404: client.get("/drafts/999"),
        422: client.get("/customers/c1/recommendations", params={"price_band_low": 2}),
    }
    for status, answer in answers.items():
        assert answer.status_code == status and ErrorOut.model_validate(answer.json()).message
    assert answers[422].json()["problems"] == [
        {"field": "query.price_band_high", "message": "give both price band bounds or neither"}
    ]
    assert answers[422].json()["message"] == (  # a read: it said "query rejected, nothing was written"
        "recommendations refused: parameter 'price_band_high': give both price band bounds or neither"
    )
    bad = CUSTOMERS.copy()
    bad.loc[1, "email"] = "nope"
    assert ErrorOut.model_validate(_upload(client, "customers", bad).json()).problems[0].row == 3


def test_no_such_endpoint_and_text_that_is_not_json_get_the_api_s_error_body(client):
    """Both answered FastAPI's own {"detail": "Not Found"}, or named the body's field "1" as "JSON decode error"."""
    assert client.get("/campaign").json() == {
        "error": "NotFound", "message": "There is no /campaign; the API's endpoints are listed at /docs.",
        "problems": [],
    }  # fmt: skip
    wrong_method = client.delete("/campaigns")
    assert wrong_method.status_code == 405 and wrong_method.json()["message"] == "/campaigns does not take DELETE."
    broken = client.post("/campaigns", content='{"name": "x",}', headers={"Content-Type": "application/json"})
    assert broken.status_code == 422 and broken.json()["problems"] == [
        {
            "field": "body",
            "message": "is not valid JSON: Expecting property name enclosed in double quotes (at character 13)",
        }
    ]
    page = client.get("/review/campaign/1")
    assert page.status_code == 404 and "There is no page at /review/campaign/1." in page.text
    assert 'href="/review"' in page.text  # a way back, as every error page has


def test_the_document_types_every_answer_and_every_error_has_the_same_keys(client, api_key):
    """An integrator generating a client found /audience, /segments and /health untyped, a campaign's status and
    type plain strings, 413 undocumented for uploads and events, `problems` missing from every error but a 422, and
    the campaign-wide approval refusing a request without a body that one draft's approval takes."""
    document = client.get("/openapi.json").json()
    paths, schemas = document["paths"], document["components"]["schemas"]

    def answer(path: str, method: str = "get") -> dict:
        return paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"]

    assert answer("/audience") == {"$ref": "#/components/schemas/AudienceOut"}
    assert answer("/segments")["items"] == {"$ref": "#/components/schemas/SegmentOut"}
    assert answer("/health") == {"$ref": "#/components/schemas/HealthOut"}
    campaign = schemas["CampaignOut"]["properties"]
    assert campaign["status"]["enum"] == ["created", "generating", "ready", "failed", "sent"]
    assert "win_back" in campaign["campaign_type"]["enum"]
    for path in ("/imports/{kind}", "/events"):
        assert "413" in paths[path]["post"]["responses"], path

    for wrong in (client.get("/campaign"), client.delete("/campaigns"), client.get("/drafts/999"),
                  client.get("/customers", headers={"X-API-Key": "tk_wrong"})):  # fmt: skip
        assert set(wrong.json()) == {"error", "message", "problems"} and wrong.json()["problems"] == []
    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    approved = client.post(f"/campaigns/{campaign_id}/drafts/approve")  # no body, as for one draft
    assert approved.status_code == 200 and approved.json()["approved"] == 0
    assert client.get("/health").json()["status"] == "ok" and client.get("/segments").status_code == 200


def test_a_query_parameter_is_named_alike_whichever_check_refused_it(client, engine):
    """`?at=garbage` came back as `query.at` and `?at=2020-01-01T00:00Z` as `at`; `?limit=0` as `query.limit` and
    `?segment=bogus` as `segment`: a client mapping problems to its parameters had to know both spellings."""
    from service.campaigns import ensure_brand
    from service.db.models import Campaign
    from service.db.session import session_scope

    with session_scope(engine) as session:
        campaign = Campaign(name="x", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    fields = []
    for method, path, params in (
        ("get", "/customers", {"limit": 0}),
        ("get", "/customers", {"segment": "bogus"}),
        ("post", f"/campaigns/{campaign_id}/send", {"at": "garbage"}),
        ("post", f"/campaigns/{campaign_id}/send", {"at": "2020-01-01T00:00Z"}),
    ):
        refused = getattr(client, method)(path, params=params)
        assert refused.status_code == 422, refused.text
        fields.append(refused.json()["problems"][0]["field"])
    assert fields == ["query.limit", "query.segment", "query.at", "query.at"]


def test_a_fault_of_the_server_is_a_500_in_the_api_s_body_and_its_log_names_the_request(client, caplog):
    """A model pointer that is a folder made /health and the recommendations a plain-text "Internal Server Error",
    and the log line named neither the method nor the path."""
    import logging

    from fastapi.testclient import TestClient

    models = client.app.state.tailor.models.models_dir
    pointer = models / "recommender" / "CURRENT"
    pointer.parent.mkdir(parents=True, exist_ok=True)
    kept = pointer.read_text() if pointer.is_file() else None
    pointer.unlink(missing_ok=True)
    pointer.mkdir()
    try:
        with caplog.at_level(logging.ERROR, logger="tailor.api"):
            answer = TestClient(client.app, raise_server_exceptions=False).get(
                "/health", headers={"X-Request-ID": "t-9"}
            )
        assert answer.status_code == 500 and answer.json()["error"] == "InternalError"
        assert "IsADirectoryError" in answer.json()["message"]
        # The id to look the fault up by in the log, in the answer's words and header.
        assert "request id t-9" in answer.json()["message"] and answer.headers["X-Request-ID"] == "t-9"
        (line,) = [r for r in caplog.records if r.getMessage() == "request failed"]
        assert (line.method, line.path, line.error) == ("GET", "/health", "IsADirectoryError") and line.exc_info
    finally:
        pointer.rmdir()
        if kept is not None:
            pointer.write_text(kept)


def test_the_review_page_s_answer_to_a_fault_keeps_its_headers(tmp_path):
    """The fault's page is answered outside the middleware that gives review pages no-store and no framing: it was
    the one review page a browser could cache and another site frame."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.auth import create_key
    from service.db.migrate import upgrade
    from service.db.session import make_engine, session_scope

    engine = make_engine(f"sqlite:///{tmp_path / 'tailor.db'}")
    upgrade(engine)
    with session_scope(engine) as session:
        key = create_key(session, "tests")
    app = create_app(engine)

    def faulty_page() -> None:  # a review page with a fault in it
        raise RuntimeError("a fault")

    app.add_api_route("/review/faulty", faulty_page)
    with TestClient(app, raise_server_exceptions=False) as browser:
        assert browser.post("/review/login", data={"api_key": key, "reviewer": "Ann"}).status_code == 200
        page = browser.get("/review/faulty")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_no_cache_in_front_keeps_what_the_api_answers_a_key(client):
    """The API's answers named no Cache-Control: a shared cache in front, which takes Authorization for a credential
    but not X-API-Key, could keep a customer's record and give it, by its address alone, to a caller with no key."""
    assert _upload(client, "customers", CUSTOMERS).status_code == 200
    customer_id = CUSTOMERS["customer_id"].iloc[0]
    for path in (f"/customers/{customer_id}", "/customers", "/jobs", "/health", "/customers/nobody"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    assert client.get("/customers", headers={"X-API-Key": ""}).headers["Cache-Control"] == "no-store"  # a 401 too
    assert client.get("/review/login").headers["Cache-Control"] == "no-store"  # the review page's, as before
    stylesheet = client.get("/static/review.css")
    assert stylesheet.status_code == 200 and "no-store" not in stylesheet.headers.get("Cache-Control", "")


def test_a_monitor_may_ask_health_with_head(live_server):
    """An uptime monitor's default check (HEAD, as UptimeRobot's) was answered 405, "Allow: GET": the service read
    as down. HEAD answers what GET does, without the body, and a 405 at /health names both."""
    import httpx

    head = httpx.head(f"{live_server}/health")
    assert head.status_code == 200 and head.content == b"", head.text
    assert head.headers["content-type"] == "application/json"
    assert httpx.post(f"{live_server}/health").headers["allow"] == "GET, HEAD"


def test_products_of_a_category_are_listed_whatever_its_case_on_either_database(any_engine):
    """GET /products?category=pantry answered [] for the catalog's "Pantry", though the recommendations'
    `reorderable_categories` take a category in any case."""
    from service.customers import list_products
    from service.db.models import Product
    from service.db.session import session_scope

    with session_scope(any_engine) as session:
        session.add_all([
            Product(sku="P1", name="Jam", category="Pantry", price=3.0, in_stock=True),
            Product(sku="P2", name="Mug", category="Kitchen", price=9.0, in_stock=True),
        ])  # fmt: skip
    with session_scope(any_engine) as session:
        for asked in ("pantry", "PANTRY", "Pantry"):
            assert [p.sku for p in list_products(session, asked, None, 100, 0)] == ["P1"], asked
        assert list_products(session, "pant", None, 100, 0) == []


def test_every_setting_a_job_or_request_reads_is_told_at_start_by_name(engine, monkeypatch):
    """The server started with these, and each training, send or unsubscribe link met them later: TAILOR_MODELS_KEPT=0
    failed a training once it was all done, an unknown recommender failed every (scheduled) training without naming
    the variable, and an empty unsubscribe secret signed links anyone could make."""
    import pytest
    from pydantic import ValidationError

    from service.app import create_app
    from service.settings import environment_problem

    cases = {
        "TAILOR_MODELS_KEPT": ("0", "greater than or equal to 1"),
        "TAILOR_CAMPAIGN_RECOMMENDER": ("nope", "is no recommender: choose one of als, auto, blend"),
        "TAILOR_UNSUBSCRIBE_SECRET": ("", "is empty: give a long random secret"),
        "TAILOR_SMTP_TIMEOUT_SECONDS": ("-1", "greater than 0"),
        "TAILOR_EXPERIMENT_ALLOCATION_OUTCOME": ("revenue", "'open', 'click' or 'conversion'"),
        "TAILOR_AUDIENCE_AS_OF": ("yesterday", "valid date"),
        "TAILOR_SCORING_OUTCOME_DAYS": ("-1", "greater than or equal to 0"),
        "TAILOR_IMPORT_DEFAULT_LOCALE": ("english", "language code"),
        # a schedule's thread died of it at start (OverflowError), and the due-check was never made again
        "TAILOR_SEND_DUE_CHECK_MINUTES": ("inf", "finite number"),
        "TAILOR_JOBS_SWEEP_SECONDS": ("inf", "finite number"),
        "TAILOR_RETRAIN_EVERY_HOURS": ("inf", "finite number"),
        "TAILOR_SMTP_PORT": ("70000", "less than or equal to 65535"),
        "TAILOR_WEBHOOK_TIMEOUT_SECONDS": ("inf", "finite number"),
    }
    for name, (value, said) in cases.items():
        monkeypatch.setenv(name, value)
        with pytest.raises(ValidationError) as refused:
            create_app(engine)
        problem = environment_problem(refused.value)
        assert problem is not None and problem.startswith(f"the environment is not valid: {name}="), problem
        assert said in problem, problem
        monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("name", "most"),
    [
        ("TAILOR_SCORING_OUTCOME_DAYS", "36500"),
        ("TAILOR_SEND_MIN_DAYS_BETWEEN", "36500"),
        ("TAILOR_EXPERIMENT_CONVERSION_WINDOW_DAYS", "36500"),
        ("TAILOR_SEND_LATE_LIMIT_HOURS", "876000"),
    ],
)
def test_a_span_reaching_before_the_calendar_is_refused_at_start(engine, monkeypatch, name, most):
    """TAILOR_SCORING_OUTCOME_DAYS=1000000 passed the settings, and every training then failed in an OverflowError
    traceback ("date value out of range"), as the contact policy's wait and the conversion window did in a send."""
    from pydantic import ValidationError

    from service.app import create_app
    from service.settings import environment_problem

    monkeypatch.setenv(name, "100000000")
    with pytest.raises(ValidationError) as refused:
        create_app(engine)
    assert environment_problem(refused.value) == (
        f"the environment is not valid: {name}='100000000': Input should be less than or equal to {most}"
    )
    monkeypatch.setenv(name, most)  # a century back is still a date
    create_app(engine)


def test_a_stopped_server_leaves_no_write_ahead_log_beside_the_database(tmp_path):
    """A stopped server left tailor.db-wal beside the file: a backup restored by copying it over tailor.db then had
    that log's writes, made after the backup, replayed onto it."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.auth import create_key
    from service.db.migrate import upgrade
    from service.db.session import make_engine, session_scope

    engine = make_engine(f"sqlite:///{tmp_path / 'tailor.db'}")
    upgrade(engine)
    with session_scope(engine) as session:
        key = create_key(session, "tests")
    with TestClient(create_app(engine)) as browser:
        assert browser.post("/review/login", data={"api_key": key, "reviewer": "Ann"}).status_code == 200  # a write
        assert (tmp_path / "tailor.db-wal").exists()
    assert not (tmp_path / "tailor.db-wal").exists()


def test_a_brands_folder_or_copy_model_that_is_not_there_is_told_at_start(engine, tmp_path, monkeypatch):
    """The server started with either: every campaign then failed on the brands folder, and every training (the
    scheduled retrain's too) on the copy model."""
    import pytest

    from generation.errors import BrandKitInvalid
    from service.app import create_app
    from service.errors import NotReady

    monkeypatch.setenv("TAILOR_BRANDS_DIR", str(tmp_path / "no-brands"))
    with pytest.raises(BrandKitInvalid, match="TAILOR_BRANDS_DIR names no folder"):
        create_app(engine)
    monkeypatch.delenv("TAILOR_BRANDS_DIR")
    monkeypatch.setenv("TAILOR_SCORING_COPY_MODEL", str(tmp_path / "no-model.pkl"))
    with pytest.raises(NotReady, match="^TAILOR_SCORING_COPY_MODEL: "):
        create_app(engine)


def test_a_home_that_cannot_be_written_is_told_at_start(engine, monkeypatch):
    """With the database elsewhere (PostgreSQL), a TAILOR_HOME on a volume not mounted let the server start, and each
    training failed once it was all done, saving its models: "FileNotFoundError: [Errno 2] ... '/srv/tailor'"."""
    import pytest

    from service.app import create_app
    from service.errors import StorageUnavailable
    from service.settings import home_settings

    monkeypatch.setenv("TAILOR_HOME", "/proc/tailor-shop")  # a folder no one, root included, can make
    home_settings.cache_clear()
    try:
        with pytest.raises(StorageUnavailable, match=r"^TAILOR_HOME \(/proc/tailor-shop\) cannot be written: "):
            create_app(engine)
    finally:
        home_settings.cache_clear()


def test_a_misspelt_setting_is_warned_of_at_start(engine, monkeypatch, caplog):
    """TAILOR_HISTORY_KEEP_DAY=30 (the S left out) was ignored in silence: the server kept the history for ever."""
    import logging

    from service.app import create_app

    monkeypatch.setenv("TAILOR_HISTORY_KEEP_DAY", "30")
    monkeypatch.setenv("TAILOR_BRANDS_DIR", str(engine.url.database).rsplit("/", 1)[0])  # read by name: no warning
    with caplog.at_level(logging.WARNING, logger="tailor.api"):
        create_app(engine)
    [warned] = [record for record in caplog.records if record.getMessage().startswith("variables no setting reads")]
    assert warned.variables == ["TAILOR_HISTORY_KEEP_DAY"]


def test_health_is_not_ok_once_the_database_is_moved_back_under_the_server(client, engine):
    """`tailor db downgrade` (or a restore) while the server ran: every request answered 503 on the tables as they had
    become, and /health still said ok to the uptime monitor."""
    from sqlalchemy import text

    from service.db.migrate import downgrade, head_revision

    assert client.get("/health").status_code == 200
    before = f"{int(head_revision()) - 1:04d}"  # the revision before the latest
    downgrade(engine, before)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == before
    moved = client.get("/health")
    assert moved.status_code == 503 and moved.json()["error"] == "DatabaseUnavailable"
    said = f"The database is at revision {before}, not {head_revision()}, which this server serves"
    assert moved.json()["message"].startswith(said)


def test_health_says_a_newer_release_migrated_the_database_under_the_server(client, engine):
    """A newer `tailor` command (an upgrade begun from the command line) migrated the database under a running
    server: /health said it was "moved back (tailor db downgrade) or restored" and that restarting the server would
    migrate it, where its release cannot: the server is the one to upgrade."""
    from sqlalchemy import text

    from service.db.migrate import head_revision

    newer = f"{int(head_revision()) + 1:04d}"
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :newer"), {"newer": newer})
    moved = client.get("/health")
    assert moved.status_code == 503 and moved.json()["message"] == (
        f"The database is at revision {newer}, which this server's release does not know: a newer release of Tailor "
        "migrated it. Upgrade this server to that release and restart it."
    )


def test_a_json_body_sent_without_the_json_content_type_is_told_to_name_it(client):
    """A browser's fetch of a string sends text/plain, curl's -d a form's type, Python's requests with data= none:
    FastAPI then reads no JSON, and the refusal says which header the body needs, not that it is no object."""
    body = '{"events": [{"send_id": 1, "kind": "open"}]}'
    for sent_as, said in [
        ({"content-type": "text/plain;charset=UTF-8"}, "it came as text/plain;charset=UTF-8"),
        ({"content-type": "application/x-www-form-urlencoded"}, "it came as application/x-www-form-urlencoded"),
        ({}, "it came without one"),
    ]:
        refused = client.post("/events", content=body, headers=sent_as)
        assert refused.status_code == 422
        problem = refused.json()["problems"][0]
        assert problem["field"] == "body"
        assert problem["message"] == f"is read as JSON with the header Content-Type: application/json ({said})"


def test_an_upload_of_two_files_under_one_name_is_refused_not_read_as_its_last(client):
    """Two `file` parts (a tool that sends a big export in two parts, or a form posting both files): the import read
    the last and left out the first without a word."""
    first, second = CUSTOMERS.iloc[:1], CUSTOMERS.iloc[1:]
    parts = [
        ("file", ("part1.csv", first.to_csv(index=False).encode(), "text/csv")),
        ("file", ("part2.csv", second.to_csv(index=False).encode(), "text/csv")),
    ]

    refused = client.post("/imports/customers", files=parts)

    assert refused.status_code == 422
    assert refused.json()["problems"] == [
        {"field": "file", "message": "is given 2 times ('part1.csv', 'part2.csv'): upload one file a request"}
    ]
    assert client.get("/customers").json() == []  # nothing of either was written
    assert _upload(client, "customers", CUSTOMERS).json()["inserted"] == len(CUSTOMERS)  # one file, as ever
    keyless = client.post("/imports/customers", files=parts, headers={"X-API-Key": ""})
    assert keyless.status_code == 401


def test_the_unsubscribed_customers_are_listed_apart_for_the_shop_to_honour(client):
    """Unsubscribes come to Tailor by its emails' links and the email service's events; the shop's own systems
    must stop mailing them too, and GET /customers could hand them over only among every customer."""
    assert _upload(client, "customers", CUSTOMERS.assign(unsubscribed=["false", "true"])).status_code == 200

    unsubscribed = client.get("/customers", params={"unsubscribed": "true"}).json()
    still_subscribed = client.get("/customers", params={"unsubscribed": "false"}).json()

    assert [(c["customer_id"], c["unsubscribed"]) for c in unsubscribed] == [("c2", True)]
    assert unsubscribed[0]["unsubscribed_at"] is not None
    assert [c["customer_id"] for c in still_subscribed] == ["c1"]
    assert len(client.get("/customers").json()) == 2  # without it, everyone, as ever


def test_a_campaign_name_of_two_lines_is_refused_as_a_subject_is(client):
    """A name holding a line break (pasted from a spreadsheet) was kept, and split `tailor campaigns list`'s row."""
    from service.errors import InvalidInput
    from service.pipeline.campaign_runs import _campaign_spec
    from service.schemas import NOT_ONE_LINE

    body = {"name": "Winter\nsale", "brand": "hearth", "campaign_type": "vip"}
    refused = client.post("/campaigns", json=body)

    assert refused.status_code == 422
    assert refused.json()["problems"] == [{"field": "name", "message": NOT_ONE_LINE}]
    assert client.get("/campaigns").json() == []
    assert client.post("/campaigns", json={**body, "name": " Winter sale\n"}).json()["name"] == "Winter sale"
    with pytest.raises(InvalidInput) as told:  # `tailor generate --name`, in the same words
        _campaign_spec(**body)
    assert told.value.problems[0].message == NOT_ONE_LINE and told.value.problems[0].column == "--name"
