"""Spam triggers: shouting capitals, punctuation runs, emoji and exclamations beyond the brand's policy,
and phrases that spam filters and readers distrust."""

from __future__ import annotations

import re

from generation.guardrails.base import CheckContext, failed, passed, quoted
from generation.schemas import CheckResult

NAME = "spam_triggers"
LABEL = "spam words"  # the name a copywriter reads
# One emoji as a reader sees it, however many code points write it: a symbol (a flag is two letters; a character
# outside these blocks is one when the colour selector U+FE0F follows it, as in a keycap) with its selector, skin
# tone or keycap mark, and those joined to it by U+200D. Counted by code point, "☀️" was two emoji and a family of
# three people three, over a brand's limit of one; and a cut to the limit kept part of a joined one.
_SYMBOL = "(?:[\U0001f1e6-\U0001f1ff]{2}|[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff]|[^\\s\ufe0f\u200d]\ufe0f)"
_MARKS = "[\ufe0f\u20e3\U0001f3fb-\U0001f3ff]*"
EMOJI = re.compile(f"{_SYMBOL}{_MARKS}(?:\u200d{_SYMBOL}{_MARKS})*")
_WORD = re.compile(r"\b[^\W\d_]{4,}\b")  # a word of four letters or more, in any alphabet
_RUNS = re.compile(r"[!?]{2,}|\${2,}|€{2,}|\*{3,}")
_PHRASES = re.compile(
    r"(100\s?% free|click here|act now|buy now|order now|risk[- ]free|no risk|winner|you have won|cash bonus|"
    r"limited time|once in a lifetime|jetzt kaufen|hier klicken|gewonnen|kliknij tutaj|kup teraz|wygrałeś|"
    r"нажмите здесь|купите сейчас|вы выиграли|натиснете тук|купете сега|спечелихте|cliquez ici|achetez maintenant|"
    r"vous avez gagné|haga clic aquí|compre ahora|usted ha ganado|ha ganado un premio|clicca qui|acquista ora|"
    r"Lei ha vinto|ha vinto un premio|clique aqui|compre (?:já|agora)|você ganhou|ganhou um pr[éê]mio|klik hier|"
    r"koop nu|(?:u heeft|je hebt) gewonnen)",
    re.IGNORECASE,
)


def _named_in_capitals(context: CheckContext) -> set[str]:
    """The words the data itself writes in capitals, which copy may quote without shouting: of the products' and
    the brand's names ("SMEG Electric Kettle", "MUJI"), and the offer's code."""
    offer = context.request.offer
    names = [*(product.name for product in context.request.products), context.brand.name, offer.code if offer else ""]
    return {word for name in names if name for word in _WORD.findall(name) if word.isupper()}


def check(context: CheckContext) -> CheckResult:
    brand = context.brand
    emoji_total = exclamation_total = 0
    named = _named_in_capitals(context)
    for field, value in context.copy_fields().items():
        if _RUNS.search(value):
            return failed(NAME, f"the {field} has a run of punctuation ('{quoted(_RUNS.search(value).group(0))}')")
        # every cased letter a capital ("ŻÓŁW"), and not a name the data writes so
        caps = [word for word in _WORD.findall(value) if word.isupper() and word not in named]
        if caps:
            return failed(NAME, f"the {field} shouts in capitals ('{quoted(caps[0])}')")
        phrase = _PHRASES.search(value)
        if phrase:
            return failed(NAME, f"the {field} uses the spam-trigger phrase '{phrase.group(0)}'")
        emoji_total += len(EMOJI.findall(value))
        exclamation_total += value.count("!")
    emoji_limit = brand.emoji.max if brand.emoji.allowed else 0
    if emoji_total > emoji_limit:
        return failed(NAME, f"the copy has {emoji_total} emoji; the {brand.name} kit allows {emoji_limit}")
    # The fixed Russian greeting ends with '!', so count only what the model wrote.
    if exclamation_total > brand.exclamation_max:
        return failed(
            NAME, f"the copy has {exclamation_total} exclamation marks; the kit allows {brand.exclamation_max}"
        )
    return passed(NAME)
