"""The API's error answers as its OpenAPI document states them: every error has the one body `ErrorOut`, and
each route lists the statuses it can answer with, so that a client generated from the document handles them."""

from typing import Any

from service.schemas import ErrorOut

WHEN = {
    401: "No API key, or one that is not valid: send it as the X-API-Key header or as `Authorization: Bearer KEY`.",
    404: "What the path names does not exist.",
    409: "Not possible in the present state (a draft already reviewed, a campaign being generated, no model "
    "trained yet, ...); `message` says what to do first.",
    413: "The body is bigger than the server takes (an upload: TAILOR_API_MAX_UPLOAD_MB; any other body: 16 MiB); "
    "nothing of it was read.",
    422: "The request (or the uploaded file) was refused; `problems` names each field, or each file row and column.",
    503: "The database is busy with another write, or the mail server cannot be reached; nothing was written. "
    "`Retry-After` says when to try again.",
}
# What any route that needs a key can answer: no key, a bad parameter, a busy database.
KEYED = (401, 422, 503)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the `ErrorOut` body."""
    return {code: {"model": ErrorOut, "description": WHEN[code]} for code in codes}
