"""The quick CI configuration's floors and ceilings (`thresholds.yaml`), checked in one place.

Each area's quick run puts its figures under the names its section of `thresholds.yaml` uses: `NAME_min` is a
floor, `NAME_max` a ceiling, a plain `NAME: true` a property that must hold. The run's report lists what it
breaks as `threshold_failures`, and the run exits with 1, so that `tailor eval AREA --quick` can gate a build as
the test suite does.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import yaml

THRESHOLDS = Path(__file__).resolve().with_name("thresholds.yaml")


def limits(area: str, section: str | None = None) -> dict:
    """The area's limits (one section of them when ``section`` is given; {} when it has none)."""
    table = (yaml.safe_load(THRESHOLDS.read_text(encoding="utf-8")) or {}).get(area, {})
    return table.get(section, {}) if section is not None else table


def broken(measured: dict, bounds: dict, where: str = "") -> list[str]:
    """One readable line per limit in ``bounds`` that a figure in ``measured`` breaks; a figure the run did not
    measure breaks its limit too (a check that cannot fail is no check)."""
    failures = []
    prefix = f"{where}: " if where else ""
    for key, bound in bounds.items():
        name, _, kind = key.rpartition("_")
        if kind not in ("min", "max"):
            name, kind = key, "must hold"
        value = measured.get(name)
        if value is None:
            failures.append(f"{prefix}{name} was not measured")
        elif kind != "must hold" and math.isnan(value):
            # NaN compares False with every bound, so it passed every floor and ceiling (an AUC or a pairwise
            # accuracy with one class or no pair to measure is NaN).
            failures.append(f"{prefix}{name} = {value}, not a measurable figure ({kind} {bound})")
        elif kind == "must hold" and bool(value) is not bool(bound):
            failures.append(f"{prefix}{name} is {value}, should be {bound}")
        elif (kind == "min" and value < bound) or (kind == "max" and value > bound):
            failures.append(f"{prefix}{name} = {value:.4g}, {kind} {bound}")
    return failures


def exit_code(failures: list[str]) -> int:
    """Each failure on stderr, and the run's exit code: 1 when a threshold is broken, else 0. Told as broken, not
    "below": a ceiling (an ECE's ``max``) is broken from above."""
    for failure in failures:
        print(f"threshold broken: {failure}", file=sys.stderr)
    return 1 if failures else 0
