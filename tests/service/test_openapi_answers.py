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
