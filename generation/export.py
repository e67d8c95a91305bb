"""Export of drafts as JSON Lines, one line per variant, for handing to an email service provider."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from generation.schemas import Draft


def draft_rows(
    drafts: Iterable[Draft], scores: Mapping[tuple[str, str], Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """One dict per variant: ids, copy, bodies, checks, the draft's notes for a reviewer, and the scores keyed
    by (customer_id, variant_id)."""
    rows = []
    for draft in drafts:
        for variant in draft.variants:
            score = dict((scores or {}).get((draft.customer_id, variant.variant_id), {}))
            rows.append(
                {
                    "customer_id": draft.customer_id,
                    "campaign_type": draft.campaign_type,
                    "locale": draft.locale,
                    "variant_id": variant.variant_id,
                    "subject": variant.subject,
                    "preheader": variant.preheader,
                    "intro": variant.intro,
                    "product_lines": variant.product_lines,
                    "text": variant.text,
                    "html": variant.html,
                    "checks": [check.model_dump() for check in variant.checks],
                    "checks_passed": variant.passed,
                    "used_fallback": variant.used_fallback,
                    "notes": draft.notes,
                    "scores": {key: _plain(value) for key, value in score.items()},
                }
            )
    return rows


def write_jsonl(
    drafts: Iterable[Draft], path: str | Path, scores: Mapping[tuple[str, str], Mapping[str, Any]] | None = None
) -> int:
    """Write the drafts to `path` (one JSON object per variant per line), whole or not at all (`written_whole`: a
    line that cannot be written leaves an earlier file at `path` as it was); returns the number of lines."""
    rows = draft_rows(drafts, scores)
    with written_whole(Path(path)) as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows)


@contextmanager
def written_whole(out: Path) -> Iterator[TextIO]:
    """A text file for ``out`` that appears whole or not at all, its owner's alone: written beside it as
    ``.NAME.part`` and renamed to ``out`` once the block ends without an error (a write that fails half way leaves
    ``out`` as it was, and no part file). A part file that cannot be made is told as ``out``, the path the user
    gave, not as the part file they never named."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.part")
    try:
        try:
            handle = open(partial, "w", encoding="utf-8", opener=private_opener)  # noqa: SIM115 (the with below)
        except OSError as error:
            raise OSError(error.errno, error.strerror, str(out)) from error
        with handle:
            os.chmod(handle.fileno(), 0o600)  # a part file left by a killed run keeps its mode otherwise
            yield handle
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def private_opener(path: str, flags: int) -> int:
    """An ``open`` opener making the file readable by its owner only: drafts hold customers' addresses, names and
    emails, and the umask left them readable by every user of the machine."""
    return os.open(path, flags, 0o600)


def _plain(value: Any) -> Any:
    """numpy scalars and the like as plain JSON values."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
