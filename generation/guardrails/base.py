"""What a guardrail sees (the copy, the rendered email, the facts it was written from) and what it returns."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from generation.brands import BrandKit
from generation.schemas import CheckResult, DraftRequest


@dataclass
class CheckContext:
    request: DraftRequest
    brand: BrandKit
    subject: str
    preheader: str
    intro: str
    product_lines: list[str]
    html: str = ""
    text: str = ""
    extra_facts: list[str] = field(default_factory=list)  # other facts the copy may quote (template wording)
    lines_only: bool = False  # check just the product lines (a model's line kept apart from its variants)
    # The product each line describes; unset, line i describes the request's product i.
    line_products: list[str] = field(default_factory=list)
    # What the model was told to do, without the data it was shown: copy that repeats it was not written for the
    # customer (the subject "Fix this." from "Your previous answer was rejected: ... Fix this."). Empty for a
    # person's copy.
    instructions: str = ""

    @property
    def locale(self) -> str:
        return self.request.customer.locale

    def copy_fields(self) -> dict[str, str]:
        """The parts a model wrote, by name (what most checks inspect)."""
        fields = {} if self.lines_only else {"subject": self.subject, "preheader": self.preheader, "intro": self.intro}
        fields.update({f"product line {i + 1}": line for i, line in enumerate(self.product_lines)})
        return fields

    def copy_text(self) -> str:
        return "\n".join(self.copy_fields().values())


Check = Callable[[CheckContext], CheckResult]


def passed(name: str) -> CheckResult:
    return CheckResult(name=name, passed=True, reason="")


def failed(name: str, reason: str) -> CheckResult:
    return CheckResult(name=name, passed=False, reason=reason)


QUOTE_MAX = 40  # characters of the copy a reason quotes


def quoted(text: str) -> str:
    """``text`` as a reason quotes it: whole when short, else its first QUOTE_MAX characters and an ellipsis (a
    290-letter word in capitals was quoted whole, in the flag card, the check list and the export)."""
    return text if len(text) <= QUOTE_MAX else text[: QUOTE_MAX - 1] + "…"


@lru_cache(maxsize=1024)
def word_pattern(word: str, ending: str = "") -> re.Pattern:
    """``word`` (or phrase) as a whole word in any case, optionally followed by the regex ``ending`` (a plural)."""
    return re.compile(rf"(?<!\w){re.escape(word)}{ending}(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=64)
def any_word(words: tuple[str, ...], ending: str = "") -> re.Pattern | None:
    """One pattern that finds any of ``words`` as ``word_pattern`` does, or None for no words: most copy names
    none of a check's words, and one search tells before each word is searched for its name."""
    return re.compile("|".join(word_pattern(w, ending).pattern for w in words), re.IGNORECASE) if words else None
