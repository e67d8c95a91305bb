"""`tailor send-due`: the server's due-check, for a shop that runs Tailor from cron alone. Drafts waiting for their
send time (a best hour, the contact policy's wait, a refused address's retry) went out only with a running server's
due-check, or another `tailor send --campaign N` for each campaign."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from datetime import timedelta

from sqlalchemy import func, select

from generation.brands import UNSUBSCRIBE_PLACEHOLDER
from service.campaigns import ensure_brand
from service.clock import utcnow
from service.db.models import Campaign, Customer, Draft, Job, Send, Variant
from service.db.session import session_scope
from service.jobs.recovery import worker_name
from service.signed_links import UnsubscribeLinks
from tests import forked_cli
from tests.conftest import free_port
from tests.service.test_cli import TAILOR, run
from tests.service.test_send_claims import DUE_CHECK


def campaign_with_drafts(engine, name: str, due: int, later: int = 0) -> int:
    """A campaign of ``due`` approved drafts whose send time has passed and ``later`` ones due tomorrow."""
    with session_scope(engine) as session:
        campaign = Campaign(name=name, brand=ensure_brand(session, "hearth"), campaign_type="cross_sell")
        session.add(campaign)
        for n in range(due + later):
            customer = Customer(external_id=f"{name}{n}", email=f"{name}{n}@example.com", marketing_consent=True)
            variant = Variant(label="A", subject="Hello", html=f"<p>{UNSUBSCRIBE_PLACEHOLDER}</p>", text="Hello")
            send_after = utcnow() + (timedelta(days=1) if n >= due else -timedelta(minutes=1))
            draft = Draft(
                campaign=campaign, customer=customer, status="approved", variants=[variant], send_after=send_after,
                position=n,
            )  # fmt: skip
            session.add(draft)
            session.flush()
            draft.selected_variant_id = variant.id
        return campaign.id


def due_check_jobs(engine) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        return session.execute(select(Job.status, Job.worker).where(Job.kind == "send_due")).all()


def test_send_due_mails_each_campaign_s_due_drafts_and_says_so_per_campaign(engine, tailor_home, mail_server,
                                                                             live_server, monkeypatch):  # fmt: skip
    controller, messages = mail_server
    autumn = campaign_with_drafts(engine, "autumn", due=2, later=1)
    winter = campaign_with_drafts(engine, "winter", due=1)
    monkeypatch.setenv("TAILOR_PUBLIC_URL", f"http://127.0.0.1:{free_port()}")  # where nothing answers

    refused = run(["send-due"], tailor_home, TAILOR_SMTP_PORT=str(controller.port))

    assert refused.returncode == 2 and messages == [], refused.stdout
    assert "Nothing was sent: the emails' unsubscribe links would lead to http://127.0.0.1:" in refused.stderr
    assert "--unchecked-links" in refused.stderr
    monkeypatch.setenv("TAILOR_PUBLIC_URL", live_server)  # a Tailor server answers there

    sent = run(["send-due"], tailor_home, TAILOR_SMTP_PORT=str(controller.port))

    assert sent.returncode == 0, sent.stderr
    lines = sent.stdout.splitlines()
    assert lines[lines.index(f"campaign {autumn}:") + 1] == "  sent 2 emails"
    assert lines[lines.index(f"campaign {autumn}:") + 2].startswith(
        "  1 approved draft waits for its send time; the next falls due "
    )
    assert lines[lines.index(f"campaign {winter}:") + 1] == "  sent 1 email"
    assert sorted(m["To"] for m in messages) == ["autumn0@example.com", "autumn1@example.com", "winter0@example.com"]
    # a job each, as GET /jobs lists the server's due-checks: the one refused for its links failed
    assert sorted(status for status, _worker in due_check_jobs(engine)) == ["failed", "succeeded"]

    again = run(["send-due"], tailor_home, TAILOR_SMTP_PORT=str(controller.port))

    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "nothing is due"
    assert len(messages) == 3


def test_send_due_with_nothing_due_records_no_job(engine, tailor_home):
    """Run from cron every few minutes, each run wrote a due-check job that did nothing (and announced it to the
    webhook): `tailor jobs list` showed only those, the server's due-check submitting one only when a draft is due."""
    campaign_with_drafts(engine, "later", due=0, later=1)

    idle = run(["send-due"], tailor_home)

    assert idle.returncode == 0, idle.stderr
    assert idle.stdout.splitlines() == ["nothing is due"]
    assert due_check_jobs(engine) == []


