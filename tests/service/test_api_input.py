"""Values a request may not carry: ids that are not numbers, numbers past what the database holds. Each is
refused with the API's error body naming the field, before anything is read or written."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.db.models import Campaign, Customer, Draft, Event, Send, Variant
from service.db.session import session_scope
from service.deps import SessionDep

TOO_BIG = 99999999999999999999  # past 2**63: SQLite's driver cannot convert it


def _sent_email(client, engine) -> dict[str, int]:
    """A campaign with one draft of two variants, and an email sent to another customer: the rows a stray id
    would reach (each is the first of its table, id 1)."""
    campaign_id = client.post("/campaigns", json={"name": "x", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        other = Customer(external_id="c0", email="c0@example.com", marketing_consent=True)
        send = Send(customer=other, subject="Hi", campaign_type="vip", sent_at=datetime.now() - timedelta(hours=1))
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        variants = [Variant(label="A", subject="Hello"), Variant(label="B", subject="Hi there")]
        draft = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=variants)
        session.add_all([send, draft])
        session.flush()
        draft.selected_variant_id = variants[1].id
        return {"campaign": campaign_id, "draft": draft.id, "send": send.id, "variant": variants[0].id}


def _refused(response, field: str) -> dict:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] in ("InvalidRequest", "InvalidInput") and field in [p["field"] for p in body["problems"]], body
    return body


def test_an_id_in_a_body_is_a_number_not_true(client, engine):
    """`true` was read as id 1: an open recorded on another customer's email, a variant approved that nobody
    chose."""
    ids = _sent_email(client, engine)
    assert ids["send"] == 1 and ids["variant"] == 1

    _refused(client.post("/events", json={"events": [{"send_id": True, "kind": "open"}]}), "events[0].send_id")
    _refused(client.post(f"/drafts/{ids['draft']}/approve", json={"variant_id": True}), "variant_id")
    campaign = {"name": "y", "brand": "hearth", "campaign_type": "vip", "max_customers": True}
    _refused(client.post("/campaigns", json=campaign), "max_customers")

    with session_scope(engine) as session:
        assert session.scalars(select(Event)).all() == []
        assert session.get(Draft, ids["draft"]).status == "pending"
    assert client.post("/events", json={"events": [{"send_id": ids["send"], "kind": "open"}]}).status_code == 200


def test_numbers_in_a_body_past_the_database_s_range_are_refused_naming_them(client, engine):
    ids = _sent_email(client, engine)
    _refused(client.post("/events", json={"events": [{"send_id": TOO_BIG, "kind": "open"}]}), "events[0].send_id")
    _refused(client.post(f"/drafts/{ids['draft']}/approve", json={"variant_id": TOO_BIG}), "variant_id")
    campaign = {"name": "y", "brand": "hearth", "campaign_type": "vip", "max_customers": TOO_BIG}
    _refused(client.post("/campaigns", json=campaign), "max_customers")


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("get", f"/campaigns/{TOO_BIG}", "path.campaign_id"),
        ("get", f"/drafts/{TOO_BIG}", "path.draft_id"),
        ("get", f"/campaigns/{TOO_BIG}/drafts", "path.campaign_id"),
        ("get", f"/campaigns/{TOO_BIG}/export", "path.campaign_id"),
        ("post", f"/drafts/{TOO_BIG}/reject", "path.draft_id"),
        ("get", f"/campaigns?offset={TOO_BIG}", "query.offset"),
        ("get", f"/customers?offset={TOO_BIG}", "query.offset"),
        ("get", f"/products?offset={TOO_BIG}", "query.offset"),
        ("get", f"/jobs?offset={TOO_BIG}", "query.offset"),
        ("get", f"/campaigns/1/drafts?offset={TOO_BIG}", "query.offset"),
        ("get", f"/customers/c1/sends?offset={TOO_BIG}", "query.offset"),
        ("post", f"/campaigns/1/send?batch_size={TOO_BIG}", "query.batch_size"),
        ("get", f"/review?page={TOO_BIG}", "query.page"),
    ],
)
def test_ids_offsets_and_counts_past_the_database_s_range_are_refused_naming_them(client, engine, method, url, field):
    """Each crashed with a plain-text 500 (the SQLite driver's OverflowError), or, for `batch_size`, was answered
    202 with a job that then failed."""
    _sent_email(client, engine)
    response = client.request(method, url, **({"json": {}} if method == "post" else {}))
    if url.startswith("/review"):  # the review page tells a person, on a page
        assert response.status_code == 422
        assert f"The address&#39;s page is “{TOO_BIG}”: it should be a number of at most" in response.text
        return
    _refused(response, field)


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("get", f"/drafts/{2**31}", None, "path.draft_id"),
        ("get", f"/campaigns/{2**31}", None, "path.campaign_id"),
        ("post", "/events", {"events": [{"kind": "open", "send_id": 2**31}]}, "events[0].send_id"),
        ("post", "/drafts/1/approve", {"expected_revision": 2**31}, "expected_revision"),
    ],
)
def test_an_id_past_the_id_columns_is_refused_naming_it_on_every_database(client, engine, method, url, body, field):
    """The id columns are 4-byte integers on PostgreSQL: id 2147483648 was a 422 there naming no field (and saying
    integers went up to 9223372036854775807), and a 404 on SQLite."""
    _sent_email(client, engine)
    _refused(client.request(method, url, **({"json": body} if body is not None else {})), field)


def test_a_number_no_bound_caught_is_still_answered_with_the_api_s_error_body(client):
    """The bounds are the fix; this is the net under them: the driver's OverflowError was a plain-text 500."""

    def unbounded(campaign_id: int, session: SessionDep) -> None:
        session.get(Campaign, campaign_id)

    client.app.add_api_route("/unbounded/{campaign_id}", unbounded)
    response = client.get(f"/unbounded/{TOO_BIG}")
    assert response.status_code == 422 and response.json()["error"] == "NumberOutOfRange"
    assert "beyond what the database can hold" in response.json()["message"]


@pytest.mark.parametrize(
    "at",
    [
        "9999-12-31T23:59:59",  # answered 202; with at_best_hour the job then failed: date value out of range
        "9999-12-31T23:59:59-05:00",  # past the calendar's end once converted to the server's time: a 500
        (datetime.now() + timedelta(days=366)).isoformat(),
    ],
    ids=["calendar-end", "calendar-end-west-of-utc", "a-year-and-a-day"],  # a stable id for every collection
)
def test_a_send_scheduled_more_than_a_year_ahead_is_refused_naming_at(client, engine, at):
    ids = _sent_email(client, engine)
    for best_hour in ("false", "true"):
        response = client.post(f"/campaigns/{ids['campaign']}/send", params={"at": at, "at_best_hour": best_hour})
        assert "is more than 365 days ahead" in _refused(response, "query.at")["message"]
    assert client.get(f"/campaigns/{ids['campaign']}").json()["scheduled_at"] is None


def test_numbers_that_are_not_finite_are_refused_naming_the_field(client, engine):
    """A conversion worth 1e309 (infinity in JSON) was stored, and its campaign's revenue read null from then on;
    `boost_margin=inf` answered recommendations scored null."""
    ids = _sent_email(client, engine)
    for value in ("1e309", "-1e309", "NaN", "Infinity"):
        body = f'{{"events": [{{"send_id": {ids["send"]}, "kind": "conversion", "value": {value}}}]}}'
        refused = client.post("/events", content=body, headers={"Content-Type": "application/json"})
        assert "finite number" in _refused(refused, "events[0].value")["message"]
    with session_scope(engine) as session:
        assert session.scalars(select(Event)).all() == []
    campaign = '{"name": "y", "brand": "hearth", "campaign_type": "vip", "holdout_share": NaN}'
    refused = client.post("/campaigns", content=campaign, headers={"Content-Type": "application/json"})
    _refused(refused, "holdout_share")


def test_a_boost_past_its_bound_is_refused_naming_it_in_the_api_and_the_settings(client, monkeypatch):
    """boost_margin=1e308&boost_new=1e308 added up to infinity: recommendations answered 200 scored null, and
    TAILOR_CAMPAIGN_BOOST_MARGIN=inf stored campaign picks scored Infinity."""
    from pydantic import ValidationError

    from service.settings import CampaignSettings

    imported = client.post(
        "/imports/customers",
        files={"file": ("c.csv", b"customer_id,email,first_name,locale,marketing_consent\nc1,a@x.example,A,en,true\n")},
    )
    assert imported.status_code == 200, imported.text
    for field in ("boost_margin", "boost_recently_arrived", "boost_new"):
        refused = client.get("/customers/c1/recommendations", params={field: 1e308})
        assert "less than or equal to 1000" in _refused(refused, f"query.{field}")["message"]
    monkeypatch.setenv("TAILOR_CAMPAIGN_BOOST_MARGIN", "inf")
    with pytest.raises(ValidationError, match="boost_margin"):
        CampaignSettings()


def test_a_conversion_is_worth_what_an_order_can_be_and_only_a_conversion_has_a_value(client, engine):
    """Two conversions of 1.7e308 were taken, and their campaign's revenue read null (the sum overflowed); an open
    with a value was taken silently."""
    ids = _sent_email(client, engine)
    huge = {"send_id": ids["send"], "kind": "conversion", "value": 1.7e308}
    refused = client.post("/events", json={"events": [{**huge, "event_id": "e1"}, {**huge, "event_id": "e2"}]})
    assert "less than or equal to 1000000000000" in _refused(refused, "events[1].value")["message"]
    opened = client.post("/events", json={"events": [{"send_id": ids["send"], "kind": "open", "value": 5}]})
    said = _refused(opened, "events[0].value")["message"]
    assert said.endswith("only a conversion carries a value, not an event of kind 'open'")
    assert "Value error" not in said and "Value error" not in opened.json()["message"]  # pydantic's words left out
    with session_scope(engine) as session:
        assert session.scalars(select(Event)).all() == []
    biggest = {"send_id": ids["send"], "kind": "conversion", "value": 1e12}
    assert client.post("/events", json={"events": [biggest]}).json() == {"recorded": 1, "duplicates": 0}

    for name, value in (("boost_margin", "inf"), ("boost_new", "nan"), ("price_band_low", "inf")):
        params = {"price_band_low": "0.5", "price_band_high": "inf", name: value}
        _refused(client.get("/customers/c1/recommendations", params=params), f"query.{name}")
    _refused(client.post(f"/campaigns/{ids['campaign']}/send", params={"holdout_share": "nan"}), "query.holdout_share")


def test_a_campaign_of_a_brand_kit_the_shop_broke_is_refused_naming_what_is_wrong(client, tmp_path, monkeypatch):
    """A shop's own kit without its unsubscribe slot, or with bad YAML, answered POST /campaigns with a plain-text
    500 (the CLI already said what was wrong)."""
    from generation.brands import BRANDS_DIR

    hearth = (BRANDS_DIR / "hearth.yaml").read_text(encoding="utf-8")
    (tmp_path / "slotless.yaml").write_text(hearth.replace(" Unsubscribe: {unsubscribe_url}", ""), "utf-8")
    (tmp_path / "garbled.yaml").write_text("name: [unclosed\n", "utf-8")
    monkeypatch.setenv("TAILOR_BRANDS_DIR", str(tmp_path))
    for brand, problem in (("slotless", "footer.en: no {unsubscribe_url} slot"), ("garbled", "is not valid")):
        answer = client.post("/campaigns", json={"name": "x", "brand": brand, "campaign_type": "win_back"})
        assert answer.status_code == 422, answer.text
        (refused,) = answer.json()["problems"]
        assert refused["field"] == "brand" and problem in refused["message"] and brand in refused["message"]
    assert client.get("/campaigns").json() == []  # nothing was made


def test_hostile_input_gets_the_api_s_error_body_naming_what_is_wrong(client):
    """Each was a plain-text 500, an undocumented 400 naming nothing, or a body that echoed a megabyte, found by
    fuzzing the API from its OpenAPI document."""

    nul = client.post("/events", json={"events": [{"kind": "open", "message_id": "\u0000x"}]})
    assert nul.status_code == 422 and nul.json()["problems"][0]["field"] == "events[0].message_id", nul.text
    unknown = client.post("/events", json={"events": [{"kind": "open", "message_id": "<nobody@shop.example>"}]})
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "events[0].message_id"

    not_utf8 = client.post("/events", content=b"\xa5", headers={"Content-Type": "application/json"})
    assert not_utf8.status_code == 422, not_utf8.text
    assert not_utf8.json()["problems"] == [{"field": "body", "message": "is not JSON text in UTF-8"}]

    huge = client.post("/campaigns", json={"name": "x", "brand": "b" * 1_000_000, "campaign_type": "vip"})
    assert huge.status_code == 422 and len(huge.content) < 5_000

    wrong_method = client.put("/campaigns")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET, POST"
    assert client.post("/static/review.css").headers["allow"] == "GET, HEAD"  # answered inside a mount
    assert client.put("/review/drafts/1").headers["allow"] == "GET"  # the review page's 405 too
    long_version = client.post("/models/recommender/current", json={"version": "zz" * 500_000})
    assert long_version.status_code == 422 and len(long_version.content) < 5_000

    blank = client.get("/customers", headers={"X-API-Key": "", "Authorization": b"\xa0"})
    assert blank.status_code == 401 and blank.json()["error"], blank.text

    def seventeen_mib():  # sent in chunks: no Content-Length for the size limit to read first
        for _ in range(17):
            yield b" " * (1 << 20)

    keyed = {"Idempotency-Key": "k-1", "Content-Type": "application/json"}
    too_large = client.post("/events", content=seventeen_mib(), headers=keyed)
    assert too_large.status_code == 413 and too_large.json()["error"] == "ContentTooLarge", too_large.text


def test_a_product_whose_sku_holds_a_slash_can_be_read(client):
    """Imported as "A/1", it could never be read: /products/A%2F1 was no endpoint."""
    body = "sku,name,category,price,currency,description,url,in_stock\nA/1,Sencha,Tea,7.50,EUR,,https://s.example/a,1\n"
    imported = client.post("/imports/products", files={"file": ("products.csv", body, "text/csv")})
    assert imported.status_code == 200, imported.text
    for path in ("/products/A%2F1", "/products/A/1"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.json()["sku"] == "A/1", (path, answer.text)


def test_a_405_names_every_method_of_the_path_under_a_root_path_too(engine, api_key):
    """Behind a proxy that serves the API under a prefix, every 405 named no method."""
    from fastapi.testclient import TestClient

    from service.app import create_app

    with TestClient(create_app(engine), root_path="/mail", headers={"X-API-Key": api_key}) as prefixed:
        assert prefixed.put("/mail/campaigns").headers["allow"] == "GET, POST"
        assert prefixed.post("/mail/static/review.css").headers["allow"] == "GET, HEAD"


def test_the_review_page_and_a_customer_s_path_are_told_apart_under_a_root_path(engine, api_key, caplog):
    """Under uvicorn --root-path, the paths the middlewares compared began with the root path: the review page got
    neither its no-store and no-framing headers nor its guard against other origins, and a refusal about a customer
    logged the message naming them (review)."""
    import logging

    from fastapi.testclient import TestClient

    from service.app import create_app

    with TestClient(create_app(engine), root_path="/mail", headers={"X-API-Key": api_key}) as prefixed:
        login = prefixed.get("/mail/review/login")
        assert login.status_code == 200 and login.headers["x-frame-options"] == "DENY"
        assert login.headers["cache-control"] == "no-store"
        elsewhere = prefixed.post("/mail/review/logout", headers={"Origin": "http://elsewhere.example"})
        assert elsewhere.status_code == 403, elsewhere.text
        with caplog.at_level(logging.INFO, logger="tailor.api"):
            assert prefixed.get("/mail/customers/ANNA-1").status_code == 404
    rejected = [record for record in caplog.records if record.getMessage() == "request rejected"]
    assert rejected and all("ANNA-1" not in f"{record.path} {record.error}" for record in rejected)


def test_a_query_parameter_given_twice_is_refused_naming_it_unless_it_takes_a_list(client):
    """GET /customers?segment=champions&segment=lost answered with the lost customers alone, as if the first had not
    been sent: FastAPI keeps a repeated parameter's last value."""
    twice = client.get("/customers?segment=champions&segment=lost&limit=5")
    assert twice.status_code == 422, twice.text
    assert twice.json()["problems"] == [{"field": "query.segment", "message": "given 2 times; give it once"}]
    assert client.get("/customers?segment=lost").status_code == 200
    imported = client.post(
        "/imports/customers",
        files={"file": ("c.csv", b"customer_id,email,first_name,locale,marketing_consent\nc1,a@x.example,A,en,true\n")},
    )
    assert imported.status_code == 200, imported.text
    # a list parameter repeats: the route is reached (it wants a trained model)
    listed = client.get("/customers/c1/recommendations?reorderable_categories=a&reorderable_categories=b")
    assert listed.status_code == 409 and listed.json()["error"] == "NotReady", listed.text
    offset = client.get("/campaigns?offset=0&offset=1")  # a parameter of a shared dependency too
    assert offset.status_code == 422 and offset.json()["problems"][0]["field"] == "query.offset", offset.text
    # without a key, told to bring one, not which parameters the route takes (review found the 422 came first)
    stranger = TestClient(client.app)
    assert stranger.get("/jobs?kind=a&kind=b").status_code == 401
    login = stranger.get("/review/login?next=/review&next=/review/campaigns/1")  # a route that takes no key
    assert login.status_code == 422 and "given 2 times" in login.text


def test_a_misspelt_training_option_is_refused_naming_it_before_any_job(client):
    """POST /train?modle=als started a training of the default recommender, as if the option had not been sent."""
    misspelt = client.post("/train?modle=als")
    body = _refused(misspelt, "query.modle")
    assert "model, tune" in body["problems"][0]["message"], body
    assert client.get("/jobs", params={"kind": "train"}).json() == []  # no training was started


@pytest.mark.parametrize(
    ("method", "path", "misspelt", "taken"),
    [
        ("post", "/campaigns/{id}/send", "batchsize=1", "holdout_share, batch_size, at_best_hour, at"),
        ("post", "/campaigns/{id}/send", "holdout_shar=0.2", "holdout_share"),
        ("get", "/campaigns/{id}/export", "stauts=approved", "status, selected_only"),
        ("get", "/campaigns/{id}/drafts", "flaged=true", "status, flagged"),
        ("get", "/customers", "emial=a@example.com", "segment, email"),
        ("post", "/campaigns/{id}/drafts/approve", "reviewer=x", "takes no parameter"),
    ],
)
def test_a_misspelt_option_of_any_api_route_is_refused_naming_it_before_anything_is_done(
    client, method, path, misspelt, taken
):
    """Each was ignored in silence: `?batchsize=1` sent the whole campaign, `?holdout_shar=0.2` sent it with no
    holdout, neither to be undone, and `?stauts=approved` exported every draft, the unreviewed ones too."""
    campaign_id = client.post(
        "/campaigns", json={"name": "Typo", "brand": "hearth", "campaign_type": "win_back"}
    ).json()
    url = f"{path.format(id=campaign_id['id'])}?{misspelt}"
    name = misspelt.split("=")[0]
    body = _refused(getattr(client, method)(url, **({"json": {}} if method == "post" else {})), f"query.{name}")
    assert taken in body["problems"][0]["message"], body
    assert client.get("/jobs").json() == []  # nothing was started


def test_a_page_of_the_segments_is_refused_saying_they_are_answered_whole(client):
    """`GET /segments?limit=1` was told the endpoint "takes no parameter", which left a client that pages every other
    list (limit and offset) looking for how to page this one."""
    for page in ("limit=1", "offset=10"):
        (problem,) = _refused(client.get(f"/segments?{page}"), f"query.{page.split('=')[0]}")["problems"]
        assert problem["message"] == (
            "takes no parameter: the segments are answered whole, not a page at a time: they are a handful, one for "
            "each RFM segment and one for no_orders"
        ), problem
    (problem,) = _refused(client.get("/segments?segmnet=lost"), "query.segmnet")["problems"]
    assert problem["message"] == "takes no parameter", problem  # no page asked for: nothing said of pages


@pytest.mark.parametrize(
    ("path", "taken", "why"),
    [
        ("/models", "takes no parameter", "the models are answered whole, not a page at a time: the recommender and "
         "the engagement model, each with the versions kept on disk (at most TAILOR_MODELS_KEPT of them besides the "
         "one in use)"),
        ("/imports/date-orders", "takes no parameter", "the date orders are answered whole, not a page at a time: at "
         "most one for each kind's date column (customers' consent_at, products' arrived_at, orders' timestamp, "
         "sends' sent_at)"),
        ("/customers/c1/recommendations", "is no parameter of this request; it takes k, ",
         "the recommendations are one ranked list, not a page at a time: the customer's best k (at most 100); ask for "
         "more with k"),
        ("/customers/c1/export", "takes no parameter", "the export is answered whole, not a page at a time: "
         "everything Tailor holds about the customer in one document, as it is handed to them (GDPR Art. 15 and 20)"),
        ("/campaigns/1/export", "is no parameter of this request; it takes status, selected_only",
         "the export is answered whole, not a page at a time: the campaign's drafts streamed line by line whatever "
         "its size, one file for the email service"),
    ],
)  # fmt: skip
def test_a_page_of_any_list_answered_whole_is_refused_saying_why(client, path, taken, why):
    """`GET /models?limit=1` and `GET /imports/date-orders?limit=1` were told "takes no parameter" and
    `/customers/{id}/recommendations?offset=10` the parameters it takes, as /segments was before, and so were the two
    exports: a client that pages the other lists (limit and offset) was left looking for how to page these."""
    for page in ("limit=1", "offset=10"):
        (problem,) = _refused(client.get(f"{path}?{page}"), f"query.{page.split('=')[0]}")["problems"]
        assert problem["message"].startswith(taken) and problem["message"].endswith(f": {why}"), problem


def test_a_body_nested_too_deep_is_not_called_something_other_than_json(client):
    """A JSON body of arrays nested a thousand deep is UTF-8 JSON: it was refused as "is not JSON text in UTF-8",
    which sent its sender looking at the encoding of a body whose only fault was its depth."""
    nested = client.post("/events", content=b"[" * 5000 + b"]" * 5000, headers={"Content-Type": "application/json"})
    assert nested.status_code == 422, nested.text
    (problem,) = nested.json()["problems"]
    assert problem["field"] == "body" and "nested" in problem["message"] and "UTF-8" not in problem["message"]


def test_a_number_too_long_to_read_is_named_as_such_not_as_a_body_that_is_not_json(client):
    """A send_id of 5,000 digits is UTF-8 JSON that Python will not read as a number (past 4,300 digits): it was
    refused as "is not JSON text in UTF-8", and its sender looked at the encoding."""
    body = b'{"events": [{"send_id": ' + b"1" * 5000 + b', "kind": "open"}]}'
    answer = client.post("/events", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"] == [
        {"field": "body", "message": "holds a number of more than 4300 digits, longer than any field takes"}
    ]


def test_a_nul_in_a_products_path_is_refused_not_read_as_a_slash(client):
    """/products/A%00 answered the product "A/": a NUL the client sent was read as the encoded slash the
    customers' routes keep as one, where /customers/A%00 is refused."""
    body = "sku,name,category,price,currency,description,url,in_stock\nA/,Sencha,Tea,7.50,EUR,,https://s.example/a,1\n"
    assert client.post("/imports/products", files={"file": ("products.csv", body, "text/csv")}).status_code == 200
    answer = client.get("/products/A%00")
    assert answer.status_code == 422 and answer.json()["error"] == "TextHoldsNul", answer.text


def test_a_nul_in_a_customer_s_or_a_product_s_path_names_the_path_parameter(client):
    """/customers/A%00 answered TextHoldsNul with no problems: a client could not tell which text held it."""
    for path, field in (("/customers/A%00", "path.customer_id"), ("/customers/A%00/sends", "path.customer_id"),
                        ("/products/A%00", "path.sku")):  # fmt: skip
        answer = client.get(path)
        assert answer.status_code == 422 and answer.json()["error"] == "TextHoldsNul", answer.text
        assert [p["field"] for p in answer.json()["problems"]] == [field], path
        assert answer.json()["message"].startswith(f"{field}: holds a NUL character"), answer.text


def test_an_approval_of_another_draft_s_variant_is_refused_naming_variant_id(client, engine):
    """A `variant_id` in the body that is another draft's answered 404, which the API keeps for what the path
    names: the draft was there, the body's field was wrong."""
    ids = _sent_email(client, engine)
    with session_scope(engine) as session:
        customer = Customer(external_id="c2", email="c2@example.com", marketing_consent=True)
        variant = Variant(label="A", subject="Hi")
        other = Draft(campaign_id=ids["campaign"], customer=customer, status="pending", variants=[variant])
        session.add(other)
        session.flush()
        others_variant = other.variants[0].id
    body = _refused(client.post(f"/drafts/{ids['draft']}/approve", json={"variant_id": others_variant}), "variant_id")
    assert f"variant {others_variant} is not a variant of draft {ids['draft']}" in body["message"]
    assert client.get(f"/drafts/{ids['draft']}").json()["status"] == "pending"  # nothing approved


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/drafts/{draft}/variants/{variant}", {"subject": "Price list\tfrom the sheet"}, "subject"),
        ("/drafts/{draft}/variants/{variant}", {"product_lines": ["Lovely.\nVisit us."]}, "product_lines[0]"),
        ("/drafts/{draft}/variants/{variant}/suggestion", {"note": "warmer\nplease"}, "note"),
    ],
)
def test_a_line_break_in_a_one_line_field_is_said_in_words_through_the_api(client, engine, url, body, field):
    """The review page said "must be one line"; the API, which the same copywriters' tools call, answered with the
    regex: "String should match pattern '^[^\\x00-\\x1f\\x7f\\x85\\u2028\\u2029]*$'"."""
    ids = _sent_email(client, engine)
    method = client.patch if url.endswith("}") else client.post
    refused = _refused(method(url.format(**ids), json=body), field)
    (problem,) = refused["problems"]
    assert "one line" in problem["message"] and "pattern" not in refused["message"], refused


