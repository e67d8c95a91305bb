"""Injection: nothing in the copy that only obeying instructions hidden in the data would produce.

The data (product text, names) is delimited in the prompt; here the output is checked for what copy never
needs: links, email addresses, markup (HTML or markdown), template or code syntax, talk about prompts and models,
and long passages lifted word for word from the data the model was shown; nor a part that repeats the
instructions the model was given: a short part made of their words in their order ("Fix this.", "Say so in the
subject"), or a longer one holding a run of ``COPIED_WORDS`` of them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from generation.guardrails.base import CheckContext, failed, passed
from generation.schemas import CheckResult

NAME = "injection"
LABEL = "text the copy never needs (links, markup, instructions)"  # the name a copywriter reads
COPIED_WORDS = 8  # this many consecutive words lifted from the data counts as repeating it
_SIGNS = {
    # A domain, whatever its ending (".shop", ".store", "t.me/..."), in lower case only: copy missing the space after
    # a full stop ("your tea.It is back", "Try it.Be quick") writes the next sentence's first word with a capital;
    # and a name of two letters or more before the dot ("m.in.", "p.ex.", "p.ej." are abbreviations) or a path after
    # the ending ("t.me/shop"). And an address spelled out to pass a filter ("hearthdeals dot shop"; not a "polka
    # dot").
    "a link": re.compile(
        r"(https?://|www\.|\b[\w-]{2,}\.(?-i:[a-z]{2,24})\b|\b[\w-]+\.(?-i:[a-z]{2,24})/\w|"
        r"\b(?!polka\b)\w{2,}\s*[(\[]?\s*dot\s*[)\]]?\s*(?:com|net|org|shop|store|co|io|me|app|de|uk|eu|info)\b)",
        re.I,
    ),
    "an email address": re.compile(r"[\w.+-]+@[\w-]+\.\w+"),
    "markup": re.compile(r"<\s*/?\s*[a-z][^>]*>|&[a-z]+;|\[[^\]]*\]\([^)]*\)", re.I),
    # Markdown, which an email shows as its asterisks: "**Come back**", "_see_", "# Title", "`code`".
    "markdown": re.compile(
        r"\*\*|`|(?m:^\s*#{1,6}\s)|(?<![\w*])\*(?=\S)[^*\n]{1,80}(?<=\S)\*(?![\w*])|"
        r"(?<!\w)_(?=\S)[^_\n]{1,80}(?<=\S)_(?!\w)"
    ),
    "template or code syntax": re.compile(
        r"(\{\{|\}\}|\{%|%\}|```|\$\{|__\w+__|\bimport\s+\w|\bdef\s+\w+\(|\bselect\s.+\bfrom\b|"
        r"\beval\(|\bexec\(|<script|javascript:)",
        re.I,
    ),
    "talk about prompts or models": re.compile(
        r"\b(prompt|instructions?|system message|language model|as an ai|ai model|assistant|chatgpt|jailbreak|"
        r"ignore (all|any|the|previous|above)|disregard|anweisung\w*|ignorier\w*|instrukcj\w*|zignoruj|"
        r"инструкци\w*|игнорир\w*|промпт\w*|нейросет\w*|instruccion\w*|istruzion\w*|instruç\w*|instructie\w*|"
        r"ignorez|ignori\b|negeer\w*)",  # Italian 'ignori', not the start of English 'ignoring'
        re.I,
    ),
    # The model speaking of its own answer: "So here is a possible revision of the previous version".
    "talk about its own writing": re.compile(
        r"\b(previous version|possible (?:revision|version)|revised version|rewritten version|here is (?:a|the|my|"
        r"an?) (?:possible |revised |new |updated )?(?:version|revision|rewrite|draft|product line|subject line))\b",
        re.I,
    ),
}


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _shingles(words: list[str] | tuple[str, ...], size: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def _repeats(words: tuple[str, ...], told: str, told_shingles: frozenset[tuple[str, ...]]) -> bool:
    """Whether a part of ``words`` repeats the instructions (``told``: their words, one space apart and around):
    a part shorter than ``COPIED_WORDS`` whose words come in them in its order, or a longer part holding a run of
    that many of them. One word alone is never judged: every word of copy is in some instruction."""
    if len(words) < COPIED_WORDS:
        return len(words) > 1 and f" {' '.join(words)} " in told
    return bool(told_shingles & _shingles(words, COPIED_WORDS))


# Distinct texts (copy, data, instructions) whose words and signs are remembered: a group's copy, products and
# instructions are checked again for each of its customers and each version.
TEXTS_MEMO = 4096


@lru_cache(maxsize=TEXTS_MEMO)
def _sign_in(value: str) -> str | None:
    """The first of `_SIGNS` that ``value`` shows, by what it is, or None."""
    return next((what for what, pattern in _SIGNS.items() if pattern.search(value)), None)


@lru_cache(maxsize=TEXTS_MEMO)
def _words_and_shingles(text: str) -> tuple[tuple[str, ...], frozenset[tuple[str, ...]]]:
    """`_words` of ``text`` and their runs of `COPIED_WORDS`."""
    words = tuple(_words(text))
    return words, frozenset(_shingles(words, COPIED_WORDS))


def check(context: CheckContext) -> CheckResult:
    request = context.request
    data_texts = [p.description for p in request.products] + [request.customer.first_name, request.reason]
    data_shingles = set().union(*(_words_and_shingles(text)[1] for text in data_texts))
    told_words, told_shingles = _words_and_shingles(context.instructions)
    told = f" {' '.join(told_words)} "
    for field, value in context.copy_fields().items():
        if (what := _sign_in(value)) is not None:
            return failed(NAME, f"the {field} contains {what}, which email copy never needs")
        words, shingles = _words_and_shingles(value)
        if data_shingles & shingles:
            return failed(NAME, f"the {field} repeats product or customer data word for word")
        if told_words and _repeats(words, told, told_shingles):
            return failed(NAME, f"the {field} repeats the instructions instead of writing to the customer")
    return passed(NAME)