def test_send_due_with_the_mail_server_down_fails_with_the_reason_and_keeps_the_drafts(engine, tailor_home,
                                                                                       live_server):  # fmt: skip
    campaign_id = campaign_with_drafts(engine, "spring", due=2)

    failed = run(["send-due"], tailor_home, TAILOR_SMTP_PORT=str(free_port()), TAILOR_PUBLIC_URL=live_server)

    assert failed.returncode == 2, failed.stdout
    assert "Traceback" not in failed.stderr
    assert failed.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Cannot connect to the SMTP server at 127.0.0.1:" in failed.stderr and "nothing was sent" in failed.stderr
    with session_scope(engine) as session:
        statuses = session.scalars(select(Draft.status).where(Draft.campaign_id == campaign_id)).all()
    assert statuses == ["approved", "approved"]
    [(status, _worker)] = due_check_jobs(engine)
    assert status == "failed"


def test_a_mail_server_wait_or_port_no_connection_can_have_is_one_line_naming_the_variable(
    engine, tailor_home, mail_server, live_server
):
    """TAILOR_SMTP_TIMEOUT_SECONDS=0 (a non-blocking socket to smtplib), a negative or infinite one, failed each send
    in a page of the socket library's traceback, and a port past 65535 was tried as a connection refused."""
    controller, messages = mail_server
    campaign_id = campaign_with_drafts(engine, "summer", due=1)
    for name, value in [("TAILOR_SMTP_TIMEOUT_SECONDS", "0"), ("TAILOR_SMTP_TIMEOUT_SECONDS", "-1"),
                        ("TAILOR_SMTP_TIMEOUT_SECONDS", "inf"), ("TAILOR_SMTP_PORT", "70000")]:  # fmt: skip
        settings = {"TAILOR_SMTP_PORT": str(controller.port), name: value}

        refused = run(["send", "--campaign", str(campaign_id)], tailor_home, TAILOR_PUBLIC_URL=live_server, **settings)

        assert refused.returncode == 2, refused.stdout
        [line] = refused.stderr.strip().splitlines()
        assert line.startswith(f"error: the environment is not valid: {name}='{value}': Input should be "), line
    assert messages == []
    with session_scope(engine) as session:
        assert session.scalars(select(Draft.status).where(Draft.campaign_id == campaign_id)).all() == ["approved"]


def test_send_due_leaves_the_drafts_to_a_due_check_another_process_runs(engine, tailor_home, mail_server):
    """Cron's run beside a server's due-check (its job running, beating) starts no second one."""
    controller, messages = mail_server
    campaign_with_drafts(engine, "summer", due=1)
    with session_scope(engine) as session:
        session.add(Job(id="server-due-check", kind="send_due", status="running", worker=worker_name(),
                        heartbeat_at=utcnow()))  # fmt: skip

    left = run(["send-due"], tailor_home, TAILOR_SMTP_PORT=str(controller.port))

    assert left.returncode == 0, left.stderr
    assert left.stdout.splitlines()[-1] == "a due-check is running already (job server-due-check): it sends what is due"
    assert messages == [] and due_check_jobs(engine) == [("running", worker_name())]


