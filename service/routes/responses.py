"""The API's error answers as its OpenAPI document states them: every error has the one body `ErrorOut`, and
each route lists the statuses it can answer with, so that a client generated from the document handles them."""

from typing import Any

from service import idempotency
from service.schemas import ErrorOut

WHEN = {
    401: "No API key, or one that is not valid: send it as the X-API-Key header or as `Authorization: Bearer KEY`.",
    404: "What the path names does not exist.",
    409: "Not possible in the present state (a draft already reviewed, a campaign being generated, no model "
    "trained yet, ...); `message` says what to do first.",
    413: "The body is bigger than the server takes (an upload: TAILOR_API_MAX_UPLOAD_MB; any other body: 16 MiB); "
    "nothing of it was read.",
    422: "The request (or the uploaded file) was refused; `problems` names each field, or each file row and column.",
    500: "A fault of the server's own, not of the request (`InternalError`); the server's log says why, under the "
    "request id the message quotes.",
    503: "The database is busy with another write, cannot be reached, or the mail server (or the model that writes "
    "copy, `CopyModelUnavailable`) cannot be reached, or the server writes as many suggestions as it writes at "
    "once (`CopyModelBusy`); nothing was written. `Retry-After`, when sent, says when to try again.",
    504: "The model that writes copy did not answer before its deadline (`CopyModelTimedOut`: TAILOR_LLM_TIMEOUT, "
    "TAILOR_LLM_STALL_TIMEOUT, TAILOR_LLM_SUGGESTION_DEADLINE, which TAILOR_LLM_GROUP_DEADLINE caps); nothing was "
    "changed.",
    507: "The server's disk is full, over quota or read-only (`StorageUnavailable`); what was asked was not done.",
}
# What any route that needs a key can answer: no key, a busy database. A route with parameters or a body can also
# refuse them (422: ``document``), and any route can fail (500: the app's own ``ANY_ROUTE``).
KEYED = (401, 503)
ANY_ROUTE = (500,)
# An operation whose parameters no request can get wrong (an unsubscribe link's token, checked by its signature:
# 404), kept from the 422 FastAPI lists wherever there is a parameter: ``openapi_extra=REFUSES_NO_INPUT``.
REFUSES_NO_INPUT = {"x-refuses-no-input": True}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the `ErrorOut` body."""
    return {code: {"model": ErrorOut, "description": WHEN[code]} for code in codes}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI ``schema`` (FastAPI's) as the API answers: the 422 FastAPI lists for every operation with a
    parameter or a body has the API's `ErrorOut` (the app's handler answers it so), not FastAPI's
    `HTTPValidationError`, and an operation whose input cannot be refused lists none; an HTML page's errors are the
    API's JSON too; an operation that honours the `Idempotency-Key` header (``service.idempotency``) declares it,
    its 409 and its 422, and the `Idempotent-Replayed` header of its successes."""
    refused = {"description": WHEN[422], "content": {"application/json": {"schema": _ref("ErrorOut")}}}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            for status, answer in answers.items():  # the unsubscribe page's errors too (service.app)
                if status[0] in "45" and _schema_of(answer, "text/html") == _ref("ErrorOut"):
                    answer["content"] = {"application/json": answer["content"].pop("text/html")}
            if "422" in answers and _schema_of(answers["422"]) == _ref("HTTPValidationError"):
                answers["422"] = refused
            if operation.pop(next(iter(REFUSES_NO_INPUT)), False):
                answers.pop("422", None)
            if idempotency.honours(method.upper(), path):
                operation["parameters"] = [*operation.get("parameters", []), idempotency.PARAMETER]
                conflict = answers.get("409", {"content": refused["content"]})
                said = f"{conflict['description']} " if "description" in conflict else ""
                answers["409"] = {
                    **conflict,
                    "description": said + idempotency.STILL_ANSWERED,
                    "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
                }
                answers.setdefault("422", refused)
                for status, answer in answers.items():
                    if status.startswith("2"):
                        answer["headers"] = {**answer.get("headers", {}), "Idempotent-Replayed": idempotency.REPLAYED}
    if _ref("HTTPValidationError")["$ref"] not in str(schema["paths"]):  # its items' schema goes with it
        for unused in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(unused, None)
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _schema_of(answer: dict[str, Any], media_type: str = "application/json") -> dict[str, Any] | None:
    return answer.get("content", {}).get(media_type, {}).get("schema")
