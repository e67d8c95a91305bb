"""Structure: the copy reads as finished writing: no placeholder waits to be filled ("Hi {first_name}",
"[Customer Name]", "$FIRST_NAME"), the intro ends its sentence and no other part stops on a word that needs
more ("The selection is to honor the people who have"), the subject is more than one word, no part loops on
its own words, and no part merely repeats another."""

from __future__ import annotations

import re

from generation.guardrails.base import CheckContext, failed, passed, quoted
from generation.schemas import CheckResult

NAME = "structure"
LABEL = "structure"  # the name a copywriter reads
MIN_DISTINCT_TRIGRAMS = 0.8  # share of a text's three-word sequences that must be distinct
_ENDS_SENTENCE = re.compile(r"[.!?…)\"”»]$")
# What mail-merge placeholders look like: {name}, ${name}, $NAME, %name%, <<name>>, and square brackets around
# what a writer leaves for later ([Name], [insert product], [Link]). Copy never needs braces; "[NEW]" stays fine.
# A template engine's doubled braces ({{ name }}) are matched whole, so that the reason quotes them as typed.
_PLACEHOLDER = re.compile(
    r"\$?\{\{[^{}\n]{0,40}\}\}|\$?\{[^{}\n]{0,40}\}|\$\{|\$[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\$(?:NAME|FIRSTNAME|FNAME|EMAIL)\b|%[A-Za-z_]+%|<<[^<>\n]{1,40}>>"
    r"|(?i:\[[^\[\]\n]{0,30}\b(?:name|customer|product|brand|shop|store|link|url|insert|date|code|price|company|"
    r"email|first|last|imię|имя|vorname|prénom|nom|naam|voornaam|client|klant|prod|lien|enlace)\w*\b[^\[\]\n]{0,30}\])"
)


def plain_words(text: str) -> str:
    """The text's words, lower case, one space apart: how repeats are compared (and repaired, in tidy)."""
    return " ".join(re.findall(r"\w+", text.lower()))


# Words a finished phrase does not end on, per locale: articles, conjunctions, relative pronouns, possessives that
# need their noun, and (where a language never leaves one at the end) prepositions. English ends phrases on
# prepositions and verbs ("ready when you are", "to start with"), so its list is short; a relative clause left
# open ("the people who have") is caught on its own. A field that ends its sentence (. ! ?) is not judged.
_NEEDS_MORE = {
    "en": "a an the and or nor but because than who whose which our your their my",
    "de": "und oder aber der die das den dem des ein eine einen einem einer dass weil unsere unseren ihre ihren",
    "pl": "i oraz lub albo ale że który która które którzy twoja twoje twoich nasza nasze naszych z ze w we na do "
    "dla od o",
    "ru": "и или но что который которая которое которые в во на с со к ко для от о об",
    "bg": "и или но че който която което които в във на с със за от до",
    # Not the object pronouns that end a French or Portuguese imperative after its hyphen ("Découvrez-les",
    # "Profitez-en", "Conheça-os", "Visite-nos"), nor the Dutch particles and prepositions that end a sentence
    # ("Kijk eens rond", "Neem contact op", "Daar zorgen wij voor").
    "fr": "un une des du de et ou mais que qui dont notre nos votre vos ce cette ces à au aux pour avec dans sur "
    "par chez",
    "es": "el la los las un una unos unas y o ni pero que cuyo cuya nuestro nuestra nuestros nuestras su sus de "
    "del al a en con para por sin",
    "it": "il lo la i gli le un uno una e ed o ma che cui nostro nostra nostri nostre suo sua suoi sue di del della "
    "dei degli delle a al alla ai agli alle da dal dalla in nel nella con su sul per tra fra",
    "pt": "um uma uns umas e ou mas nem que cujo cuja nosso nossa nossos nossas seu sua seus suas de do da dos das "
    "em ao aos à com para por pelo pela sem",
    "nl": "de een en of maar welke wiens onze uw jouw met te tot omdat",
}
_NEEDS_MORE_WORDS = {locale: frozenset(words.split()) for locale, words in _NEEDS_MORE.items()}
_LAST_WORD = re.compile(r"(\w+)\W*$")
_OPEN_CLAUSE = re.compile(
    r"\b(?:who|which|that)\s+(?:have|has|had|is|are|was|were|will|would|can|could)[\s,;:\-–—]*$", re.I
)
_ENDS_WITH_STOP = re.compile(r"[.!?…]\W*$")


