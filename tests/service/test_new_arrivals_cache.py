"""The likeness of a catalog's new arrivals, kept by ``service.pipeline.generate.with_new_arrivals`` for the API's
requests: requests side by side after a catalog change compare its texts once, not once each."""

from __future__ import annotations

import threading

import pandas as pd

from recommenders.cold_start import Likeness, NewArrivals
from recommenders.registry import create
from service.pipeline import generate
from tests.recommenders.contract import checkerboard


def test_requests_side_by_side_compare_a_new_catalog_once(monkeypatch):
    interactions, catalog, _ = checkerboard()
    model = create("item_knn").fit(interactions, catalog)
    new = pd.DataFrame(
        {
            "product_id": [f"new{i}" for i in range(4_000)],
            "name": [f"red rose item {i}" for i in range(4_000)],
            "description": "red flower petals",
            "price": 5.0,
            "in_stock": True,
        }
    )
    current = pd.concat([catalog, new], ignore_index=True)
    compared = []
    real = Likeness.of.__func__

    def counted(cls, model, catalog):
        compared.append(catalog)
        return real(cls, model, catalog)

    monkeypatch.setattr(Likeness, "of", classmethod(counted))
    monkeypatch.setattr(generate, "_LAST_LIKENESS", None)
    start, served = threading.Barrier(4), []

    def request() -> None:
        start.wait()
        served.append(generate.with_new_arrivals(model, current))

    requests = [threading.Thread(target=request) for _ in range(4)]
    for thread in requests:
        thread.start()
    for thread in requests:
        thread.join()
    assert len(served) == 4 and all(isinstance(each, NewArrivals) for each in served)
    assert len({id(each.likeness) for each in served}) == 1
    assert len(compared) == 1
