"""POST /imports/{kind}?background=true: the upload is staged and imported by a job, as the request would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.db.models import Customer, Interaction, Job
from service.db.session import session_scope
from tests.service.conftest import wait_for_job
from tests.service.test_importing import CUSTOMERS, ORDERS, PRODUCTS


def _post(client, kind: str, frame: pd.DataFrame, background: bool, name: str | None = None):
    body = frame.to_csv(index=False).encode()
    files = {"file": (name or f"{kind}.csv", body, "text/csv")}
    return client.post(f"/imports/{kind}", files=files, params={"background": "true"} if background else {})


def _in_background(client, kind: str, frame: pd.DataFrame, name: str | None = None) -> dict:
    """Upload `frame` with background=true; the job as it ended."""
    response = _post(client, kind, frame, background=True, name=name)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.json() == {"job_id": job_id, "status_url": f"/jobs/{job_id}"}
    return wait_for_job(client, job_id, timeout=60)


def _count(engine, model) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def _staged_files(tailor_home: Path) -> list[Path]:
    return [path for path in (tailor_home / "staging").rglob("*") if path.is_file()]


def _written_before(staged: Path, seconds: float) -> None:
    """Date a staged file, and its folder, ``seconds`` back: when it was last written."""
    then = time.time() - seconds
    for path in (staged, staged.parent):
        os.utime(path, (then, then))


def test_a_background_upload_imports_as_the_request_would_and_removes_its_staged_file(client, engine, tailor_home):
    """A million order lines took about 25 s inside the request, past the timeouts of the proxies in front."""
    job = _in_background(client, "customers", CUSTOMERS)
    assert (job["kind"], job["status"], job["progress"]) == ("import", "succeeded", 1.0), job["error"]
    assert job["result"] == {
        "kind": "customers", "rows": 2, "inserted": 2, "updated": 0, "unchanged": 0, "left_out": 0, "drafts_moved": 0,
        "warnings": [], "date_orders": [],
        "audience_job_id": None, "audience_status_url": None, "audience_not_recomputed": None,
    }  # fmt: skip
    assert _count(engine, Customer) == 2 and _staged_files(tailor_home) == []
    in_request = _post(client, "customers", CUSTOMERS, background=False)
    assert in_request.status_code == 200 and (in_request.json()["updated"], in_request.json()["unchanged"]) == (0, 2)
    assert _in_background(client, "customers", CUSTOMERS)["result"] == in_request.json()

    assert _post(client, "products", PRODUCTS, background=False).status_code == 200
    job = _in_background(client, "orders", ORDERS)
    result = job["result"]
    assert (job["status"], result["rows"], result["inserted"], result["updated"]) == ("succeeded", 3, 3, 0)
    assert result["audience_job_id"] and result["audience_status_url"] == f"/jobs/{result['audience_job_id']}"
    refresh = wait_for_job(client, result["audience_job_id"], timeout=60)
    assert (refresh["kind"], refresh["status"]) == ("audience", "succeeded"), refresh["error"]
    assert _count(engine, Interaction) == 3 and _staged_files(tailor_home) == []


def test_an_import_cancelled_in_the_queue_removes_its_staged_upload(client, engine, tailor_home):
    """The copy of the shop's customers stayed on disk until the process died and the next start removed it."""
    release = threading.Event()
    client.app.state.tailor.jobs.submit("train", lambda progress: {"waited": release.wait(30)})  # holds the queue
    try:
        job_id = _post(client, "customers", CUSTOMERS, background=True).json()["job_id"]
        [staged] = _staged_files(tailor_home)
        assert staged.stat().st_mode & 0o777 == 0o600  # a copy of the shop's customers: its user's alone
        assert client.post(f"/jobs/{job_id}/cancel").json()["status"] == "cancelled"
        assert _staged_files(tailor_home) == []
    finally:
        release.set()
    client.app.state.tailor.jobs.wait(job_id, timeout=30)
    assert _count(engine, Customer) == 0


def test_a_file_that_is_neither_csv_nor_parquet_is_refused_before_any_job(client, engine, tailor_home):
    """An .xlsx uploaded with background=true was answered 202, stored, and failed by its job later."""
    for background in (True, False):
        refused = _post(client, "customers", CUSTOMERS, background=background, name="kunden.xlsx")
        assert refused.status_code == 422, background
        assert (
            refused.json()["message"]
            == "customers file kunden.xlsx rejected, nothing was written: must be a .csv or .parquet (.pq) file, and "
            "this is an Excel workbook (.xlsx): save the sheet as CSV UTF-8 and import that"
        )
        assert refused.json()["problems"][0]["file"] == "kunden.xlsx"
    assert _staged_files(tailor_home) == [] and client.get("/jobs", params={"kind": "import"}).json() == []
    nameless = _post(client, "customers", CUSTOMERS, background=False, name="customers")  # no suffix: read as CSV
    assert nameless.status_code == 200, nameless.text


