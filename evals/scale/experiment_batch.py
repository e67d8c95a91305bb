"""Experiment batch benchmark: the next batch of an experiment campaign that has already sent ``--sent`` emails in its
arms, sent through a real SMTP server on loopback that takes each email at once, timed.

    python -m evals.scale.experiment_batch [--sent 50000] [--batch 1000] [--out reports/]

The campaign allocates by clicks (the default) and tracks them; a fifth of its sends were clicked by a link scanner
(``machine_click``). Two batches are sent: one while no reader's click is recorded (the send's result warns that its
split had none), one after a reader clicked one email of each arm. Each batch's send allocates its arms by the outcomes
recorded so far and, as it ends, says whether any reader's outcome is: the report gives each batch's seconds, and how
many times it read the arms' outcomes (service.experiments.arm_outcomes) and their seconds. The unsubscribe links
lead to this machine, which a warning of each batch says. The database is a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from evals.datasets import exit_status
from evals.loopback import free_port
from evals.report import add_out_option, count_of_at_least_one, write_report

SCANNED_EVERY = 5  # one send in five clicked by a link scanner


class _Relay:
    """aiosmtpd's handler: takes each email at once."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        return "250 OK"


def _customers(session, prefix: str, count: int) -> list[int]:
    from sqlalchemy import insert, select

    from service.db.models import Customer

    rows = [
        {"external_id": f"{prefix}{i:07d}", "email": f"{prefix}{i:07d}@example.com".lower(), "marketing_consent": True}
        for i in range(count)
    ]
    session.execute(insert(Customer), rows)
    return list(session.scalars(select(Customer.id).where(Customer.external_id.startswith(prefix))))


