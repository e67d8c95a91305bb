"""What the API answers is what its OpenAPI document says it answers: each status a call gets is listed for its
operation, with the body it really has, so that a client generated from /openapi.json alone handles it."""

from service.request_size import MAX_REQUEST_BYTES
from service.schemas import ErrorOut

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def _documented(op: dict, status: int) -> dict:
    """The JSON schema the operation documents for ``status`` (an AssertionError naming it when it documents none)."""
    assert str(status) in op["responses"], f"{status} is not documented"
    return op["responses"][str(status)]["content"]["application/json"]["schema"]


def test_every_operation_that_takes_a_body_documents_the_413_it_answers_for_one_too_big(client):
    """Only the uploads and POST /events listed 413, yet every body past 16 MiB is refused with it: a client
    generated from the document met an undocumented status on POST /campaigns, the draft reviews, /erasures/lift and
    /models/{kind}/current."""
    document = client.get("/openapi.json").json()
    with_body = [(method, path, op) for method, path, op in _operations(document) if "requestBody" in op]
    assert len(with_body) >= 10
    too_big = b"{" + b" " * MAX_REQUEST_BYTES + b"}"
    for method, path, op in with_body:
        assert _documented(op, 413) == ERROR_REF, (method, path)
        if path.startswith("/imports"):  # its own, larger limit: tests/service/test_request_size.py
            continue
        concrete = path.replace("{kind}", "recommender")
        for name in ("{campaign_id}", "{draft_id}", "{variant_id}"):
            concrete = concrete.replace(name, "1")
        answer = client.request(method, concrete, content=too_big, headers={"Content-Type": "application/json"})
        assert answer.status_code == 413, (method, path, answer.text[:200])
        assert ErrorOut.model_validate(answer.json()).error == "ContentTooLarge"


def test_only_the_operations_that_can_answer_a_413_or_a_507_list_it(client):
    """GET /imports/date-orders and DELETE /imports/date-orders/{kind} listed 413 (a body too large) and 507 (a full
    disk), as the imports router listed both for each of its routes: neither takes a body, nor writes to the disk.
    A 413 is listed where there is a body; a 507 where the operation writes a file: an upload (staged), a model's
    pointer, an erasure (the models that held the customer, rewritten), the unsubscribe link's page and form (a
    signing key made again when it was lost)."""
    document = client.get("/openapi.json").json()
    for method, path, op in _operations(document):
        assert ("413" in op["responses"]) == ("requestBody" in op), (method, path)
    writing = {(method, path) for method, path, op in _operations(document) if "507" in op["responses"]}
    assert writing == {
        ("post", "/imports/{kind}"), ("post", "/models/{kind}/current"), ("delete", "/customers/{customer_id}"),
        ("get", "/unsubscribe/{token}"), ("post", "/unsubscribe/{token}"),
    }  # fmt: skip


def _fits(document: dict, schema: dict, body) -> None:
    """Assert that ``body`` has the shape ``schema`` documents: the fields it names and needs, no others, down
    through its objects and lists (types are the models' own business)."""
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema and body is not None:
        schema = next(option for option in schema["anyOf"] if option.get("type") != "null")
        _fits(document, schema, body)
    elif isinstance(body, dict):
        assert "properties" in schema, f"{sorted(body)} is documented as {schema}"
        assert set(schema.get("required", [])) <= set(body) <= set(schema["properties"]), (sorted(body), schema)
        for name, value in body.items():
            _fits(document, schema["properties"][name], value)
    elif isinstance(body, list):
        for item in body:
            _fits(document, schema["items"], item)


