"""Light repair of model copy before it is checked: direction controls and characters that take no room dropped
(generation.invisible: they hid "free" from the spam check, and turned a subject around), whitespace, quotes, a first
letter in lower case, emoji beyond the brand's policy, and text past the length limit cut back to whole sentences (or
whole words for a subject line), and an intro that stops mid-sentence cut back to its last finished sentence, or, when
it only lacks its full stop (it ends on a word a sentence may end on), given one."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from generation.brands import BrandKit
from generation.guardrails.length import LIMITS
from generation.guardrails.spam import EMOJI
from generation.guardrails.structure import last_word, plain_words, stops_mid_phrase
from generation.invisible import visible

_SENTENCE_END = re.compile(r"[.!?…。](?=\s|$)")
_ENDS_FIELD = re.compile(r"[.!?…)\"”»。]$")
_DANGLING = " ,;:-–—"  # a subject or preheader ending in one of these was cut off mid-thought


def cut_to_sentences(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() <= limit]
    return text[: ends[-1]].strip() if ends else text


def cut_to_words(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(_DANGLING)


def limit_emoji(text: str, allowed: int) -> str:
    seen = 0

    def keep(match: re.Match) -> str:
        nonlocal seen
        seen += 1
        return match.group(0) if seen <= allowed else ""

    return EMOJI.sub(keep, text)


def drop_repeated_sentences(text: str) -> str:
    """Each sentence once: small models loop on a sentence until they run out of tokens, and write it again with a
    word changed ("Here are your usual picks, ready to reorder. Here's your usual picks, ready to reorder."): a
    sentence nine tenths the same as one before it, letter for letter, is the same sentence."""
    sentences = re.split(r"(?<=[.!?…])\s+", text)
    seen: list[str] = []
    kept = []
    for sentence in sentences:
        key = plain_words(sentence)
        if key and not any(key == earlier or _nearly(key, earlier) for earlier in seen):
            seen.append(key)
            kept.append(sentence)
    return " ".join(kept)


def _nearly(one: str, other: str) -> bool:
    return min(len(one), len(other)) >= 20 and SequenceMatcher(None, one, other).ratio() >= NEARLY_THE_SAME


NEARLY_THE_SAME = 0.9  # of the letters of two sentences (their plain words), in order


def drop_unfinished_sentence(text: str, min_length: int) -> str:
    """Text cut after its last finished sentence when it stops mid-sentence (a small model runs out of tokens),
    as long as what is left is still `min_length` long; otherwise the text as it is, for the checks to judge."""
    if _ENDS_FIELD.search(text):
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    return text[: ends[-1]].strip() if ends and ends[-1] >= min_length else text


def drop_repeated_opening(intro: str, earlier: list[str], min_length: int) -> str:
    """The intro without opening sentences that only repeat the subject or preheader (small models copy the
    subject into the intro), as long as what is left is still `min_length` long."""
    sentences = re.split(r"(?<=[.!?…])\s+", intro.strip())
    for other in earlier:
        repeated = plain_words(other)
        if len(repeated) <= 15 or not plain_words(intro).startswith(repeated):
            continue
        for cut in range(1, len(sentences)):
            if len(plain_words(" ".join(sentences[:cut]))) >= len(repeated):
                rest = " ".join(sentences[cut:])
                return rest if len(rest) >= min_length else intro
    return intro


# English words a cut-off sentence often stops on, though a finished one may too ("sit well beside", "ready
# when you are"): a missing full stop is not added after them, so that the check still sees such an intro.
_NO_STOP_AFTER = frozenset((
    "about", "above", "across", "after", "against", "along", "among", "around", "at", "before", "behind", "below",
    "beneath", "beside", "besides", "between", "beyond", "by", "down", "during", "except", "for", "from", "in",
    "inside", "into", "like", "near", "of", "off", "on", "onto", "out", "outside", "over", "past", "since",
    "through", "till", "to", "toward", "towards", "under", "until", "up", "upon", "with", "within", "without",
    "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "do", "does", "did", "will", "would",
    "shall", "should", "can", "could", "may", "might", "must",
))  # fmt: skip


def end_sentence(text: str, locale: str) -> str:
    """``text`` with a full stop when it has none and plainly ends its sentence: on a word no sentence needs more
    after ("Here are a few ideas we picked for you" was turned down for the missing stop alone)."""
    if not text or _ENDS_FIELD.search(text):
        return text
    text = text.rstrip(_DANGLING)
    if not text or stops_mid_phrase(text, locale) or last_word(text).lower() in _NO_STOP_AFTER:
        return text
    return f"{text}."


def capitalized(text: str) -> str:
    """``text`` with its first letter a capital: the local model wrote "it has been a while" as a subject."""
    return text[0].upper() + text[1:] if text and text[0].islower() else text


def tidy(text: str, field: str, brand: BrandKit, locale: str = "en") -> str:
    text = capitalized(" ".join(visible(str(text)).split()).strip(" \"'«»„“”"))
    text = drop_repeated_sentences(text)
    text = " ".join(limit_emoji(text, brand.emoji.max if brand.emoji.allowed else 0).split())
    low, high = LIMITS[field]
    if field in ("subject", "preheader"):
        text = (
            cut_to_words(text, high)
            if len(text) > high and _SENTENCE_END.search(text) is None
            else (cut_to_sentences(text, high) if len(text) > high else text)
        )
        return text.rstrip(_DANGLING)  # "A cup of tea with a hint of ale," came from the local model
    if field == "intro":
        text = end_sentence(drop_unfinished_sentence(text, low), locale)
    return cut_to_sentences(text, high)
