"""Language: the copy is written in the locale of the email, or in the customer's own language.

A customer whose language the templates do not cover gets an email in the brand's default language, flagged for a
person (generation.locales). A copywriter may keep it so or translate the copy for the customer; either is
accepted, so neither needs an override. The customer's language is then judged by langdetect alone when it is
none of the ten whose words and letters are known here: a short text in it may be mistaken.

Product, brand and customer names are left out of the copy first, whole names and the words of them it quotes
("our Bärlauch teapot"): names keep their own language, and "Café Crème Brûlée Syrup" in a German line is no
French. The script is then checked (Cyrillic for ru/bg, Latin for the rest), letters that only other languages
use (not the loanword letters a language's own text writes: Café, Crème in German) and spelling (Russian writes
ъ only before е, ё, ю, я; Bulgarian "към"). A text of five words or more must hold one of the language's
commonest words (a product line of the local model, "Porrajes de célropeo de l'eco de l'eco", was too short for
langdetect and held none), and a text that holds two of another language's commonest words, counting only those
that tell the two apart, and more of them than of its own fails: "Picked to go with your order" in a Polish email
(the "to" of both counts for neither), "Отдавна не сме се виждали" in a Russian one. langdetect then judges texts
long enough to judge, with a fixed seed so the verdict is reproducible, and a shorter one only where a telling word
agrees with it: alone, it is wrong on short texts. English is the exception: the model is shown its example and the
campaign's words in English and drifts into it, and langdetect is sure of short English ("Welcome back" as a German
email's subject held no telling word and was sent), while it gives English nothing on the templates' short texts of
the other nine languages; a short text it is sure is English, holding none of the email language's commonest words,
fails.

The whole copy is judged, then the subject, the preheader and the intro each alone, because the whole copy's
verdict let German product lines outvote an English subject and intro.

Verdicts are remembered per (text, locale): a campaign's customers share their group's copy, so its thousands of
variants hold a few hundred distinct texts, and langdetect (one call at a time, behind its lock) would otherwise
be most of the time spent personalizing them.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from generation.guardrails.base import CheckContext, failed, passed
from generation.locales import language_of
from generation.schemas import CheckResult
from generation.templates import LANGUAGE_NAMES

NAME = "language"
LABEL = "language"  # the name a copywriter reads
MIN_CHARS_TO_DETECT = 40
# Distinct (text, locale) verdicts remembered, least recently used dropped first: a few MB of copy at most.
VERDICT_MEMO = 8192
# Distinct sets of product and brand names whose pattern is remembered: one per group of customers at most.
NAMES_MEMO = 1024
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Letters that give away another language of the same script. Not the letters a language's own text borrows in
# loanwords: English and German write café, crème, à la carte, façade, jalapeño; Polish café, crème brûlée.
_FOREIGN_LETTERS = {
    "en": "ąćęłńśźżäöüß",
    "de": "ąćęłńśźż",
    "pl": "äöüßç",
    "ru": "їєіґў",
    "bg": "ыэёїєіґў",
    # Romance and Dutch copy borrows café, crème brûlée and jalapeño as English does, and Dutch writes ë, ï, ö, ü in
    # its own words (ideeën, coördinatie, reünie). What gives a neighbour away: Portuguese ã, õ; the cedilla, which
    # Spanish and Italian never write; grave and circumflex vowels in Spanish (French, Italian, Portuguese); Italian
    # ì, ò in French, Spanish and Portuguese; the acute á, í, ó, ú of Spanish and Portuguese in French; German ä,
    # ß, and ö but in Dutch.
    "fr": "ąćęłńśźżäößãõáíóúìò",
    "es": "ąćęłńśźżäößãõçàâêôìòù",
    "it": "ąćęłńśźżäößãõç",
    "pt": "ąćęłńśźżäößìòù",
    "nl": "ąćęłńśźżäßãõ",
}
# Russian writes ъ only before е, ё, ю, я (объём, подъезд); Bulgarian writes it as a vowel (към, поръчка).
_FOREIGN_SPELLING = {"ru": re.compile(r"ъ(?![еёюя])", re.IGNORECASE)}
# The commonest short words of each language, of which any text of MIN_WORDS_FOR_COMMON words or more holds one.
# A word of two languages is listed in both ("to" in English and Polish, "за" in Russian and Bulgarian, "de" in
# French, Spanish, Portuguese and Dutch, "die" in German and Dutch), so that only the words that differ tell them
# apart ("към", "които", "ви" from "к", "которые", "вам"; "el", "su", "usted" from "o", "seu", "você"; "het",
# "een", "uw" from "das", "ein", "Ihr"). A common word of one language that another's copy writes too, though not
# among its commonest, is left out, so that it never counts against that other language: Dutch "door" and "over"
# (English copy writes them), "ze" (Polish), "als" (German).
_COMMON_WORDS = {
    locale: frozenset(words.split())
    for locale, words in {
        "en": "the a an and to of for with your you is it in on our this that we are be as at by from or its all "
        "these those have has will can some here there into more what",
        "de": "der die das und ist mit für zu ein eine einen sie ihr ihre wir den dem von auf im in es aus bei "
        "ihrer ihren ihrem ihnen unser unsere unseren unserem unserer sich nicht auch noch nur wie zum zur des "
        "sind hat haben wird schon dass um da alle",
        "pl": "i w na z ze do się nie to jest dla o że ten ta twoje twój twoja nasz nasze jak od po ci cię "
        "twoich twoim twojego twoją naszej naszym naszego naszych nasza ciebie tobie są czy już tylko przez "
        "oraz co te u nas ma",
        "ru": "и в на с не что это как для по вы ваш ваши наш мы к от из у вам нам вас за до при без или но а о "
        "нас которые который которая которое чтобы уже ещё еще вашему вашим вашего вашей ваших нашего нашим "
        "нашей наших нашему был была были будет только тоже",
        "bg": "и в на с не че това как за по вие ваш ваши наш ние да от са е ви вас до при без или но а о "
        "нас си се сме сте ще към които който която което със във най тях тези този тази още вече нашия "
        "вашия нашите вашите",
        "fr": "le la les l un une des du de d au aux à a et ou mais que qu qui ce cette ces c il elle on nous vous "
        "votre vos notre nos leur leurs son sa ses se ne n pas plus pour par avec dans sur en y est sont ont été "
        "être avez avons très aussi déjà encore tout tous toute toutes comme chez si je",
        "es": "el la los las lo le les un una uno unos unas y o de del al a en con para por sin que es son está "
        "están ha han hemos se su sus nos nuestro nuestra nuestros nuestras usted ustedes este esta estos estas "
        "esto más muy ya también pero como hay todo todos cada si no te",
        "it": "il lo la l i gli le un uno una di del della dello dei degli delle da dal dalla a al alla ai agli alle "
        "in nel nella nei con su sul sulla per tra e ed o ma che chi non è sono ha hanno abbiamo siamo ci vi si "
        "se ne questo questa questi queste nostro nostra nostri nostre suo sua suoi sue lei anche più già molto "
        "tutto tutti ancora ogni qui no te",
        "pt": "o os a as um uma uns umas de do da dos das em no na nos nas ao aos à pelo pela pelos pelas com "
        "para por sem que é são está estão foi tem têm se seu sua seus suas nosso nossa nossos nossas você "
        "vocês lhe lhes mais muito já também este esta estes estas isso isto como mas ou até todo todos cada "
        "não e te",
        "nl": "de het een en of maar dat die dit deze van voor met in op aan bij om te tot uit naar is zijn heeft "
        "hebben wordt worden kan kunt zal wilt u uw ons onze we wij je jouw jij niet ook nog al dan wat",
    }.items()
}
MIN_WORDS_FOR_COMMON = 5
# Of the words that tell two languages apart, how many of the other's a text must hold (and more than of its own
# language's) to read as the other: one word may be borrowed or shared by chance, two in a short subject are not.
MIN_OTHER_WORDS = 2
# A text shorter than MIN_CHARS_TO_DETECT that holds one word of another language and none of its own fails when
# langdetect is this sure of that language ("Einen zweiten Blick wert." in a Polish email), or of English without
# such a word ("Welcome back" in a German one): alone, langdetect is wrong on short texts of other languages
# ("Willkommen in unserem Shop" reads as Norwegian).
SURE_OF_SHORT_TEXT = 0.9
FIELDS_JUDGED_ALONE = ("subject", "preheader", "intro")
LINES_JUDGED_FROM = 10  # words of the product lines (names left out) from which they are judged together too
_WORDS = re.compile(r"[^\W\d_]+")


_detector_lock = threading.Lock()


def detect(text: str) -> dict[str, float]:
    """Language probabilities of a text (deterministic; safe to call from several threads)."""
    return dict(_probabilities(text))


@lru_cache(maxsize=VERDICT_MEMO)
def _probabilities(text: str) -> tuple[tuple[str, float], ...]:
    """`detect`'s answer, remembered per text: the same text is judged in the email's locale and the customer's own,
    and as a whole copy and a part of one (a product line alone, then the lines together)."""
    from langdetect import DetectorFactory, detector_factory
    from langdetect.lang_detect_exception import LangDetectException

    with _detector_lock:  # langdetect loads its profiles lazily and not thread-safely
        DetectorFactory.seed = 0
        detector_factory.init_factory()
        try:
            detector = detector_factory._factory.create()
            detector.append(text)
            return tuple((item.lang, item.prob) for item in detector.get_probabilities())
        except LangDetectException:
            return ()


@lru_cache(maxsize=VERDICT_MEMO)
def language_matches(text: str, locale: str, what: str = "the copy") -> tuple[bool, str]:
    """Whether ``text`` reads as ``locale``'s language, and if not why (remembered per text and locale).
    ``what`` names the text in the reason; the whole copy ("the copy") must also hold one of the language's
    commonest words."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 3:
        return True, ""
    cyrillic = sum(bool(_CYRILLIC.match(c)) for c in letters) / len(letters)
    latin = sum(bool(_LATIN.match(c)) for c in letters) / len(letters)
    wanted = LANGUAGE_NAMES.get(locale, locale)
    if locale in ("ru", "bg") and cyrillic < 0.85:
        return False, f"{what} is not written in Cyrillic letters, expected {wanted}"
    if locale not in ("ru", "bg") and latin < 0.9:
        return False, f"{what} is not written in Latin letters, expected {wanted}"
    foreign = sorted({c for c in text.lower() if c in _FOREIGN_LETTERS.get(locale, "")})
    if foreign:
        return False, f"{what} uses letters ({''.join(foreign)}) that {wanted} does not"
    if (spelling := _FOREIGN_SPELLING.get(locale)) and (found := spelling.search(text)):
        return False, f"{what} spells '{_word_at(text, found.start())}' as {wanted} does not"
    words = [word.lower() for word in _WORDS.findall(text)]
    common = _COMMON_WORDS.get(locale)
    if what == "the copy" and common and len(words) >= MIN_WORDS_FOR_COMMON and not common.intersection(words):
        return False, f"{what} holds none of {wanted}'s commonest words, so it does not read as {wanted}"
    telling = _telling_words(words, locale) if common else {}
    # The language of most telling words is named: Spanish copy in an Italian email holds French words too ("en",
    # "que", "y"), and more Spanish ones.
    suspects = {
        other: theirs for other, (theirs, ours) in telling.items() if theirs >= MIN_OTHER_WORDS and theirs > ours
    }
    if suspects:
        other = max(suspects, key=suspects.__getitem__)
        return False, f"{what} reads as {LANGUAGE_NAMES.get(other, other)}, expected {wanted}"
    hinted = {other for other, (theirs, ours) in telling.items() if theirs and not ours}
    short = len(text) < MIN_CHARS_TO_DETECT
    # A short text with a word of its own language is judged by its words; one without may be English (see above).
    own_words = bool(common and common.intersection(words))
    if short and not hinted and common and (locale == "en" or own_words):
        return True, ""
    probabilities = detect(text)
    if not probabilities:
        return True, ""
    top, top_probability = max(probabilities.items(), key=lambda item: item[1])
    if top == locale or probabilities.get(locale, 0.0) >= 0.2:
        return True, ""
    if not common:
        return False, f"{what} reads as {LANGUAGE_NAMES.get(top, top)}, expected {wanted}"
    if short and not (top_probability >= SURE_OF_SHORT_TEXT and (top in hinted or top == "en" and not own_words)):
        return True, ""  # too short for langdetect alone: it must agree with a word of the language it names
    if top_probability < 0.6:
        return True, ""
    return False, f"{what} reads as {LANGUAGE_NAMES.get(top, top)}, expected {wanted}"