def test_a_zone_whose_plus_a_url_read_as_a_space_is_named_with_how_to_write_it(client, engine):
    """`?at=2026-12-08T09:00+01:00` written into a URL as it stands reaches the server as "09:00 01:00" (a query
    reads '+' as a space), and was refused with pydantic's "unexpected extra characters at the end of the input",
    which names neither the '+' nor what to write."""
    ids = _sent_email(client, engine)
    moment = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%dT09:00")
    response = client.post(f"/campaigns/{ids['campaign']}/send?at={moment}+01:00")
    problem = _refused(response, "query.at")["problems"][0]
    assert problem["message"] == (
        f"'{moment} 01:00' has a space where its zone's '+' was, as a URL's query reads a '+': "
        f"write it as %2B ({moment}%2B01:00), or give the moment in UTC ending in Z"
    )
    assert client.post(f"/campaigns/{ids['campaign']}/send?at={moment}%2B01:00").status_code == 202
    # a moment that is no moment at all keeps pydantic's words
    assert (
        "valid datetime" in _refused(client.post(f"/campaigns/{ids['campaign']}/send?at=soon"), "query.at")["message"]
    )


@pytest.mark.parametrize(
    ("moment", "fault"),
    [
        ("2026-12-08T25:00", "hour 25 is not an hour of the day (00 to 23)"),
        ("2026-13-08T09:00", "month 13 is not a month (01 to 12)"),
        ("2026-11-31T09:00", "day 31 is not a day of November 2026, which has 30 days"),
        ("2026-12-08T09:00%2B25:00", "the zone's offset of 25 hours is more than a day's (00 to 23)"),
        ("2026-12-08T9:00", "its hour is written with two digits: 2026-12-08T09:00"),  # pydantic's words before
        ("2026-12-8T9:00Z", "its day and hour are written with two digits: 2026-12-08T09:00Z"),
        ("2026-12-08T09", "its time is written with its minutes: 2026-12-08T09:00"),
    ],
)
def test_a_moment_past_its_calendar_is_refused_naming_the_part_that_is_wrong(client, engine, moment, fault):
    """`?at=2026-12-08T25:00` was refused for "unexpected extra characters at the end of the input" (pydantic reads a
    moment it cannot take as a day, and tells the day's fault), which named neither the hour nor its range."""
    ids = _sent_email(client, engine)
    given = moment.replace("%2B", "+")
    scheduled = _refused(client.post(f"/campaigns/{ids['campaign']}/send?at={moment}"), "query.at")["problems"][0]
    assert scheduled["message"] == f"{given!r} is not a moment: {fault}", scheduled
    event = {"send_id": 1, "kind": "open", "occurred_at": given}  # a moment in a JSON body, read the same way
    recorded = _refused(client.post("/events", json={"events": [event]}), "events[0].occurred_at")["problems"][0]
    assert recorded["message"] == f"{given!r} is not a moment: {fault}", recorded


