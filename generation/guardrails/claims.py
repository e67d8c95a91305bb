"""Claims: statements about products that the shop's data does not back, so the model must not make them.

- Guarantees and warranties, unless a product's own description mentions one.
- Scarcity ("only 3 left", "selling fast"): Tailor knows whether a product is in stock, not how many remain.
- Deals no offer kind expresses ("buy one, get one", "half price").
- Deadlines ("until Friday", "this weekend only", "last chance", "nur bis Freitag"): an offer has no end date in
  Tailor's data, so any says what the data does not (a copywriter's note asking for urgency brought them). A day
  named without a limit ("a slow Sunday morning") is no deadline.
- News of the customer's order, delivery, payment or account ("your order has shipped", "the new order has
  arrived", "tracking number", "reset your password"): what a transactional email says, never a marketing one.
- How or by whom a product is made, and what it is certified as ("made by artisans", "handmade", "a small
  family business", "organic", "award-winning", "sustainable"), unless a product's own data says the same.
  The brand's voice may still say "crafted" or "chosen with care": those describe, they do not attest.
- A product line that borrows a detail from another product of the same email: a word found in the other
  product's name or description (six letters or more) and nowhere in this product's own name, category or
  description ("made by a small producer" in a scale's line, taken from the ginger syrup's description).
- Products the email does not show: a kind of product from the brand kit's ``product_words`` (singular or
  plural) that no product of the email names in its name or category ("a new pot of tea" in an email of woks
  and skillets; "hand-picked teas" over plates and oat biscuits whose description says "with a cup of tea");
  in a product line, one its own product's data does not name ("Pink peppermint tea" under cane sugar cubes).
"""

from __future__ import annotations

import re
from functools import lru_cache

from generation.guardrails.base import CheckContext, any_word, failed, passed, word_pattern
from generation.schemas import CheckResult, ProductFact

