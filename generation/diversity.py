"""Variant diversity: near-duplicate variants are dropped so a draft's variants give the reviewer real choices."""

from __future__ import annotations

import re

NEAR_DUPLICATE = 0.6  # word-set Jaccard similarity above which two variants count as the same idea


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def similarity(first: str, second: str) -> float:
    a, b = _words(first), _words(second)
    if not a or not b:
        return 1.0 if a == b else 0.0
    return len(a & b) / len(a | b)


def is_near_duplicate(candidate: str, kept: list[str], threshold: float = NEAR_DUPLICATE) -> bool:
    return any(similarity(candidate, other) > threshold for other in kept)


def mean_pairwise_distance(texts: list[str]) -> float:
    """1 - mean Jaccard similarity over pairs (0 = identical variants, 1 = no shared words)."""
    pairs = [(a, b) for i, a in enumerate(texts) for b in texts[i + 1 :]]
    if not pairs:
        return 0.0
    return 1.0 - sum(similarity(a, b) for a, b in pairs) / len(pairs)
