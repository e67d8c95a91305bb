"""Sending benchmark: a campaign's approved drafts sent through a real SMTP server on loopback that takes
``--relay-ms`` over each email, as a relay elsewhere does, while another thread writes one row at a time, as the
review page's approvals and the recipients' unsubscribe clicks do meanwhile.

    python -m evals.scale.sending [--emails 1000] [--relay-ms 20] [--connections 1] [--out reports/]

Reports emails a second and how long each of the other writes waited (median, 99th percentile, longest), and how
many failed. On SQLite a transaction that writes holds the database's one write lock: a send that kept one open
while the relay took an email made every other write wait for it. The database is a fresh SQLite file, or the
PostgreSQL database ``DATABASE_URL`` names (emptied of nothing: use a database of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from evals.datasets import exit_status
from evals.loopback import free_port
from evals.report import add_out_option, count_of_at_least_one, write_report

PAUSE_BETWEEN_WRITES = 0.02  # seconds: an approval or a click every 20 ms, far more than a review page makes


class _Relay:
    """aiosmtpd's handler: takes each email after ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.taken = seconds, 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        await asyncio.sleep(self.seconds)
        self.taken += 1
        return "250 OK"


def _approved_campaign(engine, emails: int) -> tuple[int, list[int]]:
    """A campaign with ``emails`` approved drafts, one a customer; and the ids of those customers."""
    from generation.brands import load_brand
    from service.campaigns import create_campaign
    from service.db.models import Customer, Draft, Variant
    from service.db.session import session_scope
    from service.schemas import CampaignIn

    footer = load_brand("hearth").footer_for("en")
    with session_scope(engine) as session:
        campaign = create_campaign(session, CampaignIn(name="Sending benchmark", brand="hearth", campaign_type="vip"))
        customers = [
            Customer(external_id=f"S{i:07d}", email=f"s{i:07d}@example.com", marketing_consent=True)
            for i in range(emails)
        ]
        for customer in customers:
            variant = Variant(label="A", subject="Hello", html=f"<p>Hi</p><p>{footer}</p>", text=f"Hi\n--\n{footer}\n")
            session.add(Draft(campaign=campaign, customer=customer, status="approved", variants=[variant]))
        session.flush()
        for draft in campaign.drafts:
            draft.selected_variant_id = draft.variants[0].id
        return campaign.id, [customer.id for customer in customers]


def _write_meanwhile(engine, customer_ids: list[int], stop: threading.Event, waits: list[float], failed: list[str]):
    """One-row writes, one after another, until ``stop``: each one's wall time into ``waits``."""
    from sqlalchemy import update

    from service.db.models import Customer
    from service.db.session import session_scope

    for customer_id in customer_ids * 1000:
        if stop.is_set():
            return
        started = time.perf_counter()
        try:
            with session_scope(engine) as session:
                session.execute(update(Customer).where(Customer.id == customer_id).values(first_name="Ann"))
        except Exception as error:  # database busy: what a request would have answered 503
            failed.append(f"{type(error).__name__}: {error}"[:200])
        waits.append(time.perf_counter() - started)
        time.sleep(PAUSE_BETWEEN_WRITES)


def run(emails: int, relay_ms: float, home: Path, connections: int = 1) -> dict:
    os.environ["TAILOR_HOME"] = str(home)
    from aiosmtpd.controller import Controller

    from service.db.session import default_engine
    from service.pipeline.sending import send_campaign
    from service.settings import SmtpSettings

    engine = default_engine()  # migrated on creation
    campaign_id, customer_ids = _approved_campaign(engine, emails)
    relay, port = _Relay(relay_ms / 1000), free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    stop, waits, failed = threading.Event(), [], []
    writer = threading.Thread(target=_write_meanwhile, args=(engine, customer_ids, stop, waits, failed), daemon=True)
    try:
        started = time.perf_counter()
        writer.start()
        settings = SmtpSettings(host="127.0.0.1", port=port, connections=connections)
        result = send_campaign(lambda *_: None, engine, campaign_id, settings=settings)
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        writer.join()
        controller.stop()
    wait_ms = np.array(waits) * 1000
    return {
        "database": engine.dialect.name, "emails": emails, "relay_ms": relay_ms, "connections": connections,
        "sent": result["sent"],
        "seconds": round(seconds, 2), "emails_per_second": round(result["sent"] / seconds, 1),
        "other_writes": {
            "count": len(waits), "failed": len(failed), "first_failure": failed[0] if failed else None,
            "median_ms": round(float(np.median(wait_ms)), 1), "p99_ms": round(float(np.percentile(wait_ms, 99)), 1),
            "longest_ms": round(float(wait_ms.max()), 1),
        },
    }  # fmt: skip


def milliseconds(value: str) -> float:
    """An argparse type for `--relay-ms`: a finite number from 0."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"{value} is not a number of milliseconds of 0 or more")
    return number


def connections(value: str) -> int:
    """An argparse type for `--connections`: from 1 to 50, as TAILOR_SMTP_CONNECTIONS."""
    if not value.strip().isdigit() or not 1 <= int(value) <= 50:
        raise argparse.ArgumentTypeError(f"{value} is not from 1 to 50")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.scale.sending", description=__doc__.splitlines()[0])
    # each option its own message: one listed all three's bounds whichever was wrong, and --relay-ms nan or inf
    # passed (a traceback from time.sleep, or a send that never ended)
    parser.add_argument(
        "--emails", type=count_of_at_least_one, default=1000, help="approved drafts to send (default 1000)"
    )
    parser.add_argument("--relay-ms", type=milliseconds, default=20.0, help="the relay's time per email (default 20)")
    parser.add_argument(
        "--connections", type=connections, default=1, help="TAILOR_SMTP_CONNECTIONS, 1 to 50 (default 1)"
    )
    add_out_option(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tailor-sending-") as home:
        report = run(args.emails, args.relay_ms, Path(home), args.connections)
    writes = report["other_writes"]
    markdown = (
        f"Sending {report['emails']} emails on {report['database']}, "
        f"the relay taking {report['relay_ms']:g} ms each, over {report['connections']} connection(s)\n\n"
        "| emails/s | seconds | other writes | failed | median wait ms | p99 wait ms | longest wait ms |\n"
        "|---|---|---|---|---|---|---|\n"
        f"| {report['emails_per_second']} | {report['seconds']} | {writes['count']} | {writes['failed']} | "
        f"{writes['median_ms']} | {writes['p99_ms']} | {writes['longest_ms']} |"
    )
    print(markdown)
    stem = f"sending-{args.emails}-{args.connections}"
    print(f"wrote {write_report(report, markdown, args.out, stem)}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main))