def test_a_bad_file_fails_its_job_with_the_problems_the_request_answers(client, engine, tailor_home):
    bad = CUSTOMERS.assign(email=["anna@example.com", "not an address"])
    job = _in_background(client, "customers", bad)
    assert job["status"] == "failed" and "row 3, column 'email': is not an email address" in job["error"]
    assert job["message"] == f"failed: {job['error']}"  # it kept "reading the file", as if it still read it
    assert client.get("/jobs", params={"status": "failed"}).json()[0]["message"] == job["message"]
    in_request = _post(client, "customers", bad, background=False)
    assert in_request.status_code == 422 and job["result"] == in_request.json()
    assert job["result"]["problems"] == [
        {"file": "customers.csv", "row": 3, "column": "email", "message": "is not an email address"}
    ]
    assert _count(engine, Customer) == 0 and _staged_files(tailor_home) == []

    latin1 = CUSTOMERS.assign(first_name=["Anna", "Zoë"]).to_csv(index=False).encode("latin-1")
    response = client.post(
        "/imports/customers", params={"background": "true"}, files={"file": ("kunden.csv", latin1, "text/csv")}
    )
    job = wait_for_job(client, response.json()["job_id"], timeout=60)
    assert job["status"] == "failed" and job["result"]["message"].startswith("customers file kunden.csv rejected")
    assert job["result"]["problems"][0]["row"] == 3 and "staging" not in str(job)
    assert _count(engine, Customer) == 0 and _staged_files(tailor_home) == []


def test_the_job_shows_rows_written_while_it_writes(client, engine, tailor_home, monkeypatch):
    """Written in batches of 3 here; the job stops before its 2nd and 4th batch while the test reads its status.
    SQLite's write lock is the job's meanwhile, so the figures come from memory (Progress). The rows are named as
    the shop knows them, order lines, as the other kinds' are (customers, products, sends): the message said
    "writing interactions", the table's name."""
    from service.importing import writes

    monkeypatch.setattr(writes, "WRITE_BATCH", 3)
    gates = {2: (threading.Event(), threading.Event()), 4: (threading.Event(), threading.Event())}
    calls, plain_records = [], writes.plain_records

    def pausing(frame: pd.DataFrame) -> list[dict]:
        calls.append(len(frame))
        if len(calls) in gates:
            reached, go = gates[len(calls)]
            reached.set()
            go.wait(timeout=30)
        return plain_records(frame)

    monkeypatch.setattr(writes, "plain_records", pausing)
    for kind, frame in (("customers", CUSTOMERS), ("products", PRODUCTS)):
        assert _post(client, kind, frame, background=False).status_code == 200
    n = 12
    orders = pd.DataFrame(
        {
            "order_id": [f"b{i // 2}" for i in range(n)], "customer_id": ["c1", "c2"] * (n // 2),
            "product_id": ["T1", "K1"] * (n // 2), "quantity": "1", "amount": "9.5",
            "timestamp": "2026-03-01 09:00",
        }
    )  # fmt: skip
    response = _post(client, "orders", orders, background=True)
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    seen = []
    try:
        for step in sorted(gates):
            reached, go = gates[step]
            assert reached.wait(timeout=30), client.get(f"/jobs/{job_id}").json()
            assert len(_staged_files(tailor_home)) == 1  # the upload stays staged while its job runs
            job = client.get(f"/jobs/{job_id}").json()
            seen.append((job["status"], job["done"], job["total"], job["progress"], job["message"]))
            go.set()
    finally:
        for _reached, go in gates.values():
            go.set()
    assert seen == [
        ("running", 3, n, 0.25, "writing order lines"),
        ("running", 9, n, 0.75, "writing order lines"),
    ]
    job = wait_for_job(client, job_id, timeout=60)
    assert (job["status"], job["done"], job["total"], job["result"]["inserted"]) == ("succeeded", n, n, n)
    assert job["message"] == f"imported {n} rows of orders: {n} new, 0 updated"  # it kept saying "writing order lines"
    assert _count(engine, Interaction) == n and _staged_files(tailor_home) == []


def test_a_restarted_server_fails_a_stranded_import_and_removes_its_upload(engine, api_key, tailor_home):
    """An import job of a process that died is failed as any job is; its staged upload would stay forever."""
    from datetime import timedelta

    from service.app import create_app
    from service.clock import utcnow
    from service.importing.background import process_folder
    from service.jobs.recovery import interrupted

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    host = tailor_home / "staging" / socket.gethostname()
    stranded, live = host / dead / "orders.csv", host / process_folder() / "orders.csv"
    for path in (stranded, live):
        path.parent.mkdir(parents=True)
        path.write_text("order_id\n")
    _written_before(stranded, 60)  # before its process died, a minute ago
    job_id = "stranded-import"
    with session_scope(engine) as session:  # its process died a minute ago: so did its beats
        last_beat = utcnow() - timedelta(minutes=1)
        worker = f"{socket.gethostname()}:{dead}"
        session.add(Job(id=job_id, kind="import", status="running", worker=worker, heartbeat_at=last_beat,
                        message="writing order lines"))  # fmt: skip

    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as client:
        job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "failed" and job["error"] == interrupted("import")
    assert job["message"] == f"failed: {interrupted('import')}"  # not still "writing order lines"
    assert not stranded.parent.exists() and live.exists()


def test_an_upload_copied_before_its_job_exists_is_kept_from_a_second_container_s_start(
    engine, api_key, tailor_home, monkeypatch
):
    """A server starting in a second container with this hostname and pid (each its own PID 1), sharing the home
    folder, took the first one, copying an upload before its import job existed, for its own dead predecessor, and
    removed the copy as it was made: the job then found no file. One a process left as it died is removed by the
    sweep once older than a job's missed beats (at start it is kept as any fresh one)."""
    from service.app import create_app
    from service.jobs.recovery import beats_missed_seconds, worker_name

    monkeypatch.setenv("TAILOR_JOBS_SWEEP_SECONDS", "0.2")
    first_server = f"{worker_name().rsplit(':', 1)[0]}:0another0boot"  # no job yet: judged by its name
    copying = tailor_home / "staging" / socket.gethostname() / first_server.split(":", 1)[1].replace(":", "-")
    copying.mkdir(parents=True)
    (copying / "orders.csv").write_text("order_id\n")
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}):
        time.sleep(1)  # its start, and sweeps
        assert (copying / "orders.csv").exists()
        _written_before(copying / "orders.csv", beats_missed_seconds() + 1)  # its process died as it copied
        deadline = time.monotonic() + 10
        while copying.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not copying.exists()


