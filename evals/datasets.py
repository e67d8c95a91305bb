"""Loaders for the real public data sets in ``../shared/data`` (see that folder's README.md).

Every loader returns a fresh pandas DataFrame with string identifiers, in the shapes of ARCHITECTURE.md
where the data allows it. Files are read once per process and cached; callers get copies, so they may
mutate what they receive. The data folder is ``../shared/data`` next to the project root (the folder that
holds ``pyproject.toml``), or the folder named by the environment variable ``TAILOR_SHARED_DATA``.

A missing file raises :class:`DatasetMissing` (a ``FileNotFoundError``), so tests can skip cleanly::

    try:
        orders = online_retail()
    except DatasetMissing as exc:
        pytest.skip(str(exc))
"""

from __future__ import annotations

import html
import os
import re
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import pandas as pd

from tabular import id_strings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENV_VAR = "TAILOR_SHARED_DATA"

ONLINE_RETAIL_FILES = {
    "2009-2010": "online-retail/online_retail_II_2009_2010.parquet",
    "2010-2011": "online-retail/online_retail_2010_2011.parquet",
}
# Last day (inclusive) of the 39-week calibration period behind cdnow_customers_summary.csv.
CDNOW_CALIBRATION_END = pd.Timestamp("1997-09-30")
ONLINE_RETAIL_COLUMNS = [
    "order_id",
    "customer_id",
    "product_id",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "timestamp",
    "country",
]


class DatasetMissing(FileNotFoundError):
    """A real data file that a loader needs is not on this machine."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(
            f"Data file {path} is missing. The real public data sets live in ../shared/data next to the "
            f"project (see that folder's README.md for each file's source); put them there or point "
            f"{ENV_VAR} at a folder that holds them."
        )


def exit_status(main: Callable[[], int]) -> int:
    """Run an eval's ``main`` as `python -m evals....` does: a missing data file is one line on stderr naming it
    and exit status 2 (as `tailor eval` says it), not a traceback."""
    try:
        return main()
    except DatasetMissing as missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2


def data_root() -> Path:
    """The folder holding the shared data sets (``$TAILOR_SHARED_DATA`` or ``../shared/data``)."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "data"


def data_path(relative: str) -> Path:
    """The path of one data file, raising :class:`DatasetMissing` when it is absent."""
    path = data_root() / relative
    if not path.is_file():
        raise DatasetMissing(path)
    return path


def available(relative: str) -> bool:
    """Whether a data file (path relative to the data root) is present."""
    return (data_root() / relative).is_file()


# --- Online Retail (UCI 352 and 502) ---------------------------------------------------------------


def online_retail(
    years: str = "both",
    include_cancellations: bool = False,
    include_anonymous: bool = False,
) -> pd.DataFrame:
    """Order lines of the UK online gift shop (UCI Online Retail / Online Retail II).

    ``years`` is ``"2009-2010"``, ``"2010-2011"`` or ``"both"`` (the two files concatenated as one shop of
    2009-12-01 … 2011-12-09; the 2009–10 file's lines of December 2010 repeat lines of the 2010–11 file
    and are dropped once). Columns: ``order_id, customer_id, product_id (StockCode), description,
    quantity, unit_price, amount (= quantity * unit_price), timestamp, country``.

    Cleaning by default: lines without a customer are dropped (``include_anonymous=True`` keeps them with
    customer_id ``""``); cancellations (order ids starting with "C") and lines with non-positive quantity
    or price are removed. ``include_cancellations=True`` keeps every line as it is in the file (negative
    quantities included), which is what the published counts describe.
    """
    if years not in (*ONLINE_RETAIL_FILES, "both"):
        raise ValueError(f"years must be one of {[*ONLINE_RETAIL_FILES, 'both']}, not {years!r}")
    chosen = tuple(ONLINE_RETAIL_FILES) if years == "both" else (years,)
    paths = tuple(str(data_path(ONLINE_RETAIL_FILES[name])) for name in chosen)
    return _online_retail(paths, include_cancellations, include_anonymous).copy()


