"""Characters a reader of an email does not see: direction controls, which show text in another order than it is
written (a subject whose U+202E shows "rof yrros" as "sorry for"), and characters that take no room (zero-width
space, joiners, soft hyphen, byte order mark), which hide a word from the checks ("fr", U+200B, "ee" is no "free"
to a pattern, though it is to a reader) and which spam filters count against the sender.

Tailor writes left-to-right languages only (generation.schemas.LOCALES), so its copy needs no direction control at
all. It keeps two uses of the joiners that a reader does see: U+200D inside an emoji (a family, a flag of a skin
tone: generation.guardrails.spam.EMOJI) and U+200C/U+200D between two letters of a script that joins its letters
(Arabic, Persian, the Indic scripts), as a customer's or product's imported name may need; between Latin,
Greek or Cyrillic letters they join nothing and only hide the word.
"""

from __future__ import annotations

import re
import unicodedata

from generation.guardrails.spam import EMOJI

# Embeddings, overrides and their pop (U+202A-U+202E), isolates (U+2066-U+2069) and the marks (U+200E LRM, U+200F
# RLM, U+061C ALM)
DIRECTION_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Soft hyphen, Mongolian vowel separator, zero-width space, non-joiner, joiner, word joiner, the invisible
# operators, and the byte order mark (a zero-width no-break space inside text)
NO_ROOM = "\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff"
_DIRECTION = re.compile(f"[{DIRECTION_CONTROLS}]")
# Every character a reader may not see, the joiners a reader does see among them (``first_hidden`` tells them apart)
HIDDEN = f"[{DIRECTION_CONTROLS}{NO_ROOM}]"
_HIDDEN = re.compile(HIDDEN)
_JOINERS = "\u200c\u200d"
# Scripts whose letters take joined or unjoined forms: Arabic to Sinhala (Arabic, Syriac, Thaana, NKo, the Indic
# scripts), Mongolian, and Arabic's presentation forms
_JOINING_SCRIPT = re.compile("[\u0600-\u0dff\u1800-\u18af\ufb50-\ufdff\ufe70-\ufefe]")


def visible(text: str) -> str:
    """``text`` without direction controls and characters that take no room, but for the joiners a reader sees
    (in an emoji, between letters of a joining script)."""
    if not _HIDDEN.search(text):
        return text
    in_emoji = _in_emoji(text)
    return _HIDDEN.sub(lambda hidden: hidden.group(0) if _seen(text, hidden.start(), in_emoji) else "", text)


def first_hidden(text: str) -> str | None:
    """Where ``text``'s first character a reader does not see is and which it is (a direction control, or one that
    takes no room that ``visible`` drops), in words ("character 4 is U+200B ZERO WIDTH SPACE"); None when it has
    none: for text that must be kept as it is written (an address), or told to a person rather than mended."""
    if not _HIDDEN.search(text):
        return None
    in_emoji = _in_emoji(text)
    for hidden in _HIDDEN.finditer(text):
        if not _seen(text, hidden.start(), in_emoji):
            return f"character {hidden.start() + 1} is {described(hidden.group(0))}"
    return None


def first_direction_control(text: str) -> str | None:
    """Where ``text``'s first direction control is and which it is, in words for the person who typed it
    ("character 12 is U+202E RIGHT-TO-LEFT OVERRIDE"); None when it has none."""
    found = _DIRECTION.search(text)
    if found is None:
        return None
    return f"character {found.start() + 1} is {described(found.group(0))}"


def described(character: str) -> str:
    """A character by its code point and Unicode name: "U+200B ZERO WIDTH SPACE"."""
    return f"U+{ord(character):04X} {unicodedata.name(character, 'UNNAMED')}"


def _in_emoji(text: str) -> set[int]:
    """The positions inside the emoji of ``text``, where a joiner is a part of the emoji."""
    return {index for match in EMOJI.finditer(text) for index in range(match.start() + 1, match.end())}


def _seen(text: str, index: int, in_emoji: set[int]) -> bool:
    """Whether the hidden character at ``index`` is a joiner a reader sees: inside an emoji (U+200D), or between
    two letters of a joining script."""
    character = text[index]
    if character not in _JOINERS:
        return False
    if character == "\u200d" and index in in_emoji:
        return True
    before, after = text[index - 1 : index], text[index + 1 : index + 2]
    return bool(before and after and _JOINING_SCRIPT.match(before) and _JOINING_SCRIPT.match(after))
