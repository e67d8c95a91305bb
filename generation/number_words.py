"""Numbers written in words, in the locales Tailor writes ("twenty percent", "neun Euro", "vingt-cinq pour cent",
"half off"): what the grounding check reads as the number it is, so that an amount the model spelled out is held
to the data as one written in digits is.

Only numbers next to a unit of money or a share are read (a "one" or a "first" in a sentence is no amount); the
words before the unit that are not a number's end it.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_UNITS = {
    "en": "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen",
    "de": "null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn fünfzehn sechzehn "
    "siebzehn achtzehn neunzehn",
    "nl": "nul een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien vijftien zestien "
    "zeventien achttien negentien",
    "fr": "zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize dix-sept "
    "dix-huit dix-neuf",
    "es": "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis "
    "diecisiete dieciocho diecinueve",
    "it": "zero uno due tre quattro cinque sei sette otto nove dieci undici dodici tredici quattordici quindici sedici "
    "diciassette diciotto diciannove",
    "pt": "zero um dois três quatro cinco seis sete oito nove dez onze doze treze catorze quinze dezesseis dezessete "
    "dezoito dezenove",
    "pl": "zero jeden dwa trzy cztery pięć sześć siedem osiem dziewięć dziesięć jedenaście dwanaście trzynaście "
    "czternaście piętnaście szesnaście siedemnaście osiemnaście dziewiętnaście",
    "ru": "ноль один два три четыре пять шесть семь восемь девять десять одиннадцать двенадцать тринадцать "
    "четырнадцать пятнадцать шестнадцать семнадцать восемнадцать девятнадцать",
    "bg": "нула едно две три четири пет шест седем осем девет десет единадесет дванадесет тринадесет четиринадесет "
    "петнадесет шестнадесет седемнадесет осемнадесет деветнадесет",
}
_TENS = {
    "en": "twenty thirty forty fifty sixty seventy eighty ninety",
    "de": "zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig",
    "nl": "twintig dertig veertig vijftig zestig zeventig tachtig negentig",
    "fr": "vingt trente quarante cinquante soixante soixante-dix quatre-vingt quatre-vingt-dix",
    "es": "veinte treinta cuarenta cincuenta sesenta setenta ochenta noventa",
    "it": "venti trenta quaranta cinquanta sessanta settanta ottanta novanta",
    "pt": "vinte trinta quarenta cinquenta sessenta setenta oitenta noventa",
    "pl": "dwadzieścia trzydzieści czterdzieści pięćdziesiąt sześćdziesiąt siedemdziesiąt osiemdziesiąt "
    "dziewięćdziesiąt",
    "ru": "двадцать тридцать сорок пятьдесят шестьдесят семьдесят восемьдесят девяносто",
    "bg": "двадесет тридесет четиридесет петдесет шестдесет седемдесет осемдесет деветдесет",
}
WORDS: dict[str, int] = {"ein": 1, "eine": 1, "une": 1, "una": 1, "uma": 1, "одна": 1, "една": 1, "één": 1}
for _locale, _words in _UNITS.items():
    WORDS |= {word: value for value, word in enumerate(_words.split())}
TENS: dict[str, int] = {}
for _locale, _words in _TENS.items():
    _tens = _words.split()
    if _locale == "fr":  # soixante-dix 70, quatre-vingt 80, quatre-vingt-dix 90
        TENS |= dict(zip(_tens, (20, 30, 40, 50, 60, 70, 80, 90), strict=True))
    else:
        TENS |= {word: 10 * (i + 2) for i, word in enumerate(_tens)}
TENS["quatre-vingts"] = 80  # "quatre-vingts pour cent"
WORDS |= TENS
HUNDREDS = {"hundred": 100, "hundert": 100, "honderd": 100, "cent": 100, "cents": 100, "cien": 100, "ciento": 100,
            "cento": 100, "cem": 100, "sto": 100, "сто": 100}  # fmt: skip
# Words that join a number's parts ("twenty-five", "vinte e cinco", "trente et un", "двадесет и пет") and say
# nothing themselves.
_JOINING = {"and", "et", "y", "e", "i", "и"}


def _plain(text: str) -> str:
    """``text`` in lower case without accents: "veintidós" is read as "veintidos", "três" as "tres"."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


_NUMBER_WORDS = {_plain(word): value for word, value in WORDS.items()}
_TENS_WORDS = {_plain(word): value for word, value in TENS.items()}
_HUNDRED_WORDS = {_plain(word): value for word, value in HUNDREDS.items()}
# One word that is tens and units: German and Dutch units first ("fünfundzwanzig", "vijfentwintig"), Spanish and
# Italian tens first ("veinticinco", "ventitré", "trentacinque").
_UNITS_FIRST = re.compile(r"^(?P<unit>\w+?)(?:und|ën|en)(?P<tens>\w+)$")
# A share or an amount of money after a number. Money only in words that are nothing else: "five pounds of tea" is
# a weight, "deux cents avis" two hundred reviews, "un franc succès" a success, "two cents" a saying,
# "pięć złotych gwiazdek" five golden stars (so złoty, pence, cents and a franc in words are not read).
_SHARE = r"percent\b|per cent\b|prozent\b|procent\w*|процент\w*|pour cent\b|por ciento\b|per cento\b|por cento\b"
_MONEY = (
    r"euros?\b|dollars?\b|bucks\b|pounds?(?=\s+off\b)|quid\b|francs\b|franken\b|евро\b|долара?\b|долари\b|"
    r"доллар(?:ов|а)?\b|рубл(?:ей|я|ь)\b|лева\b"
)
# Up to five words before the unit; which of them are a number is worked out from the unit backwards.
_BEFORE_UNIT = re.compile(
    rf"(?P<words>(?:[^\W\d_][\w-]*\s+){{0,4}}?[^\W\d_][\w-]*)\s+(?P<unit>{_SHARE}|{_MONEY})", re.I
)
_FRACTION_OFF = re.compile(
    r"\b(?P<number>half|a quarter|one quarter|a third|one third)\s+(?:off|price)\b|\bzum halben preis\b",
    re.IGNORECASE,
)
_FRACTIONS = {"half": 50.0, "a quarter": 25.0, "one quarter": 25.0, "a third": 100 / 3, "one third": 100 / 3}