def _read_online_retail_file(path: str) -> pd.DataFrame:
    raw = pd.read_parquet(path)
    raw = raw.rename(columns={"Invoice": "InvoiceNo", "Price": "UnitPrice", "Customer ID": "CustomerID"})
    customer_ids = id_strings(raw["CustomerID"]).where(raw["CustomerID"].notna(), "")
    lines = pd.DataFrame(
        {
            "order_id": raw["InvoiceNo"].astype(str).str.strip(),
            "customer_id": customer_ids,
            "product_id": raw["StockCode"].astype(str).str.strip(),
            "description": raw["Description"].fillna("").astype(str).str.strip(),
            "quantity": raw["Quantity"].astype(float),
            "unit_price": raw["UnitPrice"].astype(float),
            "timestamp": pd.to_datetime(raw["InvoiceDate"], format="%Y-%m-%d %H:%M:%S").astype("datetime64[ns]"),
            "country": raw["Country"].astype(str),
        }
    )
    lines["amount"] = lines["quantity"] * lines["unit_price"]
    return lines[ONLINE_RETAIL_COLUMNS]


@lru_cache(maxsize=8)
def _online_retail(paths: tuple[str, ...], include_cancellations: bool, include_anonymous: bool) -> pd.DataFrame:
    frames = [_read_online_retail_file(path) for path in paths]
    if len(frames) == 2:
        earlier, later = frames
        overlap_start = later["timestamp"].min()
        in_overlap = earlier["timestamp"] >= overlap_start
        # Anti-join: keep an overlap line of the earlier file only if the later file does not hold it.
        later_keys = later[later["timestamp"] <= earlier["timestamp"].max()].drop_duplicates()
        overlap = earlier[in_overlap].merge(later_keys, how="left", indicator=True)
        overlap = overlap[overlap["_merge"] == "left_only"].drop(columns="_merge")
        frames = [earlier[~in_overlap], overlap, later]
    lines = pd.concat(frames, ignore_index=True)
    if not include_anonymous:
        lines = lines[lines["customer_id"] != ""]
    if not include_cancellations:
        cancelled = lines["order_id"].str.startswith("C")
        lines = lines[~cancelled & (lines["quantity"] > 0) & (lines["unit_price"] > 0)]
    return lines.sort_values("timestamp", kind="stable").reset_index(drop=True)


# --- MovieLens 100K (RecBole atomic files) ---------------------------------------------------------


def _read_atomic(relative: str) -> pd.DataFrame:
    """A RecBole atomic file: tab-separated with ``name:type`` headers, read as text."""
    frame = pd.read_csv(data_path(relative), sep="\t", dtype=str, keep_default_na=False)
    frame.columns = [column.split(":")[0] for column in frame.columns]
    return frame


@lru_cache(maxsize=1)
def _movielens_100k(root: str) -> pd.DataFrame:
    ratings = _read_atomic("movielens-100k/ml-100k.inter")
    return pd.DataFrame(
        {
            "customer_id": ratings["user_id"].str.strip(),
            "product_id": ratings["item_id"].str.strip(),
            "rating": ratings["rating"].astype(float),
            "timestamp": pd.to_datetime(ratings["timestamp"].astype(float).astype("int64"), unit="s").astype(
                "datetime64[ns]"
            ),
        }
    )


def movielens_100k() -> pd.DataFrame:
    """The 100,000 MovieLens ratings: ``customer_id`` (user), ``product_id`` (movie), ``rating`` (1–5),
    ``timestamp`` (UTC, naive)."""
    return _movielens_100k(str(data_root())).copy()


@lru_cache(maxsize=1)
def _movielens_items(root: str) -> pd.DataFrame:
    items = _read_atomic("movielens-100k/ml-100k.item")
    return pd.DataFrame(
        {
            "product_id": items["item_id"].str.strip(),
            "title": items["movie_title"].str.strip(),
            "year": pd.to_numeric(items["release_year"], errors="coerce").astype("Int64"),
            "genres": items["class"].str.split().str.join("|"),
        }
    )


def movielens_items() -> pd.DataFrame:
    """The 1,682 movies: ``product_id, title, year`` (nullable Int64), ``genres`` ("|"-joined, e.g.
    ``"Animation|Children's|Comedy"``)."""
    return _movielens_items(str(data_root())).copy()


