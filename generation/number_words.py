"""Numbers written in words, in the locales Tailor writes ("twenty percent", "neun Euro", "vingt-cinq pour cent",
"half off"): what the grounding check reads as the number it is, so that an amount the model spelled out is held
to the data as one written in digits is.

Only numbers next to a unit of money or a share are read (a "one" or a "first" in a sentence is no amount). A
spelled number whose value cannot be worked out is read as None: not a fact of the data, so not backed.
"""

from __future__ import annotations

import re

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
WORDS |= TENS
HUNDREDS = {"hundred": 100, "hundert": 100, "honderd": 100, "cent": 100, "cien": 100, "ciento": 100, "cento": 100,
            "cem": 100, "sto": 100, "сто": 100}  # fmt: skip
# Words that join a number's parts ("twenty-five", "vinte e cinco", "trente et un") and say nothing themselves.
_JOINING = {"and", "et", "y", "e", "i"}
# One word that is tens and units: German and Dutch units first ("fünfundzwanzig", "vijfentwintig"), Spanish and
# Italian tens first ("veinticinco", "ventitré", "trentacinque").
_UNITS_FIRST = re.compile(r"^(?P<unit>\w+?)(?:und|ën|en)(?P<tens>\w+)$")
# A share or an amount of money after a number.
_SHARE = r"percent\b|per cent\b|prozent\b|procent\w*|процент\w*|pour cent\b|por ciento\b|per cento\b|por cento\b"
_MONEY = (
    r"euros?\b|dollars?\b|bucks\b|pounds?\b|quid\b|francs?\b|franken\b|złot\w*|рубл\w*|лев\w*|лева\b|"
    r"евро\b|долар\w*|доллар\w*|cents?\b|pence\b|centimes?\b|céntimos?\b|centesimi\b|centavos?\b|groszy\b"
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
    """The value of one word that is tens and units together, or None."""
    match = _UNITS_FIRST.match(word)
    if match and WORDS.get(match["unit"], 10) < 10 and match["tens"] in TENS:
        return WORDS[match["unit"]] + TENS[match["tens"]]
    for tens, value in TENS.items():
        stem = tens[:-1] if tens[-1] in "aeio" else tens
        if len(stem) >= 4 and word.startswith(stem) and word != tens:
            rest = word[len(stem) :]
            for unit in (rest, rest[1:]):  # "veinti-cinco", "venti-tré" / "trenta-cinque" with its vowel
                if WORDS.get(unit.replace("é", "e"), WORDS.get(unit, 10)) < 10:
                    return value + WORDS.get(unit.replace("é", "e"), WORDS.get(unit, 0))
    return None


def _looks_like_number(word: str) -> bool:
    """A word that holds a number's name: one this module reads, or one it cannot but that carries a tens word
    ("sechsundsiebzig" read or not, it is a number)."""
    return word in WORDS or word in HUNDREDS or _compound(word) is not None or any(t in word for t in TENS)


def value_of(words: list[str]) -> float | None:
    """The number ``words`` spell (joining words and hyphens allowed), or None where this module cannot read it."""
    current = 0
    for word in (part for w in words for part in w.split("-") if part and part not in _JOINING):
        if word in HUNDREDS:
            current = max(current, 1) * HUNDREDS[word]
        elif word in WORDS:
            current += WORDS[word]
        elif (value := _compound(word)) is not None:
            current += value
        else:
            return None
    return float(current)


_IS_SHARE = re.compile(_SHARE, re.IGNORECASE)


def spelled_amounts(text: str) -> list[tuple[str, float | None, str]]:
    """Each amount or share ``text`` writes in words: as written, its value ("twenty percent", 20.0; None for a
    number this module cannot read) and "share" or "money"; "half off" is a share of 50."""
    found: list[tuple[str, float | None, str]] = []
    for match in _BEFORE_UNIT.finditer(text):
        number: list[str] = []
        for word in reversed(match["words"].lower().split()):
            parts = [part for part in word.split("-") if part]
            if not parts or not all(p in _JOINING or _looks_like_number(p) for p in parts):
                break
            if word in _JOINING and not number:
                break
            if number and word in WORDS and WORDS[word] < 20 and number[0].split("-")[0] in TENS:
                break  # "un veinte por ciento": no language says units before tens in two words; an article
            number.insert(0, word)
        while number and number[0] in _JOINING:
            number.pop(0)
        if number:
            kind = "share" if _IS_SHARE.fullmatch(match["unit"]) else "money"
            found.append((f"{' '.join(number)} {match['unit']}", value_of(number), kind))
    for match in _FRACTION_OFF.finditer(text):
        found.append((match.group(0).strip(), _FRACTIONS.get((match["number"] or "half").lower(), 50.0), "share"))
    return found