def test_the_answer_to_posted_events_is_documented_with_its_fields(client):
    """POST /events documented its 200 as any object: a generated client got a dict, not `recorded`, `duplicates`
    and `skipped` (each with `index`, the `send_id` or `message_id` named and the `reason`)."""
    customers = "customer_id,email,first_name,locale,marketing_consent\nc1,ann@example.com,Ann,en,true\n"
    sends = "send_id,customer_id,subject,campaign_type,sent_at\ns1,c1,Hello,win_back,2024-01-02T10:00:00Z\n"
    for kind, text in (("customers", customers), ("sends", sends)):
        assert client.post(f"/imports/{kind}", files={"file": (f"{kind}.csv", text, "text/csv")}).status_code == 200
    document = client.get("/openapi.json").json()
    documented = _documented(document["paths"]["/events"]["post"], 200)

    recorded = client.post("/events", json={"events": [{"send_id": "s1", "kind": "open", "event_id": "e1"}]})
    assert recorded.json() == {"recorded": 1, "duplicates": 0}
    _fits(document, documented, recorded.json())
    send_id = client.get("/customers/c1/sends").json()[0]["id"]  # an erasure keeps Tailor's id of the send
    assert client.delete("/customers/c1").status_code == 204
    skipped = client.post("/events", json={"events": [{"send_id": send_id, "kind": "click"}]})
    assert skipped.status_code == 200 and skipped.json()["skipped"][0]["send_id"] == send_id
    _fits(document, documented, skipped.json())