NAME = "unbacked_claims"
LABEL = "claims the data does not back"  # the name a copywriter reads
GUARANTEE = re.compile(
    r"\b(?:warrant\w*|guarantee\w*|money[- ]back|garant[ií]\w*|gwarancj\w*|гаранти\w*|garanz\w*|gegarandeerd|"
    r"satisfait ou rembours\w*|reembols\w*|rimbors\w*|geld[- ]terug)",
    re.IGNORECASE,
)
SCARCITY = re.compile(
    r"\b(?:only \d+ left|\d+ left(?: in stock)?|limited stock|low stock|almost gone|selling fast|sold out|"
    r"while (?:stocks?|supplies) last|nur noch \d+|fast ausverkauft|ostatnie sztuki|осталось (?:всего )?\d+|"
    r"plus que \d+|(?:presque|bientôt) épuisé\w*|stock limité|dernières pièces|quedan (?:solo |sólo )?\d+|"
    r"últimas unidades|casi agotad\w*|\d+ (?:pezzi )?rimast\w*|ultimi pezzi|quasi esaurit\w*|"
    r"rest(?:am|a) (?:só |apenas )?\d+|quase esgotad\w*|nog maar \d+|bijna uitverkocht|beperkte voorraad)",
    re.IGNORECASE,
)
DEALS = re.compile(
    r"\b(?:buy one,? get one|bogo|2 for 1|two for one|half[- ]price|halber preis|2 za 1|два по цене одного|"
    r"2 pour 1|deux pour le prix d.un|moitié prix|2x1|2 por 1|dos por uno|mitad de precio|prendi 2,? paghi 1|"
    r"metà prezzo|leve 2,? pague 1|metade do preço|1\+1 gratis|twee halen,? één betalen|halve prijs)",
    re.IGNORECASE,
)
_DAYS = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|midnight|tonight|tomorrow|"
    r"january|february|march|april|may|june|july|august|september|october|november|december"
)
DEADLINES = re.compile(
    rf"\b(?:(?:until|till|before|by|through|ends?|ending|expires?|valid until) (?:this |next )?(?:{_DAYS})\b|"
    r"(?:until|till|before|by|ends?|through) the end of (?:the |this )?(?:day|week|weekend|month|year|season|"
    rf"{_DAYS})|ends (?:today|tonight|soon)|(?:today|tonight|this week|this weekend|weekend) only|"
    r"only (?:today|tonight|this week(?:end)?)|for (?:one|two|three|a few|a|\d+) (?:days?|weeks?|hours?) only|"
    r"last chance|limited[- ]time|for a limited time|gone for good|"
    r"(?:nur )?bis (?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|morgen|mitternacht|"
    r"ende (?:der|des|dieser|diese)\b)|nur (?:noch )?(?:heute|diese woche|dieses wochenende)|letzte chance|"
    r"endet (?:heute|morgen|am)\b|für kurze zeit|zeitlich begrenzt|"
    r"(?:jusqu.(?:à|au)|avant) (?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|minuit|demain|la fin)|"
    r"dernière chance|aujourd.hui seulement|seulement aujourd.hui|durée limitée|"
    r"(?:hasta|antes del?) (?:el )?(?:lunes|martes|miércoles|jueves|viernes|sábado|domingo|mañana|medianoche|"
    r"fin de)|última oportunidad|solo hoy|sólo hoy|tiempo limitado|"
    r"(?:fino a|entro) (?:lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|domani|mezzanotte|fine)|"
    r"ultima (?:occasione|possibilità)|solo oggi|tempo limitato|"
    r"(?:até|antes de) (?:segunda|terça|quarta|quinta|sexta|sábado|domingo|amanhã|meia-noite|o fim)|"
    r"última (?:oportunidade|chance)|(?:só|apenas) hoje|"
    r"tot (?:en met )?(?:maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|morgen|middernacht|"
    r"het einde)|laatste kans|alleen vandaag|voor korte tijd|"
    r"do (?:poniedziałku|wtorku|środy|czwartku|piątku|soboty|niedzieli|jutra|północy|końca)|ostatnia szansa|"
    r"tylko (?:dziś|dzisiaj)|ograniczony czas|"
    r"до (?:понедельника|вторника|среды|четверга|пятницы|субботы|воскресенья|завтра|полуночи|конца)|"
    r"последний шанс|только сегодня|ограниченное время|"
    r"до (?:понеделник|вторник|сряда|четвъртък|петък|събота|неделя|утре|полунощ|края)|последен шанс|"
    r"само днес|ограничено време)\b",
    re.IGNORECASE,
)
# News of the customer's own order, delivery, payment or account: what a transactional email says, never a
# marketing one ("The new order has arrived" went to lapsed customers who had ordered nothing). "New arrivals"
# and "your last order" stay fine: an order's status is what may not be claimed.
_ORDER = (
    r"(?:order|parcel|package|delivery|shipment|bestellung|paket|lieferung|sendung|zamówieni\w*|paczk\w*|"
    r"przesyłk\w*|заказ\w*|посылк\w*|поръчк\w*|пратк\w*|commande|colis|pedido|paquete|envío|ordine|pacco|"
    r"spedizione|encomenda|pacote|entrega|bestelling|pakket|zending)"
)
TRANSACTIONAL = re.compile(
    _ORDER + r"\W+(?:\w+\W+){0,3}?(?:(?:has|have|is|was|were|are)\s+(?:now\s+|just\s+)?(?:been\s+)?"
    r"(?:arrived|shipped|dispatched|delivered|confirmed|received|processed|on (?:its|the) way|ready for (?:pick-?up|"
    r"collection))|arrived|shipped|dispatched|delivered|"
    r"(?:ist|wurde)\s+(?:\w+\s+)?(?:angekommen|unterwegs|versandt|verschickt|zugestellt|bestätigt|eingegangen)|"
    r"(?:zostało|została|został|jest)\s+(?:już\s+)?(?:wysłan\w*|dostarczon\w*|potwierdzon\w*|w drodze)|dotarł\w*|"
    r"(?:был\w*\s+)?(?:отправлен\w*|доставлен\w*|подтвержд\w*|прибыл\w*|в пути)|"
    r"(?:е|беше)\s+(?:изпратен\w*|доставен\w*|потвърден\w*|на път)|пристигна\w*|"
    r"(?:a été|est)\s+(?:bien\s+)?(?:expédiée?s?|livrée?s?|confirmée?s?|arrivée?s?|en route)|"
    r"(?:ha sido|fue|está|ha)\s+(?:ya\s+)?(?:enviad[oa]|entregad[oa]|confirmad[oa]|llegad[oa]|en camino)|llegó|"
    r"(?:è stat[oa]|è)\s+(?:già\s+)?(?:spedit[oa]|consegnat[oa]|confermat[oa]|arrivat[oa]|in viaggio)|"
    r"(?:foi|está|já está)\s+(?:já\s+)?(?:enviad[oa]|entregue|confirmad[oa]|a caminho)|chegou|"
    r"(?:is|werd)\s+(?:al\s+)?(?:verzonden|bezorgd|geleverd|bevestigd|onderweg|aangekomen))\b"
    r"|\b(?:order|shipping|delivery|payment) confirmation|tracking (?:number|link|code)|out for delivery|"
    r"\byour (?:receipt|invoice)\b|\bpayment (?:received|failed|declined|confirmed)|reset your password|"
    r"verify your (?:email|account|address)|bestellbestätigung|versandbestätigung|sendungsnummer|"
    r"potwierdzenie zamówienia|numer przesyłki|подтверждение заказа|трек-номер|номер отслеживания|"
    r"потвърждение на поръчката|номер за проследяване|confirmation de commande|numéro de suivi|"
    r"confirmación del? pedido|número de seguimiento|conferma d.ordine|numero di tracciamento|"
    r"confirmação d[ao] (?:encomenda|pedido)|código de rastreio|número de rastreamento|bestelbevestiging|"
    r"verzendbevestiging|track ?(?:&|and|en) ?trace",
    re.IGNORECASE,
)
# Each an attestation the shop's data must make before the copy may: matched in the copy, then looked up in
# the email's products (name, category, description) with the same pattern.
ATTESTATIONS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\b(?:artisan\w*|artisanal|craftsm[ae]n|craftspeople|handwerker\w*|rzemieśln\w*|ремесленн\w*|мастер(?:а|ами|ов)?|"
        r"artesan\w*|artigian\w*|ambachts\w*)\b",
        r"\b(?:hand[- ]?made|hand[- ]?crafted|made by hand|hand[- ]?(?:sewn|stitched|woven|painted|thrown|poured)|"
        r"handgemacht\w*|handgefertigt\w*|handarbeit|ręcznie\s+\w+|ручн(?:ой|ая|ое|ые|ую)\s+(?:работы|выделки)|"
        r"fait(?:e|s|es)? (?:à la )?main|hech[oa]s? a mano|fatt[oaie] a mano|feit[oa]s? à mão|handgemaakt)\b",
        r"\b(?:family[- ](?:run|owned|made|business|farm\w*)|small family|family'?s|familienbetrieb\w*|"
        r"rodzinn\w*|семейн\w*|entreprise familiale|empresa familiar|azienda familiare|familiebedrijf\w*)\b",
        r"\b(?:organic|biologisch\w*|ekologiczn\w*|органическ\w*|эко(?:логическ\w*)?|bio|biologique\w*|"
        r"orgánic\w*|ecológic\w*|biologic\w*|biológic\w*|orgânic\w*)\b",
        r"\b(?:award[- ]winning|prize[- ]winning|preisgekrönt\w*|nagradzan\w*|отмеченн\w* наград\w*|primée?s?|"
        r"premiad[oa]s?|(?:pluri)?premiat[oaie]|bekroond\w*)\b",
        r"\b(?:sustainabl[ey]\w*|eco[- ]friendly|fair[- ]?trade|nachhaltig\w*|zrównoważon\w*|экологичн\w*|"
        r"écoresponsable\w*|éco-responsable\w*|commerce équitable|sostenible\w*|comercio justo|sostenibil\w*|"
        r"commercio equo|sustentáve\w*|comércio justo|duurzaam (?:geproduceerd|gemaakt)|eerlijke handel)\b",
        r"\b(?:locally (?:sourced|made|grown)|local (?:farm\w*|maker\w*|producer\w*))\b",
        r"\b(?:certified|zertifiziert\w*|certyfikowan\w*|сертифицирован\w*|certifié\w*|certificad[oa]s?|"
        r"certificat[oaie]|gecertificeerd)\b",
        r"\b(?:vegan|gluten[- ]free|glutenfrei|bezglutenow\w*|hypoallergenic|hypoallergen\w*|végan\w*|vegan[oa]s?|"
        r"veganistisch|sans gluten|sin gluten|senza glutine|sem glúten|glutenvrij|hypoallergénique\w*|"
        r"hipoalerg[éê]nic\w*|ipoallergenic\w*)\b",
        r"\b(?:best[- ]?sell(?:er|ers|ing)|bestseller\w*|бестселлер\w*|meilleures? ventes?|más vendid[oa]s?|"
        r"più vendut[oaie]|mais vendid[oa]s?|best verkocht\w*)\b",
    )
)
_WORD = re.compile(r"[^\W\d_]{6,}")


