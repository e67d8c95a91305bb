"""Grounding: every number, price, percentage and date in the copy (in digits, or in words next to a unit: "twenty
percent", "nine euros", "half off"), and every promise of a discount or freebie, must be backed by the request's
facts (product data or the offer); a share in words, by the offer's own percentage. A promise is backed only by an
offer of its own kind: a 10 % discount does not back "free shipping" or "a free gift". A code the copy names
must be the offer's own: a code the shop never created would be refused at its checkout."""

from __future__ import annotations

import re
from dataclasses import dataclass

from generation.guardrails.base import CheckContext, failed, passed, quoted
from generation.number_words import spelled_amounts
from generation.schemas import CheckResult

NAME = "grounding"
LABEL = "facts from the data"  # the name a copywriter reads
# A number as copy writes it, grouped or not: "7,90", "1,234.50", "1.234,50", "1 234,50" (a space, a no-break space or
# a narrow one between groups, as the email's own prices are written), "1'234.50".
_NUMBER = re.compile(r"\d(?:[\d.,'’\u00a0\u202f]|\s(?=\d{3}(?!\d)))*\d|\d")
_GROUP = re.compile(r"[.,'’\u00a0\u202f\s]")
_PLAIN = re.compile(r"\d+(?:[.,]\d+)?")
# Promises, per locale, and the offer kinds that back each (no offer backs any of them).
_MONEY_OFF = (
    r"\d+\s*% off|discount\w*|sale\b|rabatt\w*|rabat\w*|zniżk\w*|promocj\w*|"
    r"скидк\w*|распродаж\w*|отстъпк\w*|намалени\w*|"
    r"réduction\w*|remise\w*|soldes\b|descuento\w*|rebaja\w*|scont[oi]\b|saldi\b|desconto\w*|promoç\w*|"
    r"korting\w*|uitverkoop|promo\b|half (?:off|price)|zum halben preis|o połowę taniej|za pół ceny|за полцены|"
    r"на половин цена|à moitié prix|a mitad de precio|a metà prezzo|pela metade do preço"
)
_SHIPPING = (
    r"(?:free|complimentary) (?:shipping|delivery)|ships? (?:for )?free|ships? on us|"
    r"(?:shipping|delivery) (?:is |'s |’s )?on us|"
    r"(?:kostenlose[nr]?|gratis) (?:versand|lieferung)|"
    r"versandkostenfrei|darmow\w* (?:dostaw\w*|wysyłk\w*)|бесплатн\w* доставк\w*|безплатн\w* доставк\w*|"
    r"(?:livraison|frais de port|envío|spedizion\w*|consegna|envio|frete|portes) (?:\w+ )?"
    r"(?:gratuit\w*|gratis|grátis|offert\w*)|"
    r"gratis (?:verzending|verzonden|bezorging|bezorgd|levering|geleverd)|verzendkostenvrij|"
    r"we(?:'ll| will)? (?:cover|pay) (?:the )?(?:shipping|delivery)|gratisversand\w*|versand geht auf uns|"
    r"bezpłatn\w* (?:dostaw\w*|wysyłk\w*)|sin gastos de envío|envío sin coste|"
    r"livraison (?:vous est |est )?offerte|frais de (?:port|livraison) offerts"
)
_GIFT = (
    r"free gift|gratis ?geschenk\w*|darmow\w* prezent\w*|бесплатн\w* подар\w*|безплатн\w* подар\w*|"
    r"cadeau\w* (?:gratuit|offert)\w*|regalo\w* (?:gratuit\w*|gratis|in omaggio)|omaggio|brinde\w*|"
    r"presente\w* (?:gratuit\w*|grátis)|gratis cadeau\w*|"
    # a gift that comes with an order, free or not said so: "a small gift comes with your next order"
    r"gift (?:comes|is waiting|waits) (?:with|in) your|we(?:'ll| will)? (?:add|include|pack|slip in) (?:a|an) "
    r"(?:small |little )?gift|"
    # a gift handed out: "we've been giving our customers a gift", "here's a small gift" (not "giving as a gift")
    r"we(?:[’'](?:ve|re)| have| are)?(?: been)? (?:giv|send)\w*(?: you| our customers| every customer| each customer)? "
    r"(?:a|an) (?:small |little )?gift|here(?:[’']s| is) (?:a|an) (?:small |little )?gift|"
    r"gibt es ein (?:kleines )?geschenk|legen (?:wir )?(?:ihnen )?ein (?:kleines )?"
    r"geschenk|(?:мы )?добавим (?:небольшой )?подарок|un (?:petit )?cadeau vous attend|"
    r"un (?:pequeño )?regalo le espera|dodamy (?:mały )?prezent"
)
_CODE = (
    r"(?:use|enter|apply|redeem) (?:the |this |your |our |a )?code|"
    r"coupon|voucher|promo ?code|gutschein\w*|kupon\w*|купон\w*|промокод\w*|code promo|bon d[’']achat|cupón\w*|"
    r"cupões|cupão|cupo[mn]\w*|c[oó]digo (?:promocional|de descuento|de desconto)|codice sconto|buono sconto|"
    r"kortingscode\w*|waardebon\w*"
)
_FREE = r"free|gratis|grátis|gratuit\w*|kostenlos\w*|darmow\w*|бесплатн\w*|безплатн\w*|on the house"
# "on us" gives something away ("your first cup is on us"), but not in "count on us" or "rely on us".
_ON_US = (
    "".join(rf"(?<!{word} )" for word in ("count", "rely", "depend", "lean", "call", "bet", "eye", "trust")) + "on us"
)
PROMISES: list[tuple[str, re.Pattern, set[str]]] = [
    ("money off", re.compile(rf"\b(?:{_MONEY_OFF})", re.IGNORECASE), {"percent_off", "amount_off"}),
    ("free shipping", re.compile(rf"\b(?:{_SHIPPING})", re.IGNORECASE), {"free_shipping"}),
    ("a free gift", re.compile(rf"\b(?:{_GIFT})", re.IGNORECASE), {"gift"}),
    ("a code", re.compile(rf"\b(?:{_CODE})", re.IGNORECASE), {"percent_off", "amount_off", "free_shipping", "gift"}),
    # "free" alone, but not "sugar-free" or "feel free": those promise nothing.
    ("something free", re.compile(rf"(?<![-\w])(?<!feel )(?:{_FREE})\b", re.IGNORECASE), {"free_shipping", "gift"}),
    ("something free", re.compile(rf"\b{_ON_US}\b", re.IGNORECASE), {"free_shipping", "gift"}),
]
# A code the copy names: the word after one for a code ("code", "coupon", "Gutscheincode", "kod rabatowy",
# "промокод", ...), when it is quoted or starts with a capital or a digit ("code at checkout" names none).
_CODE_WORD = (
    r"(?i:\w*codes?|coupons?|vouchers?|gutschein\w*|kod\w*(?: rabatowy| promocyjny)?|kupon\w*|код\w*|промокод\w*|"
    r"купон\w*|c[oó]digos?(?: promocional| de descuento| de desconto)?|codice(?: sconto)?|cup[oó]n\w*|cupom|cupão|"
    r"waardebon\w*)"
)
_NAMED_CODE = re.compile(rf"\b{_CODE_WORD}\s*[:\-–—]?\s*(?P<quote>[\"'“”‘’«»„]?)(?P<code>[^\W_][\w-]{{2,}})")
# A word of capitals and digits, as codes are written (SAVE15NOW), anywhere in the copy.
_CODE_LIKE = re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{4,}\b")