def test_a_background_import_says_how_many_rows_of_erased_customers_it_left_out(client):
    _in_background(client, "customers", CUSTOMERS)
    assert client.delete("/customers/c2").status_code == 204
    job = _in_background(client, "customers", CUSTOMERS)
    assert (job["result"]["rows"], job["result"]["left_out"]) == (1, 1)
    assert job["message"] == (
        "imported 1 row of customers: 0 new, 0 updated, 1 unchanged, 1 row of an erased customer left out"
    )


def test_an_upload_the_disk_cannot_hold_leaves_no_staged_copy(tmp_path):
    """On a full disk the staged upload stayed behind, part of the shop's data, until the server restarted."""
    import errno
    import io

    import pytest

    from service.importing.background import _stage

    class FillsTheDisk(io.BytesIO):
        def read(self, size=-1):
            if self.tell():
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().read(8)

    with pytest.raises(OSError, match="No space left"):
        _stage(FillsTheDisk(b"customer_id,email\nc1,a@example.com\n"), ".csv", tmp_path)
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_an_orders_file_that_changes_nothing_queues_no_audience_refresh_and_says_why(client, engine):
    """The same orders file imported again (every line as stored) still queued a job recomputing every segment,
    churn risk and CLV, which came out as they were."""
    for kind, frame in (("customers", CUSTOMERS), ("products", PRODUCTS)):
        assert _post(client, kind, frame, background=False).json()["audience_job_id"] is None  # nor these kinds
    first = _post(client, "orders", ORDERS, background=False).json()
    assert first["audience_job_id"] and first.get("audience_not_recomputed") is None
    assert wait_for_job(client, first["audience_job_id"], timeout=60)["status"] == "succeeded"

    again = _post(client, "orders", ORDERS, background=False).json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert (again["audience_job_id"], again["audience_status_url"]) == (None, None)
    assert again["audience_not_recomputed"] == "nothing changed: every line of the file is as stored"
    job = _in_background(client, "orders", ORDERS)
    assert job["status"] == "succeeded" and job["result"] == again
    assert job["message"] == (
        "imported 3 rows of orders: 0 new, 0 updated, 3 unchanged; the audience was not recomputed: nothing changed: "
        "every line of the file is as stored"
    )
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.kind == "audience")) == 1

    changed = _post(client, "orders", ORDERS.assign(quantity=["3", "1", "1"]), background=False).json()
    assert changed["updated"] == 1 and changed["audience_job_id"] and changed.get("audience_not_recomputed") is None
    assert wait_for_job(client, changed["audience_job_id"], timeout=60)["status"] == "succeeded"
