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