def test_a_draft_s_and_a_job_s_status_and_kind_are_documented_as_the_values_they_take(client, engine):
    """DraftOut.status, JobOut.status and JobOut.kind were plain strings, though GET /campaigns/{id}/drafts?status=
    and GET /jobs?status=&kind= list the values: a generated client could not tell `approved` from a typo."""
    from service.campaigns import ensure_brand
    from service.db.models import Campaign, Customer, Draft
    from service.db.session import session_scope

    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="ann@example.com", first_name="Ann", locale="en",
                            marketing_consent=True)  # fmt: skip
        campaign = Campaign(name="x", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        session.add_all([customer, campaign])
        session.flush()
        session.add(Draft(campaign_id=campaign.id, customer_id=customer.id, status="pending"))
        campaign_id = campaign.id
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    drafts_filter = next(p for p in document["paths"]["/campaigns/{campaign_id}/drafts"]["get"]["parameters"]
                         if p["name"] == "status")  # fmt: skip
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    assert draft["status"] in schemas["DraftOut"]["properties"]["status"]["enum"]
    assert schemas["DraftOut"]["properties"]["status"]["enum"] == drafts_filter["schema"]["anyOf"][0]["enum"]

    job = client.get(client.post("/train").json()["status_url"]).json()
    for field in ("status", "kind"):
        assert job[field] in schemas["JobOut"]["properties"][field]["enum"], field
    jobs_filter = {p["name"]: p["schema"]["anyOf"][0]["enum"] for p in document["paths"]["/jobs"]["get"]["parameters"]
                   if p["name"] in ("status", "kind")}  # fmt: skip
    assert jobs_filter == {field: schemas["JobOut"]["properties"][field]["enum"] for field in ("status", "kind")}


def _concrete(path: str) -> str:
    """A path of the document with its parameters filled in."""
    for name, value in (("{kind}", "recommender"), ("{token}", "1.x"), ("{customer_id}", "c1"), ("{sku}", "s1")):
        path = path.replace(name, value)
    for name in ("{campaign_id}", "{draft_id}", "{variant_id}", "{job_id}"):
        path = path.replace(name, "1")
    return path


def test_the_idempotency_key_is_declared_where_it_is_honoured_with_the_409_of_a_key_being_answered(client, engine):
    """The Idempotency-Key header was in the document nowhere, and the 409 of a retry while the first request is
    still being answered was undocumented on POST /campaigns, /train, /events, /erasures/lift and
    /models/{kind}/current: a generated client could neither send the key nor read that answer."""
    from sqlalchemy import select

    from service.db.models import IdempotencyKey
    from service.db.session import session_scope

    document = client.get("/openapi.json").json()
    too_long = {"Idempotency-Key": "k" * 201}  # refused by whatever honours the header, before anything is done
    honoured = []
    for method, path, op in _operations(document):
        answer = client.request(method, _concrete(path), headers=too_long)
        refused = answer.status_code == 422 and answer.json()["problems"][0]["field"] == "Idempotency-Key"
        declared = [p for p in op.get("parameters", []) if p["name"] == "Idempotency-Key"]
        assert bool(declared) == refused, (method, path, answer.status_code)
        if refused:
            honoured.append((method, path))
            assert declared[0]["in"] == "header" and declared[0]["schema"]["maxLength"] == 200
            assert _documented(op, 422) == ERROR_REF and _documented(op, 409) == ERROR_REF, (method, path)
            assert "Retry-After" in op["responses"]["409"]["headers"], (method, path)
    for path in ("/campaigns", "/train", "/events", "/erasures/lift", "/models/{kind}/current"):
        assert ("post", path) in honoured, path
    for path in ("/imports/{kind}", "/unsubscribe/{token}"):  # a file's body, a recipient's link: no key
        assert ("post", path) not in honoured, path

    key = {"Idempotency-Key": "train-1"}
    first = client.post("/train", headers=key)
    assert first.status_code == 202
    with session_scope(engine) as session:  # as if the first request with this key were still being answered
        session.scalar(select(IdempotencyKey)).status_code = None
    busy = client.post("/train", headers=key)
    assert busy.status_code == 409 and busy.headers["Retry-After"] == "1"
    _fits(document, _documented(document["paths"]["/train"]["post"], 409), busy.json())
    assert ErrorOut.model_validate(busy.json()).error == "Conflict"


def test_a_fault_and_a_full_disk_answer_the_error_body_the_document_lists_for_them(client, monkeypatch):
    """A fault (500, InternalError) on any route and a full disk (507, StorageUnavailable) answered the API's error
    body, yet no operation listed either."""
    import errno

    from fastapi.testclient import TestClient

    from service.pipeline import model_store

    document = client.get("/openapi.json").json()
    for method, path, op in _operations(document):
        assert _documented(op, 500) == ERROR_REF, (method, path)
    pointer = client.app.state.tailor.models.models_dir / "recommender" / "CURRENT"
    pointer.mkdir(parents=True)  # a model pointer that is a folder: a fault of the server's own
    fault = TestClient(client.app, headers=client.headers, raise_server_exceptions=False).get("/models")
    assert fault.status_code == 500
    _fits(document, _documented(document["paths"]["/models"]["get"], 500), fault.json())
    pointer.rmdir()

    def full_disk(path, text: str) -> None:  # a disk that takes nothing more cannot be made here
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(model_store, "_write_whole", full_disk)
    customers = "customer_id,email,first_name,locale,marketing_consent\nc1,ann@example.com,Ann,en,true\n"
    assert client.post("/imports/customers", files={"file": ("c.csv", customers, "text/csv")}).status_code == 200
    full = client.delete("/customers/c1")
    assert full.status_code == 507
    _fits(document, _documented(document["paths"]["/customers/{customer_id}"]["delete"], 507), full.json())
    assert ErrorOut.model_validate(full.json()).error == "StorageUnavailable"


def test_the_unsubscribe_link_lists_the_503_it_answers_and_no_operation_a_422_it_cannot(tmp_path, tailor_home):
    """/unsubscribe/{token} listed a 422 with FastAPI's `HTTPValidationError`, which it never answers, and not the
    503 (the API's error body) of a database that cannot be used; and `HTTPValidationError` stayed in the document's
    schemas for it. An operation that takes no key and no input lists no 422; one of the API, which refuses a query
    parameter it does not take (/segments and /models too), lists it."""
    import shutil

    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.auth import create_key
    from service.db.migrate import upgrade
    from service.db.session import make_engine, session_scope
    from service.signed_links import UnsubscribeLinks

    folder = tmp_path / "db"
    engine = make_engine(f"sqlite:///{folder / 'tailor.db'}")
    upgrade(engine)
    with session_scope(engine) as session:
        key = create_key(session, "tests")
    with TestClient(create_app(engine), headers={"X-API-Key": key}, raise_server_exceptions=False) as client:
        document = client.get("/openapi.json").json()
        assert "HTTPValidationError" not in document["components"]["schemas"]
        for method, path, op in _operations(document):
            if "422" in op["responses"]:
                assert _documented(op, 422) == ERROR_REF, (method, path)
            if not op.get("parameters") and "requestBody" not in op and "security" not in op:
                assert "422" not in op["responses"], (method, path)
        for path in ("/segments", "/models"):
            assert _documented(document["paths"][path]["get"], 422) == ERROR_REF, path
            assert client.get(path).status_code == 200, path
            refused = client.get(path, params={"limit": "1"})
            assert refused.status_code == 422 and "takes no parameter" in refused.text, path
        link = f"/unsubscribe/{UnsubscribeLinks.configured().token(1)}"
        for method in ("get", "post"):
            assert "422" not in document["paths"]["/unsubscribe/{token}"][method]["responses"], method
            assert client.request(method, "/unsubscribe/%00").status_code == 404, method

        engine.dispose()
        shutil.rmtree(folder)  # the database file and its folder are gone: SQLite cannot open it
        for method in ("get", "post"):
            down = client.request(method, link)
            assert down.status_code == 503, down.text
            _fits(document, _documented(document["paths"]["/unsubscribe/{token}"][method], 503), down.json())


def test_the_moments_of_a_training_s_data_end_in_z_in_the_models_and_the_job_s_result(client, demo_files):
    """GET /models (`versions[].metadata.data.first/last`) and a train job's `result.recommender.data` gave the
    first and last moment of the data trained on as `2024-11-01 02:43:51`, without a zone, where every moment the
    API gives ends in `Z`; a version saved so before gets them with their zone too."""
    import json
    from datetime import datetime, timedelta

    from service.pipeline.model_store import METADATA_FILE
    from tests.service.conftest import trained_shop

    def utc_moments(data: dict) -> list[datetime]:
        moments = [datetime.fromisoformat(data[bound]) for bound in ("first", "last")]
        assert all(data[bound].endswith("Z") for bound in ("first", "last")), data
        assert all(moment.utcoffset() == timedelta(0) for moment in moments), data
        return moments

    trained_shop(client, demo_files)
    (recommender,) = [kind for kind in client.get("/models").json() if kind["kind"] == "recommender"]
    (version,) = recommender["versions"]
    moments = utc_moments(version["metadata"]["data"])
    (job,) = client.get("/jobs", params={"kind": "train"}).json()
    assert utc_moments(job["result"]["recommender"]["data"]) == moments

    saved = client.app.state.tailor.models.models_dir / "recommender" / version["version"] / METADATA_FILE
    metadata = json.loads(saved.read_text())
    for bound, moment in zip(("first", "last"), moments, strict=True):  # as an earlier Tailor wrote them
        metadata["data"][bound] = str(moment.replace(tzinfo=None))
    saved.write_text(json.dumps(metadata))
    (recommender,) = [kind for kind in client.get("/models").json() if kind["kind"] == "recommender"]
    assert utc_moments(recommender["versions"][0]["metadata"]["data"]) == moments


def test_an_import_documents_the_409_of_keys_another_import_wrote_meanwhile(client):
    """Two imports of the same new keys at once: the second is answered 409 `WrittenMeanwhile` (tests/service/
    test_write_races.py), which the upload's operation did not list, so a generated client met it undocumented."""
    operation = client.get("/openapi.json").json()["paths"]["/imports/{kind}"]["post"]
    assert _documented(operation, 409) == ERROR_REF
    assert "WrittenMeanwhile" in operation["responses"]["409"]["description"]


def test_every_moment_the_api_gives_is_documented_as_a_date_time(client):
    """The README says the times the API gives end in Z, RFC 3339, "as the OpenAPI document's `date-time` says", yet
    the document gave every one of them (a job's created_at, a campaign's scheduled_at, a send's sent_at, the
    segments' computed_at...) as a plain string: a client generated from it read text, not a moment, and a validator
    checked nothing of them. Only a request's `occurred_at` was a date-time."""
    schemas = client.get("/openapi.json").json()["components"]["schemas"]

    def formats(field: dict) -> set:
        return {option.get("format") for option in field.get("anyOf", [field]) if option.get("type") != "null"}

    moments = {
        (name, field): formats(described)
        for name, schema in schemas.items()
        for field, described in schema.get("properties", {}).items()
        if field.endswith("_at")
    }
    assert len(moments) >= 25
    assert {moment: found for moment, found in moments.items() if found != {"date-time"}} == {}
