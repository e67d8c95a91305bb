"""A write that waits too long for SQLite's one write lock (a big import holds it while it writes) is answered
503 with a way forward, not a bare 500: nothing of the request was written, and it can be sent again."""

from __future__ import annotations


def test_a_write_that_cannot_get_the_lock_is_a_503_and_writes_nothing(client, locked):
    body = {"name": "Busy", "brand": "hearth", "campaign_type": "vip"}
    release = locked()
    busy = client.post("/campaigns", json=body)
    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == "30" and busy.json()["error"] == "DatabaseBusy"
    assert "nothing of this request was written" in busy.json()["message"]
    release()
    assert client.get("/campaigns").json() == []
    assert client.post("/campaigns", json=body).status_code == 201  # the same request, sent again


def test_the_review_page_shows_a_busy_database_as_a_page(client, engine, api_key, locked):
    from service.db.models import Customer, Draft, Variant
    from service.db.session import session_scope

    campaign_id = client.post("/campaigns", json={"name": "x", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        customer = Customer(external_id="b1", email="b1@example.com", marketing_consent=True)
        draft = Draft(campaign_id=campaign_id, customer=customer, variants=[Variant(label="A", subject="Hi")])
        session.add(draft)
        session.flush()
        draft_id = draft.id
    client.post("/review/login", data={"api_key": api_key, "reviewer": "Ada"})
    release = locked()
    page = client.post(f"/review/drafts/{draft_id}/approve", data={})
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    # the draft's own page, saying why, with what was typed still in the form
    assert 'id="error">The database is busy' in page.text and "Try again in 30 s" in page.text
    assert page.headers["retry-after"] == "30" and 'id="status">pending' in page.text
    release()
    assert client.get(f"/drafts/{draft_id}").json()["status"] == "pending"


def test_a_database_that_went_away_is_a_503_in_the_api_s_body_not_a_plain_text_500(tmp_path, monkeypatch):
    """With PostgreSQL stopped, every endpoint, /health too, answered a plain-text 500 "Internal Server Error"
    where the API documents 503 with its error body."""
    import shutil

    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.auth import create_key
    from service.db.migrate import upgrade
    from service.db.session import make_engine, session_scope

    folder = tmp_path / "db"
    engine = make_engine(f"sqlite:///{folder / 'tailor.db'}")
    upgrade(engine)
    with session_scope(engine) as session:
        key = create_key(session, "tests")
    with TestClient(create_app(engine), headers={"X-API-Key": key}, raise_server_exceptions=False) as client:
        assert client.get("/health").status_code == 200
        engine.dispose()
        shutil.rmtree(folder)  # the database file and its folder are gone: SQLite cannot open it
        for path in ("/health", "/customers/c1"):
            response = client.get(path)
            assert response.status_code == 503, (path, response.text)
            body = response.json()
            assert body["error"] == "DatabaseUnavailable"
            assert body["message"].startswith(  # the reason and the file go to the log, not to any caller
                "The database file is not there any more"
                if path == "/health"
                else "The database cannot be used (the server's log says why)."
            )
            assert str(folder) not in response.text and "unable to open" not in response.text
