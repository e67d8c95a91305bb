"""Numbers as shop files write them: what to tell the person whose cell is not one."""

from __future__ import annotations

import math
import re
import unicodedata
from functools import cache

import pandas as pd

# 4,99 or 1,299.00 or 1.299,00 or 1 299,00 (a space, a no-break space or a narrow one between groups, as French
# spreadsheets write them): a decimal comma or a thousands separator, which no reader of these files takes.
_WRITTEN_WITH_COMMAS = re.compile(r"[-+]?[\d.' \u00a0\u202f]*\d,[\d.,' \u00a0\u202f]*")
# A code of three capitals written before or after the number: EUR 12.50, 12.50 USD (a currency's only if ISO 4217
# names one: "4 PCS" is a count of pieces).
_CODE = re.compile(r"^([A-Z]{3})\s*|\s*([A-Z]{3})$")


def not_a_number(raw: str) -> str:
    """Why a cell is not a number, saying how to write it when a spreadsheet of another region wrote it with a
    decimal comma or a thousands separator, or an export wrote its currency beside it ($12.50, 12.50 EUR):
    otherwise every price of a German export is "not a number" and no more."""
    number = _without_currency(raw.strip())
    currency = " without its currency," if number != raw.strip() else ""
    if _WRITTEN_WITH_COMMAS.fullmatch(number):
        return (
            f"'{raw}' is not a number: write it{currency} with a point for decimals and no thousands separator "
            "(1299.50)"
        )
    if currency and _is_number(number):
        return f"'{raw}' is not a number: write the number alone ({number}), without its currency"
    return f"'{raw}' is not a number"


def _without_currency(text: str) -> str:
    """``text`` less its currency signs ($, €, £...) and a currency code before or after it (EUR, USD)."""
    unsigned = "".join(character for character in text if unicodedata.category(character) != "Sc").strip()
    return _CODE.sub(
        lambda code: "" if code.group(code.lastindex) in _currency_codes() else code.group(), unsigned
    ).strip()


@cache
def _currency_codes() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


def _is_number(text: str) -> bool:
    """Whether the import would read ``text`` as a finite number (as pandas does: not Python's "1_000" or "inf")."""
    try:
        return math.isfinite(pd.to_numeric(text))
    except (ValueError, TypeError):
        return False
