"""Update-offer benchmark: a campaign's review page, which offers to update its drafts to the catalog only when the
catalog changed a fact one of its pending or flagged drafts shows (service.refreshed_facts.may_be_out_of_date, read
on each load of the page), timed on a campaign of ``--drafts`` pending drafts over a catalog of ``--products``.

    python -m evals.scale.update_offer [--drafts 10000] [--products 2000] [--postgres] [--repeats 7] [--out reports/]

Each draft shows three of the catalog's products, as the catalog had them three days ago. The cases, each from that
catalog: no product written since (every load of the page until the catalog is next written); a product added since,
which no draft shows; products the drafts show written again without a fact an email shows changed (restocked: every
draft showing them is read, and none is out of date); and one a draft shows with a new price. For each, the median
seconds of ``--repeats`` reads of the offer alone and of loads of the page (the app's TestClient, page 1), and whether
it was offered. The database is a fresh SQLite file, or with ``--postgres`` a new database on a throwaway PostgreSQL
cluster (evals.postgres), its statistics gathered (ANALYZE) once the campaign is written, as autovacuum gathers them
within a minute of such writes: without them the planner takes the campaign for a few rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from evals.datasets import exit_status
from evals.report import add_out_option, count_of_at_least_one, write_report

SHOWN = 3  # products each draft's email shows
RESTOCKED = 20  # products the drafts show written again in the restock case


def _catalog(products: int, written_at) -> list[dict]:
    return [
        {"sku": f"P{n:05d}", "name": f"Product {n}", "category": f"category {n % 40}", "price": 5.0 + n % 200 / 4,
         "currency": "EUR", "url": f"https://shop.example/p/{n}", "description": f"The description of product {n}.",
         "in_stock": True, "recommendable": True, "created_at": written_at, "updated_at": written_at}
        for n in range(products)
    ]  # fmt: skip


def _campaign(session, drafts: int, catalog: list[dict], written_at) -> int:
    """A campaign of ``drafts`` pending drafts for new customers, each with a variant and three of the catalog's
    products as it has them; its id."""
    from sqlalchemy import insert, inspect, select

    from service.campaigns import create_campaign
    from service.db.models import Customer, Draft, Variant
    from service.schemas import CampaignIn

    campaign_id = create_campaign(session, CampaignIn(name="Update offer", brand="hearth", campaign_type="vip")).id
    session.execute(insert(Customer), [
        {"external_id": f"U{n:07d}", "email": f"u{n:07d}@example.com", "marketing_consent": True}
        for n in range(drafts)
    ])  # fmt: skip
    customers = session.scalars(select(Customer.id).where(Customer.external_id.startswith("U")).order_by(Customer.id))
    facts = ("name", "category", "price", "currency", "url", "description")
    rows = []
    for n, customer_id in enumerate(customers):
        shown = [catalog[(n * 7 + k * 13) % len(catalog)] for k in range(SHOWN)]
        rows.append({
            "campaign_id": campaign_id, "customer_id": customer_id, "status": "pending", "position": n,
            "recommendations": [{"product_id": p["sku"], **{fact: p[fact] for fact in facts}} for p in shown],
            "created_at": written_at + timedelta(hours=1), "updated_at": written_at + timedelta(hours=1),
        })  # fmt: skip
    session.execute(insert(Draft), rows)
    draft_ids = dict(session.execute(select(Draft.customer_id, Draft.id).where(Draft.campaign_id == campaign_id)).all())
    if inspect(session.connection()).has_table("draft_products"):  # as generation writes them (since 0056)
        from service.db.shown_products import DRAFT_PRODUCTS, shown_rows

        shown = [shown_rows(draft_ids[row["customer_id"]], row["recommendations"]) for row in rows]
        session.execute(insert(DRAFT_PRODUCTS), [row for draft in shown for row in draft])
    session.execute(insert(Variant), [
        {"draft_id": draft_id, "label": "A", "subject": "Hello", "html": "<p>Hi</p>", "text": "Hi"}
        for draft_id in draft_ids.values()
    ])  # fmt: skip
    return campaign_id


def _median(read, repeats: int) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = read()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def run(drafts: int, products: int, repeats: int, home: Path, database_url: str | None) -> dict:
    os.environ["TAILOR_HOME"] = str(home)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    from fastapi.testclient import TestClient
    from sqlalchemy import insert, text, update

    from service.app import create_app
    from service.auth import create_key
    from service.clock import utcnow
    from service.db.models import Product
    from service.db.session import default_engine, session_scope
    from service.refreshed_facts import may_be_out_of_date

    engine = default_engine()  # migrated on creation
    written_at = utcnow() - timedelta(days=3)
    catalog = _catalog(products, written_at)
    started = time.perf_counter()
    with session_scope(engine) as session:
        session.execute(insert(Product), catalog)
        campaign_id = _campaign(session, drafts, catalog, written_at)
        key = create_key(session, "update-offer")
    if engine.dialect.name == "postgresql":  # the planner's statistics of the tables written, as autovacuum keeps them
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    print(f"campaign of {drafts:,} drafts over {products:,} products written in {time.perf_counter() - started:.1f} s")
    shown = [p["sku"] for p in catalog[:RESTOCKED]]  # the first products: every seventh draft shows one
    cases = {
        "nothing written since": lambda session: None,
        "a product no draft shows added": lambda session: session.add(Product(sku="NEW", name="New", price=1.0)),
        f"{RESTOCKED} shown products restocked": lambda session: session.execute(
            update(Product).where(Product.sku.in_(shown)).values(in_stock=True, updated_at=utcnow())
        ),
        "a shown product's price changed": lambda session: session.execute(
            update(Product).where(Product.sku == shown[-1]).values(price=99.0, updated_at=utcnow())
        ),
    }
    figures = {}
    with TestClient(create_app(engine), headers={"X-API-Key": key}) as client:
        client.get(f"/review/campaigns/{campaign_id}")  # the app's first page (its templates read) is not timed
        for case, write in cases.items():
            with session_scope(engine) as session:  # the catalog as the drafts show it, then the case's writes
                session.execute(Product.__table__.delete().where(Product.sku == "NEW"))
                session.execute(
                    update(Product).values(price=catalog[RESTOCKED - 1]["price"]).where(Product.sku == shown[-1])
                )
                session.execute(update(Product).values(updated_at=written_at))
                write(session)

            def offer():
                with session_scope(engine) as session:
                    return may_be_out_of_date(session, campaign_id)

            def page():
                response = client.get(f"/review/campaigns/{campaign_id}")
                assert response.status_code == 200, response.text[:500]
                return 'id="refresh-facts"' in response.text

            offer_seconds, offered = _median(offer, repeats)
            page_seconds, page_offered = _median(page, repeats)
            assert offered == page_offered, case
            figures[case] = {"offer_seconds": round(offer_seconds, 4), "page_seconds": round(page_seconds, 4),
                             "offered": offered}  # fmt: skip
            print(f"{case:<36} offer {offer_seconds * 1000:8.1f} ms  page {page_seconds * 1000:8.1f} ms  "
                  f"offered: {offered}", flush=True)  # fmt: skip
    engine.dispose()
    return {"database": engine.dialect.name, "drafts": drafts, "products": products, "repeats": repeats,
            "cases": figures}  # fmt: skip


@contextmanager
def _database(postgres: bool):
    """A new database on a throwaway PostgreSQL cluster's URL (``--postgres``), or None: a SQLite file."""
    if not postgres:
        yield None
        return
    from evals.postgres import new_database, throwaway_cluster

    with throwaway_cluster() as server:
        engine = new_database(server, "update_offer")
        engine.dispose()
        yield engine.url.render_as_string(hide_password=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.scale.update_offer", description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=count_of_at_least_one, default=10_000, help="pending drafts (10,000)")
    parser.add_argument("--products", type=count_of_at_least_one, default=2_000, help="the catalog's (2,000)")
    parser.add_argument("--repeats", type=count_of_at_least_one, default=7, help="reads timed, the median kept (7)")
    parser.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL cluster (initdb, pg_ctl)")
    add_out_option(parser)
    args = parser.parse_args(argv)
    if args.products < RESTOCKED:
        parser.error(f"--products must be {RESTOCKED} or more: the restock case writes that many")
    with tempfile.TemporaryDirectory(prefix="tailor-update-offer-") as home, _database(args.postgres) as url:
        report = run(args.drafts, args.products, args.repeats, Path(home), url)
    lines = ["| case | offer ms | page ms | offered |", "|---|---|---|---|"]
    lines += [
        f"| {case} | {f['offer_seconds'] * 1000:.1f} | {f['page_seconds'] * 1000:.1f} | {f['offered']} |"
        for case, f in report["cases"].items()
    ]
    title = f"The update offer of a campaign of {args.drafts:,} drafts over {args.products:,} products"
    markdown = f"{title} on {report['database']}\n\n" + "\n".join(lines)
    stem = f"update-offer-{args.drafts}" + ("" if report["database"] == "sqlite" else f"-{report['database']}")
    print(f"wrote {write_report(report, markdown, args.out, stem)}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main))