def _readings(number: str) -> set[float]:
    """The values a number as written may have: its last mark a decimal point ("7,90", "1.234,50"), or every mark a
    group's ("1,234", "1 234", "12.345", when each group after the first has three digits)."""
    parts = _GROUP.split(number)
    marks = _GROUP.findall(number)
    if len(parts) == 1:
        return {float(number)}
    readings = set()
    if marks[-1] in ".," and all(len(part) == 3 for part in parts[1:-1]):
        readings.add(float("".join(parts[:-1]) + "." + parts[-1]))
    if all(len(part) == 3 for part in parts[1:]):
        readings.add(float("".join(parts)))
    return readings


def _numbers(text: str) -> list[tuple[str, set[float]]]:
    """Each number of ``text`` as written, with the values it may have; numbers apart by a space ("2 500") may
    also be two, each with its own. Marks that group nothing ("2.0.1") part numbers: "2.0" and "1"."""
    numbers = []
    for match in _NUMBER.findall(text):
        if readings := _readings(match):
            numbers.append((match, readings))
        else:
            numbers += [(piece, {float(piece.replace(",", "."))}) for piece in _PLAIN.findall(match)]
    return numbers


def _grounded(readings: set[float], written: str, allowed: set[float]) -> bool:
    if readings & allowed:
        return True
    spaced = written.split()  # "2 500 g": two numbers, each a fact, rather than one
    return len(spaced) > 1 and all(_readings(part) & allowed for part in spaced if _NUMBER.fullmatch(part))