def _words(*texts: str) -> set[str]:
    return {word.lower() for text in texts for word in _WORD.findall(text or "")}


def _own_words(product: ProductFact) -> set[str]:
    return _words(product.name, product.category, product.description)


def borrowed_words(line: str, product: ProductFact, others: list[ProductFact]) -> set[str]:
    """Words of ``line`` that come from another product's name or description, not from ``product``'s: one word of
    six letters or more, or two of four or more from one other product's name ("Cane Sugar Cubes" under a tea)."""
    own = _own_words(product)
    theirs = _words(*(f"{other.name} {other.description}" for other in others)) - own
    borrowed = _words(line) & theirs
    short, own_short = short_words(line), short_words(product.name, product.category, product.description)
    for other in others:
        named = (short & short_words(other.name)) - own_short
        if len(named) >= 2:
            borrowed |= named
    return borrowed


_SHORT_WORD = re.compile(r"[^\W\d_]{4,}")


def short_words(*texts: str) -> set[str]:
    """The words of four letters or more of ``texts``, in lower case: what a product's name is told by."""
    return {word.lower() for text in texts for word in _SHORT_WORD.findall(text or "")}


PLURAL = r"(?:e?s)?"  # a product word also counts with a plural -s or -es


def product_word_pattern(word: str) -> re.Pattern:
    """``word`` as a whole word or phrase, also with a plural -s or -es, in any case."""
    return word_pattern(word, PLURAL)