def _compound(word: str) -> int | None:
    """The value of one word (plain: ``_plain``) that is tens and units together, or None."""
    match = _UNITS_FIRST.match(word)
    if match and _NUMBER_WORDS.get(match["unit"], 10) < 10 and match["tens"] in _TENS_WORDS:
        return _NUMBER_WORDS[match["unit"]] + _TENS_WORDS[match["tens"]]
    for tens, value in _TENS_WORDS.items():
        stem = tens[:-1] if tens[-1] in "aeio" else tens
        if len(stem) >= 4 and word.startswith(stem) and word != tens:
            rest = word[len(stem) :]
            for unit in (rest, rest[1:]):  # "veinti-cinco", "venti-tre" / "trenta-cinque" with its vowel
                if _NUMBER_WORDS.get(unit, 10) < 10:
                    return value + _NUMBER_WORDS[unit]
    return None


def _parts(word: str) -> list[tuple[str, int]] | None:
    """The number parts of one word, hyphens and all, longest first ("quatre-vingt-cinq": 80, 5; "dix-sept": 17):
    ("n", value) or ("h", a hundred); None for a word that is not a number's."""
    chunks = [chunk for chunk in _plain(word).split("-") if chunk]
    parts: list[tuple[str, int]] = []
    start = 0
    while start < len(chunks):
        for end in range(len(chunks), start, -1):
            joined = "-".join(chunks[start:end])
            if joined in _NUMBER_WORDS or joined in _HUNDRED_WORDS:
                parts.append(("n", _NUMBER_WORDS[joined]) if joined in _NUMBER_WORDS else ("h", _HUNDRED_WORDS[joined]))
                start = end
                break
        else:
            if chunks[start] not in _JOINING:
                if (value := _compound(chunks[start])) is None:
                    return None
                parts.append(("n", value))
            start += 1
    return parts or None


def _value(parts: list[tuple[str, int]]) -> float:
    """The number ``parts`` (``_parts``, word after word) spell."""
    current = 0
    for kind, value in parts:
        current = max(current, 1) * value if kind == "h" else current + value
    return float(current)


_IS_SHARE = re.compile(_SHARE, re.IGNORECASE)
# Money off straight after a share, or after one linking word: "one hundred percent off", "cent pour cent de
# remise", "сто процентов скидки" ("free" is the promise checks' to hold: "a hundred percent caffeine-free" is not).
_OFF_AFTER = re.compile(
    r"\s+(?:(?:de|di|of|в|на)\s+)?(?:off|discount\w*|rabatt\w*|remise|réduction|descuento\w*|sconto|desconto|"
    r"korting|zniżk\w*|rabat\w*|скидк\w*|отстъпк\w*)\b(?!-)",
    re.IGNORECASE,
)


def spelled_amounts(text: str) -> list[tuple[str, float, str]]:
    """Each amount or share ``text`` writes in words: as written, its value ("twenty percent", 20.0) and "share" or
    "money"; "half off" is a share of 50."""
    return list(_spelled_amounts(text))


# The texts a campaign's checks read repeat from customer to customer (a group's copy, the template's lines), and
# reading one took a millisecond: each distinct text is read once.
@functools.lru_cache(maxsize=4096)
def _spelled_amounts(text: str) -> tuple[tuple[str, float, str], ...]:
    found: list[tuple[str, float, str]] = []
    for match in _BEFORE_UNIT.finditer(text):
        number: list[str] = []  # the words of the number, read from the unit backwards
        parts: list[tuple[str, int]] = []
        for word in reversed(match["words"].lower().split()):
            plain = _plain(word)
            if plain in _JOINING:
                if not number:
                    break
                number.insert(0, word)
                continue
            word_parts = _parts(word)
            if word_parts is None:
                break
            if number and _NUMBER_WORDS.get(plain, 20) < 20 and _plain(number[0]).split("-")[0] in _TENS_WORDS:
                break  # "un veinte por ciento": no language says units before tens in two words; an article
            number.insert(0, word)
            parts[:0] = word_parts
        while number and _plain(number[0]) in _JOINING:
            number.pop(0)
        if number:
            kind = "share" if _IS_SHARE.fullmatch(match["unit"]) else "money"
            value = _value(parts)
            # "a hundred percent natural", "cent pour cent": a saying, unless money off follows ("100 % off")
            if kind == "share" and value == 100 and not _OFF_AFTER.match(text, match.end()):
                continue
            found.append((f"{' '.join(number)} {match['unit']}", value, kind))
    for match in _FRACTION_OFF.finditer(text):
        found.append((match.group(0).strip(), _FRACTIONS.get((match["number"] or "half").lower(), 50.0), "share"))
    return tuple(found)