def fact_numbers(context: CheckContext) -> set[float]:
    request = context.request
    facts: list[str] = [*context.extra_facts]
    for product in request.products:
        facts += [product.name, product.description]
        facts.append(f"{product.price:.2f}")
        facts.append(f"{product.price:g}")
    if request.offer is not None:
        facts += [f"{request.offer.value:g}", request.offer.code or ""]
    numbers = _numbers(" ".join(facts))
    return {value for _, readings in numbers for value in readings} | {
        value for written, _ in numbers for part in written.split() if _NUMBER.fullmatch(part)
        for value in _readings(part)
    }  # fmt: skip


# "Use the code extrasave": after a request to use a code, the next word is one whatever its case, unless it is a
# word that goes on the sentence ("use the code at checkout", "enter the code below").
_USE_CODE = re.compile(
    r"\b(?:use|enter|apply|redeem|type|add)\s+(?:the\s+|this\s+|your\s+|our\s+|a\s+)?"
    r"(?:promo\s+|discount\s+|coupon\s+)?code\s*[:\-–—]?\s*[\"'“”‘’«»„]?(?P<code>[^\W_][\w-]{2,})",
    re.IGNORECASE,
)
_GOES_ON = frozenset((
    "at", "in", "on", "below", "above", "from", "for", "to", "when", "while", "and", "or", "you", "we", "that",
    "which", "this", "by", "with", "during", "before", "after", "here", "there", "now", "today", "shown", "given",
    "provided", "printed", "inside", "again", "once", "online", "too", "as", "if", "it", "its", "our", "your", "the",
    "an", "of", "is", "will", "next", "until", "till", "into", "within", "anytime", "whenever", "whatever",
    "wherever", "straight", "twice", "soon", "later", "then", "so", "but", "because", "since", "upon", "over",
    "under", "through", "throughout", "via", "without", "including", "everywhere", "anywhere", "right", "all",
    "every", "each", "just", "only", "already", "also", "yourself", "tonight", "tomorrow",
))  # fmt: skip


def named_codes(text: str) -> list[str]:
    """The codes ``text`` names: after a word for a code, quoted or starting with a capital or a digit; after a
    request to use a code, whatever its case; and any word of capitals and digits."""
    named = [
        match["code"]
        for match in _NAMED_CODE.finditer(text)
        if match["quote"] or match["code"][0].isupper() or match["code"][0].isdigit()
    ]
    named += [
        match["code"] for match in _USE_CODE.finditer(text)
        if match["code"].lower() not in _GOES_ON and not match["code"].lower().endswith("ly")  # "use it quickly"
        and match["code"] not in named
    ]  # fmt: skip
    return named + [word for word in _CODE_LIKE.findall(text) if word not in named]


def _unknown_code(text: str, own: str, facts: str) -> str | None:
    """The first code ``text`` names that is not the offer's own (``own``, casefolded), nor a word of the product
    data (``facts``, casefolded: a model number such as XR500)."""
    for code in named_codes(text):
        if code.casefold() != own and not re.search(rf"(?<!\w){re.escape(code.casefold())}(?!\w)", facts):
            return code
    return None