def _telling_words(words: list[str], locale: str) -> dict[str, tuple[int, int]]:
    """For each other language, how many of ``words`` are its and not ``locale``'s, and how many ``locale``'s and
    not its: a word of both counts for neither (the Polish "to" in "Picked to go with your order")."""
    ours = _COMMON_WORDS[locale]
    return {
        other: (sum(w in theirs and w not in ours for w in words), sum(w in ours and w not in theirs for w in words))
        for other, theirs in _COMMON_WORDS.items()
        if other != locale
    }


def _word_at(text: str, index: int) -> str:
    """The word of ``text`` around position ``index``."""
    start = index
    while start > 0 and text[start - 1].isalpha():
        start -= 1
    end = index
    while end < len(text) and text[end].isalpha():
        end += 1
    return text[start:end]


@lru_cache(maxsize=NAMES_MEMO)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern | None:
    """One pattern for the names and, longest first, each word of them that is none of a language's commonest:
    copy quotes a product by part of its name ("our Bärlauch teapot" for Teekanne „Bärlauch“), and a name word
    like "for" in "Tea for Two" is still evidence of the language around it."""
    common = frozenset().union(*_COMMON_WORDS.values())
    words = {word for name in names for word in _WORDS.findall(name) if len(word) > 1 and word.lower() not in common}
    parts = sorted({n for n in names if len(n) > 1} | words, key=len, reverse=True)
    return re.compile("|".join(rf"(?<!\w){re.escape(part)}(?!\w)" for part in parts), re.IGNORECASE) if parts else None