def last_word(text: str) -> str:
    """The last word of ``text``, past any punctuation after it ("" when there is none)."""
    last = _LAST_WORD.search(text)
    return last.group(1) if last else ""


def stops_mid_phrase(text: str, locale: str) -> str | None:
    """The word(s) ``text`` stops on when they need more, or None."""
    text = text.strip()
    if _ENDS_WITH_STOP.search(text):
        return None
    if locale == "en" and (clause := _OPEN_CLAUSE.search(text)):
        return clause.group(0).strip(" ,;:-–—")
    word = last_word(text)
    return word if word.lower() in _NEEDS_MORE_WORDS.get(locale, _NEEDS_MORE_WORDS["en"]) else None


def unfilled_placeholder(text: str) -> str | None:
    """The first mail-merge placeholder left in ``text``, as written, or None."""
    match = _PLACEHOLDER.search(text)
    return match.group(0) if match else None


def check(context: CheckContext) -> CheckResult:
    for name, value in context.copy_fields().items():
        placeholder = unfilled_placeholder(value)
        if placeholder:
            return failed(NAME, f"the {name} has an unfilled placeholder, {placeholder}: write the words it stands for")
    if not context.lines_only and not context.intro.strip():
        return failed(NAME, "the intro is empty: write a sentence or two that opens the email")
    if not context.lines_only and not _ENDS_SENTENCE.search(context.intro.strip()):
        return failed(NAME, "the intro stops mid-sentence")
    for name, value in context.copy_fields().items():
        dangling = stops_mid_phrase(value, context.locale)
        if dangling:
            return failed(NAME, f"the {name} stops mid-sentence, on '{quoted(dangling)}'")
    for position, line in enumerate(context.product_lines, start=1):
        if len(line.split()) < 2:
            return failed(
                NAME, f"product line {position} is a single word ('{quoted(line.strip())}'): say something of it"
            )
    if not context.lines_only and len(context.subject.split()) < 2:
        return failed(
            NAME, f"the subject is a single word ('{quoted(context.subject.strip())}'): say what the email brings"
        )
    for name, value in context.copy_fields().items():
        words = plain_words(value).split()
        trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
        if len(trigrams) >= 8 and len(set(trigrams)) / len(trigrams) < MIN_DISTINCT_TRIGRAMS:
            return failed(NAME, f"the {name} keeps repeating the same words")
    fields = list(context.copy_fields().items())
    for i, (name, value) in enumerate(fields):
        for other_name, other in fields[i + 1 :]:
            if name.startswith("product line") and other_name.startswith("product line"):
                continue  # each line sits under a different product, so a shared line still reads right
            if repeats(other, value):
                return failed(NAME, f"the {other_name} repeats the {name}")
    return passed(NAME)


def repeats(text: str, earlier: str) -> bool:
    """Whether ``text`` merely repeats ``earlier``: the same words, or words that start with all of it (when it is
    more than 15 letters long), or words all of it starts with (a preheader "A few ideas we picked" under the subject
    "A few ideas we picked for you" adds nothing, and the inbox shows both)."""
    text, earlier = plain_words(text), plain_words(earlier)
    if not (text and earlier):
        return False
    return text == earlier or (len(earlier) > 15 and text.startswith(earlier)) or _begins(earlier, text)


def _begins(longer: str, start: str) -> bool:
    """Whether the words of ``longer`` begin with all the words of ``start``, more than 15 letters long."""
    return len(start) > 15 and longer.startswith(start + " ")