# An amount of money or a share, as copy writes one: "15 EUR", "€15", "15 %", "15 Prozent"; and as the email writes
# one (generation.money): the code before the number ("EUR 15" in Mexico, "CHF 15" in Switzerland), "15 zł", "15 ₽".
_CODES = r"EUR|USD|GBP|CHF|PLN|RUB|BGN"
_AS_MONEY = re.compile(
    rf"(?:(?:[€$£₽]|\b(?:{_CODES})\b)\s?(\d+(?:[.,]\d+)?))"
    rf"|(\d+(?:[.,]\d+)?)\s?(?:[€$£₽]|(?:{_CODES}|euro?s?|zł\w*|złot\w*|руб\w*|лв|евро)(?!\w))",
    re.IGNORECASE,
)
_AS_SHARE = re.compile(
    r"(\d+(?:[.,]\d+)?)\s?(?:%|percent\b|per cent\b|prozent\b|procent\w*|процент\w*|pour cent\b|por ciento\b|"
    r"per cento\b|por cento\b)",
    re.IGNORECASE,
)


def _wrong_unit(context: CheckContext, text: str) -> str | None:
    """The offer's value written in the other unit ("save 15 EUR" with 15 % off, "15 %" with 15 EUR off), or None.
    An amount that is a product's price is that price, not the offer."""
    offer = context.request.offer
    if offer is None or offer.kind not in ("percent_off", "amount_off"):
        return None
    prices = {round(product.price, 2) for product in context.request.products}
    wrong = _AS_MONEY if offer.kind == "percent_off" else _AS_SHARE
    for match in wrong.finditer(text):
        value = float(next(group for group in match.groups() if group).replace(",", "."))
        if value == offer.value and (offer.kind == "amount_off" or round(value, 2) not in prices):
            return match.group(0).strip()
    return None


# The currency each mark of _AS_MONEY stands for ("$" for any dollar: a shop in CAD writes "$15" too).
_MARK_CURRENCIES = [
    (re.compile(r"€|euro?s?|евро|eur", re.IGNORECASE), {"EUR"}),
    (re.compile(r"\$", re.IGNORECASE), {"USD", "CAD", "AUD", "NZD", "MXN", "SGD", "HKD"}),
    (re.compile(r"usd|us\$", re.IGNORECASE), {"USD"}),
    (re.compile(r"ca?\$", re.IGNORECASE), {"CAD"}),
    (re.compile(r"au?\$", re.IGNORECASE), {"AUD"}),
    (re.compile(r"nz\$", re.IGNORECASE), {"NZD"}),
    (re.compile(r"hk\$", re.IGNORECASE), {"HKD"}),
    (re.compile(r"mx\$", re.IGNORECASE), {"MXN"}),
    (re.compile(r"sg?\$", re.IGNORECASE), {"SGD"}),
    (re.compile(r"£|gbp", re.IGNORECASE), {"GBP"}),
    (re.compile(r"₽|руб\w*|rub", re.IGNORECASE), {"RUB"}),
    (re.compile(r"zł\w*|złot\w*|pln", re.IGNORECASE), {"PLN"}),
    (re.compile(r"лв|bgn", re.IGNORECASE), {"BGN"}),
    (re.compile(r"chf", re.IGNORECASE), {"CHF"}),
]
# An ISO code is written in capitals: "Rub 100 g of leaves" names no rouble.
_LOWER_CODES = {"usd", "gbp", "rub", "pln", "bgn", "chf"}
_NOT_A_MARK = re.compile(r"[\d\s.,'’\u00a0\u202f]")


def _own_marks(context: CheckContext) -> set[str]:
    """The marks the email's own prices are written with, in lower case ("€", "r$" for BRL, "nt$" for TWD, "$" for
    ARS in es-AR): never another currency."""
    from generation.locales import number_locale
    from generation.money import written_amount

    numbers = number_locale(context.request.customer)
    return {_NOT_A_MARK.sub("", written_amount(1, currency, numbers, 0)).casefold() for currency in _priced_in(context)}


def _priced_in(context: CheckContext) -> set[str]:
    """The currencies of the email's products."""
    return {product.currency.upper() for product in context.request.products}


