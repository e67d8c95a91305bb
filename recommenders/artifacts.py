"""Versioned model artifacts: `<root>/<name>/<version>/` holding `model.pkl` and `metadata.json`.

The metadata records what the model was trained on (a hash of the interactions snapshot, its size and time
range), its parameters and its measured metrics. `<root>/<name>/CURRENT` names the version in use; it is
replaced atomically, so a service holding a `CurrentModel` switches to a newly trained model on its next
request without downtime, and can roll back by pointing CURRENT at an older version.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from recommenders.base import Recommender
from recommenders.errors import ArtifactError

MODEL_FILE = "model.pkl"
METADATA_FILE = "metadata.json"
CURRENT_FILE = "CURRENT"


def snapshot_hash(interactions: pd.DataFrame) -> str:
    """A stable SHA-256 of the interaction rows that matter for training (order-independent)."""
    columns = [c for c in ("customer_id", "product_id", "timestamp", "quantity", "amount", "kind") if c in interactions]
    rows = interactions[columns].astype(str).sort_values(columns, kind="stable")
    digest = hashlib.sha256(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def save_artifact(
    model: Recommender,
    root: str | Path,
    *,
    interactions: pd.DataFrame | None = None,
    metrics: dict | None = None,
    name: str | None = None,
    version: str | None = None,
    activate: bool = True,
) -> Path:
    """Write a fitted model and its metadata to a new version folder; make it current if `activate`."""
    if not model.is_fitted:
        raise ArtifactError("Only a trained model can be saved as an artifact; call fit() first.")
    name = name or model.name
    created = datetime.now(UTC)
    version = version or created.strftime("%Y%m%dT%H%M%S%fZ")
    folder = Path(root) / name / version
    if folder.exists():
        raise ArtifactError(f"Version {version} of '{name}' already exists at {folder}.")
    folder.mkdir(parents=True)
    model.save(folder / MODEL_FILE)
    metadata = {
        "name": name,
        "version": version,
        "model": model.name,
        "chosen": getattr(model, "chosen", None),
        "created_at": created.isoformat(),
        "params": model.get_params(),
        "metrics": metrics or {},
        "data": _describe(interactions, model),
    }
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str))
    if activate:
        set_current(root, name, version)
    return folder


def _describe(interactions: pd.DataFrame | None, model: Recommender) -> dict:
    description = {"customers": model.vocabulary.n_customers, "products": model.vocabulary.n_products}
    if interactions is not None:
        description |= {"snapshot_sha256": snapshot_hash(interactions), "rows": len(interactions)}
        if "timestamp" in interactions:
            timestamps = pd.to_datetime(interactions["timestamp"])
            description |= {"first": str(timestamps.min()), "last": str(timestamps.max())}
    return description


def set_current(root: str | Path, name: str, version: str) -> None:
    """Point `<root>/<name>/CURRENT` at an existing version (atomic replace)."""
    folder = Path(root) / name
    if not (folder / version / MODEL_FILE).is_file():
        raise ArtifactError(f"There is no saved version {version} of '{name}' in {folder}.")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".CURRENT.")
    with os.fdopen(handle, "w") as stream:
        stream.write(version)
    os.replace(temporary, folder / CURRENT_FILE)


def current_version(root: str | Path, name: str) -> str | None:
    """The version CURRENT names, or None when nothing was activated yet."""
    pointer = Path(root) / name / CURRENT_FILE
    return pointer.read_text().strip() if pointer.is_file() else None


def list_versions(root: str | Path, name: str) -> list[dict]:
    """Metadata of every saved version of `name`, oldest first."""
    folder = Path(root) / name
    found = []
    for meta in sorted(folder.glob(f"*/{METADATA_FILE}")) if folder.is_dir() else []:
        found.append(json.loads(meta.read_text()))
    return found


def load_artifact(root: str | Path, name: str, version: str | None = None) -> tuple[Recommender, dict]:
    """The model and metadata of `version` (default: the current one)."""
    version = version or current_version(root, name)
    if version is None:
        raise ArtifactError(f"No trained '{name}' model in {root}; train one first (tailor train).")
    folder = Path(root) / name / version
    if not (folder / METADATA_FILE).is_file():
        raise ArtifactError(f"Version {version} of '{name}' is incomplete or missing in {folder}.")
    return Recommender.load(folder / MODEL_FILE), json.loads((folder / METADATA_FILE).read_text())


class CurrentModel:
    """The current version of a named model, reloaded when CURRENT changes (cheap check per `get`)."""

    def __init__(self, root: str | Path, name: str) -> None:
        self.root, self.name = Path(root), name
        self._lock = threading.Lock()
        self._loaded: tuple[str, Recommender, dict] | None = None

    def get(self) -> tuple[Recommender, dict]:
        """The model and its metadata; a newly activated version is loaded before it replaces the old one."""
        version = current_version(self.root, self.name)
        loaded = self._loaded
        if loaded is not None and loaded[0] == version:
            return loaded[1], loaded[2]
        with self._lock:
            if self._loaded is None or self._loaded[0] != version:
                model, metadata = load_artifact(self.root, self.name, version)
                self._loaded = (metadata["version"], model, metadata)
            return self._loaded[1], self._loaded[2]