def test_a_day_without_a_time_is_refused_saying_to_write_the_time(client, engine):
    """`?at=2026-12-07` was taken as that day's midnight in UTC: the campaign went out at 00:00 UTC, in the night
    before the day meant (and the evening before it in America), with nothing said."""
    ids = _sent_email(client, engine)
    day = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%d")
    said = (
        f"'{day}' is a day without a time: write the time too, in UTC ending in Z ({day}T09:00Z) or with the zone's "
        f"offset ({day}T09:00+01:00); without either it is read as UTC"
    )
    refused = _refused(client.post(f"/campaigns/{ids['campaign']}/send?at={day}"), "query.at")
    assert refused["message"] == f"query.at: {said}", refused
    with session_scope(engine) as session:
        assert session.get(Campaign, ids["campaign"]).scheduled_at is None  # nothing scheduled
    event = {"send_id": ids["send"], "kind": "open", "occurred_at": day}  # a moment in a JSON body, the same
    (problem,) = _refused(client.post("/events", json={"events": [event]}), "events[0].occurred_at")["problems"]
    assert problem["message"] == said, problem
    assert client.post(f"/campaigns/{ids['campaign']}/send?at={day}T09:00Z").status_code == 202


def test_a_field_a_body_does_not_take_is_refused_naming_the_fields_it_takes(client, engine):
    """`tailor drafts reject --reason` gives the API's `comment`: a client that sent `{"reason": ...}` was told
    "Extra inputs are not permitted", which named what it gave but not what the endpoint takes."""
    ids = _sent_email(client, engine)
    refused = _refused(client.post(f"/drafts/{ids['draft']}/reject", json={"reason": "too pushy"}), "reason")
    assert refused["problems"] == [
        {"field": "reason", "message": "is not a field here, which takes reviewer, comment, expected_revision"}
    ]
    assert client.get(f"/drafts/{ids['draft']}").json()["status"] == "pending"  # nothing rejected
    event = {"send_id": 1, "kind": "open", "opened": True}  # in an object of a list, the object's fields
    (problem,) = _refused(client.post("/events", json={"events": [event]}), "events[0].opened")["problems"]
    assert "occurred_at" in problem["message"] and problem["message"].startswith("is not a field here"), problem
