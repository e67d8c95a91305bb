"""Bounce benchmark: hard bounces marked on many customers at once, each way a bounce arrives, timed with the UPDATE
statements of customers rows each ran.

    python -m evals.scale.bounces [--customers 10000] [--out reports/]

Three ways, ``--customers`` marked bounced in each: an email service's ``bounce`` events, one for each customer's send,
posted in requests of 10,000 (POST /events' most); one ``bounce`` event of a send to an address every one of them
shares (a shop's placeholder address); and the households a customers import leaves (``stop_shared_addresses`` over
every address, as after an import), ten ids at each address one of which bounced. The database is a fresh SQLite
file, or the PostgreSQL database ``DATABASE_URL`` names (a database of its own).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from evals.datasets import exit_status
from evals.report import add_out_option, count_of_at_least_one, write_report

HOUSEHOLD = 10  # ids at each address of the households' way: one bounced, the others marked by its address
EVENTS_A_REQUEST = 10_000  # POST /events takes at most this many


def _customers(session, prefix: str, emails: list[str], bounced: set[int] = frozenset()) -> list[int]:
    """Customers of these addresses (those at the places ``bounced`` marked bounced already); their row ids."""
    from sqlalchemy import insert, select

    from service.addresses import address_key
    from service.db.models import Customer

    rows = [
        {"external_id": f"{prefix}{i:07d}", "email": email, "email_key": address_key(email), "marketing_consent": True,
         "bounced_email": email if i in bounced else None}
        for i, email in enumerate(emails)
    ]  # fmt: skip
    session.execute(insert(Customer), rows)
    return list(session.scalars(select(Customer.id).where(Customer.external_id.startswith(prefix))))


def _sends(session, customer_ids: list[int], emails: list[str]) -> list[int]:
    """A campaign's send to each customer at their address, two days ago; their row ids in that order."""
    from sqlalchemy import insert, select

    from service.addresses import address_key
    from service.clock import utcnow
    from service.db.models import Send

    sent_at = utcnow() - timedelta(days=2)
    rows = [
        {"customer_id": customer_id, "subject": "News", "campaign_type": "vip", "sent_at": sent_at, "to_email": email,
         "to_email_key": address_key(email)}
        for customer_id, email in zip(customer_ids, emails, strict=True)
    ]  # fmt: skip
    session.execute(insert(Send), rows)
    return list(session.scalars(select(Send.id).where(Send.customer_id.in_(customer_ids)).order_by(Send.customer_id)))


@contextmanager
def _customer_updates(engine):
    """The UPDATEs of customers rows run on ``engine`` within the block, counted: each row of an executemany too."""
    from sqlalchemy import event

    updates = [0]

    def count(_connection, _cursor, statement, parameters, _context, executemany) -> None:
        if statement.lstrip().upper().startswith("UPDATE CUSTOMERS"):
            updates[0] += len(parameters) if executemany else 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield updates
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _bounced(engine, prefix: str) -> int:
    from sqlalchemy import func, select

    from service.db.models import Customer
    from service.db.session import session_scope

    with session_scope(engine) as session:
        marked = (Customer.external_id.startswith(prefix), Customer.bounced_email == Customer.email)
        return session.scalar(select(func.count()).where(*marked))


def _timed(engine, prefix: str, mark) -> dict:
    """``mark(session)`` in one transaction: its seconds, its UPDATEs of customers and the customers bounced after."""
    from service.db.session import session_scope

    with _customer_updates(engine) as updates:
        started = time.perf_counter()
        with session_scope(engine) as session:
            mark(session)
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "customer_updates": updates[0], "bounced": _bounced(engine, prefix)}


def run(customers: int, home: Path) -> dict:
    os.environ["TAILOR_HOME"] = str(home)
    from service.addresses import stop_shared_addresses
    from service.db.session import default_engine, session_scope
    from service.events import ingest_events
    from service.schemas import EventIn

    engine = default_engine()  # migrated on creation
    ways = {}
    with session_scope(engine) as session:
        emails = [f"b{i:07d}@example.com" for i in range(customers)]
        send_ids = _sends(session, _customers(session, "E", emails), emails)

    def bounce_events(session) -> None:
        for start in range(0, len(send_ids), EVENTS_A_REQUEST):
            batch = send_ids[start : start + EVENTS_A_REQUEST]
            ingest_events(session, [EventIn(send_id=send_id, kind="bounce") for send_id in batch])

    ways["bounce events (one a customer)"] = _timed(engine, "E", bounce_events)
    with session_scope(engine) as session:
        shared = "placeholder@shop.example"
        placeholder_ids = _customers(session, "P", [shared] * customers)
        placeholder_send = _sends(session, placeholder_ids[:1], [shared])[0]
    bounce = EventIn(send_id=placeholder_send, kind="bounce")
    ways["one bounce at an address all share"] = _timed(engine, "P", lambda session: ingest_events(session, [bounce]))
    with session_scope(engine) as session:
        at = [f"h{i // (HOUSEHOLD - 1):07d}@example.com" for i in range(customers)]
        _customers(session, "H", at)
        addresses = sorted(set(at))
        _customers(session, "HB", addresses, bounced=set(range(len(addresses))))
    ways["households after an import"] = _timed(engine, "H", lambda session: stop_shared_addresses(session))
    return {"database": engine.dialect.name, "customers": customers, "ways": ways}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.scale.bounces", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=count_of_at_least_one, default=10_000, help="bounced in each way")
    add_out_option(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tailor-bounces-") as home:
        report = run(args.customers, Path(home))
    lines = ["| way | seconds | UPDATEs of customers | bounced |", "|---|---|---|---|"]
    lines += [
        f"| {way} | {figures['seconds']} | {figures['customer_updates']:,} | {figures['bounced']:,} |"
        for way, figures in report["ways"].items()
    ]
    markdown = f"Bounces on {report['database']}: {args.customers:,} customers each way\n\n" + "\n".join(lines)
    print(markdown)
    print(f"wrote {write_report(report, markdown, args.out, f'bounces-{args.customers}')}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main))