def test_send_due_and_a_server_s_due_check_at_once_mail_each_draft_once(shared_engine, tailor_home, mail_server,
                                                                        monkeypatch):  # fmt: skip
    """The server's due-check (another process) mails slowly while cron's run starts: each claims a draft before
    mailing it, so no customer gets two emails. On PostgreSQL the two share the drafts out; on SQLite, whose one
    writer the server's send holds while the mail server takes each email, cron's run mostly waits for the end."""
    controller, messages = mail_server
    received = controller.handler.handle_DATA
    connections = []  # the SMTP connections that delivered an email, in the order of their first: the server's first

    async def after_cron_s_first(server, session, envelope):
        """On PostgreSQL the server's emails after its first wait at the mail server until cron's run has mailed one
        over a connection of its own (100 s at most; a machine at a load of 15 on two cores took 42 s to start it):
        paced at 0.5 s an email, 15 s in all, a loaded machine (three test workers on two cores) still started cron's
        run after the server's due-check had mailed all 30, and the test failed."""
        deadline = time.monotonic() + 100
        while connections == [session] and time.monotonic() < deadline:  # the server's, and none of cron's yet
            await asyncio.sleep(0.02)
        answer = await received(server, session, envelope)
        if session not in connections:
            connections.append(session)
        return answer

    async def slowly(*args):
        """On SQLite, whose one writer the server's send holds while the mail server takes each email, 0.2 s an
        email (6 s in all, within the 10 s cron's writes wait for it), so that cron's run starts during the send."""
        await asyncio.sleep(0.2)
        return await received(*args)

    if shared_engine.dialect.name == "postgresql":
        controller.handler.handle_DATA = after_cron_s_first
        monkeypatch.setenv("TAILOR_SMTP_TIMEOUT_SECONDS", "110")  # the answer to an email held that long
    else:
        controller.handler.handle_DATA = slowly
    url = shared_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("DATABASE_URL", url)
    UnsubscribeLinks.configured()  # the signing key both share, made before they start
    campaign_id = campaign_with_drafts(shared_engine, "shared", due=30)
    server = forked_cli.popen([sys.executable, "-c", DUE_CHECK, url, str(time.time())], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=dict(os.environ))  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not messages and time.monotonic() < deadline:  # the server's check is mailing
            time.sleep(0.05)
        cron = forked_cli.run([*TAILOR, "send-due", "--unchecked-links"], capture_output=True, text=True,
                              env=dict(os.environ), timeout=120)  # fmt: skip
    finally:
        server_out, server_err = server.communicate(timeout=120)

    assert server.returncode == 0 and cron.returncode == 0, (server_err, cron.stderr)
    assert sorted(m["To"] for m in messages) == sorted(f"shared{n}@example.com" for n in range(30))
    with session_scope(shared_engine) as session:
        assert session.scalar(select(func.count()).select_from(Send)) == 30
        statuses = session.scalars(select(Draft.status).where(Draft.campaign_id == campaign_id)).all()
        assert statuses == ["sent"] * 30
    if shared_engine.dialect.name == "postgresql":  # the two overlapped: each mailed some of them
        cron_sent = next((int(line.split()[1]) for line in cron.stdout.splitlines() if line.startswith("  sent ")), 0)
        server_sent = int(re.search(r"'sent': (\d+)", server_out).group(1))
        assert cron_sent > 0 and server_sent > 0 and cron_sent + server_sent == 30, (cron.stdout, server_out)


def test_send_due_tells_a_campaign_left_for_the_next_check_and_one_the_mail_server_stopped(capsys):
    """A campaign being generated since the check began, and the counts a failed send kept (no `waiting` among
    them), each told under its id rather than ending the command in a KeyError."""
    from service.cli_sending import _tell_due_sends

    _tell_due_sends({
        "4": {"sent": 0, "not_sent": "Campaign 4 is being generated: send it once it is ready."},
        "7": {"sent": 2, "skipped": 0, "deferred": 0, "refused": []},
    })  # fmt: skip

    assert capsys.readouterr().out.splitlines() == [
        "campaign 4: not sent now: Campaign 4 is being generated: send it once it is ready.",
        "campaign 7:",
        "  sent 2 emails",
    ]
