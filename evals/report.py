"""Where every eval leaves its results: `<out>/<stem>.json` (the figures) and `<out>/<stem>.md` (the table)."""

from __future__ import annotations

import json
from pathlib import Path


def write_report(report: dict, markdown: str, out: Path, stem: str) -> Path:
    """Write the JSON report and its markdown table side by side; returns the JSON file's path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}.json"
    path.write_text(json.dumps(report, indent=2, default=float, ensure_ascii=False), encoding="utf-8")
    (out / f"{stem}.md").write_text(markdown.rstrip("\n") + "\n", encoding="utf-8")
    return path
