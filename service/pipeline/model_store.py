"""Trained models on disk as versioned folders, and the in-memory current ones the service serves from.

Layout: `<models_dir>/<kind>/<version>/` holds `model.pkl` (what the model's own `save` wrote) and
`metadata.json`;
`<models_dir>/<kind>/CURRENT` names the version in use. Publishing writes the folder first and swaps the
pointer last (an atomic rename), and `ModelStore` reloads when the pointer changes, so a newly trained model
replaces the old one without downtime.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.errors import NotReady


def new_version() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


MODEL_FILE = "model.pkl"


def publish(models_dir: Path, kind: str, save: Callable[[Path], Any], metadata: dict[str, Any]) -> Path:
    """Save a model (its `save(file)`) as a new version of `kind` and make it the current one."""
    version = new_version()
    folder = models_dir / kind / version
    folder.mkdir(parents=True, exist_ok=False)
    save(folder / MODEL_FILE)
    (folder / "metadata.json").write_text(json.dumps({"version": version, **metadata}, indent=2, default=str))
    pointer = models_dir / kind / "CURRENT"
    temporary = pointer.with_suffix(".tmp")
    temporary.write_text(version)
    os.replace(temporary, pointer)
    return folder


def current_folder(models_dir: Path, kind: str) -> Path | None:
    pointer = models_dir / kind / "CURRENT"
    if not pointer.exists():
        return None
    return models_dir / kind / pointer.read_text().strip()


def read_metadata(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "metadata.json").read_text())


class ModelStore:
    """Holds the current model of each kind in memory; reloads when a newer version is published."""

    def __init__(self, models_dir: Path, loaders: dict[str, Callable[[Path], Any]]) -> None:
        """`loaders` maps a kind to the function that reads its model file."""
        self.models_dir = models_dir
        self.loaders = loaders
        self._loaded: dict[str, tuple[Path, Any]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str) -> Any:
        folder = current_folder(self.models_dir, kind)
        if folder is None:
            raise NotReady(f"No {kind} model is trained yet: run `tailor train` (or POST /train) first.")
        with self._lock:
            loaded = self._loaded.get(kind)
            if loaded is None or loaded[0] != folder:
                self._loaded[kind] = (folder, self.loaders[kind](folder / MODEL_FILE))
            return self._loaded[kind][1]

    def version(self, kind: str) -> str | None:
        folder = current_folder(self.models_dir, kind)
        return folder.name if folder else None
