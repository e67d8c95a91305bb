"""File in, recommendations out: what `tailor recommend --train FILE --k K --out FILE` runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recommenders.errors import InvalidInteractions
from recommenders.interactions import validate_interactions
from recommenders.registry import create

FILE_COLUMNS = ("customer_id", "product_id", "timestamp")


def read_interactions(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file of interactions (customer_id, product_id, timestamp, optional quantity,
    amount, kind) into the shared interactions shape.

    Raises `InvalidInteractions` naming the column and the data row (1 = first line after the header).
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInteractions(f"there is no file at {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".txt", ".tsv"):
            frame = pd.read_csv(
                path, sep="\t" if suffix == ".tsv" else ",", dtype={"customer_id": str, "product_id": str}
            )
        else:
            raise InvalidInteractions(f"{path.name} is neither CSV nor Parquet (use .csv or .parquet)")
    except InvalidInteractions:
        raise
    except Exception as error:
        raise InvalidInteractions(f"{path.name} could not be read: {error}") from error
    missing = [column for column in FILE_COLUMNS if column not in frame.columns]
    if missing:
        raise InvalidInteractions(
            f"{path.name} has no {', '.join(repr(c) for c in missing)} column "
            f"(found: {', '.join(map(str, frame.columns))})",
            column=missing[0],
        )
    return validate_interactions(frame)


def recommend_file(train: Path, k: int, model: str = "auto", include_seen: bool = False) -> pd.DataFrame:
    """Fit `model` on the file and return the top-k (customer_id, rank, product_id, score) for every
    customer in it; products a customer already has are left out unless `include_seen`."""
    interactions = read_interactions(train)
    recommender = create(model).fit(interactions)
    customers = interactions["customer_id"].unique()
    return recommender.recommend(customers, k=k, exclude_seen=not include_seen)