# --- Baskets --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _groceries(root: str) -> pd.DataFrame:
    text = data_path("groceries/groceries.csv").read_text(encoding="utf-8")
    rows = [
        (str(index), item.strip(), index - 1)
        for index, line in enumerate(text.splitlines(), start=1)
        for item in line.split(",")
        if item.strip()
    ]
    baskets = pd.DataFrame(rows, columns=["customer_id", "product_id", "basket_index"])
    baskets["timestamp"] = pd.Series(pd.NaT, index=baskets.index, dtype="datetime64[ns]")
    baskets["quantity"] = 1.0
    return baskets[["customer_id", "product_id", "timestamp", "quantity", "basket_index"]]


def groceries() -> pd.DataFrame:
    """The arules Groceries baskets, one row per (basket, item).

    The file carries no customers and no times, so each basket stands for one customer: ``customer_id`` is
    the basket's 1-based line number as a string, ``product_id`` the item (one of 169 product groups),
    ``timestamp`` is NaT (no time is invented), ``quantity`` 1.0, and ``basket_index`` the 0-based line
    number for anyone who needs an order (e.g. a split by position).
    """
    return _groceries(str(data_root())).copy()


@lru_cache(maxsize=1)
def _bread_basket(root: str) -> pd.DataFrame:
    raw = pd.read_csv(data_path("groceries/BreadBasket_DMS.csv"), dtype=str)
    raw = raw[raw["Item"].str.upper() != "NONE"]
    return pd.DataFrame(
        {
            "order_id": raw["Transaction"].str.strip(),
            "customer_id": raw["Transaction"].str.strip(),
            "product_id": raw["Item"].str.strip(),
            "timestamp": pd.to_datetime(raw["Date"] + " " + raw["Time"], format="%Y-%m-%d %H:%M:%S").astype(
                "datetime64[ns]"
            ),
            "quantity": 1.0,
        }
    ).reset_index(drop=True)


def bread_basket() -> pd.DataFrame:
    """The Edinburgh bakery's lines (``order_id, customer_id, product_id, timestamp, quantity``).

    Each transaction stands for one customer (customer_id = transaction number); the 786 placeholder lines
    with item "NONE" are dropped.
    """
    return _bread_basket(str(data_root())).copy()


# --- CDNOW ----------------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _cdnow(root: str, sample: bool) -> pd.DataFrame:
    if sample:
        raw = pd.read_csv(
            data_path("cdnow/CDNOW_sample.txt"),
            sep=r"\s+",
            header=None,
            names=["master_id", "customer_id", "date", "quantity", "amount"],
            dtype={"master_id": str, "customer_id": str, "date": str},
        )
    else:
        raw = pd.read_csv(data_path("cdnow/CDNOW_master.txt"), sep=r"\s+", dtype={"customer_id": str, "date": str})
        raw = raw.rename(columns={"number_of_cds": "quantity", "dollar_value": "amount"})
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].str.lstrip("0"),
            "timestamp": pd.to_datetime(raw["date"], format="%Y%m%d").astype("datetime64[ns]"),
            "quantity": raw["quantity"].astype(float),
            "amount": raw["amount"].astype(float),
        }
    )


def cdnow(sample: bool = True) -> pd.DataFrame:
    """CDNOW purchases: ``customer_id, timestamp, quantity`` (CDs), ``amount`` (US dollars).

    ``sample=True`` reads the 1/10 sample (2,357 customers, 6,919 purchases) whose ids are the sample's
    own 1…2357 numbering, the ``ID`` of :func:`cdnow_summary`; ``sample=False`` reads the full file
    (23,570 customers, 69,659 purchases). Leading zeros are stripped from ids.
    """
    return _cdnow(str(data_root()), sample).copy()


@lru_cache(maxsize=1)
def _cdnow_summary(root: str) -> pd.DataFrame:
    summary = pd.read_csv(data_path("cdnow/cdnow_customers_summary.csv"))
    return pd.DataFrame(
        {
            "customer_id": summary["ID"].astype(str),
            "frequency": summary["frequency"].astype(int),
            "recency": summary["recency"].astype(float),
            "T": summary["T"].astype(float),
        }
    )


