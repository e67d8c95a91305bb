"""Saving and loading scoring models as one joblib file with their kind, version and metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib

from scoring.errors import ModelFileError


def save_model(model: Any, path: str | Path, *, kind: str, version: int, metadata: dict[str, Any]) -> Path:
    """Write ``model`` with its kind, version and metadata to ``path`` (folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"kind": kind, "version": version, "metadata": metadata, "model": model}, path)
    return path


def load_model(path: str | Path, *, kind: str, version: int) -> Any:
    """Read a model written by :func:`save_model`, checking that it is of ``kind`` and ``version``."""
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a {kind} model file.")
    if not path.is_file():
        raise ModelFileError(f"There is no model file at {path}; train one first.")
    try:
        saved = joblib.load(path)
    except Exception as error:  # unpickling raises many types; all mean "not a model we can read"
        # Not the type's name: "(IndexError)" told the person nothing; the cause stays chained for a developer.
        raise ModelFileError(f"{path} is not a {kind} model file: it cannot be read as one.") from error
    if not isinstance(saved, dict) or saved.get("kind") != kind:
        raise ModelFileError(f"{path} does not hold a {kind} model.")
    if saved.get("version") != version:
        raise ModelFileError(
            f"{path} was saved by {kind} model version {saved.get('version')}, this is version {version}; retrain it."
        )
    return saved["model"]