def absent_product_word(text: str, words: list[str], shown: str) -> str | None:
    """The first of ``words`` that ``text`` names and ``shown`` (the email's products) does not, as the text
    writes it."""
    screen = any_word(tuple(words), PLURAL)
    if screen is None or not screen.search(text):
        return None
    for word in words:
        pattern = product_word_pattern(word)
        named = pattern.search(text)
        if named and not pattern.search(shown):
            return named.group(0)
    return None


# Distinct copy texts whose claims are remembered: a group's copy is checked for each of its customers, each
# version alone and with its lines, so most texts come again.
CLAIMS_MEMO = 4096


@lru_cache(maxsize=CLAIMS_MEMO)
def _claims_in(value: str) -> tuple[str | None, tuple[str | None, ...], str | None, tuple[str | None, ...]]:
    """What ``value`` says, as each pattern finds it (None where it finds nothing): a guarantee, each attestation,
    news of an order, then scarcity, a deal and a deadline. The product data decides which of them fail."""

    def found(pattern: re.Pattern) -> str | None:
        match = pattern.search(value)
        return match.group(0) if match else None

    return (
        found(GUARANTEE), tuple(found(attestation) for attestation in ATTESTATIONS), found(TRANSACTIONAL),
        tuple(found(pattern) for pattern in (SCARCITY, DEALS, DEADLINES)),
    )  # fmt: skip


def check(context: CheckContext) -> CheckResult:
    products = context.request.products
    descriptions = " ".join(product.description for product in products)
    product_words = context.brand.product_words.get(context.locale, [])
    shown = " ".join(f"{p.name} {p.category} {p.description}" for p in products)
    kinds = " ".join(f"{p.name} {p.category}" for p in products)  # what the products are, not what they go with
    for field, value in context.copy_fields().items():
        guarantee, attested, news, limits = _claims_in(value)
        if guarantee is not None and not GUARANTEE.search(descriptions):
            return failed(NAME, f"the {field} promises '{guarantee}', which no product's data mentions")
        for attestation, said in zip(ATTESTATIONS, attested, strict=True):
            if said is not None and not attestation.search(shown):
                return failed(NAME, f"the {field} says '{said}', which no product's data in this email says")
        if news is not None:
            return failed(
                NAME, f"the {field} says '{news}': a marketing email must not read as news of the "
                "customer's order, delivery, payment or account, which Tailor's data does not give",
            )  # fmt: skip
        for match, what in zip(limits, (
            "how many remain", "a deal no offer of this email makes", "when anything ends: its offers have no end date",
        ), strict=True):  # fmt: skip
            if match is not None:
                return failed(NAME, f"the {field} claims '{match}': Tailor's data does not say {what}")
        absent = absent_product_word(value, product_words, kinds)
        if absent:
            return failed(NAME, f"the {field} speaks of '{absent}', but no product in this email is one")
    lines = context.product_lines
    line_products = context.line_products or ([] if context.lines_only else [p.product_id for p in products])
    by_id = {product.product_id: product for product in products}
    for position, (line, product_id) in enumerate(zip(lines, line_products, strict=False)):
        product = by_id.get(product_id)
        if product is None:
            continue
        borrowed = borrowed_words(line, product, [p for p in products if p.product_id != product_id])
        if borrowed:
            shown = ", ".join(sorted(borrowed)[:3])
            return failed(
                NAME, f"product line {position + 1} ({product.name}) borrows '{shown}' from another product's data"
            )
        own = f"{product.name} {product.category} {product.description}"  # a teapot's line may name the tea it keeps
        other_kind = absent_product_word(line, product_words, own)
        if other_kind:
            return failed(
                NAME, f"product line {position + 1} ({product.name}) speaks of '{other_kind}', which it is not"
            )
    return passed(NAME)
