"""What the evals' progress tests share: a clock that stands still (so that two runs write the same bytes), and the
progress silenced, to show that the reports are the same with and without it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest


class _Frozen(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 12, 7, 12, 0, tzinfo=tz or UTC)


def frozen_clock(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> None:
    """``module``'s datetime.now and every time.perf_counter stand still for the rest of the test."""
    monkeypatch.setattr(module, "datetime", _Frozen)
    monkeypatch.setattr(time, "perf_counter", lambda: 1000.0)


def silenced(monkeypatch: pytest.MonkeyPatch, *modules: ModuleType) -> None:
    """No progress said, by ``modules`` nor by evals.report's helpers: what a run is without it."""
    from evals import report

    for module in (report, *modules):
        monkeypatch.setattr(module, "say", lambda step: None)


def written(folder: Path) -> dict[str, bytes]:
    """Every report file under ``folder``, by name, as its bytes."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}
