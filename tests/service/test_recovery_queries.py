"""Recovery at a server's start reads only what it judges: with no draft being sent and no job unfinished (most
starts), it neither asks for the senders' beats nor reads the database's clock."""

from __future__ import annotations

from sqlalchemy import event

from service.db.models import Job
from service.db.session import session_scope
from service.jobs.recovery import fail_interrupted_jobs, flag_interrupted_sends


def _statements(engine) -> list[str]:
    said: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: said.append(" ".join(args[2].split())))
    return said


def test_no_draft_being_sent_asks_for_no_sender_or_clock(engine):
    said = _statements(engine)
    with session_scope(engine) as session:
        assert flag_interrupted_sends(session) == []
    assert len(said) == 1 and said[0].startswith("SELECT drafts."), said


def test_a_start_with_nothing_left_running_reads_no_clock(engine):
    with session_scope(engine) as session:
        session.add(Job(id="done-1", kind="import", status="succeeded"))
    said = _statements(engine)
    assert fail_interrupted_jobs(engine) == []
    assert not [statement for statement in said if "database_now" in statement or "max(" in statement], said
    with session_scope(engine) as session:
        assert session.get(Job, "done-1").status == "succeeded"