def _wrong_currency(text: str, currencies: set[str], own: set[str]) -> str | None:
    """An amount written in a currency the email's products are not priced in (``currencies``: "19,90 zł" for a
    product of 19,90 EUR): the number is a fact, the currency is not, and the customer reads two prices. None when
    each amount's currency is the products' or one of the email's ``own`` marks (or the email has no products)."""
    if not currencies:
        return None
    for match in _AS_MONEY.finditer(text):
        mark = _NUMBER_IN_MONEY.sub("", match.group(0)).strip()
        if mark.casefold() in _LOWER_CODES and not mark.isupper():
            continue
        start = match.start()
        if match.group(0).startswith("$"):  # the letters before it name the dollar: US$, CA$, R$, NT$
            letters = re.search(r"(?<![^\W\d_])[^\W\d_]{1,2}$", text[:start])
            if letters:
                mark, start = letters.group(0) + "$", letters.start()
        meant = next((named for pattern, named in _MARK_CURRENCIES if pattern.fullmatch(mark)), None)
        if meant is not None and not meant & currencies and mark.casefold() not in own:
            if match.group(2):  # the whole number before the mark ("1.234,50 zł", not "234,50 zł")
                number = next((n for n in _NUMBER.finditer(text) if n.start() <= match.start(2) < n.end()), None)
                start = number.start() if number is not None else start
            return text[start : match.end()].strip()
    return None


_NUMBER_IN_MONEY = re.compile(r"\d+(?:[.,]\d+)?")


def _unbacked_in_words(text: str, allowed: set[float], offer) -> str | None:
    """The first amount or share ``text`` writes in words that the data does not back: a share not the offer's
    percentage, an amount not a number of the data."""
    for written, value, kind in spelled_amounts(text):
        if kind == "share" and not (offer is not None and offer.kind == "percent_off" and value == offer.value):
            return written
        if kind == "money" and value not in allowed:
            return written
    return None


@dataclass(frozen=True)
class _Backing:
    """What the copy may state, read once from the facts for every field."""

    numbers: set[float]
    code: str  # the offer's code in any case, or ""
    facts: str  # product names and descriptions and the template's wording, case-folded
    currencies: set[str]
    marks: set[str]  # how this email's currencies are written


def check(context: CheckContext) -> CheckResult:
    """Every field's first unbacked fact, so that a copywriter mending the subject learns of the intro's too."""
    offer = context.request.offer
    currencies = _priced_in(context)
    backing = _Backing(
        numbers=fact_numbers(context),
        code=(offer.code or "").casefold() if offer is not None else "",
        facts=" ".join(
            [*context.extra_facts, *(f"{p.name} {p.description}" for p in context.request.products)]
        ).casefold(),
        currencies=currencies,
        marks=_own_marks(context) if currencies else set(),
    )
    problems = [
        problem
        for field, value in context.copy_fields().items()
        if (problem := _unbacked(context, field, value, backing))
    ]
    return failed(NAME, "; ".join(problems)) if problems else passed(NAME)


def _unbacked(context: CheckContext, field: str, value: str, backing: _Backing) -> str | None:
    """What the ``field`` says that the data does not back, the first found; None when it says nothing such."""
    offer = context.request.offer
    unknown = [written for written, readings in _numbers(value) if not _grounded(readings, written, backing.numbers)]
    if unknown:
        named = list(dict.fromkeys(quoted(written) for written in unknown[:3]))
        which = "which is" if len(named) == 1 else "which are"
        return f"the {field} mentions {', '.join(named)}, {which} not in the product or offer data"
    if unit := _wrong_unit(context, value):
        said = f"{offer.value:g} %" if offer.kind == "percent_off" else f"{offer.value:g} off"
        return f"the {field} says '{unit}', but the offer is {said}"
    if money := _wrong_currency(value, backing.currencies, backing.marks):
        return f"the {field} says '{money}', but this email's prices are in {', '.join(sorted(backing.currencies))}"
    if code := _unknown_code(value, backing.code, backing.facts):
        own = f"the offer's code is {offer.code}" if offer is not None and offer.code else "this email has no code"
        return f"the {field} names the code '{quoted(code)}', but {own}"
    for promise, pattern, backed_by in PROMISES:
        match = pattern.search(value)
        if match and (offer is None or offer.kind not in backed_by):
            carried = "no offer" if offer is None else f"a {offer.kind.replace('_', ' ')} offer, not {promise}"
            return f"the {field} promises '{match.group(0)}' but this email carries {carried}"
    if spelled := _unbacked_in_words(value, backing.numbers, offer):
        return f"the {field} mentions '{quoted(spelled)}', which is not in the product or offer data"
    return None
