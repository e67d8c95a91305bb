"""One customer's recommendations through the running API, over HTTP on loopback: the issue's p99 < 20 ms.

The demo store (``--customers``, 300 products) is loaded into a throwaway home, the recommender (``--model``,
the service's default) is trained, the API is served by uvicorn on a free loopback port, and
``GET /customers/{id}/recommendations?k=10`` (business rules, catalog facts and "because you bought" reasons
included) is timed for ``--requests`` different customers, one request at a time, after ``--warmup`` requests.

    python -m evals.recommenders.api_latency [--customers 3000] [--requests 500] [--out reports/]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from evals.loopback import free_port

TARGET_P99_MS = 20.0


def measure(customers: int = 3000, requests: int = 500, warmup: int = 50, model: str | None = None) -> dict:
    """Latency figures (ms) of the recommendations endpoint on a freshly trained demo store."""
    home = tempfile.mkdtemp(prefix="tailor-api-latency-")
    before = os.environ.get("TAILOR_HOME")
    os.environ["TAILOR_HOME"] = home  # read by the settings of everything imported below
    try:
        return _measure_in(home, customers, requests, warmup, model)
    finally:  # the throwaway store (a trained model and a database) is not left behind in the temporary folder
        if before is None:
            os.environ.pop("TAILOR_HOME", None)
        else:
            os.environ["TAILOR_HOME"] = before
        shutil.rmtree(home, ignore_errors=True)


def _measure_in(home: str, customers: int, requests: int, warmup: int, model: str | None) -> dict:
    import httpx
    import uvicorn

    from service.app import create_app
    from service.auth import create_key
    from service.db.migrate import upgrade
    from service.db.session import configured_engine, session_scope
    from service.demo_job import load_demo_store
    from service.pipeline.training import refresh_audience, train_recommender

    engine = configured_engine(upgrade)  # its own: default_engine() may hold the engine of an earlier home
    load_demo_store(engine, customers, Path(home) / "demo")
    refresh_audience(engine)
    trained = train_recommender(engine, model)
    with session_scope(engine) as session:
        key = create_key(session, "latency")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}) as client:
            ids = [c["customer_id"] for c in client.get("/customers", params={"limit": 1000}).json()]
            order = [ids[i % len(ids)] for i in range(warmup + requests)]
            timings = []
            for customer in order:
                started = time.perf_counter()
                response = client.get(f"/customers/{customer}/recommendations", params={"k": 10})
                timings.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
    measured = np.array(timings[warmup:])
    return {
        "customers": customers,
        "model": trained["model"],
        "requests": requests,
        "p50_ms": round(float(np.percentile(measured, 50)), 2),
        "p99_ms": round(float(np.percentile(measured, 99)), 2),
        "max_ms": round(float(measured.max()), 2),
        "target_p99_ms": TARGET_P99_MS,
        "met": bool(np.percentile(measured, 99) < TARGET_P99_MS),
    }


def main(argv: list[str] | None = None) -> int:
    from evals.report import add_out_option, write_report

    parser = argparse.ArgumentParser(
        prog="python -m evals.recommenders.api_latency", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--model", default=None, help="recommender to serve (default: the service's)")
    add_out_option(parser)
    args = parser.parse_args(argv)
    report = measure(args.customers, args.requests, args.warmup, args.model)
    table = "| model | customers | requests | p50 ms | p99 ms | max ms | target p99 |\n|---|---|---|---|---|---|---|\n"
    table += (
        f"| {report['model']} | {report['customers']} | {report['requests']} | {report['p50_ms']} | "
        f"{report['p99_ms']} | {report['max_ms']} | < {TARGET_P99_MS:.0f} ms ({'met' if report['met'] else 'missed'}) |"
    )
    print(table)
    path = write_report(report, table, args.out, "recommenders_api_latency")
    print(f"\nReport written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
