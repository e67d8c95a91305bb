"""A try of a job's announcement is claimed on its row (service.jobs.webhooks), and a process acts on its claim only
while it holds: not on another's claim that the row shows alike."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import event

from service.db.clock import database_now, now_in_database
from service.db.models import Job
from service.db.session import session_scope
from service.jobs import webhooks
from service.jobs.recovery import _fail_as_interrupted
from service.jobs.runner import _write_ending, corrected_ending
from tests.service.test_webhooks import _pending


class _InTurn(BaseHTTPRequestHandler):
    """Answers each announcement once ``turns`` (by the announced job's status) says to: its wait, then its status."""

    turns: dict = {}
    answered: list[tuple[str, str | None, int]] = []  # (status, the status it corrects, the answer)

    def do_POST(self):  # noqa: N802 (the standard library's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status, corrects = body["job"]["status"], body.get("corrects", {}).get("status")
        answer = self.turns.get(status, lambda: 204)()
        type(self).answered.append((status, corrects, answer))
        self.send_response(answer)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver_in_turn(monkeypatch):
    """A receiver on loopback that answers as ``_InTurn.turns`` says, named by TAILOR_WEBHOOK_URL."""
    _InTurn.turns, _InTurn.answered = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _InTurn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("TAILOR_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/tailor-events")
    monkeypatch.setenv("TAILOR_WEBHOOK_RETRY_SECONDS", "0.05")
    yield _InTurn
    server.shutdown()


def test_a_try_claimed_in_the_same_millisecond_as_a_newer_ending_s_is_not_taken_for_it(
    engine, receiver_in_turn, monkeypatch
):
    """SQLite's clock counts milliseconds. Another process failed a job as interrupted and claimed its announcement's
    first try; the job's own process, which had only stalled, wrote its ending, owed over that one, and claimed it
    in the same millisecond (here the database's clock stands still): both claims wrote the row alike (first try,
    the same next try), so the other process, its try delivered, noted the new ending delivered, which its own
    process then failed to deliver: it was never announced, and the receiver kept the job for failed."""
    with session_scope(engine) as session:
        session.add(
            Job(id="stalled", kind="train", status="running", worker="elsewhere:1:x", heartbeat_at=database_now())
        )
    with session_scope(engine) as session:  # another process's recovery: the job missed its beats
        assert _fail_as_interrupted(session, session.get(Job, "stalled"))
        moment = now_in_database(session).isoformat(sep=" ")

    def in_one_millisecond(_connection, _cursor, statement, parameters, *_):
        return statement.replace("'now'", f"'{moment}'"), parameters

    other_posted, own_claimed, other_done = threading.Event(), threading.Event(), threading.Event()

    def the_other_s_try() -> int:  # delivered, once the job's own process has claimed its ending's try
        other_posted.set()
        assert own_claimed.wait(30)
        return 204

    def the_own_try() -> int:  # not delivered, once the other process has noted its try delivered
        assert other_done.wait(30)
        return 500

    receiver_in_turn.turns = {"failed": the_other_s_try, "succeeded": the_own_try}
    claim_owed = webhooks._claim_owed

    def claimed_and_told(*args):
        claim = claim_owed(*args)
        if other_posted.is_set():  # the job's own process's claim, once the other's try is on its way
            own_claimed.set()
        return claim

    monkeypatch.setattr(webhooks, "_claim_owed", claimed_and_told)
    event.listen(engine, "before_cursor_execute", in_one_millisecond, retval=True)
    try:
        other = threading.Thread(target=lambda: (webhooks.announce_job(engine, "stalled"), other_done.set()))
        other.start()
        assert other_posted.wait(30)  # its try read the job failed, and is on its way
        _write_ending(engine, "stalled", {"status": "succeeded", "result": {"trained": True}})
        assert webhooks.announce_job(engine, "stalled", None, corrected_ending("stalled")) is False
        other.join(30)
    finally:
        event.remove(engine, "before_cursor_execute", in_one_millisecond)
    assert receiver_in_turn.answered == [("failed", None, 204), ("succeeded", "failed", 500)]
    assert _pending(engine) == [("stalled", 1)]  # the own ending's try is kept, not taken for delivered

    receiver_in_turn.turns = {}
    threading.Event().wait(0.2)  # its next try's wait (0.05 s doubled) is past
    webhooks.deliver_pending(engine)
    assert receiver_in_turn.answered[2:] == [("succeeded", "failed", 204)]
    assert _pending(engine) == []