def cdnow_summary() -> pd.DataFrame:
    """The published frequency/recency/T summary of the CDNOW sample for a 39-week calibration period
    ending on :data:`CDNOW_CALIBRATION_END` (inclusive): ``customer_id``; ``frequency`` = repeat purchase
    days; ``recency`` and ``T`` in weeks. Purchases after that day form the holdout (1,882 repeat
    purchase days in weeks 40–78)."""
    return _cdnow_summary(str(data_root())).copy()


# --- Email response data -------------------------------------------------------------------------


def _snake_case(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


@lru_cache(maxsize=1)
def _email_campaign_sme(root: str) -> pd.DataFrame:
    emails = pd.read_csv(data_path("email-campaign-sme/data_email_campaign.csv"), dtype={"Email_ID": str})
    emails.columns = [_snake_case(column) for column in emails.columns]
    emails["customer_location"] = emails["customer_location"].fillna("missing")
    return emails


def email_campaign_sme() -> pd.DataFrame:
    """The SME email campaign file (68,353 sends), lightly cleaned.

    Column names are snake_case (``email_id, email_type, subject_hotness_score, email_source_type,
    customer_location, email_campaign_type, total_past_communications, time_email_sent_category,
    word_count, total_links, total_images, email_status``); a missing ``customer_location`` becomes the
    category ``"missing"``; other missing numbers stay NaN. ``email_status``: 0 ignored, 1 read,
    2 acknowledged.
    """
    return _email_campaign_sme(str(data_root())).copy()


@lru_cache(maxsize=1)
def _hillstrom(root: str) -> pd.DataFrame:
    customers = pd.read_csv(data_path("hillstrom/hillstrom_email_data.csv"))
    customers.insert(0, "customer_id", [str(index) for index in range(1, len(customers) + 1)])
    return customers


def hillstrom() -> pd.DataFrame:
    """Hillstrom's MineThatData e-mail experiment (64,000 customers), as in the file plus ``customer_id``
    (the 1-based row number as a string). ``segment`` is the randomized treatment ("Mens E-Mail",
    "Womens E-Mail", "No E-Mail"); outcomes ``visit``, ``conversion`` (0/1) and ``spend``. Values such as
    the file's "Surburban" zip code are kept as published."""
    return _hillstrom(str(data_root())).copy()


_TAG = re.compile(r"<[^>]+>")


def _plain_text(value: object) -> str:
    if not isinstance(value, str):
        return ""
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", value))).strip()


@lru_cache(maxsize=1)
def _upworthy(root: str) -> pd.DataFrame:
    packages = pd.read_parquet(data_path("upworthy/upworthy_packages_train.parquet"))
    packages["clickability_test_id"] = packages["clickability_test_id"].astype(str)
    packages["headline_text"] = packages["headline"].map(_plain_text)
    packages["lede_text"] = packages["lede"].map(_plain_text)
    return packages.reset_index(drop=True)


def upworthy() -> pd.DataFrame:
    """Upworthy headline A/B tests (training share): one row per variant with ``clickability_test_id``,
    ``headline``, ``lede``, ``impressions``, ``clicks``, ``ctr``, winner flags …, as in the file, plus
    ``headline_text`` and ``lede_text``: the same text with HTML tags removed and entities unescaped."""
    return _upworthy(str(data_root())).copy()


# --- The demo store -------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _demo_store(seed: int, n_customers: int):
    from service.demo import generate_demo_store

    return generate_demo_store(seed=seed, n_customers=n_customers)


def demo_store(seed: int = 7, n_customers: int = 3000):
    """Tailor's generated demo shop (``service.demo.DemoStore``: products, customers, orders with
    purchase/cart/view rows, past sends). Generated, not read from disk, so it is always available;
    a fresh copy of every frame is returned."""
    from dataclasses import replace

    store = _demo_store(seed, n_customers)
    return replace(
        store,
        products=store.products.copy(),
        customers=store.customers.copy(),
        orders=store.orders.copy(),
        sends=store.sends.copy(),
    )