def _sent_before(session, campaign_id: int, sent: int) -> list[int]:
    """``sent`` sends of the campaign in its arms A and B, a day ago, tracking clicks, with their assignments, and a
    tenth as many held out; a scanner's click on every fifth send. Their send ids."""
    from sqlalchemy import insert, select

    from service.clock import utcnow
    from service.db.models import Assignment, Event, Send
    from service.machine_clicks import MACHINE_CLICK

    customer_ids = _customers(session, "X", sent + sent // 10)
    sent_at = utcnow() - timedelta(days=1)
    arm_of = {customer_id: "AB"[i % 2] for i, customer_id in enumerate(customer_ids[:sent])}
    session.execute(
        insert(Send),
        [{"customer_id": customer_id, "campaign_id": campaign_id, "subject": "Hello", "campaign_type": "vip",
          "sent_at": sent_at, "to_email": f"x{customer_id}@example.com", "arm": arm, "tracking": "clicks"}
         for customer_id, arm in arm_of.items()],
    )  # fmt: skip
    send_ids = dict(session.execute(select(Send.customer_id, Send.id).where(Send.campaign_id == campaign_id)).all())
    assignments = [
        {"campaign_id": campaign_id, "customer_id": customer_id, "arm": arm, "send_id": send_ids[customer_id],
         "assigned_at": sent_at}
        for customer_id, arm in arm_of.items()
    ]  # fmt: skip
    assignments += [
        {"campaign_id": campaign_id, "customer_id": customer_id, "arm": "holdout", "assigned_at": sent_at}
        for customer_id in customer_ids[sent:]
    ]
    session.execute(insert(Assignment), assignments)
    scanned = [send_id for i, send_id in enumerate(send_ids.values()) if i % SCANNED_EVERY == 0]
    clicked_at = sent_at + timedelta(seconds=0.2)
    session.execute(insert(Event), [{"send_id": s, "kind": MACHINE_CLICK, "occurred_at": clicked_at} for s in scanned])
    return list(send_ids.values())


def _approved(session, campaign, prefix: str, count: int) -> None:
    """``count`` approved drafts of the campaign, each with variants A and B, for new customers."""
    from generation.brands import load_brand
    from service.db.models import Draft, Variant

    footer = load_brand("hearth").footer_for("en")
    drafts = []
    for customer_id in _customers(session, prefix, count):
        variants = [
            Variant(label=label, subject=f"Hello {label}", html=f"<p>Hi</p><p>{footer}</p>", text=f"Hi\n--\n{footer}\n")
            for label in "AB"
        ]
        drafts.append(Draft(campaign_id=campaign.id, customer_id=customer_id, status="approved", variants=variants))
    session.add_all(drafts)
    session.flush()
    for draft in drafts:
        draft.selected_variant_id = draft.variants[0].id


def _send_batch(engine, campaign_id: int, batch: int, port: int) -> dict:
    """One batch's send: its seconds, and the reads of the arms' outcomes it made (how many, their seconds)."""
    from service import experiments
    from service.pipeline.sending import send_campaign
    from service.settings import SmtpSettings

    read, reads = experiments.arm_outcomes, []

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return read(*args, **kwargs)
        finally:
            reads.append(time.perf_counter() - started)

    experiments.arm_outcomes = timed
    try:
        started = time.perf_counter()
        result = send_campaign(lambda *_: None, engine, campaign_id, settings=SmtpSettings(host="127.0.0.1", port=port),
                               limit=batch)  # fmt: skip
        seconds = time.perf_counter() - started
    finally:
        experiments.arm_outcomes = read
    return {"seconds": round(seconds, 2), "sent": result["sent"], "sent_by_arm": result.get("sent_by_arm"),
            "outcome_reads": len(reads), "outcome_read_seconds": round(sum(reads), 2),
            "warnings": result.get("warnings", [])}  # fmt: skip


def run(sent: int, batch: int, home: Path) -> dict:
    os.environ["TAILOR_HOME"] = str(home)
    os.environ["TAILOR_TRACK_CLICKS"] = "true"
    from aiosmtpd.controller import Controller
    from sqlalchemy import insert

    from service.campaigns import create_campaign
    from service.clock import utcnow
    from service.db.models import Event
    from service.db.session import default_engine, session_scope
    from service.schemas import CampaignIn

    engine = default_engine()  # migrated on creation
    with session_scope(engine) as session:
        spec = CampaignIn(name="Experiment benchmark", brand="hearth", campaign_type="vip", holdout_share=0.1)
        campaign = create_campaign(session, spec)
        campaign_id = campaign.id
        send_ids = _sent_before(session, campaign_id, sent)
        _approved(session, campaign, "N", 3 * batch)  # two batches and their holdout
    port = free_port()
    controller = Controller(_Relay(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        batches = {"no reader's click recorded": _send_batch(engine, campaign_id, batch, port)}
        with session_scope(engine) as session:  # a reader clicks an email of each arm
            read = [{"send_id": s, "kind": "click", "occurred_at": utcnow()} for s in send_ids[1:3]]
            session.execute(insert(Event), read)
        batches["readers' clicks recorded"] = _send_batch(engine, campaign_id, batch, port)
    finally:
        controller.stop()
    return {"database": engine.dialect.name, "sent_before": sent, "batch": batch, "batches": batches}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.scale.experiment_batch", description=__doc__.splitlines()[0])
    parser.add_argument("--sent", type=count_of_at_least_one, default=50_000, help="emails sent in the arms before")
    parser.add_argument("--batch", type=count_of_at_least_one, default=1_000, help="emails a batch (default 1,000)")
    add_out_option(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tailor-experiment-batch-") as home:
        report = run(args.sent, args.batch, Path(home))
    lines = ["| batch | seconds | sent | outcome reads | their seconds | warnings |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {name} | {figures['seconds']} | {figures['sent']:,} | {figures['outcome_reads']} | "
        f"{figures['outcome_read_seconds']} | {len(figures['warnings'])} |"
        for name, figures in report["batches"].items()
    ]
    markdown = f"An experiment's batches after {args.sent:,} sends in its arms\n\n" + "\n".join(lines)
    print(markdown)
    print(f"wrote {write_report(report, markdown, args.out, f'experiment-batch-{args.sent}-{args.batch}')}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main))