def _without_names(text: str, names: tuple[str, ...], first_name: str) -> str:
    """``text`` without the product and brand names (``names``) and the customer's first name it quotes: names
    keep their own language. The first name is left out apart, so that a group's customers share one pattern."""
    pattern = _names_pattern(names)
    text = pattern.sub(" ", text) if pattern else text
    if len(first_name) > 1:
        text = re.sub(rf"(?<!\w){re.escape(first_name)}(?!\w)", " ", text, flags=re.IGNORECASE)
    return text


def check(context: CheckContext) -> CheckResult:
    """The whole copy, then the subject, preheader and intro alone, each without the names it quotes (a German
    line naming "Café Crème Brûlée Syrup" is no French), in the email's language or in the customer's own."""
    request = context.request
    names = (*(product.name for product in request.products), context.brand.name)
    first_name = request.customer.first_name or ""
    fields = {name: _without_names(text, names, first_name) for name, text in context.copy_fields().items()}
    own = language_of(request.customer.own_locale) if request.customer.own_locale else ""
    judged = [("the copy", "\n".join(fields.values()))]
    if not context.lines_only:
        judged += [(f"the {field_name}", fields[field_name]) for field_name in FIELDS_JUDGED_ALONE]
        # The product lines together too: English lines a reviewer put in a German email read as German beside
        # its German subject, preheader and intro (the model's own lines are judged one by one as it writes them).
        lines = "\n".join(text for name, text in fields.items() if name.startswith("product line"))
        if len(_WORDS.findall(lines)) >= LINES_JUDGED_FROM:  # fewer, and langdetect guesses
            judged.append(("the product lines", lines))
    for what, text in judged:
        ok, reason = language_matches(text, context.locale, what)
        if not ok and own and own != context.locale:
            if language_matches(text, own, what)[0]:
                continue
            reason += f", nor does it read as {LANGUAGE_NAMES.get(own, own)}, the customer's own language"
        if not ok:
            return failed(NAME, reason)
    return passed(NAME)
