"""A request body over its limit is refused with 413 before it is stored, naming the limit."""

import asyncio
import json
import threading

import pytest
from fastapi.testclient import TestClient

from service.db.models import Customer
from service.db.session import session_scope
from service.request_size import whole_body

HEADER = b"customer_id,email,first_name,locale,marketing_consent\n"


def _customers_csv(mib: float) -> bytes:
    lines = [b"c%d,c%d@example.com,Ann,en,true\n" % (i, i) for i in range(int(mib * 1024 * 1024 / 32))]
    return HEADER + b"".join(lines)


@pytest.fixture
def small_upload_client(engine, api_key, monkeypatch):
    from service.app import create_app

    monkeypatch.setenv("TAILOR_API_MAX_UPLOAD_MB", "1")
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as test_client:
        yield test_client


def _stored_customers(engine) -> int:
    with session_scope(engine) as session:
        return session.query(Customer).count()


@pytest.mark.parametrize("background", [False, True])
def test_an_upload_over_the_limit_is_refused_naming_the_setting_and_nothing_is_stored(
    small_upload_client, engine, background
):
    body = _customers_csv(1.5)
    response = small_upload_client.post(
        "/imports/customers", params={"background": background}, files={"file": ("big.csv", body, "text/csv")}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "ContentTooLarge"
    assert "1 MiB" in response.json()["message"] and "TAILOR_API_MAX_UPLOAD_MB" in response.json()["message"]
    assert _stored_customers(engine) == 0
    assert small_upload_client.get("/jobs").json() == []


def test_an_upload_that_names_no_length_is_cut_off_once_it_passes_the_limit(small_upload_client, engine):
    boundary = "x1y2"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()

    def chunks():  # a generator: sent chunked, without Content-Length
        yield head
        body = _customers_csv(1.5)
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]
        yield f"\r\n--{boundary}--\r\n".encode()

    response = small_upload_client.post(
        "/imports/customers", content=chunks(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 413
    assert "TAILOR_API_MAX_UPLOAD_MB" in response.json()["message"]
    assert _stored_customers(engine) == 0


def test_an_upload_under_the_limit_is_imported(small_upload_client, engine):
    response = small_upload_client.post(
        "/imports/customers", files={"file": ("small.csv", _customers_csv(0.5), "text/csv")}
    )
    assert response.status_code == 200, response.text
    assert _stored_customers(engine) == response.json()["rows"] > 10_000


def test_any_other_request_over_16_mib_is_refused(client):
    event = {"send_id": 1, "kind": "open", "event_id": "e" * 200}
    body = json.dumps({"events": [event] * 70_000}).encode()
    assert len(body) > 16 * 1024 * 1024
    response = client.post("/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {
        "error": "ContentTooLarge",
        "message": "The request body is larger than the 16 MiB this endpoint takes.",
        "problems": [],
    }

    def chunks():
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    response = client.post("/events", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "16 MiB" in response.json()["message"]


def test_an_upload_without_a_valid_key_may_send_no_more_than_any_request(engine, api_key):
    """The upload's body is read, its file spooled to disk, before the route checks the key: anyone on the
    internet could have the server write TAILOR_API_MAX_UPLOAD_MB (2 GiB) per request, as many at once as they
    liked, each answered 401 only once it was all on disk."""
    from service.app import create_app

    body = _customers_csv(17)
    with TestClient(create_app(engine)) as anyone:
        for headers in ({}, {"X-API-Key": "tk_not_a_key"}, {"Authorization": "Bearer tk_not_a_key"}):
            response = anyone.post("/imports/customers", files={"file": ("big.csv", body, "text/csv")}, headers=headers)
            assert response.status_code == 413, (headers, response.text)
            assert "16 MiB a request without a valid API key" in response.json()["message"]

        def chunks():  # sent without Content-Length: cut off once it passes 16 MiB
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
            yield body
            yield b"\r\n--b--\r\n"

        response = anyone.post(
            "/imports/customers", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
        assert response.status_code == 413 and "without a valid API key" in response.json()["message"]
        # with the key, the same body is an upload (refused here only for the name it was given)
        response = anyone.post(
            "/imports/customers", files={"file": ("big.xlsx", body, "text/csv")}, headers={"X-API-Key": api_key}
        )
        assert response.status_code == 422 and ".csv or .parquet" in response.text
    assert _stored_customers(engine) == 0


def test_a_body_that_comes_in_many_small_pieces_is_read_in_time_with_its_size():
    """A client that sends its body slowly has it arrive in small pieces. Each piece was added to a copy of those
    before it: 8 MiB in 1 KiB pieces, which any request without a key may send, took the server's one event loop a
    minute, every other request waiting."""
    pieces = 8 * 1024
    piece = b'{"events": []}'.ljust(1024)
    messages = iter([{"type": "http.request", "body": piece, "more_body": n < pieces - 1} for n in range(pieces)])

    async def receive() -> dict:
        return next(messages)

    read: list[bytes] = []
    reader = threading.Thread(target=lambda: read.append(asyncio.run(whole_body(receive))), daemon=True)
    reader.start()
    reader.join(timeout=5)  # about 10 ms read as it comes
    assert read == [piece * pieces]
